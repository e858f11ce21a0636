"""Template filters: money, 万元, percentages, dates and 大写金额, formatted for a locale.

Every filter accepts None (renders ``—``) so an empty metric never breaks a document.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from ..i18n import msg

EMPTY = "—"
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")


def _fen(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def money(value, locale: str = "zh_CN", currency: str = "CNY") -> str:
    """``¥1,234,567.00``."""
    if value is None:
        return EMPTY
    return format_currency(_fen(value), currency, locale=locale)


def wan(value, locale: str = "zh_CN", digits: int = 2) -> str:
    """``123.46万元`` (Chinese locales) or ``¥1.23M``-style elsewhere."""
    if value is None:
        return EMPTY
    if not locale.startswith("zh"):
        return format_currency(_fen(value), "CNY", locale=locale)
    amount = Decimal(str(value)) / Decimal(10_000)
    return format_decimal(amount, format="#,##0." + "0" * digits, locale=locale) + "万元"


def pct(value, locale: str = "zh_CN", digits: int = 1) -> str:
    """A fraction as a percentage: 0.08 → ``8.0%``."""
    if value is None:
        return EMPTY
    return format_percent(value, format="#,##0." + "0" * digits + "%", locale=locale) if digits else \
        format_percent(value, format="#,##0%", locale=locale)


def date(value, locale: str = "zh_CN") -> str:
    """``2026年11月22日`` in Chinese, ``November 22, 2026`` in English."""
    if value is None:
        return EMPTY
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return format_date(value, format="long", locale=locale)


def number(value, locale: str = "zh_CN", digits: int = 0) -> str:
    """A number with grouping: 1234567 → ``1,234,567``; ``number(2)`` keeps two decimals."""
    if value is None:
        return EMPTY
    return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""), locale=locale)


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


def daxie(value) -> str:
    """Chinese capital amount as on invoices and contracts: 123456 → 壹拾贰万叁仟肆佰伍拾陆元整."""
    if value is None:
        return EMPTY
    amount = _fen(value)
    sign = "负" if amount < 0 else ""
    fen_total = int(abs(amount) * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    if yuan >= 10 ** 16:
        raise ValueError(msg("filters.daxie_too_large", value=value))
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


def make_filters(locale: str) -> dict[str, Callable]:
    """The filters bound to one locale, as registered on the Jinja environment."""
    return {
        "money": lambda v, currency="CNY": money(v, locale, currency),
        "wan": lambda v, digits=2: wan(v, locale, digits),
        "pct": lambda v, digits=1: pct(v, locale, digits),
        "date": lambda v: date(v, locale),
        "number": lambda v, digits=0: number(v, locale, digits),
        "yesno": lambda v: yesno(v, locale),
        "daxie": daxie,
    }
