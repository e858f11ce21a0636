"""The portfolio workbook and documents for customers with hostile names."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from typer.testing import CliRunner

from kamrules.cli import app

from conftest import make_project, small_ledger

# one worker runs the module, so its module-scoped project is built once
pytestmark = pytest.mark.xdist_group("portfolio")

HOSTILE = {
    "C001": "=1+1",
    "C002": "A&B <Co> \"引号\"",
    "C003": "../../x",
    "C004": "很长的名字" * 40,
    "C005": "😀 Emoji 贸易",
}


def hostile_ledger() -> dict:
    sheets = small_ledger()
    customers = sheets["客户档案"]
    template = customers[3]
    customers[3:] = [[cid, name] + template[2:] for cid, name in HOSTILE.items()]
    orders = sheets["销售明细"]
    orders[1:] = [[f"SO{i}", cid, dt.datetime(2026, 10, 1), "钢材", 1, 2_000_000 - i * 100_000, 1_000_000]
                  for i, cid in enumerate(HOSTILE)]
    sheets["应收账款"] = sheets["应收账款"][:2]  # C001 owes 30,000, 46 days overdue
    sheets["投诉记录"] = sheets["投诉记录"][:1]
    return sheets


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> Path:
    project = make_project(tmp_path_factory.mktemp("hostile") / "proj", hostile_ledger())
    book = project / "inputs" / "台账.xlsx"
    wb = openpyxl.load_workbook(book)
    wb["客户档案"]["B4"].data_type = "s"  # a name typed as text '=1+1, not a formula
    wb.save(book)
    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "-q"])
    assert result.exit_code == 0, result.output
    return Path(result.output.strip())


def test_hostile_names_stay_text_in_the_workbook(hostile_run):
    sheet = openpyxl.load_workbook(hostile_run / "portfolio.xlsx")["客户"]
    names = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert {cid: cell.value for cid, cell in names.items()} == HOSTILE
    assert all(cell.data_type == "s" for cell in names.values())


def test_charts_conditional_formatting_and_visit_plan(hostile_run):
    with zipfile.ZipFile(hostile_run / "portfolio.xlsx") as archive:
        charts = sorted(n for n in archive.namelist() if n.startswith("xl/charts/chart"))
        titles = [re.findall(r"<a:t>([^<]*)</a:t>", archive.read(n).decode()) for n in charts]
    assert len(charts) == 3
    assert [t[0] for t in titles] == ["客户等级分布（客户数）", "信用敞口（未结余额）", "帕累托曲线（累计销售额占比）"]
    wb = openpyxl.load_workbook(hostile_run / "portfolio.xlsx")
    rules = {str(r.sqref): [rule.formula for rule in r.rules] for r in wb["客户"].conditional_formatting}
    assert list(rules.values()) == [[['"冻结"'], ['"预警"']]]
    plan = [row for row in wb["拜访计划"].iter_rows(min_row=2, values_only=True)]
    assert all(r[0].weekday() < 5 for r in plan)  # working days only
    first_state: dict[str, str] = {}
    for r in plan:
        first_state.setdefault(r[6], r[9])
    assert {c: state for c, state in first_state.items() if c != "C001"} == \
        {c: "从未拜访" for c in first_state if c != "C001"}  # never visited: overdue
    assert [r[9] for r in plan if r[6] == "C001"] == ["按计划"] * 7  # visited on 2026-10-20, every 14 days
    rules = [(str(r.sqref), [rule.formula for rule in r.rules]) for r in wb["拜访计划"].conditional_formatting]
    assert rules == [(f"J2:J{len(plan) + 1}", [['AND(J2<>"",J2<>"按计划")']])]
    summary = list(wb["概览"].iter_rows(values_only=True))
    start = summary.index(("信用状态", "客户数", "未结余额", None))
    assert summary[start + 1:start + 3] == [("预警", 1, 30000, None), ("正常", 4, 0, None)]


def test_documents_for_hostile_names(hostile_run):
    proposals = sorted(p.name for p in (hostile_run / "proposals").iterdir())
    assert len(proposals) == 5
    assert "C001_=1+1_服务方案.docx" in proposals
    assert "C003_____x_服务方案.docx" in proposals
    long_name = next(p for p in proposals if p.startswith("C004_"))
    assert len(long_name.encode("utf-8")) <= 150
    assert "…" in long_name and long_name.endswith("很长的名字_服务方案.docx")
    for path in (hostile_run / "proposals").iterdir():
        assert path.parent == hostile_run / "proposals"
        text = "\n".join(p.text for p in Document(path).paragraphs)
        customer = path.name.split("_")[0]
        assert f"致：{HOSTILE[customer]}" in text


def test_company_excel_template_is_filled_and_losses_are_warned(tmp_path):
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.table import Table

    project = make_project(tmp_path / "proj")
    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "封面"
    cover["A2"], cover["A3"] = "数据截至", "客户数"
    cover["B2"].number_format = "yyyy年m月d日"
    wb.defined_names["as_of"] = DefinedName("as_of", attr_text="封面!$B$2")
    wb.defined_names["customer_count"] = DefinedName("customer_count", attr_text="封面!$B$3")
    wb.defined_names["count_key_account"] = DefinedName("count_key_account", attr_text="封面!$B$4")
    sheet = wb.create_sheet("名单")
    sheet.append(["客户编号", "客户名称", "客户等级", "折扣", "公司内部备注"])
    sheet["A1"].font = Font(bold=True, color="C00000")
    sheet.append([None] * 5)
    sheet.add_table(Table(displayName="customers", ref="A1:E2"))
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=4, min_row=1, max_row=2))
    cover.add_chart(chart, "D2")
    wb.save(project / "templates" / "公司组合模板.xlsx")
    documents = project / "rules" / "documents.yaml"
    documents.write_text(documents.read_text(encoding="utf-8").replace(
        "portfolio:\n", "portfolio:\n  template: 公司组合模板.xlsx\n"), encoding="utf-8")

    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "warning: column_without_values ×1, model_not_fitted ×1, portfolio_template ×1" in result.output
    run = next(p for p in (project / "outputs").iterdir() if p.is_dir())
    out = openpyxl.load_workbook(run / "portfolio.xlsx")
    assert out["封面"]["B2"].value == dt.datetime(2026, 10, 31) and out["封面"]["B2"].number_format == "yyyy年m月d日"
    assert (out["封面"]["B3"].value, out["封面"]["B4"].value) == (3, 1)
    names = out["名单"]
    assert names["A1"].font.color.rgb == "00C00000"  # the template's own formatting survives
    assert [[c.value for c in row] for row in names.iter_rows(min_row=2)] == [
        ["C001", "A&B <Co> 贸易有限公司", "A", 0.1, None],
        ["C002", "二号商贸有限公司", "普通", 0, None],
        ["C003", "三号物流有限公司", "普通", 0, None]]
    assert names.tables["customers"].ref == "A1:E4"
    manifest = __import__("json").loads((run / "run.json").read_text(encoding="utf-8"))
    warning = next(i for i in manifest["issues"]["rows"] if i["code"] == "portfolio_template")
    assert warning["message"] == "the template's charts cannot be kept by openpyxl and are not in the output"


def test_account_plans_and_calendar_for_hostile_names(hostile_run):
    import icalendar

    plans = sorted((hostile_run / "plans").iterdir())
    assert len(plans) == 5
    for path in plans:
        customer = path.name.split("_")[0]
        cells = [c.text for t in Document(path).tables for row in t.rows for c in row.cells]
        text = "\n".join([p.text for p in Document(path).paragraphs] + cells)
        assert HOSTILE[customer] in text and "{{" not in text and "{%" not in text
        months = [c for c in cells if re.fullmatch(r"20\d\d年\d{1,2}月", c)]
        assert months[0] == "2025年11月" and months[-1] == "2026年10月"
    calendar = icalendar.Calendar.from_ical((hostile_run / "visits.ics").read_bytes())
    summaries = {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}
    for customer, name in HOSTILE.items():
        assert f"拜访：{name}（{customer}）" in summaries
    assert all(len(line.encode("utf-8")) <= 75
               for line in (hostile_run / "visits.ics").read_bytes().decode("utf-8").split("\r\n"))


def test_english_locale_uses_the_english_templates(tmp_path):
    project = make_project(tmp_path / "proj")
    documents = project / "rules" / "documents.yaml"
    documents.write_text(documents.read_text(encoding="utf-8").replace("locale: zh_CN", "locale: en_US"),
                         encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "-q"])
    assert result.exit_code == 0, result.output
    run = Path(result.output.strip())
    proposal = next((run / "proposals").iterdir())
    text = "\n".join(p.text for p in Document(proposal).paragraphs)
    cells = [c.text for t in Document(proposal).tables for row in t.rows for c in row.cells]
    assert "Key Account Service Proposal" in text
    assert any("CN¥267,000.00" in c for c in cells)  # en_US money format
    assert "October 31, 2026" in text + "\n".join(cells)
