"""Static types for rule expressions, so type mistakes are found before any data is read.

Kinds: ``number`` (integer, number, money, percent), ``text``, ``date``, ``bool``, ``null``
(the literal), ``any`` (unknown: never an error). The checker explains each mistake in
terms of the expression the manager wrote: "tier is text but is compared with a number".
"""

from __future__ import annotations

from typing import Optional

from ..i18n import Text, msg
from ..names import all_of
from . import ast as k
from .unparse import unparse

KIND_OF_TYPE = {"integer": "number", "number": "number", "money": "number", "percent": "number",
                "text": "text", "enum": "text", "date": "date", "bool": "bool"}
ARTICLE = {"number": msg("typecheck.kind.number"), "text": msg("typecheck.kind.text"),
           "date": msg("typecheck.kind.date"), "bool": msg("typecheck.kind.bool"), "null": msg("typecheck.kind.null"),
           "list": msg("typecheck.kind.list"), "any": msg("typecheck.kind.any")}

# function -> (argument kinds, result kind); "same" = all arguments share one kind, the result too
SIGNATURES: dict[str, tuple] = {
    "abs": (("number",), "number"), "floor": (("number",), "number"), "ceil": (("number",), "number"),
    "power": (("number", "number"), "number"),
    "round": (("number", "number"), "number"),
    "min": ("same", "same"), "max": ("same", "same"), "coalesce": ("same", "same"),
    "is_null": (("any",), "bool"),
    "days_between": (("date", "date"), "number"), "months_between": (("date", "date"), "number"),
    "add_days": (("date", "number"), "date"), "add_months": (("date", "number"), "date"),
    "year": (("date",), "number"), "month": (("date",), "number"),
    "contains": (("text", "text"), "bool"), "startswith": (("text", "text"), "bool"),
    "lower": (("text",), "text"), "upper": (("text",), "text"),
}


class TypeProblem(Exception):
    """A type mistake; ``problem.message`` is the message for the manager."""

    @property
    def message(self) -> Text:
        return self.args[0]


def kind_of(type_name: str) -> str:
    return KIND_OF_TYPE.get(type_name, "any")


def _compatible(a: str, b: str) -> bool:
    return a == b or "any" in (a, b) or "null" in (a, b)


class TypeChecker:
    """``check(node)`` returns the expression's kind or raises TypeProblem."""

    def __init__(self, field_types: dict[str, str], input_kind: str = "any"):
        self.field_types, self.input_kind = field_types, input_kind

    def check(self, node: k.Node) -> str:
        return getattr(self, "_" + type(node).__name__)(node)

    def _Literal(self, node: k.Literal) -> str:
        value = node.value
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, (int, float)):
            return "number"
        if isinstance(value, str):
            return "text"
        return "date"

    def _Name(self, node: k.Name) -> str:
        return kind_of(self.field_types.get(node.name, "any"))

    def _Input(self, node: k.Input) -> str:
        return self.input_kind

    def _Unary(self, node: k.Unary) -> str:
        kind = self.check(node.operand)
        if node.op == "not":
            self._expect_bool(node.operand, kind, "'not'")
            return "bool"
        if not _compatible(kind, "number"):
            raise TypeProblem(msg("typecheck.needs_number", op=node.op, operand=unparse(node.operand),
                                     kind=ARTICLE[kind]))
        return "number"

    def _Binary(self, node: k.Binary) -> str:
        left, right = self.check(node.left), self.check(node.right)
        text = unparse(node)
        if "date" in (left, right) and node.op in ("+", "-"):
            if left == right == "date" and node.op == "-":
                raise TypeProblem(msg("typecheck.date_minus_date", text=text))
            raise TypeProblem(msg("typecheck.date_plus_days", op=node.op, text=text))
        if node.op == "+" and left == right == "text":
            return "text"
        for side, kind in ((node.left, left), (node.right, right)):
            if not _compatible(kind, "number"):
                raise TypeProblem(msg("typecheck.needs_numbers", op=node.op, operand=unparse(side), kind=ARTICLE[kind]))
        return "number"

    def _BoolOp(self, node: k.BoolOp) -> str:
        for value in node.values:
            self._expect_bool(value, self.check(value), f"'{node.op}'")
        return "bool"

    def _expect_bool(self, node: k.Node, kind: str, where: str) -> None:
        if not _compatible(kind, "bool"):
            raise TypeProblem(msg("typecheck.joins_conditions", where=where, operand=unparse(node), kind=ARTICLE[kind]))

    def _Compare(self, node: k.Compare) -> str:
        left_node, left = node.left, self.check(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            if op in ("in", "not in"):
                for item in right_node.items:
                    self._same_kind(left_node, left, item, self.check(item))
                left_node, left = right_node, "list"
                continue
            right = self.check(right_node)
            self._same_kind(left_node, left, right_node, right)
            if op not in ("==", "!=") and "bool" in (left, right):
                raise TypeProblem(msg("typecheck.bool_ordered", op=op, text=unparse(node)))
            left_node, left = right_node, right
        return "bool"

    @staticmethod
    def _same_kind(a_node: k.Node, a: str, b_node: k.Node, b: str) -> None:
        if not _compatible(a, b):
            raise TypeProblem(msg("typecheck.compared", left=unparse(a_node), kind=ARTICLE[a], other=ARTICLE[b],
                                  right=unparse(b_node)))

    def _IfElse(self, node: k.IfElse) -> str:
        self._expect_bool(node.condition, self.check(node.condition), "'if'")
        then, other = self.check(node.then), self.check(node.otherwise)
        if not _compatible(then, other):
            raise TypeProblem(msg("typecheck.branches", text=unparse(node), then=ARTICLE[then], other=ARTICLE[other]))
        return then if then not in ("null", "any") else other

    def _ListOf(self, node: k.ListOf) -> str:
        return "list"

    def _Call(self, node: k.Call) -> str:
        args = [self.check(a) for a in node.args]
        expected, result = SIGNATURES[node.function]
        if expected == "same":
            kinds = {a for a in args if a not in ("null", "any")}
            if len(kinds) > 1:
                kinds_text = all_of(ARTICLE[kind] for kind in sorted(kinds))
                raise TypeProblem(msg("typecheck.mixes", function=node.function, kinds=kinds_text,
                                      text=unparse(node)))
            return kinds.pop() if kinds else "any"
        for arg_node, kind, want in zip(node.args, args, expected):
            if want != "any" and not _compatible(kind, want):
                raise TypeProblem(msg("typecheck.argument", function=node.function, want=ARTICLE[want],
                                      operand=unparse(arg_node), kind=ARTICLE[kind]))
        return result


def check_condition(node: k.Node, field_types: dict[str, str]) -> Optional[Text]:
    """None if ``node`` is a valid condition, else the problem."""
    try:
        kind = TypeChecker(field_types).check(node)
    except TypeProblem as problem:
        return problem.message
    if not _compatible(kind, "bool"):
        return msg("typecheck.condition", text=unparse(node), kind=ARTICLE[kind])
    return None


def check_value(node: k.Node, field_types: dict[str, str], output: str, output_type: str) -> Optional[Text]:
    """None if ``node`` fits an output of ``output_type``, else the problem."""
    try:
        kind = TypeChecker(field_types).check(node)
    except TypeProblem as problem:
        return problem.message
    want = kind_of(output_type)
    if not _compatible(kind, want):
        return msg("typecheck.output", output=output, output_type=output_type, text=unparse(node), kind=ARTICLE[kind])
    return None
