"""The Polars engine: hit policies, defaults, quotas, constraints and the per-customer trace."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import polars as pl
import pytest

from kamrules.errors import RulebookInvalid
from kamrules.rules import PolarsEngine, load_rulebook
from kamrules.rules.engine import DecisionIssue

AS_OF = dt.date(2026, 10, 31)
LEDGER = """\
kamrules: 1
datasets:
  customers:
    key: customer_id
    columns:
      customer_id: {aliases: [客户编号], required: true}
      name: [客户名称]
      x: {aliases: [X], type: number}
      t: [T]
"""
FEATURES = pl.DataFrame({
    "customer_id": ["C1", "C2", "C3", "C4"],
    "name": ["甲", "乙", "丙", "丁"],
    "x": [10.0, 5.0, None, 0.0],
    "t": ["A", "B", "A", None],
    "revenue_12m": [100.0, 300.0, 300.0, 50.0],
})


def evaluate(tmp_path: Path, policy: str, features: pl.DataFrame = FEATURES):
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "ledger.yaml").write_text(LEDGER, encoding="utf-8")
    (rules / "policy.yaml").write_text("kamrules: 1\n" + textwrap.dedent(policy), encoding="utf-8")
    return PolarsEngine(load_rulebook(tmp_path), AS_OF).evaluate(features)


def column(result, name: str) -> list:
    return result.frame.sort("customer_id")[name].to_list()


def test_first_hit_in_rule_order_with_default(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          level:
            hit: first
            outputs: {level: text}
            rules:
              - {id: L1, when: "x >= 10", then: {level: 高}}
              - {id: L2, when: "x >= 5", then: {level: 中}}
            default: {level: 低}
        """)
    assert column(result, "level") == ["高", "中", "低", "低"]
    assert column(result, "_rule.level") == ["L1", "L2", "default", "default"]
    assert result.unmatched == {}


def test_no_match_without_default_is_null_and_counted(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          level:
            outputs: {level: text}
            rules: [{id: L1, when: "x > 6", then: {level: 高}}]
        """)
    assert column(result, "level") == ["高", None, None, None]
    assert result.unmatched == {"level": 3}


def test_unique_conflict_names_both_rules_and_the_run_goes_on(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          level:
            hit: unique
            outputs: {level: text}
            rules:
              - {id: U1, when: "x >= 5", then: {level: 高}}
              - {id: U2, when: "t == 'A'", then: {level: 低}}
          other:
            outputs: {y: number}
            rules: [{id: O1, when: "true", then: {y: 1}}]
        """)
    assert column(result, "level") == [None, "高", "低", None]
    assert result.issues == [DecisionIssue("C1", "level", ("U1", "U2"), "hit policy unique: rules U1 and U2 all match",
                                           "make these rules' conditions exclusive; to take the first in order, use hit: first")]
    assert column(result, "y") == [1.0, 1.0, 1.0, 1.0]
    assert result.unmatched == {"level": 1}  # C4; C1 is a conflict, not "no match"


def test_priority_picks_the_highest_and_reports_ties(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          level:
            hit: priority
            outputs: {level: text}
            rules:
              - {id: P1, when: "x >= 0", then: {level: 低}, priority: 1}
              - {id: P2, when: "x >= 5", then: {level: 中}, priority: 5}
              - {id: P3, when: "t == 'B'", then: {level: 乙}, priority: 5}
        """)
    assert column(result, "level") == ["中", None, None, "低"]
    assert column(result, "_rule.level") == ["P2", None, None, "P1"]
    assert result.issues == [DecisionIssue(
        "C2", "level", ("P2", "P3"), "hit policy priority: rules P2 and P3 match with the same priority but give "
        "different outputs", "give these rules different priorities (priority:, or different output values in values:)")]


def test_any_requires_agreement(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          flag:
            hit: any
            outputs: {flag: bool}
            rules:
              - {id: A1, when: "x >= 5", then: {flag: true}}
              - {id: A2, when: "t == 'A'", then: {flag: true}}
              - {id: A3, when: "t == 'B'", then: {flag: false}}
        """)
    assert column(result, "flag") == [True, None, True, None]
    assert column(result, "_rule.flag") == ["A1, A2", None, "A2", None]
    assert result.issues == [DecisionIssue(
        "C2", "flag", ("A1", "A3"), "hit policy any: rules A1 and A3 match but give different outputs",
        "make these rules agree or their conditions exclusive; to take the first, use hit: first")]


def test_collect_policies(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          d_sum:
            hit: collect_sum
            outputs: {discount: percent}
            rules:
              - {id: S1, when: "x >= 5", then: {discount: 0.05}}
              - {id: S2, when: "t == 'A'", then: {discount: 0.01}}
            default: {discount: 0}
          d_list:
            hit: collect
            outputs: {tags: text}
            rules:
              - {id: T1, when: "x >= 5", then: {tags: 大}}
              - {id: T2, when: "t == 'A'", then: {tags: 甲}}
          d_min:
            hit: collect_min
            outputs: {lo: number}
            rules:
              - {id: M1, when: "x >= 5", then: {lo: 5}}
              - {id: M2, when: "t == 'A'", then: {lo: 2}}
          d_max:
            hit: collect_max
            outputs: {hi: number}
            rules:
              - {id: X1, when: "x >= 5", then: {hi: 5}}
              - {id: X2, when: "t == 'A'", then: {hi: 2}}
          d_count:
            hit: collect_count
            outputs: {n: integer}
            rules:
              - {id: N1, when: "x >= 5", then: {n: 1}}
              - {id: N2, when: "t == 'A'", then: {n: 1}}
            default: {n: 0}
        """)
    assert column(result, "discount") == [0.06, 0.05, 0.01, 0.0]
    assert column(result, "_rule.d_sum") == ["S1, S2", "S1", "S2", "default"]
    assert column(result, "tags") == [["大", "甲"], ["大"], ["甲"], None]
    assert column(result, "lo") == [2.0, 5.0, 2.0, None]
    assert column(result, "hi") == [5.0, 5.0, 2.0, None]
    assert column(result, "n") == [2, 1, 1, 0]


def test_outputs_refer_to_earlier_outputs_and_other_decisions(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          credit:
            outputs: {limit: money, warn: money}
            rules:
              - id: C1
                when: is_null(x) == false
                then: {limit: "round(max(x * 1234.567, 1000), -2)", warn: "limit * 0.5"}
          status:
            outputs: {status: text}
            rules:
              - {id: S1, when: "warn >= 5000", then: {status: 高额}}
            default: {status: "= '额度' + t"}
        """)
    assert column(result, "limit") == [12300.0, 6200.0, None, 1000.0]
    assert column(result, "warn") == [6150.0, 3100.0, None, 500.0]
    assert column(result, "status") == ["高额", "额度B", "额度A", None]


def test_quota_keeps_the_top_ranked_and_breaks_ties_by_customer_id(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          key_account:
            outputs: {key_account: bool}
            rules: [{id: K1, when: "revenue_12m >= 100", then: {key_account: true}}]
            default: {key_account: false}
            quota: {max: 2, rank_by: revenue_12m}
        """)
    # C2 and C3 tie at 300 and win; C1 (100) is over the cap
    assert column(result, "key_account") == [False, True, True, False]
    assert column(result, "_rule.key_account") == ["K1; quota", "K1", "K1", "default"]
    assert result.quota_trimmed == {"key_account": 1}
    tie = evaluate(tmp_path, """\
        decisions:
          key_account:
            outputs: {key_account: bool}
            rules: [{id: K1, when: "revenue_12m >= 100", then: {key_account: true}}]
            quota: {max: 1, rank_by: revenue_12m}
        """)
    assert column(tie, "key_account") == [False, True, False, None]


def test_constraint_fix_is_applied_and_traced(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          discount:
            hit: collect_sum
            outputs: {discount: percent}
            rules: [{id: D1, when: "true", then: {discount: 0.08}}]
        constraints:
          - id: floor
            check: coalesce(x, 100) / 100 - discount >= 0.05
            fix: {discount: "max(0, x / 100 - 0.05)"}
        """)
    assert column(result, "discount") == pytest.approx([0.05, 0.0, 0.08, 0.0])
    assert column(result, "_fix.floor") == [True, True, False, True]


def test_constraint_error_reports_each_customer(tmp_path):
    result = evaluate(tmp_path, """\
        decisions:
          d:
            outputs: {v: number}
            rules: [{id: D1, when: "true", then: {v: x}}]
        constraints:
          - {id: positive, title: 必须为正, check: "v > 0", error: true}
        """)
    assert result.issues == [DecisionIssue("C4", "constraint:positive", ("positive",),
                                           "constraint positive failed: 必须为正",
                                           "the constraint is an error (error: true): fix the rules or data that break it")]


def test_type_errors_are_reported_at_the_rule(tmp_path):
    with pytest.raises(RulebookInvalid) as info:
        evaluate(tmp_path, """\
            decisions:
              d:
                outputs: {v: number}
                rules:
                  - id: D1
                    when: t > 5
                    then: {v: 1}
            """)
    error = info.value.errors[0]
    assert (error.file, error.line, error.rule_id) == ("rules/policy.yaml", 7, "D1")  # the "when:" line
    assert error.message == "t is text but is compared with a number (5)"


def test_evaluation_is_deterministic_and_independent_of_row_order(tmp_path):
    policy = """\
        decisions:
          key_account:
            outputs: {key_account: bool}
            rules: [{id: K1, when: "revenue_12m >= 100", then: {key_account: true}}]
            quota: {max: 1, rank_by: revenue_12m}
        """
    first = evaluate(tmp_path, policy).frame
    shuffled = evaluate(tmp_path, policy, FEATURES.reverse()).frame
    assert first.equals(shuffled)


def test_collect_with_a_default_gives_a_one_element_list(tmp_path):
    """Found by the engine-parity property test: a scalar default used to crash a collect decision."""
    result = evaluate(tmp_path, """\
        decisions:
          tags:
            hit: collect
            outputs: {tags: text}
            rules: [{id: T1, when: "x >= 5", then: {tags: 大}}]
            default: {tags: 无}
        """)
    assert column(result, "tags") == [["大"], ["大"], ["无"], ["无"]]
    assert column(result, "_rule.tags") == ["T1", "T1", "default", "default"]
