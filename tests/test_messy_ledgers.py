"""Real-world ledgers: ERP exports, hand-kept workbooks, Chinese-Windows CSVs.

Each test builds the messy file, reads it, and asserts exactly which rows were used,
rejected or skipped and why, and that read = used + rejected + skipped.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from kamrules.errors import LedgerError
from kamrules.ledger import read_ledger
from kamrules.ledger.config import DatasetSpec
from kamrules.rules.rulebook_compiler import load_rulebook

from conftest import CUSTOMER_HEADER, ORDER_HEADER, REPO, small_ledger, write_workbook

SPEC = load_rulebook(REPO).spec
D = dt.datetime


def read(inputs: Path, datasets=None, settings=None):
    return read_ledger(inputs, datasets or SPEC.datasets, settings or SPEC.ledger)


def issues_of(ledger, *codes) -> list[tuple]:
    return [(i.sheet, i.row, i.column, i.value, i.severity, i.code) for i in ledger.issues if i.code in codes]


def test_totals_rows_are_skipped_not_counted(tmp_path):
    sheets = small_ledger()
    sheets["销售明细"].append([None, "合计", None, None, 24, 2_224_999, None])
    sheets["销售明细"].append(["小计：", None, None, None, None, 100, None])
    write_workbook(tmp_path / "t.xlsx", sheets)
    ledger = read(tmp_path)
    assert issues_of(ledger, "totals_row") == [
        ("销售明细", 10, "客户编号", "合计", "skipped", "totals_row"),
        ("销售明细", 11, "订单编号", "小计：", "skipped", "totals_row")]
    stats = ledger.stats["orders"]
    assert (stats.rows_read, stats.rows_used, stats.rows_rejected, stats.rows_skipped) == (10, 5, 3, 2)
    assert "合计" not in ledger.datasets["orders"]["customer_id"].to_list()


def test_hidden_rows_are_used_and_noted(tmp_path):
    path = write_workbook(tmp_path / "t.xlsx", small_ledger())
    wb = openpyxl.load_workbook(path)
    wb["销售明细"].row_dimensions[3].hidden = True
    wb.save(path)
    ledger = read(tmp_path)
    assert issues_of(ledger, "hidden_row") == [("销售明细", 3, None, None, "warning", "hidden_row")]
    assert "SO2" in ledger.datasets["orders"]["order_id"].to_list()


def test_formulas_use_saved_values_and_missing_ones_are_reported(tmp_path):
    sheets = small_ledger()
    sheets["销售明细"][1][5] = "=300000+700000"   # amount (required): no saved result → rejected
    sheets["销售明细"][2][6] = "=600000*0.7"      # cost (optional): no saved result → blank, warning
    write_workbook(tmp_path / "t.xlsx", sheets)
    ledger = read(tmp_path)
    found = [i for i in ledger.issues if i.code == "uncached_formula"]
    assert [(i.row, i.column, i.severity, i.message) for i in found] == [
        (2, "金额", "error", "formula has no saved result"),
        (3, "成本", "warning", "formula has no saved result (value left empty, row kept)")]
    assert found[0].suggestion == "open the workbook in Excel or WPS and save it, so the formula's result is stored"
    orders = ledger.datasets["orders"]
    assert "SO1" not in orders["order_id"].to_list()
    assert orders.filter(pl.col("order_id") == "SO2")["cost"].item() is None


def test_merged_two_row_header_and_blank_columns(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "销售明细"
    ws.append(["客户编号", "订单信息", None, "金额信息", None, None, None])
    ws.append([None, "订单编号", "下单日期", "金额", "成本", None, "备忘"])
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:C1")
    ws.merge_cells("D1:E1")
    ws.append(["C001", "SO1", D(2026, 10, 1), 1000, 700, "无表头的数据", "x"])
    wb.create_sheet("客户档案").append(CUSTOMER_HEADER)
    wb["客户档案"].append(["C001", "甲公司"] + [None] * 8)
    wb.save(tmp_path / "t.xlsx")
    ledger = read(tmp_path)
    orders = ledger.datasets["orders"]
    assert orders.select("customer_id", "order_id", "amount", "cost").rows() == [("C001", "SO1", 1000.0, 700.0)]
    assert orders["_row"].to_list() == [3]
    assert [i for i in ledger.issues if i.severity != "warning"] == []


def test_inner_full_width_spaces_are_normalised(tmp_path):
    sheets = small_ledger()
    sheets["客户档案"][3][1] = "\u3000A&B\u3000贸易\u00a0有限公司 "
    write_workbook(tmp_path / "t.xlsx", sheets)
    assert read(tmp_path).datasets["customers"]["name"][0] == "A&B 贸易 有限公司"


ERP_ORDERS = {
    "customers": {"key": "customer_id", "required": True, "derive": {"from": "orders", "name": "customer_name"},
                  "columns": {"customer_id": {"aliases": ["客户编号"], "required": True},
                              "name": {"aliases": ["客户名称"], "required": True},
                              "settlement": {"aliases": ["结算方式"], "type": "enum", "values": ["月结", "现结"]}}},
    "orders": {
        "required": True, "where": "status != '已取消'",
        "columns": {
            "order_id": ["单据编号"],
            "customer_id": {"aliases": ["往来单位编码"], "required": True, "references": "customers.customer_id"},
            "customer_name": ["往来单位名称"],
            "order_date": {"aliases": ["单据日期"], "type": "date", "required": True},
            "quantity": {"aliases": ["数量"], "type": "number"},
            "unit_price": {"aliases": ["含税单价"], "type": "money"},
            "amount": {"expr": "quantity * unit_price", "type": "money", "required": True},
            "currency": {"value": "CNY"},
            "status": {"aliases": ["单据状态"], "map": {"作废": "已取消", "已审核": "正常"}},
        }},
}


def erp_datasets() -> dict[str, DatasetSpec]:
    return {name: DatasetSpec.model_validate(spec) for name, spec in ERP_ORDERS.items()}


def test_erp_export_without_a_customer_sheet(tmp_path):
    write_workbook(tmp_path / "销售出库单.xlsx", {"Sheet1": [
        ["销售出库单列表"],
        ["单据编号", "单据日期", "往来单位编码", "往来单位名称", "数量", "含税单价", "单据状态"],
        ["XS001", "2026-09-01", "K01", "甲公司", 2, "1,500.00", "已审核"],
        ["XS002", "2026-09-02", "K02", None, 1, 800, "已审核"],
        ["XS003", "2026-09-03", "K01", "甲公司（新名）", 3, 100, "作废"],
        ["XS004", "2026-09-04", "K03", "丙公司", 1, 50, None],
    ]})
    ledger = read(tmp_path, erp_datasets())
    orders = ledger.datasets["orders"].sort("order_id")
    assert orders.select("order_id", "amount", "currency", "status").rows() == [
        ("XS001", 3000.0, "CNY", "正常"), ("XS002", 800.0, "CNY", "正常")]
    customers = ledger.datasets["customers"].sort("customer_id")
    # customers come from the orders used: K03's only order has no status, so the filter skipped it
    assert customers.select("customer_id", "name", "settlement").rows() == [("K01", "甲公司", None), ("K02", "K02", None)]
    assert issues_of(ledger, "filtered") == [("Sheet1", 5, "单据编号", "XS003", "skipped", "filtered"),
                                             ("Sheet1", 6, "单据编号", "XS004", "skipped", "filtered")]
    derived = [i for i in ledger.issues if i.code == "derived_dataset"]
    assert derived[0].message == "no sheet for customers: 2 derived from the customer_id values in orders"
    stats = ledger.stats["orders"]
    assert (stats.rows_read, stats.rows_used, stats.rows_rejected, stats.rows_skipped) == (4, 2, 0, 2)


def test_a_missing_required_computed_value_rejects_the_row(tmp_path):
    write_workbook(tmp_path / "x.xlsx", {"订单": [
        ["单据编号", "单据日期", "往来单位编码", "数量", "含税单价", "单据状态"],
        ["XS001", "2026-09-01", "K01", 2, None, "已审核"],
    ]})
    ledger = read(tmp_path, erp_datasets())
    assert issues_of(ledger, "missing_value") == [("订单", 2, "amount", None, "error", "missing_value")]
    assert ledger.datasets["orders"].is_empty()


def test_csv_encodings(tmp_path):
    header = ",".join(CUSTOMER_HEADER)
    rows = [header, "C001,上海恒泰精密机械有限公司,制造业,华东,张伟,2020-01-15,月结,李娜,,"]
    (tmp_path / "客户档案.csv").write_bytes("\r\n".join(rows).encode("gb18030"))
    orders = ["\t".join(ORDER_HEADER), "SO1\tC001\t2026/9/1\t钢材\t1\t¥1,000.00\t800"]
    (tmp_path / "销售明细.csv").write_bytes("\r\n".join(orders).encode("utf-16"))
    ledger = read(tmp_path)
    assert ledger.datasets["customers"]["name"].to_list() == ["上海恒泰精密机械有限公司"]
    assert ledger.datasets["orders"].select("order_id", "amount").rows() == [("SO1", 1000.0)]


def test_csv_in_big5_is_refused_not_garbled(tmp_path):
    text = "客戶編號,客戶名稱,行業,地區\nC001,廣州恆泰精密機械有限公司,製造業,華南\nC002,臺北貿易股份有限公司,零售,華東\n"
    (tmp_path / "客户档案.csv").write_bytes(text.encode("big5"))
    with pytest.raises(LedgerError) as info:
        read(tmp_path)
    assert info.value.file == "客户档案.csv"
    assert info.value.message == ("cannot tell the text encoding (it is not UTF-8, and as GBK it does not read "
                                  "as Chinese)")


def test_xls_and_xlsm_workbooks(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("客户档案")
    for r, row in enumerate([CUSTOMER_HEADER, ["C001", "甲公司", "制造业", "华东", "张伟", "2020-01-15", "月结"]]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(tmp_path / "客户.xls"))
    orders = small_ledger()["销售明细"][:2]
    wb = openpyxl.Workbook()
    wb.active.title = "销售明细"
    for row in orders:
        wb.active.append(row)
    wb.save(tmp_path / "订单.xlsm")
    ledger = read(tmp_path)
    assert ledger.datasets["customers"].select("customer_id", "name", "since").rows() == [
        ("C001", "甲公司", dt.date(2020, 1, 15))]
    assert ledger.datasets["orders"]["order_id"].to_list() == ["SO1"]


def test_counts_reconcile_on_a_messy_book(tmp_path):
    sheets = small_ledger()
    sheets["销售明细"].append([None, "总计", None, None, None, 1, None])
    sheets["销售明细"].append(list(sheets["销售明细"][1]))  # the same order line twice (no key: both used)
    sheets["客户档案"].append(list(sheets["客户档案"][4]))  # the same customer twice: skipped duplicate
    write_workbook(tmp_path / "t.xlsx", sheets)
    ledger = read(tmp_path)
    for name, stats in ledger.stats.items():
        assert stats.rows_read == stats.rows_used + stats.rows_rejected + stats.rows_skipped, name
        frame = ledger.datasets.get(name)  # an optional sheet the book does not have: no frame, no rows
        assert stats.rows_used == (frame.height if frame is not None else 0), name
    assert (ledger.stats["customers"].rows_skipped, ledger.stats["orders"].rows_skipped) == (1, 1)


def test_the_same_export_dropped_twice_is_not_counted_twice(tmp_path):
    write_workbook(tmp_path / "a.xlsx", small_ledger())
    write_workbook(tmp_path / "b_副本.xlsx", {"销售明细": small_ledger()["销售明细"]})
    ledger = read(tmp_path)
    orders = ledger.datasets["orders"]
    assert sorted(orders["order_id"].to_list()) == ["SO1", "SO2", "SO3", "SO4", "SO8"]
    repeated = [i for i in ledger.issues if i.code == "duplicate_row" and i.file == "b_副本.xlsx"]
    assert [i.row for i in repeated] == [2, 3, 4, 5, 7, 9]  # row 7 (C999) repeats too: skipped, not rejected twice
    assert repeated[0].message == "same row as a.xlsx, sheet 销售明细, row 2 (another file); not counted twice"
    stats = ledger.stats["orders"]
    assert stats.rows_read == stats.rows_used + stats.rows_rejected + stats.rows_skipped
