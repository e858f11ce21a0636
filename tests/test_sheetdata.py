"""Big tables are spliced into the saved workbook as XML built by Polars: every kind of
value must come back from openpyxl and calamine exactly as the per-cell writer gave it."""

from __future__ import annotations

import datetime as dt
import re

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


# --- shared strings -------------------------------------------------------------------------

REPEATING = pl.DataFrame({
    "id": ["C1", "C2", "C3", "C4", "C5", "C6"],
    "tier": ["A级", "B&C <x>", "A级", None, "B&C <x>", "A级"],
    "reason": [" 留白 ", " 留白 ", "bad\x01char", "bad\x01char", " 留白 ", None],
    "tags": [["x", "y"], ["x", "y"], [], [], ["x", "y"], None],
    "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
})


def _parts(path) -> dict[str, str]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist() if name.endswith((".xml", ".rels"))}


def test_repeating_text_is_written_once_into_shared_strings(tmp_path):
    """Columns whose texts come back (tier, reason, tags) hold numbers into one shared-string table
    for the whole workbook; unique ones (id) stay inline; every value reads back as it was."""
    path = tmp_path / "t.xlsx"
    wb = Workbook(write_only=True)
    first, second = SheetWriter(wb, "客户"), SheetWriter(wb, "预警")
    for sheet in (first, second):
        sheet.append(list(REPEATING.columns), header=True)
    bulk = {"客户": first.bulk(REPEATING, ["text"] * 4 + ["money"]),
            "预警": second.bulk(REPEATING.slice(0, 5), ["text"] * 4 + ["money"])}
    wb.save(path)
    sheetdata.insert_rows(path, bulk)

    expected = [["C1", "A级", " 留白 ", "x, y", 1], ["C2", "B&C <x>", " 留白 ", "x, y", 2],
                ["C3", "A级", "badchar", "", 3], ["C4", None, "badchar", "", 4],
                ["C5", "B&C <x>", " 留白 ", "x, y", 5], ["C6", "A级", None, None, 6]]
    book = openpyxl.load_workbook(path)
    assert [[c.value for c in row] for row in book["客户"].iter_rows(min_row=2)] == expected
    assert [[c.value for c in row] for row in book["预警"].iter_rows(min_row=2)] == expected[:5]
    grid = fastexcel.read_excel(str(path)).load_sheet_by_name("客户", dtypes="string").to_polars()
    assert grid["reason"].to_list() == [" 留白 ", " 留白 ", "badchar", "badchar", " 留白 ", None]

    parts = _parts(path)
    sst = parts["xl/sharedStrings.xml"]
    assert sst.endswith('count="29" uniqueCount="6"><si><t>A级</t></si><si><t>B&amp;C &lt;x&gt;</t></si>'
                       '<si><t xml:space="preserve"> 留白 </t></si><si><t>badchar</t></si>'
                       '<si><t>x, y</t></si><si><t></t></si></sst>')
    member = sheetdata.sheet_members(path)
    customers, alerts = parts[member["客户"]], parts[member["预警"]]
    assert '<c r="A2" t="inlineStr"><is><t>C1</t></is></c><c r="B2" t="s"><v>0</v></c>' in customers
    assert '<c r="C2" t="s"><v>2</v></c><c r="D2" t="s"><v>4</v></c>' in customers
    row = '<c r="A4" t="inlineStr"><is><t>C3</t></is></c><c r="B4" t="s"><v>0</v></c><c r="C4" t="s"><v>3</v></c>' \
          '<c r="D4" t="s"><v>5</v></c>'
    assert row in customers and row in alerts  # one table for the workbook
    assert ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sharedStrings+xml"/>') in parts["[Content_Types].xml"]
    assert re.search(r'<Relationship Id="rId\d+" Type="[^"]*/relationships/sharedStrings" Target="sharedStrings.xml"/>',
                     parts["xl/_rels/workbook.xml.rels"])


def test_a_workbook_with_shared_strings_of_its_own_keeps_its_table(tmp_path):
    """A workbook that has a shared-string table already (saved by Excel, say) is left with it:
    the rows' text goes inline."""
    import zipfile

    plain, path = tmp_path / "plain.xlsx", tmp_path / "t.xlsx"
    book = Workbook()
    book.active.title = "客户"
    book.active.append(list(REPEATING.columns))
    book.save(plain)
    own = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
           'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>theirs</t></si></sst>')
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename in ("[Content_Types].xml", "xl/_rels/workbook.xml.rels"):
                data = sheetdata._with_shared_strings(info.filename, data)
            out.writestr(info, data)
        out.writestr("xl/sharedStrings.xml", own)
    sheetdata.insert_rows(path, {"客户": sheetdata.BulkRows(REPEATING, [None] * REPEATING.width)})
    parts = _parts(path)
    assert parts["xl/sharedStrings.xml"] == own
    assert 't="s"' not in parts[sheetdata.sheet_members(path)["客户"]]
    assert [c.value for c in openpyxl.load_workbook(path)["客户"][3]] == ["C2", "B&C <x>", " 留白 ", "x, y", 2]
