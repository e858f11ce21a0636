"""Why a customer got what it got: ``kamrules explain CUSTOMER_ID``.

Works on a finished run (its ``rules/`` snapshot and ``decisions.parquet``), so the answer
is about what that run decided, even if the rules changed since. For every decision: the
rules that matched, each condition with the customer's values written next to the field
names (``累计消费[2000000] >= 1500000``), the rule's note and outputs, how a ``collect``
policy combined them, and what a quota or a constraint changed afterwards. Conditions are
re-evaluated on the values the engine saw (outputs as they were before a constraint fixed
them), so the explanation matches the decision exactly.

The one-line :func:`phrase` wording is shared with the portfolio workbook's 依据 columns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import polars as pl

from ..i18n import choose
from .decisions import CompiledRulebook, Decision
from .engine import FIX, KEY, TRACE, WAS, PolarsEngine, quota_ranks
from ..expr.unparse import unparse, value_text

WORDS = {
    "zh": {"customer": "客户", "as_of": "截至", "run": "运行", "hit": "命中策略", "no_match": "未命中任何规则",
           "default": "采用默认值", "empty": "结果为空", "conflict": "冲突，结果为空", "total": "合计",
           "quota": "超出名额：按 {rank_by} 排名第 {rank}，上限 {max} → {output} = false",
           "fix": "约束 {id}（{title}）不满足：{check} → {output} 由 {before} 调整为 {after}",
           "default_phrase": "默认值（未命中任何规则）", "quota_phrase": "超出名额上限",
           "noted": "{id}（{note}）", "separator": "；"},
    "en": {"customer": "customer", "as_of": "as of", "run": "run", "hit": "hit policy", "no_match": "no rule matched",
           "default": "default used", "empty": "left empty", "conflict": "conflict, left empty", "total": "total",
           "quota": "over the quota: ranked {rank} by {rank_by}, limit {max} → {output} = false",
           "fix": "constraint {id} ({title}) failed: {check} → {output} changed from {before} to {after}",
           "default_phrase": "default (no rule matched)", "quota_phrase": "over the quota",
           "noted": "{id} ({note})", "separator": "; "},
}


def language(rulebook: CompiledRulebook, lang: Optional[str]) -> str:
    return choose(lang, rulebook.spec.locale)


def split_trace(trace: Optional[str]) -> list[str]:
    if not trace:
        return []
    return [part.strip() for part in trace.replace(";", ",").split(",") if part.strip()]


def phrase_map(rulebook: CompiledRulebook, lang: str) -> dict[str, str]:
    """Rule id (and ``default``, ``quota``, constraint id) → ``id（note）`` wording (``id (note)`` in English)."""
    words = WORDS[lang]
    mapping = {"default": words["default_phrase"], "quota": words["quota_phrase"]}
    for decision in rulebook.decisions:
        for rule in decision.rules:
            mapping[rule.id] = words["noted"].format(id=rule.id, note=rule.note) if rule.note else rule.id
    for constraint in rulebook.constraints:
        mapping[constraint.id] = words["noted"].format(id=constraint.id, note=constraint.title)
    return mapping


def phrase(trace: Optional[str], mapping: dict[str, str], separator: str = "；") -> Optional[str]:
    """One trace (``D-A, D-loyal; margin-floor``) in words, joined with ``separator``."""
    ids = split_trace(trace)
    return separator.join(mapping.get(i, i) for i in ids) if ids else None


def phrase_expr(column: str, mapping: dict[str, str], separator: str = "；") -> pl.Expr:
    """:func:`phrase` as a vectorised expression, for the portfolio workbook."""
    return (pl.col(column).str.replace_all(";", ",").str.split(",")
            .list.eval(pl.element().str.strip_chars().replace(mapping))
            .list.join(separator))


@dataclass
class RuleMatch:
    rule: str
    condition: str
    note: Optional[str]
    outputs: dict[str, Any]


@dataclass
class DecisionExplanation:
    id: str
    title: str
    hit: str
    outputs: dict[str, Any]
    summary: Optional[str]
    matched: list[RuleMatch] = field(default_factory=list)
    result: str = "rules"  # rules | default | empty | conflict
    quota: Optional[dict[str, Any]] = None
    fixes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Explanation:
    customer_id: str
    name: Optional[str]
    run: Optional[str]
    as_of: str
    lang: str
    decisions: list[DecisionExplanation]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Explainer:
    def __init__(self, rulebook: CompiledRulebook, frame: pl.DataFrame, as_of: dt.date, lang: str = "zh"):
        self.rulebook, self.frame, self.as_of, self.lang = rulebook, frame, as_of, lang
        self.engine = PolarsEngine(rulebook, as_of)
        self.mapping = phrase_map(rulebook, lang)

    def explain(self, customer_id: str, run: Optional[str] = None) -> Explanation:
        row = self.frame.filter(pl.col(KEY) == customer_id)
        final = row.row(0, named=True)
        seen = self._as_seen(row)
        values = seen.row(0, named=True)
        decisions = [self._decision(d, seen, values, final) for d in self.rulebook.decisions]
        self._add_fixes(decisions, final, values)
        return Explanation(customer_id, values.get("name"), run, self.as_of.isoformat(), self.lang, decisions)

    def _as_seen(self, row: pl.DataFrame) -> pl.DataFrame:
        """The row as the rules saw it: outputs fixed by a constraint get their earlier value back."""
        restore = {}
        for constraint in self.rulebook.constraints:
            for name in constraint.fix:
                column = f"{WAS}{constraint.id}.{name}"
                if column in row.columns and row[column][0] is not None:
                    restore[name] = pl.col(column)
        return row.with_columns([expr.alias(name) for name, expr in restore.items()])

    def _decision(self, decision: Decision, seen: pl.DataFrame, values: dict[str, Any],
                  final: dict[str, Any]) -> DecisionExplanation:
        trace = final.get(TRACE + decision.id)
        ids = split_trace(trace)
        outputs = {name: final.get(name) for name in decision.outputs}
        explanation = DecisionExplanation(decision.id, decision.title, decision.hit, outputs,
                                          phrase(trace, self.mapping, WORDS[self.lang]["separator"]))
        for rule in self._candidates(decision, ids):
            condition = self.engine.compile(rule.condition, seen, rule.where, rule.id)
            if seen.select(condition.fill_null(False)).item():
                exprs = self.engine.rule_outputs(seen, decision, rule)
                outputs = {name: seen.select(expr).item() for name, expr in exprs.items()}
                explanation.matched.append(RuleMatch(rule.id, unparse(rule.condition.node, values), rule.note, outputs))
        if not ids:
            explanation.result = "conflict" if len(explanation.matched) > 1 else "empty"
        elif ids[0] == "default":
            explanation.result = "default"
        if "quota" in ids:
            explanation.quota = self._quota(decision, values)
        return explanation

    @staticmethod
    def _candidates(decision: Decision, ids: list[str]):
        """The rules that decided (from the trace); every rule when nothing was decided (conflicts)."""
        deciding = [r for r in decision.rules if r.id in ids]
        return deciding if ids else decision.rules

    def _quota(self, decision: Decision, values: dict[str, Any]) -> dict[str, Any]:
        quota = decision.quota
        target = quota.output or next(iter(decision.outputs))
        trace = pl.col(TRACE + decision.id)
        frame = self.frame.sort(KEY)
        selected = pl.col(target).fill_null(False) | trace.str.ends_with("; quota").fill_null(False)
        ranked = frame.select(KEY, quota_ranks(frame, quota, selected).alias("_rank"))
        rank = ranked.filter(pl.col(KEY) == values[KEY])["_rank"].item()
        return {"output": target, "rank_by": ", ".join(quota.keys), "rank": int(rank), "max": quota.max}

    def _add_fixes(self, decisions: list[DecisionExplanation], final: dict[str, Any], seen: dict[str, Any]) -> None:
        by_output = {name: d for d in decisions for name in d.outputs}
        for constraint in self.rulebook.constraints:
            if not final.get(FIX + constraint.id):
                continue
            for name in constraint.fix:
                by_output[name].fixes.append({
                    "constraint": constraint.id, "title": constraint.title,
                    "check": unparse(constraint.check.node, seen), "output": name,
                    "before": seen.get(name), "after": final.get(name)})


def render_text(explanation: Explanation) -> str:
    words = WORDS[explanation.lang]
    lines = [f"{words['customer']} {explanation.customer_id} {explanation.name or ''}".rstrip()
             + f" · {words['as_of']} {explanation.as_of}"
             + (f" · {words['run']} {explanation.run}" if explanation.run else "")]
    for decision in explanation.decisions:
        outputs = ", ".join(f"{name} = {_show(value)}" for name, value in decision.outputs.items())
        lines.append(f"{decision.title} ({decision.id}, {words['hit']} {decision.hit}) → {outputs}")
        for match in decision.matched:
            given = ", ".join(f"{k} = {_show(v)}" for k, v in match.outputs.items())
            note = f" — {match.note}" if match.note else ""
            lines.append(f"  ✓ {match.rule}: {match.condition} → {given}{note}")
        if decision.hit.startswith("collect_") and len(decision.matched) > 1:
            for name in decision.outputs:
                parts = [_show(m.outputs.get(name)) for m in decision.matched]
                lines.append(f"  {words['total']}: {' + '.join(parts) if decision.hit == 'collect_sum' else ', '.join(parts)}"
                             f" → {name} = {_show(decision.outputs[name])}")
        if decision.result in ("default", "empty", "conflict"):
            reason = words["no_match"] if decision.result != "conflict" else words["conflict"]
            tail = words["default"] if decision.result == "default" else words["empty"]
            lines.append(f"  · {reason}" + ("" if decision.result == "conflict" else f"，{tail}" if explanation.lang == "zh"
                                            else f", {tail}"))
        if decision.quota:
            lines.append("  ✗ " + words["quota"].format(**decision.quota))
        for fix in decision.fixes:
            lines.append("  ✗ " + words["fix"].format(id=fix["constraint"], title=fix["title"], check=fix["check"],
                                                      output=fix["output"], before=_show(fix["before"]),
                                                      after=_show(fix["after"])))
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str):
        return value
    return value_text(value)
