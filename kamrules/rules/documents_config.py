"""Schema of the documents part of the rulebook (``rules/documents.yaml``), and the project's currency."""

from __future__ import annotations

from functools import cache
from typing import Optional

from babel.core import get_global
from pydantic import BaseModel, ConfigDict, Field

from ..i18n import msg
from ..names import did_you_mean

DEFAULT_CURRENCY = "CNY"
# Offered first when a code is misspelt: the currencies kamrules's users meet most.
COMMON_CURRENCIES = ("CNY", "HKD", "USD", "EUR", "GBP", "JPY", "MOP", "TWD", "SGD", "KRW", "AUD", "CAD", "CHF")
# What people write instead of a code, and the code they mean.
CURRENCY_WORDS = {"RMB": "CNY", "CNH": "CNY", "YUAN": "CNY", "人民币": "CNY", "元": "CNY", "¥": "CNY", "￥": "CNY",
                  "£": "GBP", "英镑": "GBP", "$": "USD", "US$": "USD", "美元": "USD", "€": "EUR", "欧元": "EUR",
                  "HK$": "HKD", "港币": "HKD", "港元": "HKD", "YEN": "JPY", "日元": "JPY", "円": "JPY", "JP¥": "JPY"}


@cache
def currencies() -> tuple[str, ...]:
    """The ISO 4217 codes of every currency some territory uses today, from babel's CLDR data."""
    return tuple(sorted({code for history in get_global("territory_currencies").values()
                         for code, _start, end, tender in history if end is None and tender}))


@cache
def _codes() -> frozenset[str]:
    return frozenset(currencies())


def currency_code(value: str) -> str:
    """``currency:`` as written (``GBP``), or a ValueError whose second argument says which code was meant."""
    if value == DEFAULT_CURRENCY or value in _codes():
        return value
    word = CURRENCY_WORDS.get(value.strip().upper())
    hint = (msg("names.did_you_mean", names=repr(word)) if word else
            did_you_mean(value, COMMON_CURRENCIES) or did_you_mean(value, currencies()))
    raise ValueError(msg("currency.unknown", value=value), hint)


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
