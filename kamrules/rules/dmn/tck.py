"""Run DMN TCK test files (``*-test-01.xml``) against a model imported by kamrules.

Each test case gives values for input nodes (typed by ``xsi:type``; ``component`` for
structures) and the expected value of decisions (``component`` for multi-output tables,
``list`` for collect policies, ``xsi:nil`` for null). All the cases of a file are evaluated
together, one customer per case, by the same engine as a run. Numbers are compared with a
relative tolerance of 1e-9 (kamrules computes in binary floating point, FEEL in decimal);
a ``collect`` result is compared as a multiset (DMN leaves its order open), ``rule order`` and
``output order`` results in order.

A model kamrules does not import makes every case *unsupported* with the reason; so does a
case naming an input or decision the model does not have.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import polars as pl
from pydantic import ValidationError

from ...errors import DmnError, KamrulesError, RulebookInvalid
from ...expr.unparse import literal_text
from ...i18n import Text, msg
from ...types import POLARS_TYPES
from ...yamlio import YDict
from ..engine import PolarsEngine
from ..rulebook import RulebookSource, RulebookSpec
from ..rulebook_compiler import RulebookCompiler
from ..schema_errors import schema_error
from .convert import Imported, convert, plain
from .reader import local, parse_xml, read_model

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
LIST_HITS = ("collect", "rule_order", "output_order")
_AS_OF = dt.date(2026, 1, 1)  # TCK level 2 never reads today's date


@dataclass
class Expected:
    decision: str
    value: Any


@dataclass
class TckCase:
    id: str
    description: Optional[str]
    inputs: dict[str, Any]
    expected: list[Expected]


@dataclass
class Outcome:
    case: str
    status: str  # passed | failed | unsupported
    detail: Optional[Text] = None


@dataclass
class TckReport:
    model: str
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def _value(element, display: str, lines: dict[int, int]) -> Any:
    """A <value>, <component>s or a <list> as Python."""
    children = [c for c in element if local(c.tag) in ("value", "component", "list")]
    if not children:
        return None
    first = children[0]
    kind = local(first.tag)
    if kind == "component":
        return {c.get("name"): _value(c, display, lines) for c in children if local(c.tag) == "component"}
    if kind == "list":
        return [_value(item, display, lines) for item in first if local(item.tag) == "item"]
    if first.get(XSI + "nil") == "true":
        return None
    text = first.text or ""
    xsd_type = (first.get(XSI + "type") or "xsd:string").rpartition(":")[2]
    if xsd_type in ("decimal", "double", "float", "integer", "int", "long"):
        number = float(text)
        return int(number) if number.is_integer() and xsd_type in ("integer", "int", "long") else number
    if xsd_type == "boolean":
        return text.strip() == "true"
    if xsd_type == "date":
        return dt.date.fromisoformat(text.strip())
    if xsd_type == "string":
        return text
    raise DmnError(msg("dmn.tck_value_type", type=xsd_type), file=display, line=lines.get(id(first)),
                   construct=f"xsi:type {xsd_type}")


def read_cases(data: bytes, display: str) -> tuple[str, list[TckCase]]:
    """The model file name the cases are for, and the cases."""
    root, lines = parse_xml(data, display)
    if local(root.tag) != "testCases":
        raise DmnError(msg("dmn.not_tck"), file=display, line=1, suggestion=msg("dmn.not_tck.hint"))
    model = next((c.text or "" for c in root if local(c.tag) == "modelName"), "")
    cases = []
    for element in (c for c in root if local(c.tag) == "testCase"):
        inputs, expected, description = {}, [], None
        for child in element:
            kind = local(child.tag)
            if kind == "description":
                description = (child.text or "").strip() or None
            elif kind == "inputNode":
                inputs[child.get("name")] = _value(child, display, lines)
            elif kind == "resultNode":
                shown = next((c for c in child if local(c.tag) == "expected"), None)
                expected.append(Expected(child.get("name"), _value(shown, display, lines) if shown is not None else None))
        cases.append(TckCase(element.get("id") or str(len(cases) + 1), description, inputs, expected))
    return model.strip(), cases


def compile_model(imported: Imported, display: str):
    """The model's decisions compiled over its own inputs (a customer column each)."""
    columns = {"customer_id": {"aliases": ["customer_id"], "required": True}}
    columns.update({name: {"aliases": [name], "type": type_name} for name, type_name in imported.inputs.items()})
    raw = {"kamrules": 1, "datasets": {"customers": {"key": "customer_id", "columns": columns}},
           "decisions": plain(imported.decisions)}
    try:
        spec = RulebookSpec.model_validate(raw)
    except ValidationError as exc:
        raise RulebookInvalid([schema_error(imported.decisions, err, RulebookSpec) for err in exc.errors()]) from None
    source = RulebookSource(imported.decisions, {display: ""})
    source.raw = _root_with(imported.decisions)
    return RulebookCompiler(spec, source).compile()


def _root_with(decisions: YDict) -> YDict:
    root = YDict({"decisions": decisions})
    root.file, root.line = decisions.file, None
    root.key_lines["decisions"], root.key_files["decisions"] = None, decisions.file
    return root


def run_tck(model_path: Path, cases_path: Path) -> TckReport:
    model_name, cases = read_cases(cases_path.read_bytes(), cases_path.name)
    report = TckReport(model_name or model_path.name)
    try:
        imported = convert(read_model(model_path.read_bytes(), model_path.name))
        rulebook = compile_model(imported, model_path.name)
    except DmnError as error:
        report.outcomes = [Outcome(c.id, "unsupported", error.message) for c in cases]
        return report
    except RulebookInvalid as error:
        reason = error.errors[0].message if error.errors else error.message
        report.outcomes = [Outcome(c.id, "unsupported", reason) for c in cases]
        return report
    runnable, frames = [], []
    for case in cases:
        row, problem = _row(case, imported)
        if problem is not None:
            report.outcomes.append(Outcome(case.id, "unsupported", problem))
            continue
        runnable.append(case)
        frames.append(row)
    if runnable:
        frame = pl.DataFrame(frames, schema={"customer_id": pl.String} | {
            name: POLARS_TYPES[type_name] for name, type_name in imported.inputs.items()}, orient="row")
        try:
            result = PolarsEngine(rulebook, _AS_OF).evaluate(frame).frame
        except KamrulesError as error:
            report.outcomes += [Outcome(c.id, "failed", error.message) for c in runnable]
            return report
        rows = {row["customer_id"]: row for row in result.iter_rows(named=True)}
        hits = {d.id: d.hit for d in rulebook.decisions}
        for case in runnable:
            report.outcomes.append(_judge(case, rows[case.id], imported, hits))
    order = {c.id: i for i, c in enumerate(cases)}
    report.outcomes.sort(key=lambda o: order[o.case])
    return report


def _row(case: TckCase, imported: Imported) -> tuple[Optional[list], Optional[Text]]:
    values = {}
    for name, value in case.inputs.items():
        if isinstance(value, dict):
            for component, item in value.items():
                identifier = imported.names.get(f"{name}.{component}")
                if identifier is None:
                    return None, msg("dmn.tck_unknown_input", name=f"{name}.{component}")
                values[identifier] = item
        elif name in imported.names and imported.names[name] in imported.inputs:
            values[imported.names[name]] = value
        else:
            return None, msg("dmn.tck_unknown_input", name=name)
    for expected in case.expected:
        if expected.decision not in imported.results:
            return None, msg("dmn.tck_unknown_decision", name=expected.decision)
    return [case.id] + [values.get(name) for name in imported.inputs], None


def _judge(case: TckCase, row: dict, imported: Imported, hits: dict[str, str]) -> Outcome:
    for expected in case.expected:
        decision_id, components = imported.results[expected.decision]
        if components:
            columns = {name: row.get(identifier) for name, identifier in components.items()}
            if hits[decision_id] in LIST_HITS:
                width = max((len(v) for v in columns.values() if v), default=0)
                actual = [{name: (v[i] if v and i < len(v) else None) for name, v in columns.items()}
                          for i in range(width)] if any(v is not None for v in columns.values()) else None
            else:
                actual = columns if any(v is not None for v in columns.values()) else None
        else:
            actual = row.get(imported.names[expected.decision])
        ordered = hits[decision_id] != "collect"
        if not _same(expected.value, actual, ordered):
            return Outcome(case.id, "failed", msg("dmn.tck_mismatch", decision=expected.decision,
                                                  expected=_show(expected.value), actual=_show(actual)))
    return Outcome(case.id, "passed")


def _same(expected: Any, actual: Any, ordered: bool = True) -> bool:
    if expected is None or actual is None:
        return expected is None and (actual is None or actual == [])
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(_same(expected[k], actual[k]) for k in expected)
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return False
        if ordered:
            return all(_same(e, a) for e, a in zip(expected, actual))
        remaining = list(actual)
        for item in expected:
            match = next((i for i, a in enumerate(remaining) if _same(item, a)), None)
            if match is None:
                return False
            remaining.pop(match)
        return True
    return expected == actual


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return literal_text(value)
