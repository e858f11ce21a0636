"""The expression language: parsing whitelist, null semantics, functions, unary tests."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from kamrules.errors import ExpressionError
from kamrules.expr import ast as k
from kamrules.expr.compiler import compile_expression
from kamrules.expr.parser import parse
from kamrules.expr.unary import parse_unary

AS_OF = dt.date(2026, 10, 31)
FRAME = pl.DataFrame({
    "累计消费": [1_600_000.0, 900_000.0, None],
    "tier": ["A", "B", None],
    "since": [dt.date(2020, 1, 31), None, dt.date(2024, 2, 29)],
    "n": [3, 0, 2],
    "name": ["A&B 贸易", "Beta", None],
})


def evaluate(text: str, frame: pl.DataFrame = FRAME) -> list:
    def resolve(name: str) -> pl.Expr:
        return pl.lit(AS_OF) if name == "as_of" else pl.col(name)
    return frame.select(compile_expression(parse(text), resolve, source=text).alias("r"))["r"].to_list()


def cell_result(cell, value) -> bool | None:
    frame = pl.DataFrame({"x": [value]})
    expr = compile_expression(parse_unary(cell), pl.col, input_expr=pl.col("x"))
    return frame.select(expr.alias("r"))["r"][0]


@pytest.mark.parametrize("text, expected", [
    ("累计消费 >= 150万", [True, False, None]),
    ("tier in ['A', 'B']", [True, True, None]),
    ("tier not in ['A']", [False, True, None]),
    ("tier == null", [False, False, True]),
    ("tier != None", [True, True, False]),
    ("1 < 累计消费 <= 1_000_000", [False, True, None]),
    ("累计消费 * 2", [3_200_000.0, 1_800_000.0, None]),
    ("累计消费 / n", [1_600_000.0 / 3, None, None]),
    ("n // 2", [1, 0, 1]),
    ("n % 2", [1, 0, 0]),
    ("n // 0", [None, None, None]),
    ("'高' if tier == 'A' else '低'", ["高", "低", "低"]),
    ("tier == 'A' or 累计消费 > 1e6", [True, False, None]),
    ("tier == 'B' and 累计消费 > 1e6", [False, False, None]),
    ("not tier == 'A'", [False, True, None]),
    ("-n + 1", [-2, 1, -1]),
])
def test_operators_and_null_semantics(text, expected):
    assert evaluate(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("round(累计消费 * 0.0123, -3)", [20_000.0, 11_000.0, None]),
    ("round(n * 0 + 2.5)", [3.0, 3.0, 3.0]),
    ("round(n * 0 - 2.5)", [-3.0, -3.0, -3.0]),
    ("round(n * 0 + 0.125, 2)", [0.13, 0.13, 0.13]),
    ("min(累计消费, 1000000)", [1_000_000.0, 900_000.0, None]),
    ("max(n, 1)", [3, 1, 2]),
    ("abs(0 - n)", [3, 0, 2]),
    ("floor(n / 2)", [1.0, 0.0, 1.0]),
    ("ceil(n / 2)", [2.0, 0.0, 1.0]),
    ("floor((n * 0 + 0.3 - 0.25) * 1000)", [50.0, 50.0, 50.0]),
    ("ceil((n * 0 + 0.1 + 0.2) * 10)", [3.0, 3.0, 3.0]),
    ("coalesce(累计消费, 0)", [1_600_000.0, 900_000.0, 0.0]),
    ("is_null(tier)", [False, False, True]),
    ("days_between(since, as_of)", [(AS_OF - dt.date(2020, 1, 31)).days, None, (AS_OF - dt.date(2024, 2, 29)).days]),
    ("months_between(since, as_of)", [81, None, 32]),
    ("add_days(since, 30)", [dt.date(2020, 3, 1), None, dt.date(2024, 3, 30)]),
    ("add_months(since, 1)", [dt.date(2020, 2, 29), None, dt.date(2024, 3, 29)]),
    ("year(since)", [2020, None, 2024]),
    ("month(since)", [1, None, 2]),
    ("since >= date('2024-01-01')", [False, None, True]),
    ("contains(name, '&')", [True, False, None]),
    ("startswith(name, 'Be')", [False, True, None]),
    ("lower(tier)", ["a", "b", None]),
    ("upper(lower(tier))", ["A", "B", None]),
])
def test_functions(text, expected):
    assert evaluate(text) == expected


@pytest.mark.parametrize("text, message, symbol", [
    ("__import__('os')", "unknown function '__import__'", "__import__"),
    ("__class__", "name '__class__' is not allowed", "__class__"),
    ("a.b", "attribute access (a.b) is not allowed in rule expressions", "Attribute"),
    ("a[0]", "subscript (a[b]) is not allowed in rule expressions", "Subscript"),
    ("9**9**9", "operator '**' is not allowed", "**"),
    ("lambda: 1", "lambda is not allowed in rule expressions", "Lambda"),
    ("[x for x in y]", "a comprehension is not allowed in rule expressions", "ListComp"),
    ("f'{x}'", "an f-string is not allowed in rule expressions", "JoinedStr"),
    ("x is None", "comparison 'is' is not allowed", "is"),
    ("x in y", "'in' needs a list on its right, like x in ['A', 'B']", "in"),
    ("round(x, y)", None, None),
    ("min(x)", "min() takes 2 to 64 arguments, got 1", "min"),
    ("round(x, digits=2)", "round() takes no keyword arguments", "round"),
    ("a & b", "operator '&' is not allowed", "&"),
    ("10" * 15, "number is too large", "101010101010101010101010101010"),
    ("not " * 100 + "x", "expression is nested more than 60 levels deep", None),
    ("(" * 5000 + "1" + ")" * 5000, None, None),
    ("date('2025-02-30')", "'2025-02-30' is not a date (expected YYYY-MM-DD)", "2025-02-30"),
    ("x +", None, None),
])
def test_rejected_expressions(text, message, symbol):
    try:
        node = parse(text)
    except ExpressionError as exc:
        if message:
            assert exc.message == message
            assert exc.symbol == symbol
        assert exc.expression
        return
    assert text == "round(x, y)", "expected this expression to be rejected"
    with pytest.raises(ExpressionError, match="second argument must be a whole number"):
        compile_expression(node, pl.col, source=text)


def test_unknown_function_suggests_the_closest():
    with pytest.raises(ExpressionError) as info:
        parse("rount(x, 2)")
    assert info.value.suggestion == "did you mean 'round'?"
    assert info.value.position == 0


def test_syntax_error_has_position():
    with pytest.raises(ExpressionError) as info:
        parse("tier == 'A' and")
    assert info.value.message.startswith("syntax error")
    assert info.value.position is not None


def test_chinese_identifiers_and_units_outside_strings_only():
    node = parse("累计消费 >= 1.5万 and 备注 == '150万'")
    assert k.names(node) == {"累计消费", "备注"}
    compare = node.values[0]
    assert compare.comparators[0].value == 15000
    assert node.values[1].comparators[0].value == "150万"


def test_literal_spellings():
    assert parse("true").value is True and parse("False").value is False
    assert parse("null").value is None and parse("None").value is None
    assert parse("1_500_000").value == 1_500_000


@pytest.mark.parametrize("cell, value, expected", [
    ("-", 5, True), ("", None, True), (None, "x", True),
    ("< 5", 4, True), ("< 5", 5, False), (">= 150万", 1_500_000, True), (">= 150万", None, False),
    ("[100..200)", 100, True), ("[100..200)", 200, False), ("(100..200]", 100, False), ("(100..200]", 200, True),
    ("]100..200[", 150, True), ("[100万..150万)", 1_200_000, True),
    ("A", "A", True), ("A", "B", False), ('"A", "B"', "B", True), ("A, B", "C", False), ("A，B", "B", True),
    ('not("A", "B")', "C", True), ('not("A", "B")', "A", False),
    ("null", None, True), ("null", "A", False),
    ("true", True, True), ("false", True, False), (True, True, True), (5, 5, True), (5, 6, False),
    ("= A", "A", True), ("!= A", "A", False),
    ("? > 3 and ? < 5", 4, True), ("? > 3 and ? < 5", 6, False),
])
def test_unary_tests(cell, value, expected):
    result = cell_result(cell, value)
    assert (bool(result) if result is not None else False) is expected


def test_unary_dates():
    assert cell_result(">= 2025-01-01", dt.date(2025, 1, 1)) is True
    assert cell_result(">= 2025-01-01", dt.date(2024, 12, 31)) is False
    assert cell_result("[2025-01-01..2025-12-31]", dt.date(2025, 6, 1)) is True


def test_numbers_compare_as_decimals_when_types_are_known():
    frame = pl.DataFrame({"margin": [0.15, 0.12], "discount": [0.10, 0.07]})
    text = "margin - discount >= 0.05"
    plain = compile_expression(parse(text), pl.col, source=text)
    typed = compile_expression(parse(text), pl.col, source=text,
                               field_types={"margin": "percent", "discount": "percent"})
    assert frame.select(plain)["margin"].to_list() == [False, False]  # binary floating point
    assert frame.select(typed.alias("r"))["r"].to_list() == [True, True]
    equal = compile_expression(parse("margin - discount == 0.05"), pl.col, field_types={"margin": "percent",
                                                                                       "discount": "percent"})
    assert frame.select(equal.alias("r"))["r"].to_list() == [True, True]
