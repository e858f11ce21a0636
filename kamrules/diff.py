"""What-if: the impact of other rules on the current data, before anyone commits to them.

``rule_diff(project, other, as_of)`` evaluates the project's ledger with its own rules and
with ``other`` (a rules folder, or a project folder that has one) and reports, per decision
output, how many customers change and from what to what (a transition table: tier B→A 12),
the change in discount cost (Σ revenue_12m × discount_pct) and credit exposure (Σ
credit_limit), and every affected customer with the old and new values.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from .errors import ProjectError
from .i18n import Words, choose, msg

KEY = "customer_id"
MONEY_TOTALS = {"discount_cost": ("近12个月折扣成本", "discount cost (12 months)"),
                "credit_exposure": ("信用额度合计", "credit exposure (sum of limits)")}


@dataclass
class Transition:
    output: str
    title: str
    before: str
    after: str
    customers: int


@dataclass
class NumericChange:
    """A numeric output (limit, discount, date…): how many customers change and, for numbers,
    the total before and after."""

    output: str
    title: str
    customers: int
    total_before: float | None
    total_after: float | None


@dataclass
class RuleDiff:
    as_of: dt.date
    customers: int
    transitions: list[Transition] = field(default_factory=list)
    numeric: list[NumericChange] = field(default_factory=list)
    totals: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (before, after)
    affected: pl.DataFrame = field(default_factory=pl.DataFrame)  # customer_id, name, output, before, after
    lang: str = "zh"  # of the workbook: the rulebook's locale

    @property
    def affected_customers(self) -> int:
        return self.affected[KEY].n_unique() if self.affected.height else 0

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(), "customers": self.customers,
            "affected_customers": self.affected_customers,
            "transitions": [t.__dict__ for t in self.transitions],
            "numeric": [n.__dict__ for n in self.numeric],
            "totals": {k: {"before": b, "after": a, "change": round(a - b, 2)} for k, (b, a) in self.totals.items()},
            "affected": self.affected.to_dicts(),
        }


def rule_diff(project: Path, other: Path, as_of: dt.date, lang: str | None = None) -> RuleDiff:
    """``lang`` (zh/en, default the rules' locale) words the workbook and the empty value marker."""
    from .pipeline import evaluate
    from .rules.rulebook_compiler import load_rulebook

    project, other = Path(project).resolve(), Path(other).resolve()
    rules = other / "rules" if (other / "rules").is_dir() else other
    if not rules.is_dir() or not any(rules.glob("*.yaml")):
        raise ProjectError(msg("diff.no_rules"), path=str(other), suggestion=msg("diff.no_rules.hint"))
    with tempfile.TemporaryDirectory(prefix="kamrules-diff-") as folder:
        shadow = Path(folder)
        shutil.copytree(rules, shadow / "rules")
        candidate = load_rulebook(shadow)
    current, _, before = evaluate(project, as_of)
    _, _, after = evaluate(project, as_of, rulebook=candidate)
    outputs = [(name, decision.label(name), kind) for decision in current.decisions
               for name, kind in decision.outputs.items() if name in after.frame.columns]
    lang = choose(lang, current.spec.locale)
    diff = _compare(before.frame, after.frame, outputs, as_of, Words(lang)("summary.empty"))
    diff.lang = lang
    return diff


def _as_text(column: str, frame: pl.DataFrame, empty: str) -> pl.Expr:
    dtype = frame.schema[column]
    expr = pl.col(column)
    if isinstance(dtype, pl.List):
        expr = expr.list.eval(pl.element().cast(pl.String)).list.join("; ")
    return expr.cast(pl.String).fill_null(empty)


NUMERIC = ("money", "percent", "number", "integer")


def _compare(old: pl.DataFrame, new: pl.DataFrame, outputs: list[tuple[str, str, str]], as_of: dt.date,
             empty: str) -> RuleDiff:
    names = [KEY] + (["name"] if "name" in old.columns else [])
    diff = RuleDiff(as_of, old.height)
    changes = []
    for output, title, kind in outputs:
        pair = old.select(*names, _as_text(output, old, empty).alias("before")).join(
            new.select(KEY, _as_text(output, new, empty).alias("after")), on=KEY, how="inner")
        changed = pair.filter(pl.col("before") != pl.col("after"))
        if changed.is_empty():
            continue
        changes.append(changed.with_columns(pl.lit(output).alias("output"), pl.lit(title).alias("title")))
        if kind in NUMERIC or kind == "date":
            numeric = kind in NUMERIC
            diff.numeric.append(NumericChange(
                output, title, changed.height, round(float(old[output].sum()), 2) if numeric else None,
                round(float(new[output].sum()), 2) if numeric else None))
            continue
        counts = changed.group_by("before", "after").agg(pl.len().alias("n")).sort("n", "before", "after",
                                                                                    descending=[True, False, False])
        diff.transitions += [Transition(output, title, b, a, n) for b, a, n in counts.iter_rows()]
    if changes:
        diff.affected = pl.concat(changes, how="diagonal_relaxed").select(
            *names, "output", "title", "before", "after").sort(KEY, "output")
    diff.totals = {name: (_total(old, name), _total(new, name)) for name in MONEY_TOTALS
                   if _total(old, name) is not None and _total(new, name) is not None}
    return diff


def _total(frame: pl.DataFrame, name: str) -> float | None:
    if name == "discount_cost" and {"revenue_12m", "discount_pct"} <= set(frame.columns):
        return round(float((frame["revenue_12m"] * frame["discount_pct"].fill_null(0)).sum()), 2)
    if name == "credit_exposure" and "credit_limit" in frame.columns:
        return round(float(frame["credit_limit"].fill_null(0).sum()), 2)
    return None


def write_diff_workbook(diff: RuleDiff, target: Path, lang: str | None = None) -> None:
    """Two sheets, 影响汇总 (transitions and totals) and 受影响客户 (one row per changed output);
    written next to ``target`` and renamed into place, so it is complete or absent."""
    from openpyxl import Workbook

    from .render.xlsx import SheetWriter

    zh = (lang or diff.lang) == "zh"
    wb = Workbook(write_only=True)
    summary = SheetWriter(wb, "影响汇总" if zh else "Impact")
    summary.append(["决策输出", "原值", "新值", "客户数"] if zh else ["output", "before", "after", "customers"],
                   header=True)
    for t in diff.transitions:
        summary.append([t.title, t.before, t.after, t.customers])
    summary.append([])
    summary.append(["数值输出", "变化客户数", "原合计", "新合计"] if zh else ["numeric output", "customers",
                                                                      "total before", "total after"], header=True)
    for n in diff.numeric:
        summary.append([n.title, n.customers, n.total_before, n.total_after], [None, None, "money", "money"])
    summary.append([])
    summary.append(["合计", "原规则", "新规则", "变化"] if zh else ["total", "before", "after", "change"], header=True)
    for name, (before, after) in diff.totals.items():
        summary.append([MONEY_TOTALS[name][0 if zh else 1], before, after, round(after - before, 2)],
                       [None, "money", "money", "money"])
    customers = SheetWriter(wb, "受影响客户" if zh else "Affected customers")
    columns = [c for c in diff.affected.columns if c != "output"]
    headers = {"customer_id": "客户编号", "name": "客户名称", "title": "决策输出", "before": "原值", "after": "新值"}
    customers.append([headers.get(c, c) if zh else c for c in columns], header=True)
    for row in diff.affected.select(columns).iter_rows():
        customers.append(list(row))  # text stays text: a customer called "=1+1" is not a formula
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    wb.save(partial)
    os.replace(partial, target)
