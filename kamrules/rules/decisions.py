"""The compiled rulebook: decisions, rules, constraints and derived metrics, engine-neutral.

:mod:`kamrules.rules.rulebook_compiler` builds these from the validated YAML (and Excel tables);
engines (Polars, durable-rules), ``explain``, ``check`` and the renderers read them. Every
condition and output is a parsed :mod:`kamrules.expr.ast` node with its source text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..expr import ast as k
from .model import QuotaSpec
from .rulebook import Located, RulebookSource, RulebookSpec


@dataclass
class Expr:
    """A parsed expression with its source text."""

    node: k.Node
    text: str


@dataclass
class Rule:
    id: str
    condition: Expr
    outputs: dict[str, Expr]
    note: Optional[str]
    priority: Optional[int]
    where: Located
    cells: Optional[list[k.Node]] = None  # table rows: each input cell's unary test (``?`` unbound)


@dataclass
class Decision:
    id: str
    title: str
    hit: str
    outputs: dict[str, str]  # name -> type
    rules: list[Rule]
    default: Optional[dict[str, Expr]]
    quota: Optional[QuotaSpec]
    where: Located
    labels: dict[str, str] = field(default_factory=dict)
    table_inputs: Optional[list[Expr]] = None  # the input expressions of a table-form decision

    def label(self, output: str) -> str:
        if output in self.labels:
            return self.labels[output]
        return self.title if len(self.outputs) == 1 else output

    def literal_values(self, output: str) -> list:
        """The literal values an output can take, in rule order then default (for sorting reports)."""
        values = []
        exprs = [r.outputs.get(output) for r in self.rules] + [(self.default or {}).get(output)]
        for expr in exprs:
            if expr is not None and isinstance(expr.node, k.Literal) and expr.node.value not in values:
                values.append(expr.node.value)
        return values

    def reads(self) -> set[str]:
        """Names read from outside the decision (a rule's own earlier outputs excluded)."""
        found: set[str] = set()
        for rule in self.rules:
            found |= k.names(rule.condition.node)
            for name, value in rule.outputs.items():
                found |= k.names(value.node) - (set(rule.outputs) - {name})
        for value in (self.default or {}).values():
            found |= k.names(value.node)
        if self.quota:
            found.update(self.quota.keys)
        return found


@dataclass
class Constraint:
    id: str
    title: str
    check: Expr
    fix: dict[str, Expr]
    error: bool
    where: Located


@dataclass
class Derived:
    name: str
    expr: Expr
    type: str
    title: str


@dataclass
class CompiledRulebook:
    spec: RulebookSpec
    source: RulebookSource
    decisions: list[Decision]  # in dependency order
    constraints: list[Constraint]
    derived: list[Derived]
    field_types: dict[str, str] = field(default_factory=dict)
    client_fields: frozenset[str] = frozenset()  # what a client document may show (see client_fields())

    @property
    def digest(self) -> str:
        return self.source.digest

    def rule(self, rule_id: str) -> Optional[Rule]:
        for decision in self.decisions:
            for rule in decision.rules:
                if rule.id == rule_id:
                    return rule
        return None

    def output_owner(self) -> dict[str, Decision]:
        return {name: d for d in self.decisions for name in d.outputs}
