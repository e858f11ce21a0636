"""visits.ics: events, RFC 5545 text (CRLF, folding, escaping), stable UIDs, calendar config.

Every calendar is parsed back with the ``icalendar`` package, and the assertions are made on
what a calendar client would see.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

icalendar = pytest.importorskip("icalendar")

from kamrules.rules.calendar_config import CalendarSpec, FestivalSpec  # noqa: E402
from kamrules.render.ics import build_calendar, escape_text, fold, plan_events, write_calendar  # noqa: E402
from kamrules.yamlio import load_yaml  # noqa: E402

AS_OF = dt.date(2026, 10, 31)
END = AS_OF + dt.timedelta(days=90)
COMPANY = "上海恒信供应链管理有限公司"
SHANGHAI = dt.timedelta(hours=8)
HOSTILE_NAMES = [
    "A&B <Co>",
    "=1+1",
    "a;b,c\\d",
    "第一行\n第二行",
    "长" * 150 + "x" * 50,
    "笑脸😀公司",
    "\\n;不是换行,\\,",
]


def customers(*rows: dict) -> pl.DataFrame:
    """A frame with the pipeline's column types; missing keys of a row are null."""
    schema = {"customer_id": pl.String, "name": pl.String, "manager": pl.String, "contact": pl.String,
              "tier": pl.String, "key_account": pl.Boolean, "next_visit_date": pl.Date,
              "visit_interval_days": pl.Int64, "contact_birthday": pl.Date, "contract_end": pl.Date}
    return pl.DataFrame([{key: row.get(key) for key in schema} for row in rows], schema=schema)


def customer(customer_id: str = "C001", **fields) -> dict:
    base = {"customer_id": customer_id, "name": f"客户{customer_id}", "manager": "张伟", "contact": "李娜",
            "tier": "A", "key_account": False}
    return base | fields


def parse(text: str):
    calendar = icalendar.Calendar.from_ical(text)
    assert [c.errors for c in calendar.walk() if c.errors] == []
    return calendar


def events(text: str) -> list:
    return parse(text).walk("VEVENT")


def kind(event) -> str:
    return str(event["UID"]).split("-", 1)[0]


def of_kind(text: str, wanted: str) -> list:
    return [e for e in events(text) if kind(e) == wanted]


def start(event):
    return event.decoded("DTSTART")


def build(frame: pl.DataFrame, spec: CalendarSpec | None = None, as_of: dt.date = AS_OF, **kw) -> str:
    return build_calendar(frame, spec or CalendarSpec(), as_of, COMPANY, **kw)


def unescape(text: str) -> str:
    """RFC 5545 TEXT unescaping, for X- properties that icalendar leaves as they are on the wire."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def vevent_blocks(text: str) -> dict[str, str]:
    blocks = re.findall(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", text, re.S)
    return {re.search(r"UID:(\S+)", b.replace("\r\n ", "")).group(1): b for b in blocks}


# ------------------------------------------------------------------ the events

def test_one_customer_gives_each_kind_with_exact_dates():
    spec = CalendarSpec(festivals=[{"name": "元旦", "date": "01-01"}, {"name": "春节", "date": "2027-02-06"}])
    frame = customers(customer(next_visit_date=dt.date(2026, 11, 3), visit_interval_days=30,
                               contact_birthday=dt.date(1980, 12, 5), contract_end=dt.date(2027, 1, 15),
                               key_account=True))
    found = [(kind(e), start(e)) for e in events(build(frame, spec))]
    visits = [dt.date(2026, 11, 3), dt.date(2026, 12, 3), dt.date(2027, 1, 2)]
    assert [d.date() for k, d in found if k == "visit"] == visits
    assert [d for k, d in found if k == "birthday"] == [dt.date(2026, 12, 5)]
    assert [d for k, d in found if k == "renewal"] == [dt.date(2027, 1, 15)]
    assert [d for k, d in found if k == "festival"] == [dt.date(2027, 1, 1)]
    assert len(found) == 6


def test_visits_are_timed_in_shanghai_with_a_vtimezone():
    spec = CalendarSpec(visit_start="09:30", visit_minutes=90)
    text = build(customers(customer(next_visit_date=dt.date(2026, 11, 3))), spec)
    (visit,) = of_kind(text, "visit")
    begin, finish = visit.decoded("DTSTART"), visit.decoded("DTEND")
    assert begin.replace(tzinfo=None) == dt.datetime(2026, 11, 3, 9, 30)
    assert finish.replace(tzinfo=None) == dt.datetime(2026, 11, 3, 11, 0)
    assert begin.utcoffset() == finish.utcoffset() == SHANGHAI
    assert "DTSTART;TZID=Asia/Shanghai:20261103T093000\r\n" in text
    assert "DTEND;TZID=Asia/Shanghai:20261103T110000\r\n" in text
    (zone,) = parse(text).walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Asia/Shanghai"
    assert zone.walk("DAYLIGHT") == []
    (standard,) = zone.walk("STANDARD")
    assert standard.decoded("TZOFFSETFROM") == standard.decoded("TZOFFSETTO") == SHANGHAI


def test_visit_text_fields():
    frame = customers(customer(name="恒信", manager="王芳", contact="赵强", tier="B",
                               next_visit_date=dt.date(2026, 11, 3)))
    (visit,) = of_kind(build(frame), "visit")
    assert str(visit["SUMMARY"]) == "拜访：恒信（C001）"
    assert str(visit["DESCRIPTION"]) == "客户：恒信（C001）\n客户经理：王芳\n联系人：赵强\n客户等级：B"
    assert [str(c) for c in visit["CATEGORIES"].cats] == ["拜访"]
    assert visit.walk("VALARM") == []
    assert str(visit["UID"]) == "visit-C001-20261103@kamrules"


def test_all_day_events_use_date_values_and_are_free_time():
    frame = customers(customer(name="恒信", contact="赵强", contact_birthday=dt.date(1975, 11, 20),
                               contract_end=dt.date(2026, 12, 31)))
    text = build(frame)
    (birthday,) = of_kind(text, "birthday")
    (renewal,) = of_kind(text, "renewal")
    assert str(birthday["SUMMARY"]) == "生日：赵强（恒信）"
    assert str(renewal["SUMMARY"]) == "合同到期：恒信"
    assert "DTSTART;VALUE=DATE:20261120\r\nDTEND;VALUE=DATE:20261121\r\n" in text
    assert "DTSTART;VALUE=DATE:20261231\r\nDTEND;VALUE=DATE:20270101\r\n" in text
    for event in (birthday, renewal):
        assert type(event.decoded("DTSTART")) is dt.date
        assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(days=1)
        assert str(event["TRANSP"]) == "TRANSPARENT"
    assert [str(c) for c in birthday["CATEGORIES"].cats] == ["生日"]
    assert [str(c) for c in renewal["CATEGORIES"].cats] == ["合同到期"]
    assert "合同到期日：2026-12-31" in str(renewal["DESCRIPTION"])


def test_festival_is_one_event_listing_key_accounts_by_name():
    spec = CalendarSpec(festivals=[{"name": "春节", "date": "2027-01-20"}])
    frame = customers(customer("C003", name="乙公司", manager="王芳", key_account=True),
                      customer("C001", name="甲公司", key_account=True),
                      customer("C002", name="丙公司", key_account=False),
                      customer("C004", name="丁公司", key_account=None))
    (festival,) = of_kind(build(frame, spec), "festival")
    assert str(festival["SUMMARY"]) == "节日问候：春节"
    assert start(festival) == dt.date(2027, 1, 20)
    assert str(festival["UID"]) == "festival-%E6%98%A5%E8%8A%82-20270120@kamrules"
    assert str(festival["DESCRIPTION"]) == ("需问候的重点客户（2家）：\n乙公司（C003，客户经理：王芳）\n"
                                            "甲公司（C001，客户经理：张伟）")
    assert [str(c) for c in festival["CATEGORIES"].cats] == ["节日"]


def test_festival_without_key_accounts_says_so():
    spec = CalendarSpec(festivals=[{"name": "国庆节", "date": "11-15"}])
    (festival,) = of_kind(build(customers(customer()), spec), "festival")
    assert str(festival["DESCRIPTION"]) == "需问候的重点客户：无"


def test_counts_per_kind_for_several_customers():
    spec = CalendarSpec(festivals=[{"name": "元旦", "date": "01-01"}, {"name": "国庆节", "date": "10-01"}])
    frame = customers(
        customer("C001", next_visit_date=dt.date(2026, 11, 1), visit_interval_days=14,
                 contact_birthday=dt.date(1990, 1, 10), contract_end=dt.date(2027, 3, 1)),
        customer("C002", next_visit_date=dt.date(2026, 12, 1), visit_interval_days=45,
                 contact_birthday=dt.date(1985, 6, 1), contract_end=dt.date(2026, 11, 30)),
        customer("C003", next_visit_date=None, visit_interval_days=30),
    )
    counts: dict[str, int] = {}
    for event in events(build(frame, spec)):
        counts[kind(event)] = counts.get(kind(event), 0) + 1
    assert counts == {"visit": 7 + 2, "birthday": 1, "renewal": 1, "festival": 1}


def test_events_are_sorted_by_date_kind_and_customer():
    spec = CalendarSpec(festivals=[{"name": "节", "date": "11-10"}])
    day = dt.date(2026, 11, 10)
    frame = customers(customer("C002", next_visit_date=day, contact_birthday=day, contract_end=day),
                      customer("C001", next_visit_date=day, contact_birthday=day),
                      customer("C000", next_visit_date=dt.date(2026, 11, 9)))
    uids = [str(e["UID"]) for e in events(build(frame, spec))]
    assert uids == ["visit-C000-20261109@kamrules", "festival-%E8%8A%82-20261110@kamrules",
                    "birthday-C001-20261110@kamrules", "birthday-C002-20261110@kamrules",
                    "renewal-C002-20261110@kamrules", "visit-C001-20261110@kamrules",
                    "visit-C002-20261110@kamrules"]


def test_only_identity_columns_give_only_festivals():
    frame = pl.DataFrame({"customer_id": ["C001"], "name": ["甲"], "manager": ["张伟"], "contact": ["李娜"]})
    spec = CalendarSpec(festivals=[{"name": "元旦", "date": "01-01"}])
    assert [kind(e) for e in events(build(frame, spec))] == ["festival"]


def test_birthdays_and_renewals_can_be_switched_off():
    frame = customers(customer(contact_birthday=dt.date(1980, 11, 5), contract_end=dt.date(2026, 11, 5)))
    assert len(events(build(frame))) == 2
    assert events(build(frame, CalendarSpec(birthdays=False, renewals=False))) == []


def test_custom_plan_columns():
    frame = customers(customer()).with_columns(pl.lit(dt.date(2026, 11, 2)).alias("首访"),
                                               pl.lit(40).alias("间隔"))
    visits = of_kind(build(frame, plan_first="首访", plan_every="间隔"), "visit")
    assert [start(e).date() for e in visits] == [dt.date(2026, 11, 2), dt.date(2026, 12, 12), dt.date(2027, 1, 21)]


# ------------------------------------------------------------------ horizon, overdue, leap day, year end

def test_horizon_is_inclusive_at_both_ends():
    frame = customers(customer("C001", next_visit_date=END), customer("C002", next_visit_date=END + dt.timedelta(days=1)),
                      customer("C003", next_visit_date=AS_OF))
    visits = of_kind(build(frame), "visit")
    assert [(str(e["UID"]), start(e).date()) for e in visits] == [
        ("visit-C003-20261031@kamrules", AS_OF), ("visit-C001-20270129@kamrules", END)]


def test_repeats_stop_at_the_horizon():
    frame = customers(customer(next_visit_date=AS_OF + dt.timedelta(days=10), visit_interval_days=40))
    assert [start(e).date() for e in of_kind(build(frame), "visit")] == [
        AS_OF + dt.timedelta(days=10), AS_OF + dt.timedelta(days=50), END]
    shorter = CalendarSpec(horizon_days=89)
    assert len(of_kind(build(frame, shorter), "visit")) == 2


def test_renewal_and_birthday_on_the_horizon_edges():
    frame = customers(customer("C001", contract_end=END, contact_birthday=dt.date(1990, AS_OF.month, AS_OF.day)),
                      customer("C002", contract_end=END + dt.timedelta(days=1),
                               contact_birthday=dt.date(1990, 10, 30)),
                      customer("C003", contract_end=AS_OF - dt.timedelta(days=1)))
    found = [(kind(e), str(e["UID"])) for e in events(build(frame))]
    assert found == [("birthday", "birthday-C001-20261031@kamrules"), ("renewal", "renewal-C001-20270129@kamrules")]


def test_overdue_next_visit_moves_to_as_of_and_repeats_from_there():
    frame = customers(customer(next_visit_date=dt.date(2026, 9, 1), visit_interval_days=30))
    visits = of_kind(build(frame), "visit")
    assert [start(e).replace(tzinfo=None) for e in visits] == [
        dt.datetime(2026, 10, 31, 10), dt.datetime(2026, 11, 30, 10), dt.datetime(2026, 12, 30, 10),
        dt.datetime(2027, 1, 29, 10)]
    assert {start(e).utcoffset() for e in visits} == {SHANGHAI}
    assert str(visits[0]["UID"]) == "visit-C001-20261031@kamrules"
    assert str(visits[0]["DESCRIPTION"]).endswith("\n原定拜访日期：2026-09-01（已逾期）")
    assert "逾期" not in str(visits[1]["DESCRIPTION"])


def test_without_interval_only_the_next_visit():
    for interval in (None, 0, -7):
        frame = customers(customer(next_visit_date=dt.date(2026, 11, 3), visit_interval_days=interval))
        assert [start(e).date() for e in of_kind(build(frame), "visit")] == [dt.date(2026, 11, 3)]


@pytest.mark.parametrize("as_of, expected", [
    (dt.date(2027, 1, 1), dt.date(2027, 2, 28)),
    (dt.date(2028, 1, 1), dt.date(2028, 2, 29)),
    (dt.date(2027, 12, 15), dt.date(2028, 2, 29)),
])
def test_leap_day_birthday(as_of, expected):
    frame = customers(customer(contact_birthday=dt.date(1988, 2, 29)))
    (birthday,) = of_kind(build(frame, as_of=as_of), "birthday")
    assert start(birthday) == expected
    assert str(birthday["UID"]) == f"birthday-C001-{expected:%Y%m%d}@kamrules"


def test_leap_day_birthday_on_the_28th_is_in_a_horizon_ending_that_day():
    frame = customers(customer(contact_birthday=dt.date(1988, 2, 29)))
    text = build(frame, CalendarSpec(horizon_days=58), as_of=dt.date(2027, 1, 1))
    assert [start(e) for e in of_kind(text, "birthday")] == [dt.date(2027, 2, 28)]
    assert of_kind(build(frame, CalendarSpec(horizon_days=57), as_of=dt.date(2027, 1, 1)), "birthday") == []


def test_yearly_festivals_across_a_year_end():
    spec = CalendarSpec(horizon_days=60, festivals=[
        {"name": "圣诞节", "date": "12-25"}, {"name": "元旦", "date": "01-01"}, {"name": "国庆节", "date": "10-01"},
        {"name": "春节", "date": "2027-02-06"}, {"name": "旧春节", "date": "2026-02-17"},
        {"name": "腊八", "date": "2027-01-15"}])
    found = [(str(e["SUMMARY"]), start(e)) for e in of_kind(build(customers(), spec, as_of=dt.date(2026, 12, 1)),
                                                            "festival")]
    assert found == [("节日问候：圣诞节", dt.date(2026, 12, 25)), ("节日问候：元旦", dt.date(2027, 1, 1)),
                     ("节日问候：腊八", dt.date(2027, 1, 15))]


def test_a_long_horizon_repeats_yearly_events():
    spec = CalendarSpec(horizon_days=400, festivals=[{"name": "元旦", "date": "01-01"}])
    frame = customers(customer(contact_birthday=dt.date(1980, 11, 15)))
    text = build(frame, spec)
    assert [start(e) for e in of_kind(text, "birthday")] == [dt.date(2026, 11, 15), dt.date(2027, 11, 15)]
    assert [start(e) for e in of_kind(text, "festival")] == [dt.date(2027, 1, 1)]


# ------------------------------------------------------------------ alarms

def test_alarms_on_birthdays_renewals_and_festivals_only():
    spec = CalendarSpec(reminder_days=5, festivals=[{"name": "元旦", "date": "01-01"}])
    frame = customers(customer(next_visit_date=dt.date(2026, 11, 2), contact_birthday=dt.date(1980, 11, 9),
                               contract_end=dt.date(2026, 12, 1)))
    text = build(frame, spec)
    for event in events(text):
        alarms = event.walk("VALARM")
        if kind(event) == "visit":
            assert alarms == []
            continue
        (alarm,) = alarms
        assert str(alarm["ACTION"]) == "DISPLAY"
        assert alarm.decoded("TRIGGER") == dt.timedelta(days=-5)
        assert str(alarm["DESCRIPTION"]) == str(event["SUMMARY"])
    assert text.count("TRIGGER:-P5D\r\n") == 3


def test_no_reminders_means_no_alarms():
    spec = CalendarSpec(reminder_days=None, festivals=[{"name": "元旦", "date": "01-01"}])
    text = build(customers(customer(contact_birthday=dt.date(1980, 11, 9))), spec)
    assert len(events(text)) == 2
    assert "VALARM" not in text


# ------------------------------------------------------------------ text: hostile names, escaping

@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_round_trip(name):
    spec = CalendarSpec(festivals=[{"name": "元旦", "date": "01-01"}])
    frame = customers(customer(name=name, contact=name, key_account=True, next_visit_date=dt.date(2026, 11, 2),
                               contact_birthday=dt.date(1980, 11, 3), contract_end=dt.date(2026, 11, 4)))
    text = build(frame, spec)
    by_kind = {kind(e): e for e in events(text)}
    assert str(by_kind["visit"]["SUMMARY"]) == f"拜访：{name}（C001）"
    assert str(by_kind["birthday"]["SUMMARY"]) == f"生日：{name}（{name}）"
    assert str(by_kind["renewal"]["SUMMARY"]) == f"合同到期：{name}"
    assert str(by_kind["visit"]["DESCRIPTION"]).startswith(f"客户：{name}（C001）\n客户经理：张伟\n联系人：{name}\n")
    assert str(by_kind["festival"]["DESCRIPTION"]).endswith(f"\n{name}（C001，客户经理：张伟）")
    assert str(by_kind["birthday"].walk("VALARM")[0]["DESCRIPTION"]) == f"生日：{name}（{name}）"


def test_hostile_festival_name_and_company_round_trip():
    spec = CalendarSpec(festivals=[{"name": "a;b,c\\d 😀", "date": "11-11"}])
    calendar = parse(build_calendar(customers(), spec, AS_OF, "A&B; <Co>, 😀"))
    wire = calendar["X-WR-CALNAME"].to_ical().decode("utf-8")
    assert wire == "A&B\\; <Co>\\, 😀客户拜访计划"
    assert unescape(wire) == "A&B; <Co>, 😀客户拜访计划"
    (festival,) = calendar.walk("VEVENT")
    assert str(festival["SUMMARY"]) == "节日问候：a;b,c\\d 😀"
    assert str(festival["UID"]) == "festival-a%3Bb%2Cc%5Cd%20%F0%9F%98%80-20261111@kamrules"


def test_text_escaping_on_the_wire():
    text = build(customers(customer(name="a;b,c\\d\ne", next_visit_date=dt.date(2026, 11, 2))))
    unfolded = text.replace("\r\n ", "")
    assert "SUMMARY:拜访：a\\;b\\,c\\\\d\\ne（C001）\r\n" in unfolded


def test_crlf_and_cr_become_one_line_break_and_controls_are_dropped():
    frame = customers(customer(name="甲\r\n乙\r丙\x00\x07\x1b丁\t戊\x7f", next_visit_date=dt.date(2026, 11, 2)))
    (visit,) = of_kind(build(frame), "visit")
    assert str(visit["SUMMARY"]) == "拜访：甲\n乙\n丙丁\t戊（C001）"


def test_customer_ids_in_uids_are_percent_encoded():
    frame = customers(customer("C 1/北", next_visit_date=dt.date(2026, 11, 2)),
                      customer("C%201/北", next_visit_date=dt.date(2026, 11, 2)))
    uids = [str(e["UID"]) for e in events(build(frame))]
    assert uids == ["visit-C%201%2F%E5%8C%97-20261102@kamrules", "visit-C%25201%2F%E5%8C%97-20261102@kamrules"]
    assert all(uid.isascii() for uid in uids)


# ------------------------------------------------------------------ RFC 5545 wire format

def hostile_calendar() -> str:
    spec = CalendarSpec(festivals=[{"name": "元旦" * 40, "date": "01-01"}])
    rows = [customer(f"C{i:03d}", name=name, contact=name, key_account=True, next_visit_date=dt.date(2026, 11, 2),
                     visit_interval_days=7, contact_birthday=dt.date(1980, 11, 3), contract_end=dt.date(2026, 11, 4))
            for i, name in enumerate(HOSTILE_NAMES + ["😀" * 100, "a" * 73 + "😀" * 5, "\\" * 80])]
    return build(customers(*rows), spec)


def test_every_line_ends_with_crlf():
    text = hostile_calendar()
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert "\r" not in text.replace("\r\n", "")


def test_lines_are_folded_at_75_octets_without_splitting_characters():
    raw = hostile_calendar().encode("utf-8")
    physical = raw.split(b"\r\n")[:-1]
    assert max(len(line) for line in physical) == 75
    for line in physical:
        assert len(line) <= 75
        line.decode("utf-8")
    assert any(line.startswith(b" ") for line in physical)


def test_folds_never_split_an_escape_sequence():
    for line in hostile_calendar().split("\r\n"):
        body = line[1:] if line.startswith(" ") else line
        assert len(re.search(r"\\*$", body).group(0)) % 2 == 0


def test_unfolding_restores_the_long_summary():
    name = "长" * 150 + "x" * 50
    text = build(customers(customer(name=name, next_visit_date=dt.date(2026, 11, 2))))
    assert f"\r\nSUMMARY:拜访：{name}（C001）\r\n" in text.replace("\r\n ", "")


ALPHABET = "ab\\;,:\n\t\"=<>&é长😀 "


def test_fold_keeps_every_line_within_75_octets_and_unfolds_exactly():
    rng = random.Random(5545)
    for _ in range(500):
        value = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 120)))
        line = "DESCRIPTION:" + escape_text(value)
        folded = fold(line)
        assert folded.replace("\r\n ", "") == line
        first, *continued = folded.split("\r\n")
        assert all(physical.startswith(" ") for physical in continued)
        assert all(len(physical.encode("utf-8")) <= 75 for physical in [first, *continued])
        for body in [first] + [physical[1:] for physical in continued]:
            assert len(re.search(r"\\*$", body).group(0)) % 2 == 0


def test_random_names_round_trip_through_icalendar():
    rng = random.Random(7986)
    names = ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 90))) for _ in range(200)]
    names = [n if n.strip() else n + "x" for n in names]
    frame = customers(*(customer(f"C{i:03d}", name=n, next_visit_date=dt.date(2026, 11, 2))
                        for i, n in enumerate(names)))
    summaries = {str(e["UID"]): str(e["SUMMARY"]) for e in events(build(frame))}
    assert summaries == {f"visit-C{i:03d}-20261102@kamrules": f"拜访：{n}（C{i:03d}）" for i, n in enumerate(names)}


def test_calendar_header_and_timezone():
    text = build(customers(customer(next_visit_date=dt.date(2026, 11, 2))))
    lines = text.split("\r\n")
    assert lines[:5] == ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//kamrules//Key Account Calendar//ZH",
                         "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    calendar = parse(text)
    assert str(calendar["X-WR-CALNAME"]) == f"{COMPANY}客户拜访计划"
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    assert "BEGIN:VTIMEZONE\r\nTZID:Asia/Shanghai\r\n" in text
    assert text.index("END:VTIMEZONE") < text.index("BEGIN:VEVENT")


def test_dtstamp_is_as_of_midnight_utc_and_sequence_grows_with_as_of():
    frame = customers(customer(next_visit_date=dt.date(2026, 11, 20)))
    (today,) = events(build(frame))
    (tomorrow,) = events(build(frame, as_of=AS_OF + dt.timedelta(days=1)))
    assert today.decoded("DTSTAMP") == dt.datetime(2026, 10, 31, tzinfo=dt.timezone.utc)
    assert "DTSTAMP:20261031T000000Z\r\n" in build(frame)
    assert int(tomorrow["SEQUENCE"]) == int(today["SEQUENCE"]) + 1
    assert str(today["UID"]) == str(tomorrow["UID"])


# ------------------------------------------------------------------ determinism and stable UIDs

def test_same_input_gives_byte_identical_output():
    assert hostile_calendar() == hostile_calendar()


def test_row_order_does_not_matter():
    rows = [customer("C001", next_visit_date=dt.date(2026, 11, 2), key_account=True),
            customer("C002", next_visit_date=dt.date(2026, 11, 2), key_account=True)]
    spec = CalendarSpec(festivals=[{"name": "元旦", "date": "01-01"}])
    assert build(customers(*rows), spec) == build(customers(*reversed(rows)), spec)


def test_adding_an_unrelated_customer_leaves_existing_events_unchanged():
    first = customer("C001", next_visit_date=dt.date(2026, 11, 2), visit_interval_days=14,
                     contact_birthday=dt.date(1980, 12, 1), contract_end=dt.date(2027, 1, 10))
    before = vevent_blocks(build(customers(first)))
    after = vevent_blocks(build(customers(first, customer("C002", next_visit_date=dt.date(2026, 11, 2),
                                                          contact_birthday=dt.date(1980, 12, 1)))))
    assert set(before) < set(after)
    assert {uid: after[uid] for uid in before} == before
    assert sorted(set(after) - set(before)) == ["birthday-C002-20261201@kamrules", "visit-C002-20261102@kamrules"]


def test_uids_are_unique():
    uids = [str(e["UID"]) for e in events(hostile_calendar())]
    assert len(uids) == len(set(uids))


def test_duplicate_or_missing_customer_id_is_refused():
    with pytest.raises(ValueError, match="C001.*more than once"):
        build(customers(customer("C001"), customer("C001")))
    with pytest.raises(ValueError, match="without customer_id"):
        build(customers(customer(None)))


def test_write_calendar_writes_the_same_bytes_and_counts_events(tmp_path: Path):
    spec = CalendarSpec(festivals=[{"name": "元旦", "date": "01-01"}])
    frame = customers(customer(next_visit_date=dt.date(2026, 11, 2), visit_interval_days=30,
                               contact_birthday=dt.date(1980, 12, 1)))
    path = tmp_path / "visits.ics"
    count = write_calendar(path, plan_events(frame, spec, AS_OF), spec, AS_OF, COMPANY)
    assert count == 3 + 1 + 1
    assert path.read_bytes() == build(frame, spec).encode("utf-8")
    assert len(events(path.read_bytes().decode("utf-8"))) == count


def test_empty_frame_is_a_valid_calendar():
    text = build(customers())
    assert events(text) == []
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")


# ------------------------------------------------------------------ configuration

def test_defaults():
    spec = CalendarSpec()
    assert (spec.horizon_days, spec.visit_start, spec.visit_minutes, spec.birthdays, spec.renewals,
            spec.reminder_days, spec.festivals, spec.timezone) == (
        90, dt.time(10, 0), 60, True, True, 3, [], "Asia/Shanghai")


def test_the_documented_yaml_validates():
    raw = load_yaml("""
calendar:
  horizon_days: 90
  visit_start: "10:00"
  visit_minutes: 60
  birthdays: true
  renewals: true
  reminder_days: 3
  festivals:
    - {name: 春节, date: 2027-02-06}
    - {name: 中秋节, date: 2027-09-15}
    - {name: 国庆节, date: 10-01}
  timezone: Asia/Shanghai
""", "documents.yaml")
    spec = CalendarSpec.model_validate(dict(raw["calendar"]))
    assert [(f.name, f.date, f.year, f.month, f.day) for f in spec.festivals] == [
        ("春节", "2027-02-06", 2027, 2, 6), ("中秋节", "2027-09-15", 2027, 9, 15), ("国庆节", "10-01", None, 10, 1)]


@pytest.mark.parametrize("value, normalised", [
    (dt.date(2027, 2, 6), "2027-02-06"), ("2027-2-6", "2027-02-06"), ("1-1", "01-01"), (" 10-01 ", "10-01")])
def test_festival_dates_are_normalised(value, normalised):
    assert FestivalSpec(name="节", date=value).date == normalised


@pytest.mark.parametrize("value, message", [
    ("2027/02/06", "festival date must be YYYY-MM-DD .* or MM-DD"),
    ("十月一日", "festival date must be YYYY-MM-DD"),
    (1001, "festival date must be YYYY-MM-DD"),
    ("02-30", "'02-30' is not a calendar date"),
    ("2027-13-01", "'2027-13-01' is not a calendar date"),
    ("02-29", "02-29 exists only in leap years"),
    (dt.datetime(2027, 2, 6, 10), "without a time"),
])
def test_bad_festival_dates_are_refused_clearly(value, message):
    with pytest.raises(ValidationError, match=message):
        CalendarSpec(festivals=[{"name": "节", "date": value}])


def test_leap_day_with_a_year_is_a_festival_date():
    assert FestivalSpec(name="节", date="2028-02-29").date == "2028-02-29"


@pytest.mark.parametrize("value, message", [
    (600, 'visit_start must be a time in quotes, like "10:00" \\(YAML reads an unquoted 10:00 as the number 600\\)'),
    ("25:00", "visit_start must be a time HH:MM"),
    ("10h", "visit_start must be a time HH:MM"),
    ("10:00:30", "visit_start must be a time HH:MM"),
])
def test_bad_visit_start_is_refused_clearly(value, message):
    with pytest.raises(ValidationError, match=message):
        CalendarSpec(visit_start=value)


def test_unquoted_yaml_time_gets_the_quoted_hint():
    raw = load_yaml("visit_start: 9:30\n", "documents.yaml")
    with pytest.raises(ValidationError, match='like "09:30"'):
        CalendarSpec.model_validate(dict(raw))


@pytest.mark.parametrize("fields, message", [
    ({"horizon_days": -1}, "greater than or equal to 0"),
    ({"visit_minutes": 0}, "greater than 0"),
    ({"reminder_days": -2}, "greater than or equal to 0"),
    ({"timezone": "Europe/Berlin"}, "timezone 'Europe/Berlin' is not supported; use one of Asia/Shanghai"),
    ({"horizon": 30}, "Extra inputs are not permitted"),
    ({"festivals": [{"name": "节", "date": "10-01", "lunar": True}]}, "Extra inputs are not permitted"),
    ({"festivals": [{"name": "  ", "date": "10-01"}]}, "festival name must not be blank"),
    ({"festivals": [{"date": "10-01"}]}, "Field required"),
    ({"festivals": [{"name": "国庆节", "date": "10-01"}, {"name": "国庆节", "date": "10-1"}]},
     "festival 国庆节 on 10-01 is listed twice"),
])
def test_bad_config_is_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        CalendarSpec(**fields)
