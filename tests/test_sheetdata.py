"""Big tables are spliced into the saved workbook as XML built by Polars: every kind of
value must come back from openpyxl and calamine exactly as the per-cell writer gave it."""

from __future__ import annotations

import datetime as dt

import fastexcel
import openpyxl
import polars as pl
import pytest
from openpyxl import Workbook

from kamrules.render import sheetdata
from kamrules.render.xlsx import SheetWriter

FRAME = pl.DataFrame({
    "name": ["A&B <Co>", "=1+1", "  spaced  ", "bad\x01char", None],
    "flag": [True, False, None, True, False],
    "count": [1, None, -3, 0, 10**12],
    "amount": [1234.5, float("nan"), float("inf"), -0.005, 1e-7],
    "share": [0.125, None, 1.0, 0.0, 0.5],
    "day": [dt.date(2026, 10, 31), dt.date(1900, 3, 1), None, dt.date(2099, 12, 31), dt.date(2024, 2, 29)],
    "stamp": [dt.datetime(2026, 1, 2, 12, 0), None, None, None, dt.datetime(2026, 1, 2, 6, 30)],
    "tags": [["x", "y"], [], None, ["<z>"], ["1"]],
}, schema_overrides={"count": pl.Int64})
TYPES = ["text", "bool", "integer", "money", "percent", "date", "date", "text"]


def write(path, frame=FRAME, types=TYPES, batch=2):
    wb = Workbook(write_only=True)
    sheet = SheetWriter(wb, "客户")
    sheet.ws.freeze_panes = "A2"
    sheet.append(list(frame.columns), header=True)
    bulk = {sheet.ws.title: sheet.bulk(frame, types)}
    other = SheetWriter(wb, "其他")
    other.append(["after"])
    wb.save(path)
    original = sheetdata.BATCH
    try:
        sheetdata.BATCH = batch
        sheetdata.insert_rows(path, bulk)
    finally:
        sheetdata.BATCH = original
    return sheet


EXPECTED = [
    ["A&B <Co>", True, 1, 1234.5, 0.125, dt.datetime(2026, 10, 31), dt.datetime(2026, 1, 2, 12, 0), "x, y"],
    ["=1+1", False, None, None, None, dt.datetime(1900, 3, 1), None, ""],
    ["  spaced  ", None, -3, None, 1, None, None, None],
    ["badchar", True, 0, -0.005, 0, dt.datetime(2099, 12, 31), None, "<z>"],
    [None, False, 10**12, 1e-7, 0.5, dt.datetime(2024, 2, 29), dt.datetime(2026, 1, 2, 6, 30), "1"],
]


@pytest.mark.parametrize("batch", [2, 1000])
def test_every_kind_of_value_reads_back_through_openpyxl(tmp_path, batch):
    path = tmp_path / "t.xlsx"
    sheet = write(path, batch=batch)
    assert sheet.rows == 6
    wb = openpyxl.load_workbook(path)
    ws = wb["客户"]
    assert [c.value for c in ws[1]] == list(FRAME.columns)
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=2)] == EXPECTED
    assert ws["A3"].data_type == "s"  # "=1+1" is text, not a formula
    formats = [c.number_format for c in ws[2]]
    assert formats == ["General", "General", "0", "#,##0.00", "0.0%", "yyyy-mm-dd", "yyyy-mm-dd", "General"]
    assert ws.freeze_panes == "A2"
    assert wb["其他"]["A1"].value == "after"


def test_calamine_reads_the_same_cells(tmp_path):
    path = tmp_path / "t.xlsx"
    write(path)
    grid = fastexcel.read_excel(str(path)).load_sheet_by_name("客户", dtypes="string").to_polars()
    assert grid.columns == list(FRAME.columns)
    assert grid["name"].to_list() == ["A&B <Co>", "=1+1", "  spaced  ", "badchar", None]
    assert grid["day"].to_list()[:2] == ["2026-10-31 00:00:00", "1900-03-01 00:00:00"]


def test_only_text_with_spaces_at_its_ends_is_marked_to_keep_them(tmp_path):
    """Excel trims a cell's leading and trailing spaces unless told to keep them: "  spaced  "
    is told, the other texts are not (the mark on every cell made a sixth of the sheet's XML)."""
    import re
    import zipfile

    path = tmp_path / "t.xlsx"
    write(path)
    with zipfile.ZipFile(path) as archive:
        member = sheetdata.sheet_members(path)["客户"]
        xml = archive.read(member).decode()
    texts = dict(re.findall(r'<c r="(A\d+)"[^>]*t="inlineStr"><is>(<t[^>]*>)', xml))
    assert texts == {"A1": "<t>", "A2": "<t>", "A3": "<t>", "A4": '<t xml:space="preserve">', "A5": "<t>"}


def test_an_empty_table_leaves_a_valid_sheet(tmp_path):
    path = tmp_path / "t.xlsx"
    write(path, FRAME.clear())
    ws = openpyxl.load_workbook(path)["客户"]
    assert ws.max_row == 1 and [c.value for c in ws[1]] == list(FRAME.columns)
