"""Load the rulebook: every ``rules/*.yaml`` merged, schema-validated, expressions parsed.

Errors are collected, not raised one at a time: :class:`RulebookInvalid` carries every
:class:`RulebookError`, each with its YAML file, line and rule id.
"""

from __future__ import annotations

import hashlib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ExpressionError, ProjectError, RulebookError, RulebookInvalid
from ..i18n import Text, msg
from ..ledger.config import DatasetSpec, LedgerSettings
from ..metrics.config import MetricsSpec
from ..render.calendar_config import CalendarSpec
from ..render.config import CompanySpec, DocumentSpec, PortfolioSpec, VisitPlanSpec
from ..yamlio import YDict, YList, load_yaml_document, locate
from .model import ConstraintSpec, DecisionSpec
from ..names import any_of, did_you_mean

MAPPING_SECTIONS = ("datasets", "decisions")
LIST_SECTIONS = ("constraints", "documents")


class RulebookSpec(BaseModel):
    """The merged rulebook, as validated. Each section usually lives in its own file."""

    model_config = ConfigDict(extra="forbid")
    kamrules: Literal[1] = 1
    locale: str = "zh_CN"
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


def read_sources(project: Path) -> RulebookSource:
    """Read and merge ``project/rules/*.yaml``; syntax and merge errors are all collected."""
    rules_dir = project / "rules"
    if not rules_dir.is_dir():
        raise ProjectError(msg("rulebook.no_rules_folder"), path=str(project),
                           suggestion=msg("rulebook.no_rules_folder.hint"))
    files = rule_files(rules_dir)
    if not files:
        raise ProjectError(msg("rulebook.no_yaml_files"), path=str(rules_dir))
    merged, hashes, errors = _new_root(), {}, []
    for path in files:
        name = path.relative_to(project).as_posix()
        hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        try:
            data = load_yaml_document(path, name, YDict, msg("rulebook.not_a_mapping"))
        except RulebookError as exc:
            errors.append(exc)
            continue
        if data is not None:
            errors.extend(_merge(merged, data, name))
    if errors:
        raise RulebookInvalid(errors)
    return RulebookSource(merged, hashes, project)


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
        errors = [schema_error(source.raw, err) for err in exc.errors()]
        raise RulebookInvalid(sorted(errors, key=lambda e: (e.file or "", e.line or 0))) from None


def schema_error(raw: YDict, err: dict) -> RulebookError:
    loc = tuple(err["loc"])
    loc = tuple(part for part in loc if not (isinstance(part, str) and part.startswith("function-")))
    file, line, column = locate(raw, loc)
    suggestion = None
    if err["type"] == "extra_forbidden":
        allowed = allowed_keys(RulebookSpec, loc[:-1])
        message = msg("rulebook.unknown_key", name=loc[-1])
        suggestion = did_you_mean(str(loc[-1]), allowed) or (
            msg("rulebook.allowed_keys", keys=", ".join(sorted(allowed))) if allowed else None)
    elif err["type"] == "missing":
        message = msg("rulebook.missing_key", name=loc[-1])
    else:
        message = pydantic_message(err)
        if loc:
            message = msg("rulebook.at", path=_dotted(loc), message=message)
    return RulebookError(message, file=file, line=line, rule_id=rule_id_at(raw, loc), loc=loc,
                         suggestion=suggestion, column=column)


def pydantic_message(err: dict) -> str:
    """pydantic's message for ``err`` as a Text that can say itself in Chinese too.

    The English is pydantic's own wording; an error type not known here (or worded differently
    by another pydantic version) keeps pydantic's English text.
    """
    english = err["msg"].removeprefix("Value error, ")
    ctx = err.get("ctx") or {}
    reason = ctx.get("error")
    if err["type"] == "value_error" and isinstance(reason, ValueError) and reason.args \
            and isinstance(reason.args[0], Text):
        return reason.args[0]  # our own validators raise ValueError(msg(...))
    build = _PYDANTIC.get(err["type"])
    try:
        text = build(ctx) if build else None
    except (KeyError, TypeError, ValueError):
        text = None
    return text if text is not None and text == english else english


def _alternatives(expected: str) -> Text | str:
    """pydantic's ``'a', 'b' or 'c'`` with its "or" in either language."""
    first, _, last = str(expected).rpartition(" or ")
    return any_of([first, last]) if first else str(expected)


def _bound(value):
    """A limit as pydantic-core writes it: 1.0 as 1."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _items(ctx: dict) -> Text:
    kinds = {"List": msg("rulebook.pydantic.list"), "Dictionary": msg("rulebook.pydantic.dictionary")}
    return msg("rulebook.pydantic.too_short", field_type=kinds.get(ctx["field_type"], ctx["field_type"]),
               min_length=ctx["min_length"], actual_length=ctx["actual_length"],
               s="" if ctx["min_length"] == 1 else "s")


# pydantic error type -> its message, from err["ctx"], in the words of pydantic-core
_PYDANTIC = {
    "literal_error": lambda ctx: msg("rulebook.pydantic.literal", expected=_alternatives(ctx["expected"])),
    "enum": lambda ctx: msg("rulebook.pydantic.literal", expected=_alternatives(ctx["expected"])),
    "int_parsing": lambda ctx: msg("rulebook.pydantic.int_parsing"),
    "int_type": lambda ctx: msg("rulebook.pydantic.int_type"),
    "int_from_float": lambda ctx: msg("rulebook.pydantic.int_from_float"),
    "float_parsing": lambda ctx: msg("rulebook.pydantic.float_parsing"),
    "float_type": lambda ctx: msg("rulebook.pydantic.float_type"),
    "bool_parsing": lambda ctx: msg("rulebook.pydantic.bool_parsing"),
    "bool_type": lambda ctx: msg("rulebook.pydantic.bool_type"),
    "string_type": lambda ctx: msg("rulebook.pydantic.string_type"),
    "dict_type": lambda ctx: msg("rulebook.pydantic.dict_type"),
    "list_type": lambda ctx: msg("rulebook.pydantic.list_type"),
    "date_type": lambda ctx: msg("rulebook.pydantic.date_type"),
    "model_type": lambda ctx: msg("rulebook.pydantic.model_type", class_name=ctx["class_name"]),
    "date_from_datetime_parsing": lambda ctx: msg("rulebook.pydantic.date_parsing", error=ctx["error"]),
    "greater_than_equal": lambda ctx: msg("rulebook.pydantic.ge", ge=_bound(ctx["ge"])),
    "greater_than": lambda ctx: msg("rulebook.pydantic.gt", gt=_bound(ctx["gt"])),
    "less_than_equal": lambda ctx: msg("rulebook.pydantic.le", le=_bound(ctx["le"])),
    "less_than": lambda ctx: msg("rulebook.pydantic.lt", lt=_bound(ctx["lt"])),
    "string_too_short": lambda ctx: msg("rulebook.pydantic.string_too_short", min_length=ctx["min_length"],
                                        s="" if ctx["min_length"] == 1 else "s"),
    "too_short": _items,
}


def _dotted(loc: tuple) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")


def rule_id_at(raw: YDict, loc: tuple) -> Optional[str]:
    """The decision / rule / constraint / column id the location belongs to."""
    if len(loc) < 2:
        return None
    section, key = loc[0], loc[1]
    if section == "decisions":
        decision = raw.get("decisions", {}).get(key)
        if len(loc) >= 4 and loc[2] == "rules" and isinstance(decision, dict):
            rules = decision.get("rules")
            if isinstance(rules, list) and isinstance(loc[3], int) and loc[3] < len(rules):
                rule = rules[loc[3]]
                if isinstance(rule, dict) and "id" in rule:
                    return str(rule["id"])
        return str(key)
    if section in LIST_SECTIONS and isinstance(key, int):
        items = raw.get(section, [])
        if key < len(items) and isinstance(items[key], dict) and "id" in items[key]:
            return str(items[key]["id"])
    if section == "datasets":
        return ".".join(str(p) for p in loc[1:4:2]) if len(loc) >= 4 and loc[2] == "columns" else str(key)
    return None


def allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names (with aliases) of the model found at ``loc``, for "did you mean"."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    current = _model_in(current)
    if current is None:
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _step(annotation: Any, part: Any) -> Any:
    """The annotation one key or index below ``annotation``."""
    candidates = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Union else (annotation,)
    for candidate in candidates:
        if typing.get_origin(candidate) in (dict, list):
            return typing.get_args(candidate)[-1]
        model = _model_in(candidate)
        if model is not None and isinstance(part, str):
            f = model.model_fields.get(part) or next(
                (f for f in model.model_fields.values() if f.alias == part), None)
            return f.annotation if f else None
    return None


def _model_in(annotation: Any) -> Optional[type[BaseModel]]:
    """The model class an annotation is, or is Optional of."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is typing.Union:
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None


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
