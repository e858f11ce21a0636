"""Decision tables never answer wrongly in silence: every cell is a test of its input column,
a row has exactly its declared cells, DMN priorities and output order, and ``check`` reports
the conflicts it can prove without flagging legitimate gaps."""

from __future__ import annotations

import textwrap

import polars as pl
import pytest
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.errors import RulebookInvalid
from kamrules.rules import load_rulebook

from kamrules.rules import PolarsEngine

from conftest import AS_OF, write_workbook
from test_check import check, project_with_policy

BOOL_LEDGER = """\
kamrules: 1
datasets:
  customers:
    key: customer_id
    columns:
      customer_id: {aliases: [客户编号], required: true}
      vip: {aliases: [VIP], type: bool}
      age: {aliases: [年龄], type: number}
"""
PEOPLE = pl.DataFrame({"customer_id": ["C1", "C2", "C3"], "vip": [True, False, None], "age": [18.0, 30.0, None]})


def write_rules(tmp_path, policy: str) -> None:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "ledger.yaml").write_text(BOOL_LEDGER, encoding="utf-8")
    (rules / "policy.yaml").write_text("kamrules: 1\n" + textwrap.dedent(policy), encoding="utf-8")


def evaluate(tmp_path, policy: str):
    write_rules(tmp_path, policy)
    return PolarsEngine(load_rulebook(tmp_path), AS_OF).evaluate(PEOPLE)


def column(result, name: str) -> list:
    return result.frame.sort("customer_id")[name].to_list()


def errors(tmp_path, policy: str) -> list[tuple]:
    write_rules(tmp_path, policy)
    with pytest.raises(RulebookInvalid) as info:
        load_rulebook(tmp_path)
    return [(e.line, e.rule_id, e.message, e.suggestion) for e in info.value.errors]


# --- every cell is a unary test against its input column ------------------------------------

def test_unquoted_yaml_booleans_test_the_input_column(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          service:
            outputs: {service: text}
            table:
              inputs: [vip]
              rows:
                - [true, 专属]
                - [false, 标准]
        """)
    assert column(result, "service") == ["专属", "标准", None]  # C3's vip is unknown: no row matches
    rule = load_rulebook(tmp_path).rule("service#1")
    assert rule.condition.text == "(vip: true)"  # the test is kept, and shown in the rule language


def test_numbers_in_cells_test_equality(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          adult:
            outputs: {adult: text}
            table:
              inputs: [age]
              rows:
                - [18, 刚成年]
                - ["-", 其他]
        """)
    assert column(result, "adult") == ["刚成年", "其他", "其他"]


def test_excel_true_false_cells_test_the_input_column(tmp_path):
    write_workbook(tmp_path / "rules" / "tables" / "service.xlsx", {"服务": [
        ["vip", "service", "说明"], [True, "专属", "VIP"], [False, "标准", None]]})
    result = evaluate(tmp_path, """\
        decisions:
          service:
            outputs: {service: text}
            table: {file: tables/service.xlsx, sheet: 服务}
        """)
    assert column(result, "service") == ["专属", "标准", None]
    assert load_rulebook(tmp_path).rule("service#1").note == "VIP"


# --- a row has exactly its declared cells ---------------------------------------------------

TWO_INPUTS = """\
    decisions:
      approval:
        outputs: {status: text}
        table:
          inputs: [age, vip]%s
          rows:
            - [">= 18", true, Approved]
            - [">= 18", false, Declined, Approved]
    """


def test_one_cell_too_many_is_an_error_naming_the_layout(tmp_path):
    assert errors(tmp_path, TWO_INPUTS % "") == [(
        9, "approval#2",
        "row has 4 cells; this table has 2 input(s) (age, vip) and 1 output(s) (status), so a row has 3",
        "if the last cell is a note, declare notes: true under table: (every row then has one), "
        "or write the row as a mapping: cells: [...], note: ...")]


def test_with_notes_declared_every_row_has_one_more_cell(tmp_path):
    assert errors(tmp_path, TWO_INPUTS % "\n          notes: true") == [(
        9, "approval#1",
        "row has 3 cells; this table has 2 input(s) (age, vip) and 1 output(s) (status) and a note, so a row has 4",
        'add or remove cells: inputs first, then outputs; an empty input is "-"')]


def test_notes_declared_or_given_by_name(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          approval:
            outputs: {status: text}
            table:
              inputs: [age, vip]
              notes: true
              rows:
                - [">= 18", true, Approved, 成年且是VIP]
                - ["-", "-", Declined, ""]
          grade:
            outputs: {grade: text}
            table:
              inputs: [age]
              rows:
                - {cells: [">= 18", 成人], note: 年满18岁}
                - ["-", 未成年]
        """)
    assert column(result, "status") == ["Approved", "Declined", "Declined"]
    assert column(result, "grade") == ["成人", "成人", "未成年"]
    rulebook = load_rulebook(tmp_path)
    assert [rulebook.rule(i).note for i in ("approval#1", "approval#2", "grade#1", "grade#2")] == \
        ["成年且是VIP", "", "年满18岁", None]


def test_the_message_in_chinese(tmp_path):
    write_rules(tmp_path, TWO_INPUTS % "")
    result = CliRunner().invoke(app, ["check", "-p", str(tmp_path), "--lang", "zh"])
    assert result.exit_code == 1
    assert result.output == (
        "错误：规则有 1 处错误：\n"
        "  rules/policy.yaml:9:11 [approval#2]：该行有 4 个单元格；此表有 2 个输入（age, vip）和 1 个输出（status），每行应为 3 个\n"
        "    建议：如果最后一格是备注，请在 table: 下写 notes: true（每行都带备注），或把该行写成映射：cells: [...]，note: 备注\n")


# --- DMN priorities: output values, output order, counts --------------------------------------

RISK = """\
    decisions:
      risk:
        hit: %s
        outputs: {risk: text}
        values: {risk: [高, 中, 低]}
        table:
          inputs: [age]
          rows:
            - [">= 0", 低]
            - [">= 18", 中]
            - [">= 30", 高]
    """


def test_priority_from_the_order_of_output_values(tmp_path):
    result = evaluate(tmp_path, RISK % "priority")
    assert column(result, "risk") == ["中", "高", None]
    assert column(result, "_rule.risk") == ["risk#2", "risk#3", None]
    assert result.issues == []


def test_output_order_lists_every_match_highest_priority_first(tmp_path):
    result = evaluate(tmp_path, RISK % "output_order")
    assert column(result, "risk") == [["中", "低"], ["高", "中", "低"], None]
    assert column(result, "_rule.risk") == ["risk#2, risk#1", "risk#3, risk#2, risk#1", None]


def test_rule_order_keeps_the_written_order(tmp_path):
    result = evaluate(tmp_path, RISK % "rule_order")
    assert column(result, "risk") == [["低", "中"], ["低", "中", "高"], None]


def test_collect_count_is_zero_when_nothing_matches(tmp_path):
    result = evaluate(tmp_path, RISK % "collect_count")
    assert column(result, "risk") == [2, 3, 0]
    assert result.unmatched == {}


def test_output_values_are_enforced_and_priority_needs_them(tmp_path):
    assert errors(tmp_path, """\
        decisions:
          risk:
            hit: priority
            outputs: {risk: text}
            values: {risk: [高, 中, 低]}
            rules:
              - {id: R1, when: "age > 60", then: {risk: 很高}}
          level:
            hit: output_order
            outputs: {level: text}
            rules:
              - {id: L1, when: "age > 60", then: {level: 高}}
        """) == [
        (8, "R1", "'很高' is not an allowed value of output risk ('高', '中', '低')",
         "use one of them, or add it to risk under values:"),
        (13, "L1", "hit policy 'output_order' needs priorities: a 'priority:' on every rule, or the output's "
                   "values: listed highest priority first",
         "e.g. values: {risk: [high, medium, low]} (DMN's output values order)"),
    ]


def test_a_priority_tie_with_equal_outputs_is_not_a_conflict(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          risk:
            hit: priority
            outputs: {risk: text}
            rules:
              - {id: R1, when: "age >= 18", then: {risk: 中}, priority: 2}
              - {id: R2, when: "age >= 10", then: {risk: 中}, priority: 2}
              - {id: R3, when: "age >= 25", then: {risk: 高}, priority: 2}
        """)
    assert column(result, "risk") == ["中", None, None]
    assert [(i.customer_id, i.rule_ids) for i in result.issues] == [("C2", ("R1", "R2", "R3"))]


# --- check: certain conflicts found, legitimate gaps not flagged -------------------------------

def test_check_finds_rows_of_an_any_table_that_disagree(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          flag:
            hit: any
            outputs: {flag: text}
            table:
              inputs: [revenue_total]
              rows:
                - [">= 100", 高]
                - [">= 100", 低]
                - [">= 200", 高]
            default: {flag: 无}
        """)
    result = check(project)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "check found 2 problems:",
        "  rules/policy.yaml:10:11 [flag#2]: rows flag#1 and flag#2 can both match (e.g. revenue_total = 100) but "
        "give different outputs; hit policy any needs matching rows to agree",
        "    hint: make the conditions exclusive or the outputs equal; to decide by order, use hit: first",
        "  rules/policy.yaml:11:11 [flag#3]: rows flag#2 and flag#3 can both match (e.g. revenue_total = 200) but "
        "give different outputs; hit policy any needs matching rows to agree",
        "    hint: make the conditions exclusive or the outputs equal; to decide by order, use hit: first",
    ]


def test_check_finds_possible_priority_ties(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          level:
            hit: priority
            outputs: {level: text}
            values: {level: [高, 中, 低]}
            table:
              inputs: [revenue_total, settlement]
              rows:
                - [">= 100", 月结, 高]
                - [">= 50", "-", 中]
                - ["-", "-", 低]
        """)
    assert check(project).exit_code == 0  # every overlap is between different priorities
    project = project_with_policy(tmp_path / "tie", """\
        decisions:
          level:
            hit: priority
            outputs: {level: text}
            rules:
              - {id: L1, when: "true", then: {level: 高}, priority: 1}
              - {id: L2, when: "true", then: {level: 低}, priority: 1}
        """)
    assert check(project).exit_code == 0  # rule-list conditions are not analysed: no false alarm
    project = project_with_policy(tmp_path / "table", """\
        decisions:
          level:
            hit: priority
            outputs: {level: text, note: text}
            values: {level: [高, 低]}
            table:
              inputs: [settlement]
              rows:
                - [月结, 高, 甲]
                - ["月结, 现结", 高, 乙]
        """)
    result = check(project)
    assert result.exit_code == 1
    assert "rows level#1 and level#2 have the same priority, can both match (e.g. settlement = '月结') " \
           "and give different outputs" in result.output


@pytest.mark.parametrize("hit", ["collect", "rule_order", "output_order", "collect_sum", "collect_count"])
def test_an_empty_result_is_an_answer_for_collecting_policies(tmp_path, hit):
    project = project_with_policy(tmp_path, f"""\
        decisions:
          bonus:
            hit: {hit}
            outputs: {{bonus: number}}
            values: {{bonus: [2, 1]}}
            table:
              inputs: [revenue_total]
              rows:
                - [">= 100", 1]
                - [">= 200", 2]
        """)
    result = check(project)
    assert result.exit_code == 0, result.output


def test_check_speaks_the_rule_language(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          ok:
            hit: unique
            outputs: {ok: text}
            table:
              inputs: [key_account_flag]
              rows:
                - [false, 否]
                - [false, 未知]
        """)
    (project / "rules" / "ledger.yaml").write_text(
        (project / "rules" / "ledger.yaml").read_text(encoding="utf-8").replace(
            "      name:", "      key_account_flag: {aliases: [标记], type: bool}\n      name:", 1),
        encoding="utf-8")
    result = check(project)
    assert "(e.g. key_account_flag = false)" in result.output
    assert "False" not in result.output and "None" not in result.output


# --- conflicts in rule tests and in runs ------------------------------------------------------

CONFLICTING = """\
    decisions:
      approval:
        hit: unique
        outputs: {status: text}
        rules:
          - {id: R1, when: "age >= 18", then: {status: Approved}}
          - {id: R2, when: "vip", then: {status: Declined}}
          - {id: R3, when: "age >= 65", then: {status: Review}}
"""


def test_a_rule_test_can_expect_a_conflict_and_an_unexpected_one_shows_its_rules(tmp_path):
    write_rules(tmp_path, CONFLICTING)
    (tmp_path / "rules" / "tests").mkdir()
    (tmp_path / "rules" / "tests" / "cases.yaml").write_text(textwrap.dedent("""\
        - name: 成年VIP冲突
          given: {age: 20, vip: true}
          conflicts: {approval: [R2, R1]}
        - name: 任意冲突
          given: {age: 70, vip: false}
          conflicts: [approval]
        - name: 未料到的冲突
          given: {age: 70, vip: true}
          expect: {status: Approved}
        - name: 料到却没有
          given: {age: 10, vip: false}
          conflicts: {approval: []}
        """), encoding="utf-8")
    result = CliRunner().invoke(app, ["test", "-p", str(tmp_path), "--lang", "en"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "  ok    成年VIP冲突",
        "  ok    任意冲突",
        "  FAIL  未料到的冲突  (rules/tests/cases.yaml:7)",
        "        status: expected 'Approved', got null",
        "        conflicts.approval: expected no conflict, got ['R1', 'R2', 'R3']",
        "        trace: ",
        "        conflict: approval (rules R1 and R2 and R3)",
        "  FAIL  料到却没有  (rules/tests/cases.yaml:10)",
        "        conflicts.approval: expected a conflict, got no conflict",
        "        trace: ",
        "2 passed, 2 failed",
    ]
    chinese = CliRunner().invoke(app, ["test", "-p", str(tmp_path), "--lang", "zh"])
    assert "        conflicts.approval：应为 没有冲突，实为 ['R1', 'R2', 'R3']" in chinese.output
    assert "        冲突：approval（规则 R1 和 R2 和 R3）" in chinese.output


def test_a_conflict_expected_of_an_unknown_decision_is_located(tmp_path):
    write_rules(tmp_path, CONFLICTING)
    (tmp_path / "rules" / "tests").mkdir()
    (tmp_path / "rules" / "tests" / "cases.yaml").write_text(
        "- name: 拼错\n  given: {age: 20}\n  conflicts: [aproval]\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["test", "-p", str(tmp_path), "--lang", "en"])
    assert result.exit_code == 1
    assert result.output == ("error: rulebook has 1 error:\n"
                             "  rules/tests/cases.yaml:3:15 [拼错]: conflicts: unknown decision 'aproval'\n"
                             "    hint: did you mean 'approval'?\n")


def test_a_run_names_its_conflicts_in_the_summary_the_workbook_and_run_json(tmp_path):
    import json

    import openpyxl

    from conftest import make_project

    project = make_project(tmp_path / "p")
    policy = project / "rules" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("decisions:\n", textwrap.dedent("""\
        decisions:
          double_check:
            title: 复核
            hit: unique
            outputs: {double_check: text}
            rules:
              - {id: DC1, when: "revenue_12m > 0", then: {double_check: 是}}
              - {id: DC2, when: "settlement == '月结'", then: {double_check: 否}}
        """), 1), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "--lang", "en",
                                      "--workers", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("1 decision conflict (see Decision conflicts in portfolio.xlsx):")
    assert lines[start + 1] == (
        "  C001 · double_check: hit policy unique: rules DC1 and DC2 all match — make these rules' conditions "
        "exclusive; to take the first in order, use hit: first")
    run_dir = next(p for p in (project / "outputs").iterdir() if p.is_dir() and not p.name.startswith("."))
    sheet = openpyxl.load_workbook(run_dir / "portfolio.xlsx", read_only=True)["Decision conflicts"]
    assert list(sheet.iter_rows(values_only=True)) == [
        ("Customer id", "Customer", "Decision", "Rules in conflict", "Problem", "Suggestion"),
        ("C001", "A&B <Co> 贸易有限公司", "复核", "DC1, DC2", "hit policy unique: rules DC1 and DC2 all match",
         "make these rules' conditions exclusive; to take the first in order, use hit: first"),
    ]
    issues = openpyxl.load_workbook(run_dir / "portfolio.xlsx", read_only=True)["Data issues"]
    assert all(row[8] != "decision_conflict" for row in issues.iter_rows(values_only=True))
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["decision_conflicts"] == 1
    assert manifest["conflicts"] == [{
        "customer_id": "C001", "decision": "double_check", "rules": ["DC1", "DC2"],
        "message": "hit policy unique: rules DC1 and DC2 all match",
        "suggestion": "make these rules' conditions exclusive; to take the first in order, use hit: first"}]


def test_check_findings_in_chinese(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          flag:
            hit: any
            outputs: {flag: text}
            table:
              inputs: [revenue_total]
              rows:
                - [">= 100", 高]
                - [">= 100", 低]
            default: {flag: 无}
        """)
    result = CliRunner().invoke(app, ["check", "-p", str(project), "--lang", "zh"])
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  rules/policy.yaml:10:11 [flag#2]：行 flag#1 与行 flag#2 可能同时命中（例如 revenue_total = 100），但输出不同；"
        "命中策略 any 要求同时命中的行输出一致",
        "    建议：请让条件互斥或输出一致；如果按顺序决定，请使用 hit: first"]


def test_defaults_must_be_allowed_values_and_priorities_come_from_one_place(tmp_path):
    assert errors(tmp_path, """\
        decisions:
          risk:
            hit: priority
            outputs: {risk: text}
            values: {risk: [高, 中, 低]}
            rules:
              - {id: R1, when: "age > 60", then: {risk: 高}, priority: 9}
              - {id: R2, when: "age > 30", then: {risk: 中}}
            default: {risk: 未知}
        """) == [
        (8, "R1", "some rules have a priority: and others not, and values: are given: priorities come from one "
                  "or the other", "give every rule a priority:, or none and let the order of values: decide"),
        (10, "risk", "'未知' is not an allowed value of output risk ('高', '中', '低')",
         "use one of them, or add it to risk under values:"),
    ]
