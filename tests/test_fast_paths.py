"""The speed-ups of issue 8 must not change a single value: the fast parsers agree with the
full ones wherever they answer, and the streamed XML inspection finds what a whole-file
scan finds, whatever the chunk size."""

from __future__ import annotations

import datetime as dt

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamrules.ledger import xlsx_inspect
from kamrules.ledger.coerce import coerce, fast_value
from kamrules.ledger.config import ColumnSpec

from conftest import ORDER_HEADER, small_ledger, write_workbook
from test_messy_ledgers import issues_of, read

canonical_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**20, 10**20).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
)
canonical_dates = st.one_of(
    st.dates(dt.date(1800, 1, 1), dt.date(2300, 12, 31)).map(lambda d: d.isoformat()),
    st.datetimes(dt.datetime(1800, 1, 1), dt.datetime(2300, 12, 31)).map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
)
near_misses = st.text(alphabet="0123456789.-+eE ,:¥万()%年月日/infaINFA", max_size=24)


def agree(kind: str, texts: list[str]) -> None:
    spec = ColumnSpec(type=kind)
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    value, error = coerce(pl.col("t"), spec, "ymd")
    fast = fast_value(pl.col("t"), spec)
    out = frame.select(fast.alias("fast"), value.alias("value"), error.alias("error"))
    for text, quick, full, problem in zip(texts, *out.get_columns()):
        if quick is not None:
            assert (problem, full) == (None, quick), text


@pytest.mark.parametrize("kind", ["number", "money", "integer"])
@settings(max_examples=150, deadline=None)
@given(texts=st.lists(st.one_of(canonical_numbers, near_misses), min_size=1, max_size=30))
def test_fast_numbers_agree_with_the_full_parser(kind, texts):
    agree(kind, texts)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(st.one_of(canonical_dates, near_misses), min_size=1, max_size=30))
def test_fast_dates_agree_with_the_full_parser(texts):
    agree("date", texts)


def test_fast_path_answers_for_canonical_cells_and_defers_the_rest():
    spec = ColumnSpec(type="date")
    texts = ["2025-01-03", "2025-01-03 13:45:00", "2025年1月3日", "2025/1/3", "1850-01-01", "2025-02-30"]
    got = pl.DataFrame({"t": texts}).select(fast_value(pl.col("t"), spec)).to_series().to_list()
    assert got == [dt.date(2025, 1, 3), dt.date(2025, 1, 3), None, None, None, None]
    money = pl.DataFrame({"t": ["1234.565", "¥1,234.5", "inf", "NaN", "1e3"]}).select(
        fast_value(pl.col("t"), ColumnSpec(type="money"))).to_series().to_list()
    assert money == [1234.57, None, None, None, 1000.0]


def test_mixed_canonical_and_handwritten_rows_keep_their_order_and_values(tmp_path):
    sheets = small_ledger()
    sheets["销售明细"] = [ORDER_HEADER] + [
        [f"SO{i}", "C001", "2026-10-0%d" % (i % 9 + 1) if i % 3 else "2026年10月%d日" % (i % 9 + 1), "钢材", 1,
         "¥%d.50" % i if i % 4 == 0 else i + 0.5, None] for i in range(1, 40)]
    write_workbook(tmp_path / "t.xlsx", sheets)
    orders = read(tmp_path).datasets["orders"]
    assert orders["order_id"].to_list() == [f"SO{i}" for i in range(1, 40)]
    assert orders["_row"].to_list() == list(range(2, 41))
    assert orders["amount"].to_list() == [i + 0.5 for i in range(1, 40)]
    assert orders["order_date"].to_list() == [dt.date(2026, 10, i % 9 + 1) for i in range(1, 40)]


def facts_of(path, sheet: str) -> xlsx_inspect.SheetFacts:
    return xlsx_inspect.inspect_sheet(path, xlsx_inspect.sheet_members(path)[sheet])


def test_streamed_inspection_is_the_same_at_any_chunk_size(tmp_path, monkeypatch):
    sheets = small_ledger()
    sheets["销售明细"] += [[f"SO{i}", "C001", "2026-10-01", "钢材", 1, 10.0, 5.0] for i in range(10, 200)]
    sheets["销售明细"][150][6] = "=600000*0.7"  # Excel row 151: a formula openpyxl saves without a value
    path = write_workbook(tmp_path / "t.xlsx", sheets)
    wb = openpyxl.load_workbook(path)
    for row in (3, 77, 120, 199):
        wb["销售明细"].row_dimensions[row].hidden = True
    wb.save(path)
    whole = facts_of(path, "销售明细")
    assert whole.hidden_rows == {3, 77, 120, 199} and whole.uncached == {(151, 6)}
    for chunk in (16, 100, 1000):
        monkeypatch.setattr(xlsx_inspect, "CHUNK", chunk)
        facts = facts_of(path, "销售明细")
        assert (facts.hidden_rows, facts.uncached, facts.first_columns) == (
            whole.hidden_rows, whole.uncached, whole.first_columns), chunk
    assert [found[1] for found in issues_of(read(tmp_path), "hidden_row")] == [3, 77, 120, 199]
