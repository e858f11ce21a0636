"""Schema of the metrics part of the rulebook (``rules/metrics.yaml``).

```yaml
metrics:
  abc: {by: revenue_12m, a: 0.80, b: 0.95}   # cumulative-share cut-offs (80/15/5)
  derived:                                   # evaluated in order; may use earlier ones
    累计消费: revenue_total
    月均采购额: {expr: "revenue_12m / 12", type: money, title: 近12个月月均采购额}
```
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

MetricType = Literal["text", "integer", "number", "money", "percent", "date", "bool"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AbcSpec(_Strict):
    by: str = "revenue_12m"
    a: float = Field(0.80, gt=0, lt=1)
    b: float = Field(0.95, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self):
        if self.b <= self.a:
            raise ValueError(f"b ({self.b}) must be greater than a ({self.a}): both are cumulative shares")
        return self


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


class MetricsSpec(_Strict):
    abc: AbcSpec = Field(default_factory=AbcSpec)
    derived: dict[str, DerivedSpec] = Field(default_factory=dict)
