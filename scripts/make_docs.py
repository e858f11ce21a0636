"""Generate docs/reference.md from the code, so the reference cannot drift from it.

    python scripts/make_docs.py            # rewrite docs/reference.md
    python scripts/make_docs.py --check    # exit 1 if it is out of date (tests/test_docs.py does this)

Every CLI command (with its help), every section and key of the rulebook (from the pydantic
models that validate it), every hit policy, every expression function, every template
filter, the template context and every limit, in Chinese and English.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kamrules.cli import app  # noqa: E402
from kamrules.limits import describe  # noqa: E402
from kamrules.messages import CATALOGUE  # noqa: E402
from kamrules.metrics.catalog import CATALOG  # noqa: E402
from kamrules.render import filters  # noqa: E402
from kamrules.render.context import CLIENT_EXTRAS, CONTEXT_EXTRAS  # noqa: E402
from kamrules.rules.model import HitPolicy  # noqa: E402
from kamrules.expr.parser import FUNCTIONS  # noqa: E402
from kamrules.schema import rulebook_schema  # noqa: E402

TARGET = ROOT / "docs" / "reference.md"

HIT_POLICIES = {
    "unique": ("至多一条规则命中；两条同时命中是冲突（报告，输出留空）", "at most one rule may match; two matching is a conflict (reported, output left empty)"),
    "first": ("按书写顺序第一条命中的规则生效", "the first matching rule in written order decides"),
    "priority": ("命中规则中优先级最高的生效：priority: 数字，或 values: 中靠前的输出值（并列且输出不同是冲突）",
                 "the matching rule of the highest priority decides: priority: numbers, or the output's place in values: "
                 "(a tie with different outputs is a conflict)"),
    "any": ("可以多条命中，但输出必须相同，否则是冲突", "several may match but must agree, otherwise a conflict"),
    "collect": ("所有命中规则的输出组成列表", "the outputs of every matching rule, as a list"),
    "rule_order": ("同 collect，按规则顺序", "like collect, in rule order"),
    "output_order": ("所有命中规则的输出组成列表，按输出优先级排序（values: 中靠前的在前）",
                     "the outputs of every matching rule, as a list, highest output priority first (order of values:)"),
    "collect_sum": ("命中规则的输出相加（如折扣叠加）", "the sum of the matching rules' outputs (e.g. stacked discounts)"),
    "collect_min": ("命中规则输出中的最小值", "the smallest of the matching rules' outputs"),
    "collect_max": ("命中规则输出中的最大值", "the largest of the matching rules' outputs"),
    "collect_count": ("命中规则的条数（没有命中时为 0）", "how many rules matched (0 when none does)"),
}

CONTEXT = {
    "company": ("公司信息（rules/documents.yaml 的 company）", "company details (company in rules/documents.yaml)"),
    "as_of": ("数据截至日期", "the as-of date"),
    "valid_until": ("文档有效期至（as_of + validity_days）", "valid until (as_of + validity_days)"),
    "doc_no": ("文档编号", "document number"),
    "document_title": ("文档标题", "document title"),
    "reasons": ("每项决策由哪条规则决定及原因：[{decision, title, rule, note}]", "which rule decided each decision and why: [{decision, title, rule, note}]"),
    "upcoming_visits": ("计划拜访：[{date, purpose}]", "planned visits: [{date, purpose}]"),
    "trace": ("决策 → 命中的规则编号", "decision → matching rule ids"),
    "monthly": ("近12个月每月销售额与去年同月：[{label, revenue, revenue_prev_year, growth}]", "12 months of revenue and the same month a year before: [{label, revenue, revenue_prev_year, growth}]"),
    "rfm_segment_title": ("RFM 客群的中文名称", "the RFM segment's display name"),
    "revenue_chart": ("近12个月销售额与去年同月的柱状图（图片；没有数据时为空）：{% if revenue_chart %}{{ revenue_chart }}{% endif %}",
                      "a bar chart of the 12 months of revenue against the year before (a picture; empty without data): "
                      "{% if revenue_chart %}{{ revenue_chart }}{% endif %}"),
}


def _commands() -> list[str]:
    command = typer.main.get_command(app)
    lines = ["## 命令 · Commands", "", "| 命令 command | 说明 (the command's own help, `--help`) | 选项 options |", "|---|---|---|"]
    for name in sorted(command.commands):
        sub = command.commands[name]
        lines.append(_command_row(f"kamrules {name}", sub, CATALOGUE[f"help.cmd.{name}"]))
        for child in sorted(getattr(sub, "commands", {})):
            lines.append(_command_row(f"kamrules {name} {child}", sub.commands[child],
                                      CATALOGUE[f"help.{name}.{child}"]))
    return lines


def _command_row(title: str, command, help_pair: tuple[str, str]) -> str:
    options = ", ".join(f"`{opt}`" for param in command.params if param.param_type_name == "option"
                        for opt in param.opts if opt.startswith("--"))
    arguments = " ".join(param.name.upper() for param in command.params if param.param_type_name == "argument")
    zh, en = help_pair
    return f"| `{title}{' ' + arguments if arguments else ''}` | {zh}<br>{en} | {options} |"


def _rulebook() -> list[str]:
    schema = rulebook_schema()
    definitions = schema["$defs"]
    lines = ["## 规则文件的键 · Rulebook keys (rules/*.yaml)", "",
             "Sections, then the keys of each kind of entry (from the models that validate them; "
             "`kamrules schema` prints the same as JSON Schema).", "",
             "| 节 section | 键 keys |", "|---|---|"]
    lines.append("| (top level) | " + ", ".join(f"`{k}`" for k in schema["properties"]) + " |")
    for name in sorted(definitions):
        keys = ", ".join(f"`{k}`" for k in definitions[name].get("properties", {}))
        if keys:
            lines.append(f"| {name} | {keys} |")
    return lines


def _policies() -> list[str]:
    lines = ["## 命中策略 · Hit policies (`hit:`)", "", "| hit | 中文 | English |", "|---|---|---|"]
    for policy in HitPolicy.__args__:
        zh, en = HIT_POLICIES[policy]
        lines.append(f"| `{policy}` | {zh} | {en} |")
    return lines


def _functions() -> list[str]:
    lines = ["## 表达式函数 · Expression functions", "",
             "Operators: `+ - * / // %`, `== != < <= > >=`, `in`, `not in`, `and or not`, `x if c else y`, "
             "lists `[...]`, `万`/`亿` after a number, dates as `2025-01-31`; `?` is the input of a table cell.", "",
             "| function | arguments | meaning |", "|---|---|---|"]
    for name, spec in sorted(FUNCTIONS.items()):
        arity = str(spec.min_args) if spec.min_args == spec.max_args else f"{spec.min_args}–{spec.max_args}"
        lines.append(f"| `{name}` | {arity} | {spec.summary} |")
    return lines


def _filters() -> list[str]:
    lines = ["## 模板过滤器 · Template filters", "", "| filter | meaning |", "|---|---|"]
    names = sorted(filters.make_filters("zh_CN"))
    for name in names:
        function = getattr(filters, name, None)
        doc = inspect.getdoc(function).splitlines()[0] if function and inspect.getdoc(function) else ""
        lines.append(f"| `{name}` | {doc} |")
    return lines


def _context() -> list[str]:
    lines = ["## 模板上下文 · Template context", "",
             "Every customer column, metric and decision output by name, plus the names below. A client document "
             "(`audience: client`) sees only the fields the rules mark client-visible (`client:`) and "
             + ", ".join(f"`{n}`" for n in CLIENT_EXTRAS) + "; `check` and the run refuse any other.", "",
             "| name | 中文 | English |", "|---|---|---|"]
    for name in CONTEXT_EXTRAS:
        zh, en = CONTEXT[name]
        lines.append(f"| `{name}` | {zh} | {en} |")
    lines += ["", "Built-in metrics:", "", "| metric | type | 中文 |", "|---|---|---|"]
    lines += [f"| `{name}` | {info.type} | {info.title} |" for name, info in CATALOG.items()]
    return lines


def _limits() -> list[str]:
    lines = ["## 上限 · Limits (SECURITY.md)", "", "| variable | default | limits |", "|---|---|---|"]
    lines += [f"| `{env}` | {default:,} | {meaning} |" for env, meaning, default in describe()]
    return lines


def reference() -> str:
    parts = [["# kamrules reference · 参考", "",
              "Generated by `python scripts/make_docs.py` from the code; do not edit by hand."]]
    parts += [_commands(), _rulebook(), _policies(), _functions(), _filters(), _context(), _limits()]
    return "\n\n".join("\n".join(part) for part in parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = reference()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run python scripts/make_docs.py")
            sys.exit(1)
        return
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(TARGET)


if __name__ == "__main__":
    main()
