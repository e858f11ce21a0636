"""Rule tests: ``rules/tests/*.yaml`` cases, run by ``kamrules test``.

```yaml
- name: 150万以上为A级
  given: {revenue_total: 1600000, tenure_years: 3, margin_pct_12m: 0.3, complaints_12m: 0}
  expect: {tier: A, discount_pct: 0.09, key_account: true}
  rules: {discount: [D-A, D-loyal]}      # optional: which rule(s) must decide each decision
  as_of: 2026-10-31                       # optional, default 2026-01-01 — tests must not depend on today
- name: 两条规则冲突
  given: {age: 20}
  conflicts: {approval: [R1, R3]}         # expected conflicts: decision -> the rules in conflict ([] = any)
```

A conflict the case does not expect is a failure, shown with the rules involved.

Each case is one customer. Fields not in ``given`` are missing (null), exactly as a customer
with no such data; derived metrics (``rules/metrics.yaml``) are computed from ``given``
unless given themselves. Numbers are compared with a tolerance (``tolerance:`` per case,
default 1e-6), dates as dates, lists in order, everything else exactly.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import RulebookError, RulebookInvalid
from ..i18n import msg
from ..metrics import INTERNAL_COLUMNS
from ..names import did_you_mean
from ..types import POLARS_TYPES, cast_to
from ..yamlio import YList, load_yaml_document, locate
from ..expr.compiler import compile_expression
from .decisions import CompiledRulebook
from .engine import KEY, TRACE, PolarsEngine
from .schema_errors import schema_error

DEFAULT_AS_OF = dt.date(2026, 1, 1)


class CaseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    given: dict[str, Any] = Field(default_factory=dict)
    expect: dict[str, Any] = Field(default_factory=dict)
    rules: dict[str, Any] = Field(default_factory=dict)
    conflicts: Union[list[str], dict[str, list[str]]] = Field(default_factory=dict)
    as_of: dt.date = DEFAULT_AS_OF

    def expected_conflicts(self) -> dict[str, list[str]]:
        return dict.fromkeys(self.conflicts, []) if isinstance(self.conflicts, list) else dict(self.conflicts)
    tolerance: float = Field(1e-6, ge=0)


@dataclass
class Mismatch:
    field: str
    expected: Any
    actual: Any


@dataclass
class CaseResult:
    name: str
    file: str
    line: Optional[int]
    mismatches: list[Mismatch]
    trace: dict[str, Optional[str]]
    fired: set[str] = field(default_factory=set)
    conflicts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # decision -> the rules in conflict

    @property
    def passed(self) -> bool:
        return not self.mismatches


@dataclass
class RuleTestReport:
    results: list[CaseResult]
    rule_ids: list[str]

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def unexercised(self) -> list[str]:
        fired = set().union(*(r.fired for r in self.results)) if self.results else set()
        return [rule_id for rule_id in self.rule_ids if rule_id not in fired]


def case_files(project: Path) -> list[Path]:
    folder = project / "rules" / "tests"
    return sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")) if folder.is_dir() else []


def load_cases(project: Path, rulebook: CompiledRulebook) -> list[tuple[CaseSpec, str, Optional[int]]]:
    """Every case with its file and line; all problems are raised together."""
    cases, errors = [], []
    for path in case_files(project):
        name = path.relative_to(project).as_posix()
        try:
            data = load_yaml_document(path, name, YList, msg("testing.not_a_list"), root=project)
        except RulebookError as exc:
            errors.append(exc)
            continue
        if data is None:
            continue
        for index, raw in enumerate(data):
            line = data.line_of(index)
            try:
                case = CaseSpec.model_validate(raw)
            except ValidationError as exc:
                errors.extend(schema_error(data, {**err, "loc": (index, *err["loc"])}, CaseSpec)
                              for err in exc.errors())
                continue
            errors.extend(_check_names(case, rulebook, data, index))
            cases.append((case, name, line))
    if errors:
        raise RulebookInvalid(errors)
    return cases


def _check_names(case: CaseSpec, rulebook: CompiledRulebook, data: YList, index: int) -> list[RulebookError]:
    fields = rulebook.field_types
    decisions = {d.id for d in rulebook.decisions}
    owner = rulebook.output_owner()
    problems = []
    for key in case.given:
        if key in owner:
            file, line, column = locate(data, (index, "given", key))
            problems.append(RulebookError(
                msg("testing.given_output", name=key, decision=owner[key].id),
                file=file, line=line, column=column, rule_id=case.name, suggestion=msg("testing.given_output.hint")))
    conflicts = decisions | {f"constraint:{c.id}" for c in rulebook.constraints}
    for section, known in (("given", fields), ("expect", fields), ("rules", decisions), ("conflicts", conflicts)):
        entries = getattr(case, section)
        for position, key in enumerate(entries):
            if key not in known:
                file, line, column = locate(data, (index, section, position if isinstance(entries, list) else key))
                message = (msg("testing.unknown_decision", section=section, name=key) if section in ("rules", "conflicts")
                           else msg("testing.unknown_field", section=section, name=key))
                problems.append(RulebookError(message,
                                              file=file, line=line, column=column, rule_id=case.name,
                                              suggestion=did_you_mean(str(key), known)))
    return problems


def run_rule_tests(project: Path, rulebook: CompiledRulebook) -> RuleTestReport:
    """Every case, each a portfolio of one customer. Cases with the same as_of are evaluated
    together in one frame (quotas do not compare them); a case whose customer_id another case
    also gives runs on its own."""
    cases = load_cases(project, rulebook)
    ids = [case.given.get("customer_id", case.name) for case, _, _ in cases]
    shared = {i for i in ids if ids.count(i) > 1}
    results: dict[int, CaseResult] = {}
    batches: dict[dt.date, list[int]] = {}
    for index, (case, file, line) in enumerate(cases):
        if ids[index] in shared:
            results[index] = run_case(case, file, line, rulebook)
        else:
            batches.setdefault(case.as_of, []).append(index)
    for as_of, indexes in batches.items():
        engine = PolarsEngine(rulebook, as_of, each_alone=True)
        frame = pl.concat([given_frame(cases[i][0], rulebook) for i in indexes], how="vertical")
        result = engine.evaluate(frame)
        rows = {row[KEY]: row for row in result.frame.iter_rows(named=True)}
        conflicts: dict[str, dict[str, tuple[str, ...]]] = {}
        for issue in result.issues:
            conflicts.setdefault(issue.customer_id, {})[issue.decision] = issue.rule_ids
        for i in indexes:
            case, file, line = cases[i]
            results[i] = judge_case(case, file, line, rulebook, rows[ids[i]], conflicts.get(str(ids[i]), {}))
    return RuleTestReport([results[i] for i in range(len(cases))], coverage_ids(rulebook))


def coverage_ids(rulebook: CompiledRulebook) -> list[str]:
    """What a complete suite exercises: every rule, every default, every constraint fix."""
    ids = []
    for decision in rulebook.decisions:
        ids += [r.id for r in decision.rules]
        if decision.default is not None:
            ids.append(f"{decision.id}:default")
    return ids + [c.id for c in rulebook.constraints if c.fix]


def given_frame(case: CaseSpec, rulebook: CompiledRulebook) -> pl.DataFrame:
    """A one-customer feature table: given values typed like the real fields, the rest null."""
    decision_outputs = {name for d in rulebook.decisions for name in d.outputs}
    derived = {d.name for d in rulebook.derived}
    base = {name: type_name for name, type_name in rulebook.field_types.items()
            if name not in decision_outputs and name not in derived and name != "as_of"}
    base.setdefault("customer_id", "text")
    values = {"customer_id": case.given.get("customer_id", case.name)}
    columns = []
    for name, type_name in base.items():
        value = values.get(name, case.given.get(name))
        columns.append(pl.Series(name, [value], dtype=POLARS_TYPES[type_name], strict=False))
    frame = pl.DataFrame(columns)
    for spec in rulebook.derived:
        if spec.name in case.given:
            expr = pl.lit(case.given[spec.name])
        else:
            expr = compile_expression(spec.expr.node, _resolver(case.as_of), source=spec.expr.text,
                                      field_types=rulebook.field_types)
        frame = frame.with_columns(cast_to(expr, spec.type).alias(spec.name))
    return frame.drop(INTERNAL_COLUMNS, strict=False)


def _resolver(as_of: dt.date):
    return lambda name: pl.lit(as_of) if name == "as_of" else pl.col(name)


def run_case(case: CaseSpec, file: str, line: Optional[int], rulebook: CompiledRulebook) -> CaseResult:
    """One case alone: a one-customer frame through the engine."""
    result = PolarsEngine(rulebook, case.as_of).evaluate(given_frame(case, rulebook))
    conflicts = {issue.decision: issue.rule_ids for issue in result.issues}
    return judge_case(case, file, line, rulebook, result.frame.row(0, named=True), conflicts)


def judge_case(case: CaseSpec, file: str, line: Optional[int], rulebook: CompiledRulebook, row: dict,
               conflicts: dict[str, tuple[str, ...]]) -> CaseResult:
    """The case's expectations against its customer's row and conflicts."""
    trace = {d.id: row.get(TRACE + d.id) for d in rulebook.decisions}
    mismatches = [Mismatch(name, expected, row.get(name)) for name, expected in case.expect.items()
                  if not values_equal(expected, row.get(name), case.tolerance)]
    for decision, expected in case.rules.items():
        wanted = [expected] if isinstance(expected, str) else list(expected)
        actual = _ids(trace.get(decision))
        if actual != wanted:
            mismatches.append(Mismatch(f"rules.{decision}", wanted, actual))
    mismatches += _conflict_mismatches(case.expected_conflicts(), conflicts)
    fired = {rule_id for value in trace.values() for rule_id in _ids(value)}
    fired |= {rule_id for ids in conflicts.values() for rule_id in ids}  # a conflict is a case that exercises them
    fired |= {f"{decision}:default" for decision, value in trace.items() if _ids(value)[:1] == ["default"]}
    return CaseResult(case.name, file, line, mismatches, trace, fired, conflicts)


def _conflict_mismatches(expected: dict[str, list[str]], actual: dict[str, tuple[str, ...]]) -> list[Mismatch]:
    """Expected conflicts that did not happen (or between other rules), and unexpected ones."""
    mismatches = []
    for decision, rules in expected.items():
        found = actual.get(decision)
        if found is None or (rules and sorted(rules) != sorted(found)):
            mismatches.append(Mismatch(f"conflicts.{decision}", rules or msg("testing.a_conflict"),
                                       list(found) if found else msg("testing.no_conflict")))
    for decision, found in actual.items():
        if decision not in expected:
            mismatches.append(Mismatch(f"conflicts.{decision}", msg("testing.no_conflict"), list(found)))
    return mismatches


def _ids(trace: Optional[str]) -> list[str]:
    if not trace:
        return []
    return [part.strip() for part in trace.replace(";", ",").split(",") if part.strip()]


def values_equal(expected: Any, actual: Any, tolerance: float) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=tolerance)
    if isinstance(actual, dt.date) and isinstance(expected, str):
        return actual.isoformat() == expected
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(values_equal(e, a, tolerance) for e, a in zip(expected, actual))
    return expected == actual
