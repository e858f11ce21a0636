"""Ledger stage on real workbooks: header location, coercion, issues with Excel row numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from kamrules.errors import Issue, LedgerError, ProjectError
from kamrules.ledger import read_ledger
from kamrules.ledger.coerce import clean_text, to_date, to_money, to_number, to_percent
from kamrules.ledger.config import DatasetSpec, LedgerSettings
from kamrules.rules.rulebook_compiler import load_rulebook

from conftest import CUSTOMER_HEADER, REPO, small_ledger, write_workbook

SPEC = load_rulebook(REPO).spec
DATASETS, SETTINGS = SPEC.datasets, SPEC.ledger


def read(inputs: Path, datasets=DATASETS, settings=SETTINGS):
    return read_ledger(inputs, datasets, settings)


def test_reads_every_dataset_with_title_rows_and_types(tmp_path):
    write_workbook(tmp_path / "台账.xlsx", small_ledger())
    ledger = read(tmp_path)
    customers = ledger.datasets["customers"]
    assert customers["customer_id"].to_list() == ["C001", "C002", "C003"]
    assert customers["since"].to_list() == [dt.date(2020, 1, 15), dt.date(2025, 6, 1), dt.date(2018, 5, 1)]
    assert customers["_row"].to_list() == [4, 5, 6]  # header on row 3, below a title and a blank row
    orders = ledger.datasets["orders"]
    assert orders.schema["amount"] == pl.Float64 and orders.schema["order_date"] == pl.Date
    assert orders.filter(pl.col("order_id") == "SO4")["amount"].item() == 120_000.0
    assert {name: (s.rows_read, s.rows_used, s.rows_rejected) for name, s in ledger.stats.items()} == {
        "customers": (3, 3, 0), "orders": (8, 5, 3), "receivables": (3, 3, 0),
        "complaints": (1, 1, 0), "visits": (2, 2, 0)}


def test_bad_rows_are_reported_with_file_sheet_row_and_header(tmp_path):
    write_workbook(tmp_path / "台账.xlsx", small_ledger())
    issues = read(tmp_path).issues
    assert issues == [
        Issue("台账.xlsx", "销售明细", 6, "金额", "待确认", "not an amount of money", "bad_value", "error", "orders",
              "write digits, e.g. 1234.50, ¥1,234.50 or 12万"),
        Issue("台账.xlsx", "销售明细", 7, "客户编号", "C999",
              "unknown customer_id C999: not in 客户档案; this row was not used",
              "unknown_reference", "error", "orders", "add it to 客户档案 or correct it"),
        Issue("台账.xlsx", "销售明细", 8, "客户编号", None, "required value is missing", "missing_value", "error", "orders",
              "fill it in at the source and drop the file in again"),
    ]


def test_optional_bad_values_are_warnings_and_the_row_is_kept(tmp_path):
    sheets = small_ledger()
    sheets["客户档案"][3][8] = "不详"  # 联系人生日 of C001
    write_workbook(tmp_path / "台账.xlsx", sheets)
    ledger = read(tmp_path)
    warning = [i for i in ledger.issues if i.severity == "warning"]
    assert warning == [Issue("台账.xlsx", "客户档案", 4, "联系人生日", "不详", "not a valid date (value left empty, row kept)",
                             "bad_date", "warning", "customers", "write it as 2025-01-03, 2025/1/3 or 2025年1月3日")]
    assert ledger.datasets["customers"].height == 3
    assert ledger.datasets["customers"]["contact_birthday"][0] is None


def test_same_key_different_content_is_a_conflict_and_same_content_a_skipped_duplicate(tmp_path):
    sheets = small_ledger()
    sheets["客户档案"].append(["C002", "冒名商贸", "零售", "华南", "王芳", "2025-06-01", "现结", "赵强", None, None])
    sheets["客户档案"].append(list(sheets["客户档案"][5]))  # C003 again, identical
    write_workbook(tmp_path / "台账.xlsx", sheets)
    ledger = read(tmp_path)
    found = [i for i in ledger.issues if i.code in ("key_conflict", "duplicate_row")]
    assert found == [
        Issue("台账.xlsx", "客户档案", 7, "客户编号", "C002",
              "conflicts with 台账.xlsx, sheet 客户档案, row 5: same customer_id C002, different 客户名称 "
              "(冒名商贸 vs 二号商贸有限公司)", "key_conflict", "error", "customers",
              "keep one of the two rows at the source (or give them different ids)"),
        Issue("台账.xlsx", "客户档案", 8, "客户编号", "C003", "duplicate of 台账.xlsx, sheet 客户档案, row 6 (same content)",
              "duplicate_row", "skipped", "customers"),
    ]
    assert ledger.datasets["customers"].filter(pl.col("customer_id") == "C002")["name"].item() == "二号商贸有限公司"
    stats = ledger.stats["customers"]
    assert (stats.rows_read, stats.rows_used, stats.rows_rejected, stats.rows_skipped) == (5, 3, 1, 1)


def test_sheet_found_by_headers_when_its_name_is_unknown(tmp_path):
    sheets = small_ledger()
    sheets["Sheet1"] = sheets.pop("销售明细")
    write_workbook(tmp_path / "台账.xlsx", sheets)
    ledger = read(tmp_path)
    assert ledger.datasets["orders"].height == 5
    assert {i.sheet for i in ledger.issues if i.dataset == "orders"} == {"Sheet1"}


def test_unmatched_sheets_are_noted_not_silently_skipped(tmp_path):
    sheets = small_ledger()
    sheets["备忘"] = [["随便写点什么"], ["不是台账"]]
    write_workbook(tmp_path / "台账.xlsx", sheets)
    notes = [i for i in read(tmp_path).issues if i.code == "sheet_ignored"]
    assert notes == [Issue("台账.xlsx", "备忘", None, None, None,
                           "sheet not used: its name and headers match no dataset in rules/ledger.yaml",
                           "sheet_ignored", "warning", None,
                           "rename the sheet or add its headers as aliases in rules/ledger.yaml")]


def test_dataset_split_across_workbooks_is_concatenated(tmp_path):
    sheets = small_ledger()
    orders = sheets.pop("销售明细")
    write_workbook(tmp_path / "a.xlsx", sheets)
    write_workbook(tmp_path / "b_订单.xlsx", {"销售明细": orders[:4]})
    write_workbook(tmp_path / "c_订单.xlsx", {"订单明细": [orders[0]] + orders[4:]})
    (tmp_path / "~$a.xlsx").write_bytes(b"lock file")
    (tmp_path / ".hidden.xlsx").write_bytes(b"not a workbook")
    ledger = read(tmp_path)
    assert sorted(ledger.datasets["orders"]["order_id"].to_list()) == ["SO1", "SO2", "SO3", "SO4", "SO8"]
    assert [f.name for f in ledger.files] == ["a.xlsx", "b_订单.xlsx", "c_订单.xlsx"]


def test_sheet_named_like_a_dataset_without_a_required_column_is_fatal(tmp_path):
    sheets = small_ledger()
    sheets["销售明细"][0] = ["订单编号", "客户号码", "下单日期", "产品", "数量", "金额", "成本"]
    write_workbook(tmp_path / "台账.xlsx", sheets)
    with pytest.raises(LedgerError) as info:
        read(tmp_path)
    error = info.value
    assert (error.file, error.sheet, error.row) == ("台账.xlsx", "销售明细", 1)
    assert error.message == ("sheet looks like dataset 'orders' but has no column for 'customer_id' "
                             "(tried 客户编号 / 客户代码 / customer id; the header row has: 订单编号, 客户号码, 下单日期, "
                             "产品, 数量, 金额, 成本)")
    assert error.suggestion == ("did you mean '客户号码'? If so, add that header to "
                                "datasets.orders.columns.customer_id.aliases in rules/ledger.yaml")


def test_unreadable_workbook_is_a_clear_error(tmp_path):
    (tmp_path / "坏文件.xlsx").write_bytes(b"%PDF-1.4 this is not a workbook")
    with pytest.raises(LedgerError) as info:
        read(tmp_path)
    assert info.value.file == "坏文件.xlsx"
    assert info.value.message == "the file is a PDF file renamed to .xlsx, not an Excel workbook"
    assert info.value.suggestion == "put the original spreadsheet in inputs/ instead"


def test_missing_required_dataset_and_empty_inputs(tmp_path):
    with pytest.raises(ProjectError, match="inputs/ has no spreadsheets"):
        read(tmp_path)
    write_workbook(tmp_path / "x.xlsx", {"客户档案": small_ledger()["客户档案"]})
    with pytest.raises(LedgerError, match="no sheet found for the required dataset 'orders'"):
        read(tmp_path)


def test_inputs_are_never_modified(tmp_path):
    path = write_workbook(tmp_path / "台账.xlsx", small_ledger())
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    read(tmp_path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_csv_in_gbk_and_utf8_bom(tmp_path):
    rows = [",".join(CUSTOMER_HEADER), "C001,甲公司,制造业,华东,张伟,2020-01-15,月结,李娜,,"]
    (tmp_path / "客户档案.csv").write_bytes("\n".join(rows).encode("gbk"))
    orders = ["订单编号,客户编号,下单日期,产品,数量,金额,成本", 'SO1,C001,2026/9/1,钢材,1,"¥1,000.00",800']
    (tmp_path / "销售明细.csv").write_bytes("\n".join(orders).encode("utf-8-sig"))
    ledger = read(tmp_path)
    assert ledger.datasets["customers"]["name"].to_list() == ["甲公司"]
    assert ledger.datasets["orders"]["amount"].to_list() == [1000.0]
    assert ledger.datasets["orders"]["_row"].to_list() == [2]


def test_csv_in_an_unknown_encoding_is_refused(tmp_path):
    (tmp_path / "客户档案.csv").write_bytes(b"\xff\xfe\x00\xd8bad")
    with pytest.raises(LedgerError, match="starts like UTF-16 text but byte 2 is not valid UTF-16"):
        read(tmp_path)
    (tmp_path / "客户档案.csv").write_bytes(b"\x81\x30\x81")  # truncated GB18030 four-byte sequence
    with pytest.raises(LedgerError, match="cannot tell the text encoding"):
        read(tmp_path)


def test_headers_match_despite_spaces_units_and_width(tmp_path):
    sheets = small_ledger()
    sheets["销售明细"][0] = ["订单编号", " 客户编号 ", "下单日期", "产品", "数量", "金额（元）", "成本*"]
    write_workbook(tmp_path / "台账.xlsx", sheets)
    assert read(tmp_path).datasets["orders"].height == 5


def test_leading_empty_rows_and_columns_keep_excel_row_numbers(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "销售明细"
    ws["C4"], ws["D4"], ws["E4"] = "客户编号", "下单日期", "金额"
    ws["C5"], ws["D5"], ws["E5"] = "C001", dt.datetime(2026, 1, 2), "坏值"
    wb.create_sheet("客户档案").append(["客户编号", "客户名称"])
    wb["客户档案"].append(["C001", "甲"])
    wb.save(tmp_path / "t.xlsx")
    issues = read(tmp_path).issues
    assert [(i.sheet, i.row, i.column, i.value) for i in issues] == [("销售明细", 5, "金额", "坏值")]


@pytest.mark.parametrize("text, expected", [
    ("2025-01-03 00:00:00", dt.date(2025, 1, 3)), ("2025/1/3", dt.date(2025, 1, 3)),
    ("2025.1.3", dt.date(2025, 1, 3)), ("2025年1月3日", dt.date(2025, 1, 3)),
    ("2018-01-05 星期五", dt.date(2018, 1, 5)), ("2018-01-05（周五）", dt.date(2018, 1, 5)),
    ("45000", dt.date(2023, 3, 15)), ("45000.75", dt.date(2023, 3, 15)), ("20250103", dt.date(2025, 1, 3)),
    ("２０２５年１月３日", dt.date(2025, 1, 3)), ("2024-02-29 13:45", dt.date(2024, 2, 29)),
    ("2025-02-29", None), ("2025-13-45", None), ("明天", None), ("12", None),
])
def test_dates(text, expected):
    value, error = to_date(clean_text(pl.lit(text)))
    result = pl.select(value.alias("v"), error.alias("e")).row(0)
    assert result[0] == expected
    assert (result[1] is None) == (expected is not None)


def test_ambiguous_dates_follow_date_order_and_are_never_guessed():
    for order, expected in (("dmy", dt.date(2025, 4, 3)), ("mdy", dt.date(2025, 3, 4))):
        value, error = to_date(pl.lit("03/04/2025"), order)
        assert pl.select(value).item() == expected
    value, error = to_date(pl.lit("03/04/2025"), "ymd")
    assert pl.select(value).item() is None
    assert pl.select(error).item() == "ambiguous date (day/month order unknown)"


@pytest.mark.parametrize("text, expected", [
    ("¥1,234.50", 1234.5), ("￥ 3,000 元", 3000.0), ("１２３４", 1234.0), ("12万", 120_000.0),
    ("1.5亿", 150_000_000.0), ("(123)", -123.0), ("123-", -123.0), ("-5", -5.0), ("RMB 10", 10.0),
    ("待确认", None), ("1.2.3", None), ("inf", None),
])
def test_money(text, expected):
    value, error = to_money(clean_text(pl.lit(text)))
    assert pl.select(value).item() == expected
    assert (pl.select(error).item() is None) == (expected is not None)


def test_percent_and_blank_cells():
    assert [pl.select(to_percent(pl.lit(t))[0]).item() for t in ("12%", "0.12", "１２％")] == [0.12, 0.12, 0.12]
    value, error = to_percent(pl.lit("12"))
    assert pl.select(value).item() is None and "ambiguous" in pl.select(error).item()
    assert pl.select(clean_text(pl.lit("\u3000 "))).item() is None
    assert pl.select(to_number(pl.lit(None, dtype=pl.String))[1]).item() is None


def test_min_max_and_enum_checks(tmp_path):
    datasets = {
        "customers": DatasetSpec.model_validate({"required": True, "key": "customer_id", "columns": {
            "customer_id": {"aliases": ["客户编号"], "required": True},
            "settlement": {"aliases": ["结算方式"], "type": "enum", "values": ["月结", "现结"]},
            "discount": {"aliases": ["折扣"], "type": "percent", "max": 0.5}}}),
    }
    write_workbook(tmp_path / "c.xlsx", {"客户档案": [["客户编号", "结算方式", "折扣"],
                                                     ["C1", "月结算", "60%"], ["C2", "现结", "5%"]]})
    issues = read_ledger(tmp_path, datasets, LedgerSettings()).issues
    assert [(i.row, i.column, i.message, i.suggestion) for i in issues] == [
        (2, "结算方式", "not one of: 月结, 现结 (value left empty, row kept)", "did you mean '月结'?"),
        (2, "折扣", "above the maximum 0.5 (value left empty, row kept)", None),
    ]


def test_reference_issues_quote_the_header_as_written_in_that_file(tmp_path):
    sheets = small_ledger()
    sheets["销售明细"][0] = ["订单编号", "客户代码", "下单日期", "产品", "数量", "金额", "成本"]
    write_workbook(tmp_path / "台账.xlsx", sheets)
    unknown = [i for i in read(tmp_path).issues if i.code == "unknown_reference"]
    assert [(i.row, i.column, i.value) for i in unknown] == [(7, "客户代码", "C999")]
