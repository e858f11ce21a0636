"""Compile rule-language nodes to vectorised Polars expressions.

Null semantics (docs/*/rules.md): arithmetic with null is null, a comparison with null is null
(and a null condition is "no match"), ``and``/``or`` follow three-valued logic, division by
zero is null, ``x == null`` means ``is_null(x)``. ``min``/``max`` are null when any argument
is; ``coalesce`` and ``is_null`` handle missing values explicitly.

Numbers compare as decimals: when both sides are numbers (known from the field types), the
comparison is made on their difference rounded to 9 places, so ``0.15 - 0.10 >= 0.05``
holds as a manager expects although binary floating point makes the left side 0.0499….
"""

from __future__ import annotations

from typing import Callable

import polars as pl

from ..errors import ExpressionError
from ..i18n import Text, msg
from . import ast as k
from .parser import MAX_DAYS, MAX_MONTHS, MAX_ROUND_DIGITS
from .typecheck import TypeChecker, TypeProblem

Resolver = Callable[[str], pl.Expr]

_ROUND = "half_away_from_zero"
DECIMALS = 9


class ExpressionCompiler:
    """Turns one parsed expression into a ``pl.Expr``.

    ``resolve(name)`` returns the expression for a field; ``input_expr`` is what ``?``
    stands for in a decision-table cell. ``source`` is the text, for error messages.
    """

    def __init__(self, resolve: Resolver, *, source: str = "", input_expr: pl.Expr | None = None,
                 field_types: dict[str, str] | None = None):
        self.resolve = resolve
        self.source = source
        self.input_expr = input_expr
        self.types = TypeChecker(field_types) if field_types is not None else None

    def compile(self, node: k.Node) -> pl.Expr:
        method = getattr(self, "_" + type(node).__name__)
        return method(node)

    def fail(self, message: Text, node: k.Node, symbol: str | None = None) -> ExpressionError:
        return ExpressionError(message, expression=self.source, position=node.position, symbol=symbol)

    def _Literal(self, node: k.Literal) -> pl.Expr:
        if isinstance(node.value, str):
            return pl.lit(node.value, dtype=pl.String)
        return pl.lit(node.value)

    def _Name(self, node: k.Name) -> pl.Expr:
        return self.resolve(node.name)

    def _Input(self, node: k.Input) -> pl.Expr:
        if self.input_expr is None:
            raise self.fail(msg("compiler.input"), node, "?")
        return self.input_expr

    def _Unary(self, node: k.Unary) -> pl.Expr:
        operand = self.compile(node.operand)
        if node.op == "not":
            return ~operand
        return -operand if node.op == "-" else operand

    def _Binary(self, node: k.Binary) -> pl.Expr:
        left, right = self.compile(node.left), self.compile(node.right)
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        by_zero = right == 0
        if node.op == "/":
            result = left / right
        elif node.op == "//":
            result = left // right
        else:
            result = left % right
        return pl.when(by_zero).then(None).otherwise(result)

    def _BoolOp(self, node: k.BoolOp) -> pl.Expr:
        values = [self.compile(v) for v in node.values]
        result = values[0]
        for value in values[1:]:
            result = (result & value) if node.op == "and" else (result | value)
        return result

    def _Compare(self, node: k.Compare) -> pl.Expr:
        parts, left_node = [], node.left
        for op, right_node in zip(node.ops, node.comparators):
            parts.append(self._compare_one(left_node, op, right_node))
            left_node = right_node
        result = parts[0]
        for part in parts[1:]:
            result = result & part
        return result

    def _compare_one(self, left_node: k.Node, op: str, right_node: k.Node) -> pl.Expr:
        left = self.compile(left_node)
        if op in ("in", "not in"):
            member = self._membership(left, right_node)
            return ~member if op == "not in" else member
        if _is_null_literal(right_node) or _is_null_literal(left_node):
            other = left if _is_null_literal(right_node) else self.compile(right_node)
            if op == "==":
                return other.is_null()
            if op == "!=":
                return other.is_not_null()
            raise self.fail(msg("compiler.null_compare", op=op), right_node, op)
        right = self.compile(right_node)
        if self._both_numbers(left_node, right_node):
            left, right = (left - right).round(DECIMALS), pl.lit(0)
        return {"<": left < right, "<=": left <= right, "==": left == right,
                "!=": left != right, ">": left > right, ">=": left >= right}[op]

    def _both_numbers(self, a: k.Node, b: k.Node) -> bool:
        if self.types is None:
            return False
        try:
            return self.types.check(a) == "number" and self.types.check(b) == "number"
        except TypeProblem:
            return False

    def _membership(self, left: pl.Expr, items: k.ListOf) -> pl.Expr:
        if all(isinstance(i, k.Literal) for i in items.items):
            values = [i.value for i in items.items]
            return left.is_in(values)
        if not items.items:
            return pl.when(left.is_null()).then(None).otherwise(pl.lit(False))
        result = None
        for item in items.items:
            eq = left == self.compile(item)
            result = eq if result is None else (result | eq)
        return result

    def _IfElse(self, node: k.IfElse) -> pl.Expr:
        condition = self.compile(node.condition).fill_null(False)
        return pl.when(condition).then(self.compile(node.then)).otherwise(self.compile(node.otherwise))

    def _ListOf(self, node: k.ListOf) -> pl.Expr:
        raise self.fail(msg("compiler.list"), node, "[")

    def _Call(self, node: k.Call) -> pl.Expr:
        if node.function == "round":
            return self._round(node)
        args = [self.compile(a) for a in node.args]
        return getattr(self, "_fn_" + node.function)(*args)

    def _round(self, node: k.Call) -> pl.Expr:
        value = self.compile(node.args[0]).cast(pl.Float64)
        digits = 0
        if len(node.args) == 2:
            arg = node.args[1]
            if not (isinstance(arg, k.Literal) and isinstance(arg.value, int) and not isinstance(arg.value, bool)
                    and abs(arg.value) <= MAX_ROUND_DIGITS):  # the parser says so first; a DMN import too
                raise self.fail(msg("compiler.round_digits"), arg, "round")
            digits = arg.value
        if digits >= 0:
            return value.round(digits, mode=_ROUND)
        scale = 10 ** (-digits)
        return (value / scale).round(0, mode=_ROUND) * scale

    @staticmethod
    def _null_if_any_null(args: list[pl.Expr], result: pl.Expr) -> pl.Expr:
        return pl.when(pl.any_horizontal([a.is_null() for a in args])).then(None).otherwise(result)

    def _fn_min(self, *args):
        return self._null_if_any_null(list(args), pl.min_horizontal(*args))

    def _fn_max(self, *args):
        return self._null_if_any_null(list(args), pl.max_horizontal(*args))

    @staticmethod
    def _fn_abs(x):
        return x.abs()

    @staticmethod
    def _fn_power(x, n):
        result = x.cast(pl.Float64).pow(n.cast(pl.Float64))
        return pl.when(result.is_nan() | result.is_infinite()).then(None).otherwise(result)

    # (0.3 - 0.25) * 1000 is 49.99999999999999 in binary floating point; a manager means 50.
    @staticmethod
    def _fn_floor(x):
        return x.cast(pl.Float64).round(DECIMALS).floor()

    @staticmethod
    def _fn_ceil(x):
        return x.cast(pl.Float64).round(DECIMALS).ceil()

    @staticmethod
    def _fn_coalesce(*args):
        return pl.coalesce(*args)

    @staticmethod
    def _fn_is_null(x):
        return x.is_null()

    @staticmethod
    def _fn_days_between(a, b):
        return (b - a).dt.total_days()

    @staticmethod
    def _fn_months_between(a, b):
        whole = (b.dt.year().cast(pl.Int64) - a.dt.year().cast(pl.Int64)) * 12 \
            + (b.dt.month().cast(pl.Int64) - a.dt.month().cast(pl.Int64))
        return whole - (b.dt.day() < a.dt.day()).cast(pl.Int64)

    # A count of days or months from the data may be anything: beyond the span of the calendar
    # (0001..9999) the result is null, never an overflow, a wrapped date or a Polars error.
    @staticmethod
    def _fn_add_days(d, n):
        days = n.cast(pl.Float64)
        days = pl.when(days.abs() <= MAX_DAYS).then(n)
        return _in_calendar(d + pl.duration(days=days))

    @staticmethod
    def _fn_add_months(d, n):
        months = n.cast(pl.Float64)
        months = pl.when(months.abs() <= MAX_MONTHS).then(n.cast(pl.Int64))
        return _in_calendar(d.dt.offset_by(pl.format("{}mo", months)))

    @staticmethod
    def _fn_year(d):
        return d.dt.year().cast(pl.Int64)

    @staticmethod
    def _fn_month(d):
        return d.dt.month().cast(pl.Int64)

    @staticmethod
    def _fn_contains(text, part):
        return text.str.contains(part, literal=True)

    @staticmethod
    def _fn_startswith(text, prefix):
        return text.str.starts_with(prefix)

    @staticmethod
    def _fn_lower(text):
        return text.str.to_lowercase()

    @staticmethod
    def _fn_upper(text):
        return text.str.to_uppercase()


def _in_calendar(date: pl.Expr) -> pl.Expr:
    """``date`` where it lies in years 1 to 9999 (what Python, Excel and the documents can hold), else null."""
    return pl.when(date.dt.year().is_between(1, 9999)).then(date)


def _is_null_literal(node: k.Node) -> bool:
    return isinstance(node, k.Literal) and node.value is None


def compile_expression(node: k.Node, resolve: Resolver, *, source: str = "",
                       input_expr: pl.Expr | None = None, field_types: dict[str, str] | None = None) -> pl.Expr:
    return ExpressionCompiler(resolve, source=source, input_expr=input_expr, field_types=field_types).compile(node)
