"""The default engine: every decision as vectorised Polars expressions, all customers at once.

For each decision (in dependency order) the rule conditions become boolean columns; the
hit policy combines them into the output columns and a trace column ``_rule.<decision>``
holding the id(s) of the rule(s) that decided it (``default`` when none matched, ``quota``
appended when a portfolio cap overrode it). Constraints run as soon as every field they
read is available; a fix is recorded in ``_fix.<constraint>``. Per-customer conflicts
(``unique`` with two matches, ``any`` disagreeing, ``priority`` ties, ``error: true``
constraints) become :class:`DecisionIssue` records and leave the output empty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Optional

import polars as pl

from ..errors import ExpressionError, RulebookError, RulebookInvalid
from ..i18n import Text, msg
from ..names import all_of
from ..types import POLARS_TYPES, cast_to
from ..expr.compiler import compile_expression
from .decisions import CompiledRulebook, Constraint, Decision, Expr, Rule

KEY = "customer_id"
TRACE = "_rule."
FIX = "_fix."
WAS = "_was."  # the value an output had before a constraint fixed it
CONFLICT = "_conflict."  # per decision: the ids of the rules in conflict (or a failed constraint's id)
_ID_SEP = "\x1f"  # between rule ids in a conflict column


@dataclass(frozen=True)
class DecisionIssue:
    """A decision that could not be made for one customer (the run goes on): the rules in
    conflict (or the constraint that failed), what happened, and what the rule author can do."""

    customer_id: str
    decision: str  # a decision id, or ``constraint:<id>``
    rule_ids: tuple[str, ...]
    message: str
    suggestion: Optional[str] = None


@dataclass
class EvaluationResult:
    frame: pl.DataFrame
    issues: list[DecisionIssue] = field(default_factory=list)
    unmatched: dict[str, int] = field(default_factory=dict)
    quota_trimmed: dict[str, int] = field(default_factory=dict)
    # customers a quota ranked without its first key (and without any key: by customer id)
    quota_without_key: dict[str, dict[str, int]] = field(default_factory=dict)
    constraint_fixes: dict[str, int] = field(default_factory=dict)
    models: dict[str, dict] = field(default_factory=dict)  # fitted predictive models (set by the pipeline)


def trace_column(decision_id: str) -> str:
    return TRACE + decision_id


def quota_ranks(frame: pl.DataFrame, quota, selected: pl.Expr) -> pl.Expr:
    """Each selected customer's 1-based place under ``quota.rank_by`` (a literal Series; null for
    the others): key by key, a missing value after every present one, customer id last."""
    keys = quota.keys
    numbered = frame.select(pl.int_range(pl.len()).alias("_row"), selected.alias("_selected"), pl.col(KEY),
                            *[pl.col(k).cast(pl.Float64) if frame.schema[k].is_numeric() else pl.col(k)
                              for k in keys])
    chosen = numbered.filter(pl.col("_selected")).sort(
        [*keys, KEY], descending=[quota.descending] * len(keys) + [False], nulls_last=True)
    places = chosen.select("_row").with_row_index("_place", offset=1)
    ranked = numbered.select("_row").join(places, on="_row", how="left").sort("_row")
    return pl.lit(ranked["_place"])


class PolarsEngine:
    """Evaluates a compiled rulebook on a feature table (one row per customer)."""

    name = "polars"

    def __init__(self, rulebook: CompiledRulebook, as_of: dt.date, each_alone: bool = False):
        """``each_alone``: every customer is a portfolio of its own, so a quota never compares two
        of them (rule tests evaluate many one-customer cases in one frame)."""
        self.rulebook, self.as_of, self.each_alone = rulebook, as_of, each_alone
        # an engine evaluating many frames (rule tests) compiles each expression once; the entry
        # keeps its Expr alive, so no other expression can take over its id
        self._compiled: dict[tuple, tuple[Expr, pl.Expr]] = {}
        self._checked: set[tuple] = set()

    def evaluate(self, features: pl.DataFrame) -> EvaluationResult:
        frame = features.sort(KEY)
        result = EvaluationResult(frame)
        for decision in self.rulebook.decisions:
            frame = self._decide(frame, decision, result)
        for constraint in self.rulebook.constraints:
            frame = self._apply_constraint(frame, constraint)
            fixed = frame.get_column(FIX + constraint.id).sum()
            if fixed:
                result.constraint_fixes[constraint.id] = int(fixed)
        result.issues.extend(self._conflicts(frame))
        result.frame = frame.drop([c for c in frame.columns if c.startswith(CONFLICT)])
        return result

    def resolver(self, local: Optional[dict[str, pl.Expr]] = None) -> Callable[[str], pl.Expr]:
        def resolve(name: str) -> pl.Expr:
            if local and name in local:
                return local[name]
            if name == "as_of":
                return pl.lit(self.as_of)
            return pl.col(name)
        return resolve

    def compile(self, expr: Expr, frame: pl.DataFrame, where, rule_id: str,
                local: Optional[dict[str, pl.Expr]] = None) -> pl.Expr:
        """Compile and type-check against the frame's schema (on zero rows: no data cost)."""
        key = (id(expr), tuple(local or ()))
        try:
            known = self._compiled.get(key)
            if known is not None and known[0] is expr:
                compiled = known[1]
            else:
                compiled = compile_expression(expr.node, self.resolver(local), source=expr.text,
                                              field_types=self.rulebook.field_types)
                self._compiled[key] = (expr, compiled)
            checked = (key, tuple(frame.schema.items()))
            if checked not in self._checked:
                frame.head(0).select(compiled)
                self._checked.add(checked)
        except ExpressionError as exc:
            raise RulebookInvalid([RulebookError(exc.message, file=where.file, line=where.line,
                                                 rule_id=rule_id, expression=expr.text)]) from None
        except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
            message = str(exc).strip().splitlines()[0]
            raise RulebookInvalid([RulebookError(msg("engine.cannot_evaluate", reason=message), file=where.file,
                                                 line=where.line, rule_id=rule_id, expression=expr.text,
                                                 suggestion=msg("engine.cannot_evaluate.hint"))]) from None
        return compiled

    def rule_outputs(self, frame: pl.DataFrame, decision: Decision, rule: Rule) -> dict[str, pl.Expr]:
        """The rule's output expressions; a later output may use an earlier one of the same rule."""
        local: dict[str, pl.Expr] = {}
        for name, value in rule.outputs.items():
            compiled = cast_to(self.compile(value, frame, rule.where, rule.id, local), decision.outputs[name])
            local[name] = compiled
        return local

    def conditions(self, frame: pl.DataFrame, decision: Decision) -> list[pl.Expr]:
        """Whether each rule of ``decision`` matches each customer (null counts as no match).

        This is the only part another engine replaces; outputs, hit policies, defaults,
        quotas and constraints below are shared, so their semantics live in one place.
        """
        return [self.compile(r.condition, frame, r.where, r.id).fill_null(False) for r in decision.rules]

    def _decide(self, frame: pl.DataFrame, decision: Decision, result: EvaluationResult) -> pl.DataFrame:
        rules = decision.rules
        conditions = self.conditions(frame, decision)
        outputs = [self.rule_outputs(frame, decision, r) for r in rules]
        defaults = {name: cast_to(self.compile(v, frame, decision.where, decision.id), decision.outputs[name])
                    for name, v in (decision.default or {}).items()}
        cond_cols = [f"_c{i}" for i in range(len(rules))]
        frame = frame.with_columns([c.alias(n) for c, n in zip(conditions, cond_cols)]) if rules else frame
        matched = [pl.col(n) for n in cond_cols]
        count = pl.sum_horizontal([m.cast(pl.Int32) for m in matched]) if matched else pl.lit(0)
        combine = HIT_POLICIES[decision.hit]
        columns = combine(decision, rules, matched, outputs, count)
        frame = frame.with_columns(columns)
        frame = frame.with_columns(self._defaults(decision, defaults, frame.schema)).drop(cond_cols)
        if decision.default is None and decision.hit != "collect_count":  # a count of 0 is its answer
            unmatched = frame.filter(pl.col(trace_column(decision.id)).is_null()
                                     & pl.col(CONFLICT + decision.id).is_null()).height
            if unmatched:
                result.unmatched[decision.id] = unmatched
        if decision.quota is not None:
            frame = self._apply_quota(frame, decision, result)
        return frame

    def _defaults(self, decision: Decision, defaults: dict[str, pl.Expr], schema: pl.Schema) -> list[pl.Expr]:
        if decision.default is None:
            return []
        none = pl.col(trace_column(decision.id)).is_null() & pl.col(CONFLICT + decision.id).is_null()
        columns = [pl.when(none).then(_as_type(defaults.get(name, pl.lit(None)), schema[name]))
                   .otherwise(pl.col(name)).alias(name) for name in decision.outputs]
        columns.append(pl.when(none).then(pl.lit("default")).otherwise(pl.col(trace_column(decision.id)))
                       .alias(trace_column(decision.id)))
        return columns

    def _apply_quota(self, frame: pl.DataFrame, decision: Decision, result: EvaluationResult) -> pl.DataFrame:
        quota = decision.quota
        target = quota.output or next(iter(decision.outputs))
        selected = pl.col(target).fill_null(False)
        place = pl.when(selected).then(1) if self.each_alone else quota_ranks(frame, quota, selected)
        over = selected & (place > quota.max)
        trimmed = frame.select(over.sum()).item()
        if trimmed:
            result.quota_trimmed[decision.id] = trimmed
        first, every = quota.keys[0], quota.keys
        without = frame.select((selected & pl.col(first).is_null()).sum().alias("first"),
                               (selected & pl.all_horizontal([pl.col(k).is_null() for k in every])).sum()
                               .alias("every")).row(0)
        if without[0]:
            result.quota_without_key[decision.id] = {"first_key": int(without[0]), "every_key": int(without[1]),
                                                     "keys": list(every)}
        trace = trace_column(decision.id)
        return frame.with_columns(
            pl.when(over).then(pl.lit(False)).otherwise(pl.col(target)).alias(target),
            pl.when(over).then(pl.concat_str(pl.col(trace), pl.lit("; quota"))).otherwise(pl.col(trace)).alias(trace),
        )

    def _apply_constraint(self, frame: pl.DataFrame, constraint: Constraint) -> pl.DataFrame:
        check = self.compile(constraint.check, frame, constraint.where, constraint.id)
        violated = ~check.fill_null(True)
        owner = self.rulebook.output_owner()
        columns = [violated.alias(FIX + constraint.id)]
        for name, value in constraint.fix.items():
            fixed = cast_to(self.compile(value, frame, constraint.where, constraint.id), owner[name].outputs[name])
            columns.append(pl.when(violated).then(fixed).otherwise(pl.col(name)).alias(name))
            columns.append(pl.when(violated).then(pl.col(name)).otherwise(None).alias(f"{WAS}{constraint.id}.{name}"))
        for decision in {owner[name].id for name in constraint.fix}:
            trace = trace_column(decision)
            columns.append(pl.when(violated).then(pl.concat_str(pl.col(trace), pl.lit(f"; {constraint.id}")))
                           .otherwise(pl.col(trace)).alias(trace))
        if constraint.error:
            columns.append(pl.when(violated).then(pl.lit(constraint.id))
                           .otherwise(None).alias(CONFLICT + "constraint:" + constraint.id))
        return frame.with_columns(columns)

    def _conflicts(self, frame: pl.DataFrame) -> list[DecisionIssue]:
        issues = []
        hits = {d.id: d.hit for d in self.rulebook.decisions}
        titles = {c.id: c.title for c in self.rulebook.constraints}
        for column in (c for c in frame.columns if c.startswith(CONFLICT)):
            decision = column[len(CONFLICT):]
            rows = frame.filter(pl.col(column).is_not_null()).select(KEY, column)
            for customer_id, found in rows.iter_rows():
                if decision.startswith("constraint:"):
                    issues.append(DecisionIssue(str(customer_id), decision, (found,),
                                                msg("engine.constraint_failed", id=found, title=titles[found]),
                                                msg("engine.constraint_failed.hint")))
                else:
                    ids = tuple(found.split(_ID_SEP))
                    message, hint = _conflict(hits[decision], ids)
                    issues.append(DecisionIssue(str(customer_id), decision, ids, message, hint))
        return issues


def _conflict(hit: str, ids: tuple[str, ...]) -> tuple[Text, Text]:
    """What a conflict means under the decision's hit policy, and what to change."""
    rules = all_of(list(ids))
    if hit == "priority":
        return msg("engine.priority_conflict", rules=rules), msg("engine.priority_conflict.hint")
    if hit == "any":
        return msg("engine.any_conflict", rules=rules), msg("engine.any_conflict.hint")
    return msg("engine.unique_conflict", rules=rules), msg("engine.unique_conflict.hint")


def _as_type(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A default in the output's type; for a collect (list) output, a one-element list."""
    if isinstance(dtype, pl.List):
        return pl.when(value.is_null()).then(None).otherwise(pl.concat_list([value.cast(dtype.inner)]))
    return value.cast(dtype)


def _dtype(type_name: str) -> pl.DataType:
    return POLARS_TYPES[type_name]


def _ids_where(rules: list[Rule], matched: list[pl.Expr], separator: str = ", ") -> pl.Expr:
    parts = [pl.when(m).then(pl.lit(r.id)) for r, m in zip(rules, matched)]
    if not parts:
        return pl.lit(None, dtype=pl.String)
    joined = pl.concat_str(parts, separator=separator, ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


def _first(rules: list[Rule], matched: list[pl.Expr], values: list[Optional[pl.Expr]],
           dtype: pl.DataType) -> pl.Expr:
    if not rules:
        return pl.lit(None, dtype=dtype)
    chain = None
    for m, v in zip(matched, values):
        v = pl.lit(None, dtype=dtype) if v is None else v
        chain = pl.when(m).then(v) if chain is None else chain.when(m).then(v)
    return chain.otherwise(pl.lit(None, dtype=dtype))


def _first_id(rules: list[Rule], matched: list[pl.Expr]) -> pl.Expr:
    return _first(rules, matched, [pl.lit(r.id) for r in rules], pl.String)


def _single(decision, rules, matched, outputs, count, ok: pl.Expr, conflict: pl.Expr):
    columns = [pl.when(ok).then(_first(rules, matched, [o.get(n) for o in outputs], _dtype(t)))
               .otherwise(None).alias(n) for n, t in decision.outputs.items()]
    columns.append(pl.when(ok).then(_first_id(rules, matched)).otherwise(None).alias(trace_column(decision.id)))
    columns.append(conflict.alias(CONFLICT + decision.id))
    return columns


def hit_first(decision, rules, matched, outputs, count):
    return _single(decision, rules, matched, outputs, count, count >= 1, pl.lit(None, dtype=pl.String))


def hit_unique(decision, rules, matched, outputs, count):
    conflict = pl.when(count > 1).then(_ids_where(rules, matched, _ID_SEP)).otherwise(None)
    return _single(decision, rules, matched, outputs, count, count == 1, conflict)


def _by_priority(rules, matched, outputs):
    """Rules, conditions and outputs, highest priority first (rule order among equals)."""
    order = sorted(range(len(rules)), key=lambda i: -(rules[i].priority or 0))
    return [rules[i] for i in order], [matched[i] for i in order], [outputs[i] for i in order]


def _disagree(decision, matched, outputs) -> pl.Expr:
    """Whether two of the matched rules give different outputs."""
    parts = []
    for name, type_name in decision.outputs.items():
        values = [o.get(name, pl.lit(None, dtype=_dtype(type_name))) for o in outputs]
        first = _first(matched, matched, values, _dtype(type_name))
        parts += [m & v.ne_missing(first) for m, v in zip(matched, values)]
    return pl.any_horizontal(parts) if parts else pl.lit(False)


def hit_priority(decision, rules, matched, outputs, count):
    """The match of the highest priority; matches tied at the top must agree (DMN: the same outputs)."""
    rules_sorted, matched_sorted, outputs_sorted = _by_priority(rules, matched, outputs)
    tie_ids, tied = None, None
    for level in sorted({r.priority or 0 for r in rules}, reverse=True):
        at = [i for i, r in enumerate(rules) if (r.priority or 0) == level]
        any_at = pl.any_horizontal([matched[i] for i in at])
        bad = _disagree(decision, [matched[i] for i in at], [outputs[i] for i in at])
        ids = _ids_where([rules[i] for i in at], [matched[i] for i in at], _ID_SEP)
        tied = pl.when(any_at).then(bad) if tied is None else tied.when(any_at).then(bad)
        tie_ids = pl.when(any_at).then(ids) if tie_ids is None else tie_ids.when(any_at).then(ids)
    if tied is None:
        return hit_first(decision, rules, matched, outputs, count)
    tied = tied.otherwise(False)
    conflict = pl.when(tied).then(tie_ids.otherwise(None)).otherwise(None)
    return _single(decision, rules_sorted, matched_sorted, outputs_sorted, count, (count >= 1) & ~tied, conflict)


def hit_any(decision, rules, matched, outputs, count):
    bad = _disagree(decision, matched, outputs)
    conflict = pl.when(bad).then(_ids_where(rules, matched, _ID_SEP)).otherwise(None)
    columns = _single(decision, rules, matched, outputs, count, (count >= 1) & ~bad, conflict)
    columns[len(decision.outputs)] = pl.when((count >= 1) & ~bad).then(_ids_where(rules, matched)) \
        .otherwise(None).alias(trace_column(decision.id))
    return columns


def hit_output_order(decision, rules, matched, outputs, count):
    """Every match, highest output priority first (DMN "O")."""
    return _collected(decision, *_by_priority(rules, matched, outputs), count, _aggregate("list"))


def _collected(decision, rules, matched, outputs, count, aggregate):
    columns = []
    for name, type_name in decision.outputs.items():
        values = [pl.when(m).then(o[name]) for m, o in zip(matched, outputs) if name in o]
        columns.append(pl.when(count >= 1).then(aggregate(values, type_name)).otherwise(None).alias(name))
    columns.append(pl.when(count >= 1).then(_ids_where(rules, matched)).otherwise(None).alias(trace_column(decision.id)))
    columns.append(pl.lit(None, dtype=pl.String).alias(CONFLICT + decision.id))
    return columns


def _aggregate(kind: str):
    def aggregate(values: list[pl.Expr], type_name: str) -> pl.Expr:
        if not values:
            return pl.lit(None, dtype=_dtype(type_name))
        if kind == "sum":
            return cast_to(pl.sum_horizontal(values), type_name)
        if kind == "min":
            return pl.min_horizontal(values)
        if kind == "max":
            return pl.max_horizontal(values)
        return pl.concat_list(values).list.drop_nulls()
    return aggregate


def hit_collect_count(decision, rules, matched, outputs, count):
    """How many rules match: 0 when none does (DMN's C#), not empty."""
    columns = [count.cast(pl.Int64).alias(n) for n in decision.outputs]
    columns.append(pl.when(count >= 1).then(_ids_where(rules, matched)).otherwise(None).alias(trace_column(decision.id)))
    columns.append(pl.lit(None, dtype=pl.String).alias(CONFLICT + decision.id))
    return columns


HIT_POLICIES = {
    "first": hit_first,
    "unique": hit_unique,
    "priority": hit_priority,
    "any": hit_any,
    "collect": lambda *a: _collected(*a, _aggregate("list")),
    "rule_order": lambda *a: _collected(*a, _aggregate("list")),
    "output_order": hit_output_order,
    "collect_sum": lambda *a: _collected(*a, _aggregate("sum")),
    "collect_min": lambda *a: _collected(*a, _aggregate("min")),
    "collect_max": lambda *a: _collected(*a, _aggregate("max")),
    "collect_count": hit_collect_count,
}
