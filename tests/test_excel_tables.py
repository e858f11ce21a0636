"""Decision tables kept in Excel: layout, cell values, addresses and every error's exact text."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest

from kamrules.errors import RulebookError
from kamrules.rules.excel_tables import ExcelTable, read_excel_table

from conftest import write_workbook

DISPLAY = "rules/tables/d.xlsx"
OUTPUTS = {"discount_pct": "percent", "tier_label": "text"}
LABELS = {"discount_pct": "折扣", "tier_label": "等级名称"}



def read(path: Path, sheet: str | None = "折扣", outputs=OUTPUTS, labels=LABELS) -> ExcelTable:
    return read_excel_table(path, DISPLAY, sheet, outputs, labels, "discount")


def error_text(path: Path, sheet: str | None = "折扣", **kwargs) -> str:
    with pytest.raises(RulebookError) as info:
        read(path, sheet, **kwargs)
    assert info.value.file == DISPLAY and info.value.rule_id == "discount"
    return str(info.value)


def test_labels_other_order_notes_and_cell_values(tmp_path):
    path = write_workbook(tmp_path / "d.xlsx", {"说明页": [["这页只有说明"]], "折扣": [
        [" tier ", "累计消费", "等级名称", "\u3000折扣 ", "说明"],
        ["A", ">= 150万", " 战略 ", 0.08, "A级客户 基础折扣8%"],
        ["B, C", "[100万..150万)", "重点", 0.05],                  # no note
        [None, None, None, None, None],                             # empty: skipped
        [None, 5, "新客", 2.0, 3.0],                                 # empty input, whole floats
        ["-", dt.datetime(2026, 1, 1), True, 0, "  "],              # date input, bool, blank note
    ]})
    assert read(path) == ExcelTable(
        file=DISPLAY, sheet="折扣", header_row=1,
        inputs=["tier", "累计消费"], input_cells=["A1", "B1"],
        rows=[
            (["A", ">= 150万", 0.08, "战略"], "A级客户 基础折扣8%"),
            (["B, C", "[100万..150万)", 0.05, "重点"], None),
            ([None, 5, 2, "新客"], "3"),
            (["-", dt.date(2026, 1, 1), 0, True], None),
        ],
        row_numbers=[2, 3, 5, 6],
        columns=["A", "B", "D", "C", "E"],
    )
    table = read(path)
    assert type(table.rows[2][0][2]) is int
    assert [table.cell(0, 2), table.cell(1, 3), table.cell(2, 4), table.cell(3, 1)] == \
        ["D2", "C3", "E5", "B6"]


def test_header_below_empty_rows_without_note_column(tmp_path):
    path = write_workbook(tmp_path / "d.xlsx", {"First": [
        [], [],
        ["tier", "discount_pct", "TIER_LABEL"],
        [],
        ["A", 0.08, "战略"],
        ["-", 0, "普通"],
    ], "折扣": [["unused"]]})
    assert read(path, sheet=None) == ExcelTable(
        file=DISPLAY, sheet="First", header_row=3, inputs=["tier"], input_cells=["A3"],
        rows=[(["A", 0.08, "战略"], None), (["-", 0, "普通"], None)], row_numbers=[5, 6],
        columns=["A", "B", "C"],
    )


def test_table_may_start_right_of_column_a(tmp_path):
    path = write_workbook(tmp_path / "d.xlsx", {"折扣": [
        [None, "tier", "折扣", "等级名称", None, "备注"],
        [None, "A", 0.08, "战略", None, "x"],
    ]})
    table = read(path)
    assert (table.inputs, table.input_cells, table.rows, table.columns) == \
        (["tier"], ["B1"], [(["A", 0.08, "战略"], "x")], ["B", "C", "D", "F"])


def test_stale_dimension_in_the_file_does_not_clip_cells(tmp_path):
    # Some tools write a wrong <dimension>; read-only openpyxl would trust it and drop cells.
    path = write_workbook(tmp_path / "d.xlsx", {"折扣": [
        ["tier", "折扣", "等级名称"], ["A", 0.08, "战略"], ["-", 0, "普通"]]})
    stale = tmp_path / "stale.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(stale, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', data)
            dst.writestr(item, data)
    assert read(stale).rows == [(["A", 0.08, "战略"], None), (["-", 0, "普通"], None)]


def test_missing_file(tmp_path):
    assert error_text(tmp_path / "nope.xlsx") == (
        "rules/tables/d.xlsx › 折扣 [discount]: workbook file not found\n"
        "  hint: check `file:` in the decision's table (folder, spelling, .xlsx)")


@pytest.mark.parametrize("name, content", [
    ("d.xlsx", b"not a zip"),
    ("d.xls", b"\xd0\xcf\x11\xe0"),
    ("d.xlsx", None),  # a zip without a workbook in it
])
def test_unreadable_file(tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("hello.txt", "hi")
    else:
        path.write_bytes(content)
    assert error_text(path) == (
        "rules/tables/d.xlsx › 折扣 [discount]: not a readable .xlsx workbook\n"
        "  hint: open it in Excel or WPS and save it as an Excel Workbook (.xlsx); "
        ".xls, .csv and password-protected files cannot be read")


def test_folder_instead_of_file(tmp_path):
    (tmp_path / "d.xlsx").mkdir()
    assert error_text(tmp_path / "d.xlsx") == (
        "rules/tables/d.xlsx › 折扣 [discount]: `file:` names a folder, not a workbook\n"
        "  hint: give the path of the .xlsx file")


def test_sheet_not_found(tmp_path):
    path = write_workbook(tmp_path / "d.xlsx", {"折扣表": [["x"]], "Credit": [["x"]]})
    assert error_text(path, sheet="折扣") == (
        "rules/tables/d.xlsx › 折扣 [discount]: no sheet '折扣' in the workbook\n"
        "  hint: did you mean '折扣表'?")
    assert error_text(path, sheet="服务") == (
        "rules/tables/d.xlsx › 服务 [discount]: no sheet '服务' in the workbook\n"
        "  hint: the workbook has sheets: 折扣表, Credit")


HEADER = ["tier", "折扣", "等级名称"]

SHEET_ERRORS = {
    "empty sheet": (
        [[], [None, "  "]],
        "rules/tables/d.xlsx › 折扣 [discount]: the sheet is empty: no header row\n"
        "  hint: put the header (input expressions, then the outputs) in the first row"),
    "output missing, close name": (
        [["tier", "discount_pc", "等级名称"], ["A", 0.08, "战略"]],
        "rules/tables/d.xlsx › 折扣 › A1 [discount]: no column for output 'discount_pct'\n"
        "  hint: did you mean 'discount_pc'?"),
    "output missing, close label": (
        [[], [None, "tier", "折扣率", "等级名称"], [None, "A", 0.08, "战略"]],
        "rules/tables/d.xlsx › 折扣 › B2 [discount]: no column for output 'discount_pct'\n"
        "  hint: did you mean '折扣率'?"),
    "output missing, nothing close": (
        [["tier", "折扣"], ["A", 0.08]],
        "rules/tables/d.xlsx › 折扣 › A1 [discount]: no column for output 'tier_label'\n"
        "  hint: add a header cell 'tier_label' or '等级名称' right of the input columns"),
    "blank header among inputs": (
        [["tier", None, "累计消费", "折扣", "等级名称"], ["A", None, "-", 0.08, "战略"]],
        "rules/tables/d.xlsx › 折扣 › B1 [discount]: blank header cell among the inputs\n"
        "  hint: type the input expression here or delete the empty column"),
    "no inputs": (
        [["折扣", "等级名称", "tier"], [0.08, "战略", "A"]],
        "rules/tables/d.xlsx › 折扣 › A1 [discount]: no input columns left of the outputs\n"
        "  hint: put the input expressions (e.g. tier) in the header cells "
        "left of the first output column"),
    "unexpected header, close to a label": (
        [HEADER + ["等级名", "说明"], ["A", 0.08, "战略", "x", "y"]],
        "rules/tables/d.xlsx › 折扣 › D1 [discount]: "
        "header '等级名' is neither an output nor a note column\n"
        "  hint: did you mean '等级名称'?"),
    "unexpected header, nothing close": (
        [HEADER + [None, "region"], ["A", 0.08, "战略"]],
        "rules/tables/d.xlsx › 折扣 › E1 [discount]: "
        "header 'region' is neither an output nor a note column\n"
        "  hint: inputs go left of the outputs; the outputs are discount_pct (折扣), "
        "tier_label (等级名称); a note column is headed 说明, 备注, note or notes"),
    "no rule rows": (
        [HEADER, [None, None, None], []],
        "rules/tables/d.xlsx › 折扣 › A2 [discount]: no rule rows below the header\n"
        "  hint: add one rule per row under the header (row 1)"),
    "output twice": (
        [["tier", "折扣", "discount_pct", "等级名称"], ["A", 0.08, 0.08, "战略"]],
        "rules/tables/d.xlsx › 折扣 › C1 [discount]: second column for output 'discount_pct'\n"
        "  hint: keep one of the columns B and C"),
    "two note columns": (
        [HEADER + ["说明", "Notes"], ["A", 0.08, "战略"]],
        "rules/tables/d.xlsx › 折扣 › E1 [discount]: second note column\n"
        "  hint: keep one note column (D or E)"),
    "value under no header": (
        [HEADER, ["A", 0.08, "战略"], ["B", 0.05, "重点", None, "?"]],
        "rules/tables/d.xlsx › 折扣 › E3 [discount]: value in a column without a header\n"
        "  hint: give the column a header or clear the cell"),
    "excel error value": (
        [HEADER, ["A", "#DIV/0!", "战略"]],
        "rules/tables/d.xlsx › 折扣 › B2 [discount]: the cell shows the Excel error #DIV/0!\n"
        "  hint: fix the formula or type the value"),
}


@pytest.mark.parametrize("rows, expected", SHEET_ERRORS.values(), ids=SHEET_ERRORS)
def test_sheet_errors(tmp_path, rows, expected):
    path = write_workbook(tmp_path / "d.xlsx", {"折扣": rows})
    assert error_text(path) == expected


def test_error_attributes_point_at_the_cell(tmp_path):
    path = write_workbook(tmp_path / "d.xlsx", {"折扣": [["tier", "等级名称"], ["A", "战略"]]})
    with pytest.raises(RulebookError) as info:
        read(path)
    error = info.value
    assert (error.file, error.sheet, error.cell, error.rule_id, error.message) == \
        (DISPLAY, "折扣", "A1", "discount", "no column for output 'discount_pct'")
