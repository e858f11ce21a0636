"""Vectorised coercion of text cells to typed values, with a reason for every failure.

Each coercer takes a text expression and returns ``(value, error)``: ``error`` is a text
expression that is null when the cell converted (or was blank) and otherwise says why not.
Everything stays in Polars, so a million-row sheet costs a few column passes.

Accepted forms: dates as Excel serials, ``2025-01-03``, ``2025/1/3``,
``2025.1.3``, ``2025年1月3日``, ``20250103``, with a weekday (``2018-01-01 星期五``) or a
time; ``03/04/2025`` follows ``ledger.date_order`` and is refused under the default
``ymd`` instead of being guessed. Numbers and money with ``¥ ￥ $ , 元``, full-width digits,
``万``/``亿``, ``(123)`` or ``123-`` for negatives. Percents as ``12%`` or ``0.12``.
Booleans as 是/否, Y/N, yes/no, true/false, 1/0, √/×.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from ..i18n import msg
from ..text import WHITESPACE, WHITESPACE_CLASS
from .config import ColumnSpec

BLANKS = WHITESPACE  # one definition of whitespace with the renderers (kamrules.text)
EXCEL_EPOCH = dt.date(1899, 12, 30)
TRUE_WORDS = ["是", "y", "yes", "true", "1", "√", "✓", "对", "有"]
FALSE_WORDS = ["否", "n", "no", "false", "0", "×", "✗", "错", "无"]

NOT_A_NUMBER = "not a number"
NOT_MONEY = "not an amount of money"
NOT_A_DATE = "not a valid date"
NO_SUCH_DAY = "no such day: "  # + "2018-02 28": the month and how many days it has
AMBIGUOUS_DATE = "ambiguous date (day/month order unknown)"
NOT_A_PERCENT = "not a percentage"
AMBIGUOUS_PERCENT = "a bare number above 1 is ambiguous as a percentage"
NOT_A_BOOL = "not a yes/no value"
NOT_WHOLE = "not a whole number"
NOT_ONE_OF = "not one of: "
BELOW = "below the minimum "
ABOVE = "above the maximum "
SUGGESTIONS = {
    NOT_A_NUMBER: msg("ledger.suggest.number"),
    NOT_MONEY: msg("ledger.suggest.money"),
    NOT_A_DATE: msg("ledger.suggest.date"),
    AMBIGUOUS_DATE: msg("ledger.suggest.ambiguous_date"),
    NOT_A_PERCENT: msg("ledger.suggest.percent"),
    AMBIGUOUS_PERCENT: msg("ledger.suggest.percent"),
    NOT_A_BOOL: msg("ledger.suggest.bool"),
}
# The reasons above stay plain English inside Polars (stable, cheap); these are how they are shown.
REASONS = {
    NOT_A_NUMBER: msg("ledger.cell.not_a_number"),
    NOT_WHOLE: msg("ledger.cell.not_whole"),
    NOT_MONEY: msg("ledger.cell.not_money"),
    NOT_A_DATE: msg("ledger.cell.not_a_date"),
    AMBIGUOUS_DATE: msg("ledger.cell.ambiguous_date"),
    NOT_A_PERCENT: msg("ledger.cell.not_a_percent"),
    AMBIGUOUS_PERCENT: msg("ledger.cell.ambiguous_percent"),
    NOT_A_BOOL: msg("ledger.cell.not_a_bool"),
}
def _no_such_day(rest: str):
    month, days = rest.split()
    first = dt.date.fromisoformat(month + "-01")
    return msg("ledger.cell.no_such_day", first=first, days=int(days))


PREFIXED = (
    (NO_SUCH_DAY, _no_such_day),
    (NOT_ONE_OF, lambda rest: msg("ledger.cell.not_one_of", values=rest)),
    (BELOW, lambda rest: msg("ledger.cell.below_minimum", minimum=rest)),
    (ABOVE, lambda rest: msg("ledger.cell.above_maximum", maximum=rest)),
)


def explain(reason: str, fixed: dict = REASONS, prefixed: tuple = PREFIXED) -> str:
    """The English ``reason`` a coercion gave as a message that can also be shown in Chinese:
    ``fixed`` texts by equality, then ``(prefix, build)`` pairs given the rest of the text;
    anything else unchanged."""
    found = fixed.get(reason)
    if found is not None:
        return found
    for prefix, build in prefixed:
        if reason.startswith(prefix):
            return build(reason[len(prefix):])
    return reason

_WEEKDAY = r"\s*[(\[]?(星期|周|礼拜)[一二三四五六日天七][)\]]?\s*|\s*\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?\b"


_NEEDS_CLEANING = f"^{WHITESPACE_CLASS}|{WHITESPACE_CLASS}$|[\u3000\u00a0]"


def clean_text(cell: pl.Expr) -> pl.Expr:
    """Trim ordinary and full-width spaces, make inner ones ordinary spaces; a blank cell is null.

    Most cells need none of it: one regex test picks the few that do, and (measured on a
    million-row sheet) the whole expression then costs a sixth of cleaning every cell."""
    needs = cell.str.contains(_NEEDS_CLEANING)
    text = cell.str.strip_chars(BLANKS).str.replace_all("\u3000", " ", literal=True).str.replace_all(
        "\u00a0", " ", literal=True)
    return pl.when(needs).then(_empty_is_null(text)).otherwise(_empty_is_null(cell))


def _empty_is_null(text: pl.Expr) -> pl.Expr:
    return pl.when(text == "").then(None).otherwise(text)


def _fail(condition: pl.Expr, message: str) -> pl.Expr:
    return pl.when(condition).then(pl.lit(message)).otherwise(None)


def _numeric_parts(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Strip currency and grouping; return (number text, scale) handling 万/亿 and negatives."""
    t = text.str.normalize("NFKC").str.to_lowercase()
    t = t.str.replace_all(r"[\s,¥$元]|rmb|cny", "")
    negative = t.str.contains(r"^\(.*\)$") | (t.str.ends_with("-") & ~t.str.starts_with("-"))
    t = t.str.replace_all(r"[()]", "").str.strip_chars_end("-")
    scale = (pl.when(t.str.ends_with("亿")).then(pl.lit(1e8))
             .when(t.str.ends_with("万")).then(pl.lit(1e4)).otherwise(pl.lit(1.0)))
    t = t.str.strip_chars_end("万亿")
    sign = pl.when(negative).then(pl.lit(-1.0)).otherwise(pl.lit(1.0))
    return t, scale * sign


def to_number(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    digits, factor = _numeric_parts(text)
    value = digits.cast(pl.Float64, strict=False) * factor
    value = pl.when(value.is_finite()).then(value).otherwise(None)
    return value, _fail(text.is_not_null() & value.is_null(), NOT_A_NUMBER)


def to_integer(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    number, error = to_number(text)
    whole = number == number.round(0)
    value = pl.when(whole).then(number.cast(pl.Int64, strict=False)).otherwise(None)
    return value, pl.coalesce(error, _fail(number.is_not_null() & ~whole, NOT_WHOLE))


def to_money(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    number, error = to_number(text)
    return (number.round(2, mode="half_away_from_zero"),
            pl.when(error.is_not_null()).then(pl.lit(NOT_MONEY))
            .otherwise(None))


def to_percent(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    t = text.str.normalize("NFKC").str.strip_chars(BLANKS)
    has_sign = t.str.ends_with("%")
    number, error = to_number(t.str.strip_chars_end("%"))
    value = pl.when(has_sign).then(number / 100).otherwise(number)
    too_big = ~has_sign & (number.abs() > 1)
    return (pl.when(too_big).then(None).otherwise(value),
            pl.coalesce(pl.when(error.is_not_null()).then(pl.lit(NOT_A_PERCENT)),
                        _fail(number.is_not_null() & too_big, AMBIGUOUS_PERCENT)))


def to_bool(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    t = text.str.normalize("NFKC").str.strip_chars(BLANKS).str.to_lowercase()
    value = (pl.when(t.is_in(TRUE_WORDS)).then(pl.lit(True))
             .when(t.is_in(FALSE_WORDS)).then(pl.lit(False)).otherwise(None))
    return value, _fail(text.is_not_null() & value.is_null(), NOT_A_BOOL)


def to_date(text: pl.Expr, date_order: str = "ymd") -> tuple[pl.Expr, pl.Expr]:
    t = text.str.normalize("NFKC").str.to_lowercase().str.replace_all(_WEEKDAY, " ").str.strip_chars(BLANKS)
    t = t.str.replace_all("年|月", "-").str.replace_all("[日号]", "").str.replace_all(r"[/.](\d)", "-$1")
    t = t.str.replace(r"^(\d{4})(\d{2})(\d{2})$", "$1-$2-$3")
    serial = t.str.extract(r"^(\d{1,6}(?:-\d+)?)$", 1).str.replace("-", ".").cast(pl.Float64, strict=False)
    ymd = t.str.extract_groups(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*$")
    other = t.str.extract_groups(r"^(\d{1,2})-(\d{1,2})-(\d{4})(?:[ t]\d{1,2}:\d{2}(?::\d{2})?)?\s*$")
    y, m, d = ymd.struct.field("1"), ymd.struct.field("2"), ymd.struct.field("3")
    a, b, year = other.struct.field("1"), other.struct.field("2"), other.struct.field("3")
    if date_order == "dmy":
        y, m, d = pl.coalesce(y, year), pl.coalesce(m, b), pl.coalesce(d, a)
    elif date_order == "mdy":
        y, m, d = pl.coalesce(y, year), pl.coalesce(m, a), pl.coalesce(d, b)
    iso = pl.concat_str(y, pl.lit("-"), m.str.zfill(2), pl.lit("-"), d.str.zfill(2))
    from_text = iso.str.to_date("%Y-%m-%d", strict=False)
    from_serial = pl.when(serial > 60).then(
        pl.lit(EXCEL_EPOCH) + pl.duration(days=serial.floor().cast(pl.Int64))).otherwise(None)
    value = pl.coalesce(from_text, from_serial)
    value = pl.when(value.dt.year().is_between(1900, 2200)).then(value).otherwise(None)
    ambiguous = y.is_null() & a.is_not_null() if date_order == "ymd" else pl.lit(False)
    # 2018-02-29: a real month and a day number a month can have, but not this month
    year, month, day = (part.cast(pl.Int32, strict=False) for part in (y, m, d))
    days = pl.date(year.clip(1900, 2200), month.clip(1, 12), 1).dt.month_end().dt.day()
    no_such_day = (year.is_between(1900, 2200) & month.is_between(1, 12) & day.is_between(29, 31) & (day > days))
    error = (pl.when(text.is_null() | value.is_not_null()).then(None)
             .when(ambiguous).then(pl.lit(AMBIGUOUS_DATE))
             .when(no_such_day).then(pl.format(NO_SUCH_DAY + "{}-{} {}", year, month.cast(pl.String).str.zfill(2),
                                               days))
             .otherwise(pl.lit(NOT_A_DATE)))
    return value, error


def to_text(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    return text, pl.lit(None, dtype=pl.String)


def to_enum(text: pl.Expr, values: list[str]) -> tuple[pl.Expr, pl.Expr]:
    ok = text.is_in(values)
    return (pl.when(ok).then(text).otherwise(None),
            _fail(text.is_not_null() & ~ok, NOT_ONE_OF + ", ".join(values)))


_PLAIN_DATE = r"^\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2})?$"


def _fast_number(text: pl.Expr) -> pl.Expr:
    value = text.cast(pl.Float64, strict=False)
    return pl.when(value.is_finite()).then(value).otherwise(None)


def _fast_integer(text: pl.Expr) -> pl.Expr:
    number = _fast_number(text)
    return pl.when(number == number.round(0)).then(number.cast(pl.Int64, strict=False)).otherwise(None)


def _fast_date(text: pl.Expr) -> pl.Expr:
    value = pl.when(text.str.contains(_PLAIN_DATE)).then(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
    return pl.when(value.dt.year().is_between(1900, 2200)).then(value).otherwise(None)


FAST_PARSERS = {
    "number": _fast_number,
    "integer": _fast_integer,
    "money": lambda text: _fast_number(text).round(2, mode="half_away_from_zero"),
    "date": _fast_date,
}


def fast_value(text: pl.Expr, spec: ColumnSpec) -> pl.Expr | None:
    """The value of a cell already in the canonical form calamine writes (``1234.5``,
    ``2025-01-03 00:00:00``), or null when it needs the full parser. Where it is not null it
    equals what :func:`coerce` gives (a property test holds the two together); most cells of
    a big ledger take this path, and only the rest pay for the regex work. None when the
    column's type has no fast path."""
    parser = FAST_PARSERS.get(spec.type)
    return parser(text) if parser else None


def coerce(text: pl.Expr, spec: ColumnSpec, date_order: str, fast: bool = False) -> tuple[pl.Expr, pl.Expr]:
    """(typed value, error message) for one column, plus min/max checks. With ``fast``, for
    rows known to be in canonical form, the value comes from :func:`fast_value`."""
    kind = spec.type
    if fast and kind in FAST_PARSERS:
        value, error = fast_value(text, spec), pl.lit(None, dtype=pl.String)
    elif kind == "date":
        value, error = to_date(text, date_order)
    elif kind == "enum":
        value, error = to_enum(text, spec.values or [])
    else:
        value, error = {"text": to_text, "integer": to_integer, "number": to_number,
                        "money": to_money, "percent": to_percent, "bool": to_bool}[kind](text)
    if kind in ("integer", "number", "money", "percent"):
        if spec.min is not None:
            error = pl.coalesce(error, _fail(value < spec.min, f"{BELOW}{spec.min:g}"))
        if spec.max is not None:
            error = pl.coalesce(error, _fail(value > spec.max, f"{ABOVE}{spec.max:g}"))
    return value, error
