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
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..i18n import msg

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


class DeriveSpec(_Strict):
    """Build this dataset from another one's distinct ids when no sheet provides it."""

    from_: str = Field(alias="from")
    name: Optional[str] = None  # column of the source dataset holding the name

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


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
        return self


class LedgerSettings(_Strict):
    date_order: Literal["ymd", "dmy", "mdy"] = "ymd"
    header_search_rows: int = Field(30, ge=1, le=1000)
    extensions: list[str] = Field(default_factory=lambda: [".xlsx", ".xlsm", ".xls", ".csv"])

    @field_validator("extensions")
    @classmethod
    def _dotted(cls, value: list[str]) -> list[str]:
        return [v.lower() if v.startswith(".") else "." + v.lower() for v in value]
