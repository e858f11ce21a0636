"""Template filters: money, 万元, percentages, dates and 大写金额, formatted for a locale.

Every filter accepts None (renders ``—``) so an empty metric never breaks a document. Amounts
are in the project's ``currency:`` (CNY unless the rules say otherwise): ``money`` writes its
symbol the locale's way with as many decimals as the currency has (JPY none), ``wan`` counts
万 of it in Chinese, and ``daxie`` refuses any currency but CNY.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_name, get_currency_precision

from ..i18n import msg
from ..rules.documents_config import DEFAULT_CURRENCY, currency_code

EMPTY = "—"
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")

MAX_DIGITS = 10  # decimals a filter may show: number(10), pct(10), wan(10)
LARGEST_EXPONENT = 400  # |value| below 10**400: every float, and a Python int of up to 400 digits
# Enough precision to round any such value to MAX_DIGITS (+2 for a percentage) decimals exactly;
# babel and quantize otherwise use the default 28 digits and raise InvalidOperation beyond them.
# (babel rounds half to even in the context's rounding, as with the default context.)
_CONTEXT = decimal.Context(prec=LARGEST_EXPONENT + MAX_DIGITS + 10, rounding=decimal.ROUND_HALF_EVEN)


def _shown(value: Any) -> str:
    """A value as an error message shows it: its repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _number(value: Any) -> Decimal | None:
    """``value`` as a finite Decimal; None for None and for what is not a finite number (NaN, ±∞:
    shown like a missing value, as the workbook leaves such a cell empty). Text that is a
    number is read as one; anything else (text, a date, true/false) is a ValueError naming it."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(msg("filters.not_a_number", value=_shown(value)))
    if isinstance(value, float):
        number = Decimal(repr(value)) if math.isfinite(value) else None
    elif isinstance(value, int):
        if value.bit_length() > LARGEST_EXPONENT * 4:  # > 10**481: too large, without converting it
            raise ValueError(msg("filters.too_large", value=_shown(value)))
        number = Decimal(value)
    elif isinstance(value, (Decimal, str)):
        try:
            number = Decimal(value.strip()) if isinstance(value, str) else value
        except (decimal.InvalidOperation, ValueError):
            raise ValueError(msg("filters.not_a_number", value=_shown(value))) from None
        number = number if number.is_finite() else None
    else:
        raise ValueError(msg("filters.not_a_number", value=_shown(value)))
    if number is not None and number and number.adjusted() >= LARGEST_EXPONENT:
        raise ValueError(msg("filters.too_large", value=_shown(value)))
    return number


def _places(digits: Any) -> int:
    """The decimals a template asked for: a whole number from 0 to :data:`MAX_DIGITS`."""
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= MAX_DIGITS:
        raise ValueError(msg("filters.digits", limit=MAX_DIGITS, value=_shown(digits)))
    return digits


def _fen(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=_CONTEXT)


def known_currency(currency: str) -> str:
    """``currency`` if it is an ISO 4217 code in use, else a ValueError that says so."""
    try:
        return currency_code(currency)
    except ValueError as exc:
        raise ValueError(exc.args[0]) from None  # the message alone: rendering shows it as the reason


def _minor_units(value: Decimal, currency: str) -> Decimal:
    """``value`` rounded half up to the currency's minor unit (fen, pence; none for JPY)."""
    places = get_currency_precision(currency)
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_CONTEXT)


def money(value, locale: str = "zh_CN", currency: str = DEFAULT_CURRENCY) -> str:
    """An amount in the project's currency: ``¥1,234,567.00`` (CNY), ``£1,234.50`` (GBP), ``¥1,235`` (JPY).

    The symbol is written the locale's way (``CN¥`` and ``JP¥`` where ``¥`` alone would be ambiguous),
    with the currency's own decimals, rounded half up; ``money('USD')`` names another currency.
    Any size of amount is written in full; a value that is not a finite number (NaN, ±∞) as ``—``."""
    currency = known_currency(currency)
    amount = _number(value)
    if amount is None:
        return EMPTY
    with decimal.localcontext(_CONTEXT):
        return format_currency(_minor_units(amount, currency), currency, locale=locale)


def wan(value, locale: str = "zh_CN", digits: int = 2, currency: str = DEFAULT_CURRENCY) -> str:
    """``123.46万元`` in Chinese (``12.35万港元``, ``12.35万英镑`` in other currencies); elsewhere as ``money``.

    万 is a Chinese unit, meaningful for any currency (named in the locale's words); in other
    languages the whole amount is written, as ``money`` writes it. ``digits``: 0 to 10."""
    places = _places(digits)
    currency = known_currency(currency)
    amount = _number(value)
    if amount is None:
        return EMPTY
    if not locale.startswith("zh"):
        return money(amount, locale, currency)
    unit = "元" if currency == "CNY" else get_currency_name(currency, locale=locale)
    with decimal.localcontext(_CONTEXT):
        return format_decimal(amount.scaleb(-4), format=_pattern("#,##0", places), locale=locale) + "万" + unit


def _pattern(whole: str, places: int, suffix: str = "") -> str:
    return whole + ("." + "0" * places if places else "") + suffix


def pct(value, locale: str = "zh_CN", digits: int = 1) -> str:
    """A fraction as a percentage: 0.08 → ``8.0%``; ``pct(2)`` keeps two decimals (0 to 10)."""
    places = _places(digits)
    fraction = _number(value)
    if fraction is None:
        return EMPTY
    with decimal.localcontext(_CONTEXT):
        return format_percent(fraction, format=_pattern("#,##0", places, "%"), locale=locale)


def date(value, locale: str = "zh_CN") -> str:
    """``2026年11月22日`` in Chinese, ``November 22, 2026`` in English."""
    if value is None:
        return EMPTY
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ValueError(msg("filters.not_a_date", value=_shown(value))) from None
    if not isinstance(value, dt.date):
        raise ValueError(msg("filters.not_a_date", value=_shown(value)))
    return format_date(value, format="long", locale=locale)


def number(value, locale: str = "zh_CN", digits: int = 0) -> str:
    """A number with grouping: 1234567 → ``1,234,567``; ``number(2)`` keeps two decimals (0 to 10)."""
    places = _places(digits)
    amount = _number(value)
    if amount is None:
        return EMPTY
    with decimal.localcontext(_CONTEXT):
        return format_decimal(amount, format=_pattern("#,##0", places), locale=locale)


_ZHE_DIGITS = "零一二三四五六七八九"


def discount(value, locale: str = "zh_CN") -> str:
    """A discount off the list price as Chinese buyers read it: 0.08 → ``九二折``, 0.10 → ``九折``,
    0.125 → ``八七五折`` (the share of the price paid, in tenths, to two decimals); in English ``8% off``.
    0 → ``无折扣`` / ``no discount``; a discount outside 0–100% is refused."""
    fraction = _number(value)
    if fraction is None:
        return EMPTY
    if not 0 <= fraction < 1:
        raise ValueError(msg("filters.discount_range", value=_shown(value)))
    if not locale.startswith("zh"):
        return "no discount" if fraction == 0 else pct(fraction, locale, 0 if fraction * 100 % 1 == 0 else 1) + " off"
    if fraction == 0:
        return "无折扣"
    paid = (1 - fraction) * 10
    with decimal.localcontext(_CONTEXT):
        digits = format(paid.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize(), "f")
    whole, _, tenths = digits.partition(".")
    words = ("" if whole == "0" else _ZHE_DIGITS[int(whole)]) + "".join(_ZHE_DIGITS[int(d)] for d in tenths)
    return words + "折"


def score(value, scale: int = 5, locale: str = "zh_CN") -> str:
    """A score with its scale, so a reader knows what 4.0 means: ``4.0 / 5`` (``score(10)``: out of 10)."""
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= 1000:
        raise ValueError(msg("filters.scale", value=_shown(scale)))
    points = _number(value)
    if points is None:
        return EMPTY
    with decimal.localcontext(_CONTEXT):
        points = points.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        return format_decimal(points, format="#,##0.0", locale=locale) + f" / {scale}"


def amount(value, style: str, locale: str = "zh_CN", currency: str = DEFAULT_CURRENCY) -> str:
    """An amount in the document's one money style (``documents[].money``): ``full`` as ``money``
    writes it, ``wan`` as ``wan`` does (in Chinese; the full amount in other languages)."""
    return wan(value, locale, 2, currency) if style == "wan" else money(value, locale, currency)


def yesno(value, locale: str = "zh_CN") -> str:
    """A yes/no value as 是/否 in Chinese, Yes/No in English."""
    if value is None:
        return EMPTY
    if locale.startswith("zh"):
        return "是" if value else "否"
    return "Yes" if value else "No"


def _group(value: int) -> str:
    """0 < value < 10000 in capital digits, with inner zeros as one 零."""
    out, zero = "", False
    for position in range(3, -1, -1):
        digit = value // 10 ** position % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[digit] + _SMALL_UNITS[position]
    return out


def daxie(value, currency: str = DEFAULT_CURRENCY) -> str:
    """Chinese capital amount as on invoices and contracts (CNY only): 123456 → 壹拾贰万叁仟肆佰伍拾陆元整.

    In a project whose currency is not CNY it is an error, never a 元 on another currency."""
    if currency != "CNY":
        raise ValueError(msg("filters.daxie_not_cny", currency=currency))
    number = _number(value)
    if number is None:
        return EMPTY
    if abs(number) >= 10 ** 16:
        raise ValueError(msg("filters.daxie_too_large", value=_shown(value)))
    amount = _fen(number)
    sign = "负" if amount < 0 else ""
    fen_total = int(abs(amount) * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    if yuan >= 10 ** 16:  # 9,999,999,999,999,999.995 rounds up to it
        raise ValueError(msg("filters.daxie_too_large", value=_shown(value)))
    text = _integer_daxie(yuan)
    if text:
        text += "元"
    if jiao == 0 and fen == 0:
        return sign + (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    else:
        text += "整"
    return sign + text


def _integer_daxie(yuan: int) -> str:
    groups = []
    while yuan:
        groups.append(yuan % 10_000)
        yuan //= 10_000
    out, zero = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero = bool(out)
            continue
        if out and (zero or group < 1000):
            out += "零"
        out += _group(group) + _BIG_UNITS[index]
        zero = False
    return out


def make_filters(locale: str, currency: str = DEFAULT_CURRENCY, money_style: str = "full") -> dict[str, Callable]:
    """The filters bound to one locale, the project's currency and the document's money style, as
    registered on the Jinja environment."""
    project = known_currency(currency)
    return {
        "amount": lambda v: amount(v, money_style, locale, project),
        "discount": lambda v: discount(v, locale),
        "score": lambda v, scale=5: score(v, scale, locale),
        "money": lambda v, currency=project: money(v, locale, currency),
        "wan": lambda v, digits=2, currency=project: wan(v, locale, digits, currency),
        "pct": lambda v, digits=1: pct(v, locale, digits),
        "date": lambda v: date(v, locale),
        "number": lambda v, digits=0: number(v, locale, digits),
        "yesno": lambda v: yesno(v, locale),
        "daxie": lambda v: daxie(v, project),
    }
