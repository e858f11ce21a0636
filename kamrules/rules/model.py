"""Schema of the decision part of the rulebook (``rules/policy.yaml``), format 1."""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..i18n import msg

OutputType = Literal["text", "integer", "number", "money", "percent", "date", "bool"]
HitPolicy = Literal["unique", "first", "priority", "any", "collect", "rule_order", "output_order",
                    "collect_sum", "collect_min", "collect_max", "collect_count"]
LIST_POLICIES = ("collect", "rule_order", "output_order")  # every match, as a list
EMPTY_IS_AN_ANSWER = LIST_POLICIES + ("collect_sum", "collect_min", "collect_max", "collect_count")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleSpec(_Strict):
    id: str
    when: Union[str, bool] = True
    then: dict[str, Any] = Field(default_factory=dict)
    note: Optional[str] = None
    priority: Optional[int] = None


class TableRowSpec(_Strict):
    """A row written as a mapping: ``{cells: [inputs…, outputs…], note: 依据}``."""

    cells: list[Any]
    note: Optional[str] = None


class TableSpec(_Strict):
    """Either ``inputs`` + ``rows`` in YAML, or ``file`` (+ ``sheet``): an .xlsx under rules/.

    A list row holds exactly one cell per input and per output; with ``notes: true`` it holds
    one more, the note, as its last cell. A mapping row gives its note by name."""

    inputs: Optional[list[str]] = Field(None, min_length=1)
    rows: Optional[list[Union[list[Any], TableRowSpec]]] = Field(None, min_length=1)
    notes: bool = False
    file: Optional[str] = None
    sheet: Optional[str] = None

    @model_validator(mode="after")
    def _one_source(self):
        if self.file is None and (self.inputs is None or self.rows is None):
            raise ValueError(msg("model.table_source"))
        if self.file is not None and (self.inputs is not None or self.rows is not None):
            raise ValueError(msg("model.table_both"))
        return self


class QuotaSpec(_Strict):
    """At most ``max`` customers keep the output true, ranked by ``rank_by``: one field, or a list
    whose later fields break ties of the earlier ones. Customers without a value of a key rank
    after those with one (then by the next key); customer id decides only when every key ties."""

    max: int = Field(ge=0)
    rank_by: Union[str, list[str]]
    descending: bool = True
    output: Optional[str] = None

    @property
    def keys(self) -> list[str]:
        return [self.rank_by] if isinstance(self.rank_by, str) else list(self.rank_by)


class DecisionSpec(_Strict):
    title: Optional[str] = None
    hit: HitPolicy = "first"
    outputs: dict[str, OutputType] = Field(min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)
    values: dict[str, list[Any]] = Field(default_factory=dict)  # allowed output values, highest priority first
    rules: Optional[list[RuleSpec]] = None
    table: Optional[TableSpec] = None
    default: Optional[dict[str, Any]] = None
    quota: Optional[QuotaSpec] = None
    client: Union[bool, list[str]] = False  # true: every output may be shown to the client; a list: those outputs

    @model_validator(mode="after")
    def _one_form(self):
        if (self.rules is None) == (self.table is None):
            raise ValueError(msg("model.decision_form"))
        return self


class ConstraintSpec(_Strict):
    id: str
    title: Optional[str] = None
    check: str
    fix: Optional[dict[str, Any]] = None
    error: bool = False

    @model_validator(mode="after")
    def _fix_or_error(self):
        if not self.fix and not self.error:
            raise ValueError(msg("model.constraint_action"))
        return self
