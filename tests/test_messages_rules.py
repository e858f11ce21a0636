"""The rulebook speaks Chinese and English: unknown names with "did you mean", syntax and type
errors in rule expressions, schema errors in the YAML (our own words and pydantic's), the
findings of ``kamrules check``, bad rule test cases, decision tables in Excel, aggregates,
predictive model fits and decision conflicts, each triggered for real and checked word for
word in both languages."""

from __future__ import annotations

import shutil
import textwrap

import polars as pl
import pytest
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.errors import ExpressionError
from kamrules.i18n import localize
from kamrules.expr.parser import parse

from conftest import REPO, make_project, small_ledger, write_workbook
from test_check import project_with_policy
from test_engine import evaluate


def both(*args: str) -> tuple:
    """The CLI's exit code and output in Chinese, then in English."""
    zh = CliRunner().invoke(app, [*args, "--lang", "zh"])
    en = CliRunner().invoke(app, [*args, "--lang", "en"])
    return zh.exit_code, zh.output, en.exit_code, en.output


def test_an_unknown_name_and_did_you_mean(tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    policy = tmp_path / "rules" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("revenue_total > 0 and (p_alive",
                                                                 "revenue_totl > 0 and (p_alive"), encoding="utf-8")
    expression = ("'revenue_totl > 0 and (p_alive < 0.5 or recency_days > 120 or revenue_growth <= -0.5 "
                  "or complaints_12m >= 3)'")
    assert both("check", "-p", str(tmp_path)) == (
        1,
        "错误：规则有 1 处错误：\n"
        f"  rules/policy.yaml:194:9 [R-high]：未知的名称 'revenue_totl'（在 {expression} 中）\n"
        "    建议：您是否指 'revenue_total'？\n",
        1,
        "error: rulebook has 1 error:\n"
        f"  rules/policy.yaml:194:9 [R-high]: unknown name 'revenue_totl' (in {expression})\n"
        "    hint: did you mean 'revenue_total'?\n")


def test_syntax_type_and_function_errors(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          tier:
            outputs: {tier: text}
            rules:
              - {id: T1, when: "revenue_total >= 100 and tier = 'A'", then: {tier: A}}
              - {id: T2, when: "rnd(revenue_total) > 1", then: {tier: B}}
              - {id: T3, when: "tenure_years > 'x'", then: {tier: C}}
        """)
    assert both("check", "-p", str(project)) == (
        1,
        "错误：规则有 3 处错误：\n"
        "  rules/policy.yaml:6:18 [T1]：语法错误：invalid syntax（在 \"revenue_total >= 100 and tier = 'A'\" 中）\n"
        "    建议：比较请写 ==（如 tier == 'A'）；不能只写一个 =\n"
        "  rules/policy.yaml:7:18 [T2]：未知的函数 'rnd'（在 'rnd(revenue_total) > 1' 中）\n"
        "    建议：您是否指 'round'？\n"
        "  rules/policy.yaml:8:18 [T3]：tenure_years 是数字，却与文本（'x'）比较（在 \"tenure_years > 'x'\" 中）\n",
        1,
        "error: rulebook has 3 errors:\n"
        "  rules/policy.yaml:6:18 [T1]: syntax error: invalid syntax (in \"revenue_total >= 100 and tier = 'A'\")\n"
        "    hint: to compare, write == (as in tier == 'A'); a single = is not allowed\n"
        "  rules/policy.yaml:7:18 [T2]: unknown function 'rnd' (in 'rnd(revenue_total) > 1')\n"
        "    hint: did you mean 'round'?\n"
        "  rules/policy.yaml:8:18 [T3]: tenure_years is a number but is compared with text ('x') "
        "(in \"tenure_years > 'x'\")\n")


@pytest.mark.parametrize("text, zh, en", [
    ("tier = 'A'", "在 \"tier = 'A'\" 的第 5 个字符处：语法错误：invalid syntax\n"
                   "  建议：比较请写 ==（如 tier == 'A'）；不能只写一个 =",
     "in \"tier = 'A'\" at 5: syntax error: invalid syntax\n"
     "  hint: to compare, write == (as in tier == 'A'); a single = is not allowed"),
    ("x.y > 1", "在 'x.y > 1' 的第 0 个字符处：规则表达式中不允许使用属性访问（a.b）",
     "in 'x.y > 1' at 0: attribute access (a.b) is not allowed in rule expressions"),
    ("round(x, 1, 2)", "在 'round(x, 1, 2)' 的第 0 个字符处：round() 需要 1 到 2 个参数，实际为 3 个",
     "in 'round(x, 1, 2)' at 0: round() takes 1 to 2 arguments, got 3"),
    ("a & b", "在 'a & b' 的第 0 个字符处：不允许使用运算符 '&'\n  建议：请使用 'and' / 'or'",
     "in 'a & b' at 0: operator '&' is not allowed\n  hint: use 'and' / 'or'"),
])
def test_expression_errors_with_their_position(text, zh, en):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert (caught.value.render("zh"), str(caught.value)) == (zh, en)


def test_unknown_keys_wrong_types_and_our_own_validators_in_the_yaml(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          tier:
            hti: first
            outputs: {tier: txt}
            quota: {max: many, rank_by: revenue_total}
            rules:
              - {id: T1, when: true, then: {tier: A}}
          level:
            outputs: {level: text}
        """)
    types = "'text', 'integer', 'number', 'money', 'percent', 'date'"
    assert both("check", "-p", str(project)) == (
        1,
        "错误：规则有 4 处错误：\n"
        "  rules/policy.yaml:4:5 [tier]：未知的键 'hti'\n"
        "    建议：您是否指 'hit'？\n"
        f"  rules/policy.yaml:5:15 [tier]：decisions.tier.outputs.tier：取值应为 {types} 或 'bool'\n"
        "  rules/policy.yaml:6:13 [tier]：decisions.tier.quota.max：应为有效的整数，无法将文本解析为整数\n"
        "  rules/policy.yaml:9:3 [level]：decisions.level：决策需要 'rules'（列表）或 'table' 中的恰好一个\n",
        1,
        "error: rulebook has 4 errors:\n"
        "  rules/policy.yaml:4:5 [tier]: unknown key 'hti'\n"
        "    hint: did you mean 'hit'?\n"
        f"  rules/policy.yaml:5:15 [tier]: decisions.tier.outputs.tier: Input should be {types} or 'bool'\n"
        "  rules/policy.yaml:6:13 [tier]: decisions.tier.quota.max: Input should be a valid integer, "
        "unable to parse string as an integer\n"
        "  rules/policy.yaml:9:3 [level]: decisions.level: a decision needs exactly one of 'rules' (a list) "
        "or 'table'\n")


def test_overlapping_unreachable_and_missing_rows_found_by_check(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          tier:
            hit: unique
            outputs: {tier: text}
            table:
              inputs: [revenue_total]
              rows:
                - [">= 150万", A]
                - ["[100万..150万]", B]
                - ["< 100万", C]
          band:
            hit: first
            outputs: {band: text}
            table:
              inputs: [tenure_years]
              rows:
                - [">= 1", 老]
                - [">= 3", 很老]
                - ["< 0", 负]
        """)
    assert both("check", "-p", str(project)) == (
        1,
        "检查发现 3 个问题：\n"
        "  rules/policy.yaml:10:11 [tier#2]：行 tier#1 与行 tier#2 可能同时命中（例如 revenue_total = 1500000）；"
        "命中策略 unique 只允许命中一行\n"
        "    建议：请让条件互斥；如果按顺序决定，请使用 hit: first\n"
        "  rules/policy.yaml:19:11 [band#2]：行 band#2 永远不会命中：上方的行 band#1 已涵盖它的所有情况（命中策略 first）\n"
        "    建议：请把它移到 band#1 之前、缩小 band#1 的条件，或删除它\n"
        "  rules/policy.yaml:12:3 [band]：没有任何行匹配 tenure_years >= 0 and tenure_years < 1，且没有默认值\n"
        "    建议：请为这些值添加一行，或添加 default: {…}\n",
        1,
        "check found 3 problems:\n"
        "  rules/policy.yaml:10:11 [tier#2]: rows tier#1 and tier#2 can both match (e.g. revenue_total = 1500000); "
        "hit policy unique allows only one\n"
        "    hint: make the conditions exclusive, or use hit: first if the order decides\n"
        "  rules/policy.yaml:19:11 [band#2]: row band#2 can never match: row band#1 above it already matches "
        "everything it does (hit policy first)\n"
        "    hint: move it above band#1, narrow band#1, or remove it\n"
        "  rules/policy.yaml:12:3 [band]: no row matches tenure_years >= 0 and tenure_years < 1, "
        "and there is no default\n"
        "    hint: add a row for these values or a default: {…}\n")


def test_bad_rule_test_cases(tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("tests"))
    (tmp_path / "rules" / "tests").mkdir()
    (tmp_path / "rules" / "tests" / "cases.yaml").write_text(textwrap.dedent("""\
        - name: 拼错字段
          given: {revenue_totl: 1, tier: A}
          rules: {discunt: D-A}
        """), encoding="utf-8")
    assert both("test", "-p", str(tmp_path)) == (
        1,
        "错误：规则有 3 处错误：\n"
        "  rules/tests/cases.yaml:2:28 [拼错字段]：given：'tier' 由规则决定（决策 tier），不能直接给定\n"
        "    建议：请改为给出该决策读取的字段，并把输出写在 expect: 下\n"
        "  rules/tests/cases.yaml:2:11 [拼错字段]：given：未知的字段 'revenue_totl'\n"
        "    建议：您是否指 'revenue_total'？\n"
        "  rules/tests/cases.yaml:3:11 [拼错字段]：rules：未知的决策 'discunt'\n"
        "    建议：您是否指 'discount'？\n",
        1,
        "error: rulebook has 3 errors:\n"
        "  rules/tests/cases.yaml:2:28 [拼错字段]: given: 'tier' is decided by the rules (decision tier), "
        "so it cannot be given\n"
        "    hint: give the fields that decision reads instead, and put the output under expect:\n"
        "  rules/tests/cases.yaml:2:11 [拼错字段]: given: unknown field 'revenue_totl'\n"
        "    hint: did you mean 'revenue_total'?\n"
        "  rules/tests/cases.yaml:3:11 [拼错字段]: rules: unknown decision 'discunt'\n"
        "    hint: did you mean 'discount'?\n")


def test_decision_tables_in_excel(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          grade:
            outputs: {grade: text}
            table: {file: tables/tiers.xlsx, sheet: 等极}
          band:
            outputs: {band: text, tier2: text}
            labels: {tier2: 档位}
            table: {file: tables/tiers.xlsx, sheet: 等级}
        """)
    write_workbook(project / "rules" / "tables" / "tiers.xlsx", {"等级": [["revenue_total", "band"], [">= 1", "A"]]})
    assert both("check", "-p", str(project)) == (
        1,
        "错误：规则有 2 处错误：\n"
        "  rules/tables/tiers.xlsx › 等极 [grade]：工作簿中没有工作表 '等极'\n"
        "    建议：工作簿中的工作表有：等级\n"
        "  rules/tables/tiers.xlsx › 等级 › A1 [band]：没有输出 'tier2' 的列\n"
        "    建议：请在输入列右侧添加表头为 'tier2' 或 '档位' 的单元格\n",
        1,
        "error: rulebook has 2 errors:\n"
        "  rules/tables/tiers.xlsx › 等极 [grade]: no sheet '等极' in the workbook\n"
        "    hint: the workbook has sheets: 等级\n"
        "  rules/tables/tiers.xlsx › 等级 › A1 [band]: no column for output 'tier2'\n"
        "    hint: add a header cell 'tier2' or '档位' right of the input columns\n")


def test_bad_predictive_settings(tmp_path):
    project = make_project(tmp_path / "p", small_ledger())
    path = project / "rules" / "metrics.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("horizon: 12m, discount_rate: 0.08",
                                                             "horizon: ytd, discount_rate: 1.5"), encoding="utf-8")
    assert both("check", "-p", str(project)) == (
        1,
        "错误：规则有 2 处错误：\n"
        "  rules/metrics.yaml:15:30：metrics.predictive.horizon：horizon 必须是 Nm（月）或 Nd（天），如 12m；实际为 'ytd'\n"
        "  rules/metrics.yaml:15:44：metrics.predictive.discount_rate：应小于 1\n",
        1,
        "error: rulebook has 2 errors:\n"
        "  rules/metrics.yaml:15:30: metrics.predictive.horizon: horizon must be Nm (months) or Nd (days), like 12m; "
        "got 'ytd'\n"
        "  rules/metrics.yaml:15:44: metrics.predictive.discount_rate: Input should be less than 1\n")


def test_a_predictive_model_that_cannot_be_fitted(tmp_path):
    project = make_project(tmp_path / "p", small_ledger())
    path = project / "rules" / "metrics.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("margin: 1}", "margin: 1, if_unfit: error}"),
                    encoding="utf-8")
    assert both("run", "-p", str(project), "--as-of", "2026-10-31", "-q", "--workers", "1") == (
        1,
        "错误：rules/metrics.yaml [predictive: bgnbd]：2 位客户中只有 1 位在首次购买后再次购买；购买模型至少需要 20 位\n"
        "  建议：请补充更多订单历史（一年或以上），或调低 predictive.min_repeat_customers\n",
        1,
        "error: rules/metrics.yaml [predictive: bgnbd]: only 1 of 2 customers bought again after their first "
        "purchase; the purchase model needs at least 20\n"
        "  hint: add more order history (a year or more), or lower predictive.min_repeat_customers\n")


def test_an_aggregate_over_an_unknown_dataset(tmp_path):
    project = make_project(tmp_path / "p", small_ledger())
    path = project / "rules" / "metrics.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "  aggregates:\n", "  aggregates:\n    bad_sum: {sum: orderz.amount}\n"), encoding="utf-8")
    # found by loading the rules (check, or the start of a run), at the aggregate's line
    assert both("run", "-p", str(project), "--as-of", "2026-10-31", "-q", "--workers", "1") == (
        1,
        "错误：规则有 1 处错误：\n  rules/metrics.yaml:23:5 [bad_sum]：汇总指标 'bad_sum'：没有数据集 'orderz'\n"
        "    建议：您是否指 'orders'？\n",
        1,
        "error: rulebook has 1 error:\n  rules/metrics.yaml:23:5 [bad_sum]: aggregate 'bad_sum': there is no dataset "
        "'orderz'\n    hint: did you mean 'orders'?\n")


def test_decision_conflicts_for_the_portfolio(tmp_path):
    issues = evaluate(tmp_path, """\
        decisions:
          level:
            hit: unique
            outputs: {level: text}
            rules:
              - {id: U1, when: "x >= 5", then: {level: 高}}
              - {id: U2, when: "x >= 1", then: {level: 低}}
              - {id: U3, when: "x >= 0", then: {level: 无}}
          flag:
            hit: any
            outputs: {flag: bool}
            rules:
              - {id: A1, when: "x > 5", then: {flag: true}}
              - {id: A2, when: "x > 6", then: {flag: false}}
        constraints:
          - {id: positive, title: 必须为正, check: "x > 0", error: true}
        """, pl.DataFrame({"customer_id": ["C1", "C2"], "x": [10.0, 0.0]})).issues
    assert sorted((localize(i.message, "zh"), i.message) for i in issues) == [
        ("命中策略 any：规则 A1 和 A2 都命中，但输出不同", "hit policy any: rules A1 and A2 match but give different outputs"),
        ("命中策略 unique：规则 U1 和 U2 和 U3 同时命中", "hit policy unique: rules U1 and U2 and U3 all match"),
        ("约束 positive 未通过：必须为正", "constraint positive failed: 必须为正"),
    ]


@pytest.mark.parametrize("data, zh, en", [
    ({"ledger": [1]}, "应为 LedgerSettings 映射（key: value）",
     "Input should be a valid dictionary or instance of LedgerSettings"),
    ({"decisions": {"d": {"outputs": {}, "rules": []}}}, "映射至少需要 1 项，实际为 0 项",
     "Dictionary should have at least 1 item after validation, not 0"),
    ({"decisions": {"d": {"outputs": {"x": "text"}, "table": {"inputs": [], "rows": [[1]]}}}},
     "列表至少需要 1 项，实际为 0 项", "List should have at least 1 item after validation, not 0"),
    ({"metrics": {"abc": {"a": 0.9, "b": 0.5}}}, "b（0.5）必须大于 a（0.9）：两者都是累计占比",
     "b (0.5) must be greater than a (0.9): both are cumulative shares"),
    ({"metrics": {"aggregates": {"x": {"sum": "amount"}}}}, "应为 数据集.列 的形式，如 orders.amount；实际为 'amount'",
     "expected dataset.column, like orders.amount; got 'amount'"),
])
def test_pydantic_messages_in_both_languages(data, zh, en):
    from pydantic import ValidationError

    from kamrules.rules.rulebook import RulebookSpec
    from kamrules.rules.schema_errors import pydantic_message

    with pytest.raises(ValidationError) as caught:
        RulebookSpec.model_validate(data)
    err = caught.value.errors()[0]
    message = pydantic_message(err)
    assert message == err["msg"].removeprefix("Value error, ")
    assert (localize(message, "zh"), message) == (zh, en)


def test_a_pydantic_message_we_do_not_know_stays_in_english():
    from kamrules.rules.schema_errors import pydantic_message

    for err in ({"type": "url_parsing", "msg": "Input should be a valid URL", "ctx": {}},
                {"type": "less_than", "msg": "Input should be less than 0.000001", "ctx": {"lt": 1e-6}}):
        message = pydantic_message(err)
        assert type(message) is str and message == err["msg"]
