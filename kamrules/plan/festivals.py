"""Festivals on the Gregorian calendar, for any year: the days a :class:`FestivalSpec` falls on.

A festival of ``rules/documents.yaml`` (``calendar.festivals``) is given in one of four forms:

* ``date: 2027-02-06``: that day only;
* ``date: 10-01``: the same day every year (a 29 February would fall on the 28th in common
  years, as birthdays do, see :func:`yearly`; the rulebook refuses a yearly ``02-29``);
* ``lunar: 08-15``: a Chinese lunar month-day every year, computed with ``lunardate`` for the
  lunar years 1900–2099 (Gregorian 1900-01-31 to 2100-02-08). Day 30 is the month's last day,
  which is the 29th in a short month (``12-30`` is 除夕, New Year's Eve); the festival is in the
  ordinary month, never in a leap month (闰月) of the same number;
* ``solar_term: 清明``: one of the 24 solar terms (二十四节气), computed with ``chinesecalendar``
  (its formula, with its table of corrections, in China Standard Time) for 1900–2100.

A range that reaches past what can be computed is refused with a :class:`FestivalRangeError`
(a clean kamrules error and a ValueError), never answered with a partial list.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from functools import lru_cache

from chinese_calendar import get_solar_terms
from lunardate import LunarDate

from ..errors import KamrulesError
from ..i18n import msg
from ..rules.calendar_config import FestivalSpec

FIRST_LUNAR_YEAR = 1900
LAST_LUNAR_YEAR = 2099
FIRST_SOLAR_TERM_YEAR = 1900
LAST_SOLAR_TERM_YEAR = 2100


class FestivalRangeError(KamrulesError, ValueError):
    """The festival's days cannot be computed for the whole range asked for."""


def festival_dates(festival: FestivalSpec, start: dt.date, end: dt.date) -> list[dt.date]:
    """The days in ``start..end`` (both inclusive) that ``festival`` falls on, in order.

    Raises :class:`FestivalRangeError` when a lunar festival's range goes beyond
    :func:`lunar_range` or a solar term's beyond the years 1900–2100.
    """
    start, end = _day(start), _day(end)
    if end < start:
        return []
    if festival.lunar is not None:
        return lunar_dates(festival.month, festival.day, start, end, name=festival.name)
    if festival.solar_term is not None:
        return solar_term_dates(festival.solar_term, start, end, name=festival.name)
    if festival.year is not None:
        day = dt.date(festival.year, festival.month, festival.day)
        return [day] if start <= day <= end else []
    return yearly(festival.month, festival.day, start, end)


def yearly(month: int, day: int, start: dt.date, end: dt.date) -> list[dt.date]:
    """The dates in ``start..end`` that fall on month-day; 29 February is the 28th in common years."""
    dates = []
    for year in range(start.year, end.year + 1):
        leap_day_moves = (month, day) == (2, 29) and not _calendar.isleap(year)
        candidate = dt.date(year, 2, 28) if leap_day_moves else dt.date(year, month, day)
        if start <= candidate <= end:
            dates.append(candidate)
    return dates


def lunar_to_solar(year: int, month: int, day: int) -> dt.date:
    """The Gregorian date of lunar ``year``-``month``-``day`` (never a leap month); day 30 of a
    short (29-day) month is its 29th. ``year`` must be 1900–2099."""
    if not FIRST_LUNAR_YEAR <= year <= LAST_LUNAR_YEAR:
        raise ValueError(f"lunar year {year} is outside {FIRST_LUNAR_YEAR}-{LAST_LUNAR_YEAR}")
    return _lunar_to_solar(year, month, day)


@lru_cache(maxsize=4096)
def _lunar_to_solar(year: int, month: int, day: int) -> dt.date:
    try:
        return LunarDate(year, month, day).to_solar_date()
    except ValueError:
        if day != 30:
            raise
        return LunarDate(year, month, 29).to_solar_date()  # a short month: its last day


@lru_cache(maxsize=1)
def lunar_range() -> tuple[dt.date, dt.date]:
    """The first and last Gregorian days whose lunar date can be computed: lunar 1900-01-01
    (1900-01-31) and the last day of lunar 2099 (2100-02-08)."""
    return (_lunar_to_solar(FIRST_LUNAR_YEAR, 1, 1),
            _lunar_to_solar(LAST_LUNAR_YEAR, 12, 30))


def lunar_dates(month: int, day: int, start: dt.date, end: dt.date, name: str = "") -> list[dt.date]:
    """The days in ``start..end`` on lunar ``month``-``day`` (see :func:`lunar_to_solar`)."""
    first, last = lunar_range()
    if start < first or end > last:
        raise FestivalRangeError(msg("calendar.lunar_range", name=name, first=first.isoformat(),
                                     last=last.isoformat(), start=start.isoformat(), end=end.isoformat()))
    # lunar year Y starts between 21 January and 20 February of Gregorian year Y, so the range
    # holds days of the lunar years start.year - 1 .. end.year
    dates = []
    for year in range(max(start.year - 1, FIRST_LUNAR_YEAR), min(end.year, LAST_LUNAR_YEAR) + 1):
        candidate = _lunar_to_solar(year, month, day)
        if start <= candidate <= end:
            dates.append(candidate)
    return dates


def solar_term_dates(term: str, start: dt.date, end: dt.date, name: str = "") -> list[dt.date]:
    """The days in ``start..end`` on which the solar term ``term`` (清明, 冬至 …) falls."""
    if start.year < FIRST_SOLAR_TERM_YEAR or end.year > LAST_SOLAR_TERM_YEAR:
        raise FestivalRangeError(msg("calendar.solar_term_range", name=name, first=FIRST_SOLAR_TERM_YEAR,
                                     last=LAST_SOLAR_TERM_YEAR, start=start.isoformat(), end=end.isoformat()))
    return [day for day, found in get_solar_terms(start, end) if found == term]


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
