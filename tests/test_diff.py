"""``kamrules diff --rules OTHER``: the what-if impact of a rule change on the current data."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.pipeline import evaluate

from conftest import REPO

# one worker runs the module, so its module-scoped project is built once
pytestmark = pytest.mark.xdist_group("diff")

AS_OF = "2026-10-31"


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("diff") / "project"
    for name in ("inputs", "rules", "templates"):
        shutil.copytree(REPO / name, project / name)
    return project


def other_rules(folder: Path, *changes: tuple[str, str]) -> Path:
    shutil.copytree(REPO / "rules", folder)
    policy = folder / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    policy.write_text(text, encoding="utf-8")
    return folder


def test_diff_reports_transitions_totals_and_customers(bundled, tmp_path):
    other = other_rules(tmp_path / "rules-new", ("quota: {max: 20,", "quota: {max: 25,"),
                        ('''{id: D-A, when: "tier == 'A'", then: {discount_pct: 0.08}''',
                         '''{id: D-A, when: "tier == 'A'", then: {discount_pct: 0.10}'''))
    workbook = tmp_path / "what-if.xlsx"
    result = CliRunner().invoke(app, ["diff", "--rules", str(other), "-p", str(bundled), "--as-of", AS_OF,
                                      "-o", str(workbook), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["customers"] == 330 and report["workbook"] == str(workbook)
    key = [t for t in report["transitions"] if t["output"] == "key_account"]
    assert key == [{"output": "key_account", "title": "大客户", "before": "false", "after": "true", "customers": 3}]

    _, _, now = evaluate(bundled, dt.date(2026, 10, 31))
    tier_a = now.frame.filter(pl.col("tier") == "A")
    discount = next(n for n in report["numeric"] if n["output"] == "discount_pct")
    changed_a = report["affected"]
    moved = {r["customer_id"] for r in changed_a if r["output"] == "discount_pct"}
    assert moved and moved <= set(tier_a["customer_id"]) and discount["customers"] == len(moved)
    cost = report["totals"]["discount_cost"]
    assert cost["after"] > cost["before"] and cost["change"] == pytest.approx(cost["after"] - cost["before"], abs=0.01)
    assert report["affected_customers"] == len({r["customer_id"] for r in changed_a})

    wb = openpyxl.load_workbook(workbook)
    assert wb.sheetnames == ["影响汇总", "受影响客户"]
    summary = [list(r) for r in wb["影响汇总"].iter_rows(values_only=True)]
    assert summary[0] == ["决策输出", "原值", "新值", "客户数"]
    assert ["大客户", "false", "true", 3] in summary
    customers = list(wb["受影响客户"].iter_rows(values_only=True))
    assert customers[0] == ("客户编号", "客户名称", "决策输出", "原值", "新值")
    assert len(customers) - 1 == len(changed_a)


def test_diff_prints_a_readable_summary(bundled, tmp_path):
    other = other_rules(tmp_path / "rules-new", ("quota: {max: 20,", "quota: {max: 25,"))
    result = CliRunner().invoke(app, ["diff", "--rules", str(other), "-p", str(bundled), "--as-of", AS_OF, "--lang", "en",
                                      "-o", str(tmp_path / "d.xlsx")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "3 of 330 customers would change (as of 2026-10-31):"
    assert "  大客户 (key_account): false → true  3" in lines
    assert lines[-1] == f"workbook: {tmp_path / 'd.xlsx'}"


def test_same_rules_change_nothing(bundled, tmp_path):
    result = CliRunner().invoke(app, ["diff", "--rules", str(REPO / "rules"), "-p", str(bundled), "--as-of", AS_OF, "--lang", "en",
                                      "-o", str(tmp_path / "d.xlsx"), "--json"])
    report = json.loads(result.output)
    assert (report["affected_customers"], report["transitions"], report["numeric"], report["affected"]) == (0, [], [], [])


def test_bad_other_rules_are_reported(bundled, tmp_path):
    missing = CliRunner().invoke(app, ["diff", "--rules", str(tmp_path / "nope"), "-p", str(bundled), "--lang", "en"])
    assert missing.exit_code == 1
    assert missing.output.startswith(f"error: {tmp_path / 'nope'}: no rules to compare with")
    broken = other_rules(tmp_path / "broken", ("tier == 'A'", "tier = 'A'"))
    result = CliRunner().invoke(app, ["diff", "--rules", str(broken), "-p", str(bundled), "--lang", "en"])
    assert result.exit_code == 1 and "rules/policy.yaml" in result.output and "==" in result.output


def test_an_empty_value_is_named_in_the_diff_language():
    from kamrules.diff import _compare
    old = pl.DataFrame({"customer_id": ["C1", "C2"], "tier": ["A", None]})
    new = pl.DataFrame({"customer_id": ["C1", "C2"], "tier": [None, "B"]})
    for empty in ("（空）", "(empty)"):
        diff = _compare(old, new, [("tier", "Tier", "text")], dt.date(2026, 10, 31), empty)
        assert sorted((t.before, t.after, t.customers) for t in diff.transitions) == sorted([("A", empty, 1), (empty, "B", 1)])
