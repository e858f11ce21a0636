"""``visits.ics``: planned customer visits and reminders as one RFC 5545 calendar.

Account managers import the file into Outlook, Google Calendar, 钉钉 or 飞书. Every event lies
in the horizon ``as_of .. as_of + horizon_days`` (both ends inclusive):

* ``visit`` (timed, in ``calendar.timezone``): ``拜访：<客户名称>（<客户编号>）`` at
  ``visit_start`` for ``visit_minutes``, on the customer's next visit date and then every
  ``visit_interval_days`` days; a next visit date before as_of is overdue and moves to as_of.
* ``birthday`` (all day): ``生日：<联系人>（<客户名称>）``; 29 February falls on the 28th in
  common years.
* ``renewal`` (all day): ``合同到期：<客户名称>`` on ``contract_end``.
* ``festival`` (all day): ``节日问候：<节日>``, once per festival, listing the key accounts.

Birthdays, renewals and festivals carry a display alarm ``reminder_days`` days ahead.
Event texts are messages (:func:`kamrules.i18n.msg`): the calendar is written in Chinese
(as above) or English (``lang="en"``: ``Visit: <name> (<id>)``, ``Birthday: …``,
``Contract renewal: …``, ``Festival greetings: …``), and the portfolio's Reminders sheet
shows the same events in its own language.
Re-importing a later run's file must update events instead of duplicating them, so each UID
is a pure function of (kind, customer or festival, date) and the same input gives the same
bytes (see :func:`stamp`).
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import math
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple
from urllib.parse import quote

import polars as pl

from ..errors import RenderError
from ..i18n import Text, localize, msg
from ..rules.calendar_config import CalendarSpec
from ..text import is_blank, strip

CRLF = "\r\n"
MAX_OCTETS = 75
PRODID = "-//kamrules//Key Account Calendar//{language}"
UID_DOMAIN = "kamrules"
SEQUENCE_EPOCH = dt.date(2000, 1, 1)
KINDS = ("festival", "birthday", "renewal", "visit")
CATEGORIES = {"visit": msg("calendar.kind_visit"), "birthday": msg("calendar.kind_birthday"),
              "renewal": msg("calendar.kind_renewal"), "festival": msg("calendar.kind_festival")}
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")
CUSTOMER_COLUMNS = ("customer_id", "name", "manager", "contact", "tier", "key_account",
                    "contact_birthday", "contract_end")

_NOT_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


class CalendarError(RenderError, ValueError):
    """A frame the calendar cannot be made of (no customer id, an id twice, a date that is not one):
    a clean error of ``visits.ics`` for the run, a ValueError for callers of this module."""

    def __init__(self, message, customer_id: str | None = None):
        super().__init__(message, template="visits.ics", customer_id=customer_id)


def language(lang: str | None) -> str:
    """``en`` for English; the calendar is Chinese otherwise."""
    return "en" if lang == "en" else "zh"


class MonthDay(NamedTuple):
    """A birthday without its year: ``3月14日`` or ``March 14``."""

    month: int
    day: int

    @property
    def name(self) -> str:
        return MONTH_NAMES[self.month - 1]


@dataclass(frozen=True)
class Event:
    """One VEVENT. ``key`` is the customer id, or the festival name for festivals; ``summary``
    and the ``details`` (the description's lines) are messages, shown in either language."""

    kind: str
    key: str
    day: dt.date
    summary: Text
    details: tuple[Text, ...]
    timed: bool = False
    alarm: bool = False

    def title(self, lang: str | None) -> str:
        return localize(self.summary, language(lang))

    def description(self, lang: str | None, separator: str = "\n") -> str:
        return separator.join(localize(line, language(lang)) for line in self.details)

    @property
    def uid(self) -> str:
        return make_uid(self.kind, self.key, self.day)

    def sort_key(self) -> tuple:
        return self.day, KINDS.index(self.kind), self.key


@dataclass(frozen=True)
class Customer:
    """The fields of one frame row that events are made of, already cleaned."""

    customer_id: str
    name: str
    manager: str
    contact: str
    tier: str
    key_account: bool
    next_visit: dt.date | None
    interval: int | None
    birthday: dt.date | None
    contract_end: dt.date | None

    @cached_property
    def details(self) -> tuple[Text, ...]:
        """The lines every event of this customer starts its description with (made once)."""
        lines = [msg("calendar.customer", name=self.name, customer_id=self.customer_id)]
        if self.manager:
            lines.append(msg("calendar.manager", manager=self.manager))
        if self.contact:
            lines.append(msg("calendar.contact", contact=self.contact))
        if self.tier:
            lines.append(msg("calendar.tier", tier=self.tier))
        return tuple(lines)


def build_calendar(frame: pl.DataFrame, spec: CalendarSpec, as_of: dt.date, company: str,
                   plan_first: str = "next_visit_date", plan_every: str = "visit_interval_days",
                   lang: str | None = None) -> str:
    """The whole ``visits.ics`` text (CRLF line ends, folded), for one row per customer in ``frame``;
    in English when ``lang`` is ``en``, in Chinese otherwise."""
    events = plan_events(frame, spec, as_of, plan_first, plan_every)
    return render_calendar(events, spec, as_of, company, lang)


def write_calendar(path: Path, events: list[Event], spec: CalendarSpec, as_of: dt.date, company: str,
                   lang: str | None = None) -> int:
    """Write ``visits.ics`` (the events of :func:`plan_events`) as UTF-8 bytes (no BOM, the
    iCalendar default) and return the event count."""
    Path(path).write_bytes(render_calendar(events, spec, as_of, company, lang).encode("utf-8"))
    return len(events)


def plan_events(frame: pl.DataFrame, spec: CalendarSpec, as_of: dt.date,
                plan_first: str = "next_visit_date", plan_every: str = "visit_interval_days") -> list[Event]:
    """Every event in the horizon, sorted by (date, kind, customer id or festival name)."""
    as_of = as_of.date() if isinstance(as_of, dt.datetime) else as_of
    start, end = as_of, as_of + dt.timedelta(days=spec.horizon_days)
    customers = read_customers(frame, plan_first, plan_every)
    events: list[Event] = []
    for customer in customers:
        events += visit_events(customer, start, end)
        if spec.birthdays:
            events += birthday_events(customer, start, end, alarm=spec.reminder_days is not None)
        if spec.renewals:
            events += renewal_events(customer, start, end, alarm=spec.reminder_days is not None)
    events += festival_events(spec, customers, start, end)
    return sorted(events, key=Event.sort_key)


def read_customers(frame: pl.DataFrame, plan_first: str, plan_every: str) -> list[Customer]:
    """One :class:`Customer` per row; a missing optional column just means no such events.

    A UID is built from the customer id, so an id that is empty or appears twice would give
    two events one UID (clients then keep only one of them): both are refused.
    """
    if "customer_id" not in frame.columns:
        raise CalendarError(msg("calendar.no_id_column"))
    wanted = dict.fromkeys((*CUSTOMER_COLUMNS, plan_first, plan_every))
    rows = frame.select([c for c in wanted if c in frame.columns]).iter_rows(named=True)
    customers, seen = [], set()
    for row in rows:
        customer = _customer(row, plan_first, plan_every)
        if customer.customer_id in seen:
            raise CalendarError(msg("calendar.duplicate_id", customer_id=customer.customer_id))
        seen.add(customer.customer_id)
        customers.append(customer)
    return customers


def _customer(row: dict[str, Any], plan_first: str, plan_every: str) -> Customer:
    customer_id = _identifier(row.get("customer_id"))
    return Customer(
        customer_id=customer_id,
        name=_text(row.get("name")) or customer_id,
        manager=_text(row.get("manager")),
        contact=_text(row.get("contact")),
        tier=_text(row.get("tier")),
        key_account=row.get("key_account") is True,
        next_visit=_date(row.get(plan_first), plan_first, customer_id),
        interval=_interval(row.get(plan_every)),
        birthday=_date(row.get("contact_birthday"), "contact_birthday", customer_id),
        contract_end=_date(row.get("contract_end"), "contract_end", customer_id),
    )


def _identifier(value: Any) -> str:
    """The customer id exactly as the ledger kept it: the ledger (kamrules.text's one definition of
    whitespace) decides what is blank, the calendar never second-guesses it; only a missing id
    is refused, as its events would have no UID."""
    if value is None or value == "":
        raise CalendarError(msg("calendar.no_id"))
    return value if isinstance(value, str) else str(value)


def _text(value: Any) -> str:
    """The value as text; blank (whitespace only, :data:`kamrules.text.WHITESPACE`) counts as missing."""
    text = "" if value is None else str(value)
    return "" if is_blank(text) else text


def _date(value: Any, column: str, customer_id: str) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(strip(value)) if not is_blank(value) else None
        except ValueError:
            pass
    raise CalendarError(msg("calendar.not_a_date_value", customer_id=customer_id, column=column,
                            value=repr(value)[:60]), customer_id)


def _interval(value: Any) -> int | None:
    """Days between visits; anything that is not a positive whole number means "no repeat"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        return None
    return int(value) if value >= 1 else None


def visit_dates(first: dt.date, every: int | None, start: dt.date, end: dt.date) -> list[dt.date]:
    """``first`` (or ``start`` if first is overdue), then every ``every`` days, up to ``end``."""
    dates, day = [], max(first, start)
    while day <= end:
        dates.append(day)
        if not every or every > (end - day).days:  # (a huge interval would overflow the date)
            break
        day += dt.timedelta(days=every)
    return dates


def yearly(month: int, day: int, start: dt.date, end: dt.date) -> list[dt.date]:
    """The dates in ``start..end`` that fall on month-day; 29 February is the 28th in common years."""
    dates = []
    for year in range(start.year, end.year + 1):
        leap_day_moves = (month, day) == (2, 29) and not _calendar.isleap(year)
        candidate = dt.date(year, 2, 28) if leap_day_moves else dt.date(year, month, day)
        if start <= candidate <= end:
            dates.append(candidate)
    return dates


def visit_events(customer: Customer, start: dt.date, end: dt.date) -> list[Event]:
    if customer.next_visit is None:
        return []
    summary = msg("calendar.visit", name=customer.name, customer_id=customer.customer_id)
    events = []
    for day in visit_dates(customer.next_visit, customer.interval, start, end):
        lines = customer.details
        if customer.next_visit < start and not events:
            lines += (msg("calendar.overdue", date=customer.next_visit.isoformat()),)
        events.append(Event("visit", customer.customer_id, day, summary, lines, timed=True))
    return events


def birthday_events(customer: Customer, start: dt.date, end: dt.date, alarm: bool) -> list[Event]:
    if customer.birthday is None:
        return []
    days = yearly(customer.birthday.month, customer.birthday.day, start, end)
    if not days:  # most customers: the words are made only for the events there are
        return []
    summary = msg("calendar.birthday", contact=customer.contact or msg("calendar.someone"), name=customer.name)
    birthday = MonthDay(customer.birthday.month, customer.birthday.day)
    details = (*customer.details, msg("calendar.birthday_on", date=birthday))
    return [Event("birthday", customer.customer_id, day, summary, details, alarm=alarm) for day in days]


def renewal_events(customer: Customer, start: dt.date, end: dt.date, alarm: bool) -> list[Event]:
    day = customer.contract_end
    if day is None or not start <= day <= end:
        return []
    details = (*customer.details, msg("calendar.contract_end", date=day.isoformat()))
    return [Event("renewal", customer.customer_id, day, msg("calendar.renewal", name=customer.name), details,
                  alarm=alarm)]


def festival_events(spec: CalendarSpec, customers: list[Customer], start: dt.date, end: dt.date) -> list[Event]:
    details = greeting_list(customers)
    events = []
    for festival in spec.festivals:
        if festival.year is None:
            days = yearly(festival.month, festival.day, start, end)
        else:
            day = dt.date(festival.year, festival.month, festival.day)
            days = [day] if start <= day <= end else []
        events += [Event("festival", festival.name, day, msg("calendar.festival", festival=festival.name), details,
                         alarm=spec.reminder_days is not None) for day in days]
    return events


def greeting_list(customers: list[Customer]) -> tuple[Text, ...]:
    """The key accounts to greet, ordered by name then id, one per line with their manager."""
    key_accounts = sorted((c for c in customers if c.key_account), key=lambda c: (c.name, c.customer_id))
    if not key_accounts:
        return (msg("calendar.greet_none"),)
    lines = [msg("calendar.greet_count", count=len(key_accounts))]
    for c in key_accounts:
        lines.append(msg("calendar.greet_manager", name=c.name, customer_id=c.customer_id, manager=c.manager)
                     if c.manager else msg("calendar.greet", name=c.name, customer_id=c.customer_id))
    return tuple(lines)


def make_uid(kind: str, key: str, day: dt.date) -> str:
    """``<kind>-<key>-<YYYYMMDD>@kamrules``, e.g. ``visit-C0001-20261103@kamrules``.

    RFC 5545 §3.8.4.7: a UID identifies an event across versions, so importing the next
    run's file updates the events it already holds. The key is percent-encoded (letters,
    digits and ``-._~`` stay as they are), which keeps the UID plain ASCII with nothing to
    escape, and keeps distinct ids distinct.
    """
    return f"{kind}-{quote(key, safe='')}-{day:%Y%m%d}@{UID_DOMAIN}"


def stamp(as_of: dt.date) -> str:
    """DTSTAMP: as_of at 00:00:00 UTC.

    RFC 5545 §3.8.7.2 requires a DTSTAMP (a UTC date-time) in every VEVENT; with METHOD it
    is when the calendar object was made. The wall clock would make every run's file
    different even for the same data; as_of is the moment the data describes, so the same
    input gives byte-identical output, and a later run still carries a later stamp, which
    is what clients compare when an import replaces an event with the same UID.
    """
    return f"{as_of:%Y%m%d}T000000Z"


def sequence(as_of: dt.date) -> int:
    """SEQUENCE: days from 2000-01-01 to as_of.

    RFC 5545 §3.8.7.4: the revision number of an event. A client holding an event with the
    same UID may ignore an import whose SEQUENCE did not grow, so it grows run after run
    while depending on nothing but the input.
    """
    return max(0, (as_of - SEQUENCE_EPOCH).days)


def escape_text(value: str) -> str:
    r"""A TEXT value (RFC 5545 §3.3.11): ``\`` ``;`` ``,`` and line breaks become ``\\ \; \, \n``.

    TEXT may hold no control character other than tab, so any other C0 control, DEL and
    unpaired surrogates (which UTF-8 cannot encode) are dropped; CR LF and CR become ``\n``.
    """
    value = _NOT_TEXT.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold one content line (RFC 5545 §3.1): at most 75 octets per physical line.

    Continuation lines start with one space, which counts toward their 75 octets. The RFC
    forbids splitting a multi-octet UTF-8 character, so a cut never lands on a continuation
    byte; it never lands inside a TEXT escape such as ``\\;`` either: unfolding would restore
    it, but some importers unescape before they unfold.
    """
    data = line.encode("utf-8")
    if len(data) <= MAX_OCTETS:
        return line
    parts, position, limit = [], 0, MAX_OCTETS
    while len(data) - position > limit:
        cut = position + limit
        while data[cut] & 0xC0 == 0x80:
            cut -= 1
        if _trailing_backslashes(data, position, cut) % 2:
            cut -= 1
        parts.append(data[position:cut])
        position, limit = cut, MAX_OCTETS - 1
    parts.append(data[position:])
    return b"\r\n ".join(parts).decode("utf-8")


def _trailing_backslashes(data: bytes, start: int, end: int) -> int:
    count = 0
    while end - count > start and data[end - count - 1] == 0x5C:
        count += 1
    return count


def _utc_offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{rest:02d}"


def vtimezone(spec: CalendarSpec) -> list[str]:
    """The VTIMEZONE for ``spec.timezone`` (RFC 5545 §3.6.5).

    Every TZID used by a DTSTART/DTEND must have its VTIMEZONE in the same object. The
    supported zones have one offset and no daylight saving, so one STANDARD rule from 1970
    describes them completely; no time-zone database is needed.
    """
    offset = _utc_offset(spec.zone.offset_minutes)
    return ["BEGIN:VTIMEZONE", f"TZID:{spec.timezone}", f"X-LIC-LOCATION:{spec.timezone}",
            "BEGIN:STANDARD", f"TZOFFSETFROM:{offset}", f"TZOFFSETTO:{offset}",
            f"TZNAME:{spec.zone.abbreviation}", "DTSTART:19700101T000000", "END:STANDARD", "END:VTIMEZONE"]


def when(event: Event, spec: CalendarSpec) -> list[str]:
    """DTSTART/DTEND: local time with TZID for visits, VALUE=DATE (end exclusive) for all-day events."""
    if event.timed:
        begin = dt.datetime.combine(event.day, spec.visit_start)
        finish = begin + dt.timedelta(minutes=spec.visit_minutes)
        tzid = f";TZID={spec.timezone}"
        return [f"DTSTART{tzid}:{begin:%Y%m%dT%H%M%S}", f"DTEND{tzid}:{finish:%Y%m%dT%H%M%S}"]
    return [f"DTSTART;VALUE=DATE:{event.day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{event.day + dt.timedelta(days=1):%Y%m%d}", "TRANSP:TRANSPARENT"]


def valarm(event: Event, spec: CalendarSpec, lang: str) -> list[str]:
    """A DISPLAY alarm (RFC 5545 §3.6.6: ACTION, TRIGGER and DESCRIPTION are all required)."""
    if not event.alarm or spec.reminder_days is None:
        return []
    return ["BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{escape_text(event.title(lang))}",
            f"TRIGGER:-P{spec.reminder_days}D", "END:VALARM"]


def vevent(event: Event, spec: CalendarSpec, as_of: dt.date, lang: str) -> list[str]:
    category = localize(CATEGORIES[event.kind], lang)
    return ["BEGIN:VEVENT", f"UID:{event.uid}", f"DTSTAMP:{stamp(as_of)}", f"SEQUENCE:{sequence(as_of)}",
            *when(event, spec), f"SUMMARY:{escape_text(event.title(lang))}",
            f"DESCRIPTION:{escape_text(event.description(lang))}", f"CATEGORIES:{escape_text(category)}",
            *valarm(event, spec, lang), "END:VEVENT"]


def header(spec: CalendarSpec, as_of: dt.date, company: str, lang: str) -> list[str]:
    """VERSION and PRODID are required (§3.7); X-WR-* name the calendar in Outlook and Google."""
    end = as_of + dt.timedelta(days=spec.horizon_days)
    name = msg("calendar.company_name", company=strip(company)) if not is_blank(company) else msg("calendar.name")
    description = msg("calendar.description", as_of=as_of.isoformat(), end=end.isoformat())
    return ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID.format(language=lang.upper())}", "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH", f"X-WR-CALNAME:{escape_text(localize(name, lang))}",
            f"X-WR-CALDESC:{escape_text(localize(description, lang))}", f"X-WR-TIMEZONE:{spec.timezone}"]


def content_lines(events: Iterable[Event], spec: CalendarSpec, as_of: dt.date, company: str,
                  lang: str) -> Iterator[str]:
    yield from header(spec, as_of, company, lang)
    yield from vtimezone(spec)
    for event in events:
        yield from vevent(event, spec, as_of, lang)
    yield "END:VCALENDAR"


def render_calendar(events: Iterable[Event], spec: CalendarSpec, as_of: dt.date, company: str,
                    lang: str | None = None) -> str:
    """The calendar text: every content line folded and ended by CRLF (RFC 5545 §3.1); English
    when ``lang`` is ``en``, Chinese otherwise."""
    as_of = as_of.date() if isinstance(as_of, dt.datetime) else as_of
    lines = content_lines(events, spec, as_of, company, language(lang))
    return "".join(fold(line) + CRLF for line in lines)
