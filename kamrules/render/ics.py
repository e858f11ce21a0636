"""The visit calendars: ``visits.ics`` (every rep) and ``visits/<rep>.ics`` (one per rep), RFC 5545.

Account managers import them into Outlook, Google Calendar, 钉钉 or 飞书. The events are the
scheduled tasks of the visit plan (:mod:`kamrules.plan`), every one on a working day:

* timed tasks in the project's time zone (``timezone:``), at the slot the scheduler gave them:
  ``拜访：<客户名称>（<客户编号>）`` (visit), ``赠送礼品：…`` (gift), ``电话联系：…`` (call),
  ``合同续签：…`` (renewal visit), an onboarding step's own title; each with a display alarm
  ``reminder_minutes`` before it;
* all-day greetings: ``生日：<联系人>（<客户名称>）`` and ``节日问候：<节日>`` (one per rep, listing
  the rep's customers to greet), with an alarm ``reminder_days`` ahead.

Event texts are messages (:func:`kamrules.i18n.msg`): Chinese, or English with ``lang="en"``.

Re-importing a later run's file updates events instead of duplicating them: a UID is a pure
function of (task type, customer or festival, the task's sequence key, see
:mod:`kamrules.plan.tasks`), never of the date, so a visit that moves keeps its UID. A task of
the previous run's plan that is gone from this one (and was not in the past) is written as a
cancellation (``STATUS:CANCELLED``, same UID, a higher SEQUENCE), which removes it from the
rep's calendar. The same input gives the same bytes (see :func:`stamp`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Collection, Iterable, NamedTuple
from urllib.parse import quote

import polars as pl

from ..errors import RenderError
from ..i18n import Text, localize, msg
from ..plan.planner import VisitPlan, build_plan
from ..plan.scheduler import Placed
from ..text import is_blank, strip
from .timezones import vtimezone

CRLF = "\r\n"
MAX_OCTETS = 75
PRODID = "-//kamrules//Key Account Calendar//{language}"
UID_DOMAIN = "kamrules"
SEQUENCE_EPOCH = dt.date(2000, 1, 1)
KINDS = ("festival", "birthday", "renewal", "visit", "gift", "call")
CATEGORIES = {"visit": msg("calendar.kind_visit"), "birthday": msg("calendar.kind_birthday"),
              "renewal": msg("calendar.kind_renewal"), "festival": msg("calendar.kind_festival"),
              "gift": msg("plan.task.gift"), "call": msg("plan.task.call")}
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")
CUSTOMER_COLUMNS = ("customer_id", "name", "manager", "contact", "tier", "key_account",
                    "contact_birthday", "contract_end")
PLAN_FILE = "plan.json"  # the run's events, kept to cancel what the next run drops
REP_FOLDER = "visits"

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
    and the ``details`` (the description's lines) are messages, shown in either language.
    ``start`` is minutes after midnight for a timed event, None for an all-day one."""

    kind: str
    key: str
    day: dt.date
    summary: Text | str
    details: tuple[Text | str, ...]
    uid: str
    rep: str = ""
    start: int | None = None
    minutes: int = 0
    alarm_minutes: int | None = None
    alarm_days: int | None = None
    cancelled: bool = False

    @property
    def timed(self) -> bool:
        return self.start is not None

    def title(self, lang: str | None) -> str:
        return localize(self.summary, language(lang))

    def description(self, lang: str | None, separator: str = "\n") -> str:
        return separator.join(localize(line, language(lang)) for line in self.details)

    def sort_key(self) -> tuple:
        return self.day, -1 if self.start is None else self.start, KINDS.index(self.kind), self.rep, self.key


@dataclass(frozen=True)
class Customer:
    """The fields of one frame row that events are described with, already cleaned."""

    customer_id: str
    name: str
    manager: str
    contact: str
    tier: str
    key_account: bool
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


_SUMMARIES = {"visit": lambda **v: msg("calendar.visit", **v), "gift": lambda **v: msg("calendar.gift", **v),
              "call": lambda **v: msg("calendar.call", **v)}


def build_calendar(frame: pl.DataFrame, spec, as_of: dt.date, lang: str | None = None,
                   field_types: dict[str, str] | None = None, reps: pl.DataFrame | None = None,
                   previous: list[dict[str, Any]] | None = None) -> str:
    """The whole ``visits.ics`` text for one row per customer in ``frame``: the visit plan of the
    rulebook ``spec`` (a :class:`~kamrules.rules.rulebook.RulebookSpec`) scheduled and written,
    with cancellations of the ``previous`` run's events it no longer plans."""
    plan = build_plan(frame, spec, field_types, as_of, reps)
    events = plan_events(frame, plan, spec.visit_plan.purposes)
    everything = [*events, *cancellations(previous or [], events, as_of)]
    return render_calendar(everything, as_of, plan.end, spec.zone_name, calendar_name(spec.company.name), lang)


def plan_events(frame: pl.DataFrame, plan: VisitPlan, purposes: list[str] | None = None) -> list[Event]:
    """Every scheduled task of ``plan`` as an event, sorted by (date, time, kind, rep, customer)."""
    wanted = {placed.task.customer_id for placed in plan.placed}
    wanted.update(customer_id for placed in plan.placed for customer_id in placed.task.customers)
    customers = read_customers(frame, wanted)
    events = [_event(placed, customers, purposes or []) for placed in plan.placed]
    return sorted(events, key=Event.sort_key)


def _event(placed: Placed, customers: dict[str, "Customer"], purposes: list[str]) -> Event:
    task = placed.task
    uid = make_uid(task.source, task.customer_id, task.key)
    if task.kind == "festival":
        details = greeting_list([customers[c] for c in task.customers if c in customers], task.rep)
        return Event("festival", task.customer_id, placed.day, msg("calendar.festival", festival=task.customer_id),
                     details, uid, task.rep, alarm_days=task.reminder_days)
    customer = customers.get(task.customer_id) or Customer(task.customer_id, task.customer_id, task.rep, "", "",
                                                           False, None, None)
    if task.kind == "birthday":
        birthday = customer.birthday
        summary = msg("calendar.birthday", contact=customer.contact or msg("calendar.someone"), name=customer.name)
        details = (*customer.details, msg("calendar.birthday_on", date=MonthDay(birthday.month, birthday.day))) \
            if birthday else customer.details
        return Event("birthday", customer.customer_id, placed.day, summary, details, uid, task.rep,
                     alarm_days=task.reminder_days)
    details = list(customer.details)
    if task.kind == "renewal" and customer.contract_end:
        summary = msg("calendar.renewal_visit", name=customer.name, customer_id=customer.customer_id)
        details.append(msg("calendar.contract_end", date=customer.contract_end.isoformat()))
    elif task.source == "onboarding":
        summary = msg("calendar.task", task=task.title, name=customer.name, customer_id=customer.customer_id)
        details.append(msg("calendar.onboarding"))
    else:
        summary = _SUMMARIES.get(task.kind, _SUMMARIES["visit"])(name=customer.name, customer_id=customer.customer_id)
        if task.kind == "visit" and purposes:
            details.append(msg("calendar.purpose", purpose=purposes[(task.sequence - 1) % len(purposes)]))
    if task.overdue_days is not None:
        details.append(msg("calendar.never_visited") if task.never_visited
                       else msg("calendar.overdue_days", days=task.overdue_days))
    if placed.day > task.due:
        details.append(msg("calendar.due", date=task.due.isoformat()))
    return Event(task.kind, customer.customer_id, placed.day, summary, tuple(details), uid, task.rep, placed.start,
                 task.minutes, alarm_minutes=task.reminder_minutes)


def read_customers(frame: pl.DataFrame, only: Collection[str] | None = None) -> dict[str, Customer]:
    """One :class:`Customer` per row (per row whose id is in ``only``: the plan's events name a
    few of the customers); a missing optional column just means no such events.

    A UID is built from the customer id, so an id that is empty or appears twice would give
    two events one UID (clients then keep only one of them): both are refused, in every row, as
    are dates that are not dates, whether or not the customer has an event.
    """
    if "customer_id" not in frame.columns:
        raise CalendarError(msg("calendar.no_id_column"))
    ids = _checked_ids(frame.get_column("customer_id"))
    for column in ("contact_birthday", "contract_end"):
        if column in frame.columns and frame.schema[column] not in (pl.Date, pl.Datetime, pl.Null):
            for customer_id, value in zip(ids, frame.get_column(column).to_list()):
                _date(value, column, customer_id)
    rows = frame.select([c for c in dict.fromkeys(CUSTOMER_COLUMNS) if c in frame.columns])
    if only is not None:
        rows = rows.filter(pl.Series(ids, dtype=pl.String).is_in(list(only)))
    customers = (_customer(row) for row in rows.iter_rows(named=True))
    return {customer.customer_id: customer for customer in customers}


def _checked_ids(column: pl.Series) -> list[str]:
    """The ids as text (:func:`_identifier`), after refusing the first row whose id is missing
    or was seen in an earlier row."""
    texts = pl.Series([_id_text(value) for value in column.to_list()], dtype=pl.String)
    wrong = texts.is_null() | ~texts.is_first_distinct()
    if wrong.any():
        first = wrong.arg_true()[0]
        if texts[first] is None:
            raise CalendarError(msg("calendar.no_id"))
        raise CalendarError(msg("calendar.duplicate_id", customer_id=texts[first]))
    return texts.to_list()


def _customer(row: dict[str, Any]) -> Customer:
    customer_id = _identifier(row.get("customer_id"))
    return Customer(
        customer_id=customer_id,
        name=_text(row.get("name")) or customer_id,
        manager=_text(row.get("manager")),
        contact=_text(row.get("contact")),
        tier=_text(row.get("tier")),
        key_account=row.get("key_account") is True,
        birthday=_date(row.get("contact_birthday"), "contact_birthday", customer_id),
        contract_end=_date(row.get("contract_end"), "contract_end", customer_id),
    )


def _identifier(value: Any) -> str:
    """The customer id exactly as the ledger kept it: the ledger (kamrules.text's one definition of
    whitespace) decides what is blank, the calendar never second-guesses it; only a missing id
    is refused, as its events would have no UID."""
    text = _id_text(value)
    if text is None:
        raise CalendarError(msg("calendar.no_id"))
    return text


def _id_text(value: Any) -> str | None:
    """:func:`_identifier` without the refusal: None for a missing id."""
    if value is None or value == "":
        return None
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


def greeting_list(customers: list[Customer], rep: str = "") -> tuple[Text, ...]:
    """The customers to greet, ordered by name then id, one per line."""
    ordered = sorted(customers, key=lambda c: (c.name, c.customer_id))
    if not ordered:
        return (msg("calendar.greet_none"),)
    lines: list[Text] = [msg("calendar.greet_count", count=len(ordered))]
    for c in ordered:
        lines.append(msg("calendar.greet_manager", name=c.name, customer_id=c.customer_id, manager=c.manager)
                     if c.manager and c.manager != rep else msg("calendar.greet", name=c.name, customer_id=c.customer_id))
    return tuple(lines)


def make_uid(source: str, key: str, sequence: str) -> str:
    """``<type>-<customer or festival>-<sequence>@kamrules``, e.g. ``visit-C0001-20261015.2@kamrules``.

    RFC 5545 §3.8.4.7: a UID identifies an event across versions, so importing the next run's
    file updates the events it already holds, wherever the scheduler moved them. The parts are
    percent-encoded (letters, digits and ``-._~`` stay as they are), which keeps the UID plain
    ASCII with nothing to escape, and keeps distinct ids distinct.
    """
    return f"{source}-{_part(key)}-{_part(sequence)}@{UID_DOMAIN}"


def _part(text: str) -> str:
    """Percent-encoded, ``-`` too, so the dashes between the parts keep distinct ids distinct."""
    return quote(text, safe="").replace("-", "%2D")


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


def when(event: Event, timezone: str) -> list[str]:
    """DTSTART/DTEND: local time with TZID for timed events, VALUE=DATE (end exclusive) for all-day ones."""
    if event.timed:
        begin = dt.datetime.combine(event.day, dt.time()) + dt.timedelta(minutes=event.start)
        finish = begin + dt.timedelta(minutes=event.minutes)
        tzid = f";TZID={timezone}"
        return [f"DTSTART{tzid}:{begin:%Y%m%dT%H%M%S}", f"DTEND{tzid}:{finish:%Y%m%dT%H%M%S}"]
    return [f"DTSTART;VALUE=DATE:{event.day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{event.day + dt.timedelta(days=1):%Y%m%d}", "TRANSP:TRANSPARENT"]


def valarm(event: Event, lang: str) -> list[str]:
    """A DISPLAY alarm (RFC 5545 §3.6.6: ACTION, TRIGGER and DESCRIPTION are all required):
    ``alarm_minutes`` before a timed event, ``alarm_days`` before an all-day one."""
    if event.cancelled:
        return []
    if event.timed and event.alarm_minutes is not None:
        trigger = f"-PT{event.alarm_minutes}M"
    elif not event.timed and event.alarm_days is not None:
        trigger = f"-P{event.alarm_days}D"
    else:
        return []
    return ["BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{escape_text(event.title(lang))}",
            f"TRIGGER:{trigger}", "END:VALARM"]


def vevent(event: Event, timezone: str, as_of: dt.date, lang: str) -> list[str]:
    category = localize(CATEGORIES[event.kind], lang)
    status = "CANCELLED" if event.cancelled else "CONFIRMED"
    return ["BEGIN:VEVENT", f"UID:{event.uid}", f"DTSTAMP:{stamp(as_of)}", f"SEQUENCE:{sequence(as_of)}",
            *when(event, timezone), f"SUMMARY:{escape_text(event.title(lang))}",
            f"DESCRIPTION:{escape_text(event.description(lang))}", f"CATEGORIES:{escape_text(category)}",
            f"STATUS:{status}", *valarm(event, lang), "END:VEVENT"]


def header(name: Text, as_of: dt.date, end: dt.date, timezone: str, lang: str) -> list[str]:
    """VERSION and PRODID are required (§3.7); X-WR-* name the calendar in Outlook and Google."""
    description = msg("calendar.description", as_of=as_of.isoformat(), end=end.isoformat())
    return ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID.format(language=lang.upper())}", "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH", f"X-WR-CALNAME:{escape_text(localize(name, lang))}",
            f"X-WR-CALDESC:{escape_text(localize(description, lang))}", f"X-WR-TIMEZONE:{timezone}"]


def calendar_name(company: str, rep: str | None = None) -> Text:
    if rep is not None:
        who = rep or msg("plan.unassigned")
        return msg("calendar.rep_company_name", company=strip(company), rep=who) if not is_blank(company) \
            else msg("calendar.rep_name", rep=who)
    return msg("calendar.company_name", company=strip(company)) if not is_blank(company) else msg("calendar.name")


def render_calendar(events: Iterable[Event], as_of: dt.date, end: dt.date, timezone: str, name: Text,
                    lang: str | None = None) -> str:
    """The calendar text: every content line folded and ended by CRLF (RFC 5545 §3.1); English
    when ``lang`` is ``en``, Chinese otherwise."""
    lang = language(lang)
    events = sorted(events, key=Event.sort_key)
    last = max([end, *(e.day for e in events)])
    lines: list[str] = header(name, as_of, end, timezone, lang)
    lines += vtimezone(timezone, as_of, last)
    for event in events:
        lines += vevent(event, timezone, as_of, lang)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)


def write_calendars(folder: Path, events: list[Event], cancelled: list[Event], as_of: dt.date, end: dt.date,
                    timezone: str, company: str, lang: str | None = None) -> dict[str, int]:
    """``visits.ics`` with every event and ``visits/<rep>.ics`` with each rep's (cancellations
    included in both), as UTF-8 bytes (no BOM, the iCalendar default). Returns the event count
    of each file written, by its path relative to ``folder``."""
    from .docx import safe_filename

    everything = [*events, *cancelled]
    counts = {"visits.ics": len(everything)}
    (folder / "visits.ics").write_bytes(
        render_calendar(everything, as_of, end, timezone, calendar_name(company), lang).encode("utf-8"))
    by_rep: dict[str, list[Event]] = {}
    for event in everything:
        by_rep.setdefault(event.rep, []).append(event)
    if by_rep:
        (folder / REP_FOLDER).mkdir(exist_ok=True)
    used: set[str] = set()
    for rep, rep_events in sorted(by_rep.items()):
        stem = safe_filename(rep or localize(msg("plan.unassigned"), language(lang)), 120)
        name, n = stem, 1
        while name.lower() in used:  # two reps whose names clean to the same file name
            n += 1
            name = f"{stem}_{n}"
        used.add(name.lower())
        relative = f"{REP_FOLDER}/{name}.ics"
        (folder / relative).write_bytes(
            render_calendar(rep_events, as_of, end, timezone, calendar_name(company, rep), lang).encode("utf-8"))
        counts[relative] = len(rep_events)
    return counts


# --- the plan kept for the next run: cancellations ---------------------------------------------

def plan_records(events: list[Event], lang: str | None) -> list[dict[str, Any]]:
    """What the next run needs to cancel an event it no longer plans."""
    lang = language(lang)
    return [{"uid": e.uid, "kind": e.kind, "key": e.key, "rep": e.rep, "day": e.day.isoformat(), "start": e.start,
             "minutes": e.minutes, "summary": e.title(lang)} for e in events]


def write_plan(path: Path, events: list[Event], lang: str | None) -> None:
    path.write_text(json.dumps({"version": 1, "events": plan_records(events, lang)}, ensure_ascii=False, indent=0),
                    encoding="utf-8")


def read_plan(path: Path | None) -> list[dict[str, Any]]:
    """The events a previous run kept; nothing (never an error) when there is none or it is damaged."""
    if path is None:
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        records = data["events"]
        return [r for r in records if isinstance(r, dict) and {"uid", "kind", "day", "summary"} <= r.keys()]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def cancellations(previous: list[dict[str, Any]], events: list[Event], as_of: dt.date) -> list[Event]:
    """The previous run's events that this run no longer plans, from as_of on (a task in the past
    stays as it was: it happened, or the visit log will say it did not)."""
    planned = {e.uid for e in events}
    gone = []
    for record in previous:
        try:
            day = dt.date.fromisoformat(record["day"])
        except (TypeError, ValueError):
            continue
        if record["uid"] in planned or day < as_of or record["kind"] not in CATEGORIES:
            continue
        start = record.get("start")
        minutes = record.get("minutes") or 0
        gone.append(Event(record["kind"], str(record.get("key", "")), day, str(record["summary"]),
                          (msg("calendar.cancelled"),), str(record["uid"]), str(record.get("rep") or ""),
                          start if isinstance(start, int) else None, minutes if isinstance(minutes, int) else 0,
                          cancelled=True))
    return sorted(gone, key=Event.sort_key)
