"""Compile the validated rulebook into engine-neutral decisions (:mod:`kamrules.rules.decisions`).

Every condition and output is parsed into :mod:`kamrules.expr.ast` nodes; names are
checked against the fields that will exist (customer columns, catalog metrics, derived
metrics, other decisions' outputs, ``as_of``); decisions are put in dependency order and
cycles are rejected by name. Engines (Polars today) consume :class:`CompiledRulebook`.

Output values: for a ``text`` output a string is literal text (``tier: A``) unless it
starts with ``=`` (``label: "= tier + '级'"``); for every other type a string is an
expression (``credit_limit: "round(x * 2, -3)"``, a leading ``=`` allowed). Numbers and
booleans are literals.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import re
from pathlib import Path
from typing import Any, Optional

from ..errors import ExpressionError, RulebookError
from ..expr import ast as k
from ..expr.parser import parse
from ..expr.typecheck import check_condition, check_value
from ..expr.unary import parse_unary
from ..expr.unparse import literal_text
from ..i18n import Text, msg
from ..ledger.derive import ledger_problems
from ..metrics import REQUIRED_COLUMNS, aggregate_types
from ..metrics.config import DATE_COLUMNS
from ..metrics.catalog import CATALOG
from ..names import did_you_mean
from .decisions import CompiledRulebook, Constraint, Decision, Derived, Expr, Rule
from .model import ConstraintSpec, DecisionSpec
from .rulebook import (ErrorSink, Located, RulebookSource, RulebookSpec, expression_error,
                       read_sources, validate_spec)
from .tables import rules_from_table

BUILTIN_NAMES = {"as_of": "date"}
_PERCENT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*%\s*$")
_VALUE_HINTS = {
    "percent": msg("decisions.hint.percent"), "money": msg("decisions.hint.money"),
    "number": msg("decisions.hint.number"), "integer": msg("decisions.hint.integer"),
    "bool": msg("decisions.hint.bool"), "date": msg("decisions.hint.date"),
}


def load_rulebook(project: Path) -> CompiledRulebook:
    """Read, validate and compile ``project/rules``; raises RulebookInvalid with every error."""
    source = read_sources(project)
    spec = validate_spec(source)
    return RulebookCompiler(spec, source).compile()


class RulebookCompiler:
    def __init__(self, spec: RulebookSpec, source: RulebookSource):
        self.spec, self.source, self.sink = spec, source, ErrorSink()

    def at(self, *loc) -> Located:
        return Located.at(self.source.raw, loc)

    def below(self, where: Located, *keys) -> Located:
        """A key inside a YAML rule; an Excel cell has nothing below it."""
        return self.at(*where.loc, *keys) if where.loc else where

    def error(self, message: Text, where: Located, rule_id: str | None = None, **extra) -> None:
        self.sink.add(RulebookError(message, file=where.file, line=where.line, rule_id=rule_id, loc=where.loc,
                                    sheet=where.sheet, cell=where.cell, column=where.column, **extra))

    def parse(self, text: Any, where: Located, rule_id: str | None, *, cell: bool = False) -> Optional[Expr]:
        """An expression; with ``cell``, a table cell's unary test against its input column,
        whatever scalar YAML or Excel made of it (``true`` tests ``? == true``; it is not "any")."""
        if not cell and (isinstance(text, bool) or isinstance(text, (int, float))):
            return Expr(k.Literal(text), literal_text(text))
        try:
            node = parse_unary(text) if cell else parse(str(text))
        except ExpressionError as exc:
            self.sink.add(expression_error(exc, where, rule_id))
            return None
        return Expr(node, literal_text(text) if isinstance(text, (bool, int, float)) else str(text))

    def output_value(self, value: Any, type_name: str, where: Located, rule_id: str) -> Optional[Expr]:
        if value is None or isinstance(value, bool) or (isinstance(value, (int, float))):
            if type_name == "text" and value is not None and not isinstance(value, bool):
                return Expr(k.Literal(str(value)), str(value))
            return Expr(k.Literal(value), str(value))
        if isinstance(value, dt.date):
            return Expr(k.Literal(value), value.isoformat())
        text = str(value)
        if type_name == "text":
            if text.startswith("="):
                return self.parse(text[1:], where, rule_id)
            return Expr(k.Literal(text), text)
        if type_name == "date":
            try:
                return Expr(k.Literal(dt.date.fromisoformat(text)), text)
            except ValueError:
                pass
        percent = _PERCENT.match(text)
        if type_name == "percent" and percent:
            return Expr(k.Literal(round(float(percent.group(1)) / 100, 10)), text)
        return self.parse(text[1:] if text.startswith("=") else text, where, rule_id)

    def check_ledger(self) -> None:
        """Computed columns, filters and derivations in ledger.yaml, checked like rule expressions."""
        datasets = self.spec.datasets
        for name, dataset in datasets.items():
            types = {c: ("text" if col.type == "enum" else col.type) for c, col in dataset.columns.items()}
            for column, spec in dataset.columns.items():
                if spec.expr is None:
                    continue
                where = self.at("datasets", name, "columns", column)
                expr = self.parse(spec.expr, where, f"{name}.{column}")
                if expr is not None:
                    self.check_expr_names(expr, types, where, f"{name}.{column}")
                    self.type_error(check_value(expr.node, types, column, types[column]), expr, where,
                                    f"{name}.{column}")
            if dataset.where:
                where = self.at("datasets", name, "where")
                expr = self.parse(dataset.where, where, name)
                if expr is not None:
                    self.check_expr_names(expr, types, where, name)
                    self.type_error(check_condition(expr.node, types), expr, where, name)
            for keys, message, suggestion in ledger_problems(dataset, datasets):
                self.error(message, self.at("datasets", name, *keys), name, suggestion=suggestion)
            if dataset.derive is not None:
                source = datasets.get(dataset.derive.from_)
                where = self.at("datasets", name, "derive")
                if source is None:
                    self.error(msg("decisions.derive_from", dataset=dataset.derive.from_), where, name,
                               suggestion=did_you_mean(dataset.derive.from_, datasets))
                elif dataset.derive.name and dataset.derive.name not in source.columns:
                    self.error(msg("decisions.derive_name", dataset=dataset.derive.from_,
                                   column=dataset.derive.name), where,
                               name, suggestion=did_you_mean(dataset.derive.name, source.columns))

    def check_metric_sources(self) -> None:
        """What the metrics read must be mapped in ledger.yaml: the catalog's columns of each
        dataset, and every aggregate's dataset, column, date column and ``where`` names — found
        here, at their YAML line, rather than by the run."""
        datasets = self.spec.datasets
        for name, required in REQUIRED_COLUMNS.items():
            dataset = datasets.get(name)
            if dataset is None or name == "customers":
                continue
            for column in required:
                if column not in dataset.columns:
                    self.error(msg("decisions.catalog_column", dataset=name, column=column),
                               self.at("datasets", name, "columns"), f"{name}.{column}",
                               suggestion=did_you_mean(column, dataset.columns) or msg("metrics.map_it", dataset=name))
        for metric, agg in self.spec.metrics.aggregates.items():
            where = self.at("metrics", "aggregates", metric)
            dataset = datasets.get(agg.dataset)
            if dataset is None:
                if agg.dataset not in DATE_COLUMNS:
                    self.error(msg("aggregates.problem", name=metric, problem=msg("aggregates.no_dataset",
                                                                                  dataset=agg.dataset)),
                               where, metric, suggestion=did_you_mean(agg.dataset, datasets))
                continue
            columns = set(dataset.columns) | {"customer_id"}
            wanted = [agg.column] + ([agg.date_column] if agg.date_column and
                                     (agg.parsed_window.unit != "all" or agg.date) else [])
            for column in wanted:
                if column not in columns:
                    self.error(msg("aggregates.problem", name=metric, problem=msg(
                        "aggregates.no_column", dataset=agg.dataset, column=column)), where, metric,
                        suggestion=did_you_mean(column, columns) or msg("metrics.map_it", dataset=agg.dataset))
            if agg.where:
                expr = self.parse(agg.where, self.at("metrics", "aggregates", metric, "where"), metric)
                if expr is not None:
                    types = {c: ("text" if col.type == "enum" else col.type) for c, col in dataset.columns.items()}
                    self.check_expr_names(expr, types | {"as_of": "date", "customer_id": "text"},
                                          self.at("metrics", "aggregates", metric, "where"), metric)

    def compile(self) -> CompiledRulebook:
        self.check_ledger()
        self.check_metric_sources()
        field_types = self.base_fields()
        derived = self.compile_derived(field_types)
        decisions = [self.compile_decision(did, spec) for did, spec in self.spec.decisions.items()]
        self.check_outputs(decisions, field_types)
        constraints = [self.compile_constraint(i, c) for i, c in enumerate(self.spec.constraints)]
        for decision in decisions:
            field_types.update(decision.outputs)
        self.check_names(decisions, constraints, field_types)
        self.check_types(decisions, constraints, derived, field_types)
        ordered = self.order(decisions)
        self.check_documents(field_types)
        visible = self.client_fields(field_types)
        self.sink.raise_if_any()
        return CompiledRulebook(self.spec, self.source, ordered, constraints, derived, field_types, visible)

    def client_fields(self, fields: dict[str, str]) -> frozenset[str]:
        """The fields a client document may show: the customer's id and name, the customers columns
        marked ``client: true``, the metrics listed in ``metrics.client`` and the outputs of the
        decisions marked ``client`` (all of them for ``client: true``, or those listed). Everything
        else (other metrics, rule bases, risks, targets) is internal. A name that is not a field
        is an error at its line."""
        visible = {"customer_id", "name"}
        customers = self.spec.datasets.get("customers")
        if customers is not None:
            visible |= {name for name, column in customers.columns.items() if column.client}
        for index, name in enumerate(self.spec.metrics.client):
            if name not in fields:
                self.error(msg("documents.client_unknown", name=name), self.at("metrics", "client", index), None,
                           suggestion=did_you_mean(name, fields))
            visible.add(name)
        for decision_id, spec in self.spec.decisions.items():
            if spec.client is True:
                visible |= set(spec.outputs)
            elif spec.client:
                for index, name in enumerate(spec.client):
                    if name not in spec.outputs:
                        self.error(msg("documents.client_not_output", name=name, decision=decision_id),
                                   self.at("decisions", decision_id, "client", index), decision_id,
                                   suggestion=did_you_mean(name, spec.outputs))
                    visible.add(name)
        return frozenset(visible)

    def base_fields(self) -> dict[str, str]:
        fields = dict(BUILTIN_NAMES)
        customers = self.spec.datasets.get("customers")
        if customers is not None:
            for name, column in customers.columns.items():
                fields[name] = "text" if column.type == "enum" else column.type
                if name in CATALOG:
                    self.error(msg("decisions.column_is_metric", name=name),
                               self.at("datasets", "customers", "columns", name), f"customers.{name}",
                               suggestion=msg("decisions.column_is_metric.hint"))
        fields.update({name: info.type for name, info in CATALOG.items()})
        for name, type_name in aggregate_types(self.spec.metrics).items():
            if name in fields:
                self.error(msg("decisions.aggregate_clash", name=name),
                           self.at("metrics", "aggregates", name), name, suggestion=msg("decisions.another_name"))
            fields[name] = type_name
        return fields

    def compile_derived(self, fields: dict[str, str]) -> list[Derived]:
        result = []
        for name, spec in self.spec.metrics.derived.items():
            where = self.at("metrics", "derived", name)
            expr = self.parse(spec.expr, where, name)
            if expr is not None:
                self.check_expr_names(expr, fields, where, name)
                result.append(Derived(name, expr, spec.type, spec.title or name))
            if name in fields:
                self.error(msg("decisions.derived_clash", name=name), where, name)
            fields[name] = spec.type
        return result

    def compile_decision(self, decision_id: str, spec: DecisionSpec) -> Decision:
        where = self.at("decisions", decision_id)
        table_inputs: Optional[list[Expr]] = None
        if spec.rules is not None:
            rules = self.rules_from_list(decision_id, spec)
        else:
            table_inputs, rules = rules_from_table(self, decision_id, spec)
        default = None
        if spec.default is not None:
            default = {}
            for name, value in spec.default.items():
                here = self.at("decisions", decision_id, "default", name)
                if name not in spec.outputs:
                    self.unknown_output(name, spec, here, decision_id)
                    continue
                expr = self.output_value(value, spec.outputs[name], here, decision_id)
                if expr is not None:
                    default[name] = expr
        if spec.quota is not None:
            self.check_quota(decision_id, spec)
        self.check_values(decision_id, spec, rules)
        if spec.hit in ("priority", "output_order"):
            self.assign_priorities(decision_id, spec, rules)
        for name in spec.labels:
            if name not in spec.outputs:
                self.unknown_output(name, spec, self.at("decisions", decision_id, "labels", name), decision_id)
        return Decision(decision_id, spec.title or decision_id, spec.hit, dict(spec.outputs), rules,
                        default, spec.quota, where, dict(spec.labels), table_inputs)

    def allowed_values(self, decision_id: str, spec: DecisionSpec) -> dict[str, list]:
        """``values:`` of each output, typed like the output (``8%`` is 0.08)."""
        allowed = {}
        for name, values in spec.values.items():
            here = self.at("decisions", decision_id, "values", name)
            if name not in spec.outputs:
                self.unknown_output(name, spec, here, decision_id)
                continue
            typed = [self.output_value(v, spec.outputs[name], here, decision_id) for v in values]
            allowed[name] = [e.node.value for e in typed if e is not None and isinstance(e.node, k.Literal)]
        return allowed

    def check_values(self, decision_id: str, spec: DecisionSpec, rules: list[Rule]) -> None:
        """Every literal output is one of its ``values:`` (DMN's output values), when they are given."""
        allowed = self.allowed_values(decision_id, spec)
        defaults = [(name, value, self.at("decisions", decision_id, "default", name), decision_id)
                    for name, value in (spec.default or {}).items()]
        typed = {name: self.output_value(value, spec.outputs[name], where, rule_id)
                 for name, value, where, rule_id in defaults if name in spec.outputs}
        entries = [(name, expr, self.below(rule.where, "then", name), rule.id)
                   for rule in rules for name, expr in rule.outputs.items()]
        entries += [(name, typed[name], where, rule_id) for name, _, where, rule_id in defaults if typed.get(name)]
        for name, expr, where, rule_id in entries:
            if name in allowed and isinstance(expr.node, k.Literal) and expr.node.value is not None \
                    and expr.node.value not in allowed[name]:
                self.error(msg("decisions.not_allowed", value=literal_text(expr.node.value), output=name,
                               values=", ".join(literal_text(v) for v in allowed[name])), where, rule_id,
                           suggestion=msg("decisions.not_allowed.hint", output=name))

    def assign_priorities(self, decision_id: str, spec: DecisionSpec, rules: list[Rule]) -> None:
        """A rule's priority is its ``priority:`` when every rule has one; otherwise (DMN) the rank of
        its outputs in ``values:``, first output first: the earlier a value is listed, the higher."""
        if all(rule.priority is not None for rule in rules):
            return
        allowed = {name: values for name, values in self.allowed_values(decision_id, spec).items() if values}
        numbered = [rule for rule in rules if rule.priority is not None]
        if numbered and allowed:  # half the rules by number, half by values: one of them would be ignored
            self.error(msg("decisions.priority_mixed"), numbered[0].where, numbered[0].id,
                       suggestion=msg("decisions.priority_mixed.hint"))
            return
        if not allowed:
            for rule in rules:
                if rule.priority is None:
                    self.error(msg("decisions.priority_missing", hit=spec.hit), rule.where, rule.id,
                               suggestion=msg("decisions.priority_missing.hint"))
            return
        ranks: dict[str, tuple] = {}
        for rule in rules:
            rank = []
            for name, values in allowed.items():
                expr = rule.outputs.get(name)
                if expr is None or not isinstance(expr.node, k.Literal):
                    self.error(msg("decisions.priority_not_literal", output=name), rule.where, rule.id,
                               suggestion=msg("decisions.priority_not_literal.hint", output=name))
                    return
                if expr.node.value not in values:
                    return  # check_values said so

                rank.append(values.index(expr.node.value))
            ranks[rule.id] = tuple(rank)
        levels = sorted(set(ranks.values()))
        for rule in rules:
            rule.priority = len(levels) - levels.index(ranks[rule.id])

    def unknown_output(self, name: str, spec: DecisionSpec, where: Located, rule_id: str) -> None:
        if any(ch in str(name) for ch in ")]'\""):
            hint = msg("decisions.not_output.comma")
        else:
            hint = did_you_mean(name, spec.outputs) or msg("decisions.not_output.declare",
                                                           outputs=", ".join(spec.outputs))
        self.error(msg("decisions.not_output", name=name), where, rule_id, suggestion=hint)

    def check_quota(self, decision_id: str, spec: DecisionSpec) -> None:
        quota = spec.quota
        target = quota.output or next(iter(spec.outputs))
        if target not in spec.outputs or spec.outputs[target] != "bool":
            self.error(msg("decisions.quota_not_bool", target=target),
                       self.at("decisions", decision_id, "quota"), decision_id,
                       suggestion=msg("decisions.quota_not_bool.hint"))

    def rules_from_list(self, decision_id: str, spec: DecisionSpec) -> list[Rule]:
        rules, seen = [], {}
        for index, rule_spec in enumerate(spec.rules):
            where = self.at("decisions", decision_id, "rules", index)
            if rule_spec.id in seen:
                self.error(msg("decisions.rule_twice", id=rule_spec.id, line=seen[rule_spec.id]),
                           where, rule_spec.id)
            seen[rule_spec.id] = where.line
            condition = self.parse(rule_spec.when, self.at("decisions", decision_id, "rules", index, "when"), rule_spec.id)
            outputs = {}
            for name, value in rule_spec.then.items():
                here = self.at("decisions", decision_id, "rules", index, "then", name)
                if name not in spec.outputs:
                    self.unknown_output(name, spec, here, rule_spec.id)
                    continue
                expr = self.output_value(value, spec.outputs[name], here, rule_spec.id)
                if expr is not None:
                    outputs[name] = expr
            if condition is not None:
                rules.append(Rule(rule_spec.id, condition, outputs, rule_spec.note, rule_spec.priority, where))
        return rules

    def compile_constraint(self, index: int, spec: ConstraintSpec) -> Constraint:
        where = self.at("constraints", index)
        check = self.parse(spec.check, self.at("constraints", index, "check"), spec.id)
        fix = {}
        for name, value in (spec.fix or {}).items():
            expr = self.parse(value, self.at("constraints", index, "fix", name), spec.id)
            if expr is not None:
                fix[name] = expr
        return Constraint(spec.id, spec.title or spec.id, check or Expr(k.Literal(True), "true"), fix,
                          spec.error, where)

    def check_outputs(self, decisions: list[Decision], fields: dict[str, str]) -> None:
        owners: dict[str, str] = {}
        for decision in decisions:
            for name in decision.outputs:
                where = self.at("decisions", decision.id, "outputs", name)
                if name in fields:
                    self.error(msg("decisions.output_clash", name=name), where, decision.id,
                               suggestion=msg("decisions.output_clash.hint"))
                elif name in owners:
                    self.error(msg("decisions.output_twice", name=name, decision=owners[name]), where, decision.id)
                owners.setdefault(name, decision.id)

    def check_expr_names(self, expr: Expr, fields: dict[str, str], where: Located, rule_id: str,
                         local: set[str] = frozenset()) -> None:
        for node in k.walk(expr.node):
            if isinstance(node, k.Name) and node.name not in fields and node.name not in local:
                self.error(msg("decisions.unknown_name", name=node.name), where, rule_id, expression=expr.text,
                           suggestion=did_you_mean(node.name, list(fields) + list(local)))

    @staticmethod
    def is_stray_word(value: Expr, fields: dict) -> bool:
        """A bare unknown word where a number, date or true/false belongs (``discount_pct: 八折``)."""
        return isinstance(value.node, k.Name) and value.node.name not in fields

    def check_names(self, decisions: list[Decision], constraints: list[Constraint], fields: dict[str, str]) -> None:
        for decision in decisions:
            for rule in decision.rules:
                self.check_expr_names(rule.condition, fields, self.below(rule.where, "when"), rule.id)
                earlier: set[str] = set()
                for name, value in rule.outputs.items():
                    here = self.below(rule.where, "then", name)
                    if self.is_stray_word(value, fields | dict.fromkeys(earlier)):
                        self.error(msg("decisions.stray_word", name=name, type=decision.outputs[name],
                                       text=value.text), here, rule.id,
                                   suggestion=_VALUE_HINTS.get(decision.outputs[name]) or msg("decisions.hint.other"))
                    else:
                        self.check_expr_names(value, fields, here, rule.id, local=earlier)
                    earlier.add(name)
            for value in (decision.default or {}).values():
                self.check_expr_names(value, fields, decision.where, decision.id)
            for key in (decision.quota.keys if decision.quota else []):
                if key not in fields:
                    self.error(msg("decisions.rank_by", name=key), self.at("decisions", decision.id, "quota"),
                               decision.id, suggestion=did_you_mean(key, fields))
        outputs = {name for d in decisions for name in d.outputs}
        for constraint in constraints:
            self.check_expr_names(constraint.check, fields, self.below(constraint.where, "check"), constraint.id)
            for name, value in constraint.fix.items():
                if name not in outputs:
                    self.error(msg("decisions.fix_not_output", name=name), constraint.where, constraint.id,
                               suggestion=did_you_mean(name, outputs))
                self.check_expr_names(value, fields, constraint.where, constraint.id)

    def type_error(self, problem: Text | None, expr: Expr, where: Located, rule_id: str) -> None:
        if problem:
            self.error(problem, where, rule_id, expression=expr.text)

    def check_types(self, decisions: list[Decision], constraints: list[Constraint], derived: list[Derived],
                    fields: dict[str, str]) -> None:
        for metric in derived:
            where = self.at("metrics", "derived", metric.name)
            self.type_error(check_value(metric.expr.node, fields, metric.name, metric.type), metric.expr, where,
                            metric.name)
        for decision in decisions:
            for rule in decision.rules:
                when = self.below(rule.where, "when")
                self.type_error(check_condition(rule.condition.node, fields), rule.condition, when, rule.id)
                for name, value in rule.outputs.items():
                    here = self.below(rule.where, "then", name)
                    self.type_error(check_value(value.node, fields, name, decision.outputs[name]), value, here, rule.id)
            for name, value in (decision.default or {}).items():
                here = self.at("decisions", decision.id, "default", name)
                self.type_error(check_value(value.node, fields, name, decision.outputs[name]), value, here, decision.id)
        for constraint in constraints:
            here = self.below(constraint.where, "check")
            self.type_error(check_condition(constraint.check.node, fields), constraint.check, here, constraint.id)
            for name, value in constraint.fix.items():
                if name in fields:
                    self.type_error(check_value(value.node, fields, name, fields[name]), value, constraint.where,
                                    constraint.id)

    def order(self, decisions: list[Decision]) -> list[Decision]:
        owner = {name: d.id for d in decisions for name in d.outputs}
        by_id = {d.id: d for d in decisions}
        graph = {d.id: {owner[n] for n in d.reads() if n in owner} for d in decisions}
        try:
            graphlib.TopologicalSorter(graph).prepare()
        except graphlib.CycleError as exc:
            cycle = exc.args[1]
            first = by_id[cycle[0]]
            self.error(msg("decisions.cycle", cycle=" -> ".join(cycle)),
                       first.where, first.id, suggestion=msg("decisions.cycle.hint"))
            return decisions
        return _stable_topological(decisions, graph, {d.id: i for i, d in enumerate(decisions)})

    def check_documents(self, fields: dict[str, str]) -> None:
        for index, doc in enumerate(self.spec.documents):
            where = self.at("documents", index, "for")
            expr = self.parse(doc.for_, where, doc.id)
            if expr is not None:
                self.check_expr_names(expr, fields, where, doc.id)
        for title, condition in self.spec.portfolio.alerts.items():
            where = self.at("portfolio", "alerts", title)
            self.check_sheet_title(title, where)
            expr = self.parse(condition, where, title)
            if expr is not None:
                self.check_expr_names(expr, fields, where, title)
        plan, numbers = self.spec.visit_plan, ("integer", "number", "money", "percent")
        for section, key, name, kinds in (("visit_plan", "first", plan.first, ("date",)),
                                          ("visit_plan", "every_days", plan.every_days, numbers),
                                          ("portfolio", "exposure_field", self.spec.portfolio.exposure_field, numbers)):
            if name in fields and fields[name] not in kinds:  # the workbook and the calendar compute with them
                want = msg("documents.field_type.date") if kinds == ("date",) else msg("documents.field_type.number")
                self.error(msg("documents.field_type", setting=f"{section}.{key}", name=name, type=fields[name],
                               want=want), self.at(section, key), None)
        for path, condition in self.spec.tasks.conditions():
            where = self.at(*path)
            expr = self.parse(condition, where, ".".join(path[:2]))
            if expr is not None:
                self.check_expr_names(expr, fields, where, ".".join(path[:2]))
        onboarding = self.spec.tasks.onboarding
        if onboarding.steps and fields.get(onboarding.from_, "date") != "date":
            self.error(msg("documents.field_type", setting="tasks.onboarding.from", name=onboarding.from_,
                           type=fields[onboarding.from_], want=msg("documents.field_type.date")),
                       self.at("tasks", "onboarding", "from"), None)
        for setting, name in (("tasks.onboarding.from", onboarding.from_ if onboarding.steps else None),
                              ("reps.group_by", self.spec.reps.group_by)):
            if name is not None and name not in fields:
                section, key = setting.split(".", 1)
                where = self.at(section, *key.split("."))
                self.error(msg("plan.unknown_field", setting=setting, name=name), where, None,
                           suggestion=did_you_mean(name, fields))
        for name in self.spec.portfolio.columns or []:
            if name not in fields:
                self.error(msg("decisions.portfolio_column", name=name), self.at("portfolio", "columns"), None,
                           suggestion=did_you_mean(name, fields))
        if "lead" in self.spec.portfolio.model_fields_set:  # (the default names those that exist)
            for name in self.spec.portfolio.lead:
                if name not in fields:
                    self.error(msg("decisions.portfolio_column", name=name), self.at("portfolio", "lead"), None,
                               suggestion=did_you_mean(name, fields))


    _SHEET_TITLE_CHARS = re.compile(r"[\[\]:*?/\\]")

    def check_sheet_title(self, title: str, where: Located) -> None:
        """An alert's title names its sheet: Excel refuses ``[ ] : * ? / \\`` there (the portfolio
        writer also cuts it to 31 characters and keeps it apart from the other sheets)."""
        if not title.strip():
            self.error(msg("documents.alert_title.blank"), where, None)
            return
        chars = sorted(set(self._SHEET_TITLE_CHARS.findall(title)))
        if chars:
            example = self._SHEET_TITLE_CHARS.sub("_", title)
            self.error(msg("documents.alert_title", title=title, chars=" ".join(chars)), where, None,
                       suggestion=msg("documents.alert_title.hint", example=example))


def _stable_topological(decisions: list[Decision], graph: dict[str, set[str]],
                        position: dict[str, int]) -> list[Decision]:
    """Kahn's algorithm picking, among ready decisions, the one written first."""
    by_id = {d.id: d for d in decisions}
    remaining = {d: set(deps) for d, deps in graph.items()}
    ordered: list[Decision] = []
    while remaining:
        ready = sorted((d for d, deps in remaining.items() if not deps), key=position.__getitem__)
        chosen = ready[0]
        ordered.append(by_id[chosen])
        del remaining[chosen]
        for deps in remaining.values():
            deps.discard(chosen)
    return ordered
