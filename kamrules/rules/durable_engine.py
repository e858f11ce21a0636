"""A second engine on durable-rules (``kamrules run --engine durable``).

Which parts run where:

- **durable-rules** decides which rules fire for each customer: every rule's condition is
  compiled to a durable-rules ruleset (Python DSL); comparisons of a field with a constant
  and ``and``/``or`` between them are matched by its Rete engine.
- **Polars, before durable-rules**: whatever durable-rules cannot express — function calls,
  ``in`` lists, null tests, ``not``, arithmetic, comparisons between two fields, ``if/else``,
  chained comparisons — is computed per customer and handed over as an extra fact field
  (``pN``, a true/false value the ruleset tests with ``== True``). Dates travel as day
  numbers, so they compare like numbers.
- **kamrules, after durable-rules**: outputs, hit policies, defaults, quotas and constraints
  are applied to the fired-rule sets by the code the Polars engine uses
  (:class:`PolarsEngine` with only :meth:`conditions` replaced), so semantics live in one place.

Measured facts this is built around (durable-rules 2.0.28): ``assert_fact`` fires every
matching rule (``post`` would let one rule consume the message); a fact no rule matches
raises ``MessageNotHandledException``; an identical fact asserted twice in one state raises
``MessageObservedException``; an exception inside an action is swallowed; ``delete_state``
of a state whose fact no rule handled segfaults; some 20,000 distinct states raise
MemoryError; a rule comparing a field with itself loops forever. Hence: every fact carries
a unique key and goes into one shared state, and is retracted right after its rules fired,
so the state stays empty and a long-running ``watch`` does not grow (measured flat over
60,000 facts); actions record their own errors, which are raised after the decision; a
field that is null is left out of the fact, and durable-rules does not match a comparison
on a missing field — the same as kamrules' null semantics.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..errors import KamrulesError
from ..i18n import msg
from ..expr import ast as k
from .decisions import Decision
from .engine import PolarsEngine

EPOCH = dt.date(1970, 1, 1)
ALWAYS = "kamrules_always"  # a fact field that is always true, for rules without a condition
FACT_KEY = "kamrules_fact"  # which customer (and which evaluation) a fact stands for
SID = "kamrules"  # one state, emptied fact by fact: 20,000 separate states exhaust the C engine
NATIVE_OPS = {"<", "<=", "==", "!=", ">", ">="}
FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}

_RULESETS: dict[tuple, "_Ruleset"] = {}
_COUNTER = itertools.count()


class DurableUnavailable(KamrulesError):
    """The durable-rules extra is not installed (or does not import on this Python)."""


def load_durable():
    try:
        from durable import lang
        from durable.engine import MessageNotHandledException
    except Exception as exc:  # ImportError, or the extension's undefined symbol on Python 3.13
        raise DurableUnavailable(msg("durable.unavailable", reason=f"{type(exc).__name__}: {exc}"),
                                 suggestion=msg("durable.unavailable.hint")) from None
    return lang, MessageNotHandledException


@dataclass
class _Translation:
    """One condition as a durable-rules expression builder plus the fields it needs."""

    build: Any  # callable(m) -> durable expression, or None when the condition is always true
    fields: dict[str, k.Node] = field(default_factory=dict)  # fact key -> node computed by Polars


class _Translator:
    """AST → durable-rules DSL; what it cannot express becomes a precomputed true/false field."""

    def __init__(self, field_types: dict[str, str]):
        self.field_types = field_types
        self.fields: dict[str, k.Node] = {}
        self.keys: dict[Any, str] = {}

    def key_for(self, node: k.Node) -> str:
        key = self.keys.get(node)
        if key is None:
            key = self.keys[node] = f"p{len(self.keys)}"
            self.fields[key] = node
        return key

    def translate(self, node: k.Node):
        if isinstance(node, k.Literal) and node.value is True:
            return None
        if isinstance(node, k.BoolOp):
            parts = [self.translate(v) for v in node.values]
            if node.op == "and" and all(p is None for p in parts):
                return None
            if node.op == "or" and any(p is None for p in parts):
                return None
            parts = [p for p in parts if p is not None] if node.op == "and" else parts
            return lambda m: _combine([p(m) for p in parts], node.op)
        native = self._native_comparison(node)
        if native is not None:
            return native
        key = self.key_for(node)
        return lambda m: getattr(m, key) == True  # noqa: E712 - durable-rules DSL, not a Python comparison

    def _native_comparison(self, node: k.Node):
        if not (isinstance(node, k.Compare) and len(node.ops) == 1 and node.ops[0] in NATIVE_OPS):
            return None
        left, op, right = node.left, node.ops[0], node.comparators[0]
        if isinstance(left, k.Literal) and isinstance(right, k.Name):
            left, right, op = right, left, FLIP[op]
        if not (isinstance(left, k.Name) and isinstance(right, k.Literal)) or right.value is None:
            return None
        value = fact_value(right.value)
        key = self.key_for(left)
        return lambda m: _compare(getattr(m, key), op, value)


def _combine(parts: list, op: str):
    result = parts[0]
    for part in parts[1:]:
        result = (result & part) if op == "and" else (result | part)
    return result


def _compare(attribute, op: str, value):
    return {"<": attribute < value, "<=": attribute <= value, "==": attribute == value,
            "!=": attribute != value, ">": attribute > value, ">=": attribute >= value}[op]


def fact_value(value: Any) -> Any:
    """Dates as day numbers; floats rounded to 9 places, as kamrules compares numbers as decimals."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return (value - EPOCH).days
    if isinstance(value, float):
        return round(value, 9)
    return value


@dataclass
class _Ruleset:
    name: str
    rule_ids: list[str]
    fields: dict[str, k.Node]  # fact key -> node (a field name, or a node to precompute)
    fired: dict[str, set[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _ruleset_for(decision: Decision, field_types: dict[str, str], digest: str) -> _Ruleset:
    """Compiled once per (rulebook, decision) and reused: durable-rules keeps rulesets for the process."""
    cache_key = (digest, decision.id)
    if cache_key in _RULESETS:
        return _RULESETS[cache_key]
    lang, _ = load_durable()
    translator = _Translator(field_types)
    builds = [translator.translate(rule.condition.node) for rule in decision.rules]
    state = _Ruleset(f"kamrules_{next(_COUNTER)}", [r.id for r in decision.rules], translator.fields)
    with lang.ruleset(state.name):
        for rule_id, build in zip(state.rule_ids, builds):
            # (comparing a field with itself, m.sid == m.sid, loops forever inside durable-rules)
            condition = build(lang.m) if build is not None else (getattr(lang.m, ALWAYS) == True)  # noqa: E712
            lang.when_all(condition)(_action(state, rule_id))
    _RULESETS[cache_key] = state
    return state


def _action(state: _Ruleset, rule_id: str):
    def action(c):
        try:
            state.fired.setdefault(getattr(c.m, FACT_KEY), set()).add(rule_id)
        except Exception as exc:  # durable-rules would swallow it; keep it to raise afterwards
            state.errors.append(f"{rule_id}: {exc}")
    return action


class DurableEngine(PolarsEngine):
    """The Polars engine with rule matching done by durable-rules, fact by fact."""

    name = "durable"

    def __init__(self, rulebook, as_of):
        super().__init__(rulebook, as_of)
        load_durable()

    def conditions(self, frame: pl.DataFrame, decision: Decision) -> list[pl.Expr]:
        if not decision.rules:
            return []
        lang, not_handled = load_durable()
        state = _ruleset_for(decision, self.rulebook.field_types, self.rulebook.digest)
        facts = self._facts(frame, decision, state)
        run = next(_COUNTER)
        state.fired.clear()
        keys = []
        for index, fact in enumerate(facts):
            key = f"{run}-{index}"
            keys.append(key)
            fact = {**fact, "sid": SID, FACT_KEY: key, ALWAYS: True}
            for send in (lang.assert_fact, lang.retract_fact):
                try:
                    send(state.name, fact)
                except not_handled:  # no rule matched (assert), or nothing to retract
                    pass
        if state.errors:
            errors, state.errors = state.errors, []
            raise KamrulesError(msg("durable.action_failed", decision=decision.id, errors="; ".join(errors)))
        fired = [state.fired.get(key, set()) for key in keys]
        state.fired.clear()
        return [pl.lit(pl.Series([rule_id in f for f in fired], dtype=pl.Boolean)) for rule_id in state.rule_ids]

    def _facts(self, frame: pl.DataFrame, decision: Decision, state: _Ruleset) -> list[dict[str, Any]]:
        """One fact per customer: the fields the ruleset tests, null ones left out."""
        columns = []
        for key, node in state.fields.items():
            if isinstance(node, k.Name):
                columns.append(self.resolver()(node.name).alias(key))
            else:
                rule = next(r for r in decision.rules if node in set(k.walk(r.condition.node)))
                expr = self.compile(type(rule.condition)(node, rule.condition.text), frame, rule.where, rule.id)
                columns.append(expr.fill_null(False).alias(key))
        if not columns:  # every condition is "true": one empty fact per customer still
            return [{} for _ in range(frame.height)]
        anchor = pl.int_range(pl.len()).alias("_n")  # constant conditions (``not true``) still give one row each
        rows = frame.select(anchor, *columns).drop("_n")
        return [{key: fact_value(value) for key, value in row.items() if value is not None}
                for row in rows.iter_rows(named=True)]
