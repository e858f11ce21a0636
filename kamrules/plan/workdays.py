"""Which days are working days: the week, China's statutory holidays and 调休 days, the company's
closures and extra days.

With ``holidays: CN`` a day's status comes from the ``chinesecalendar`` package, which knows the
State Council's notice for each year it was released with (a 调休 Saturday is a working day, the
Spring Festival week is not). For a year it does not know yet, the working week applies less the
statutory holidays themselves (:func:`statutory_holidays`: the days the law fixes, without the
调休 swaps each year's notice adds), and the plan says so once (:attr:`WorkingCalendar.unknown_years`):
the notice for a year is published in November of the year before, so a plan that reaches into
next year is warned until the package is updated. The company's own closures and extra days apply on top, in that order: a closure
wins over an extra day given for the same date.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from ..rules.plan_config import WorkingDaysSpec
from .festivals import FIRST_LUNAR_YEAR, LAST_LUNAR_YEAR, lunar_to_solar, solar_term_dates


@lru_cache(maxsize=1)
def _known_years() -> range:
    """The years chinesecalendar has the official holidays of."""
    from chinese_calendar import constants

    years = {day.year for day in constants.holidays} | {day.year for day in constants.workdays}
    return range(min(years), max(years) + 1)


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[dt.date]:
    """The public holidays of 《全国年节及纪念日放假办法》 (as revised in 2024) in ``year``: 元旦 1 day,
    春节 4 (除夕 to 初三), 清明 1, 劳动节 2 (1–2 May), 端午 1, 中秋 1, 国庆 3 (1–3 October)."""
    days = {dt.date(year, 1, 1), dt.date(year, 5, 1), dt.date(year, 5, 2),
            dt.date(year, 10, 1), dt.date(year, 10, 2), dt.date(year, 10, 3)}
    if FIRST_LUNAR_YEAR < year <= LAST_LUNAR_YEAR:
        new_year = lunar_to_solar(year, 1, 1)
        days |= {new_year + dt.timedelta(days=i) for i in range(-1, 3)}
        days |= {lunar_to_solar(year, 5, 5), lunar_to_solar(year, 8, 15)}
    if 1900 <= year <= 2100:
        days |= set(solar_term_dates("清明", dt.date(year, 4, 1), dt.date(year, 4, 10)))
    return frozenset(days)


def _china(day: dt.date) -> bool:
    from chinese_calendar import is_workday

    return is_workday(day)


class WorkingCalendar:
    """Working days between ``start`` and ``end`` (both included), as a sorted list and a set.

    ``index(day)`` is the position of the first working day at or after ``day`` (len(days) when
    there is none), which is how the scheduler walks forward from a due date."""

    def __init__(self, spec: WorkingDaysSpec, start: dt.date, end: dt.date):
        self.spec, self.start, self.end = spec, start, end
        self.unknown_years: list[int] = []
        closed, extra = spec.closed_days(), set(spec.extra_days)
        known = _known_years() if spec.holidays == "CN" else range(0)
        unknown: set[int] = set()
        days = []
        for offset in range((end - start).days + 1):
            day = start + dt.timedelta(days=offset)
            if day.year in known:
                working = _china(day)
            else:
                working = day.weekday() in spec.week
                if spec.holidays == "CN":
                    unknown.add(day.year)
                    working = working and day not in statutory_holidays(day.year)
            if day in extra:
                working = True
            if day in closed:
                working = False
            if working:
                days.append(day)
        self.unknown_years = sorted(unknown)
        self._set_days(days)

    def _set_days(self, days: list[dt.date]) -> None:
        """The working days, and for each day from start to end the position of the first working
        day on or after it (what :meth:`index` answers in one lookup)."""
        self.days, self.working = days, frozenset(days)
        self._following, position = [], 0
        for offset in range((self.end - self.start).days + 1):
            day = self.start + dt.timedelta(days=offset)
            while position < len(days) and days[position] < day:
                position += 1
            self._following.append(position)

    def until(self, end: dt.date) -> "WorkingCalendar":
        """The same calendar cut at ``end`` (the plan's horizon inside the documents' longer view)."""
        cut = object.__new__(WorkingCalendar)
        cut.spec, cut.start, cut.end, cut.unknown_years = self.spec, self.start, min(end, self.end), self.unknown_years
        cut._set_days([day for day in self.days if day <= end])
        return cut

    def is_working(self, day: dt.date) -> bool:
        return day in self.working

    def index(self, day: dt.date) -> int:
        """The position in :attr:`days` of the first working day on or after ``day``."""
        offset = (day - self.start).days
        if offset <= 0:
            return 0
        return self._following[offset] if offset < len(self._following) else len(self.days)

    def on_or_before(self, day: dt.date) -> dt.date | None:
        """The last working day on or before ``day`` within the calendar (a greeting sent early)."""
        while day >= self.start:
            if day in self.working:
                return day
            day -= dt.timedelta(days=1)
        return None
