"""The rulebook's decisions as one DMN 1.5 model (``kamrules dmn export``).

Every decision becomes a ``<decision>`` with a decision table: a table keeps its inputs and rows;
a list of rules becomes a table with one boolean input whose entries are the rules' conditions.
Entries are written in FEEL; where FEEL cannot say an expression the same way (``days_between``,
``//``), the entry holds the rule language's text. What DMN has no place for travels in
``extensionElements`` under the kamrules namespace — the rule language's text of every entry FEEL
does not reproduce exactly, output types (money, percent, integer), labels, rule ids and
priorities, quotas, constraints — so importing the file gives back the same rulebook. The file
validates against the OMG DMN 1.5 schema.
"""

from __future__ import annotations

import json
import re
from typing import Optional
from xml.etree import ElementTree as ET

from ...expr import ast as k
from ...expr.unary import unary_text
from ...expr.unparse import unparse
from ...version import __version__
from ..decisions import CompiledRulebook, Decision, Expr
from .feel import FeelSyntaxError, FeelUnsupported, parse_expression, parse_unary_tests, to_feel, unary_to_feel

DMN = "https://www.omg.org/spec/DMN/20230324/MODEL/"
FEEL = "https://www.omg.org/spec/DMN/20230324/FEEL/"
KAMRULES = "https://kamrules.dev/dmn/1"
TYPE_REFS = {"text": "string", "number": "number", "money": "number", "percent": "number", "integer": "number",
             "bool": "boolean", "date": "date"}
HIT_POLICIES = {"unique": ("UNIQUE", None), "first": ("FIRST", None), "priority": ("PRIORITY", None),
                "any": ("ANY", None), "collect": ("COLLECT", None), "rule_order": ("RULE ORDER", None),
                "output_order": ("OUTPUT ORDER", None), "collect_sum": ("COLLECT", "SUM"),
                "collect_min": ("COLLECT", "MIN"), "collect_max": ("COLLECT", "MAX"),
                "collect_count": ("COLLECT", "COUNT")}
CONDITION = "condition"  # the one input of a table made from a list of rules

ET.register_namespace("", DMN)
ET.register_namespace("kamrules", KAMRULES)


def _tag(name: str) -> str:
    return f"{{{DMN}}}{name}"


def _ncname(text: str) -> str:
    """An XML id made of ``text`` (ids may not hold ``#``, spaces or start with a digit)."""
    cleaned = re.sub(r"[^\w.-]", "_", text)
    return cleaned if cleaned and (cleaned[0].isalpha() or cleaned[0] == "_") else f"_{cleaned}"


def _same(a: k.Node, b: k.Node) -> bool:
    return unparse(a) == unparse(b)


class DmnWriter:
    def __init__(self, rulebook: CompiledRulebook, name: str):
        self.rulebook, self.name = rulebook, name
        self.names = {field: field for field in rulebook.field_types}
        self.owner = rulebook.output_owner()

    def write(self) -> bytes:
        root = ET.Element(_tag("definitions"), {
            "id": "kamrules_" + _ncname(self.name), "name": self.name,
            "namespace": f"https://kamrules.dev/project/{_ncname(self.name)}",
            "expressionLanguage": FEEL, "typeLanguage": FEEL, "exporter": "kamrules",
            "exporterVersion": __version__})
        if self.rulebook.spec.constraints:
            extension = ET.SubElement(root, _tag("extensionElements"))
            constraints = [c.model_dump(exclude_none=True, exclude_defaults=True) for c in self.rulebook.spec.constraints]
            ET.SubElement(extension, f"{{{KAMRULES}}}constraints").text = json.dumps(constraints, ensure_ascii=False)
        for decision in self.rulebook.decisions:
            if len(decision.outputs) > 1:
                self._item_definition(root, decision)
        for field in self._inputs():
            data = ET.SubElement(root, _tag("inputData"), {"id": _ncname(f"input_{field}"), "name": field})
            ET.SubElement(data, _tag("variable"), {"name": field, "typeRef": TYPE_REFS.get(
                self.rulebook.field_types.get(field, "text"), "string")})
        for decision in self.rulebook.decisions:
            self._decision(root, decision)
        ET.indent(root, "  ")
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"

    def _inputs(self) -> list[str]:
        read = set()
        for decision in self.rulebook.decisions:
            read |= decision.reads()
        for constraint in self.rulebook.constraints:
            read |= k.names(constraint.check.node)
        return sorted(name for name in read if name not in self.owner and name != "as_of"
                      and name in self.rulebook.field_types)

    def _item_definition(self, root: ET.Element, decision: Decision) -> None:
        item = ET.SubElement(root, _tag("itemDefinition"), {"id": _ncname(f"type_{decision.id}"),
                                                            "name": f"t_{decision.id}"})
        for output, type_name in decision.outputs.items():
            component = ET.SubElement(item, _tag("itemComponent"), {"id": _ncname(f"type_{decision.id}_{output}"),
                                                                    "name": output})
            ET.SubElement(component, _tag("typeRef")).text = TYPE_REFS[type_name]

    def _decision(self, root: ET.Element, decision: Decision) -> None:
        element = ET.SubElement(root, _tag("decision"), {"id": _ncname(f"decision_{decision.id}"), "name": decision.id,
                                                         "label": decision.title})
        spec = self.rulebook.spec.decisions[decision.id]
        extra = {"outputs": decision.outputs, "form": "rules" if spec.rules is not None else "table"}
        if spec.labels:
            extra["labels"] = spec.labels
        if spec.quota is not None:
            extra["quota"] = spec.quota.model_dump(exclude_none=True)
        if spec.client:
            extra["client"] = spec.client  # which outputs a client document may show
        extension = ET.SubElement(element, _tag("extensionElements"))
        ET.SubElement(extension, f"{{{KAMRULES}}}decision").text = json.dumps(extra, ensure_ascii=False)
        single = len(decision.outputs) == 1
        type_ref = TYPE_REFS[next(iter(decision.outputs.values()))] if single else f"t_{decision.id}"
        if decision.hit in ("collect", "rule_order", "output_order"):
            type_ref = None  # a list
        variable = {"name": decision.id}
        if type_ref:
            variable["typeRef"] = type_ref
        ET.SubElement(element, _tag("variable"), variable)
        for name in sorted(decision.reads()):
            if name in self.owner and self.owner[name].id != decision.id:
                href = f"#decision_{self.owner[name].id}"
                child = "requiredDecision"
            elif name in self.rulebook.field_types and name != "as_of" and name not in self.owner:
                href, child = f"#{_ncname('input_' + name)}", "requiredInput"
            else:
                continue
            requirement = ET.SubElement(element, _tag("informationRequirement"),
                                        {"id": _ncname(f"req_{decision.id}_{name}")})
            ET.SubElement(requirement, _tag(child), {"href": _ncname_href(href)})
        self._table(element, decision, spec)

    def _table(self, parent: ET.Element, decision: Decision, spec) -> None:
        policy, aggregation = HIT_POLICIES[decision.hit]
        attributes = {"id": _ncname(f"table_{decision.id}"), "hitPolicy": policy, "outputLabel": decision.title}
        if aggregation:
            attributes["aggregation"] = aggregation
        table = ET.SubElement(parent, _tag("decisionTable"), attributes)
        from_rules = decision.table_inputs is None
        if from_rules:
            column = ET.SubElement(table, _tag("input"), {"id": _ncname(f"in_{decision.id}_0"), "label": CONDITION})
            expression = ET.SubElement(column, _tag("inputExpression"), {"typeRef": "boolean"})
            ET.SubElement(expression, _tag("text")).text = "true"
        else:
            for index, expr in enumerate(decision.table_inputs):
                column = ET.SubElement(table, _tag("input"), {"id": _ncname(f"in_{decision.id}_{index}"),
                                                              "label": expr.text})
                attributes = {}
                if isinstance(expr.node, k.Name) and expr.node.name in self.rulebook.field_types:
                    attributes["typeRef"] = TYPE_REFS.get(self.rulebook.field_types[expr.node.name], "string")
                expression = ET.SubElement(column, _tag("inputExpression"), attributes)
                self._expression(expression, expr.node)
        for name, type_name in decision.outputs.items():
            output = ET.SubElement(table, _tag("output"), {"id": _ncname(f"out_{decision.id}_{name}"), "name": name,
                                                           "typeRef": TYPE_REFS[type_name]})
            if name in spec.values:
                values = ET.SubElement(output, _tag("outputValues"))
                allowed = [to_feel(k.Literal(v)) for v in _typed_values(decision, name, spec.values[name])]
                ET.SubElement(values, _tag("text")).text = ", ".join(v for v in allowed if v is not None)
            default = (decision.default or {}).get(name)
            if default is not None:
                entry = ET.SubElement(output, _tag("defaultOutputEntry"))
                self._expression(entry, default.node)
        if any(rule.note is not None for rule in decision.rules):
            ET.SubElement(table, _tag("annotation"), {"name": "note"})
        for index, rule in enumerate(decision.rules, start=1):
            self._rule(table, decision, rule, index, from_rules)

    def _rule(self, table: ET.Element, decision: Decision, rule, index: int, from_rules: bool) -> None:
        element = ET.SubElement(table, _tag("rule"), {"id": _ncname(f"rule_{decision.id}_{index}"), "label": rule.id})
        if rule.priority is not None and decision.hit in ("priority", "output_order") and from_rules:
            extension = ET.SubElement(element, _tag("extensionElements"))
            ET.SubElement(extension, f"{{{KAMRULES}}}priority").text = str(rule.priority)
        if from_rules:
            entry = ET.SubElement(element, _tag("inputEntry"), {"id": _ncname(f"rule_{decision.id}_{index}_in0")})
            self._expression(entry, rule.condition.node, unary_condition=True)
        else:
            for position, cell in enumerate(rule.cells):
                entry = ET.SubElement(element, _tag("inputEntry"),
                                      {"id": _ncname(f"rule_{decision.id}_{index}_in{position}")})
                self._cell(entry, cell)
        for position, name in enumerate(decision.outputs):
            entry = ET.SubElement(element, _tag("outputEntry"),
                                  {"id": _ncname(f"rule_{decision.id}_{index}_out{position}")})
            value = rule.outputs.get(name)
            if value is None:
                ET.SubElement(entry, _tag("text")).text = "null"
            else:
                self._expression(entry, value.node)
        if rule.note is not None:
            ET.SubElement(ET.SubElement(element, _tag("annotationEntry")), _tag("text")).text = rule.note

    def _expression(self, element: ET.Element, node: k.Node, unary_condition: bool = False) -> None:
        """FEEL text, and the rule language's text beside it when FEEL does not say the same."""
        feel = to_feel(node, self.names)
        if feel is None or not self._reads_back(feel, node, unary_condition):
            extension = ET.SubElement(element, _tag("extensionElements"))
            ET.SubElement(extension, f"{{{KAMRULES}}}text").text = unparse(node)
        ET.SubElement(element, _tag("text")).text = feel if feel is not None else unparse(node)

    def _reads_back(self, feel: str, node: k.Node, unary_condition: bool) -> bool:
        try:
            if not unary_condition:
                return _same(parse_expression(feel, self.names), node)
            back = parse_unary_tests(feel, self.names)  # an entry of the boolean input: ? = (condition)
            return isinstance(back, k.Compare) and back.ops == ("==",) and isinstance(back.left, k.Input) \
                and _same(back.comparators[0], node)
        except (FeelUnsupported, FeelSyntaxError):
            return False

    def _cell(self, element: ET.Element, cell: k.Node) -> None:
        feel = unary_to_feel(cell, self.names)
        try:
            exact = feel is not None and _same(parse_unary_tests(feel, self.names), cell)
        except (FeelUnsupported, FeelSyntaxError):
            exact = False
        if not exact:
            extension = ET.SubElement(element, _tag("extensionElements"))
            ET.SubElement(extension, f"{{{KAMRULES}}}text").text = unary_text(cell)
        ET.SubElement(element, _tag("text")).text = feel if feel is not None else unary_text(cell)


def _ncname_href(href: str) -> str:
    return "#" + _ncname(href[1:])


def _typed_values(decision: Decision, name: str, values: list) -> list:
    """``values:`` as the outputs hold them (``8%`` is 0.08): taken from the rules' literals."""
    literals = {}
    for rule in decision.rules:
        expr: Optional[Expr] = rule.outputs.get(name)
        if expr is not None and isinstance(expr.node, k.Literal):
            literals[str(expr.node.value)] = expr.node.value
    return [literals.get(str(v), v) for v in values]


def write_dmn(rulebook: CompiledRulebook, name: str) -> bytes:
    """The rulebook's decisions and constraints as a DMN 1.5 file."""
    return DmnWriter(rulebook, name).write()
