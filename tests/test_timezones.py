"""VTIMEZONE for any IANA zone, and checked zone names (kamrules/render/timezones.py)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import icalendar
import pytest

from kamrules.i18n import localize
from kamrules.render import ics
from kamrules.render.timezones import check_timezone, transitions, utc_offset, vtimezone, zone

D = dt.date
UTC = dt.timezone.utc


def components(lines: list[str]) -> list[dict[str, str]]:
    """The STANDARD/DAYLIGHT sub-components as {"kind": …, property: value}."""
    found, current = [], None
    for line in lines[3:-1]:
        key, _, value = line.partition(":")
        if key == "BEGIN":
            current = {"kind": value}
        elif key == "END":
            found.append(current)
        else:
            current[key] = value
    return found


def test_london_over_a_winter_gives_both_transitions():
    lines = vtimezone("Europe/London", D(2026, 10, 1), D(2027, 6, 30))
    assert lines[:3] == ["BEGIN:VTIMEZONE", "TZID:Europe/London", "X-LIC-LOCATION:Europe/London"]
    assert lines[-1] == "END:VTIMEZONE"
    assert components(lines) == [
        # in force on 2026-10-01: summer time since 29 March
        {"kind": "DAYLIGHT", "TZOFFSETFROM": "+0000", "TZOFFSETTO": "+0100", "TZNAME": "BST",
         "DTSTART": "20260329T010000"},
        # clocks go back at 02:00 BST on 25 October 2026 (01:00 UTC)
        {"kind": "STANDARD", "TZOFFSETFROM": "+0100", "TZOFFSETTO": "+0000", "TZNAME": "GMT",
         "DTSTART": "20261025T020000"},
        # and forward at 01:00 GMT on 28 March 2027
        {"kind": "DAYLIGHT", "TZOFFSETFROM": "+0000", "TZOFFSETTO": "+0100", "TZNAME": "BST",
         "DTSTART": "20270328T010000"},
    ]


def test_new_york():
    assert components(vtimezone("America/New_York", D(2026, 11, 15), D(2027, 12, 31))) == [
        {"kind": "STANDARD", "TZOFFSETFROM": "-0400", "TZOFFSETTO": "-0500", "TZNAME": "EST",
         "DTSTART": "20261101T020000"},
        {"kind": "DAYLIGHT", "TZOFFSETFROM": "-0500", "TZOFFSETTO": "-0400", "TZNAME": "EDT",
         "DTSTART": "20270314T020000"},
        {"kind": "STANDARD", "TZOFFSETFROM": "-0400", "TZOFFSETTO": "-0500", "TZNAME": "EST",
         "DTSTART": "20271107T020000"},
    ]


def test_a_transition_on_the_first_or_last_day_is_inside_the_range():
    on_start = components(vtimezone("Europe/London", D(2026, 10, 25), D(2026, 10, 25)))
    assert [c["DTSTART"] for c in on_start] == ["20260329T010000", "20261025T020000"]
    on_end = components(vtimezone("Europe/London", D(2026, 10, 1), D(2026, 10, 25)))
    assert [c["DTSTART"] for c in on_end] == ["20260329T010000", "20261025T020000"]
    before = components(vtimezone("Europe/London", D(2026, 10, 1), D(2026, 10, 24)))
    assert [c["DTSTART"] for c in before] == ["20260329T010000"]


def test_southern_hemisphere_and_half_hour_offsets():
    assert components(vtimezone("Australia/Adelaide", D(2026, 12, 1), D(2027, 5, 1))) == [
        {"kind": "DAYLIGHT", "TZOFFSETFROM": "+0930", "TZOFFSETTO": "+1030", "TZNAME": "ACDT",
         "DTSTART": "20261004T020000"},
        {"kind": "STANDARD", "TZOFFSETFROM": "+1030", "TZOFFSETTO": "+0930", "TZNAME": "ACST",
         "DTSTART": "20270404T030000"},
    ]


@pytest.mark.parametrize("name, abbreviation", [("Asia/Shanghai", "CST"), ("Asia/Hong_Kong", "HKT"),
                                                ("Asia/Macau", "CST"), ("Asia/Taipei", "CST"),
                                                ("Asia/Singapore", "+08")])
def test_fixed_offset_zones_are_written_as_today(name, abbreviation):
    assert vtimezone(name, D(2026, 10, 31), D(2027, 1, 29)) == [
        "BEGIN:VTIMEZONE", f"TZID:{name}", f"X-LIC-LOCATION:{name}", "BEGIN:STANDARD", "TZOFFSETFROM:+0800",
        "TZOFFSETTO:+0800", f"TZNAME:{abbreviation}", "DTSTART:19700101T000000", "END:STANDARD", "END:VTIMEZONE"]


def test_shanghai_is_byte_identical_to_the_calendar_of_today():
    # the lines render/ics.py has written for Asia/Shanghai from its fixed-offset table
    expected = ["BEGIN:VTIMEZONE", "TZID:Asia/Shanghai", "X-LIC-LOCATION:Asia/Shanghai", "BEGIN:STANDARD",
                "TZOFFSETFROM:+0800", "TZOFFSETTO:+0800", "TZNAME:CST", "DTSTART:19700101T000000",
                "END:STANDARD", "END:VTIMEZONE"]
    assert vtimezone("Asia/Shanghai", D(2026, 10, 31), D(2027, 1, 29)) == expected
    assert vtimezone("Asia/Shanghai", D(2000, 1, 1), D(2099, 12, 31)) == expected


def test_shanghai_in_the_years_of_its_summer_time():
    # China kept summer time from 1986 to 1991
    assert components(vtimezone("Asia/Shanghai", D(1991, 1, 1), D(1991, 12, 31))) == [
        {"kind": "STANDARD", "TZOFFSETFROM": "+0900", "TZOFFSETTO": "+0800", "TZNAME": "CST",
         "DTSTART": "19900916T020000"},
        {"kind": "DAYLIGHT", "TZOFFSETFROM": "+0800", "TZOFFSETTO": "+0900", "TZNAME": "CDT",
         "DTSTART": "19910414T020000"},
        {"kind": "STANDARD", "TZOFFSETFROM": "+0900", "TZOFFSETTO": "+0800", "TZNAME": "CST",
         "DTSTART": "19910915T020000"},
    ]


def calendar_text(tzid: str, start: dt.datetime, lines: list[str]) -> bytes:
    event = ["BEGIN:VEVENT", "UID:visit-C001-1@kamrules", "DTSTAMP:20261001T000000Z",
             f"DTSTART;TZID={tzid}:{start:%Y%m%dT%H%M%S}",
             f"DTEND;TZID={tzid}:{start + dt.timedelta(hours=1):%Y%m%dT%H%M%S}", "SUMMARY:visit", "END:VEVENT"]
    whole = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//kamrules//test//EN", *lines, *event, "END:VCALENDAR"]
    return "".join(ics.fold(line) + ics.CRLF for line in whole).encode("utf-8")


@pytest.mark.parametrize("local, utc", [
    (dt.datetime(2026, 11, 2, 10), dt.datetime(2026, 11, 2, 10, tzinfo=UTC)),   # GMT
    (dt.datetime(2026, 10, 20, 10), dt.datetime(2026, 10, 20, 9, tzinfo=UTC)),  # BST
    (dt.datetime(2027, 4, 1, 10), dt.datetime(2027, 4, 1, 9, tzinfo=UTC)),      # BST again
])
def test_icalendar_reads_london_times_through_the_vtimezone(local, utc):
    lines = vtimezone("Europe/London", D(2026, 10, 1), D(2027, 6, 30))
    parsed = icalendar.Calendar.from_ical(calendar_text("Europe/London", local, lines))
    (event,) = parsed.walk("VEVENT")
    assert event.decoded("DTSTART").astimezone(UTC) == utc
    # the VTIMEZONE itself, not only the zone database the parser may know the TZID from
    (component,) = parsed.walk("VTIMEZONE")
    assert local.replace(tzinfo=component.to_tz()).astimezone(UTC) == utc


def test_icalendar_reads_a_zone_only_the_vtimezone_defines():
    # a TZID no database knows: the offsets can only come from our components
    lines = vtimezone("Europe/London", D(2026, 10, 1), D(2027, 6, 30))
    lines = [line.replace("Europe/London", "kamrules-London") for line in lines]
    for local, utc in [(dt.datetime(2026, 11, 2, 10), dt.datetime(2026, 11, 2, 10, tzinfo=UTC)),
                       (dt.datetime(2026, 10, 20, 10), dt.datetime(2026, 10, 20, 9, tzinfo=UTC))]:
        parsed = icalendar.Calendar.from_ical(calendar_text("kamrules-London", local, lines))
        (event,) = parsed.walk("VEVENT")
        assert event.decoded("DTSTART").astimezone(UTC) == utc


def test_transitions_are_found_to_the_second():
    london = zoneinfo.ZoneInfo("Europe/London")
    (change,) = transitions(london, dt.datetime(2027, 3, 1, tzinfo=UTC), dt.datetime(2027, 4, 1, tzinfo=UTC))
    assert change.at == dt.datetime(2027, 3, 28, 1, tzinfo=UTC)
    assert (change.before.offset, change.after.offset) == (dt.timedelta(0), dt.timedelta(hours=1))
    assert transitions(london, dt.datetime(2027, 4, 1, tzinfo=UTC), dt.datetime(2027, 10, 1, tzinfo=UTC)) == []


def test_utc_offsets():
    assert [utc_offset(dt.timedelta(minutes=m)) for m in (480, -300, 345, 0, -210)] == [
        "+0800", "-0500", "+0545", "+0000", "-0330"]
    assert utc_offset(dt.timedelta(hours=8, minutes=5, seconds=43)) == "+080543"


def test_known_zones():
    assert check_timezone("Europe/London") == "Europe/London"
    assert zone("Asia/Shanghai") == zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("name, hint", [
    ("Asia/Shangai", "'Asia/Shanghai'"),
    ("asia/shanghai", "'Asia/Shanghai'"),
    ("Europe/Londn", "'Europe/London'"),
])
def test_unknown_zones_suggest_the_closest(name, hint):
    with pytest.raises(ValueError) as info:
        check_timezone(name)
    message = info.value.args[0]
    assert str(message) == (f"unknown time zone {name!r}: use a name from the IANA time zone database, like "
                            f"Asia/Shanghai or Europe/London; did you mean {hint}?")
    assert localize(message, "zh") == (f"未知的时区 {name!r}：请使用 IANA 时区数据库中的名称，例如 Asia/Shanghai "
                                       f"或 Europe/London；您是否指 {hint}？")
    with pytest.raises(ValueError):
        vtimezone(name, D(2026, 1, 1), D(2026, 12, 31))


@pytest.mark.parametrize("name", ["", "Asia", "../etc/passwd", "Nowhere/At_All", None, 8])
def test_names_that_are_no_zone_are_refused_without_a_crash(name):
    with pytest.raises(ValueError) as info:
        zone(name)
    assert str(info.value).startswith(f"unknown time zone {name!r}")
