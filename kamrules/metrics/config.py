"""Schema of the metrics part of the rulebook (``rules/metrics.yaml``).

```yaml
metrics:
  abc: {by: revenue_12m, a: 0.80, b: 0.95}   # cumulative-share cut-offs (80/15/5)
  aggregates:                                # per-customer aggregates of a dataset's rows
    revenue_30d: {sum: orders.amount, window: 30d, type: money, title: 近30天销售额}
    big_orders_12m: {count: orders.order_id, where: "amount >= 10000", window: 12m}
    products_12m: {distinct: orders.product, window: 12m, title: 近12个月采购品类数}
    last_payment: {max: receivables.paid_date, date: paid_date, type: date}
  derived:                                   # evaluated in order; may use earlier ones
    累计消费: revenue_total
    月均采购额: {expr: "revenue_12m / 12", type: money, title: 近12个月月均采购额}
```

An aggregate names exactly one of ``sum count mean min max distinct`` with a
``dataset.column``. ``count`` counts rows where the column is filled in, ``distinct`` the
different filled-in values. ``where`` is a rule-language condition over the dataset's
columns (and ``as_of``). ``window`` is ``Nd`` (the last N days), ``Nm`` (the last N
calendar months), ``ytd`` (from 1 January of the as-of year) or ``all`` (the default); every
window ends on as_of inclusive and nothing dated after as_of counts. ``date`` names the
column that places a row in the window; orders, receivables, complaints and visits have a
default (:data:`DATE_COLUMNS`); with ``window: all``, a ``date:`` column still drops rows
dated after as_of.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import ExpressionError
from ..i18n import msg
from ..names import all_of

MetricType = Literal["text", "integer", "number", "money", "percent", "date", "bool"]

AGGREGATE_KINDS = ("sum", "count", "mean", "min", "max", "distinct")
DATE_COLUMNS = {"orders": "order_date", "receivables": "invoice_date", "complaints": "date", "visits": "date"}
NUMERIC_TYPES = ("integer", "number", "money", "percent")
KIND_TYPES = {"sum": NUMERIC_TYPES, "mean": NUMERIC_TYPES, "count": ("integer", "number"),
              "distinct": ("integer", "number"), "min": NUMERIC_TYPES + ("date",),
              "max": NUMERIC_TYPES + ("date",)}

_WINDOW = re.compile(r"(?:([1-9]\d{0,4})([dm])|ytd|all)")
_COLUMN_REF = re.compile(r"([^.\s]+)\.([^.\s]+)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AbcSpec(_Strict):
    by: str = "revenue_12m"
    a: float = Field(0.80, gt=0, lt=1)
    b: float = Field(0.95, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self):
        if self.b <= self.a:
            raise ValueError(msg("metrics.abc_order", a=self.a, b=self.b))
        return self


@dataclass(frozen=True)
class Window:
    """A parsed window: ``unit`` is ``d`` (days), ``m`` (calendar months), ``ytd`` or ``all``."""

    unit: str
    count: int = 0


def parse_window(text: str) -> Window:
    """``30d`` → Window('d', 30); ``12m`` → Window('m', 12); ``ytd``; ``all``. ValueError otherwise."""
    match = _WINDOW.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(msg("metrics.window", text=text))
    if match.group(1):
        return Window(match.group(2), int(match.group(1)))
    return Window(text.strip())


class AggregateSpec(_Strict):
    """One declarative aggregate; see the module docstring."""

    sum: Optional[str] = None
    count: Optional[str] = None
    mean: Optional[str] = None
    min: Optional[str] = None
    max: Optional[str] = None
    distinct: Optional[str] = None
    where: Optional[str] = None
    window: str = "all"
    date: Optional[str] = None
    type: Optional[MetricType] = None
    title: Optional[str] = None

    @field_validator(*AGGREGATE_KINDS)
    @classmethod
    def _column_ref(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not _COLUMN_REF.fullmatch(value):
            raise ValueError(msg("metrics.column_ref", value=value))
        return value

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value) -> str:
        parse_window(value)
        return value.strip()

    @field_validator("where")
    @classmethod
    def _where(cls, value: Optional[str]) -> Optional[str]:
        if value is not None:
            _check_syntax(value)
        return value

    @model_validator(mode="after")
    def _consistent(self):
        given = [kind for kind in AGGREGATE_KINDS if getattr(self, kind) is not None]
        if not given:
            raise ValueError(msg("metrics.aggregate_kind_missing"))
        if len(given) > 1:
            raise ValueError(msg("metrics.aggregate_kinds", given=all_of(given)))
        if self.type is not None and self.type not in KIND_TYPES[self.kind]:
            allowed = ", ".join(KIND_TYPES[self.kind])
            raise ValueError(msg("metrics.aggregate_type", type=self.type, kind=self.kind, allowed=allowed))
        if self.parsed_window.unit != "all" and self.date_column is None:
            raise ValueError(msg("metrics.window_date", window=self.window, dataset=self.dataset,
                                 defaults=", ".join(DATE_COLUMNS)))
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in AGGREGATE_KINDS if getattr(self, kind) is not None)

    @property
    def dataset(self) -> str:
        return getattr(self, self.kind).split(".")[0]

    @property
    def column(self) -> str:
        return getattr(self, self.kind).split(".")[1]

    @property
    def parsed_window(self) -> Window:
        return parse_window(self.window)

    @property
    def date_column(self) -> Optional[str]:
        """The ``date:`` given, else the dataset's default date column, else None."""
        return self.date or DATE_COLUMNS.get(self.dataset)

    @property
    def result_type(self) -> str:
        """``type:`` if given; count/distinct → integer; min/max of the date column → date; else number."""
        if self.type is not None:
            return self.type
        if self.kind in ("count", "distinct"):
            return "integer"
        if self.kind in ("min", "max") and self.column == self.date_column:
            return "date"
        return "number"


def _check_syntax(text: str) -> None:
    from ..expr.parser import parse  # here, not at the top: kamrules.rules imports this module
    try:
        parse(text)
    except ExpressionError as exc:
        where = (msg("metrics.syntax.in", text=text) if exc.position is None
                 else msg("metrics.syntax.at", text=text, position=exc.position))
        problem = msg("metrics.syntax", message=exc.message, where=where)
        raise ValueError(msg("metrics.syntax.hint", problem=problem, hint=exc.suggestion) if exc.suggestion
                         else problem) from None


class DerivedSpec(_Strict):
    expr: str
    type: MetricType = "number"
    title: Optional[str] = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data):
        if isinstance(data, (str, int, float)) and not isinstance(data, bool):
            return {"expr": str(data)}
        return data


class PredictiveSpec(_Strict):
    """``predictive: {model: bgnbd, horizon: 12m, discount_rate: 0.08}`` adds the metrics
    ``expected_purchases_<horizon>``, ``p_alive``, ``expected_avg_order_value`` and
    ``clv_<horizon>`` (see :mod:`kamrules.metrics.predictive`). ``margin`` turns expected
    revenue into expected margin: a share (0.25) or the name of a per-customer metric
    (``margin_pct_12m``); 1 (the default) means revenue. When the ledger cannot support a fit
    (fewer than ``min_repeat_customers`` repeat buyers, or the optimiser does not settle),
    ``if_unfit: empty`` leaves the four metrics empty and reports why; ``error`` stops the run."""

    model: Literal["bgnbd"] = "bgnbd"
    horizon: str = "12m"
    discount_rate: float = Field(0.0, ge=0, lt=1)  # a year's discount rate, e.g. 0.08
    margin: Union[float, str] = 1.0
    time_unit: Literal["week", "day"] = "week"
    min_repeat_customers: int = Field(20, ge=2)
    if_unfit: Literal["empty", "error"] = "empty"  # too little history: leave the metrics empty (warned), or stop

    @field_validator("horizon", mode="before")
    @classmethod
    def _horizon(cls, value) -> str:
        window = parse_window(value)
        if window.unit not in ("d", "m"):
            raise ValueError(msg("metrics.horizon", value=value))
        return value.strip()

    @property
    def parsed_horizon(self) -> Window:
        return parse_window(self.horizon)

    @property
    def unit_days(self) -> float:
        return 7.0 if self.time_unit == "week" else 1.0


class MetricsSpec(_Strict):
    client: list[str] = Field(default_factory=list)  # metrics a client document may show; the rest are internal
    abc: AbcSpec = Field(default_factory=AbcSpec)
    predictive: Optional[PredictiveSpec] = None
    aggregates: dict[str, AggregateSpec] = Field(default_factory=dict)
    derived: dict[str, DerivedSpec] = Field(default_factory=dict)
