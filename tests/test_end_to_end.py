"""Three customers worked out by hand, run through the CLI, checked in every output file.

As of 2026-10-31 the 12-month window is (2025-10-31, 2026-10-31] and the previous one
(2024-10-31, 2025-10-31]. C001 (月结, since 2020-01-15):
  orders SO1 1,000,000 (cost 700,000) 2026-10-01 and SO2 600,000 (420,000) 2026-03-15 are
  in the window; SO3 400,000 (300,000) 2025-08-20 is in the previous one; SO8 is dated after
  as-of and ignored. revenue_12m 1,600,000; prev 400,000; growth 3.0; total 2,000,000;
  margin 480,000 = 30%; 2 orders; avg order 800,000; avg month 133,333.33; recency 30 days.
  Invoices: FP1 50,000 − 20,000 paid = 30,000 open, due 2026-09-15 (46 days overdue);
  FP2 8,000 not yet due; FP3 10,000 paid on 2026-11-02, i.e. after as-of, so still open and
  152 days overdue → outstanding 48,000, overdue 40,000, max overdue 152 days.
  累计消费 2,000,000 ≥ 150万 → tier A; ABC: 1.6M of 1.72M → before-share 0 → A;
  margin 30% ≥ 15% → value 高; growth ≥ 30% → potential 高 (P-growth); tenure 6.79 years and no
  complaints → loyalty 高; key account (KA-tier); discount 8% (A) + 1% (loyal) + 1% (growth)
  = 10%, margin 30% − 10% ≥ 5% so no floor fix; credit 月结 + key: round(min(266,666.67,
  500,000), -3) = 267,000, warn 213,600, block 267,000; overdue 152 > 90 days → 冻结 (CS-block);
  visit every 14 days, last 2026-10-20 (11 days ago) → next 2026-11-03; churn: overdue
  > 30 days → 中 (R-mid); service A → 2 h, priority delivery.
C002 (现结, since 2025-06-01): one order 120,000 (cost 100,000) written as "¥120,000.00";
  the 待确认 order is rejected. tier 普通 (< 15万); ABC B; potential 低 (no growth figure,
  tenure 1.42 years); loyalty 中 (1 complaint); no discount; credit 0; never visited →
  next visit as-of + 7 = 2026-11-07; churn 中 (a complaint).
C003 (月结, no orders): zeros everywhere, tier 普通, ABC C, loyalty 高 (8.5 years, no
  complaints) but the loyalty bonus is for tiered customers only → no discount;
  credit 10,000/5,000/10,000 (C-small: 月结, tier 普通); churn 低.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from typer.testing import CliRunner

from kamrules.cli import app

EXPECTED = {
    "C001": {
        "revenue_12m": 1_600_000, "revenue_prev_12m": 400_000, "revenue_growth": 3.0, "revenue_total": 2_000_000,
        "orders_12m": 2, "avg_order_value_12m": 800_000, "avg_monthly_revenue_12m": 133_333.3333,
        "gross_margin_12m": 480_000, "margin_pct_12m": 0.3, "recency_days": 30, "tenure_years": 6.79,
        "outstanding": 48_000, "overdue_amount": 40_000, "max_overdue_days": 152, "complaints_12m": 0,
        "days_since_visit": 11, "revenue_rank": 1, "abc_class": "A",
        "tier": "A", "tier_label": "A级（战略客户）", "value_level": "高", "potential_level": "高",
        "loyalty_level": "高", "key_account": True, "discount_pct": 0.10, "credit_limit": 267_000,
        "credit_warn_at": 213_600, "credit_block_at": 267_000, "credit_status": "冻结",
        "visit_interval_days": 14, "next_visit_date": "2026-11-03", "churn_risk": "中",
        "response_hours": 2, "priority_delivery": False,  # credit frozen: no priority shipping (service#1)
        "_rule.tier": "tier#1", "_rule.discount": "D-A, D-loyal, D-growth", "_rule.credit": "C-key",
        "_rule.credit_status": "CS-block", "_rule.next_visit": "V-regular", "_rule.churn_risk": "R-mid",
    },
    "C002": {
        "revenue_12m": 120_000, "revenue_prev_12m": 0, "revenue_growth": None, "margin_pct_12m": 1 / 6,
        "tenure_years": 1.42, "complaints_12m": 1, "abc_class": "B", "tier": "普通", "potential_level": "低",
        "loyalty_level": "中", "key_account": False, "discount_pct": 0.0, "credit_limit": 0,
        "credit_status": "正常", "next_visit_date": "2026-11-07", "churn_risk": "中", "response_hours": 24,
        "_rule.key_account": "default", "_rule.next_visit": "V-first",
    },
    "C003": {
        "revenue_12m": 0, "revenue_total": 0, "orders_12m": 0, "margin_pct_12m": None, "recency_days": None,
        "abc_class": "C", "tier": "普通", "loyalty_level": "高", "discount_pct": 0.0, "credit_limit": 10_000,
        "credit_warn_at": 5_000, "credit_block_at": 10_000, "churn_risk": "低", "_rule.credit": "C-small",
    },
}


@pytest.fixture
def finished_run(project: Path):
    result = CliRunner().invoke(app, ["run", "--project", str(project), "--as-of", "2026-10-31"])
    assert result.exit_code == 0, result.output
    runs = [p for p in (project / "outputs").iterdir() if p.is_dir()]
    assert len(runs) == 1
    return result, runs[0]


def test_metrics_and_decisions_match_the_hand_computation(project):
    import datetime as dt
    from kamrules.pipeline import evaluate

    _, _, result = evaluate(project, dt.date(2026, 10, 31))
    rows = {r["customer_id"]: r for r in result.frame.iter_rows(named=True)}
    for customer, expected in EXPECTED.items():
        for name, value in expected.items():
            actual = rows[customer][name]
            if isinstance(actual, dt.date):
                actual = actual.isoformat()
            assert actual == (pytest.approx(value) if isinstance(value, float) else value), (customer, name)


def test_cli_summary_and_run_folder(finished_run):
    result, run_dir = finished_run
    lines = result.output.splitlines()
    # the rules say zh_CN and no --lang is given: the summary is in Chinese
    assert lines[0] == "kamrules 0.1.0 · 数据截至 2026-10-31"
    assert "  销售明细     使用        5 行，拒绝 3 行" in lines  # the dataset's title in rules/ledger.yaml
    assert "  大客户              1" in lines
    assert "  proposal            1 份文档" in lines
    assert "  account_plan        1 份文档" in lines
    assert "3 行数据被拒绝（见 portfolio.xlsx 的“数据问题”页和 issues.xlsx）：" in lines
    assert ("  inputs/台账.xlsx · 销售明细 · 第 6 行 · 金额 = '待确认'："
            "不是金额 — 请填写数字，例如 1234.50、¥1,234.50 或 12万") in lines
    assert lines[-1] == f"输出：{run_dir}"
    assert sorted(p.name for p in run_dir.iterdir()) == ["decisions.parquet", "issues.xlsx", "plan.json", "plans",
                                                         "portfolio.xlsx", "proposals", "rules", "run.json", "visits",
                                                         "visits.ics"]
    assert sorted(p.name for p in (run_dir / "visits").iterdir()) == ["张伟.ics", "王芳.ics"]  # one per rep
    assert [p.name for p in (run_dir / "plans").iterdir()] == ["C001_A&B _Co_ 贸易有限公司_经营计划.docx"]
    assert [p.name for p in (run_dir / "proposals").iterdir()] == ["C001_A&B _Co_ 贸易有限公司_服务方案.docx"]


def test_portfolio_workbook_contents(finished_run):
    _, run_dir = finished_run
    wb = openpyxl.load_workbook(run_dir / "portfolio.xlsx")
    assert wb.sheetnames == ["概览", "客户", "拜访计划", "每日安排", "提醒", "信用预警", "流失风险", "数据问题", "帕累托",
                             "模型"]  # 模型: why the purchase model was not fitted
    # 元旦 2027-01-01 is a statutory holiday: the greeting goes out on the working day before
    assert list(wb["提醒"].iter_rows(min_row=2, values_only=True)) == [
        (dt.datetime(2026, 12, 31), "节日", None, "节日问候：元旦", "需问候的客户（1家）：；A&B <Co> 贸易有限公司（C001）")]
    sheet = wb["客户"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert list(rows) == ["C001", "C002", "C003"]
    c001 = rows["C001"]
    assert c001["客户名称"] == "A&B <Co> 贸易有限公司"
    assert c001["近12个月销售额"] == 1_600_000
    assert c001["客户等级"] == "A" and c001["客户等级依据"] == "tier#1（累计消费150万元及以上）"
    assert c001["折扣"] == pytest.approx(0.10)
    assert c001["折扣依据"] == "D-A（A级客户基础折扣8%）；D-loyal（忠诚的分级客户额外1%）；D-growth（高潜力重点客户额外1%）"
    assert rows["C002"]["大客户依据"] == "默认值（未命中任何规则）"
    assert c001["信用额度"] == 267_000 and c001["信用状态"] == "冻结"
    assert c001["大客户"] == "是" and rows["C002"]["大客户"] == "否"  # booleans in the documents' words
    assert sheet.freeze_panes == "C2" and sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}4"
    number_formats = {h: sheet.cell(row=2, column=i + 1).number_format for i, h in enumerate(header)}
    assert number_formats["近12个月销售额"] == "#,##0.00"
    assert number_formats["折扣"] == "0.0%"
    assert number_formats["下次拜访日期"] == "yyyy-mm-dd"
    assert [r[0] for r in wb["信用预警"].iter_rows(min_row=2, values_only=True)] == ["C001"]
    summary = {r[0]: r[1] for r in wb["概览"].iter_rows(values_only=True) if r and r[0]}
    assert summary["客户数"] == 3 and summary["大客户"] == 1 and summary["被拒绝的数据行"] == 3
    issues = list(wb["数据问题"].iter_rows(min_row=2, values_only=True))
    assert [(r[2], r[3], r[4], r[5]) for r in issues] == [
        ("销售明细", 6, "金额", "待确认"), ("销售明细", 7, "客户编号", "C999"), ("销售明细", 8, "客户编号", None),
        (None, None, "satisfaction", None),  # the visits sheet has no 满意度: satisfaction is left empty, said
        (None, None, "predictive", None),  # 2 customers with orders: too few to fit the purchase model
        (None, None, None, None)]  # the plan reaches into 2027, whose holiday notice chinesecalendar does not have
    assert "chinesecalendar" in issues[-1][6] and issues[-1][1] == "rules/documents.yaml"


def test_proposal_document_contents(finished_run):
    _, run_dir = finished_run
    doc = Document(next((run_dir / "proposals").iterdir()))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    everything = text + "\n" + "\n".join(cells)
    assert "致：A&B <Co> 贸易有限公司" in text
    assert "{{" not in everything and "{%" not in everything
    assert "¥267,000.00（大写：贰拾陆万柒仟元整）" in cells
    assert "目录价九折" in everything  # discount_pct 0.10 through | discount
    assert "新订单已暂缓发货" in everything and "优先" not in everything  # credit frozen: no priority promised
    assert "2026年11月3日" in everything  # next visit
    assert any("A级（战略客户）" in c for c in cells) or "A级（战略客户）" in text
    # a client document: no rule ids or notes (the reasons table is in the account plan)
    assert "CS-block" not in everything and "D-loyal" not in everything
    visit_rows = [row for t in doc.tables for row in t.rows if row.cells[0].text in ("1", "2", "3", "4")]
    assert [r.cells[1].text for r in visit_rows][:4] == ["2026年11月3日", "2026年11月17日", "2026年12月1日", "2026年12月15日"]


def test_account_plan_names_the_deciding_rules(finished_run):
    _, run_dir = finished_run
    doc = Document(next((run_dir / "plans").iterdir()))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "CS-block" in cells and "D-loyal" in cells  # the reasons table names the deciding rules


def test_run_manifest(finished_run, project):
    _, run_dir = finished_run
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] == "2026-10-31"
    assert manifest["counts"]["customers"] == 3
    assert manifest["counts"]["datasets"]["orders"] == {"rows_read": 8, "rows_used": 5, "rows_rejected": 3,
                                                        "rows_skipped": 0}
    assert manifest["counts"]["documents"] == {"proposal": 1, "account_plan": 1}
    assert manifest["issues"]["errors"] == 3
    assert [f["file"] for f in manifest["inputs"]] == ["inputs/台账.xlsx"]
    import hashlib
    assert manifest["inputs"][0]["sha256"] == hashlib.sha256((project / "inputs" / "台账.xlsx").read_bytes()).hexdigest()
    assert set(manifest["rulebook"]["files"]) == {"rules/documents.yaml", "rules/ledger.yaml", "rules/metrics.yaml",
                                                  "rules/policy.yaml"}
    assert set(manifest["timings_seconds"]) == {"rulebook", "ledger", "metrics", "rules", "portfolio", "documents"}


def test_issues_workbook_lists_only_rejected_rows(finished_run):
    _, run_dir = finished_run
    rows = list(openpyxl.load_workbook(run_dir / "issues.xlsx")["数据问题"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[3], r[8]) for r in rows] == [("错误（未使用）", 6, "bad_value"), ("错误（未使用）", 7, "unknown_reference"),
                                                 ("错误（未使用）", 8, "missing_value")]


def test_same_inputs_rules_and_as_of_give_the_same_decisions(project):
    runner = CliRunner()
    for _ in range(2):
        assert runner.invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "-q"]).exit_code == 0
    manifests = [json.loads((p / "run.json").read_text()) for p in sorted((project / "outputs").iterdir()) if p.is_dir()]
    assert len(manifests) == 2 and manifests[0]["run_id"] != manifests[1]["run_id"]
    assert manifests[0]["decisions_sha256"] == manifests[1]["decisions_sha256"]


def test_visit_calendar(finished_run):
    """90 days from 2026-10-31 (a Saturday): C001 every 14 days from its due date 2026-11-03 (7 visits
    up to 2027-01-26, all Tuesdays); C002 and C003, never visited, are due as_of + 7 = Saturday
    2026-11-07 and placed on Monday 2026-11-09, each first in its rep's day (09:00); 元旦 is greeted
    on 2026-12-31; no birthday or renewal falls in the window. UIDs name the visit, not its date."""
    import icalendar

    _, run_dir = finished_run
    calendar = icalendar.Calendar.from_ical((run_dir / "visits.ics").read_bytes())
    events = [(str(e["SUMMARY"]), e["DTSTART"].dt, str(e["UID"])) for e in calendar.walk("VEVENT")]
    c001 = [(start.date(), uid) for summary, start, uid in events if summary == "拜访：A&B <Co> 贸易有限公司（C001）"]
    assert c001 == [(dt.date(2026, 11, 3) + dt.timedelta(days=14 * i), f"visit-C001-20261020.{i + 1}@kamrules")
                    for i in range(7)]
    assert ("拜访：二号商贸有限公司（C002）", dt.datetime(2026, 11, 9, 9, 0)) == \
        next((s, start.replace(tzinfo=None)) for s, start, _ in events if "C002" in s)
    assert [(s, start) for s, start, _ in events if s.startswith("节日")] == [("节日问候：元旦", dt.date(2026, 12, 31))]
    assert len(events) == 10
    assert all(start.weekday() < 5 for _, start, _ in events)
