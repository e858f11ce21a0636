"""Schema of the calendar part of the rulebook (section ``calendar:``), read by ``render/ics.py``.

```yaml
calendar:
  horizon_days: 90            # events from as_of (inclusive) to as_of + horizon_days (inclusive)
  birthdays: true             # contact birthdays (customers.contact_birthday) within the horizon
  renewals: true              # contract renewal visits (customers.contract_end) within the horizon
  reminder_days: 3            # VALARM this many days before birthdays and festivals; null = none
  festivals:
    - {name: 春节, lunar: 01-01}          # lunar MM-DD = every year (computed, 1900–2099)
    - {name: 除夕, lunar: 12-30}          # day 30 = the month's last day (the 29th in a short month)
    - {name: 清明节, solar_term: 清明}     # one of the 24 solar terms, every year
    - {name: 国庆节, date: 10-01}         # MM-DD = every year
    - {name: 开业庆典, date: 2027-03-08}  # YYYY-MM-DD = that day only
```

The older keys ``visit_start`` (now ``reps.day_start``), ``visit_minutes`` (now
``tasks.visits.minutes``) and ``timezone`` (now the project's ``timezone:``) are still read
when the new ones are not set (see :mod:`kamrules.rules.plan_config`). ``visit_start`` must be
quoted: YAML 1.1 reads an unquoted ``10:00`` as the base-60 number 600, which is refused with
the quoted form as the hint.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..i18n import msg
from .plan_config import check_timezone
from ..names import did_you_mean


_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_FULL_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_MONTH_DAY = re.compile(r"(\d{1,2})-(\d{1,2})")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FestivalSpec(_Strict):
    """One festival, given by exactly one of:

    * ``date``: normalised to ``YYYY-MM-DD`` (that day only) or ``MM-DD`` (the same day every year);
    * ``lunar``: a Chinese lunar month-day ``MM-DD`` (``01-01`` 春节, ``08-15`` 中秋节), every year;
      day ``30`` is the last day of the month, the 29th when the month is short (``12-30`` 除夕);
      a leap month is never used;
    * ``solar_term``: one of the 24 solar terms (``清明``), every year.

    :func:`kamrules.plan.festivals.festival_dates` gives the days of a festival in a date range.
    """

    name: str = Field(min_length=1)
    date: Optional[str] = None
    lunar: Optional[str] = None
    solar_term: Optional[str] = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(msg("calendar.festival_blank"))
        return value.strip()

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Optional[str]:
        return None if value is None else normalise_festival_date(value)

    @field_validator("lunar", mode="before")
    @classmethod
    def _lunar(cls, value: Any) -> Optional[str]:
        return None if value is None else normalise_lunar_date(value)

    @field_validator("solar_term", mode="before")
    @classmethod
    def _solar_term(cls, value: Any) -> Optional[str]:
        return None if value is None else normalise_solar_term(value)

    @model_validator(mode="after")
    def _one_rule(self) -> "FestivalSpec":
        given = [key for key in ("date", "lunar", "solar_term") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(msg("calendar.festival_one_rule", name=self.name, keys=", ".join(given) or "-"))
        return self

    @property
    def when(self) -> str:
        """The rule as written: ``2027-02-06``, ``10-01``, ``lunar 01-01`` or ``solar_term 清明``;
        two festivals of one name are the same festival when this is the same too."""
        if self.lunar is not None:
            return f"lunar {self.lunar}"
        if self.solar_term is not None:
            return f"solar_term {self.solar_term}"
        return self.date or ""

    @property
    def year(self) -> Optional[int]:
        """The single year of a ``YYYY-MM-DD`` festival; None for any yearly one."""
        return int(self.date[:4]) if self.date is not None and len(self.date) == 10 else None

    @property
    def month(self) -> int:
        """The month of ``date``, or the lunar month of ``lunar``; 0 for a solar term."""
        text = self.date or self.lunar
        return int(text[-5:-3]) if text else 0

    @property
    def day(self) -> int:
        """The day of ``date``, or the lunar day of ``lunar``; 0 for a solar term."""
        text = self.date or self.lunar
        return int(text[-2:]) if text else 0


def normalise_festival_date(value: Any) -> str:
    """``2027-02-06`` (YAML date or text) or ``10-01``, zero-padded; anything else is refused."""
    if isinstance(value, dt.datetime):
        raise ValueError(msg("calendar.festival_time", rule=msg("calendar.festival_date"),
                             value=value.isoformat(sep=" ")))
    if isinstance(value, dt.date):
        return value.isoformat()
    text = value.strip() if isinstance(value, str) else None
    if text is not None and (match := _FULL_DATE.fullmatch(text)):
        year, month, day = (int(part) for part in match.groups())
        return _checked(text, year, month, day).isoformat()
    if text is not None and (match := _MONTH_DAY.fullmatch(text)):
        month, day = (int(part) for part in match.groups())
        if (month, day) == (2, 29):
            raise ValueError(msg("calendar.leap_day"))
        return _checked(text, 2001, month, day).strftime("%m-%d")
    raise ValueError(msg("calendar.festival_got", rule=msg("calendar.festival_date"), value=value))


def normalise_lunar_date(value: Any) -> str:
    """A lunar month-day ``MM-DD`` (month 1–12, day 1–30), zero-padded; anything else is refused."""
    text = value.strip() if isinstance(value, str) else None
    match = _MONTH_DAY.fullmatch(text) if text is not None else None
    if match is None:
        raise ValueError(msg("calendar.festival_got", rule=msg("calendar.lunar_date"), value=value))
    month, day = (int(part) for part in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 30):
        raise ValueError(msg("calendar.not_a_lunar_date", text=text, rule=msg("calendar.lunar_date")))
    return f"{month:02d}-{day:02d}"


SOLAR_TERMS = ("小寒", "大寒", "立春", "雨水", "惊蛰", "春分", "清明", "谷雨", "立夏", "小满", "芒种", "夏至",
               "小暑", "大暑", "立秋", "处暑", "白露", "秋分", "寒露", "霜降", "立冬", "小雪", "大雪", "冬至")
"""The 24 solar terms (二十四节气) in the order they fall in a Gregorian year."""


def normalise_solar_term(value: Any) -> str:
    """One of :data:`SOLAR_TERMS` (清明, 冬至 …); anything else is refused, with the closest names."""
    text = value.strip() if isinstance(value, str) else value
    if text in SOLAR_TERMS:
        return text
    message = msg("calendar.solar_term", value=value, terms="、".join(SOLAR_TERMS))
    hint = did_you_mean(text, SOLAR_TERMS) if isinstance(text, str) and text else None
    raise ValueError(msg("calendar.with_hint", message=message, hint=hint) if hint is not None else message)


def _checked(text: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(msg("calendar.not_a_date", text=text, rule=msg("calendar.festival_date"))) from None


class CalendarSpec(_Strict):
    """What ``visits.ics`` contains; every key has a default, so ``calendar:`` may be omitted."""

    horizon_days: int = Field(90, ge=0, le=3660)
    visit_start: Optional[dt.time] = None  # older place of ``reps.day_start``
    visit_minutes: Optional[int] = Field(None, gt=0, le=1440)  # older place of ``tasks.visits.minutes``
    birthdays: bool = True
    renewals: bool = True
    reminder_days: Optional[int] = Field(3, ge=0, le=365)
    festivals: list[FestivalSpec] = Field(default_factory=list)
    timezone: Optional[str] = None  # older place of the project's ``timezone:``

    @field_validator("visit_start", mode="before")
    @classmethod
    def _visit_start(cls, value: Any) -> Optional[dt.time]:
        if value is None:
            return None
        if isinstance(value, dt.time):
            return value.replace(second=0, microsecond=0, tzinfo=None)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            hours, minutes = divmod(value, 60)
            raise ValueError(msg("calendar.visit_start_unquoted", hours=hours, minutes=minutes, value=value))
        match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None:
            raise ValueError(msg("calendar.visit_start", value=value))
        return dt.time(int(match.group(1)), int(match.group(2)))

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: Optional[str]) -> Optional[str]:
        return value if value is None else check_timezone(value)

    @model_validator(mode="after")
    def _distinct_festivals(self) -> "CalendarSpec":
        seen: set[tuple[str, str]] = set()
        for festival in self.festivals:
            key = (festival.name, festival.when)
            if key in seen:
                raise ValueError(msg("calendar.festival_twice", name=festival.name, date=festival.when))
            seen.add(key)
        return self
