"""Loading the rulebook: every error names the YAML file, line and rule id."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from kamrules.errors import ProjectError, RulebookInvalid
from kamrules.rules.rulebook_compiler import load_rulebook

from conftest import REPO

LEDGER = """\
kamrules: 1
datasets:
  customers:
    required: true
    key: customer_id
    columns:
      customer_id: {aliases: [客户编号], required: true}
      name: {aliases: [客户名称], required: true}
      settlement: {aliases: [结算方式], type: enum, values: [月结, 现结]}
"""


def rules_project(tmp_path: Path, files: dict[str, str], ledger: str = LEDGER) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(parents=True)
    (rules / "ledger.yaml").write_text(ledger, encoding="utf-8")
    for name, text in files.items():
        (rules / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def errors_of(project: Path) -> list[tuple]:
    with pytest.raises(RulebookInvalid) as info:
        load_rulebook(project)
    return [(e.file, e.line, e.rule_id, e.message, e.suggestion) for e in info.value.errors]


def test_bundled_rulebook_loads_in_dependency_order():
    rulebook = load_rulebook(REPO)
    order = [d.id for d in rulebook.decisions]
    assert order.index("tier") < order.index("key_account") < order.index("credit") < order.index("credit_status")
    assert order.index("visit_cadence") < order.index("next_visit")
    for decision in rulebook.decisions:
        for rule in decision.rules:
            assert rule.note, f"rule {rule.id} has no note"
    assert len({r.id for d in rulebook.decisions for r in d.rules}) == sum(len(d.rules) for d in rulebook.decisions)


def test_unknown_keys_get_did_you_mean(tmp_path):
    project = rules_project(tmp_path, {"policy.yaml": """\
        kamrules: 1
        decisions:
          tier:
            hitt: first
            outputs: {tier: text}
            rules:
              - {id: T1, when: "true", then: {tier: A}, nots: x}
        """})
    assert errors_of(project) == [
        ("rules/policy.yaml", 4, "tier", "unknown key 'hitt'", "did you mean 'hit'?"),
        ("rules/policy.yaml", 7, "T1", "unknown key 'nots'", "did you mean 'note'?"),
    ]


def test_bad_values_name_the_path(tmp_path):
    project = rules_project(tmp_path, {"policy.yaml": """\
        kamrules: 1
        decisions:
          tier:
            hit: firts
            outputs: {tier: txt}
            rules: []
        """})
    errors = errors_of(project)
    assert [(f, line, rid) for f, line, rid, _, _ in errors] == [
        ("rules/policy.yaml", 4, "tier"), ("rules/policy.yaml", 5, "tier")]
    assert errors[0][3].startswith("decisions.tier.hit: Input should be 'unique', 'first'")
    assert errors[1][3].startswith("decisions.tier.outputs.tier: Input should be 'text'")


def test_duplicate_yaml_keys_are_errors(tmp_path):
    project = rules_project(tmp_path, {"policy.yaml": """\
        kamrules: 1
        decisions:
          tier:
            hit: first
            hit: unique
        """})
    assert errors_of(project) == [
        ("rules/policy.yaml", 5, None, "duplicate key 'hit' (first defined on line 4)",
         "remove one of them or rename it; YAML would silently keep only the last"),
    ]


def test_duplicate_decision_across_files(tmp_path):
    decision = """\
        kamrules: 1
        decisions:
          tier:
            outputs: {tier: text}
            rules: [{id: T1, when: "true", then: {tier: A}}]
        """
    project = rules_project(tmp_path, {"a.yaml": decision, "b.yaml": decision})
    assert errors_of(project) == [
        ("rules/b.yaml", 3, "tier", "decision 'tier' is defined twice (also at rules/a.yaml:3)", None)]


def test_expression_errors_point_at_the_rule(tmp_path):
    project = rules_project(tmp_path, {"policy.yaml": """\
        kamrules: 1
        decisions:
          tier:
            outputs: {tier: text}
            rules:
              - id: T1
                when: revenue_12mm >= 100
                then: {tier: A}
              - id: T2
                when: "__import__('os')"
                then: {tier: B}
        """})
    assert errors_of(project) == [
        ("rules/policy.yaml", 7, "T1", "unknown name 'revenue_12mm'", "did you mean 'revenue_12m'?"),
        ("rules/policy.yaml", 10, "T2", "unknown function '__import__'", None),
    ]


def test_cycles_are_named(tmp_path):
    project = rules_project(tmp_path, {"policy.yaml": """\
        kamrules: 1
        decisions:
          a:
            outputs: {x: number}
            rules: [{id: A1, when: "y > 1", then: {x: 1}}]
          b:
            outputs: {y: number}
            rules: [{id: B1, when: "x > 1", then: {y: 1}}]
        """})
    errors = errors_of(project)
    assert len(errors) == 1
    file, line, rule_id, message, _ = errors[0]
    assert message in ("decisions depend on each other in a cycle: a -> b -> a",
                       "decisions depend on each other in a cycle: b -> a -> b")
    assert file == "rules/policy.yaml"


def test_table_rows_must_have_the_right_width(tmp_path):
    project = rules_project(tmp_path, {"policy.yaml": """\
        kamrules: 1
        decisions:
          tier:
            outputs: {tier: text}
            table:
              inputs: [revenue_total]
              rows:
                - [">= 100", A]
                - [">= 50"]
        """})
    assert errors_of(project) == [
        ("rules/policy.yaml", 9, "tier#2",
         "row has 1 cells; this table has 1 input(s) (revenue_total) and 1 output(s) (tier), so a row has 2",
         'add or remove cells: inputs first, then outputs; an empty input is "-"')]


def test_outputs_cannot_shadow_fields_or_each_other(tmp_path):
    project = rules_project(tmp_path, {"policy.yaml": """\
        kamrules: 1
        decisions:
          a:
            outputs: {revenue_12m: number}
            rules: [{id: A1, when: "true", then: {revenue_12m: 1}}]
          b:
            outputs: {x: number}
            rules: [{id: B1, when: "true", then: {x: 1}}]
          c:
            outputs: {x: number}
            rules: [{id: C1, when: "true", then: {x: 2}}]
        """})
    assert [e[3] for e in errors_of(project)] == [
        "output 'revenue_12m' has the name of an existing field (a customer column or metric)",
        "output 'x' is also produced by decision 'b'",
    ]


def test_comma_in_flow_mapping_gets_a_quoting_hint(tmp_path):
    project = rules_project(tmp_path, {"policy.yaml": """\
        kamrules: 1
        decisions:
          v:
            outputs: {d: date}
            rules:
              - {id: V1, when: "true", then: {d: add_days(as_of, 7)}}
        """})
    messages = [(e[3], e[4]) for e in errors_of(project)]
    assert ("'7)' is not an output of this decision",
            'a comma inside {...} splits the mapping: put the expression in quotes, e.g. {x: "add_days(as_of, 7)"}') \
        in messages


def test_not_utf8_and_bad_yaml(tmp_path):
    project = rules_project(tmp_path, {})
    (project / "rules" / "bad.yaml").write_bytes("kamrules: 1\nx: 客户".encode("gbk"))
    (project / "rules" / "broken.yaml").write_text("kamrules: 1\ndecisions: [\n", encoding="utf-8")
    errors = errors_of(project)
    assert errors[0][:3] == ("rules/bad.yaml", None, None)
    assert errors[0][3].startswith("not UTF-8 text")
    assert errors[1][0] == "rules/broken.yaml" and errors[1][3].startswith("not valid YAML")


def test_python_tags_are_refused(tmp_path):
    project = rules_project(tmp_path, {"evil.yaml": "kamrules: 1\nx: !!python/object/apply:os.system ['echo hi']\n"})
    errors = errors_of(project)
    assert errors[0][0] == "rules/evil.yaml" and errors[0][1] == 2
    assert "not valid YAML" in errors[0][3]


def test_missing_rules_folder(tmp_path):
    with pytest.raises(ProjectError) as info:
        load_rulebook(tmp_path)
    assert info.value.message == "no rules/ folder"


def test_the_bundled_rulebook_copy_reports_every_problem_at_once(tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    policy = tmp_path / "rules" / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    text = text.replace("when: tier in ['A', 'B'] and tenure_years >= 1", "when: tier in ['A', 'B'] and tenure_year >= 1")
    text = text.replace("hit: collect_sum", "hit: collect_summ")
    policy.write_text(text, encoding="utf-8")
    errors = errors_of(tmp_path)
    assert len(errors) == 1  # schema errors stop before expressions are checked
    assert errors[0][2] == "discount" and "collect_summ" not in errors[0][3][:20]
    policy.write_text(text.replace("hit: collect_summ", "hit: collect_sum"), encoding="utf-8")
    errors = errors_of(tmp_path)
    assert [(e[2], e[3], e[4]) for e in errors] == [
        ("KA-tier", "unknown name 'tenure_year'", "did you mean 'tenure_years'?")]
    line = text.splitlines().index("        when: tier in ['A', 'B'] and tenure_year >= 1") + 1
    assert errors[0][1] == line  # the line of its `when:`


@pytest.mark.parametrize("when, then, line, message", [
    ("tier_x > 5", "1", 7, "tier_x is text but is compared with a number (5)"),
    ("since + 30 > since", "1", 7, "days cannot be added to a date with '+' in since + 30; use add_days(date, n)"),
    ("since - since > 30", "1", 7, "dates cannot be subtracted in since - since; use days_between(a, b)"),
    ("tier_x", "1", 7, "a condition must be true or false, but tier_x is text"),
    ("not revenue_12m", "1", 7, "'not' joins conditions, but revenue_12m is a number, not true/false"),
    ("revenue_12m > 0 and tier_x", "1", 7, "'and' joins conditions, but tier_x is text, not true/false"),
    ("tier_x in ['A', 1]", "1", 7, "tier_x is text but is compared with a number (1)"),
    ("true", "tier_x", 8, "output v is number but tier_x is text"),
    ("true", "days_between(tier_x, since)", 8, "days_between() needs a date here; tier_x is text"),
    ("true", "min(revenue_12m, since)", 8, "min() mixes a date and a number in min(revenue_12m, since)"),
    ("true", "1 if tier_x else 2", 8, "'if' joins conditions, but tier_x is text, not true/false"),
])
def test_type_mistakes_are_found_before_any_data_is_read(tmp_path, when, then, line, message):
    ledger = LEDGER + "      tier_x: [等级]\n      since: {aliases: [合作开始日期], type: date}\n"
    project = rules_project(tmp_path, {"policy.yaml": f"""\
        kamrules: 1
        decisions:
          d:
            outputs: {{v: number}}
            rules:
              - id: R1
                when: "{when}"
                then: {{v: "{then}"}}
        """}, ledger=ledger)
    assert errors_of(project) == [("rules/policy.yaml", line, "R1", message, None)]


def test_a_word_where_a_number_belongs(tmp_path):
    project = rules_project(tmp_path, {"policy.yaml": """\
        kamrules: 1
        decisions:
          discount:
            outputs: {discount_pct: percent, limit: money}
            rules:
              - {id: D1, when: "true", then: {discount_pct: 八折, limit: 1万}}
              - {id: D2, when: "true", then: {discount_pct: 8%, limit: 一万}}
        """})
    assert errors_of(project) == [
        ("rules/policy.yaml", 6, "D1", "output discount_pct is percent, but '八折' is not a number or a known field",
         "write a fraction such as 0.08 or a percentage such as 8%"),
        ("rules/policy.yaml", 7, "D2", "output limit is money, but '一万' is not a number or a known field",
         "write an amount such as 10000 (or 1万), or an expression"),
    ]


def test_percent_outputs_accept_a_percent_sign(tmp_path):
    project = rules_project(tmp_path, {"policy.yaml": """\
        kamrules: 1
        decisions:
          discount:
            outputs: {discount_pct: percent}
            rules: [{id: D1, when: "true", then: {discount_pct: 8.5%}}]
        """})
    rule = load_rulebook(project).decisions[0].rules[0]
    assert rule.outputs["discount_pct"].node.value == 0.085


def test_ledger_expressions_are_checked_with_their_line(tmp_path):
    ledger = LEDGER + """\
      quantity: {aliases: [数量], type: number}
      amount: {expr: "quantity * unit_prize", type: money}
      label: {expr: "quantity + 1", type: date}
    where: "settlement = '月结'"
    derive: {from: order, name: customer_name}
"""
    project = rules_project(tmp_path, {}, ledger=ledger)
    errors = errors_of(project)
    assert [(e[1], e[2], e[3], e[4]) for e in errors] == [
        (11, "customers.amount", "unknown name 'unit_prize'", None),
        (12, "customers.label", "output label is date but quantity + 1 is a number", None),
        (13, "customers", "syntax error: invalid syntax",
         "to compare, write == (as in tier == 'A'); a single = is not allowed"),
        (14, "customers", "derive.from: unknown dataset 'order'", None),
    ]


def test_rules_can_use_aggregates_and_names_must_not_clash(tmp_path):
    project = rules_project(tmp_path, {
        "metrics.yaml": """\
            kamrules: 1
            metrics:
              aggregates:
                revenue_30d: {sum: orders.amount, window: 30d, type: money}
                outstanding: {sum: receivables.amount}
            """,
        "policy.yaml": """\
            kamrules: 1
            decisions:
              hot:
                outputs: {hot: bool}
                rules: [{id: H1, when: "revenue_30d > 10万", then: {hot: true}}]
            """})
    errors = errors_of(project)
    assert [(e[0], e[1], e[2], e[3]) for e in errors] == [
        ("rules/metrics.yaml", 5, "outstanding", "aggregate 'outstanding' has the name of an existing field")]
    (project / "rules" / "metrics.yaml").write_text(
        "kamrules: 1\nmetrics:\n  aggregates:\n    revenue_30d: {sum: orders.amount, window: 30d, type: money}\n",
        encoding="utf-8")
    rulebook = load_rulebook(project)
    assert rulebook.field_types["revenue_30d"] == "money"
