"""Read a DMN 1.1–1.5 model: its decisions (decision tables and literal expressions), input data
and item definitions, each with the line and id of its XML element.

Only what kamrules can evaluate exactly is read; any other construct (business knowledge models,
decision services, boxed contexts, invocations, imports, collections, time types) raises
:class:`~kamrules.errors.DmnError` naming the element and the construct, so a model is either
imported whole or not at all. The XML is parsed with defusedxml: no DTDs, no entities.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional
from xml.etree.ElementTree import Element, TreeBuilder

from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from ...errors import DmnError
from ...i18n import msg

KAMRULES = "https://kamrules.dev/dmn/1"  # what a kamrules export carries beside DMN (see writer.py)
MODEL_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "http://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "https://www.omg.org/spec/DMN/20211108/MODEL/": "1.4",
    "http://www.omg.org/spec/DMN/20211108/MODEL/": "1.4",
    "https://www.omg.org/spec/DMN/20230324/MODEL/": "1.5",
    "http://www.omg.org/spec/DMN/20230324/MODEL/": "1.5",
}
BASE_TYPES = {"string": "text", "number": "number", "boolean": "bool", "date": "date"}
HIT_POLICIES = {"UNIQUE": "unique", "FIRST": "first", "PRIORITY": "priority", "ANY": "any",
                "RULE ORDER": "rule_order", "OUTPUT ORDER": "output_order", "COLLECT": "collect"}
AGGREGATIONS = {"SUM": "collect_sum", "MIN": "collect_min", "MAX": "collect_max", "COUNT": "collect_count"}
# elements of <definitions> that only describe or draw the model
IGNORED = {"description", "extensionElements", "DMNDI", "textAnnotation", "association", "group",
           "knowledgeSource", "performanceIndicator", "organizationUnit"}
DECISION_PARTS = {"variable", "informationRequirement", "knowledgeRequirement", "authorityRequirement",
                  "description", "extensionElements", "question", "allowedAnswers", "supportedObjective",
                  "impactedPerformanceIndicator", "decisionMaker", "decisionOwner", "usingProcess", "usingTask"}


@dataclass
class Where:
    """An element's place: the file, its line, its id."""

    file: str
    line: Optional[int]
    element: Optional[str]


@dataclass
class ItemDefinition:
    name: str
    type: Optional[str]                      # base type (text, number, bool, date) or None for a structure
    allowed: Optional[str]                   # the allowedValues unary tests, as written
    components: dict[str, str] = field(default_factory=dict)  # component name -> base type
    where: Optional[Where] = None
    collection: bool = False                 # a list: only as the result of a table that collects


@dataclass
class InputData:
    name: str
    type: Optional[str]
    components: dict[str, str]
    allowed: Optional[str]
    where: Where


@dataclass
class Entry:
    """An entry's FEEL text, and the rule language's own text when a kamrules export put it beside."""

    feel: Optional[str]
    kamrules: Optional[str] = None


@dataclass
class TableInput:
    label: Optional[str]
    expression: Entry
    type: Optional[str]
    values: Optional[str]
    where: Where


@dataclass
class TableOutput:
    name: Optional[str]
    label: Optional[str]
    type: Optional[str]
    values: Optional[str]
    default: Optional[Entry]
    where: Where


@dataclass
class TableRule:
    inputs: list[Entry]
    outputs: list[Entry]
    note: Optional[str]
    where: Where
    label: Optional[str] = None   # a kamrules export keeps the rule's id here
    priority: Optional[int] = None


@dataclass
class DecisionTable:
    hit: str
    inputs: list[TableInput]
    outputs: list[TableOutput]
    rules: list[TableRule]
    where: Where


@dataclass
class Decision:
    name: str
    type: Optional[str]
    components: dict[str, str]               # output components of a structured result type
    allowed: Optional[str]
    requires: list[str]                      # ids of required decisions and inputs
    table: Optional[DecisionTable]
    literal: Optional[str]
    where: Where
    label: Optional[str] = None
    kamrules: dict = field(default_factory=dict)  # a kamrules export's outputs, form, labels, quota


@dataclass
class Knowledge:
    """A business knowledge model whose logic is one literal expression of its parameters: a
    call to it in FEEL is replaced by that expression (there is nothing else it could do)."""

    name: str
    parameters: list[str]
    body: str
    where: Where


@dataclass
class DmnModel:
    name: str
    version: str
    namespace: str
    decisions: list[Decision]
    inputs: list[InputData]
    items: dict[str, ItemDefinition]
    file: str
    knowledge: list[Knowledge] = field(default_factory=list)
    constraints: list[dict] = field(default_factory=list)  # a kamrules export's constraints


class _LineBuilder(TreeBuilder):
    """An ElementTree builder that remembers the line each element starts on."""

    def __init__(self):
        super().__init__()
        self.lines: dict[int, int] = {}
        self.parser: Optional[DefusedXMLParser] = None

    def start(self, tag, attrs):
        element = super().start(tag, attrs)
        self.lines[id(element)] = self.parser.parser.CurrentLineNumber
        return element


def parse_xml(data: bytes, display: str) -> tuple[Element, dict[int, int]]:
    """The root element and each element's line; DTDs and entities are refused."""
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise DmnError(msg("dmn.not_xml", reason=str(exc).split(":")[0]), file=display, line=line,
                       suggestion=msg("dmn.not_xml.hint")) from None
    except DefusedXmlException as exc:
        raise DmnError(msg("dmn.unsafe_xml", reason=type(exc).__name__), file=display,
                       suggestion=msg("dmn.not_xml.hint")) from None
    return root, builder.lines


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


class ModelReader:
    def __init__(self, data: bytes, display: str):
        self.display = display
        self.root, self.lines = parse_xml(data, display)
        self.ns = namespace(self.root.tag)

    def where(self, element: Element) -> Where:
        return Where(self.display, self.lines.get(id(element)), element.get("id") or element.get("name"))

    def refuse(self, element: Element, construct: str, suggestion=None) -> DmnError:
        return DmnError(msg("dmn.unsupported", construct=construct), file=self.display,
                        line=self.lines.get(id(element)), element=element.get("id") or element.get("name"),
                        construct=construct, suggestion=suggestion or msg("dmn.unsupported.hint"))

    def children(self, element: Element, name: str) -> list[Element]:
        return [child for child in element if local(child.tag) == name and namespace(child.tag) == self.ns]

    def child(self, element: Element, name: str) -> Optional[Element]:
        found = self.children(element, name)
        return found[0] if found else None

    def extension(self, element: Optional[Element], name: str) -> Optional[str]:
        """The text of ``kamrules:<name>`` in the element's extensionElements, if any."""
        holder = self.child(element, "extensionElements") if element is not None else None
        if holder is None:
            return None
        found = next((c for c in holder if c.tag == f"{{{KAMRULES}}}{name}"), None)
        return found.text if found is not None else None

    def extension_json(self, element: Element, name: str):
        text = self.extension(element, name)
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise DmnError(msg("dmn.bad_extension", name=name), file=self.display, line=self.lines.get(id(element)),
                           element=element.get("id"), construct=f"kamrules:{name}") from None

    def entry(self, element: Optional[Element]) -> Entry:
        return Entry(self.text_of(element), self.extension(element, "text"))

    def text_of(self, element: Optional[Element]) -> Optional[str]:
        """The <text> of an element (an entry, a literal expression), or None."""
        if element is None:
            return None
        text = self.child(element, "text")
        return None if text is None or text.text is None else text.text.strip()

    def read(self) -> DmnModel:
        if local(self.root.tag) != "definitions" or self.ns not in MODEL_NAMESPACES:
            raise DmnError(msg("dmn.not_a_model", namespace=self.ns or "-"), file=self.display, line=1,
                           suggestion=msg("dmn.not_a_model.hint"))
        language = self.root.get("expressionLanguage")
        if language and "FEEL" not in language.upper():
            raise self.refuse(self.root, f"expressionLanguage {language}")
        items: dict[str, ItemDefinition] = {}
        decisions, inputs, knowledge = [], [], []
        for element in self.root:
            kind = local(element.tag)
            if namespace(element.tag) != self.ns or kind in IGNORED:
                continue
            if kind == "itemDefinition":
                item = self.item(element)
                items[item.name] = item
            elif kind == "inputData":
                inputs.append(element)
            elif kind == "decision":
                decisions.append(element)
            elif kind == "businessKnowledgeModel":
                knowledge.append(self.knowledge(element))
            else:
                raise self.refuse(element, kind)
        model_inputs = [self.input_data(element, items) for element in inputs]
        model_decisions = [self.decision(element, items) for element in decisions]
        return DmnModel(self.root.get("name") or self.display, MODEL_NAMESPACES[self.ns], self.ns,
                        model_decisions, model_inputs, items, self.display, knowledge,
                        self.extension_json(self.root, "constraints") or [])

    def knowledge(self, element: Element) -> Knowledge:
        logic = self.child(element, "encapsulatedLogic")
        if logic is None:
            raise self.refuse(element, "businessKnowledgeModel without encapsulatedLogic")
        if self.children(element, "knowledgeRequirement"):
            raise self.refuse(element, "businessKnowledgeModel requiring another one")
        body = [child for child in logic if local(child.tag) not in ("formalParameter", "description",
                                                                       "extensionElements")]
        if len(body) != 1 or local(body[0].tag) != "literalExpression" or not self.text_of(body[0]):
            kind = local(body[0].tag) if body else "nothing"
            raise self.refuse(element, f"businessKnowledgeModel whose logic is {kind} (not a literal expression)")
        parameters = [p.get("name") for p in self.children(logic, "formalParameter")]
        return Knowledge(element.get("name"), parameters, self.text_of(body[0]), self.where(element))

    def item(self, element: Element) -> ItemDefinition:
        if self.child(element, "functionItem") is not None:
            raise self.refuse(element, "functionItem")
        type_ref = self.child(element, "typeRef")
        allowed = self.text_of(self.child(element, "allowedValues"))
        components = {}
        for component in self.children(element, "itemComponent"):
            ref = self.child(component, "typeRef")
            base = BASE_TYPES.get((ref.text or "").strip()) if ref is not None else None
            if base is None or self.children(component, "itemComponent"):
                raise self.refuse(component, "itemComponent of type "
                                  + ((ref.text or "").strip() if ref is not None else "(a nested structure)"))
            if component.get("isCollection") == "true":
                raise self.refuse(component, "itemComponent isCollection (a list inside a structure)")
            components[component.get("name")] = base
        base = None
        if type_ref is not None:
            base = BASE_TYPES.get((type_ref.text or "").strip())
            if base is None:
                raise self.refuse(element, f"typeRef {(type_ref.text or '').strip()}")
        return ItemDefinition(element.get("name"), base, allowed, components, self.where(element),
                              element.get("isCollection") == "true")

    def resolve(self, element: Element, type_ref: Optional[str], items: dict[str, ItemDefinition],
                collection: bool = False):
        """(base type, components, allowed values) of a typeRef; a list type only where ``collection``."""
        if not type_ref or type_ref in ("Any", "feel:Any"):
            return None, {}, None
        name = type_ref.rpartition(":")[2]  # DMN 1.1 writes QNames: feel:string, tns:tLoan
        if name in BASE_TYPES:
            return BASE_TYPES[name], {}, None
        item = items.get(type_ref) or items.get(name)
        if item is None:
            raise self.refuse(element, f"typeRef {type_ref}")
        if item.collection and not collection:
            raise self.refuse(element, f"typeRef {type_ref} (a list type, here where one value is expected)")
        return item.type, item.components, item.allowed

    def input_data(self, element: Element, items: dict[str, ItemDefinition]) -> InputData:
        variable = self.child(element, "variable")
        type_ref = variable.get("typeRef") if variable is not None else None
        base, components, allowed = self.resolve(element, type_ref, items)
        return InputData(element.get("name"), base, components, allowed, self.where(element))

    def decision(self, element: Element, items: dict[str, ItemDefinition]) -> Decision:
        variable = self.child(element, "variable")
        logic = [child for child in element if local(child.tag) not in DECISION_PARTS]
        collects = bool(logic) and local(logic[0].tag) == "decisionTable" and \
            (logic[0].get("hitPolicy") or "").upper() in ("COLLECT", "RULE ORDER", "OUTPUT ORDER") \
            and not logic[0].get("aggregation")
        base, components, allowed = self.resolve(element, variable.get("typeRef") if variable is not None else None,
                                                 items, collects)
        requires = []
        for requirement in self.children(element, "informationRequirement"):
            for reference in requirement:
                href = (reference.get("href") or "").lstrip("#")
                if local(reference.tag) in ("requiredDecision", "requiredInput") and href:
                    requires.append(href)
        table = literal = None
        if not logic:
            raise self.refuse(element, "decision without decision logic")
        body = logic[0]
        if local(body.tag) == "decisionTable":
            table = self.table(body, items)
        elif local(body.tag) == "literalExpression":
            if body.get("expressionLanguage") and "FEEL" not in body.get("expressionLanguage").upper():
                raise self.refuse(body, f"expressionLanguage {body.get('expressionLanguage')}")
            literal = self.text_of(body)
            if not literal:
                raise self.refuse(body, "empty literalExpression")
        else:
            raise self.refuse(body, f"{local(body.tag)} (boxed expression)")
        return Decision(element.get("name"), base, components, allowed, requires, table, literal, self.where(element),
                        element.get("label"), self.extension_json(element, "decision") or {})

    def table(self, element: Element, items: dict[str, ItemDefinition]) -> DecisionTable:
        policy = (element.get("hitPolicy") or "UNIQUE").upper()
        aggregation = element.get("aggregation")
        if policy not in HIT_POLICIES:
            raise self.refuse(element, f"hitPolicy {policy}")
        hit = HIT_POLICIES[policy]
        if aggregation:
            if policy != "COLLECT" or aggregation.upper() not in AGGREGATIONS:
                raise self.refuse(element, f"aggregation {aggregation} with hitPolicy {policy}")
            hit = AGGREGATIONS[aggregation.upper()]
        inputs = []
        for column in self.children(element, "input"):
            expression = self.child(column, "inputExpression")
            text = self.entry(expression)
            if not text.feel:
                raise self.refuse(column, "input without an inputExpression")
            type_ref = expression.get("typeRef") or self._typeref_child(expression)
            base, _, _ = self.resolve(column, type_ref, items)
            inputs.append(TableInput(column.get("label"), text, base,
                                     self.text_of(self.child(column, "inputValues")), self.where(column)))
        outputs = []
        for column in self.children(element, "output"):
            type_ref = column.get("typeRef") or self._typeref_child(column)
            base, _, allowed = self.resolve(column, type_ref, items)
            default = self.child(column, "defaultOutputEntry")
            outputs.append(TableOutput(column.get("name"), column.get("label"), base,
                                       self.text_of(self.child(column, "outputValues")) or allowed,
                                       self.entry(default) if default is not None else None, self.where(column)))
        if not outputs:
            raise self.refuse(element, "decisionTable without outputs")
        rules = []
        for rule in self.children(element, "rule"):
            entries = [self.entry(entry) for entry in self.children(rule, "inputEntry")]
            results = [self.entry(entry) for entry in self.children(rule, "outputEntry")]
            if len(entries) != len(inputs) or len(results) != len(outputs):
                raise DmnError(msg("dmn.rule_width", entries=len(entries), inputs=len(inputs), results=len(results),
                                   outputs=len(outputs)), file=self.display, line=self.lines.get(id(rule)),
                               element=rule.get("id"), construct="rule")
            notes = [self.text_of(entry) for entry in self.children(rule, "annotationEntry")]
            description = self.child(rule, "description")
            note = next((n for n in notes if n), None) or (
                description.text.strip() if description is not None and description.text else None)
            priority = self.extension(rule, "priority")
            rules.append(TableRule(entries, results, note, self.where(rule), rule.get("label"),
                                   int(priority) if priority and priority.strip().lstrip("-").isdigit() else None))
        return DecisionTable(hit, inputs, outputs, rules, self.where(element))

    def _typeref_child(self, element: Element) -> Optional[str]:
        found = self.child(element, "typeRef")  # DMN 1.1 writes typeRef as a child in places
        return found.text.strip() if found is not None and found.text else None


def read_model(data: bytes, display: str) -> DmnModel:
    """The model in ``data`` (the bytes of a .dmn file shown as ``display`` in errors)."""
    return ModelReader(data, display).read()
