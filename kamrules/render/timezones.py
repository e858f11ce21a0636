"""Time zones for calendars: IANA names checked with a did-you-mean, and the RFC 5545 VTIMEZONE
of any zone over the dates a calendar covers.

Every TZID a DTSTART or DTEND uses must have its VTIMEZONE in the same iCalendar object
(RFC 5545 §3.6.5). :func:`vtimezone` reads the offsets from the time-zone database (zoneinfo)
and writes one STANDARD or DAYLIGHT sub-component per change of UTC offset (or zone
abbreviation) between two dates, each with its own DTSTART and no RRULE, so the component
describes exactly the offsets of those dates however the zone's rules change later:

* the first sub-component is the observance in force at ``start``: DTSTART is the last
  transition before ``start`` (looked for up to :data:`LOOK_BACK_DAYS` back), or
  ``19700101T000000`` with TZOFFSETFROM = TZOFFSETTO when there is none that recent;
* a zone with no transition from that point to ``end`` (Asia/Shanghai) therefore gets one
  STANDARD sub-component from 1970, the same lines kamrules has always written for it;
* DTSTART of a transition is its local time in the offset before it (§3.6.5): Europe/London's
  clocks go forward at ``20270328T010000`` (01:00 GMT) and back at ``20261025T020000``
  (02:00 BST); TZNAME is zoneinfo's abbreviation (GMT, BST, CST, ``+08``).

Transitions are found by comparing the offset at 00:00 UTC of each day, then bisecting to
the second; two transitions within one day that cancel each other would not be seen.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import NamedTuple

from ..rules.plan_config import check_timezone

LOOK_BACK_DAYS = 400
EPOCH_START = "19700101T000000"
_UTC = dt.timezone.utc
_DAY = dt.timedelta(days=1)
_SECOND = dt.timedelta(seconds=1)


class Observance(NamedTuple):
    """What a zone's clocks say at an instant: UTC offset, abbreviation, daylight saving or not."""

    offset: dt.timedelta
    name: str
    daylight: bool


class Transition(NamedTuple):
    """The instant (UTC) the zone goes from ``before`` to ``after``."""

    at: dt.datetime
    before: Observance
    after: Observance

    @property
    def local_start(self) -> dt.datetime:
        """The wall-clock time of the transition in the offset before it (naive)."""
        return (self.at + self.before.offset).replace(tzinfo=None)


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The :class:`zoneinfo.ZoneInfo` of an IANA name, checked by :func:`check_timezone`."""
    return zoneinfo.ZoneInfo(check_timezone(name))


def observance(tz: dt.tzinfo, at: dt.datetime) -> Observance:
    """The observance of ``tz`` at the UTC instant ``at``."""
    local = at.astimezone(tz)
    offset, dst = local.utcoffset() or dt.timedelta(0), local.dst()
    return Observance(offset, local.tzname() or "", bool(dst and dst > dt.timedelta(0)))


def transitions(tz: dt.tzinfo, begin: dt.datetime, end: dt.datetime) -> list[Transition]:
    """Every change of observance between the UTC instants ``begin`` and ``end``: the offsets are
    compared day by day, and each change is bisected to the second."""
    found: list[Transition] = []
    left, before = begin, observance(tz, begin)
    while left < end:
        right = min(left + _DAY, end)
        after = observance(tz, right)
        cursor, current = left, before
        while current != after:  # one or more changes within (cursor, right]
            low, high = cursor, right
            while high - low > _SECOND:
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if observance(tz, middle) == current:
                    low = middle
                else:
                    high = middle
            following = observance(tz, high)
            found.append(Transition(high, current, following))
            cursor, current = high, following
        left, before = right, after
    return found


def vtimezone(tzid: str, start: dt.date, end: dt.date) -> list[str]:
    """The content lines (unfolded, without line ends) of the VTIMEZONE of ``tzid`` for events
    from ``start`` to ``end`` (local dates, both inclusive); see the module's description."""
    tz = zone(tzid)
    start, end = _day(start), max(_day(end), _day(start))
    begin = _instant(start, -LOOK_BACK_DAYS - 1)
    changes = transitions(tz, begin, _instant(end, 2))
    earlier = [t for t in changes if t.local_start.date() < start]
    within = [t for t in changes if start <= t.local_start.date() <= end]
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}", f"X-LIC-LOCATION:{tzid}"]
    if earlier:
        lines += _component(earlier[-1])
    else:
        current = observance(tz, _instant(start, 0))
        lines += _component(Transition(begin, current, current), EPOCH_START)
    for change in within:
        lines += _component(change)
    return lines + ["END:VTIMEZONE"]


def _component(change: Transition, dtstart: str | None = None) -> list[str]:
    kind = "DAYLIGHT" if change.after.daylight else "STANDARD"
    return [f"BEGIN:{kind}", f"TZOFFSETFROM:{utc_offset(change.before.offset)}",
            f"TZOFFSETTO:{utc_offset(change.after.offset)}", f"TZNAME:{_text(change.after.name)}",
            f"DTSTART:{dtstart or format(change.local_start, '%Y%m%dT%H%M%S')}", f"END:{kind}"]


def utc_offset(offset: dt.timedelta) -> str:
    """A UTC-OFFSET value (RFC 5545 §3.3.14): ``+0800``, ``-0500``, ``+054500``; seconds only when
    there are any (local mean time before standard zones)."""
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")


def _instant(day: dt.date, days: int) -> dt.datetime:
    """00:00 UTC of ``day`` moved by ``days`` days, kept within the years datetime can hold."""
    base = dt.datetime(day.year, day.month, day.day, tzinfo=_UTC)
    low = dt.datetime(1, 1, 2, tzinfo=_UTC)
    high = dt.datetime(9999, 12, 30, tzinfo=_UTC)
    try:
        moved = base + dt.timedelta(days=days)
    except OverflowError:
        return low if days < 0 else high
    return min(max(moved, low), high)


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
