"""``kamrules diff --rules OTHER``: the what-if impact of a rule change on the current data."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from rich.cells import cell_len
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


QUOTA = ("quota: {max: 20,", "quota: {max: 25,")
DISCOUNT = ('''{id: D-A, when: "tier == 'A'", then: {discount_pct: 0.08}''',
            '''{id: D-A, when: "tier == 'A'", then: {discount_pct: 0.10}''')
INTERVAL = ("        - [C,  45,  C级客户每六周拜访]", "        - [C,  40,  C级客户每六周拜访]")


@pytest.fixture(scope="module")
def what_if(bundled, tmp_path_factory):
    """One diff of a copy where the key-account quota, the A discount and the C visit interval change:
    (JSON report, workbook path, frame before, frame after)."""
    folder = tmp_path_factory.mktemp("what-if")
    other = other_rules(folder / "rules-new", QUOTA, DISCOUNT, INTERVAL)
    workbook = folder / "what-if.xlsx"
    result = CliRunner().invoke(app, ["diff", "--rules", str(other), "-p", str(bundled), "--as-of", AS_OF,
                                      "-o", str(workbook), "--json"])
    assert result.exit_code == 0, result.output
    from kamrules.rules.rulebook_compiler import load_rulebook
    copy = folder / "copy"
    shutil.copytree(other, copy / "rules")
    _, _, now = evaluate(bundled, dt.date(2026, 10, 31))
    _, _, then = evaluate(bundled, dt.date(2026, 10, 31), rulebook=load_rulebook(copy))
    return json.loads(result.output), workbook, now.frame, then.frame


def output(report: dict, name: str) -> dict:
    return next(o for o in report["outputs"] if o["output"] == name)


def test_numbers_are_summarised_by_mean_and_change_never_summed(what_if):
    report, _, before, after = what_if
    assert report["customers"] == 330
    for name, kind in (("discount_pct", "percent"), ("visit_interval_days", "integer")):
        change = output(report, name)
        moved = before.join(after, on="customer_id", suffix="_new").filter(pl.col(name) != pl.col(f"{name}_new"))
        assert change["kind"] == kind and change["customers"] == moved.height > 0
        assert change["total_before"] is None and change["total_after"] is None  # no sum of percents or intervals
        assert change["mean_before"] == pytest.approx(before[name].mean(), abs=1e-6)
        assert change["mean_after"] == pytest.approx(after[name].mean(), abs=1e-6)
        steps = moved[f"{name}_new"] - moved[name]
        assert (change["min_change"], change["max_change"]) == pytest.approx((steps.min(), steps.max()))
    assert (output(report, "discount_pct")["min_change"], output(report, "visit_interval_days")["max_change"]) == \
        pytest.approx((0.02, -5))
    shift = output(report, "next_visit_date")
    assert shift["kind"] == "date" and shift["mean_shift_days"] == -5


def test_money_has_its_total_and_text_its_counts_per_value(what_if):
    report, _, before, after = what_if
    limit = output(report, "credit_limit")
    assert limit["kind"] == "money"
    assert (limit["total_before"], limit["total_after"]) == pytest.approx((before["credit_limit"].sum(),
                                                                          after["credit_limit"].sum()))
    assert limit["total_after"] - limit["total_before"] == pytest.approx(45_000)
    assert limit["mean_before"] == pytest.approx(before["credit_limit"].mean(), abs=1e-6)
    key = output(report, "key_account")
    assert key["kind"] == "bool" and key["customers"] == 3
    assert key["counts"] == [{"value": "是", "before": 20, "after": 23}, {"value": "否", "before": 310, "after": 307}]
    status = output(report, "credit_status")
    counts = {c["value"]: (c["before"], c["after"]) for c in status["counts"]}
    for value, (old, new) in counts.items():
        assert (before["credit_status"] == value).sum() == old and (after["credit_status"] == value).sum() == new
    assert counts == {"预警": (38, 37), "正常": (268, 269)}
    assert [t for t in report["transitions"] if t["output"] == "key_account"] == [
        {"output": "key_account", "title": "大客户", "before": "否", "after": "是", "customers": 3}]
    cost = report["totals"]["discount_cost"]
    assert cost["after"] > cost["before"] and cost["change"] == pytest.approx(cost["after"] - cost["before"], abs=0.01)
    assert report["affected_customers"] == len({r["customer_id"] for r in report["affected"]})


def test_the_workbook_stores_numbers_dates_and_yes_no_typed(what_if):
    report, workbook, _, _ = what_if
    wb = openpyxl.load_workbook(workbook)
    assert wb.sheetnames == ["影响汇总", "受影响客户"]
    summary = {row[0].value: row for row in wb["影响汇总"].iter_rows() if row[0].value}
    discount, interval, limit = summary["折扣"], summary["拜访间隔（天）"], summary["信用额度"]
    header = [c.value for c in next(r for r in wb["影响汇总"].iter_rows() if r[0].value == "决策输出" and r[2].value == "原平均")]
    assert header == ["决策输出", "变化客户数", "原平均", "新平均", "最小变化", "最大变化", "原合计", "新合计"]
    assert [c.number_format for c in discount[2:6]] == ["0.0%"] * 4
    assert isinstance(discount[2].value, float) and discount[6].value is None and discount[7].value is None
    assert interval[6].value is None and interval[7].value is None  # no total of visit intervals
    assert (interval[4].value, interval[4].number_format) == (-5, "0")
    assert (limit[6].value, limit[7].value) == (output(report, "credit_limit")["total_before"],
                                                output(report, "credit_limit")["total_after"])
    assert limit[6].number_format == "#,##0.00" and limit[1].data_type == "n"
    counts = [[c.value for c in r[:5]] for r in wb["影响汇总"].iter_rows() if r[0].value == "大客户" and r[2].data_type == "n"]
    assert counts == [["大客户", "是", 20, 23, 3], ["大客户", "否", 310, 307, -3]]
    assert ["大客户", "否", "是", 3] in [[c.value for c in r[:4]] for r in wb["影响汇总"].iter_rows()]

    rows = list(wb["受影响客户"].iter_rows())
    assert [c.value for c in rows[0]] == ["客户编号", "客户名称", "决策输出", "原值", "新值", "变化"]
    assert len(rows) - 1 == len(report["affected"])
    by_title = {}
    for row in rows[1:]:
        by_title.setdefault(row[2].value, row)
    pct = by_title["折扣"]
    assert (pct[3].value, pct[4].value, pct[5].value) == pytest.approx((0.08, 0.10, 0.02)) or pct[3].value == 0.09
    assert all(c.data_type == "n" and c.number_format == "0.0%" for c in pct[3:6])
    money = by_title["信用额度"]
    assert all(c.data_type == "n" and c.number_format == "#,##0.00" for c in money[3:6])
    days = by_title["拜访间隔（天）"]
    assert (days[3].value, days[4].value, days[5].value, days[3].number_format) == (45, 40, -5, "0")
    date = by_title["下次拜访日期"]
    assert isinstance(date[3].value, dt.datetime) and date[3].number_format == "yyyy-mm-dd"
    assert (date[5].value, date[5].number_format) == (-5, "0")
    key = by_title["大客户"]
    assert (key[3].value, key[4].value, key[5].value) == ("否", "是", None)
    assert not any(c.data_type == "s" and c.value.replace(".", "").isdigit() for r in rows[1:] for c in r[3:6] if c.value)


def test_diff_prints_a_readable_summary(bundled, tmp_path):
    other = other_rules(tmp_path / "rules-new", QUOTA, DISCOUNT, INTERVAL)
    result = CliRunner().invoke(app, ["diff", "--rules", str(other), "-p", str(bundled), "--as-of", AS_OF, "--lang", "en",
                                      "-o", str(tmp_path / "d.xlsx")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "23 of 330 customers would change (as of 2026-10-31):"
    expected = [
        ("大客户 (key_account)", "3 customers changed; customers Yes 20 → 23, No 310 → 307"),
        ("折扣 (discount_pct)", "12 customers changed; mean 0.94% → 1.02%; each +2%"),
        ("信用额度 (credit_limit)", "2 customers changed; total 7,310,000 → 7,355,000; mean 22,151.52 → 22,287.88; "
                                "each +22,000 to +23,000"),
        ("预警线 (credit_warn_at)", "2 customers changed; total 4,889,500 → 4,966,000; mean 14,816.67 → 15,048.48; "
                                "each +37,700 to +38,800"),
        ("冻结线 (credit_block_at)", "2 customers changed; total 7,310,000 → 7,355,000; mean 22,151.52 → 22,287.88; "
                                 "each +22,000 to +23,000"),
        ("信用状态 (credit_status)", "1 customer changed; customers 预警 38 → 37, 正常 268 → 269"),
        ("拜访间隔（天） (visit_interval_days)", "8 customers changed; mean 138.42 → 138.30; each -5"),
        ("下次拜访日期 (next_visit_date)", "6 customers changed; 5 days earlier on average"),
    ]
    width = max(cell_len(label) for label, _ in expected)  # the details start in one column
    assert lines[1:9] == [f"  {label}{' ' * (width - cell_len(label))}  {detail}" for label, detail in expected]
    assert lines[9:11] == ["  discount cost (12 months): 3,235,267.10 → 3,784,419.46 (+549,152.36)",
                           "  credit exposure (sum of limits): 7,310,000.00 → 7,355,000.00 (+45,000.00)"]
    assert not any("total" in line for line in lines if "discount_pct" in line or "visit_interval" in line)
    assert lines[-1] == f"workbook: {tmp_path / 'd.xlsx'}"
    chinese = CliRunner().invoke(app, ["diff", "--rules", str(other), "-p", str(bundled), "--as-of", AS_OF,
                                       "-o", str(tmp_path / "d.xlsx")])
    shown = chinese.output.splitlines()
    assert "  折扣（discount_pct）                   12 位客户变化；平均 0.94% → 1.02%；每位变化 +2%" in shown
    assert "  大客户（key_account）                  3 位客户变化；客户数 是 20 → 23，否 310 → 307" in shown


def test_same_rules_change_nothing(bundled, tmp_path):
    result = CliRunner().invoke(app, ["diff", "--rules", str(REPO / "rules"), "-p", str(bundled), "--as-of", AS_OF, "--lang", "en",
                                      "-o", str(tmp_path / "d.xlsx"), "--json"])
    report = json.loads(result.output)
    assert (report["affected_customers"], report["transitions"], report["outputs"], report["affected"]) == (0, [], [], [])


def test_bad_other_rules_are_reported(bundled, tmp_path):
    missing = CliRunner().invoke(app, ["diff", "--rules", str(tmp_path / "nope"), "-p", str(bundled), "--lang", "en"])
    assert missing.exit_code == 1
    assert missing.output.startswith(f"error: {(tmp_path / 'nope').as_posix()}: no rules to compare with")
    broken = other_rules(tmp_path / "broken", ("tier == 'A'", "tier = 'A'"))
    result = CliRunner().invoke(app, ["diff", "--rules", str(broken), "-p", str(bundled), "--lang", "en"])
    assert result.exit_code == 1 and "==" in result.output
    assert f"{broken.as_posix()}/policy.yaml:" in result.output and " rules/policy.yaml" not in result.output


def test_an_empty_value_is_named_in_the_diff_language():
    from kamrules.diff import _compare
    old = pl.DataFrame({"customer_id": ["C1", "C2"], "tier": ["A", None]})
    new = pl.DataFrame({"customer_id": ["C1", "C2"], "tier": [None, "B"]})
    for empty in ("（空）", "(empty)"):
        diff = _compare(old, new, [("tier", "Tier", "text")], dt.date(2026, 10, 31), empty)
        assert sorted((t.before, t.after, t.customers) for t in diff.transitions) == sorted([("A", empty, 1), (empty, "B", 1)])
