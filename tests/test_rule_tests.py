"""``kamrules test``: the bundled suite passes with full coverage; failures show expected,
actual and the trace; bad cases are located."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from kamrules.cli import app

from conftest import REPO


def invoke(*args: str, lang: str | None = "en"):
    """The CLI with English messages unless ``lang`` says otherwise."""
    return CliRunner().invoke(app, [*args, "--lang", lang] if lang else list(args))


def test_bundled_suite_passes_and_exercises_every_rule_default_and_constraint():
    result = invoke("test", "-p", str(REPO))
    assert result.exit_code == 0, result.output
    last = result.output.splitlines()[-1]
    assert last.endswith(" passed, 0 failed"), last
    assert int(last.split()[0]) >= 70
    assert "rules no case exercises" not in result.output


def project_with_cases(tmp_path: Path, cases: str) -> Path:
    shutil.copytree(REPO / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("tests"))
    (tmp_path / "rules" / "tests").mkdir()
    (tmp_path / "rules" / "tests" / "cases.yaml").write_text(textwrap.dedent(cases), encoding="utf-8")
    return tmp_path


def test_a_failing_case_shows_expected_actual_and_trace(tmp_path):
    project = project_with_cases(tmp_path, """\
        - name: 错误的期望
          given: {revenue_total: 1600000, tenure_years: 3, complaints_12m: 0, margin_pct_12m: 0.3}
          expect: {tier: B, discount_pct: 0.09, next_visit_date: 2026-01-08}
          rules: {discount: [D-A]}
        """)
    result = invoke("test", "-p", str(project))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "  FAIL  错误的期望  (rules/tests/cases.yaml:1)"
    assert lines[1] == "        tier: expected 'B', got 'A'"
    assert lines[2] == "        rules.discount: expected ['D-A'], got ['D-A', 'D-loyal']"
    assert lines[3].startswith("        trace: tier=tier#1, value_level=value_level#3,")
    assert lines[4] == "0 passed, 1 failed"
    assert lines[5].startswith("rules no case exercises: tier#2, ")


def test_unknown_and_computed_fields_in_cases_are_errors(tmp_path):
    project = project_with_cases(tmp_path, """\
        - name: 拼错字段
          given: {revenue_totl: 1, tier: A}
          expect: {discount: 0.1}
          rules: {discunt: D-A}
        """)
    result = invoke("test", "-p", str(project))
    assert result.exit_code == 1
    assert result.output == (
        "error: rulebook has 4 errors:\n"
        "  rules/tests/cases.yaml:2:28 [拼错字段]: given: 'tier' is decided by the rules (decision tier), so it cannot be given\n"
        "    hint: give the fields that decision reads instead, and put the output under expect:\n"
        "  rules/tests/cases.yaml:2:11 [拼错字段]: given: unknown field 'revenue_totl'\n"
        "    hint: did you mean 'revenue_total'?\n"
        "  rules/tests/cases.yaml:3:12 [拼错字段]: expect: unknown field 'discount'\n"
        "    hint: did you mean 'discount_pct'?\n"
        "  rules/tests/cases.yaml:4:11 [拼错字段]: rules: unknown decision 'discunt'\n"
        "    hint: did you mean 'discount'?\n")


def test_no_cases(tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("tests"))
    result = invoke("test", "-p", str(tmp_path))
    assert result.exit_code == 0
    assert result.output == "no rule tests: add cases to rules/tests/*.yaml\n"


def test_cases_run_together_but_each_is_a_portfolio_of_its_own(tmp_path):
    """Cases are evaluated in one frame; a quota (max 1) must not compare them, and cases giving
    the same customer_id must not mix."""
    project = project_with_cases(tmp_path, """\
        - name: 甲
          given: {revenue_total: 1600000, tenure_years: 3, clv_12m: 10, revenue_12m: 1}
          expect: {key_account: true}
        - name: 乙
          given: {revenue_total: 1700000, tenure_years: 3, clv_12m: 20, revenue_12m: 1}
          expect: {key_account: true}
        - name: 同一编号一
          given: {customer_id: C1, revenue_total: 1600000, tenure_years: 3}
          expect: {tier: A}
        - name: 同一编号二
          given: {customer_id: C1, revenue_total: 100}
          expect: {tier: 普通}
        """)
    policy = project / "rules" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("quota: {max: 20,", "quota: {max: 1,"),
                      encoding="utf-8")
    result = invoke("test", "-p", str(project))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-2] == "4 passed, 0 failed"
