"""Schema of the ledger part of the rulebook (``rules/ledger.yaml``).

```yaml
ledger: {date_order: ymd, header_search_rows: 30}
datasets:
  customers:
    sheets: [客户档案, customers]          # sheet-name aliases (CSV: file name)
    key: customer_id                      # unique key (one column or a list)
    columns:
      customer_id: {aliases: [客户编号, 客户ID], type: text, required: true}
      settlement: {aliases: [结算方式], type: enum, values: [月结, 现结]}
      industry: 行业                        # shorthand: one alias, type text
  orders:
    columns:
      customer_id: {aliases: [客户编号], required: true, references: customers.customer_id}
```

More mapping power::

      amount: {expr: "quantity * unit_price", type: money}   # computed from other columns
      currency: {value: CNY}                                 # constant
      settlement: {aliases: [结算方式], map: {月付: 月结, 现金: 现结}, type: enum, values: [月结, 现结]}
    orders:
      where: "status != '已取消'"          # rows that do not match are skipped and counted
    customers:
      derive: {from: orders, name: customer_name}   # no customer sheet: one customer per id in orders

Order of work for each sheet (:mod:`kamrules.ledger.rows`): totals rows and repeated header rows
are skipped; every cell is typed; then ``where`` decides which rows count (a row it leaves out
is skipped, whatever else is wrong with it, unless a value ``where`` needs could not be read:
then it is validated like any row); only then are ``required``, ``key`` and ``references``
checked on the rows that count. So ``where: not is_null(customer_id)`` skips guest sales
without a customer id rather than rejecting them for the missing required value.

A derived dataset may carry attributes from the source rows of each id, with a reducer::

      derive:
        from: orders
        by: order_date                       # orders the rows for first/latest (default: the
                                             # source's first required date column, else file order)
        columns:
          region: most_frequent(country)     # the value on most rows (ties: the latest of them)
          name: latest(customer_name)        # the value of the latest row that has one
          since: min(order_date)             # also: first(...), max(...)

Empty values are ignored by every reducer; an id whose rows are all empty gets an empty value.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..i18n import msg
from .normal import normalise

ColumnType = Literal["text", "integer", "number", "money", "percent", "date", "bool", "enum"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ColumnSpec(_Strict):
    aliases: list[str] = Field(default_factory=list)
    type: ColumnType = "text"
    required: bool = False
    min: Optional[float] = None
    max: Optional[float] = None
    values: Optional[list[str]] = None
    references: Optional[str] = None
    title: Optional[str] = None
    map: Optional[dict[str, Any]] = None  # raw cell text -> value, applied before typing
    expr: Optional[str] = None  # computed from the dataset's other columns
    value: Optional[Any] = None  # the same value on every row
    client: bool = False  # a customers column a client document may show (the customer's own details)

    @property
    def read_from_sheet(self) -> bool:
        return self.expr is None and self.value is None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data):
        if isinstance(data, str):
            return {"aliases": [data]}
        if isinstance(data, list):
            return {"aliases": data}
        return data

    @model_validator(mode="after")
    def _enum_needs_values(self):
        if self.type == "enum" and not self.values:
            raise ValueError(msg("ledger.config.enum_values"))
        if self.expr is not None and self.value is not None:
            raise ValueError(msg("ledger.config.expr_and_value"))
        if not self.read_from_sheet and self.aliases:
            raise ValueError(msg("ledger.config.aliases"))
        if self.references is not None and self.references.count(".") != 1:
            raise ValueError(msg("ledger.config.references"))
        return self


REDUCERS = ("first", "latest", "most_frequent", "min", "max")
_REDUCTION = re.compile(r"^\s*([A-Za-z_]\w*)\s*\(\s*([^()\s]+)\s*\)\s*$")


def parse_reduction(text: str) -> tuple[str, str]:
    """``most_frequent(country)`` → ``("most_frequent", "country")``; ValueError if malformed."""
    found = _REDUCTION.match(str(text))
    if not found:
        raise ValueError(msg("ledger.config.derive_syntax", text=str(text), reducers=", ".join(REDUCERS)))
    reducer, column = found.groups()
    if reducer not in REDUCERS:
        raise ValueError(msg("ledger.config.derive_reducer", reducer=reducer, reducers=", ".join(REDUCERS)))
    return reducer, column


def _reduction(text: Any) -> str:
    if not isinstance(text, str):
        raise ValueError(msg("ledger.config.derive_syntax", text=str(text), reducers=", ".join(REDUCERS)))
    parse_reduction(text)
    return text


class DeriveSpec(_Strict):
    """Build this dataset from another one's distinct ids when no sheet provides it."""

    from_: str = Field(alias="from")
    name: Optional[str] = None  # column of the source dataset holding the name (first non-empty)
    by: Optional[str] = None  # date column of the source that orders its rows for first/latest
    columns: dict[str, Annotated[str, BeforeValidator(_reduction)]] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @property
    def reductions(self) -> dict[str, tuple[str, str]]:
        """target column -> (reducer, source column); ``name:`` as ``first(name)``."""
        found = {target: parse_reduction(text) for target, text in self.columns.items()}
        if self.name and "name" not in found:
            found = {"name": ("first", self.name), **found}
        return found


class DatasetSpec(_Strict):
    title: Optional[str] = None
    sheets: list[str] = Field(default_factory=list)
    required: bool = False
    key: Optional[Union[str, list[str]]] = None
    columns: dict[str, ColumnSpec]
    where: Optional[str] = None
    derive: Optional[DeriveSpec] = None
    skip_totals: bool = True

    @property
    def key_columns(self) -> list[str]:
        if self.key is None:
            return []
        return [self.key] if isinstance(self.key, str) else list(self.key)

    @model_validator(mode="after")
    def _key_is_a_column(self):
        for name in self.key_columns:
            if name not in self.columns:
                raise ValueError(msg("ledger.config.key_column", name=name))
        if self.derive is not None:
            if self.derive.name and "name" in self.derive.columns:
                raise ValueError(msg("ledger.config.derive_name_twice"))
            for target in self.derive.columns:
                if target not in self.columns:
                    raise ValueError(msg("ledger.config.derive_target", column=target,
                                         columns=", ".join(self.columns)))
                if target in self.key_columns:
                    raise ValueError(msg("ledger.config.derive_key", column=target))
                if not self.columns[target].read_from_sheet:
                    raise ValueError(msg("ledger.config.derive_fixed", column=target))
        return self


def alias_clashes(spec: DatasetSpec) -> list[tuple[str, str, str]]:
    """``(alias, first column, second column)`` for every header two columns both claim: the
    second could never be read, since a header goes to the first column that lists it."""
    owner: dict[str, str] = {}
    clashes = []
    for name, column in spec.columns.items():
        if not column.read_from_sheet:
            continue
        for alias in [name, *column.aliases]:
            first = owner.setdefault(normalise(alias), name)
            if first != name:
                clashes.append((alias, first, name))
    return clashes


class LedgerSettings(_Strict):
    date_order: Literal["ymd", "dmy", "mdy"] = "ymd"
    header_search_rows: int = Field(30, ge=1, le=1000)
    extensions: list[str] = Field(default_factory=lambda: [".xlsx", ".xlsm", ".xls", ".csv"])

    @field_validator("extensions")
    @classmethod
    def _dotted(cls, value: list[str]) -> list[str]:
        return [v.lower() if v.startswith(".") else "." + v.lower() for v in value]
