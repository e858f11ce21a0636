"""What-if: the impact of other rules on the current data, before anyone commits to them.

``rule_diff(project, other, as_of)`` evaluates the project's ledger with its own rules and
with ``other`` (a rules folder, or a project folder that has one) and reports, per decision
output, the change that means something for its type (:class:`OutputChange`): customers per
value before and after for text and yes/no outputs; customers changed, the mean before and
after and the smallest and largest change for numbers (and the total, for money: a sum of
discounts or of visit intervals means nothing); the mean shift in days for dates. Besides: the
transitions of text outputs (tier B→A 12), the change in discount cost (Σ revenue_12m ×
discount_pct) and credit exposure (Σ credit_limit), and every affected customer with the old and
new values.

:class:`RulesCopy` is how ``check --rules``, ``test --rules`` and ``diff --rules`` use another rules
folder: a temporary project holding a copy of it beside the project's templates, so it is checked
exactly as the live rules would be, and every file name reported (``rules-new/policy.yaml:12:5``)
names the file the user edits.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .errors import KamrulesError, ProjectError
from .i18n import Text, Words, choose, msg

KEY = "customer_id"
MONEY_TOTALS = {"discount_cost": ("近12个月折扣成本", "discount cost (12 months)"),
                "credit_exposure": ("信用额度合计", "credit exposure (sum of limits)")}
NUMERIC = ("money", "percent", "number", "integer")
COUNTED = ("text", "bool")  # summarised by customers per value
YES_NO = {"zh": ("是", "否"), "en": ("Yes", "No")}


@dataclass
class Transition:
    output: str
    title: str
    before: str
    after: str
    customers: int


@dataclass
class ValueCount:
    """Customers with ``value`` before and after (text and yes/no outputs)."""

    value: str
    before: int
    after: int


@dataclass
class OutputChange:
    """One decision output that changes for at least one customer, summarised for its type.

    ``customers``: customers whose value changes. Text and bool: ``counts``, customers per value
    before and after (every value whose count changes, largest change first). Numbers (integer,
    number, percent, money): the mean over customers with a value before and after, and the
    smallest and largest change of a customer that has a value both times; money also the total.
    Dates: the mean shift in days of the customers whose date moved."""

    output: str
    title: str
    kind: str
    customers: int
    counts: list[ValueCount] = field(default_factory=list)
    mean_before: float | None = None
    mean_after: float | None = None
    min_change: float | None = None
    max_change: float | None = None
    total_before: float | None = None
    total_after: float | None = None
    mean_shift_days: float | None = None


@dataclass
class RuleDiff:
    as_of: dt.date
    customers: int
    outputs: list[OutputChange] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    totals: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (before, after)
    affected: pl.DataFrame = field(default_factory=pl.DataFrame)  # customer_id, name, output, title, before, after (as text)
    values: list[dict] = field(default_factory=list)  # the same rows with typed before/after, and kind
    lang: str = "zh"  # of the workbook: the rulebook's locale
    currency: str = "CNY"

    @property
    def affected_customers(self) -> int:
        return self.affected[KEY].n_unique() if self.affected.height else 0

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(), "customers": self.customers,
            "affected_customers": self.affected_customers,
            "outputs": [{**o.__dict__, "counts": [c.__dict__ for c in o.counts]} for o in self.outputs],
            "transitions": [t.__dict__ for t in self.transitions],
            "totals": {k: {"before": b, "after": a, "change": round(a - b, 2)} for k, (b, a) in self.totals.items()},
            "affected": [{k: v for k, v in row.items() if k != "kind"} for row in self.values],
        }


class RulesCopy:
    """Another rules folder (``rules-new``, or a project folder with a ``rules/``) as the rules of a
    temporary copy of the project: its ``rules/`` a copy of the folder (YAML, tests/, tables/, DMN),
    its ``templates/`` (and the company's logo) the project's. Inside ``with``, ``project`` is that
    copy; a :class:`KamrulesError` leaving the block, and any finding passed to :meth:`rename`, names
    the files as the user knows them: ``rules-new/policy.yaml:12:5``, not ``rules/policy.yaml``."""

    def __init__(self, project: Path, other: Path, purpose: str = "check"):
        other = Path(other)
        self.source = Path(project).resolve()
        self.rules = other / "rules" if (other / "rules").is_dir() else other
        self.display = self.rules.as_posix()
        self.purpose = purpose
        self.project = Path()
        self._folder: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> "RulesCopy":
        rules = self.rules
        if not rules.is_dir() or not (any(rules.glob("*.yaml")) or any(rules.glob("*.dmn"))):
            raise ProjectError(msg("diff.no_rules") if self.purpose == "diff" else msg("rules_copy.none"),
                               path=self.display, suggestion=msg("diff.no_rules.hint"))
        self._folder = tempfile.TemporaryDirectory(prefix="kamrules-rules-")
        self.project = Path(self._folder.name) / "project"
        self.project.mkdir()
        shutil.copytree(rules, self.project / "rules", symlinks=True)
        templates = self.source / "templates"
        if templates.is_dir():
            shutil.copytree(templates, self.project / "templates", symlinks=True)
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, KamrulesError):
            self.rename(error)
        if self._folder is not None:
            self._folder.cleanup()
        return False

    def bring_logo(self, logo: str | None) -> None:
        """The company's logo, when the copied rules name one outside templates/."""
        if not logo or (self.project / logo).exists():
            return
        source = self.source / logo
        if source.is_file() and not source.is_symlink():
            (self.project / logo).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, self.project / logo)

    def name(self, value: Any) -> Any:
        """``rules/…`` (and a path inside the temporary copy) as the file the user edits."""
        if isinstance(value, Text):
            return Text(value.key, {k: self.name(v) for k, v in value.values.items()})
        if not isinstance(value, str):
            return value
        inside = str(self.project)
        if value.startswith(inside):
            value = os.path.relpath(value, self.project).replace(os.sep, "/") if value != inside else "."
            if not value.startswith("rules"):
                return (self.source / value).as_posix()
        if value == "rules" or value.startswith("rules/"):
            return self.display + value[len("rules"):]
        return value

    def rename(self, error: Any) -> Any:
        """``error`` (or a rule test's result) with every file name it carries put right, in place."""
        for attribute, value in list(vars(error).items()):
            if attribute in ("file", "path", "template", "message", "suggestion") and value is not None:
                setattr(error, attribute, self.name(value))
        for inner in getattr(error, "errors", None) or []:
            self.rename(inner)
        return error


def rule_diff(project: Path, other: Path, as_of: dt.date, lang: str | None = None) -> RuleDiff:
    """``lang`` (zh/en, default the rules' locale) words the workbook, yes/no and the empty value marker."""
    from .pipeline import RunOptions, evaluate
    from .rules.rulebook_compiler import load_rulebook

    project = Path(project).resolve()
    with RulesCopy(project, other, "diff") as copy:
        candidate = load_rulebook(copy.project)
    # through the ledger cache: the second evaluation parses nothing the first one did
    current, _, before = evaluate(project, as_of, options=RunOptions())
    _, _, after = evaluate(project, as_of, rulebook=candidate, options=RunOptions())
    outputs = [(name, decision.label(name), kind) for decision in current.decisions
               for name, kind in decision.outputs.items() if name in after.frame.columns]
    lang = choose(lang, current.spec.locale)
    diff = _compare(before.frame, after.frame, outputs, as_of, Words(lang)("summary.empty"), YES_NO[lang])
    diff.lang, diff.currency = lang, current.spec.currency
    return diff


def _as_text(column: str, frame: pl.DataFrame, empty: str, yes_no: tuple[str, str]) -> pl.Expr:
    dtype = frame.schema[column]
    expr = pl.col(column)
    if isinstance(dtype, pl.List):
        expr = expr.list.eval(pl.element().cast(pl.String)).list.join("; ")
    elif dtype == pl.Boolean:
        expr = pl.when(expr).then(pl.lit(yes_no[0])).when(expr.not_()).then(pl.lit(yes_no[1]))
    return expr.cast(pl.String).fill_null(empty)


def _kind(kind: str, old: pl.DataFrame, new: pl.DataFrame, output: str) -> str:
    """The summary an output gets: its declared type, unless its values are not of that type
    (a collect output holds a list: its values are counted)."""
    dtypes = (old.schema[output], new.schema[output])
    if kind in NUMERIC and all(d.is_numeric() or d == pl.Null for d in dtypes):
        return kind
    if kind == "date" and all(d in (pl.Date, pl.Datetime, pl.Null) for d in dtypes):
        return kind
    return "bool" if kind == "bool" else "text"


def _round(value: Any, places: int = 6) -> float | None:
    return None if value is None else round(float(value), places)


def _compare(old: pl.DataFrame, new: pl.DataFrame, outputs: list[tuple[str, str, str]], as_of: dt.date,
             empty: str, yes_no: tuple[str, str] = YES_NO["zh"]) -> RuleDiff:
    names = [KEY] + (["name"] if "name" in old.columns else [])
    diff = RuleDiff(as_of, old.height)
    changes, values = [], []
    for output, title, declared in outputs:
        kind = _kind(declared, old, new, output)
        pair = old.select(*names, _as_text(output, old, empty, yes_no).alias("before"),
                          pl.col(output).alias("old")).join(
            new.select(KEY, _as_text(output, new, empty, yes_no).alias("after"), pl.col(output).alias("new")),
            on=KEY, how="inner")
        changed = pair.filter(pl.col("before") != pl.col("after"))
        if changed.is_empty():
            continue
        changes.append(changed.select(*names, pl.lit(output).alias("output"), pl.lit(title).alias("title"),
                                      "before", "after"))
        typed = kind in NUMERIC or kind == "date"
        for row in changed.iter_rows(named=True):
            values.append({KEY: row[KEY], **({"name": row["name"]} if "name" in row else {}), "output": output,
                           "title": title, "kind": kind, "before": row["old"] if typed else row["before"],
                           "after": row["new"] if typed else row["after"]})
        summary = OutputChange(output, title, kind, changed.height)
        if kind in COUNTED:
            summary.counts = _counts(pair)
            counts = changed.group_by("before", "after").agg(pl.len().alias("n")).sort(
                "n", "before", "after", descending=[True, False, False])
            diff.transitions += [Transition(output, title, b, a, n) for b, a, n in counts.iter_rows()]
        elif kind == "date":
            shift = changed.select((pl.col("new").cast(pl.Date) - pl.col("old").cast(pl.Date)).dt.total_days()
                                   .mean()).item()
            summary.mean_shift_days = _round(shift, 2)
        else:
            both = changed.filter(pl.col("old").is_not_null() & pl.col("new").is_not_null())
            step = both["new"].cast(pl.Float64) - both["old"].cast(pl.Float64)
            summary.mean_before = _round(old[output].cast(pl.Float64).mean())
            summary.mean_after = _round(new[output].cast(pl.Float64).mean())
            summary.min_change = _round(step.min()) if both.height else None
            summary.max_change = _round(step.max()) if both.height else None
            if kind == "money":
                summary.total_before = round(float(old[output].cast(pl.Float64).sum()), 2)
                summary.total_after = round(float(new[output].cast(pl.Float64).sum()), 2)
        diff.outputs.append(summary)
    if changes:
        diff.affected = pl.concat(changes, how="diagonal_relaxed").sort(KEY, "output")
        order = {name: index for index, (name, _, _) in enumerate(outputs)}
        diff.values = sorted(values, key=lambda row: (str(row[KEY]), order[row["output"]]))
    diff.totals = {name: (_total(old, name), _total(new, name)) for name in MONEY_TOTALS
                   if _total(old, name) is not None and _total(new, name) is not None}
    return diff


def _counts(pair: pl.DataFrame) -> list[ValueCount]:
    """Customers per value before and after, the values whose count changes: largest change first,
    then the smaller group first (是 20 → 23 before 否 310 → 307)."""
    before = pair.group_by("before").agg(pl.len().alias("n_before")).rename({"before": "value"})
    after = pair.group_by("after").agg(pl.len().alias("n_after")).rename({"after": "value"})
    both = before.join(after, on="value", how="full", coalesce=True).fill_null(0)
    both = both.filter(pl.col("n_before") != pl.col("n_after")).with_columns(
        (pl.col("n_after").cast(pl.Int64) - pl.col("n_before").cast(pl.Int64)).abs().alias("size"))
    both = both.sort("size", "n_before", "value", descending=[True, False, False])
    return [ValueCount(v, b, a) for v, b, a in both.select("value", "n_before", "n_after").iter_rows()]


def _total(frame: pl.DataFrame, name: str) -> float | None:
    if name == "discount_cost" and {"revenue_12m", "discount_pct"} <= set(frame.columns):
        return round(float((frame["revenue_12m"] * frame["discount_pct"].fill_null(0)).sum()), 2)
    if name == "credit_exposure" and "credit_limit" in frame.columns:
        return round(float(frame["credit_limit"].fill_null(0).sum()), 2)
    return None


# the diff workbook's words: (中文, English)
WORKBOOK = {
    "impact": ("影响汇总", "Impact"), "customers_sheet": ("受影响客户", "Affected customers"),
    "output": ("决策输出", "Output"), "value": ("值", "Value"), "before": ("原值", "Before"),
    "after": ("新值", "After"), "change": ("变化", "Change"), "customers": ("客户数", "Customers"),
    "count_before": ("原客户数", "Customers before"), "count_after": ("新客户数", "Customers after"),
    "changed": ("变化客户数", "Customers changed"), "mean_before": ("原平均", "Mean before"),
    "mean_after": ("新平均", "Mean after"), "min_change": ("最小变化", "Smallest change"),
    "max_change": ("最大变化", "Largest change"), "total_before": ("原合计", "Total before"),
    "total_after": ("新合计", "Total after"), "shift": ("平均变化（天）", "Mean shift (days)"),
    "total": ("合计", "Total"), "old_rules": ("原规则", "Current rules"), "new_rules": ("新规则", "Other rules"),
    "customer_id": ("客户编号", "Customer"), "name": ("客户名称", "Name"),
}
_CELL_TYPE = {"money": "money", "percent": "percent", "integer": "integer", "number": "number", "date": "date"}


def write_diff_workbook(diff: RuleDiff, target: Path, lang: str | None = None) -> None:
    """Two sheets, 影响汇总 (per output: customers per value, transitions, numbers, dates, totals)
    and 受影响客户 (one row per changed output, its values typed: numbers, percents and money as
    numbers with their formats, dates as dates, yes/no as 是/否); written next to ``target`` and
    renamed into place, so it is complete or absent."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from .render.xlsx import SheetWriter, number_formats

    zh = (lang or diff.lang) == "zh"

    def w(key: str) -> str:
        return WORKBOOK[key][0 if zh else 1]

    formats = number_formats(diff.currency)
    wb = Workbook(write_only=True)
    summary = SheetWriter(wb, w("impact"), formats)
    for column, width in zip("ABCDEFGHI", (30, 16, 16, 16, 16, 16, 16, 18, 18)):
        summary.ws.column_dimensions[column].width = width
    counted = [o for o in diff.outputs if o.kind in COUNTED]
    if counted:
        summary.append([w("output"), w("value"), w("count_before"), w("count_after"), w("change")], header=True)
        for o in counted:
            for c in o.counts:
                summary.append([o.title, c.value, c.before, c.after, c.after - c.before],
                               [None, None, "integer", "integer", "integer"])
        summary.append([])
    if diff.transitions:
        summary.append([w("output"), w("before"), w("after"), w("customers")], header=True)
        for t in diff.transitions:
            summary.append([t.title, t.before, t.after, t.customers], [None, None, None, "integer"])
        summary.append([])
    numbers = [o for o in diff.outputs if o.kind in NUMERIC]
    if numbers:
        summary.append([w("output"), w("changed"), w("mean_before"), w("mean_after"), w("min_change"),
                        w("max_change"), w("total_before"), w("total_after")], header=True)
        for o in numbers:
            mean = "number" if o.kind == "integer" else o.kind
            summary.append([o.title, o.customers, o.mean_before, o.mean_after, o.min_change, o.max_change,
                            o.total_before, o.total_after],
                           [None, "integer", mean, mean, o.kind, o.kind, "money", "money"])
        summary.append([])
    dates = [o for o in diff.outputs if o.kind == "date"]
    if dates:
        summary.append([w("output"), w("changed"), w("shift")], header=True)
        for o in dates:
            summary.append([o.title, o.customers, o.mean_shift_days], [None, "integer", "number"])
        summary.append([])
    if diff.totals:
        summary.append([w("total"), w("old_rules"), w("new_rules"), w("change")], header=True)
        for name, (before, after) in diff.totals.items():
            summary.append([MONEY_TOTALS[name][0 if zh else 1], before, after, round(after - before, 2)],
                           [None, "money", "money", "money"])

    customers = SheetWriter(wb, w("customers_sheet"), formats)
    customers.ws.freeze_panes = "A2"
    named = bool(diff.values) and "name" in diff.values[0]
    headers = [w("customer_id")] + ([w("name")] if named else []) + [w("output"), w("before"), w("after"),
                                                                      w("change")]
    for index, width in enumerate([12] + ([24] if named else []) + [22, 16, 16, 14], start=1):
        customers.ws.column_dimensions[get_column_letter(index)].width = width
    customers.ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(diff.values) + 1}"
    customers.append(headers, header=True)
    for row in diff.values:
        kind = row["kind"]
        cell = _CELL_TYPE.get(kind)
        before, after = row["before"], row["after"]
        change = None
        if kind in NUMERIC and before is not None and after is not None:
            change = round(after - before, 10)
        elif kind == "date" and before is not None and after is not None:
            change = (after - before).days
        lead = [row[KEY]] + ([row.get("name")] if named else []) + [row["title"]]
        customers.append(lead + [before, after, change],
                         [None] * len(lead) + [cell, cell, "integer" if kind == "date" else cell])
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    wb.save(partial)
    os.replace(partial, target)
