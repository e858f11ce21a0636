"""pydantic's validation errors as located, bilingual RulebookErrors.

Each error's ``loc`` path is looked up in the YAML tree to find its file, line and column, and
the rule, decision or dataset it belongs to; an unknown key gets "did you mean" among the keys
the schema allows at that place.
"""

from __future__ import annotations

import typing
from typing import Any, Optional

from pydantic import BaseModel

from ..errors import RulebookError
from ..i18n import Text, msg
from ..names import any_of, did_you_mean
from ..yamlio import YDict, locate

LIST_SECTIONS = ("constraints", "documents")


def schema_error(raw: YDict, err: dict, model: type[BaseModel]) -> RulebookError:
    """A pydantic error as a RulebookError at its YAML file:line; unknown keys get "did you mean"
    among the keys ``model`` allows there."""
    loc = tuple(err["loc"])
    loc = tuple(part for part in loc if not (isinstance(part, str) and part.startswith("function-")))
    file, line, column = locate(raw, loc)
    suggestion = None
    if err["type"] == "extra_forbidden":
        allowed = allowed_keys(model, loc[:-1])
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
