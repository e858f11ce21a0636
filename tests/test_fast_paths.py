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


# --- the extent's Rust pre-filter (issue 23) ---------------------------------------------------

class _ExactScan(xlsx_inspect._ExtentScan):
    """The measure without its pre-filter: every piece through Python's exact regexes."""

    def _maybe_moves(self, piece: bytes) -> bool:
        return True


def _cell_text(row: int, column: int, form: str) -> str:
    ref = xlsx_inspect.column_letters(column).decode() + str(row)
    return {"plain": f'<c r="{ref}" s="1"><v>1</v></c>', "self": f'<c r="{ref}" s="1"/>',
            "lower": f'<c r="{ref.lower()}"><v>1</v></c>', "zeros": f'<c r="{ref[:-len(str(row))]}00{row}"><v>1</v></c>',
            "wrapped": f'<c r="{ref[:-len(str(row))]}{row + (1 << 32)}"><v>1</v></c>',
            "bare": "<c><v>1</v></c>", "s_first": f'<c s="1" r="{ref}"><v>1</v></c>',
            "tab": f'<c\tr="{ref}"><v>1</v></c>', "prefixed": f'<x:c r="{ref}"><x:v>1</x:v></x:c>',
            "slash_inside": f'<c r="{ref}" t="inlineStr"><is><t>a/>b</t></is></c>',
            "quoted_gt": f'<c r="{ref}" x="a>/"><v>1</v></c>', "cjk": f'<c r="{ref}" t="inlineStr"><is><t>华东/></t></is></c>',
            "not_utf8": f'<c r="{ref}" t="inlineStr"><is><t>\udcff</t></is></c>',
            "space_r": f'<c  r="{ref}"><v>1</v></c>', "r_space": f'<c r ="{ref}"><v>1</v></c>'}[form]


FORMS = ["plain"] * 60 + ["self", "lower", "zeros", "wrapped", "bare", "s_first", "tab", "prefixed", "slash_inside",
                          "quoted_gt", "cjk", "not_utf8", "space_r", "r_space"]
pieces_of_rows = st.lists(  # pieces, of rows, of (row step, column, form) cells
    st.lists(st.tuples(st.integers(-12, 12), st.lists(st.tuples(st.integers(2, 5) | st.integers(1, 40),
                                                                  st.sampled_from(FORMS)), max_size=6)),
             min_size=1, max_size=8),
    min_size=1, max_size=6)


def _pieces(drawn) -> list[bytes]:
    pieces, row = [], 0
    for rows in drawn:
        xml = ""
        for step, cells in rows:
            row = max(1, row + step)
            xml += f'<row r="{row}">' + "".join(_cell_text(row, column, form) for column, form in cells) + "</row>"
        pieces.append(xml.encode("utf-8", "surrogateescape"))
    return pieces


@settings(max_examples=400, deadline=None)
@given(pieces_of_rows, st.booleans())
def test_the_rust_prefilter_never_changes_the_measure(drawn, limited):
    """Fed the same pieces, the measure with the pre-filter and the exact one agree on every
    answer, the extent and the hand-over to the simulation (its patterns match a superset)."""
    from kamrules.limits import Limits

    limits = Limits(max_rows=500, max_columns=40, max_cells=5000) if limited else None
    fast, exact = xlsx_inspect._ExtentScan(limits), _ExactScan(limits)
    for piece in _pieces(drawn):
        answers = fast.feed(piece), exact.feed(piece)
        assert answers[0] == answers[1]
        assert (fast.extent, fast.slow) == (exact.extent, exact.slow)
        if not answers[0]:
            break


TRAPS = {  # one cell in a piece of ordinary rows 11-20 (columns B-E) that the measure must see
    "row above the last": '<c r="C25"><v>1</v></c>', "row far above": '<c r="C1000000"><v>1</v></c>',
    "column after": '<c r="F12"><v>1</v></c>', "column before": '<c r="A12"><v>1</v></c>',
    "far column": '<c r="AA12"><v>1</v></c>', "lower case": '<c r="f12"><v>1</v></c>',
    "leading zeros": '<c r="C0025"><v>1</v></c>', "wrapped": '<c r="C4294967321"><v>1</v></c>',
    "no reference": "<c><v>1</v></c>", "s before r": '<c s="1" r="C12"><v>1</v></c>',
    "prefixed": '<x:c r="C12"><x:v>1</x:v></x:c>',
}


@pytest.mark.parametrize("trap", TRAPS)
def test_the_rust_prefilter_sees_each_trap(trap):
    def rows(first, last, extra=""):
        return "".join(f'<row r="{r}">' + "".join(_cell_text(r, c, "plain") for c in range(2, 6))
                       + (extra if r == first + 3 else "") + "</row>" for r in range(first, last + 1)).encode()

    fast, exact = xlsx_inspect._ExtentScan(), _ExactScan()
    for piece in (rows(1, 10), rows(11, 20, TRAPS[trap])):
        assert fast.feed(piece) == exact.feed(piece)
    assert (fast.extent, fast.slow) == (exact.extent, exact.slow)
    assert exact.slow or exact.extent != xlsx_inspect.SheetExtent(rows=20, first_column=2, last_column=5,
                                                                  wasted=exact.extent.wasted), trap
    harmless = _ExactScan()
    for piece in (rows(1, 10), rows(11, 20, '<c r="F30" s="1"/>')):  # self-closing: calamine passes over it
        harmless.feed(piece)
    assert (harmless.extent.rows, harmless.extent.last_column) == (20, 5)


def test_the_rust_prefilter_lets_through_every_unusual_cell():
    """Each way a cell can be written unusually is found in a piece of whole rows."""
    for form in ["bare", "s_first", "tab", "prefixed", "space_r", "r_space"]:
        piece = f'<row r="1">{_cell_text(1, 1, form)}</row>'.encode()
        scan = xlsx_inspect._ExtentScan()
        scan.extent.add(1, 1)
        assert scan._maybe_moves(piece), form
        assert not scan.feed(piece) and scan.slow, form


def test_the_rust_prefilter_passes_over_rows_that_move_nothing():
    """The point of it: once the columns are known, pieces of ascending rows go no further."""
    scan = xlsx_inspect._ExtentScan()
    rows = lambda first, last: "".join(f'<row r="{r}">' + "".join(_cell_text(r, c, "plain") for c in range(1, 8))  # noqa: E731
                                       + "</row>" for r in range(first, last)).encode()
    assert scan.feed(rows(1, 50))
    assert scan._maybe_moves(rows(40, 50)) is False
    assert scan._maybe_moves(rows(50, 60))  # rows past the extent so far
    assert scan.feed(rows(50, 100)) and scan.extent.rows == 99 and scan.extent.columns == 7
    far = rows(100, 110).replace(b"</row>", b'<c r="Z105"><v>1</v></c></row>', 1)
    assert scan._maybe_moves(far) and scan.feed(far) and scan.extent.last_column == 26


def test_a_piece_rust_cannot_search_takes_the_exact_search(monkeypatch):
    piece = b'<row r="1"><c r="B1"><v>1</v></c><c r="D1"><v>1</v></c></row>'
    scan = xlsx_inspect._ExtentScan()
    assert scan.feed(piece) and scan._maybe_moves(b'<row r="2"><c r="E2"><v>1</v></c></row>')
    monkeypatch.setattr(xlsx_inspect._ExtentScan, "_superset", lambda self: "(")  # a pattern Rust refuses
    assert scan._maybe_moves(b'<row r="2"><c r="C2"><v>1</v></c></row>')
    assert scan._maybe_moves(b'<row r="2"><c r="C2"><v>\xff</v></c></row>')  # not UTF-8
    assert scan.feed(b'<row r="2"><c r="E2"><v>1</v></c></row>') and scan.extent.last_column == 5
