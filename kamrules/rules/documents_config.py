"""Schema of the documents part of the rulebook (``rules/documents.yaml``), and the project's currency."""

from __future__ import annotations

import re
from functools import cache
from typing import Iterator, Literal, Optional

from babel.core import get_global
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..i18n import msg
from ..names import did_you_mean
from ..text import strip

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


BRAND_COLOR = "1F4E79"  # the templates' own accent: a run writes the company's brand_color in its place
PLACEHOLDER = re.compile(r"[（(]\s*(?:请填写|fill in)[^)）]*[)）]", re.I)  # what ``kamrules init`` leaves to fill in
IDENTITY = ("name", "address", "phone", "email", "signatory", "logo")  # what a client document should carry


class CompanySpec(BaseModel):
    """Our own company's details, available to templates as ``company.*`` (any keys). ``logo`` is a
    PNG or JPEG inside the project (on the cover as ``company.logo``, in the header as
    ``company.logo_small``); ``brand_color`` (hex RGB) replaces the templates' accent colour."""

    model_config = ConfigDict(extra="allow")
    name: str = ""
    short_name: Optional[str] = None
    address: Optional[str] = None
    phone: Optional[str] = None
    email: Optional[str] = None
    website: Optional[str] = None
    signatory: Optional[str] = None
    seal_text: Optional[str] = None  # the words of the company seal, under the signature
    logo: Optional[str] = None
    brand_color: str = BRAND_COLOR

    def unfinished(self) -> list[str]:
        """The company details a document sent to a client would lack: each of :data:`IDENTITY`
        that is empty or still the placeholder ``kamrules init`` wrote (``（请填写公司名称）``)."""
        return [key for key in IDENTITY if not getattr(self, key) or PLACEHOLDER.search(str(getattr(self, key)))]

    @field_validator("logo")
    @classmethod
    def _logo(cls, value: Optional[str]) -> Optional[str]:
        return value if value is None else relative_path(value, "company.logo", msg("documents.path.project"))

    @field_validator("brand_color")
    @classmethod
    def _brand(cls, value: str) -> str:
        return hex_color(value)


def hex_color(value) -> str:
    """Hex RGB as Excel and Word take it (``FFC7CE``; ``#FFC7CE`` is read the same)."""
    code = strip(str(value)).removeprefix("#")
    if not re.fullmatch(r"[0-9A-Fa-f]{6}", code):
        raise ValueError(msg("documents.color", value=value))
    return code.upper()


FILENAME_EXAMPLE = "{customer_id}_{name}.docx"
MAX_VALIDITY_DAYS = 36_525  # a hundred years: valid_until stays a date any program can hold


def filename_pieces(pattern: str) -> Iterator[tuple[bool, str]]:
    """The pieces of a document's file-name pattern: ``(False, text)`` and ``(True, field name)``.

    The pattern language is deliberately tiny: ``{field}`` is the value of a field (a plain name:
    no format spec, conversion, attribute or index, so ``{customer_id:>900000000}`` and
    ``{name.__class__}`` are refused), ``{{`` and ``}}`` are braces; a ValueError (a message,
    a hint) names anything else and where it is."""
    text, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char in "{}" and pattern.startswith(char * 2, i):
            text.append(char)
            i += 2
        elif char == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                raise _pattern_error(pattern, msg("documents.filename.unclosed", position=i + 1))
            field = pattern[i + 1:end]
            if not field.isidentifier():
                raise _pattern_error(pattern, msg("documents.filename.field", field=field[:60]))
            if text:
                yield False, "".join(text)
                text = []
            yield True, field
            i = end + 1
        elif char == "}":
            raise _pattern_error(pattern, msg("documents.filename.stray", position=i + 1))
        else:
            text.append(char)
            i += 1
    if text:
        yield False, "".join(text)


def _pattern_error(pattern: str, problem) -> ValueError:
    return ValueError(msg("documents.filename.pattern", pattern=pattern[:200], problem=problem),
                      msg("documents.filename.hint", example=FILENAME_EXAMPLE))


def filename_fields(pattern: str) -> list[str]:
    """The field names a file-name pattern uses (ValueError as :func:`filename_pieces`)."""
    return [piece for is_field, piece in filename_pieces(pattern) if is_field]


def fill_filename(pattern: str, values: dict) -> str:
    """The pattern with each ``{field}`` replaced by its value as text (missing: empty); a KeyError
    names a field ``values`` does not have."""
    return "".join(("" if values[piece] is None else str(values[piece])) if is_field else piece
                   for is_field, piece in filename_pieces(pattern))


_NOT_IN_PATH = re.compile(r'[<>:"\\|?*\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def relative_path(value: str, key: str, inside) -> str:
    """``value`` if it is a relative path (``/`` between folders) that stays inside its folder on
    Windows and Linux: no ``..``, no absolute path or drive, no character a file name cannot hold,
    no part that is blank, ends in a dot or space, or is a reserved device name (CON, NUL, …)."""
    parts = value.split("/")
    if value and len(value.encode("utf-8")) <= 200 and all(
            part and part not in (".", "..") and not _NOT_IN_PATH.search(part) and part == strip(part)
            and not part.endswith(".") and part.split(".")[0].lower() not in _RESERVED for part in parts):
        return value
    raise ValueError(msg("documents.path", setting=key, inside=inside, value=value[:200]))


class DocumentSpec(_Strict):
    id: str
    title: Optional[str] = None
    template: str
    for_: str = Field("true", alias="for")
    filename: str = FILENAME_EXAMPLE
    folder: str = "documents"
    validity_days: int = Field(90, ge=0, le=MAX_VALIDITY_DAYS)
    audience: Literal["client", "internal"] = "client"  # a client document sees only client fields
    money: Literal["full", "wan"] = "full"  # the one money style of the document's | amount

    @field_validator("filename")
    @classmethod
    def _filename(cls, value: str) -> str:
        filename_fields(value)
        return value

    @field_validator("folder")
    @classmethod
    def _folder(cls, value: str) -> str:
        return relative_path(value, "folder", msg("documents.path.run"))

    @field_validator("template")
    @classmethod
    def _template(cls, value: str) -> str:
        return relative_path(value, "template", msg("documents.path.templates"))


#: the customer sheet's first columns unless ``portfolio.lead`` names others
LEAD_COLUMNS = ("customer_id", "name", "manager", "tier", "key_account", "revenue_12m", "revenue_growth",
                "discount_pct", "credit_limit", "credit_status", "next_visit_date", "churn_risk")


class PortfolioSpec(_Strict):
    """The portfolio workbook: ``columns`` restricts the customer sheet (default: all); ``lead``
    names the columns a manager reads, shown first (those that exist), the others follow in a
    collapsed column group; ``alerts`` maps a sheet title to a condition, e.g.
    ``信用预警: "credit_status != '正常'"``."""

    template: Optional[str] = None  # an .xlsx in templates/ to fill instead of the built-in layout
    columns: Optional[list[str]] = None
    lead: list[str] = Field(default_factory=lambda: list(LEAD_COLUMNS))
    alerts: dict[str, str] = Field(default_factory=dict)
    tier_field: str = "tier"  # charted as the tier distribution
    status_field: str = "credit_status"  # credit exposure by status, coloured in the customer sheet
    exposure_field: str = "outstanding"
    status_colors: dict[str, str] = Field(default_factory=lambda: {"冻结": "FFC7CE", "预警": "FFEB9C"})

    @field_validator("template")
    @classmethod
    def _template(cls, value: Optional[str]) -> Optional[str]:
        return value if value is None else relative_path(value, "template", msg("documents.path.templates"))

    @field_validator("status_colors")
    @classmethod
    def _colors(cls, value: dict[str, str]) -> dict[str, str]:
        """Hex RGB as Excel takes it (``FFC7CE``; ``#FFC7CE`` is read the same)."""
        return {status: hex_color(color) for status, color in value.items()}


class VisitPlanSpec(_Strict):
    """How ``upcoming_visits`` is built for templates: ``count`` dates from the field ``first``,
    every ``every_days`` days (both are field names, e.g. decision outputs)."""

    first: str = "next_visit_date"
    every_days: str = "visit_interval_days"
    count: int = Field(4, ge=0, le=52)
    purposes: list[str] = Field(default_factory=lambda: ["业务回顾与需求沟通"])
