"""Load the rulebook: every ``rules/*.yaml`` merged, schema-validated, expressions parsed.

Errors are collected, not raised one at a time: :class:`RulebookInvalid` carries every
:class:`RulebookError`, each with its YAML file, line and rule id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ExpressionError, ProjectError, RulebookError, RulebookInvalid
from ..files import check, refusal
from ..i18n import msg
from ..ledger.config import DatasetSpec, LedgerSettings
from ..metrics.config import MetricsSpec
from ..yamlio import YDict, YList, load_yaml_document, locate
from .calendar_config import CalendarSpec
from .plan_config import DEFAULT_TIMEZONE, RepsSpec, TasksSpec, WorkingDaysSpec, check_timezone
from .documents_config import DEFAULT_CURRENCY, CompanySpec, DocumentSpec, PortfolioSpec, VisitPlanSpec, currencies, \
    currency_code
from .model import ConstraintSpec, DecisionSpec
from ..limits import current as current_limits
from ..limits import env_name
from .dmn import import_model, rules_section
from .schema_errors import LIST_SECTIONS, schema_error

MAPPING_SECTIONS = ("datasets", "decisions")


class RulebookSpec(BaseModel):
    """The merged rulebook, as validated. Each section usually lives in its own file."""

    model_config = ConfigDict(extra="forbid")
    kamrules: Literal[1] = 1
    locale: str = "zh_CN"
    currency: str = Field(DEFAULT_CURRENCY, json_schema_extra=lambda schema: schema.update(enum=list(currencies())),
                          description="The currency of every amount (ISO 4217 code): number formats of the workbooks, "
                                      "the money, wan and daxie filters of the documents.")
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    datasets: dict[str, DatasetSpec] = Field(default_factory=dict)
    metrics: MetricsSpec = Field(default_factory=MetricsSpec)
    decisions: dict[str, DecisionSpec] = Field(default_factory=dict)
    constraints: list[ConstraintSpec] = Field(default_factory=list)
    company: CompanySpec = Field(default_factory=CompanySpec)
    documents: list[DocumentSpec] = Field(default_factory=list)
    portfolio: PortfolioSpec = Field(default_factory=PortfolioSpec)
    visit_plan: VisitPlanSpec = Field(default_factory=VisitPlanSpec)
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    timezone: Optional[str] = Field(None, description="The project's IANA time zone (Asia/Shanghai unless set): "
                                    "visit times in the calendars, and the date a run without --as-of takes.")
    working_days: WorkingDaysSpec = Field(default_factory=WorkingDaysSpec)
    reps: RepsSpec = Field(default_factory=RepsSpec)
    tasks: TasksSpec = Field(default_factory=TasksSpec)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: Optional[str]) -> Optional[str]:
        return value if value is None else check_timezone(value)

    @property
    def zone_name(self) -> str:
        """``timezone:``, else the older ``calendar.timezone``, else Asia/Shanghai."""
        return self.timezone or self.calendar.timezone or DEFAULT_TIMEZONE

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return currency_code(value)


@dataclass
class RulebookSource:
    """What was read: the merged raw tree (for locations), each file's SHA-256, the project."""

    raw: YDict
    hashes: dict[str, str]
    project: Optional[Path] = None

    @property
    def digest(self) -> str:
        joined = "\n".join(f"{name}:{digest}" for name, digest in sorted(self.hashes.items()))
        return hashlib.sha256(joined.encode()).hexdigest()


def rule_files(rules_dir: Path) -> list[Path]:
    return sorted(p for p in rules_dir.glob("*.yaml") if p.is_file()) + \
        sorted(p for p in rules_dir.glob("*.yml") if p.is_file())


LOCALE_LINE = re.compile(r"""^locale:[ \t]*["']?([A-Za-z]{2}[A-Za-z_-]*)""", re.M)


def project_locale(project) -> str | None:
    """The ``locale:`` of a project's rules/*.yaml, read without loading the rulebook.

    Errors about the rulebook itself must be shown in its language, so this cannot wait for
    a rulebook that loads.
    """
    return _top_level_value(project, LOCALE_LINE)


TIMEZONE_LINE = re.compile(r"""^timezone:[ \t]*["']?([A-Za-z][A-Za-z0-9_+\-/]*)""", re.M)


def project_today(project) -> dt.date:
    """Today in the project's ``timezone:`` (Asia/Shanghai unless set): the date a run without
    ``--as-of`` is as of, read without loading the rulebook (a zone that is not one counts as the
    default here; ``check`` reports it)."""
    import zoneinfo

    name = _top_level_value(project, TIMEZONE_LINE) or DEFAULT_TIMEZONE
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        zone = zoneinfo.ZoneInfo(DEFAULT_TIMEZONE)
    return dt.datetime.now(zone).date()


def _top_level_value(project, pattern: re.Pattern) -> str | None:
    try:
        for path in rule_files(Path(project) / "rules"):
            if check(path, project) is not None:  # a pipe would block here; load_rulebook says why
                continue
            with open(path, encoding="utf-8", errors="replace") as handle:
                found = pattern.search(handle.read(1 << 20))
            if found:
                return found.group(1)
    except OSError:
        return None
    return None


def read_sources(project: Path) -> RulebookSource:
    """Read and merge ``project/rules/*.yaml``; syntax and merge errors are all collected."""
    rules_dir = project / "rules"
    if not rules_dir.is_dir():
        raise ProjectError(msg("rulebook.no_rules_folder"), path=str(project),
                           suggestion=msg("rulebook.no_rules_folder.hint"))
    files = rule_files(rules_dir)
    models = sorted(p for p in rules_dir.glob("*.dmn") if p.is_file())
    if not files and not models:
        raise ProjectError(msg("rulebook.no_yaml_files"), path=str(rules_dir))
    merged, hashes, errors = _new_root(), {}, []
    for path in files + models:
        name = path.relative_to(project).as_posix()
        refused = check(path, project)
        if refused is not None:
            errors.append(RulebookError(refusal(refused), file=name, suggestion=msg("file.refused.hint")))
            continue
        hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        try:
            data = _dmn_section(path, name) if path.suffix == ".dmn" else \
                load_yaml_document(path, name, YDict, msg("rulebook.not_a_mapping"), root=project)
        except RulebookError as exc:
            errors.append(exc)
            continue
        if data is not None:
            errors.extend(_merge(merged, data, name))
    if errors:
        raise RulebookInvalid(errors)
    return RulebookSource(merged, hashes, project)


def _dmn_section(path: Path, name: str) -> YDict:
    """A DMN model kept in rules/: its decision tables (and a kamrules export's constraints),
    merged like another YAML file."""
    limits = current_limits()
    size = path.stat().st_size
    if size > limits.max_yaml_bytes:
        raise RulebookError(msg("yaml.too_big", size=size, limit=limits.max_yaml_bytes), file=name,
                            suggestion=msg("yaml.too_big.hint", env=env_name("max_yaml_bytes")))
    return rules_section(import_model(path, name))


def _new_root() -> YDict:
    root = YDict()
    root.file, root.line = "rules", None
    return root


def _merge(merged: YDict, data: YDict, name: str) -> list[RulebookError]:
    errors = []
    for key, value in data.items():
        line = data.line_of(key)
        if key == "kamrules":
            if value != 1:
                errors.append(RulebookError(msg("rulebook.format", value=value),
                                            file=name, line=line, loc=("kamrules",)))
            merged.setdefault("kamrules", value)
            merged.key_lines.setdefault(key, line)
            merged.key_files.setdefault(key, name)
        elif key in MAPPING_SECTIONS and isinstance(value, YDict):
            errors.extend(_merge_mapping(merged, key, value, name, line))
        elif key in LIST_SECTIONS and isinstance(value, YList):
            _merge_list(merged, key, value, name, line)
        elif key in merged:
            errors.append(RulebookError(
                msg("rulebook.section_twice", name=key, file=merged.file_of(key), line=merged.line_of(key)),
                file=name, line=line, loc=(key,), suggestion=msg("rulebook.section_twice.hint")))
        else:
            merged[key] = value
            merged.key_lines[key], merged.key_files[key] = line, name
            merged.key_columns[key] = data.column_of(key)
    return errors


def _section(merged: YDict, key: str, kind: type, name: str, line: int):
    """The merged container for a section, created on first use with its first location."""
    target = merged.get(key)
    if target is None:
        target = kind()
        target.file, target.line = name, line
        merged[key] = target
        merged.key_lines[key], merged.key_files[key] = line, name
    return target


def _merge_mapping(merged: YDict, key: str, value: YDict, name: str, line: int) -> list[RulebookError]:
    target = _section(merged, key, YDict, name, line)
    errors = []
    for item_key, item in value.items():
        item_line = value.line_of(item_key)
        if item_key in target:
            what = msg("rulebook.dataset") if key == "datasets" else msg("rulebook.decision")
            errors.append(RulebookError(
                msg("rulebook.defined_twice", what=what, name=item_key, file=target.file_of(item_key),
                    line=target.line_of(item_key)),
                file=name, line=item_line, rule_id=str(item_key), loc=(key, item_key)))
            continue
        target[item_key] = item
        target.key_lines[item_key], target.key_files[item_key] = item_line, name
        target.key_columns[item_key] = value.column_of(item_key)
    return errors


def _merge_list(merged: YDict, key: str, value: YList, name: str, line: int) -> None:
    target = _section(merged, key, YList, name, line)
    for index, item in enumerate(value):
        target.append(item)
        target.item_lines.append(value.line_of(index))
        target.item_files.append(name)
        target.item_columns.append(value.column_of(index))


def validate_spec(source: RulebookSource) -> RulebookSpec:
    """Schema-validate the merged tree; every pydantic error becomes a located RulebookError."""
    try:
        return RulebookSpec.model_validate(dict(source.raw))
    except ValidationError as exc:
        errors = [_with_hint(schema_error(source.raw, err, RulebookSpec), err) for err in exc.errors()]
        raise RulebookInvalid(sorted(errors, key=lambda e: (e.file or "", e.line or 0))) from None


def _with_hint(error: RulebookError, err: dict) -> RulebookError:
    """A validator's own suggestion, given as ``ValueError(message, suggestion)`` (a currency's "did you mean")."""
    reason = (err.get("ctx") or {}).get("error")
    if error.suggestion is None and isinstance(reason, ValueError) and len(reason.args) > 1:
        error.suggestion = reason.args[1]
    return error


def expression_error(exc: ExpressionError, where: "Located", rule_id: str | None) -> RulebookError:
    return RulebookError(exc.message, file=where.file, line=where.line, rule_id=rule_id, loc=where.loc,
                         expression=exc.expression, suggestion=exc.suggestion, sheet=where.sheet, cell=where.cell,
                         column=where.column)


@dataclass
class Located:
    """Where a piece of the rulebook came from (a YAML line, or a cell of an Excel table)."""

    file: str | None
    line: int | None
    loc: tuple = ()
    sheet: str | None = None
    cell: str | None = None
    column: int | None = None

    @classmethod
    def at(cls, raw: YDict, loc: tuple) -> "Located":
        file, line, column = locate(raw, loc)
        return cls(file, line, loc, column=column)


@dataclass
class ErrorSink:
    """Collects RulebookErrors during compilation."""

    errors: list[RulebookError] = field(default_factory=list)

    def add(self, error: RulebookError) -> None:
        self.errors.append(error)

    def raise_if_any(self) -> None:
        if self.errors:
            raise RulebookInvalid(sorted(self.errors, key=lambda e: (e.file or "", e.line or 0)))
