"""A DMN model as rulebook decisions (the ``decisions:`` section of rules/*.yaml).

Each DMN decision becomes one decision: a decision table keeps its form (inputs, rows, hit
policy, output values as ``values:``, default output entries as ``default:``, annotations as
row notes); a literal expression becomes a single rule that always applies. DMN names become
identifiers of the rule language (``Approval Status`` → ``Approval_Status``; the DMN name stays
as the decision's title or the output's label), and the fields of a structured input become one
field each (``loan.principal`` → ``loan_principal``).

Every entry is read with :mod:`.feel` and written back in the rule language, so an imported
table is checked, explained, tested and evaluated exactly like one written in YAML.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ...errors import DmnError, ExpressionError
from ...expr import ast as k
from ...expr.parser import parse
from ...expr.typecheck import TypeChecker, TypeProblem
from ...expr.unary import parse_unary, unary_text
from ...expr.unparse import unparse
from ...i18n import msg
from ...yamlio import YDict, YList
from .feel import FeelSyntaxError, FeelUnsupported, Function, parse_expression, parse_unary_tests
from .reader import Decision, DecisionTable, DmnModel, Entry, Where

_KIND_TYPES = {"number": "number", "text": "text", "bool": "bool", "date": "date"}
_RESERVED = {"and", "or", "not", "in", "if", "else", "true", "false", "null", "none", "as_of"}


@dataclass
class Imported:
    """What a model gives the rulebook, and how its names map."""

    decisions: YDict                                # id -> the decision, as rules/*.yaml would hold it
    inputs: dict[str, str] = field(default_factory=dict)   # input field identifier -> type
    names: dict[str, str] = field(default_factory=dict)    # DMN name -> identifier
    results: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    # ^ DMN decision name -> (decision id, {component name -> output identifier}; {} for one value)
    constraints: list[dict] = field(default_factory=list)


class _Names:
    """Unique identifiers for DMN names, in one name space (fields, or decision ids)."""

    def __init__(self, taken: set[str] = frozenset()):
        self.taken: set[str] = set(taken)

    def make(self, name: str, prefix: str = "") -> str:
        base = name if name.isidentifier() and not keyword.iskeyword(name) else re.sub(r"\W+", "_", name).strip("_")
        if prefix and base in self.taken:
            base = f"{prefix}_{base}"
        if not base or base[0].isdigit() or base.lower() in _RESERVED or base.startswith("__"):
            base = f"n_{base}"
        candidate, n = base, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{base}_{n}"
        self.taken.add(candidate)
        return candidate


def convert(model: DmnModel, known_fields: Optional[dict[str, str]] = None) -> Imported:
    """The model's decisions in rulebook form. ``known_fields`` (name -> type) are the project's
    fields that input data may name; without them the model's inputs become fields of their own."""
    fields, decision_ids = _Names(), _Names()
    imported = Imported(YDict(), constraints=list(model.constraints))
    imported.decisions.file, imported.decisions.line = model.file, None
    for data in model.inputs:
        if data.components:
            for component, type_name in data.components.items():
                identifier = fields.make(f"{data.name}.{component}")
                imported.names[f"{data.name}.{component}"] = identifier
                imported.inputs[identifier] = type_name
        else:
            identifier = fields.make(data.name)
            imported.names[data.name] = identifier
            imported.inputs[identifier] = (known_fields or {}).get(identifier) or data.type \
                or _used_type(model, data.name) or "text"
    for decision in model.decisions:
        declared = decision.kamrules.get("outputs")
        if declared:  # a kamrules export: the outputs' own names
            decision_id = decision_ids.make(decision.name)
            components = {name: fields.make(name) for name in declared}
            imported.names.update({name: identifier for name, identifier in components.items()})
        elif _component_names(decision):
            decision_id = decision_ids.make(decision.name)
            components = {c: fields.make(c, decision_id) for c in _component_names(decision)}
            imported.names.update({f"{decision.name}.{c}": i for c, i in components.items()})
        else:
            output = fields.make(decision.name)
            decision_id = decision_ids.make(output)
            components = {}
            imported.names[decision.name] = output
        imported.results[decision.name] = (decision_id, components)
    functions = _functions(model, imported.names)
    known = dict(known_fields or {}) | imported.inputs
    for decision in model.decisions:
        decision_id, components = imported.results[decision.name]
        builder = _DecisionBuilder(model, decision, decision_id, components, imported.names, known, functions)
        imported.decisions[decision_id] = builder.build()
        imported.decisions.key_lines[decision_id] = decision.where.line
        imported.decisions.key_files[decision_id] = model.file
        known.update(builder.output_types)
    return imported


def output_names(imported: Imported, decision_name: str) -> list[str]:
    """The fields a decision writes: its components, or the one named like the decision."""
    decision_id, components = imported.results[decision_name]
    return list(components.values()) or [imported.names[decision_name]]


def _functions(model: DmnModel, names: dict[str, str]) -> dict[str, Function]:
    """The model's business knowledge models, each body read with its parameters as placeholders
    that a call replaces by its arguments."""
    functions = {}
    for index, knowledge in enumerate(model.knowledge):
        identifier = re.sub(r"\W+", "_", knowledge.name).strip("_") or f"bkm{index}"
        names[knowledge.name] = identifier
        parameters = {p: f"_bkm{index}_{n}" for n, p in enumerate(knowledge.parameters)}
        try:
            body = parse_expression(knowledge.body, names | parameters)
        except (FeelUnsupported, FeelSyntaxError) as exc:
            raise feel_error(exc, knowledge.where, knowledge.body) from None
        functions[identifier] = Function(tuple(parameters.values()), body)
    return functions


def feel_error(exc: FeelUnsupported | FeelSyntaxError, where: Where, text: str) -> DmnError:
    """A FEEL text kamrules cannot read, located at its element."""
    if isinstance(exc, FeelUnsupported):
        return DmnError(msg("dmn.unsupported", construct=exc.construct), file=where.file, line=where.line,
                        element=where.element, construct=exc.construct, expression=text,
                        suggestion=msg("dmn.unsupported.hint"))
    return DmnError(msg("dmn.feel_syntax", reason=exc.reason, position=exc.position), file=where.file,
                    line=where.line, element=where.element, construct="FEEL", expression=text)


def _component_names(decision: Decision) -> list[str]:
    if decision.table is not None and len(decision.table.outputs) > 1:
        return [output.name or output.label or f"output{i + 1}" for i, output in enumerate(decision.table.outputs)]
    return []


def _used_type(model: DmnModel, name: str) -> Optional[str]:
    """An untyped input's type, from a table input that reads it directly."""
    for decision in model.decisions:
        for column in (decision.table.inputs if decision.table else []):
            if (column.expression.feel or "").strip() == name and column.type:
                return column.type
    return None


class _DecisionBuilder:
    def __init__(self, model: DmnModel, decision: Decision, decision_id: str, components: dict[str, str],
                 names: dict[str, str], fields: dict[str, str], functions: dict[str, Function]):
        self.model, self.decision, self.id = model, decision, decision_id
        self.components, self.names, self.fields, self.functions = components, names, fields, functions
        self.output_types: dict[str, str] = {}

    def error(self, message, where: Where, construct: Optional[str] = None, expression: Optional[str] = None,
              suggestion=None) -> DmnError:
        return DmnError(message, file=where.file, line=where.line, element=where.element, construct=construct,
                        expression=expression, suggestion=suggestion)

    def feel(self, text: str, where: Where, unary: bool = False) -> k.Node:
        try:
            if unary:
                return parse_unary_tests(text, self.names, self.functions)
            return parse_expression(text, self.names, self.functions)
        except (FeelUnsupported, FeelSyntaxError) as exc:
            raise feel_error(exc, where, text) from None

    def node(self, entry: Entry, where: Where, unary: bool = False) -> k.Node:
        """An entry as a node: the rule language's own text when the file carries it, else its FEEL."""
        if entry.kamrules is not None:
            try:
                return parse_unary(entry.kamrules) if unary else parse(entry.kamrules)
            except ExpressionError as exc:
                raise self.error(exc.message, where, "kamrules:text", entry.kamrules) from None
        return self.feel(entry.feel or "", where, unary)

    def build(self) -> YDict:
        decision = self.decision
        spec = self._located({"title": decision.label or decision.name}, decision.where)
        if decision.literal is not None:
            node = self.feel(decision.literal, decision.where)
            output = self.names[decision.name]
            type_name = decision.type or self._infer(node, decision.where, decision.literal)
            spec["outputs"] = self._located({output: type_name}, decision.where)
            spec["hit"] = "first"
            rule = self._located({"id": self.id, "when": "true", "then": {output: self._value(node, type_name)}},
                                 decision.where)
            spec["rules"] = self._listed([rule], [decision.where])
            self.output_types[output] = type_name
            return spec
        if decision.kamrules.get("form") == "rules":
            return self._rules(decision.table, spec)
        return self._table(decision.table, spec)

    def _outputs(self, table: DecisionTable, spec: YDict) -> dict[str, str]:
        """outputs, labels, values, default, quota: what the table's output clauses (and a kamrules
        export's extension) say; returns the outputs (identifier -> type)."""
        decision, extra = self.decision, self.decision.kamrules
        outputs, values, default = {}, {}, {}
        names = list(self.components.values()) or [self.names[decision.name]]
        for index, column in enumerate(table.outputs):
            name = names[index] if index < len(names) else self.id
            original = column.name or column.label
            type_name = (extra.get("outputs") or {}).get(name) or column.type or \
                (decision.components.get(original) if decision.components else None) or decision.type or \
                self._output_type(table, index)
            outputs[name] = type_name
            if column.values:
                values[name] = self._values(column.values, column.where)
            if column.default is not None:
                default[name] = self._value(self.node(column.default, column.where), type_name)
        labels = dict(extra.get("labels") or {})
        if not extra:
            labels = {name: original for name, original in
                      zip(outputs, (c.name or c.label for c in table.outputs)) if original and original != name
                      and self.components}
        spec["hit"] = table.hit
        spec["outputs"] = self._located(outputs, table.where)
        if labels:
            spec["labels"] = self._located(labels, table.where)
        if values:
            spec["values"] = self._located(values, table.where)
        if default:
            spec["default"] = self._located(default, table.where)
        if extra.get("quota"):
            spec["quota"] = self._located(extra["quota"], table.where)
        if extra.get("client"):
            spec["client"] = extra["client"] if isinstance(extra["client"], bool) else self._located(extra["client"],
                                                                                                     table.where)
        self.output_types.update(outputs)
        return outputs

    def _table(self, table: DecisionTable, spec: YDict) -> YDict:
        outputs = self._outputs(table, spec)
        inputs = [unparse(self.node(column.expression, column.where)) for column in table.inputs]
        rows = []
        for rule in table.rules:
            cells = [unary_text(self.node(entry, rule.where, unary=True)) for entry in rule.inputs]
            results = [self._value(self.node(entry, rule.where), outputs[name]) if entry.feel or entry.kamrules
                       else None for entry, name in zip(rule.outputs, outputs)]
            row = cells + results
            rows.append(self._located({"cells": row, "note": rule.note}, rule.where) if rule.note else row)
        spec["table"] = self._located({"inputs": inputs, "rows": self._listed(rows, [r.where for r in table.rules])},
                                      table.where)
        self._move_default_last(spec)
        return spec

    def _rules(self, table: DecisionTable, spec: YDict) -> YDict:
        """A kamrules export of a list of rules: one boolean input whose entries are the conditions."""
        outputs = self._outputs(table, spec)
        rules = []
        for index, rule in enumerate(table.rules, start=1):
            entry = rule.inputs[0] if rule.inputs else None
            if entry is not None and entry.kamrules is not None:
                condition = self.node(entry, rule.where)
            else:
                test = self.feel(entry.feel if entry else "-", rule.where, unary=True)
                condition = test.comparators[0] if isinstance(test, k.Compare) and test.ops == ("==",) \
                    and isinstance(test.left, k.Input) else k.Literal(True)
            then = {name: self._value(self.node(value, rule.where), outputs[name])
                    for value, name in zip(rule.outputs, outputs) if value.feel not in (None, "null")
                    or value.kamrules is not None}
            item = {"id": rule.label or f"{self.id}-{index}", "when": unparse(condition), "then": then}
            if rule.note is not None:
                item["note"] = rule.note
            if rule.priority is not None:
                item["priority"] = rule.priority
            rules.append(self._located(item, rule.where))
        spec["rules"] = self._listed(rules, [r.where for r in table.rules])
        self._move_default_last(spec)
        return spec

    @staticmethod
    def _move_default_last(spec: YDict) -> None:
        for key in ("default", "quota"):
            if key in spec:
                spec[key] = spec.pop(key)

    def _output_type(self, table: DecisionTable, index: int) -> str:
        kinds = set()
        for rule in table.rules:
            entry = rule.outputs[index]
            if entry.feel or entry.kamrules:
                try:
                    kinds.add(TypeChecker(self.fields).check(self.node(entry, rule.where)))
                except TypeProblem:
                    pass
        kinds.discard("null")
        return _KIND_TYPES.get(kinds.pop(), "text") if len(kinds) == 1 else "text"

    def _infer(self, node: k.Node, where: Where, text: str) -> str:
        try:
            kind = TypeChecker(self.fields).check(node)
        except TypeProblem as problem:
            raise self.error(problem.message, where, "literalExpression", text) from None
        return _KIND_TYPES.get(kind, "text")

    def _values(self, text: str, where: Where) -> list:
        node = self.feel(text, where, unary=True)
        parts = node.values if isinstance(node, k.BoolOp) and node.op == "or" else (node,)
        values = []
        for part in parts:
            if not (isinstance(part, k.Compare) and part.ops == ("==",) and isinstance(part.comparators[0], k.Literal)):
                raise self.error(msg("dmn.values_not_listed", text=text), where, "outputValues", text)
            values.append(part.comparators[0].value)
        return values

    @staticmethod
    def _value(node: k.Node, type_name: str) -> Any:
        """An output entry as YAML writes it: a fixed value as itself, an expression as text."""
        if isinstance(node, k.Literal) and not (type_name == "text" and isinstance(node.value, str)
                                                and node.value.startswith("=")):
            if type_name == "text" and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
                return f"= {node.value}"
            return node.value.isoformat() if hasattr(node.value, "isoformat") else node.value
        text = unparse(node)
        return f"= {text}" if type_name == "text" else text

    @staticmethod
    def _located(data: dict, where: Where) -> YDict:
        located = YDict(data)
        located.file, located.line = where.file, where.line
        return located

    @staticmethod
    def _listed(items: list, places: list[Where]) -> YList:
        listed = YList(items)
        listed.file = places[0].file if places else None
        listed.line = places[0].line if places else None
        listed.item_lines = [p.line for p in places]
        listed.item_files = [p.file for p in places]
        return listed


def plain(value: Any) -> Any:
    """YDict/YList as plain dicts and lists (for YAML output)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
