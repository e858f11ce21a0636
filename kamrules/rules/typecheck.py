"""Static types for rule expressions, so type mistakes are found before any data is read.

Kinds: ``number`` (integer, number, money, percent), ``text``, ``date``, ``bool``, ``null``
(the literal), ``any`` (unknown: never an error). The checker explains each mistake in
terms of the expression the manager wrote: "tier is text but is compared with a number".
"""

from __future__ import annotations

from typing import Optional

from . import ast as k
from .unparse import unparse

KIND_OF_TYPE = {"integer": "number", "number": "number", "money": "number", "percent": "number",
                "text": "text", "enum": "text", "date": "date", "bool": "bool"}
ARTICLE = {"number": "a number", "text": "text", "date": "a date", "bool": "true/false", "null": "null",
           "list": "a list", "any": "a value"}

# function -> (argument kinds, result kind); "same" = all arguments share one kind, the result too
SIGNATURES: dict[str, tuple] = {
    "abs": (("number",), "number"), "floor": (("number",), "number"), "ceil": (("number",), "number"),
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
    """A type mistake; ``str()`` is the message for the manager."""


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
            raise TypeProblem(f"'{node.op}' needs a number; {unparse(node.operand)} is {ARTICLE[kind]}")
        return "number"

    def _Binary(self, node: k.Binary) -> str:
        left, right = self.check(node.left), self.check(node.right)
        text = unparse(node)
        if "date" in (left, right) and node.op in ("+", "-"):
            if left == right == "date" and node.op == "-":
                raise TypeProblem(f"dates cannot be subtracted in {text}; use days_between(a, b)")
            raise TypeProblem(f"days cannot be added to a date with '{node.op}' in {text}; use add_days(date, n)")
        if node.op == "+" and left == right == "text":
            return "text"
        for side, kind in ((node.left, left), (node.right, right)):
            if not _compatible(kind, "number"):
                raise TypeProblem(f"'{node.op}' needs numbers; {unparse(side)} is {ARTICLE[kind]}")
        return "number"

    def _BoolOp(self, node: k.BoolOp) -> str:
        for value in node.values:
            self._expect_bool(value, self.check(value), f"'{node.op}'")
        return "bool"

    def _expect_bool(self, node: k.Node, kind: str, where: str) -> None:
        if not _compatible(kind, "bool"):
            raise TypeProblem(f"{where} joins conditions, but {unparse(node)} is {ARTICLE[kind]}, not true/false")

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
                raise TypeProblem(f"true/false values cannot be ordered with '{op}' in {unparse(node)}")
            left_node, left = right_node, right
        return "bool"

    @staticmethod
    def _same_kind(a_node: k.Node, a: str, b_node: k.Node, b: str) -> None:
        if not _compatible(a, b):
            raise TypeProblem(f"{unparse(a_node)} is {ARTICLE[a]} but is compared with {ARTICLE[b]} "
                              f"({unparse(b_node)})")

    def _IfElse(self, node: k.IfElse) -> str:
        self._expect_bool(node.condition, self.check(node.condition), "'if'")
        then, other = self.check(node.then), self.check(node.otherwise)
        if not _compatible(then, other):
            raise TypeProblem(f"the two branches of {unparse(node)} give {ARTICLE[then]} and {ARTICLE[other]}")
        return then if then not in ("null", "any") else other

    def _ListOf(self, node: k.ListOf) -> str:
        return "list"

    def _Call(self, node: k.Call) -> str:
        args = [self.check(a) for a in node.args]
        expected, result = SIGNATURES[node.function]
        if expected == "same":
            kinds = {a for a in args if a not in ("null", "any")}
            if len(kinds) > 1:
                raise TypeProblem(f"{node.function}() mixes {' and '.join(ARTICLE[k_] for k_ in sorted(kinds))} "
                                  f"in {unparse(node)}")
            return kinds.pop() if kinds else "any"
        for arg_node, kind, want in zip(node.args, args, expected):
            if want != "any" and not _compatible(kind, want):
                raise TypeProblem(f"{node.function}() needs {ARTICLE[want]} here; {unparse(arg_node)} is {ARTICLE[kind]}")
        return result


def check_condition(node: k.Node, field_types: dict[str, str]) -> Optional[str]:
    """None if ``node`` is a valid condition, else the problem."""
    try:
        kind = TypeChecker(field_types).check(node)
    except TypeProblem as problem:
        return str(problem)
    if not _compatible(kind, "bool"):
        return f"a condition must be true or false, but {unparse(node)} is {ARTICLE[kind]}"
    return None


def check_value(node: k.Node, field_types: dict[str, str], output: str, output_type: str) -> Optional[str]:
    """None if ``node`` fits an output of ``output_type``, else the problem."""
    try:
        kind = TypeChecker(field_types).check(node)
    except TypeProblem as problem:
        return str(problem)
    want = kind_of(output_type)
    if not _compatible(kind, want):
        return f"output {output} is {output_type} but {unparse(node)} is {ARTICLE[kind]}"
    return None
