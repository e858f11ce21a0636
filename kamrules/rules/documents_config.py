"""Schema of the documents part of the rulebook (``rules/documents.yaml``)."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CompanySpec(BaseModel):
    """Our own company's details, available to templates as ``company.*`` (any keys)."""

    model_config = ConfigDict(extra="allow")
    name: str = ""


class DocumentSpec(_Strict):
    id: str
    title: Optional[str] = None
    template: str
    for_: str = Field("true", alias="for")
    filename: str = "{customer_id}_{name}.docx"
    folder: str = "documents"
    validity_days: int = Field(90, ge=0)


class PortfolioSpec(_Strict):
    """The portfolio workbook: ``columns`` restricts the customer sheet (default: all);
    ``alerts`` maps a sheet title to a condition, e.g. ``信用预警: "credit_status != '正常'"``."""

    template: Optional[str] = None  # an .xlsx in templates/ to fill instead of the built-in layout
    columns: Optional[list[str]] = None
    alerts: dict[str, str] = Field(default_factory=dict)
    tier_field: str = "tier"  # charted as the tier distribution
    status_field: str = "credit_status"  # credit exposure by status, coloured in the customer sheet
    exposure_field: str = "outstanding"
    status_colors: dict[str, str] = Field(default_factory=lambda: {"冻结": "FFC7CE", "预警": "FFEB9C"})


class VisitPlanSpec(_Strict):
    """How ``upcoming_visits`` is built for templates: ``count`` dates from the field ``first``,
    every ``every_days`` days (both are field names, e.g. decision outputs)."""

    first: str = "next_visit_date"
    every_days: str = "visit_interval_days"
    count: int = Field(4, ge=0, le=52)
    purposes: list[str] = Field(default_factory=lambda: ["业务回顾与需求沟通"])
