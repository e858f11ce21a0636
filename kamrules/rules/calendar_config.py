"""Schema of the calendar part of the rulebook (section ``calendar:``), read by ``render/ics.py``.

```yaml
calendar:
  horizon_days: 90            # events from as_of (inclusive) to as_of + horizon_days (inclusive)
  visit_start: "10:00"        # local start time of a planned visit; quote it (see below)
  visit_minutes: 60
  birthdays: true             # contact birthdays (customers.contact_birthday) within the horizon
  renewals: true              # contract renewals (customers.contract_end) within the horizon
  reminder_days: 3            # VALARM this many days before birthdays, renewals, festivals; null = none
  festivals:                  # listed by the manager (lunar festivals move each year)
    - {name: 春节, date: 2027-02-06}      # YYYY-MM-DD = that day only
    - {name: 国庆节, date: 10-01}         # MM-DD = every year
  timezone: Asia/Shanghai
```

``visit_start`` must be quoted: YAML 1.1 reads an unquoted ``10:00`` as the base-60 number
600, which is refused with the quoted form as the hint. ``timezone`` is one of the fixed-offset
zones in :data:`TIMEZONES`; their VTIMEZONE is written without a time-zone database.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..i18n import msg


@dataclass(frozen=True)
class FixedZone:
    """A zone with one UTC offset all year and no daylight saving (true of these zones since 1982)."""

    offset_minutes: int
    abbreviation: str


TIMEZONES: dict[str, FixedZone] = {
    "Asia/Shanghai": FixedZone(480, "CST"),
    "Asia/Hong_Kong": FixedZone(480, "HKT"),
    "Asia/Macau": FixedZone(480, "CST"),
    "Asia/Taipei": FixedZone(480, "CST"),
    "Asia/Singapore": FixedZone(480, "+08"),
}

_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_FULL_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_MONTH_DAY = re.compile(r"(\d{1,2})-(\d{1,2})")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FestivalSpec(_Strict):
    """One festival: ``date`` is normalised to ``YYYY-MM-DD`` (one day) or ``MM-DD`` (yearly)."""

    name: str = Field(min_length=1)
    date: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(msg("calendar.festival_blank"))
        return value.strip()

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> str:
        return normalise_festival_date(value)

    @property
    def year(self) -> Optional[int]:
        """The single year of a ``YYYY-MM-DD`` festival; None for a yearly ``MM-DD`` one."""
        return int(self.date[:4]) if len(self.date) == 10 else None

    @property
    def month(self) -> int:
        return int(self.date[-5:-3])

    @property
    def day(self) -> int:
        return int(self.date[-2:])


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


def _checked(text: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(msg("calendar.not_a_date", text=text, rule=msg("calendar.festival_date"))) from None


class CalendarSpec(_Strict):
    """What ``visits.ics`` contains; every key has a default, so ``calendar:`` may be omitted."""

    horizon_days: int = Field(90, ge=0, le=3660)
    visit_start: dt.time = dt.time(10, 0)
    visit_minutes: int = Field(60, gt=0, le=1440)
    birthdays: bool = True
    renewals: bool = True
    reminder_days: Optional[int] = Field(3, ge=0, le=365)
    festivals: list[FestivalSpec] = Field(default_factory=list)
    timezone: str = "Asia/Shanghai"

    @field_validator("visit_start", mode="before")
    @classmethod
    def _visit_start(cls, value: Any) -> dt.time:
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
    def _timezone(cls, value: str) -> str:
        if value not in TIMEZONES:
            raise ValueError(msg("calendar.timezone", value=value, zones=", ".join(TIMEZONES)))
        return value

    @model_validator(mode="after")
    def _distinct_festivals(self) -> "CalendarSpec":
        seen: set[tuple[str, str]] = set()
        for festival in self.festivals:
            key = (festival.name, festival.date)
            if key in seen:
                raise ValueError(msg("calendar.festival_twice", name=festival.name, date=festival.date))
            seen.add(key)
        return self

    @property
    def zone(self) -> FixedZone:
        return TIMEZONES[self.timezone]
