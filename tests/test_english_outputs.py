"""What kamrules writes itself into workbooks, Word documents and visits.ics is English in an
English project (``init --lang en``: ``locale: en_US``) and stays Chinese in a Chinese one.

One run of each bundled example (330 customers) is shared by the whole module; every check is
on the real output files.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import icalendar
import openpyxl
import polars as pl
import pytest
from docx import Document
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.errors import Issue
from kamrules.i18n import Words, msg
from kamrules.metrics.catalog import CATALOG
from kamrules.metrics.config import PredictiveSpec
from kamrules.metrics.predictive import predictive_types
from kamrules.metrics.rfm import SEGMENT_TITLES, SEGMENT_TITLES_EN, segment_title
from kamrules.rules.rulebook import RulebookSpec
from kamrules.render.ics import build_calendar
from kamrules.render.xlsx import issue_row

# one worker runs the module, so its module-scoped project is built once
pytestmark = pytest.mark.xdist_group("english_outputs")

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # Chinese characters and full-width punctuation
ENGLISH_EVENTS = ("Visit: ", "Birthday: ", "Contract renewal: ", "Festival greetings: ", "Gift: ", "Call: ")
CHINESE_EVENTS = ("拜访：", "生日：", "合同续签：", "节日问候：", "赠送礼品：", "电话联系：")


def _run(root: Path, lang: str) -> Path:
    runner = CliRunner()
    result = runner.invoke(app, ["init", str(root), "--lang", lang])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["run", "-p", str(root), "--as-of", "2026-10-31", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    return next(p for p in (root / "outputs").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def english_run(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("english") / "p", "en")


@pytest.fixture(scope="module")
def chinese_run(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("chinese") / "p", "zh")


def _rows(run: Path, sheet: str) -> list[dict]:
    ws = openpyxl.load_workbook(run / "portfolio.xlsx", read_only=True)[sheet]
    rows = ws.iter_rows(values_only=True)
    header = next(rows)
    return [dict(zip(header, row)) for row in rows]


def _document(run: Path, folder: str, customer_id: str) -> tuple[str, list[str]]:
    """The text of a customer's document: paragraphs, then table cells one by one."""
    path = next((run / folder).glob(f"{customer_id}_*"))
    doc = Document(path)
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells), cells


def _key_account(run: Path, **values: str) -> str:
    """A key account (it gets a proposal and a plan) with the given decision values."""
    decisions = pl.read_parquet(run / "decisions.parquet").filter(pl.col("key_account"))
    for name, value in values.items():
        decisions = decisions.filter(pl.col(name) == value)
    assert decisions.height, values
    return decisions.sort("customer_id")["customer_id"][0]


def _summaries(run: Path) -> list[str]:
    calendar = icalendar.Calendar.from_ical((run / "visits.ics").read_bytes())
    return [str(event["SUMMARY"]) for event in calendar.walk("VEVENT")]


# --- the portfolio ------------------------------------------------------------------------------

def test_english_portfolio_has_english_headers_and_summary(english_run):
    wb = openpyxl.load_workbook(english_run / "portfolio.xlsx", read_only=True)
    assert wb.sheetnames[:5] == ["Summary", "Customers", "Visit plan", "Daily load", "Reminders"]
    for ws in wb.worksheets:
        header = next(ws.iter_rows(max_row=1, values_only=True))
        if ws.title == "Daily load":  # a column per rep, named as the ledger names them
            assert all(h.endswith(" (Capacity 4)") for h in header[2:-1])
            header = (*header[:2], header[-1])
        assert not [h for h in header if isinstance(h, str) and CJK.search(h)], ws.title
    header = next(wb["Customers"].iter_rows(max_row=1, values_only=True))
    for title in ("Revenue, last 12 months", "RFM segment", "Probability still active",
                  "Customer value, next 12 months (discounted)", "Expected purchases, next 12 months",
                  "Discount (basis)"):
        assert title in header
    summary = [v for row in wb["Summary"].iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert not [v for v in summary if CJK.search(v)]


def test_english_basis_cells_read_in_english(english_run):
    rows = _rows(english_run, "Customers")
    basis = [v for row in rows for k, v in row.items() if k.endswith("(basis)") and v]
    assert not [v for v in basis if re.search("[（）；]", v) or "未命中" in v or "名额" in v]
    assert "default (no rule matched)" in basis
    assert "KA-tier (Tier A/B and a customer for at least a year); over the quota" in basis
    assert any(re.fullmatch(r"D-\w+ \([^;]+\); D-loyal \([^;]+\)", v) for v in basis)


def test_english_reminders_sheet(english_run):
    rows = _rows(english_run, "Reminders")
    assert rows and {row["Kind"] for row in rows} <= {"Birthday", "Festival"}  # renewals are visits now
    assert all(row["Reminder"].startswith(ENGLISH_EVENTS) for row in rows)
    birthday = next(row for row in rows if row["Kind"] == "Birthday")
    assert birthday["Details"].startswith("Customer: ") and f"({birthday['Customer id']}); " in birthday["Details"]
    assert re.search(r"; Birthday: (January|February|March|April|May|June|July|August|September|October|"
                     r"November|December) \d{1,2}$", birthday["Details"])
    assert not [row for row in rows if re.search("[（）：；]", row["Reminder"] + row["Details"])]


def test_chinese_portfolio_keeps_chinese_words(chinese_run):
    rows = _rows(chinese_run, "客户")
    basis = [v for row in rows for k, v in row.items() if k.endswith("依据") and v]
    assert "默认值（未命中任何规则）" in basis and any("；" in v for v in basis)
    assert "近12个月销售额" in rows[0] and "仍活跃概率" in rows[0]
    reminders = _rows(chinese_run, "提醒")
    assert all(row["事项"].startswith(CHINESE_EVENTS) for row in reminders)
    birthday = next(row for row in reminders if row["类型"] == "生日")
    assert birthday["说明"].startswith("客户：")
    assert re.search(r"；生日：\d{1,2}月\d{1,2}日$", birthday["说明"])


# --- Word documents -------------------------------------------------------------------------------

def test_english_proposal_for_a_monthly_customer_in_good_standing(english_run):
    customer = _key_account(english_run, settlement="monthly", credit_status="normal")
    text, cells = _document(english_run, "proposals", customer)
    assert "You settle on monthly statement terms" in text
    assert cells[cells.index("Settlement terms") + 1] == "Monthly statement"
    assert cells[cells.index("Credit status") + 1] == "Normal"
    assert "Please note: as of" not in text and "move to monthly statement terms" not in text


def test_english_proposal_for_a_customer_on_hold(english_run):
    customer = _key_account(english_run, credit_status="hold")
    text, cells = _document(english_run, "proposals", customer)
    assert cells[cells.index("Credit status") + 1] == "Credit hold"
    assert "your credit status is “Credit hold”. New orders are being held back from shipping" in text
    plan, _ = _document(english_run, "plans", customer)
    assert "Credit status: the account is on “Credit hold”" in plan
    assert "New orders do not ship on credit until the balance is settled." in plan


def test_english_proposal_for_a_cash_customer(english_run):
    customer = _key_account(english_run, settlement="cash")
    text, cells = _document(english_run, "proposals", customer)
    assert cells[cells.index("Settlement terms") + 1] == "Cash"
    assert "move to monthly statement terms" in text and "You settle on monthly statement terms" not in text


def test_english_account_plan_months_segment_and_reasons(english_run):
    customers = pl.read_parquet(english_run / "decisions.parquet").filter(pl.col("key_account"))
    notes = set()
    for customer, segment in customers.select("customer_id", "rfm_segment").iter_rows():
        text, cells = _document(english_run, "plans", customer)
        months = [c for c in cells if re.fullmatch(r"[A-Z][a-z]{2} 20\d\d", c)]
        assert months == ["Nov 2025", "Dec 2025", "Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026", "May 2026",
                          "Jun 2026", "Jul 2026", "Aug 2026", "Sep 2026", "Oct 2026"]
        assert cells[cells.index("RFM segment") + 1] == SEGMENT_TITLES_EN[segment]
        assert not re.search(r"20\d\d年|未命中|名额", text)
        notes.update(cells)
    assert "no rule matched; default used" in notes


def test_chinese_documents_keep_their_wording(chinese_run):
    customer = _key_account(chinese_run, settlement="月结", credit_status="冻结")
    text, cells = _document(chinese_run, "proposals", customer)
    assert "贵司采用月结方式" in text and "新订单已暂缓发货" in text
    assert cells[cells.index("信用状态") + 1] == "冻结"
    plan, cells = _document(chinese_run, "plans", customer)
    months = [c for c in cells if re.fullmatch(r"20\d\d年\d{1,2}月", c)]
    assert months[0] == "2025年11月" and months[-1] == "2026年10月" and len(months) == 12
    segment = pl.read_parquet(chinese_run / "decisions.parquet").filter(
        pl.col("customer_id") == customer)["rfm_segment"][0]
    assert cells[cells.index("RFM客户分群") + 1] == SEGMENT_TITLES[segment]
    customers = pl.read_parquet(chinese_run / "decisions.parquet").filter(pl.col("key_account"))["customer_id"]
    notes = {cell for customer in customers for cell in _document(chinese_run, "plans", customer)[1]}
    assert "未命中任何规则，采用默认值" in notes


# --- visits.ics ---------------------------------------------------------------------------------

def test_english_calendar(english_run):
    summaries = _summaries(english_run)
    assert summaries and all(s.startswith(ENGLISH_EVENTS) for s in summaries)
    assert any(re.fullmatch(r"Visit: .+ \(C\d{4}\)", s) for s in summaries)
    text = (english_run / "visits.ics").read_bytes().decode("utf-8").replace("\r\n ", "")
    # a new project's company details are placeholders until filled in (check and run say so)
    assert "X-WR-CALNAME:(fill in your company name): customer visits" in text
    assert "PRODID:-//kamrules//Key Account Calendar//EN" in text
    assert set(re.findall(r"CATEGORIES:(.*)\r\n", text)) <= {"Visit", "Birthday", "Contract renewal", "Festival"}


def test_chinese_calendar(chinese_run):
    summaries = _summaries(chinese_run)
    assert summaries and all(s.startswith(CHINESE_EVENTS) for s in summaries)
    assert "PRODID:-//kamrules//Key Account Calendar//ZH" in (chinese_run / "visits.ics").read_text(encoding="utf-8")


def test_calendar_in_either_language():
    frame = pl.DataFrame({"customer_id": ["C1"], "name": ["一号公司"], "contact": ["李娜"], "manager": ["张伟"],
                          "key_account": [True], "contact_birthday": [dt.date(1980, 11, 6)],
                          "next_visit_date": [dt.date(2026, 10, 1)], "visit_interval_days": [30]})
    as_of = dt.date(2026, 10, 31)
    spec = RulebookSpec.model_validate({"working_days": {"holidays": "none"}})
    english = build_calendar(frame, spec, as_of, lang="en").replace("\r\n ", "")
    assert "SUMMARY:Birthday: 李娜 (一号公司)" in english and "SUMMARY:Visit: 一号公司 (C1)" in english
    assert ("DESCRIPTION:Customer: 一号公司 (C1)\\nAccount manager: 张伟\\nContact: 李娜\\nBirthday: November 6"
            in english)
    assert "Never visited\\nDue from 2026-10-31 (that day was full or not a working day)" in english
    assert "X-WR-CALNAME:Customer visits" in english and "TRIGGER:-PT60M" in english
    chinese = build_calendar(frame, spec, as_of).replace("\r\n ", "")
    assert "SUMMARY:生日：李娜（一号公司）" in chinese and "生日：11月6日" in chinese
    assert "从未拜访\\n应于 2026-10-31 起安排" in chinese and "X-WR-CALNAME:客户拜访计划" in chinese


# --- words of both languages --------------------------------------------------------------------

def test_issue_rows_show_messages_in_the_workbook_language():
    issue = Issue("inputs/a.xlsx", "Sheet1", 3, "amount", "x", msg("project.missing"), "bad_value", "error",
                  "orders", suggestion=msg("project.missing"))
    assert issue_row(issue, Words("zh"))[6:8] == ["项目文件夹不存在", "项目文件夹不存在"]
    assert issue_row(issue, Words("en"))[6:8] == ["project folder does not exist", "project folder does not exist"]


def test_every_built_in_title_has_an_english_one():
    english = [info.title_in("en") for info in CATALOG.values()]
    assert len(set(english)) == len(english) and not [t for t in english if CJK.search(t)]
    assert [info.title_in("zh") for info in CATALOG.values()] == [info.title for info in CATALOG.values()]
    assert set(SEGMENT_TITLES_EN) == set(SEGMENT_TITLES)
    assert not [t for t in SEGMENT_TITLES_EN.values() if CJK.search(t)]
    assert segment_title("champions", "en") == "Champions" and segment_title("champions") == "冠军客户"
    for horizon in ("12m", "90d", "1m"):
        titles = predictive_types(PredictiveSpec(horizon=horizon)).values()
        assert all(english and not CJK.search(english) for _, _, english in titles)
    assert predictive_types(PredictiveSpec(horizon="90d"))["clv_90d"] == (
        "money", "未来90天客户价值（折现）", "Customer value, next 90 days (discounted)")
    assert predictive_types(PredictiveSpec(horizon="1m"))["expected_purchases_1m"][2] == "Expected purchases, next 1 month"
