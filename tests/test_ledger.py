"""Ledger stage on real workbooks: header location, coercion, issues with Excel row numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from kamrules.errors import Issue, LedgerError, ProjectError, RulebookInvalid
from kamrules.i18n import localize
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
        "complaints": (1, 1, 0), "visits": (2, 2, 0), "reps": (0, 0, 0)}


def test_bad_rows_are_reported_with_file_sheet_row_and_header(tmp_path):
    write_workbook(tmp_path / "台账.xlsx", small_ledger())
    issues = read(tmp_path).issues
    assert issues == [
        Issue("台账.xlsx", "销售明细", 6, "金额", "待确认", "not an amount of money", "bad_value", "error", "orders",
              "write digits, e.g. 1234.50, ¥1,234.50 or 12万"),
        Issue("台账.xlsx", "销售明细", 7, "客户编号", "C999",
              "unknown 客户编号 C999: not in 客户档案; this row was not used",
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
              "conflicts with 台账.xlsx, sheet 客户档案, row 5: same 客户编号 C002, different 客户名称 "
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
    assert error.suggestion == ("the closest header is '客户号码'; if that is the one, add it to "
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


# --- issue 18: ledgers from the real world -------------------------------------------------------

def specs(raw: dict) -> dict[str, DatasetSpec]:
    return {name: DatasetSpec.model_validate(spec) for name, spec in raw.items()}


GUEST_SALES = {
    "customers": {"key": "customer_id", "required": True, "derive": {"from": "orders"},
                  "columns": {"customer_id": {"aliases": ["客户编号"], "required": True}, "name": ["客户名称"]}},
    "orders": {"required": True, "where": "not is_null(customer_id) and amount > 0",
               "columns": {"order_id": ["单据编号"],
                           "customer_id": {"aliases": ["客户编号"], "required": True,
                                           "references": "customers.customer_id"},
                           "order_date": {"aliases": ["单据日期"], "type": "date", "required": True},
                           "amount": {"aliases": ["金额"], "type": "money", "required": True}}},
}


def test_where_is_applied_before_required_values_are_checked(tmp_path):
    """Guest sales without a customer id are what ``where`` leaves out: skipped, whatever else is
    wrong with them — not rejected for the missing id. A row whose value the filter needs cannot
    be read is not skipped in silence: it is rejected for that value."""
    write_workbook(tmp_path / "x.xlsx", {"订单": [
        ["单据编号", "单据日期", "客户编号", "金额"],
        ["XS1", "2026-09-01", "K01", 100],
        ["XS2", "2026-09-02", None, 50],           # a guest sale: skipped
        ["XS3", "2026-09-03", "K02", "待确认"],      # the filter cannot read amount: rejected for it
        ["XS4", "2026-09-04", "K02", -20],          # a refund, left out by amount > 0: skipped
        ["XS5", "2026-13-45", None, 10],            # a guest sale with a bad date: skipped all the same
    ]})
    ledger = read(tmp_path, specs(GUEST_SALES))
    assert [(i.row, i.column, i.value, i.severity, i.code) for i in ledger.issues if i.dataset == "orders"] == [
        (3, "单据编号", "XS2", "skipped", "filtered"),
        (4, "金额", "待确认", "error", "bad_value"),
        (5, "单据编号", "XS4", "skipped", "filtered"),
        (6, "单据编号", "XS5", "skipped", "filtered"),
    ]
    stats = ledger.stats["orders"]
    assert (stats.rows_read, stats.rows_used, stats.rows_rejected, stats.rows_skipped) == (5, 1, 1, 3)
    assert ledger.datasets["customers"]["customer_id"].to_list() == ["K01"]


def test_headers_match_whatever_their_punctuation(tmp_path):
    write_workbook(tmp_path / "customers.xlsx", {"客户档案": [["客户编号#", "客户名称"], ["C001", "甲"], ["C002", "乙"]]})
    write_workbook(tmp_path / "orders.xlsx", {"orders": [
        ["Order No.", "Customer No.", "Order.Date", "Amount (GBP)"],
        ["SO1", "C001", "2026-09-01", 100],
    ]})
    write_workbook(tmp_path / "export.xlsx", {"销售明细": [
        ["订单编号", "Customer.ID", "下单日期：", "【金额】"],
        ["SO2", "C002", "2026-09-02", 200],
    ]})
    ledger = read(tmp_path)
    assert ledger.datasets["customers"]["customer_id"].to_list() == ["C001", "C002"]
    orders = ledger.datasets["orders"].sort("order_id")
    assert orders.select("order_id", "customer_id", "order_date", "amount").rows() == [
        ("SO1", "C001", dt.date(2026, 9, 1), 100.0), ("SO2", "C002", dt.date(2026, 9, 2), 200.0)]
    assert [i for i in ledger.issues if i.severity != "warning"] == []


def test_a_required_column_not_found_names_the_closest_header(tmp_path):
    write_workbook(tmp_path / "t.xlsx", {**small_ledger(), "销售明细": [
        ["订单编号", "Cust", "下单日期", "金额"], ["SO1", "C001", "2026-09-01", 100]]})
    with pytest.raises(LedgerError) as info:
        read(tmp_path)
    assert info.value.suggestion == ("the closest header is 'Cust'; if that is the one, add it to "
                                     "datasets.orders.columns.customer_id.aliases in rules/ledger.yaml")
    assert localize(info.value.suggestion, "zh") == (
        "最接近的表头是 'Cust'；如果就是它，请把它添加到 rules/ledger.yaml 的 datasets.orders.columns.customer_id.aliases")


def test_an_unrecognised_orders_sheet_is_named_with_its_headers_not_blamed_on_customers(tmp_path):
    """No customer sheet and the orders sheet not recognised: the run used to say customers
    could not be derived. It says what it saw instead, per missing column the closest header
    (or the column that already took it)."""
    write_workbook(tmp_path / "导出.xlsx", {"Sheet1": [
        ["单据编号", "往来单位", "日期", "价税合计"], ["XS1", "K01", "2026-09-01", 100]]})
    datasets = specs({**GUEST_SALES, "orders": {**GUEST_SALES["orders"], "columns": {
        **GUEST_SALES["orders"]["columns"],
        "customer_id": {"aliases": ["往来单位编码"], "required": True, "references": "customers.customer_id"},
        "customer_name": ["往来单位"],
        "amount": {"aliases": ["金额", "含税金额"], "type": "money", "required": True}}}})
    with pytest.raises(LedgerError) as info:
        read(tmp_path, datasets)
    error = info.value
    assert error.file == tmp_path.name
    assert error.message == (
        "no sheet found for the required dataset 'orders' (orders). Sheets seen: 导出.xlsx, sheet Sheet1 (not used) "
        "has the headers 单据编号, 往来单位, 日期, 价税合计, and no column for customer_id (the closest header, "
        "'往来单位', is read as customer_name) and order_date (closest header: '日期') and amount (no header like it)")
    assert localize(error.message, "zh") == (
        "找不到必需数据集 'orders'（orders）的工作表。看到的工作表：导出.xlsx 的工作表 Sheet1（未使用）的表头为 单据编号, 往来单位, "
        "日期, 价税合计，缺少 customer_id（最接近的表头 '往来单位' 已作为 customer_name 读取） 和 order_date"
        "（最接近的表头：'日期'） 和 amount（没有相近的表头）")
    assert error.suggestion == ("if those are the columns, add them as aliases under datasets.orders.columns in "
                                "rules/ledger.yaml: order_date: [日期]")
    assert localize(error.suggestion, "zh") == (
        "如果就是这些列，请在 rules/ledger.yaml 的 datasets.orders.columns 中把它们加为别名：order_date: [日期]")


def test_two_headers_for_one_column_are_noted(tmp_path):
    sheets = small_ledger()
    sheets["销售明细"] = [row + [row[5]] for row in sheets["销售明细"]]
    sheets["销售明细"][0][-1] = "销售金额"
    write_workbook(tmp_path / "t.xlsx", sheets)
    [note] = [i for i in read(tmp_path).issues if i.code == "duplicate_header"]
    assert (note.sheet, note.row, note.column, note.severity) == ("销售明细", 1, "销售金额", "warning")
    assert note.message == "the headers 金额 and 销售金额 both map to column amount; only 金额 was read"
    assert localize(note.message, "zh") == "表头 金额 和 销售金额 都对应列 amount；只读取了 金额"


def test_an_impossible_day_is_named_as_such():
    frame = pl.DataFrame({"d": ["2018-02-29 星期四", "2024-02-30", "2026-04-31", "2024-02-29", "2025-13-01",
                                "2018-2-29"]})
    value, error = to_date(pl.col("d"))
    out = frame.select(value.alias("v"), error.alias("e"))
    assert out["v"].to_list() == [None, None, None, dt.date(2024, 2, 29), None, None]
    assert out["e"].to_list() == ["no such day: 2018-02 28", "no such day: 2024-02 29", "no such day: 2026-04 30",
                                  None, "not a valid date", "no such day: 2018-02 28"]


def test_a_repeated_header_row_is_one_skipped_row_and_a_bad_row_one_error(tmp_path):
    sheets = small_ledger()
    sheets["销售明细"].insert(3, list(sheets["销售明细"][0]))  # the header again, as row 4
    sheets["销售明细"].append(["SO9", "C001", "2026-02-30", "钢材", "几个", "很多", 1])  # three bad cells
    write_workbook(tmp_path / "t.xlsx", sheets)
    ledger = read(tmp_path)
    orders = [i for i in ledger.issues if i.dataset == "orders"]
    assert [(i.row, i.column, i.severity, i.code) for i in orders] == [
        (4, "订单编号", "skipped", "repeated_header"), (7, "金额", "error", "bad_value"),
        (8, "客户编号", "error", "unknown_reference"), (9, "客户编号", "error", "missing_value"),
        (11, "下单日期", "error", "bad_date")]
    last = orders[-1]
    assert last.message == ("no such date: February 2026 has 28 days; also in this row: 金额 '很多': not an amount "
                            "of money and 数量 '几个': not a number")
    assert localize(last.message, "zh") == "日期不存在：2026年2月只有28天；该行还有：金额 '很多'：不是金额 和 数量 '几个'：不是数字"
    stats = ledger.stats["orders"]
    errors = [i for i in ledger.issues if i.severity == "error"]
    assert (stats.rows_read, stats.rows_used, stats.rows_rejected, stats.rows_skipped) == (10, 5, 4, 1)
    assert len(errors) == ledger.rejected_rows == 4


def test_derived_customers_carry_attributes_from_their_orders(tmp_path):
    datasets = specs({
        "customers": {"key": "customer_id", "required": True, "title": "客户档案",
                      "derive": {"from": "orders", "columns": {
                          "name": "latest(customer_name)", "region": "most_frequent(country)",
                          "since": "min(order_date)", "first_product": "first(product)", "biggest": "max(amount)"}},
                      "columns": {"customer_id": {"aliases": ["客户编号"], "required": True, "title": "客户编号"},
                                  "name": {"aliases": ["客户名称"], "title": "客户名称"},
                                  "region": {"aliases": ["地区"], "title": "地区"},
                                  "since": {"aliases": ["合作开始日期"], "type": "date"},
                                  "first_product": ["首单产品"], "biggest": {"aliases": ["最大单笔"], "type": "money"},
                                  "industry": {"aliases": ["行业"], "title": "行业"},
                                  "currency": {"value": "CNY"}}},
        "orders": {"required": True, "title": "销售明细",
                   "columns": {"customer_id": {"aliases": ["客户编号"], "required": True,
                                               "references": "customers.customer_id"},
                               "customer_name": ["客户名称"], "country": ["国家"], "product": ["产品"],
                               "order_date": {"aliases": ["日期"], "type": "date", "required": True},
                               "amount": {"aliases": ["金额"], "type": "money", "required": True}}}})
    write_workbook(tmp_path / "x.xlsx", {"销售明细": [
        ["客户编号", "客户名称", "国家", "产品", "日期", "金额"],
        ["K2", "乙公司", "德国", "螺丝", "2026-03-01", 5],
        ["K1", "甲公司（新名）", "中国", "钢管", "2026-05-01", 30],   # the latest line of K1: its name
        ["K1", "甲公司", "日本", "钢板", "2026-01-01", 10],         # the first line of K1 by date
        ["K1", None, "日本", None, "2026-06-01", 20],               # the latest line, but no name
        ["K1", "甲公司", "中国", "钢材", "2026-02-01", 40],          # 中国 and 日本 twice each: the latest (06-01) wins
        ["K2", None, None, None, "2026-02-01", 7],
    ]})
    ledger = read(tmp_path, datasets)
    customers = ledger.datasets["customers"]
    assert customers.select("customer_id", "name", "region", "since", "first_product", "biggest", "industry",
                            "currency").rows() == [
        ("K2", "乙公司", "德国", dt.date(2026, 2, 1), "螺丝", 7.0, None, "CNY"),
        ("K1", "甲公司（新名）", "日本", dt.date(2026, 1, 1), "钢板", 40.0, None, "CNY")]
    stats = ledger.stats["customers"]
    assert (stats.derived_from, stats.rows_derived, stats.rows_read) == ("销售明细", 2, 0)
    [note] = [i for i in ledger.issues if i.code == "derived_dataset"]
    assert note.message == "no sheet for 客户档案: 2 derived from the 客户编号 values in 销售明细"
    assert localize(note.message, "zh") == "没有客户档案工作表：按销售明细中的客户编号生成了 2 条客户档案"
    assert localize(note.suggestion, "zh") == (
        "这些列为空：行业；如需填写，请添加客户档案工作表，或在 derive.columns 中从订单中取值")


def ledger_project(tmp_path: Path, text: str) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(parents=True)
    (rules / "ledger.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def ledger_errors(project: Path) -> list[tuple]:
    with pytest.raises(RulebookInvalid) as info:
        load_rulebook(project)
    return [(e.line, localize(e.message, "en"), localize(e.message, "zh"), e.suggestion) for e in info.value.errors]


DERIVING = """\
kamrules: 1
datasets:
  customers:
    key: customer_id
    derive:
      from: orders
      by: amount
      columns:
        region: most_often(country)
        name: latest(customer_nam)
        since: max(country)
        manager: region
        phone: first(customer_name)
    columns:
      customer_id: {aliases: [客户编号], required: true}
      name: [客户名称]
      region: [地区]
      manager: [客户经理]
      since: {aliases: [合作开始日期], type: date}
  orders:
    columns:
      customer_id: {aliases: [客户编号], required: true}
      customer_name: [客户名称]
      country: [国家]
      order_date: {aliases: [日期], type: date, required: true}
      amount: {aliases: [金额], type: money}
"""


def test_derive_reducers_are_checked_at_their_yaml_line(tmp_path):
    errors = ledger_errors(ledger_project(tmp_path / "a", DERIVING))
    assert errors == [
        (9, "datasets.customers.derive.columns.region: unknown reducer 'most_often'; use one of: "
            "first, latest, most_frequent, min, max",
         "datasets.customers.derive.columns.region：未知的归并方式 'most_often'；可用的有：first, latest, most_frequent, min, max",
         None),
        (12, "datasets.customers.derive.columns.manager: 'region' is not 'reducer(column)', e.g. "
             "most_frequent(country); reducers: first, latest, most_frequent, min, max",
         "datasets.customers.derive.columns.manager：'region' 不是“归并方式(列)”的形式，例如 most_frequent(country)；"
         "归并方式有：first, latest, most_frequent, min, max", None),
    ]
    fixed = DERIVING.replace("most_often", "most_frequent").replace("manager: region", "manager: latest(country)")
    errors = ledger_errors(ledger_project(tmp_path / "b", fixed))
    assert errors[0][:3] == (
        3, "datasets.customers: derive.columns: 'phone' is not a column of this dataset (it has: customer_id, name, "
           "region, manager, since)",
        "datasets.customers：derive.columns：'phone' 不是本数据集的列（有：customer_id, name, region, manager, since）")
    fixed = fixed.replace("        phone: first(customer_name)\n", "")
    constant = fixed.replace("      manager: [客户经理]", "      manager: {value: 张伟}")
    assert ledger_errors(ledger_project(tmp_path / "d", constant))[0][1] == (
        "datasets.customers: derive.columns: 'manager' is given by value or expr; it cannot be reduced too")
    errors = ledger_errors(ledger_project(tmp_path / "c", fixed))
    assert [(line, en, zh, str(hint) if hint else None) for line, en, zh, hint in errors] == [
        (7, "derive.by: orders has no date column 'amount'", "derive.by：orders 没有日期列 'amount'",
         "did you mean 'order_date'?"),
        (10, "derive.columns.name: orders has no column 'customer_nam'",
         "derive.columns.name：orders 没有列 'customer_nam'", "did you mean 'customer_name'?"),
        (11, "derive.columns.since: max(country) is text, but since is date",
         "derive.columns.since：max(country) 是 text 类型，而 since 是 date", None),
    ]


def test_two_columns_claiming_one_header_is_an_error_at_the_dataset(tmp_path):
    text = DERIVING.replace("      customer_name: [客户名称]\n", "      customer_name: [客户名称, 客户编号]\n")
    text = text[:text.index("    derive:")] + text[text.index("\n    columns:") + 1:]
    errors = ledger_errors(ledger_project(tmp_path, text))
    assert errors == [(
        14, "the header '客户编号' is listed under both customer_id and customer_name: a header goes "
            "to one column, so customer_name could never read it",
        "表头 '客户编号' 同时列在 customer_id 和 customer_name 下：一个表头只对应一列，customer_name 永远读不到它",
        None)]


def test_a_row_rejected_for_an_empty_computed_value_is_one_error_with_its_causes(tmp_path):
    """quantity (optional) cannot be read, so amount = quantity × unit_price is empty and the row
    is rejected: one error naming both, not also a warning that says the row was kept."""
    datasets = specs({**GUEST_SALES, "orders": {"required": True, "columns": {
        "customer_id": {"aliases": ["客户编号"], "required": True, "references": "customers.customer_id"},
        "order_date": {"aliases": ["单据日期"], "type": "date", "required": True},
        "quantity": {"aliases": ["数量"], "type": "number"}, "unit_price": {"aliases": ["单价"], "type": "money"},
        "amount": {"expr": "quantity * unit_price", "type": "money", "required": True}}}})
    write_workbook(tmp_path / "x.xlsx", {"订单": [
        ["客户编号", "单据日期", "数量", "单价"], ["K01", "2026-09-01", "几个", 5], ["K01", "2026-09-02", 2, 5]]})
    ledger = read(tmp_path, datasets)
    [issue] = [i for i in ledger.issues if i.dataset == "orders"]
    assert (issue.row, issue.column, issue.value, issue.severity, issue.code) == (2, "amount", None, "error",
                                                                                   "missing_value")
    assert issue.message == "required value is missing; also in this row: 数量 '几个': not a number"
    assert localize(issue.message, "zh") == "缺少必填值；该行还有：数量 '几个'：不是数字"
    assert issue.suggestion == "it is computed as quantity * unit_price; fill in the columns it uses"
    assert ledger.datasets["orders"]["amount"].to_list() == [10.0]
