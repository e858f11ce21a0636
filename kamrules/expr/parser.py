"""Parse rule-language text into :mod:`kamrules.expr.ast` nodes.

The syntax is a whitelisted subset of Python expressions, read with Python's own ``ast``
module and then rebuilt node by node: anything not listed here (attributes, subscripts,
lambdas, comprehensions, ``**``, dunder names, unknown functions) is rejected with its
position. Before parsing, two spreadsheet habits are rewritten outside string literals:
Chinese number units (``150万`` → ``1500000``, ``1.2亿``) and, in decision-table cells,
``?`` for the input value and bare ISO dates (``2025-01-01``).
"""

from __future__ import annotations

import ast as py
import datetime as dt
import re
from dataclasses import dataclass

from ..errors import ExpressionError
from ..i18n import Text, msg
from ..limits import current as current_limits
from ..names import did_you_mean
from . import ast as k

MAX_DEPTH = 60  # defaults; the limits in force come from kamrules.limits
MAX_INT = 10**18
# Bounds of the literal arguments the compiler turns into work or into dates (checked by `kamrules check`):
MAX_ROUND_DIGITS = 18  # round(x, n): |n| ≤ 18 (10**18 is the largest integer literal)
MAX_DAYS = 3_652_058  # add_days(d, n): from 0001-01-01 to 9999-12-31, the dates Python and Excel hold
MAX_MONTHS = 119_987  # add_months(d, n): the same span in months

_INPUT_NAME = "ᚠᚠ"  # runic letters: a valid, NFKC-stable identifier nobody types

TRUE_NAMES = {"true": True, "True": True, "false": False, "False": False,
              "null": None, "None": None}


@dataclass(frozen=True)
class FunctionSpec:
    min_args: int
    max_args: int
    summary: str


FUNCTIONS: dict[str, FunctionSpec] = {
    "min": FunctionSpec(2, 64, "smallest of the arguments (null if any is null)"),
    "max": FunctionSpec(2, 64, "largest of the arguments (null if any is null)"),
    "abs": FunctionSpec(1, 1, "absolute value"),
    "power": FunctionSpec(2, 2, "power(x, n): x to the power n (FEEL's x ** n); null if the result is not a real number"),
    "round": FunctionSpec(1, 2, "round(x, n): half away from zero; n from -18 to 18, may be negative (round(x, -3) → thousands)"),
    "floor": FunctionSpec(1, 1, "largest whole number ≤ x (binary noise below 1e-9 ignored)"),
    "ceil": FunctionSpec(1, 1, "smallest whole number ≥ x (binary noise below 1e-9 ignored)"),
    "coalesce": FunctionSpec(2, 64, "first argument that is not null"),
    "is_null": FunctionSpec(1, 1, "true when the value is missing"),
    "days_between": FunctionSpec(2, 2, "days_between(a, b): whole days from date a to date b"),
    "months_between": FunctionSpec(2, 2, "months_between(a, b): whole calendar months from a to b"),
    "add_days": FunctionSpec(2, 2, "add_days(date, n): the date n days later (null beyond the years 1-9999)"),
    "add_months": FunctionSpec(2, 2, "add_months(date, n): the date n calendar months later (null beyond the years 1-9999)"),
    "year": FunctionSpec(1, 1, "year of a date"),
    "month": FunctionSpec(1, 1, "month (1-12) of a date"),
    "date": FunctionSpec(1, 1, "date('2025-01-31'): a date literal"),
    "contains": FunctionSpec(2, 2, "contains(text, part): part occurs in text"),
    "startswith": FunctionSpec(2, 2, "startswith(text, prefix)"),
    "lower": FunctionSpec(1, 1, "text in lower case"),
    "upper": FunctionSpec(1, 1, "text in upper case"),
}

_BINARY = {py.Add: "+", py.Sub: "-", py.Mult: "*", py.Div: "/", py.FloorDiv: "//", py.Mod: "%"}
_COMPARE = {py.Lt: "<", py.LtE: "<=", py.Eq: "==", py.NotEq: "!=", py.Gt: ">", py.GtE: ">=",
            py.In: "in", py.NotIn: "not in"}
_UNARY = {py.Not: "not", py.USub: "-", py.UAdd: "+"}

_SINGLE_EQUALS = re.compile(r"(?<![=<>!])=(?!=)")
_CN_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(万|亿)")
_BARE_DATE = re.compile(r"(?<![\w.'\"-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\w.-])")


def _rewrite_outside_strings(text: str, rewrite) -> str:
    """Apply ``rewrite`` to the parts of ``text`` that are not inside quotes."""
    out, start, quote = [], 0, None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                out.append(text[start:i + 1])
                start, quote = i + 1, None
        elif ch in "'\"":
            out.append(rewrite(text[start:i]))
            start, quote = i, ch
    tail = text[start:]
    out.append(tail if quote else rewrite(tail))
    return "".join(out)


def _chinese_units(part: str) -> str:
    def repl(m: re.Match) -> str:
        scale = 10_000 if m.group(2) == "万" else 100_000_000
        value = float(m.group(1)) * scale
        return str(int(value)) if value == int(value) else repr(value)
    return _CN_NUMBER.sub(repl, part)


def _cell_syntax(part: str) -> str:
    part = _BARE_DATE.sub(lambda m: f"date('{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}')", part)
    return part.replace("?", _INPUT_NAME)


def parse(text: str, *, allow_input: bool = False) -> k.Node:
    """Parse one expression. ``allow_input`` permits ``?`` (decision-table cells)."""
    if not isinstance(text, str):
        raise ExpressionError(msg("parser.not_text"), expression=repr(text))
    limits = current_limits()
    if len(text) > limits.max_expression_chars:
        raise ExpressionError(msg("parser.too_long", limit=limits.max_expression_chars),
                              expression=text[:60] + "…")
    source = _rewrite_outside_strings(text, _chinese_units)
    if allow_input:
        source = _rewrite_outside_strings(source, _cell_syntax)
    try:
        tree = py.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        position = exc.offset - 1 if exc.offset else len(text)  # offset 0: at the end of the text
        single_equals = _rewrite_outside_strings(text, lambda part: "=" if _SINGLE_EQUALS.search(part) else "")
        hint = msg("parser.single_equals") if single_equals else None
        raise ExpressionError(msg("parser.syntax", detail=exc.msg), expression=text, position=position,
                              suggestion=hint) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError(msg("parser.too_large"), expression=text[:60]) from None
    return _Builder(text, limits.max_expression_depth).build(tree.body, 0)


class _Builder:
    def __init__(self, text: str, max_depth: int = MAX_DEPTH):
        self.text, self.max_depth = text, max_depth

    def fail(self, message: Text, node: py.AST | None = None, symbol: str | None = None,
             suggestion: Text | None = None):
        position = getattr(node, "col_offset", None)
        raise ExpressionError(message, expression=self.text, position=position, symbol=symbol,
                              suggestion=suggestion)

    def build(self, node: py.AST, depth: int) -> k.Node:
        if depth > self.max_depth:
            self.fail(msg("parser.too_deep", limit=self.max_depth), node)
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            self.fail(msg("parser.construct", construct=_describe(node)), node,
                      symbol=type(node).__name__)
        return method(node, depth + 1)

    def _Constant(self, node: py.Constant, depth: int) -> k.Node:
        value = node.value
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return k.Literal(value, node.col_offset)
        if isinstance(value, int):
            if abs(value) > MAX_INT:
                self.fail(msg("parser.number_too_large"), node, symbol=str(value)[:30])
            return k.Literal(value, node.col_offset)
        if isinstance(value, float):
            return k.Literal(value, node.col_offset)
        self.fail(msg("parser.literal", value=value), node)

    def _Name(self, node: py.Name, depth: int) -> k.Node:
        name = node.id
        if name == _INPUT_NAME:
            return k.Input(node.col_offset)
        if name in TRUE_NAMES:
            return k.Literal(TRUE_NAMES[name], node.col_offset)
        if name.startswith("__"):
            self.fail(msg("parser.name", name=name), node, symbol=name)
        return k.Name(name, node.col_offset)

    def _UnaryOp(self, node: py.UnaryOp, depth: int) -> k.Node:
        op = _UNARY.get(type(node.op))
        if op is None:
            self.fail(msg("parser.operator", symbol="~"), node, symbol="~")
        operand = self.build(node.operand, depth)
        if op == "-" and isinstance(operand, k.Literal) and isinstance(operand.value, (int, float)) \
                and not isinstance(operand.value, bool):
            return k.Literal(-operand.value, node.col_offset)
        return k.Unary(op, operand, node.col_offset)

    def _BinOp(self, node: py.BinOp, depth: int) -> k.Node:
        op = _BINARY.get(type(node.op))
        if op is None:
            symbol = {py.Pow: "**", py.BitAnd: "&", py.BitOr: "|", py.BitXor: "^",
                      py.LShift: "<<", py.RShift: ">>", py.MatMult: "@"}.get(type(node.op), "?")
            hint = msg("parser.use_and_or") if symbol in ("&", "|") else None
            self.fail(msg("parser.operator", symbol=symbol), node, symbol=symbol, suggestion=hint)
        return k.Binary(op, self.build(node.left, depth), self.build(node.right, depth), node.col_offset)

    def _BoolOp(self, node: py.BoolOp, depth: int) -> k.Node:
        op = "and" if isinstance(node.op, py.And) else "or"
        return k.BoolOp(op, tuple(self.build(v, depth) for v in node.values), node.col_offset)

    def _Compare(self, node: py.Compare, depth: int) -> k.Node:
        ops = []
        for op in node.ops:
            name = _COMPARE.get(type(op))
            if name is None:
                symbol = "is" if isinstance(op, (py.Is, py.IsNot)) else "?"
                self.fail(msg("parser.comparison", symbol=symbol), node, symbol=symbol,
                          suggestion=msg("parser.comparison.hint"))
            ops.append(name)
        comparators = tuple(self.build(c, depth) for c in node.comparators)
        for op, right in zip(ops, comparators):
            if op in ("in", "not in") and not isinstance(right, k.ListOf):
                self.fail(msg("parser.in_needs_list", op=op), node, symbol=op)
        return k.Compare(self.build(node.left, depth), tuple(ops), comparators, node.col_offset)

    def _IfExp(self, node: py.IfExp, depth: int) -> k.Node:
        return k.IfElse(self.build(node.test, depth), self.build(node.body, depth),
                        self.build(node.orelse, depth), node.col_offset)

    def _List(self, node: py.List, depth: int) -> k.Node:
        return k.ListOf(tuple(self.build(e, depth) for e in node.elts), node.col_offset)

    _Tuple = _List

    def _Call(self, node: py.Call, depth: int) -> k.Node:
        if not isinstance(node.func, py.Name):
            self.fail(msg("parser.plain_calls"), node)
        name = node.func.id
        spec = FUNCTIONS.get(name)
        if spec is None:
            self.fail(msg("parser.unknown_function", name=name), node, symbol=name,
                      suggestion=did_you_mean(name, FUNCTIONS))
        if node.keywords:
            self.fail(msg("parser.keywords", name=name), node, symbol=name)
        if any(isinstance(a, py.Starred) for a in node.args):
            self.fail(msg("parser.starred"), node, symbol="*")
        if not spec.min_args <= len(node.args) <= spec.max_args:
            expected = (str(spec.min_args) if spec.min_args == spec.max_args
                        else msg("parser.range", low=spec.min_args, high=spec.max_args))
            self.fail(msg("parser.arguments", name=name, expected=expected, got=len(node.args)), node, symbol=name)
        args = tuple(self.build(a, depth) for a in node.args)
        if name == "date":
            return self._date_literal(node, args[0])
        self._check_bounds(name, args, node)
        return k.Call(name, args, node.col_offset)

    def _check_bounds(self, name: str, args: tuple, node: py.AST) -> None:
        """Literal arguments that would make the compiled expression hang or leave the calendar:
        ``round(x, -1000000000)`` (10**1e9), ``round(x, 1e18)``, ``add_months(d, 999999999999)``."""
        if name == "round" and len(args) == 2:
            digits = args[1]
            whole = isinstance(digits, k.Literal) and isinstance(digits.value, int) and not isinstance(digits.value, bool)
            if not whole or abs(digits.value) > MAX_ROUND_DIGITS:
                value = literal_text_of(digits, self.text)
                self.fail(msg("parser.round_digits", limit=MAX_ROUND_DIGITS, value=value), node, symbol="round")
        elif name in ("add_days", "add_months") and len(args) == 2:
            amount = args[1]
            limit = MAX_DAYS if name == "add_days" else MAX_MONTHS
            if isinstance(amount, k.Literal) and isinstance(amount.value, (int, float)) \
                    and not isinstance(amount.value, bool) and not abs(amount.value) <= limit:
                self.fail(msg("parser.argument_range", function=name, limit=limit, value=repr(amount.value)[:30]),
                          node, symbol=name)

    def _date_literal(self, node: py.AST, arg: k.Node) -> k.Literal:
        if not (isinstance(arg, k.Literal) and isinstance(arg.value, str)):
            self.fail(msg("parser.date_literal"), node, symbol="date")
        try:
            return k.Literal(dt.date.fromisoformat(arg.value), node.col_offset)
        except ValueError:
            self.fail(msg("parser.not_a_date", value=arg.value), node, symbol=arg.value)


_CONSTRUCTS = {
    "Attribute": msg("parser.construct.attribute"), "Subscript": msg("parser.construct.subscript"),
    "ListComp": msg("parser.construct.comprehension"), "SetComp": msg("parser.construct.comprehension"),
    "DictComp": msg("parser.construct.comprehension"), "GeneratorExp": msg("parser.construct.comprehension"),
    "Dict": msg("parser.construct.dict"), "Set": msg("parser.construct.set"),
    "JoinedStr": msg("parser.construct.fstring"), "Slice": msg("parser.construct.slice"),
    "Lambda": "lambda", "NamedExpr": "':='", "Await": "await", "Yield": "yield", "YieldFrom": "yield", "Starred": "'*'",
}


def literal_text_of(node: k.Node, text: str) -> str:
    """A node as the manager wrote it, for a message: a literal's value, else the expression's text."""
    if isinstance(node, k.Literal):
        return repr(node.value)[:30]
    return msg("parser.an_expression")


def _describe(node: py.AST) -> str:
    return _CONSTRUCTS.get(type(node).__name__, type(node).__name__)
