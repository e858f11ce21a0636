"""``kamrules explain``: matched rules with the customer's values, collect totals, quota and
constraint effects, in Chinese, English and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kamrules.cli import app


def invoke(*args: str, lang: str | None = "en"):
    """The CLI with English messages unless ``lang`` says otherwise."""
    return CliRunner().invoke(app, [*args, "--lang", lang] if lang else list(args))


@pytest.fixture
def adjusted_project(project: Path) -> Path:
    """The small project with a quota of 0 key accounts and a 25% margin floor, so C001 is
    demoted by the quota and its 10% discount is cut to 5% (30% margin − 25%)."""
    policy = project / "rules" / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    assert "quota: {max: 20," in text
    text = text.replace("quota: {max: 20,", "quota: {max: 0,")
    text = text.replace("check: margin_pct_12m - discount_pct >= 0.05", "check: margin_pct_12m - discount_pct >= 0.25")
    text = text.replace("floor((margin_pct_12m - 0.05) * 1000) / 1000", "floor((margin_pct_12m - 0.25) * 1000) / 1000")
    policy.write_text(text, encoding="utf-8")
    assert invoke("run", "-p", str(project), "--as-of", "2026-10-31", "-q", lang="zh").exit_code == 0
    return project


def test_explain_in_chinese(adjusted_project):
    result = invoke("explain", "C001", "-p", str(adjusted_project), lang=None)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("客户 C001 A&B <Co> 贸易有限公司 · 截至 2026-10-31 · 运行 ")
    assert "客户等级 (tier, 命中策略 unique) → tier = A, tier_label = A级（战略客户）" in lines
    assert "  ✓ tier#1: 累计消费[2,000,000] >= 1500000 → tier = A, tier_label = A级（战略客户） — 累计消费150万元及以上" in lines
    assert "折扣 (discount, 命中策略 collect_sum) → discount_pct = 0.05" in lines
    assert "  ✓ D-A: tier['A'] == 'A' → discount_pct = 0.08 — A级客户基础折扣8%" in lines
    assert "  合计: 0.08 + 0.01 + 0.01 → discount_pct = 0.05" in lines
    assert ("  ✗ 约束 margin-floor（折扣后毛利率不得低于5%（不得低于成本））不满足："
            "margin_pct_12m[0.3] - discount_pct[0.1] >= 0.25 → discount_pct 由 0.1 调整为 0.05") in lines
    assert "大客户 (key_account, 命中策略 first) → key_account = false" in lines
    assert "  ✓ KA-tier: tier['A'] in ['A', 'B'] and tenure_years[6.79] >= 1 → key_account = true — A/B级且合作满一年" in lines
    assert "  ✗ 超出名额：按 clv_12m, revenue_12m 排名第 1，上限 0 → key_account = false" in lines
    # the credit rule saw key_account after the quota (false), so C-key did not apply
    assert any(line.startswith("  ✓ C-monthly: settlement['月结'] == '月结' and tier['A'] != '普通'") for line in lines)


def test_explain_in_english_for_a_default(adjusted_project):
    result = invoke("explain", "C003", "-p", str(adjusted_project), "--lang", "en")
    lines = result.output.splitlines()
    assert lines[0].startswith("customer C003 三号物流有限公司 · as of 2026-10-31 · run ")
    assert "大客户 (key_account, hit policy first) → key_account = false" in lines
    assert "  · no rule matched, default used" in lines


def test_explain_json(adjusted_project):
    result = invoke("explain", "C001", "-p", str(adjusted_project), "--json", lang="zh")
    data = json.loads(result.output)
    discount = next(d for d in data["decisions"] if d["id"] == "discount")
    assert [m["rule"] for m in discount["matched"]] == ["D-A", "D-loyal", "D-growth"]
    assert discount["fixes"] == [{"constraint": "margin-floor", "title": "折扣后毛利率不得低于5%（不得低于成本）",
                                  "check": "margin_pct_12m[0.3] - discount_pct[0.1] >= 0.25", "output": "discount_pct",
                                  "before": 0.1, "after": 0.05}]
    key = next(d for d in data["decisions"] if d["id"] == "key_account")
    assert key["quota"] == {"output": "key_account", "rank_by": "clv_12m, revenue_12m", "rank": 1, "max": 0}
    assert key["summary"] == "KA-tier（A/B级且合作满一年）；超出名额上限"


def test_portfolio_trace_uses_the_same_wording(adjusted_project):
    import openpyxl
    run = next(p for p in (adjusted_project / "outputs").iterdir() if p.is_dir())
    sheet = openpyxl.load_workbook(run / "portfolio.xlsx")["客户"]
    header = [c.value for c in sheet[1]]
    c001 = dict(zip(header, next(sheet.iter_rows(min_row=2, values_only=True))))
    assert c001["大客户依据"] == "KA-tier（A/B级且合作满一年）；超出名额上限"
    assert c001["折扣依据"] == ("D-A（A级客户基础折扣8%）；D-loyal（忠诚的分级客户额外1%）；D-growth（高潜力重点客户额外1%）；"
                            "margin-floor（折扣后毛利率不得低于5%（不得低于成本））")


def test_explain_errors(project, adjusted_project):
    result = invoke("explain", "C01", "-p", str(adjusted_project))
    assert result.exit_code == 1
    assert "customer 'C01' is not in run" in result.output and "hint: did you mean 'C001'" in result.output
    result = invoke("explain", "C001", "-p", str(adjusted_project), "--run", "20990101-000000")
    assert result.exit_code == 1 and "no finished run '20990101-000000' in outputs/" in result.output


def test_explain_before_any_run(tmp_path):
    from conftest import make_project
    project = make_project(tmp_path / "p")
    result = invoke("explain", "C001", "-p", str(project))
    assert result.exit_code == 1
    assert result.output == f"error: {project / 'outputs'}: no finished run in outputs/\n  hint: run `kamrules run` first\n"
