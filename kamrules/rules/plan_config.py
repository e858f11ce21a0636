"""Schema of the visit plan's settings: the working calendar, the reps' capacity and the tasks.

```yaml
timezone: Asia/Shanghai          # any IANA zone: Europe/London, America/New_York, …
working_days:
  holidays: CN                   # CN: statutory holidays and 调休 days (chinesecalendar); none: the week only
  week: [mon, tue, wed, thu, fri]
  closures: [2026-12-31, {from: 2027-02-08, to: 2027-02-19}]   # the company's own days off
  extra_days: [2027-02-07]       # the company's own extra working days
reps:                            # defaults; a reps sheet (dataset ``reps``) overrides them per rep
  visits_per_day: 4
  day_start: "09:00"
  day_end: "17:30"
  lunch: "12:00-13:30"
  travel_minutes: 30             # after each visit, before the next task
  days_off: []                   # weekdays (sat) or dates every rep has off
  group_by: region               # a visit may wait up to group_days working days to join its region's day
  group_days: 2
tasks:
  visits: {minutes: 60, reminder_minutes: 60}
  onboarding:                    # a new key account's first month
    for: key_account and tenure_days <= 60
    from: since                  # the date the steps count from
    steps:
      - {kind: call, after_days: 1, minutes: 15, title: 欢迎电话}
      - {kind: gift, after_days: 7, minutes: 60, title: 赠送礼品}
      - {kind: visit, after_days: 30, minutes: 90, title: 首月拜访}
  renewals: {for: "true", days_ahead: 30, minutes: 60}
  birthdays: {for: key_account}
  festivals: {for: key_account}
```

Times are quoted: YAML 1.1 reads an unquoted ``10:00`` as the number 600.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from functools import lru_cache
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..i18n import msg
from ..names import did_you_mean

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOLIDAY_SOURCES = ("CN", "none")
VISIT_KINDS = frozenset(("visit", "gift", "renewal"))  # tasks that take one of the rep's visits of the day
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_DAY_START = dt.time(9, 0)
DEFAULT_VISIT_MINUTES = 60

_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def clock_time(value: Any, setting: str) -> dt.time:
    """``"09:30"`` (quoted); an unquoted ``9:30`` arrives as the YAML 1.1 number 570 and is refused
    with the quoted form as the hint."""
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        hours, minutes = divmod(value, 60)
        raise ValueError(msg("plan.time_unquoted", setting=setting, hours=hours, minutes=minutes, value=value))
    match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(msg("plan.time", setting=setting, value=value))
    return dt.time(int(match.group(1)), int(match.group(2)))


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    """The IANA zone names of the time-zone database (system or ``tzdata``)."""
    return frozenset(zoneinfo.available_timezones())


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA zone of the database (``Asia/Shanghai``, ``Europe/London``);
    a ValueError with a bilingual message, suggesting the closest names, otherwise."""
    known = known_zones()
    if isinstance(name, str) and name and (name in known or not known and _loads(name)):
        return name
    message = msg("timezone.unknown", value=name)
    hint = did_you_mean(name, known) if isinstance(name, str) and name.strip() else None
    raise ValueError(msg("calendar.with_hint", message=message, hint=hint) if hint is not None else message)


def _loads(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def minutes_of(time: dt.time) -> int:
    return time.hour * 60 + time.minute


def weekday_number(value: Any) -> int:
    """``mon`` … ``sun`` (also ``Monday``, ``周一``/``星期一``) as 0 … 6."""
    text = str(value).strip().lower()
    chinese = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
    for prefix in ("周", "星期", "礼拜"):
        if text.startswith(prefix) and text[len(prefix):] in chinese:
            return chinese[text[len(prefix):]]
    if text[:3] in WEEKDAYS:
        return WEEKDAYS.index(text[:3])
    raise ValueError(msg("plan.weekday", value=value, days=", ".join(WEEKDAYS)))


class DateRange(_Strict):
    """``{from: 2027-02-08, to: 2027-02-19}``, both days included."""

    first: dt.date = Field(alias="from")
    last: dt.date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> "DateRange":
        if self.last < self.first:
            raise ValueError(msg("plan.range_backwards", first=self.first.isoformat(), last=self.last.isoformat()))
        if (self.last - self.first).days > 3660:
            raise ValueError(msg("plan.range_long", first=self.first.isoformat(), last=self.last.isoformat()))
        return self

    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def _plain_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        raise ValueError(msg("plan.date_with_time", value=value.isoformat(sep=" ")))
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(msg("plan.date", value=value)) from None
    return value


class WorkingDaysSpec(_Strict):
    holidays: Literal["CN", "none"] = "CN"
    week: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    closures: list[dt.date | DateRange] = Field(default_factory=list)
    extra_days: list[dt.date] = Field(default_factory=list)

    @field_validator("week", mode="before")
    @classmethod
    def _week(cls, value: Any) -> list[int]:
        if not isinstance(value, list) or not value:
            raise ValueError(msg("plan.week"))
        days = sorted({weekday_number(day) for day in value})
        return days

    @field_validator("closures", mode="before")
    @classmethod
    def _closures(cls, value: Any) -> Any:
        return [_plain_date(item) for item in value] if isinstance(value, list) else value

    @field_validator("extra_days", mode="before")
    @classmethod
    def _extra(cls, value: Any) -> Any:
        return [_plain_date(item) for item in value] if isinstance(value, list) else value

    def closed_days(self) -> set[dt.date]:
        days: set[dt.date] = set()
        for item in self.closures:
            days.update(item.days() if isinstance(item, DateRange) else [item])
        return days


class RepsSpec(_Strict):
    """Every rep's capacity unless the reps sheet says otherwise for that rep."""

    visits_per_day: int = Field(4, ge=1, le=48)
    day_start: Optional[dt.time] = None  # 09:00 (or the older calendar.visit_start)
    day_end: dt.time = dt.time(17, 30)
    lunch: Optional[tuple[dt.time, dt.time]] = (dt.time(12, 0), dt.time(13, 30))
    travel_minutes: int = Field(30, ge=0, le=480)
    days_off: list[int | dt.date] = Field(default_factory=list)
    group_by: Optional[str] = None
    group_days: int = Field(2, ge=0, le=20)
    dataset: str = "reps"  # the reps sheet, when the ledger has one

    @field_validator("day_start", "day_end", mode="before")
    @classmethod
    def _times(cls, value: Any, info) -> Optional[dt.time]:
        return None if value is None and info.field_name == "day_start" else clock_time(value, f"reps.{info.field_name}")

    @field_validator("lunch", mode="before")
    @classmethod
    def _lunch(cls, value: Any) -> Any:
        if value is None or isinstance(value, tuple):
            return value
        if not isinstance(value, str) or value.count("-") != 1:
            raise ValueError(msg("plan.lunch", value=value))
        start, end = (clock_time(part, "reps.lunch") for part in value.split("-"))
        if end <= start:
            raise ValueError(msg("plan.lunch", value=value))
        return start, end

    @field_validator("days_off", mode="before")
    @classmethod
    def _days_off(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [_plain_date(item) if isinstance(item, (dt.date, dt.datetime)) or re.match(r"\d{4}-", str(item))
                else weekday_number(item) for item in value]

    @model_validator(mode="after")
    def _hours(self) -> "RepsSpec":
        start = self.day_start or DEFAULT_DAY_START
        if self.day_end <= start:
            raise ValueError(msg("plan.hours", start=f"{start:%H:%M}", end=f"{self.day_end:%H:%M}"))
        return self


class VisitTaskSpec(_Strict):
    minutes: Optional[int] = Field(None, ge=5, le=600)  # 60 (or the older calendar.visit_minutes)
    reminder_minutes: Optional[int] = Field(60, ge=0, le=10080)


class StepSpec(_Strict):
    kind: Literal["call", "gift", "visit"]
    after_days: int = Field(ge=0, le=3660)
    minutes: int = Field(30, ge=5, le=600)
    title: Optional[str] = None


class OnboardingSpec(_Strict):
    for_: str = Field("false", alias="for")
    from_: str = Field("since", alias="from")
    steps: list[StepSpec] = Field(default_factory=list)
    reminder_minutes: Optional[int] = Field(60, ge=0, le=10080)


class RenewalTaskSpec(_Strict):
    for_: str = Field("true", alias="for")
    days_ahead: int = Field(30, ge=0, le=365)
    minutes: int = Field(60, ge=5, le=600)
    reminder_minutes: Optional[int] = Field(60, ge=0, le=10080)


class GreetingTaskSpec(_Strict):
    for_: str = Field("key_account", alias="for")
    reminder_days: Optional[int] = Field(None, ge=0, le=365)  # None: calendar.reminder_days


class TasksSpec(_Strict):
    visits: VisitTaskSpec = Field(default_factory=VisitTaskSpec)
    onboarding: OnboardingSpec = Field(default_factory=OnboardingSpec)
    renewals: Optional[RenewalTaskSpec] = Field(default_factory=RenewalTaskSpec)
    birthdays: Optional[GreetingTaskSpec] = Field(default_factory=GreetingTaskSpec)
    festivals: Optional[GreetingTaskSpec] = Field(default_factory=GreetingTaskSpec)

    def conditions(self) -> list[tuple[tuple[str, ...], str]]:
        """Every ``for:`` expression the rulebook writes, with its place (for ``check``). The
        defaults are not checked: ``key_account`` of a rulebook without that decision is simply
        false (no greetings), as any field the customers do not have."""
        found = []
        for name in ("onboarding", "renewals", "birthdays", "festivals"):
            spec = getattr(self, name)
            if spec is not None and "for_" in spec.model_fields_set:
                found.append((("tasks", name, "for"), spec.for_))
        return found
