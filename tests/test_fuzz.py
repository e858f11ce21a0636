"""Property tests (SECURITY.md): on any input, the value coercers and the expression parser
either answer or raise their documented error, never anything else; SECURITY.md's limits
table stays in step with kamrules.limits."""

from __future__ import annotations

import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamrules.errors import ExpressionError
from kamrules.ledger.coerce import coerce
from kamrules.ledger.config import ColumnSpec
from kamrules.limits import describe
from kamrules.expr.parser import parse
from kamrules.expr.unparse import unparse

from conftest import REPO

TYPES = ["date", "money", "number", "integer", "percent", "bool", "enum", "text"]
ledger_text = st.one_of(st.text(max_size=40),
                        st.text(alphabet="0123456789-/.年月日号 :,¥$万亿()%+eE是否YNyn√×\u3000", max_size=24))


FUZZING = pytest.mark.slow  # hundreds of generated inputs per test: CI's second step


@FUZZING
@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), ledger_text), min_size=1, max_size=40),
       kind=st.sampled_from(TYPES), order=st.sampled_from(["ymd", "dmy", "mdy"]))
def test_every_coercer_answers_every_text(texts, kind, order):
    spec = ColumnSpec(type=kind, values=["高", "中"] if kind == "enum" else None, min=0 if kind == "money" else None)
    value, error = coerce(pl.col("t"), spec, order)
    out = pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(value.alias("v"), error.alias("e"))
    for text, got, problem in zip(texts, out["v"], out["e"]):
        if text is None:
            assert (got, problem) == (None, None)
        elif problem is not None:
            assert isinstance(problem, str) and problem  # a reason the user can read; the row typer drops the value


NAMES = st.sampled_from(["revenue_12m", "tier", "p_alive", "客户等级", "x"])
LEAVES = st.one_of(NAMES, st.integers(-10**6, 10**6).map(str), st.sampled_from(["'A'", "'高'", "true", "null"]),
                   st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: f"{f:.3f}"))


def expressions(depth: int = 4):
    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "==", "!=", "<", ">=", "and", "or"]), inner)
            .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            inner.map(lambda e: f"not ({e})"),
            st.tuples(st.sampled_from(["round", "abs", "min", "max", "is_null", "len"]), inner)
            .map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
            st.lists(inner, min_size=1, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        )
    return st.recursive(LEAVES, extend, max_leaves=12)


@FUZZING
@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80))
def test_parser_on_random_text_raises_only_expression_error(text):
    try:
        parse(text)
    except ExpressionError:
        pass


@FUZZING
@settings(max_examples=300, deadline=None)
@given(text=expressions())
def test_parser_on_random_expression_trees(text):
    try:
        node = parse(text)
    except ExpressionError:
        return
    again = unparse(node)
    assert unparse(parse(again)) == again  # what parses, unparses to text that parses to the same tree


def test_security_md_lists_every_limit_with_its_default():
    security = (REPO / "SECURITY.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(KAMRULES_[A-Z_]+)` \| ([0-9,]+)", security, re.M))
    assert rows == {name: f"{default:,}" for name, _, default in describe()}
