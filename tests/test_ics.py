"""visits.ics and visits/<rep>.ics: the scheduled visit plan as RFC 5545 text.

The events are the scheduler's placed tasks (working days only, the rep's slots, at most
``visits_per_day`` visits a day, overdue key accounts first), with UIDs that survive a task
moving, alarms, per-rep files and cancellations of what the previous run planned and this one
dropped. Every calendar is parsed back with the ``icalendar`` package, and the assertions are
made on what a calendar client would see, as well as on the exact lines on the wire.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import signal
from pathlib import Path
from urllib.parse import quote

import polars as pl
import pytest
from pydantic import ValidationError

icalendar = pytest.importorskip("icalendar")

from kamrules.plan.planner import build_plan  # noqa: E402
from kamrules.render.ics import (  # noqa: E402
    build_calendar, cancellations, escape_text, fold, make_uid, plan_events, read_plan, write_calendars, write_plan)
from kamrules.rules import calendar_config, plan_config  # noqa: E402
from kamrules.rules.calendar_config import CalendarSpec, FestivalSpec  # noqa: E402
from kamrules.rules.rulebook import RulebookSpec  # noqa: E402
from kamrules.yamlio import load_yaml  # noqa: E402

AS_OF = dt.date(2026, 11, 2)  # a Monday
COMPANY = "上海恒信供应链管理有限公司"
SHANGHAI = dt.timedelta(hours=8)
UTC = dt.timezone.utc
HOSTILE_NAMES = [
    "A&B <Co>",
    "=1+1",
    "a;b,c\\d",
    "第一行\n第二行",
    "长" * 150 + "x" * 50,
    "笑脸😀公司",
    "\\n;不是换行,\\,",
]
PURPOSE = "拜访目的：业务回顾与需求沟通"


def customers(*rows: dict) -> pl.DataFrame:
    """A frame with the pipeline's column types; missing keys of a row are null."""
    schema = {"customer_id": pl.String, "name": pl.String, "manager": pl.String, "contact": pl.String,
              "tier": pl.String, "key_account": pl.Boolean, "next_visit_date": pl.Date,
              "visit_interval_days": pl.Int64, "last_visit_date": pl.Date, "contact_birthday": pl.Date,
              "contract_end": pl.Date}
    return pl.DataFrame([{key: row.get(key) for key in schema} for row in rows], schema=schema)


def customer(customer_id: str | None = "C001", **fields) -> dict:
    base = {"customer_id": customer_id, "name": f"客户{customer_id}", "manager": "张伟", "contact": "李娜",
            "tier": "A", "key_account": False}
    return base | fields


def rulebook(**sections) -> RulebookSpec:
    """A rulebook spec; working days are the plain week (no holidays) unless given."""
    return RulebookSpec.model_validate({"working_days": {"holidays": "none"}} | sections)


def build(frame: pl.DataFrame, spec: RulebookSpec | None = None, as_of: dt.date = AS_OF, **kw) -> str:
    return build_calendar(frame, spec or rulebook(), as_of, **kw)


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
    """DTSTART as the rep's wall clock (a naive datetime), or the date of an all-day event."""
    value = event.decoded("DTSTART")
    return value.replace(tzinfo=None) if isinstance(value, dt.datetime) else value


def timeline(text: str) -> list[tuple[str, dt.date | dt.datetime]]:
    """(UID, start) of every event, in file order."""
    return [(str(e["UID"]), start(e)) for e in events(text)]


def at(day: str, clock: str | None = None) -> dt.date | dt.datetime:
    date = dt.date.fromisoformat(day)
    return date if clock is None else dt.datetime.combine(date, dt.time.fromisoformat(clock))


def q(text: str) -> str:
    return quote(text, safe="").replace("-", "%2D")


def festival_uid(name: str, day: str, rep: str = "张伟") -> str:
    """A festival greeting's UID: the festival, its own date (not the day the greeting moved to), the rep."""
    return f"festival-{q(name)}-{q(day + '.' + rep)}@kamrules"


def unescape(text: str) -> str:
    """RFC 5545 TEXT unescaping, for X- properties that icalendar leaves as they are on the wire."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def vevent_blocks(text: str) -> dict[str, str]:
    blocks = re.findall(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", text, re.S)
    return {re.search(r"UID:(\S+)", b.replace("\r\n ", "")).group(1): b for b in blocks}


def due_today(count: int, day: dt.date = AS_OF, **fields) -> pl.DataFrame:
    """``count`` customers of one rep (C1, C2 …), first visit due on ``day``, never visited, no repeat."""
    return customers(*(customer(f"C{i}", next_visit_date=day, **fields) for i in range(1, count + 1)))


# ------------------------------------------------------------------ the events

def test_one_customer_gives_each_kind_with_exact_dates_and_uids():
    spec = rulebook(calendar={"horizon_days": 60, "festivals": [{"name": "元旦", "date": "01-01"},
                                                                {"name": "圣诞", "date": "12-25"}]})
    frame = customers(customer(key_account=True, next_visit_date=dt.date(2026, 11, 3),
                               last_visit_date=dt.date(2026, 10, 1), visit_interval_days=30,
                               contact_birthday=dt.date(1980, 11, 8), contract_end=dt.date(2026, 12, 15)))
    assert timeline(build(frame, spec)) == [
        ("visit-C001-20261001.1@kamrules", at("2026-11-03", "09:00")),
        ("birthday-C001-2026@kamrules", at("2026-11-06")),  # Sunday the 8th: the Friday before
        ("renewal-C001-20261215@kamrules", at("2026-11-16", "09:00")),  # due Sunday 15th: the Monday after
        ("visit-C001-20261001.2@kamrules", at("2026-12-03", "09:00")),  # 30 days after the 3rd
        (festival_uid("圣诞", "20261225"), at("2026-12-25")),
        (festival_uid("元旦", "20270101"), at("2027-01-01")),
    ]


def test_visit_text_fields_alarm_and_categories():
    frame = customers(customer(name="恒信", manager="王芳", contact="赵强", tier="B",
                               next_visit_date=dt.date(2026, 11, 3), last_visit_date=dt.date(2026, 10, 20),
                               visit_interval_days=30))
    text = build(frame)
    (visit, following, third) = of_kind(text, "visit")
    assert str(visit["SUMMARY"]) == "拜访：恒信（C001）"
    assert str(visit["DESCRIPTION"]) == f"客户：恒信（C001）\n客户经理：王芳\n联系人：赵强\n客户等级：B\n{PURPOSE}"
    assert [str(c) for c in visit["CATEGORIES"].cats] == ["拜访"]
    assert str(visit["STATUS"]) == "CONFIRMED"
    assert str(visit["UID"]) == "visit-C001-20261020.1@kamrules"
    assert [str(e["UID"]) for e in (following, third)] == ["visit-C001-20261020.2@kamrules",
                                                           "visit-C001-20261020.3@kamrules"]
    (alarm,) = visit.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == dt.timedelta(minutes=-60)
    assert str(alarm["DESCRIPTION"]) == "拜访：恒信（C001）"


def test_visits_are_timed_in_shanghai_with_a_vtimezone():
    spec = rulebook(reps={"day_start": "09:30"}, tasks={"visits": {"minutes": 90}})
    text = build(customers(customer(next_visit_date=dt.date(2026, 11, 3))), spec)
    (visit,) = of_kind(text, "visit")
    begin, finish = visit.decoded("DTSTART"), visit.decoded("DTEND")
    assert begin.replace(tzinfo=None) == dt.datetime(2026, 11, 3, 9, 30)
    assert finish.replace(tzinfo=None) == dt.datetime(2026, 11, 3, 11, 0)
    assert begin.utcoffset() == finish.utcoffset() == SHANGHAI
    assert "DTSTART;TZID=Asia/Shanghai:20261103T093000\r\nDTEND;TZID=Asia/Shanghai:20261103T110000\r\n" in text
    (zone,) = parse(text).walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Asia/Shanghai"
    assert zone.walk("DAYLIGHT") == []
    (standard,) = zone.walk("STANDARD")
    assert standard.decoded("TZOFFSETFROM") == standard.decoded("TZOFFSETTO") == SHANGHAI


def test_older_calendar_keys_still_set_the_slot():
    spec = rulebook(calendar={"visit_start": "10:00", "visit_minutes": 45})
    (visit,) = of_kind(build(customers(customer(next_visit_date=dt.date(2026, 11, 3))), spec), "visit")
    assert (start(visit), visit.decoded("DTEND").replace(tzinfo=None)) == (
        at("2026-11-03", "10:00"), at("2026-11-03", "10:45"))


def test_greetings_are_all_day_free_time_with_day_alarms():
    spec = rulebook(calendar={"festivals": [{"name": "国庆", "date": "11-11"}]})
    frame = customers(customer(name="恒信", contact="赵强", key_account=True, contact_birthday=dt.date(1975, 11, 20)))
    text = build(frame, spec)
    (festival,) = of_kind(text, "festival")
    (birthday,) = of_kind(text, "birthday")
    assert str(birthday["SUMMARY"]) == "生日：赵强（恒信）"
    assert str(birthday["DESCRIPTION"]) == "客户：恒信（C001）\n客户经理：张伟\n联系人：赵强\n客户等级：A\n生日：11月20日"
    assert str(festival["SUMMARY"]) == "节日问候：国庆"
    assert "DTSTART;VALUE=DATE:20261111\r\nDTEND;VALUE=DATE:20261112\r\nTRANSP:TRANSPARENT\r\n" in text
    assert "DTSTART;VALUE=DATE:20261120\r\nDTEND;VALUE=DATE:20261121\r\nTRANSP:TRANSPARENT\r\n" in text
    for event in (birthday, festival):
        assert type(event.decoded("DTSTART")) is dt.date
        assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(days=1)
        (alarm,) = event.walk("VALARM")
        assert alarm.decoded("TRIGGER") == dt.timedelta(days=-3)
        assert str(alarm["DESCRIPTION"]) == str(event["SUMMARY"])
    assert [str(c) for c in birthday["CATEGORIES"].cats] == ["生日"]
    assert [str(c) for c in festival["CATEGORIES"].cats] == ["节日"]
    assert text.count("TRIGGER:-P3D\r\n") == 2


def test_renewal_is_a_timed_visit_days_ahead_of_the_contract_end():
    spec = rulebook(tasks={"renewals": {"days_ahead": 20, "minutes": 90}})
    frame = customers(customer("C001", name="恒信", contract_end=dt.date(2026, 12, 15)),
                      customer("C002", contract_end=dt.date(2026, 11, 20), manager="王芳"),  # inside: due as_of
                      customer("C003", contract_end=dt.date(2026, 11, 1), manager="李强"))  # ended: none
    text = build(frame, spec)
    assert timeline(text) == [("renewal-C002-20261120@kamrules", at("2026-11-02", "09:00")),
                              ("renewal-C001-20261215@kamrules", at("2026-11-25", "09:00"))]
    renewal = of_kind(text, "renewal")[1]
    assert renewal.decoded("DTEND").replace(tzinfo=None) == at("2026-11-25", "10:30")
    assert str(renewal["SUMMARY"]) == "合同续签：恒信（C001）"
    assert str(renewal["DESCRIPTION"]) == "客户：恒信（C001）\n客户经理：张伟\n联系人：李娜\n客户等级：A\n合同到期日：2026-12-15"
    assert [str(c) for c in renewal["CATEGORIES"].cats] == ["合同续签"]
    assert renewal.walk("VALARM")[0].decoded("TRIGGER") == dt.timedelta(minutes=-60)


def test_festival_greeting_is_one_event_per_rep_listing_that_reps_customers():
    spec = rulebook(calendar={"festivals": [{"name": "春节", "date": "2027-01-20"}]})
    frame = customers(customer("C003", name="乙公司", manager="王芳", key_account=True),
                      customer("C001", name="甲公司", key_account=True),
                      customer("C005", name="丁公司", key_account=True),
                      customer("C002", name="丙公司", key_account=False),
                      customer("C004", name="戊公司", key_account=None),
                      customer("C006", name="己公司", manager=None, key_account=True))
    festivals = of_kind(build(frame, spec), "festival")
    assert [(str(e["UID"]), start(e), str(e["SUMMARY"]), str(e["DESCRIPTION"])) for e in festivals] == [
        ("festival-%E6%98%A5%E8%8A%82-20270120.@kamrules", dt.date(2027, 1, 20), "节日问候：春节",
         "需问候的客户（1家）：\n己公司（C006）"),
        (festival_uid("春节", "20270120", "张伟"), dt.date(2027, 1, 20), "节日问候：春节",
         "需问候的客户（2家）：\n丁公司（C005）\n甲公司（C001）"),
        (festival_uid("春节", "20270120", "王芳"), dt.date(2027, 1, 20), "节日问候：春节",
         "需问候的客户（1家）：\n乙公司（C003）"),
    ]
    assert festival_uid("春节", "20270120", "王芳") == "festival-%E6%98%A5%E8%8A%82-20270120.%E7%8E%8B%E8%8A%B3@kamrules"


def test_festival_without_key_accounts_gives_no_event():
    spec = rulebook(calendar={"festivals": [{"name": "国庆节", "date": "11-16"}]})
    assert of_kind(build(customers(customer()), spec), "festival") == []


def test_greeting_policy_chooses_who_is_greeted():
    spec = rulebook(calendar={"festivals": [{"name": "节", "date": "11-16"}]},
                    tasks={"festivals": {"for": "tier == \"B\"", "reminder_days": 1},
                           "birthdays": {"for": "true"}})
    frame = customers(customer("C001", tier="A", key_account=True, contact_birthday=dt.date(1980, 11, 10)),
                      customer("C002", tier="B", name="乙"))
    text = build(frame, spec)
    (festival,) = of_kind(text, "festival")
    assert str(festival["DESCRIPTION"]) == "需问候的客户（1家）：\n乙（C002）"
    assert "TRIGGER:-P1D\r\n" in text
    assert [str(e["UID"]) for e in of_kind(text, "birthday")] == ["birthday-C001-2026@kamrules"]


def test_purposes_cycle_over_a_customers_visits():
    spec = rulebook(visit_plan={"purposes": ["需求沟通", "回款跟进"]}, calendar={"horizon_days": 30})
    frame = customers(customer(next_visit_date=AS_OF, visit_interval_days=10))
    purposes = [str(e["DESCRIPTION"]).split("\n")[4] for e in of_kind(build(frame, spec), "visit")]
    assert purposes == ["拜访目的：需求沟通", "拜访目的：回款跟进", "拜访目的：需求沟通"]


def test_counts_per_kind_for_several_customers():
    spec = rulebook(calendar={"festivals": [{"name": "元旦", "date": "01-01"}, {"name": "国庆节", "date": "10-01"}]})
    frame = customers(
        customer("C001", key_account=True, next_visit_date=dt.date(2026, 11, 2), visit_interval_days=14,
                 contact_birthday=dt.date(1990, 1, 10), contract_end=dt.date(2027, 2, 20)),
        customer("C002", key_account=True, next_visit_date=dt.date(2026, 12, 1), visit_interval_days=45,
                 contact_birthday=dt.date(1985, 6, 1), contract_end=dt.date(2026, 11, 30)),
        customer("C003", next_visit_date=None, visit_interval_days=30, contact_birthday=dt.date(1985, 12, 1)),
    )
    counts: dict[str, int] = {}
    for event in events(build(frame, spec)):
        counts[kind(event)] = counts.get(kind(event), 0) + 1
    # C001 every 14 days from 11-02 (7 up to 2027-01-31), C002 on 12-01 and 01-15; C003 is not greeted
    assert counts == {"visit": 7 + 2, "birthday": 1, "renewal": 2, "festival": 1}


def test_events_are_sorted_by_date_time_kind_and_customer():
    spec = rulebook(calendar={"festivals": [{"name": "节", "date": "11-10"}]})
    day = dt.date(2026, 11, 10)
    frame = customers(customer("C002", next_visit_date=day, contact_birthday=day, contract_end=day + dt.timedelta(30),
                               key_account=True),
                      customer("C001", next_visit_date=day, contact_birthday=day, key_account=True),
                      customer("C000", next_visit_date=dt.date(2026, 11, 9)))
    assert timeline(build(frame, spec)) == [
        ("visit-C000-new.1@kamrules", at("2026-11-09", "09:00")),
        (festival_uid("节", "20261110"), at("2026-11-10")),
        ("birthday-C001-2026@kamrules", at("2026-11-10")),
        ("birthday-C002-2026@kamrules", at("2026-11-10")),
        ("visit-C001-new.1@kamrules", at("2026-11-10", "09:00")),  # same day, same rank: by customer
        ("renewal-C002-20261210@kamrules", at("2026-11-10", "10:30")),
        ("visit-C002-new.1@kamrules", at("2026-11-10", "13:30")),
    ]


def test_only_identity_columns_give_only_festivals():
    frame = pl.DataFrame({"customer_id": ["C001"], "name": ["甲"], "manager": ["张伟"], "contact": ["李娜"],
                          "key_account": [True]})
    spec = rulebook(calendar={"festivals": [{"name": "元旦", "date": "01-01"}]})
    assert timeline(build(frame, spec)) == [(festival_uid("元旦", "20270101"), at("2027-01-01"))]


def test_birthdays_and_renewals_can_be_switched_off():
    frame = customers(customer(contact_birthday=dt.date(1980, 11, 5), contract_end=dt.date(2026, 11, 5)))
    assert [kind(e) for e in events(build(frame, rulebook(tasks={"birthdays": {"for": "true"}})))] == [
        "renewal", "birthday"]
    assert events(build(frame, rulebook(calendar={"birthdays": False, "renewals": False}))) == []
    assert events(build(frame, rulebook(tasks={"renewals": None, "birthdays": None}))) == []


def test_custom_plan_columns():
    frame = customers(customer()).with_columns(pl.lit(dt.date(2026, 11, 2)).alias("首访"),
                                               pl.lit(40).alias("间隔"))
    spec = rulebook(visit_plan={"first": "首访", "every_days": "间隔"})
    assert timeline(build(frame, spec)) == [
        ("visit-C001-new.1@kamrules", at("2026-11-02", "09:00")),
        ("visit-C001-new.2@kamrules", at("2026-12-14", "09:00")),  # 12-12 is a Saturday
        ("visit-C001-new.3@kamrules", at("2027-01-25", "09:00")),  # 40 days after the 14th (a Saturday too)
    ]


# ------------------------------------------------------------------ the scheduler's rules

def test_visits_fall_on_working_days_only():
    spec = rulebook(reps={"visits_per_day": 1})
    friday = dt.date(2026, 11, 6)
    frame = customers(*(customer(f"C{i}", next_visit_date=friday) for i in (1, 2, 3)),
                      customer("C4", next_visit_date=dt.date(2026, 11, 7), manager="王芳"))  # a Saturday
    assert sorted(timeline(build(frame, spec, as_of=friday))) == [
        ("visit-C1-new.1@kamrules", at("2026-11-06", "09:00")),
        ("visit-C2-new.1@kamrules", at("2026-11-09", "09:00")),
        ("visit-C3-new.1@kamrules", at("2026-11-10", "09:00")),
        ("visit-C4-new.1@kamrules", at("2026-11-09", "09:00")),
    ]


def test_a_custom_working_week_and_closures():
    spec = rulebook(reps={"visits_per_day": 1},
                    working_days={"holidays": "none", "week": ["mon", "tue", "wed", "thu", "fri", "sat"],
                                  "closures": ["2026-11-09"], "extra_days": ["2026-11-15"]})
    friday = dt.date(2026, 11, 6)
    assert [when for _, when in timeline(build(due_today(5, friday), spec, as_of=friday))] == [
        at("2026-11-06", "09:00"), at("2026-11-07", "09:00"), at("2026-11-10", "09:00"),
        at("2026-11-11", "09:00"), at("2026-11-12", "09:00")]


def test_chinese_holidays_and_a_tiaoxiu_saturday():
    """2026 (chinesecalendar): 中秋节 Friday 25 September, 国庆节 1–7 October (Thursday to Wednesday);
    Saturday 10 October is a 调休 working day, Sunday 11 October is not."""
    spec = RulebookSpec.model_validate({"working_days": {"holidays": "CN"}, "reps": {"visits_per_day": 1},
                                        "calendar": {"horizon_days": 30}})
    thursday = dt.date(2026, 9, 24)
    frame = customers(*(customer(f"C{i}", next_visit_date=thursday) for i in range(1, 9)),
                      customer("C9", manager="王芳", contact_birthday=dt.date(1980, 10, 3), key_account=True),
                      customer("C10", manager="李强", next_visit_date=dt.date(2026, 10, 5)))
    text = build(frame, spec, as_of=thursday)
    assert timeline(text) == [
        ("visit-C1-new.1@kamrules", at("2026-09-24", "09:00")),
        ("visit-C2-new.1@kamrules", at("2026-09-28", "09:00")),
        ("visit-C3-new.1@kamrules", at("2026-09-29", "09:00")),
        ("birthday-C9-2026@kamrules", at("2026-09-30")),  # Saturday 3 October: the last working day before
        ("visit-C4-new.1@kamrules", at("2026-09-30", "09:00")),
        ("visit-C5-new.1@kamrules", at("2026-10-08", "09:00")),
        ("visit-C10-new.1@kamrules", at("2026-10-08", "09:00")),  # Monday 5 October is a holiday (rep 李强)
        ("visit-C6-new.1@kamrules", at("2026-10-09", "09:00")),
        ("visit-C7-new.1@kamrules", at("2026-10-10", "09:00")),  # the 调休 Saturday
        ("visit-C8-new.1@kamrules", at("2026-10-12", "09:00")),
    ]


def test_the_default_slots_skip_lunch_and_leave_travel_time():
    spec = rulebook(reps={"visits_per_day": 6})
    text = build(due_today(6), spec)
    visits = of_kind(text, "visit")
    assert [(start(e), e.decoded("DTEND").replace(tzinfo=None)) for e in visits] == [
        (at("2026-11-02", "09:00"), at("2026-11-02", "10:00")),
        (at("2026-11-02", "10:30"), at("2026-11-02", "11:30")),
        (at("2026-11-02", "13:30"), at("2026-11-02", "14:30")),
        (at("2026-11-02", "15:00"), at("2026-11-02", "16:00")),
        (at("2026-11-02", "16:30"), at("2026-11-02", "17:30")),
        (at("2026-11-03", "09:00"), at("2026-11-03", "10:00")),  # 18:00 is past the end of the day
    ]


def test_the_reps_own_day_start_lunch_travel_and_visit_length():
    spec = rulebook(reps={"visits_per_day": 6, "day_start": "08:30", "lunch": "12:00-13:00", "travel_minutes": 15,
                          "day_end": "15:00"},
                    tasks={"visits": {"minutes": 45}})
    starts = [start(e) for e in of_kind(build(due_today(6), spec), "visit")]
    assert starts == [at("2026-11-02", "08:30"), at("2026-11-02", "09:30"), at("2026-11-02", "10:30"),
                      at("2026-11-02", "13:00"),  # 11:30 + 45 minutes would run into lunch
                      at("2026-11-02", "14:00"), at("2026-11-03", "08:30")]  # 15:00 + 45 is past 15:00


def test_at_most_visits_per_day_for_each_rep():
    spec = rulebook(reps={"visits_per_day": 2})
    other = [customer(f"D{i}", manager="王芳", next_visit_date=AS_OF) for i in (1, 2)]
    frame = customers(*(customer(f"C{i}", next_visit_date=AS_OF) for i in range(1, 6)), *other)
    found = timeline(build(frame, spec))
    per_day: dict[tuple[str, dt.date], int] = {}
    for uid, when in found:
        rep = "王芳" if uid.startswith("visit-D") else "张伟"
        per_day[rep, when.date()] = per_day.get((rep, when.date()), 0) + 1
    assert per_day == {("张伟", dt.date(2026, 11, 2)): 2, ("张伟", dt.date(2026, 11, 3)): 2,
                       ("张伟", dt.date(2026, 11, 4)): 1, ("王芳", dt.date(2026, 11, 2)): 2}
    assert found[:4] == [("visit-C1-new.1@kamrules", at("2026-11-02", "09:00")),
                         ("visit-D1-new.1@kamrules", at("2026-11-02", "09:00")),
                         ("visit-C2-new.1@kamrules", at("2026-11-02", "10:30")),
                         ("visit-D2-new.1@kamrules", at("2026-11-02", "10:30"))]


def test_key_accounts_then_the_most_overdue_are_placed_first():
    spec = rulebook(reps={"visits_per_day": 1})
    frame = customers(
        customer("C1", tier="A", next_visit_date=AS_OF, last_visit_date=dt.date(2026, 10, 20), visit_interval_days=30),
        customer("C2", next_visit_date=AS_OF, last_visit_date=dt.date(2026, 9, 23), visit_interval_days=30),
        customer("C3", next_visit_date=AS_OF, visit_interval_days=60),
        customer("C4", tier="C", key_account=True, next_visit_date=AS_OF, last_visit_date=dt.date(2026, 10, 30),
                 visit_interval_days=60))
    visits = of_kind(build(frame, spec, ), "visit")[:4]
    assert [(str(e["UID"]), start(e)) for e in visits] == [
        ("visit-C4-20261030.1@kamrules", at("2026-11-02", "09:00")),  # a key account, on plan
        ("visit-C3-new.1@kamrules", at("2026-11-03", "09:00")),  # never visited
        ("visit-C2-20260923.1@kamrules", at("2026-11-04", "09:00")),  # 40 days since: 10 overdue
        ("visit-C1-20261020.1@kamrules", at("2026-11-05", "09:00")),  # on plan
    ]
    lines = [str(e["DESCRIPTION"]).split("\n")[5:] for e in visits]
    assert lines == [[], ["从未拜访", "应于 2026-11-02 起安排（当天已排满或不是工作日）"],
                     ["已超过拜访间隔 10 天", "应于 2026-11-02 起安排（当天已排满或不是工作日）"],
                     ["应于 2026-11-02 起安排（当天已排满或不是工作日）"]]


def test_the_next_visit_is_due_every_days_after_the_placed_one():
    spec = rulebook(reps={"visits_per_day": 1}, calendar={"horizon_days": 40})
    frame = customers(customer("C1", key_account=True, next_visit_date=AS_OF),
                      customer("C2", next_visit_date=AS_OF, last_visit_date=dt.date(2026, 10, 15),
                               visit_interval_days=14))
    assert [(u, w) for u, w in timeline(build(frame, spec)) if "C2" in u] == [
        ("visit-C2-20261015.1@kamrules", at("2026-11-03", "09:00")),  # the 2nd went to the key account
        ("visit-C2-20261015.2@kamrules", at("2026-11-17", "09:00")),  # 14 days after the 3rd, not the 2nd
        ("visit-C2-20261015.3@kamrules", at("2026-12-01", "09:00")),
    ]


def test_a_visit_that_moves_keeps_its_uid():
    spec = rulebook(reps={"visits_per_day": 1}, calendar={"horizon_days": 20})
    mine = customer("C2", next_visit_date=AS_OF, last_visit_date=dt.date(2026, 10, 15), visit_interval_days=14)
    alone = timeline(build(customers(mine), spec))
    crowded = [(u, w) for u, w in timeline(build(customers(customer("C1", key_account=True, next_visit_date=AS_OF),
                                                           mine), spec)) if "C2" in u]
    assert alone == [("visit-C2-20261015.1@kamrules", at("2026-11-02", "09:00")),
                     ("visit-C2-20261015.2@kamrules", at("2026-11-16", "09:00"))]
    assert crowded == [("visit-C2-20261015.1@kamrules", at("2026-11-03", "09:00")),
                       ("visit-C2-20261015.2@kamrules", at("2026-11-17", "09:00"))]
    assert make_uid("visit", "C2", "20261015.1") == "visit-C2-20261015.1@kamrules"


def test_a_greeting_on_a_day_off_moves_to_the_working_day_before():
    spec = rulebook(calendar={"festivals": [{"name": "节", "date": "12-26"}]})
    frame = customers(customer("C1", key_account=True, contact_birthday=dt.date(1980, 11, 7)),  # Saturday
                      customer("C2", key_account=True, contact_birthday=dt.date(1980, 11, 8)),  # Sunday
                      customer("C3", key_account=True, contact_birthday=dt.date(1980, 11, 9)))  # Monday
    assert timeline(build(frame, spec)) == [
        ("birthday-C1-2026@kamrules", at("2026-11-06")), ("birthday-C2-2026@kamrules", at("2026-11-06")),
        ("birthday-C3-2026@kamrules", at("2026-11-09")), (festival_uid("节", "20261226"), at("2026-12-25"))]


def test_every_visit_has_a_sixty_minute_alarm():
    frame = customers(*(customer(f"C{i}", next_visit_date=AS_OF, visit_interval_days=7,
                                 contract_end=dt.date(2026, 12, 1)) for i in range(1, 4)))
    text = build(frame)
    timed = [e for e in events(text) if kind(e) in ("visit", "renewal")]
    assert len(timed) == 3 * 13 + 3
    for event in timed:
        (alarm,) = event.walk("VALARM")
        assert (str(alarm["ACTION"]), alarm.decoded("TRIGGER"), str(alarm["DESCRIPTION"])) == (
            "DISPLAY", dt.timedelta(minutes=-60), str(event["SUMMARY"]))
    assert text.count("TRIGGER:-PT60M\r\n") == len(timed)


def test_alarm_settings():
    frame = customers(customer(next_visit_date=AS_OF, key_account=True, contact_birthday=dt.date(1980, 11, 9)))
    text = build(frame, rulebook(tasks={"visits": {"reminder_minutes": 15}, "birthdays": {"reminder_days": 0}}))
    assert "TRIGGER:-PT15M\r\n" in text and "TRIGGER:-P0D\r\n" in text
    silent = build(frame, rulebook(calendar={"reminder_days": None}, tasks={"visits": {"reminder_minutes": None}}))
    assert len(events(silent)) == 2
    assert "VALARM" not in silent


def test_europe_london_across_the_end_of_summer_time():
    spec = rulebook(timezone="Europe/London", calendar={"horizon_days": 10})
    frame = customers(customer(next_visit_date=dt.date(2026, 10, 23), visit_interval_days=3))
    text = build(frame, spec, as_of=dt.date(2026, 10, 20))
    assert "X-WR-TIMEZONE:Europe/London\r\n" in text
    assert ("BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\nX-LIC-LOCATION:Europe/London\r\n"
            "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\nTZNAME:BST\r\nDTSTART:20260329T010000\r\n"
            "END:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nTZNAME:GMT\r\n"
            "DTSTART:20261025T020000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n") in text
    assert "DTSTART;TZID=Europe/London:20261023T090000\r\n" in text
    assert "DTSTART;TZID=Europe/London:20261026T090000\r\n" in text
    visits = of_kind(text, "visit")
    assert [e.decoded("DTSTART").astimezone(UTC) for e in visits] == [
        dt.datetime(2026, 10, 23, 8, tzinfo=UTC),  # 09:00 BST
        dt.datetime(2026, 10, 26, 9, tzinfo=UTC),  # 09:00 GMT
        dt.datetime(2026, 10, 29, 9, tzinfo=UTC)]
    (zone,) = parse(text).walk("VTIMEZONE")
    (daylight,), (standard,) = zone.walk("DAYLIGHT"), zone.walk("STANDARD")
    assert daylight.decoded("TZOFFSETTO") == dt.timedelta(hours=1)
    assert standard.decoded("TZOFFSETTO") == dt.timedelta(0)


# ------------------------------------------------------------------ horizon, leap day, year end

def test_horizon_is_inclusive_at_both_ends():
    end = AS_OF + dt.timedelta(days=90)  # 2027-01-31, a Sunday: visits due then have no working day left
    spec = rulebook(calendar={"horizon_days": 88})  # ends Friday 2027-01-29
    frame = customers(customer("C001", next_visit_date=end - dt.timedelta(days=2)),
                      customer("C002", next_visit_date=end - dt.timedelta(days=1), manager="王芳"),
                      customer("C003", next_visit_date=AS_OF, manager="李强"))
    assert timeline(build(frame, spec)) == [("visit-C003-new.1@kamrules", at("2026-11-02", "09:00")),
                                            ("visit-C001-new.1@kamrules", at("2027-01-29", "09:00"))]


def test_repeats_stop_at_the_horizon():
    frame = customers(customer(next_visit_date=AS_OF + dt.timedelta(days=10), visit_interval_days=40))
    assert [start(e) for e in of_kind(build(frame), "visit")] == [
        at("2026-11-12", "09:00"), at("2026-12-22", "09:00")]  # then 2027-01-31: past the end, a Sunday
    longer = rulebook(calendar={"horizon_days": 92})
    assert [start(e) for e in of_kind(build(frame, longer), "visit")][2:] == [at("2027-02-01", "09:00")]


def test_renewal_and_birthday_on_the_horizon_edges():
    spec = rulebook(calendar={"horizon_days": 88}, tasks={"renewals": {"days_ahead": 0}})
    end = dt.date(2027, 1, 29)
    frame = customers(customer("C001", contract_end=end, key_account=True, contact_birthday=dt.date(1990, 11, 2)),
                      customer("C002", contract_end=end + dt.timedelta(days=1), key_account=True,
                               contact_birthday=dt.date(1990, 11, 1)),
                      customer("C003", contract_end=AS_OF - dt.timedelta(days=1)))
    assert timeline(build(frame, spec)) == [("birthday-C001-2026@kamrules", at("2026-11-02")),
                                            ("renewal-C001-20270129@kamrules", at("2027-01-29", "09:00"))]


@pytest.mark.parametrize("as_of, expected", [
    (dt.date(2027, 1, 1), dt.date(2027, 2, 26)),  # the 28th, a Sunday: the Friday before
    (dt.date(2028, 1, 1), dt.date(2028, 2, 29)),
    (dt.date(2027, 12, 15), dt.date(2028, 2, 29)),
    (dt.date(2029, 1, 1), dt.date(2029, 2, 28)),
])
def test_leap_day_birthday(as_of, expected):
    frame = customers(customer(contact_birthday=dt.date(1988, 2, 29), key_account=True))
    assert timeline(build(frame, as_of=as_of)) == [(f"birthday-C001-{expected.year}@kamrules", expected)]


def test_leap_day_birthday_on_the_28th_is_in_a_horizon_ending_that_day():
    frame = customers(customer(contact_birthday=dt.date(1988, 2, 29), key_account=True))
    as_of = dt.date(2029, 1, 1)
    text = build(frame, rulebook(calendar={"horizon_days": 58}), as_of=as_of)
    assert [start(e) for e in of_kind(text, "birthday")] == [dt.date(2029, 2, 28)]
    assert of_kind(build(frame, rulebook(calendar={"horizon_days": 57}), as_of=as_of), "birthday") == []


def test_yearly_festivals_across_a_year_end():
    spec = rulebook(calendar={"horizon_days": 60, "festivals": [
        {"name": "圣诞节", "date": "12-25"}, {"name": "元旦", "date": "01-01"}, {"name": "国庆节", "date": "10-01"},
        {"name": "春节", "date": "2027-02-06"}, {"name": "旧春节", "date": "2026-02-17"},
        {"name": "腊八", "date": "2027-01-15"}]})
    text = build(customers(customer(key_account=True)), spec, as_of=dt.date(2026, 12, 1))
    assert [(str(e["UID"]), str(e["SUMMARY"]), start(e)) for e in of_kind(text, "festival")] == [
        (festival_uid("圣诞节", "20261225"), "节日问候：圣诞节", dt.date(2026, 12, 25)),
        (festival_uid("元旦", "20270101"), "节日问候：元旦", dt.date(2027, 1, 1)),
        (festival_uid("腊八", "20270115"), "节日问候：腊八", dt.date(2027, 1, 15))]


def test_a_long_horizon_repeats_yearly_events():
    spec = rulebook(calendar={"horizon_days": 400, "festivals": [{"name": "元旦", "date": "01-01"}]})
    frame = customers(customer(contact_birthday=dt.date(1980, 11, 15), key_account=True))
    assert timeline(build(frame, spec)) == [
        ("birthday-C001-2026@kamrules", at("2026-11-13")),  # a Sunday
        (festival_uid("元旦", "20270101"), at("2027-01-01")),
        ("birthday-C001-2027@kamrules", at("2027-11-15"))]


@pytest.mark.parametrize("festivals, as_of", [
    ([{"name": "腊八", "lunar": "12-08"}], dt.date(2041, 1, 1)),  # 2041-01-10 and 2041-12-30
    ([{"name": "问候", "date": "03-08"}, {"name": "问候", "date": "09-10"}], dt.date(2027, 1, 1)),
])
def test_festival_uids_are_unique_within_a_year(festivals, as_of):
    spec = rulebook(calendar={"horizon_days": 364, "festivals": festivals})
    found = of_kind(build(customers(customer(key_account=True)), spec, as_of=as_of), "festival")
    assert len(found) == 2
    assert len({str(e["UID"]) for e in found}) == 2


# ------------------------------------------------------------------ text: hostile names, escaping

@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_round_trip(name):
    spec = rulebook(calendar={"festivals": [{"name": "元旦", "date": "01-01"}]})
    frame = customers(customer(name=name, contact=name, key_account=True, next_visit_date=dt.date(2026, 11, 2),
                               contact_birthday=dt.date(1980, 11, 3), contract_end=dt.date(2026, 12, 4)))
    by_kind = {kind(e): e for e in events(build(frame, spec))}
    assert str(by_kind["visit"]["SUMMARY"]) == f"拜访：{name}（C001）"
    assert str(by_kind["birthday"]["SUMMARY"]) == f"生日：{name}（{name}）"
    assert str(by_kind["renewal"]["SUMMARY"]) == f"合同续签：{name}（C001）"
    assert str(by_kind["visit"]["DESCRIPTION"]).startswith(f"客户：{name}（C001）\n客户经理：张伟\n联系人：{name}\n")
    assert str(by_kind["festival"]["DESCRIPTION"]) == f"需问候的客户（1家）：\n{name}（C001）"
    assert str(by_kind["birthday"].walk("VALARM")[0]["DESCRIPTION"]) == f"生日：{name}（{name}）"
    assert str(by_kind["visit"].walk("VALARM")[0]["DESCRIPTION"]) == f"拜访：{name}（C001）"


def test_hostile_festival_name_and_company_round_trip():
    spec = rulebook(company={"name": "A&B; <Co>, 😀"}, calendar={"festivals": [{"name": "a;b,c\\d 😀", "date": "11-11"}]})
    calendar = parse(build(customers(customer(key_account=True)), spec))
    wire = calendar["X-WR-CALNAME"].to_ical().decode("utf-8")
    assert wire == "A&B\\; <Co>\\, 😀客户拜访计划"
    assert unescape(wire) == "A&B; <Co>, 😀客户拜访计划"
    (festival,) = calendar.walk("VEVENT")
    assert str(festival["SUMMARY"]) == "节日问候：a;b,c\\d 😀"
    assert str(festival["UID"]) == "festival-a%3Bb%2Cc%5Cd%20%F0%9F%98%80-20261111.%E5%BC%A0%E4%BC%9F@kamrules"


def test_text_escaping_on_the_wire():
    text = build(customers(customer(name="a;b,c\\d\ne", next_visit_date=dt.date(2026, 11, 2))))
    unfolded = text.replace("\r\n ", "")
    assert "SUMMARY:拜访：a\\;b\\,c\\\\d\\ne（C001）\r\n" in unfolded
    assert "DESCRIPTION:拜访：a\\;b\\,c\\\\d\\ne（C001）\r\nTRIGGER:-PT60M\r\n" in unfolded


def test_crlf_and_cr_become_one_line_break_and_controls_are_dropped():
    frame = customers(customer(name="甲\r\n乙\r丙\x00\x07\x1b丁\t戊\x7f", next_visit_date=dt.date(2026, 11, 2)))
    (visit,) = of_kind(build(frame), "visit")
    assert str(visit["SUMMARY"]) == "拜访：甲\n乙\n丙丁\t戊（C001）"


def test_customer_ids_in_uids_are_percent_encoded():
    frame = customers(customer("C 1/北", next_visit_date=dt.date(2026, 11, 2)),
                      customer("C%201/北", next_visit_date=dt.date(2026, 11, 2)))
    uids = [str(e["UID"]) for e in events(build(frame))]
    assert uids == ["visit-C%201%2F%E5%8C%97-new.1@kamrules", "visit-C%25201%2F%E5%8C%97-new.1@kamrules"]
    assert all(uid.isascii() for uid in uids)


# ------------------------------------------------------------------ RFC 5545 wire format

def hostile_calendar() -> str:
    spec = rulebook(calendar={"festivals": [{"name": "元旦" * 40, "date": "01-01"}]})
    rows = [customer(f"C{i:03d}", name=name, contact=name, key_account=True, next_visit_date=dt.date(2026, 11, 2),
                     visit_interval_days=7, contact_birthday=dt.date(1980, 11, 3), contract_end=dt.date(2026, 12, 4),
                     manager=f"经理{i % 3}")
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
    frame = customers(*(customer(f"C{i:03d}", name=n, manager=f"经理{i % 10}", next_visit_date=dt.date(2026, 11, 2))
                        for i, n in enumerate(names)))
    summaries = {str(e["UID"]): str(e["SUMMARY"]) for e in events(build(frame))}
    assert summaries == {f"visit-C{i:03d}-new.1@kamrules": f"拜访：{n}（C{i:03d}）" for i, n in enumerate(names)}


def test_calendar_header_and_timezone():
    text = build(customers(customer(next_visit_date=dt.date(2026, 11, 2))), rulebook(company={"name": COMPANY}))
    lines = text.split("\r\n")
    assert lines[:5] == ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//kamrules//Key Account Calendar//ZH",
                         "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    calendar = parse(text)
    assert str(calendar["X-WR-CALNAME"]) == f"{COMPANY}客户拜访计划"
    assert unescape(calendar["X-WR-CALDESC"].to_ical().decode("utf-8")) == \
        "截至2026-11-02的客户拜访与提醒（2026-11-02至2027-01-31）"
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    assert "BEGIN:VTIMEZONE\r\nTZID:Asia/Shanghai\r\n" in text
    assert text.index("END:VTIMEZONE") < text.index("BEGIN:VEVENT")


def test_dtstamp_is_as_of_midnight_utc_and_sequence_grows_with_as_of():
    frame = customers(customer(next_visit_date=dt.date(2026, 11, 20)))
    (today,) = events(build(frame))
    (tomorrow,) = events(build(frame, as_of=AS_OF + dt.timedelta(days=1)))
    assert today.decoded("DTSTAMP") == dt.datetime(2026, 11, 2, tzinfo=UTC)
    assert "DTSTAMP:20261102T000000Z\r\nSEQUENCE:9802\r\n" in build(frame)  # days since 2000-01-01
    assert int(tomorrow["SEQUENCE"]) == int(today["SEQUENCE"]) + 1
    assert str(today["UID"]) == str(tomorrow["UID"])


# ------------------------------------------------------------------ determinism and stable UIDs

def test_same_input_gives_byte_identical_output():
    assert hostile_calendar() == hostile_calendar()


def test_row_order_does_not_matter():
    rows = [customer(f"C{i:03d}", next_visit_date=dt.date(2026, 11, 2), key_account=i % 2 == 0,
                     manager=("张伟", "王芳")[i % 2], visit_interval_days=10) for i in range(12)]
    spec = rulebook(calendar={"festivals": [{"name": "元旦", "date": "01-01"}]}, reps={"visits_per_day": 2})
    assert build(customers(*rows), spec) == build(customers(*reversed(rows)), spec)


def test_adding_an_unrelated_customer_leaves_existing_events_unchanged():
    spec = rulebook(calendar={"festivals": [{"name": "元旦", "date": "01-01"}]})
    first = customer("C001", key_account=True, next_visit_date=dt.date(2026, 11, 2), visit_interval_days=14,
                     contact_birthday=dt.date(1980, 12, 1), contract_end=dt.date(2027, 1, 10))
    other = customer("C002", manager="王芳", key_account=True, next_visit_date=dt.date(2026, 11, 2),
                     contact_birthday=dt.date(1980, 12, 1))
    before = vevent_blocks(build(customers(first), spec))
    after = vevent_blocks(build(customers(first, other), spec))
    assert {uid: after[uid] for uid in before} == before
    assert sorted(set(after) - set(before)) == ["birthday-C002-2026@kamrules", festival_uid("元旦", "20270101", "王芳"),
                                                "visit-C002-new.1@kamrules"]


def test_uids_are_unique():
    uids = [str(e["UID"]) for e in events(hostile_calendar())]
    assert len(uids) == len(set(uids)) == 10 * (13 + 1 + 1) + 3  # visits, birthday, renewal; a festival per rep


def test_duplicate_or_missing_customer_id_is_refused():
    with pytest.raises(ValueError, match=re.escape(
            "customer_id 'C001' appears more than once; visits.ics needs one row per customer")):
        build(customers(customer("C001"), customer("C001")))
    with pytest.raises(ValueError, match=re.escape(
            "a customer without customer_id cannot go into visits.ics (its events would have no UID)")):
        build(customers(customer(None)))


def test_a_frame_without_customer_id_is_refused_cleanly():
    with pytest.raises(ValueError, match=re.escape("the calendar needs a customer_id column")):
        build(pl.DataFrame({"name": ["甲"]}))


def test_empty_frame_is_a_valid_calendar():
    text = build(customers())
    assert events(text) == []
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")


# ------------------------------------------------------------------ per-rep files

def plan_of(frame: pl.DataFrame, spec: RulebookSpec, as_of: dt.date = AS_OF):
    plan = build_plan(frame, spec, None, as_of)
    return plan, plan_events(frame, plan, spec.visit_plan.purposes)


def test_write_calendars_writes_one_file_per_rep(tmp_path: Path):
    spec = rulebook(company={"name": COMPANY}, calendar={"festivals": [{"name": "元旦", "date": "01-01"}]},
                    tasks={"birthdays": {"for": "true"}})
    frame = customers(customer("C001", key_account=True, next_visit_date=AS_OF, visit_interval_days=30),
                      customer("C002", manager="王芳", next_visit_date=AS_OF),
                      customer("C003", manager=None, next_visit_date=AS_OF, contact_birthday=dt.date(1980, 12, 1)),
                      customer("C004", manager="a/b", next_visit_date=AS_OF))
    plan, found = plan_of(frame, spec)
    counts = write_calendars(tmp_path, found, [], AS_OF, plan.end, spec.zone_name, COMPANY)
    assert counts == {"visits.ics": 8, "visits/a_b.ics": 1, "visits/张伟.ics": 4, "visits/未分配客户经理.ics": 2,
                      "visits/王芳.ics": 1}
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.ics")) == sorted(counts)
    assert (tmp_path / "visits.ics").read_bytes() == build(frame, spec).encode("utf-8")
    for relative, count in counts.items():
        assert len(events((tmp_path / relative).read_bytes().decode("utf-8"))) == count
    mine = parse((tmp_path / "visits" / "张伟.ics").read_text(encoding="utf-8"))
    assert str(mine["X-WR-CALNAME"]) == f"{COMPANY}客户拜访计划（张伟）"
    assert [str(e["UID"]) for e in mine.walk("VEVENT")] == [
        "visit-C001-new.1@kamrules", "visit-C001-new.2@kamrules", festival_uid("元旦", "20270101"),
        "visit-C001-new.3@kamrules"]
    nobody = parse((tmp_path / "visits" / "未分配客户经理.ics").read_text(encoding="utf-8"))
    assert str(nobody["X-WR-CALNAME"]) == f"{COMPANY}客户拜访计划（未分配客户经理）"
    assert [str(e["UID"]) for e in nobody.walk("VEVENT")] == ["visit-C003-new.1@kamrules",
                                                              "birthday-C003-2026@kamrules"]


def test_write_calendars_in_english_without_a_company(tmp_path: Path):
    spec = rulebook()
    frame = customers(customer("C001", manager=None, next_visit_date=AS_OF))
    plan, found = plan_of(frame, spec)
    counts = write_calendars(tmp_path, found, [], AS_OF, plan.end, spec.zone_name, "", lang="en")
    assert counts == {"visits.ics": 1, "visits/no account manager.ics": 1}
    calendar = parse((tmp_path / "visits" / "no account manager.ics").read_text(encoding="utf-8"))
    assert str(calendar["X-WR-CALNAME"]) == "Customer visits (no account manager)"
    (visit,) = calendar.walk("VEVENT")
    assert str(visit["SUMMARY"]) == "Visit: 客户C001 (C001)"


def test_write_calendars_with_no_events_writes_only_visits_ics(tmp_path: Path):
    counts = write_calendars(tmp_path, [], [], AS_OF, AS_OF, "Asia/Shanghai", COMPANY)
    assert counts == {"visits.ics": 0}
    assert not (tmp_path / "visits").exists()


def test_rep_file_names_that_clash_are_made_unique(tmp_path: Path):
    spec = rulebook()
    frame = customers(*(customer(f"C{i}", manager=rep, next_visit_date=AS_OF) for i, rep in enumerate(["A", "A_2", "a"])))
    plan, found = plan_of(frame, spec)

    def hang(*_):
        raise TimeoutError("write_calendars did not return within 5 seconds")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(5)
    try:
        counts = write_calendars(tmp_path, found, [], AS_OF, plan.end, spec.zone_name, "")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert len(counts) == 4


# ------------------------------------------------------------------ cancellations

def test_the_plan_round_trips_through_plan_json(tmp_path: Path):
    spec = rulebook()
    frame = customers(customer(next_visit_date=AS_OF, key_account=True, contact_birthday=dt.date(1980, 11, 20)))
    _, found = plan_of(frame, spec)
    write_plan(tmp_path / "plan.json", found, None)
    records = read_plan(tmp_path / "plan.json")
    assert records == [
        {"uid": "visit-C001-new.1@kamrules", "kind": "visit", "key": "C001", "rep": "张伟", "day": "2026-11-02",
         "start": 540, "minutes": 60, "summary": "拜访：客户C001（C001）"},
        {"uid": "birthday-C001-2026@kamrules", "kind": "birthday", "key": "C001", "rep": "张伟", "day": "2026-11-20",
         "start": None, "minutes": 0, "summary": "生日：李娜（客户C001）"}]


def test_dropped_future_events_are_cancelled_with_the_same_uid(tmp_path: Path):
    spec = rulebook(calendar={"horizon_days": 30})
    kept = customer("C001", next_visit_date=AS_OF, last_visit_date=dt.date(2026, 10, 1), visit_interval_days=7)
    gone = customer("C002", manager="王芳", next_visit_date=AS_OF, visit_interval_days=7)
    _, first = plan_of(customers(kept, gone), spec)
    write_plan(tmp_path / "plan.json", first, None)
    previous = read_plan(tmp_path / "plan.json")
    later = dt.date(2026, 11, 10)
    # a week on, C001 was visited on the 9th (new key) and C002 left the ledger
    visited = kept | {"last_visit_date": dt.date(2026, 11, 9), "next_visit_date": dt.date(2026, 11, 16)}
    text = build(customers(visited), spec, as_of=later, previous=previous)
    cancelled = [e for e in events(text) if str(e["STATUS"]) == "CANCELLED"]
    assert [(str(e["UID"]), start(e)) for e in cancelled] == [
        ("visit-C001-20261001.3@kamrules", at("2026-11-16", "09:00")),
        ("visit-C002-new.3@kamrules", at("2026-11-16", "09:00")),
        ("visit-C001-20261001.4@kamrules", at("2026-11-23", "09:00")),
        ("visit-C002-new.4@kamrules", at("2026-11-23", "09:00")),
        ("visit-C001-20261001.5@kamrules", at("2026-11-30", "09:00")),
        ("visit-C002-new.5@kamrules", at("2026-11-30", "09:00")),
    ]  # the visits of the 2nd and 9th are past: left as they were
    one = cancelled[1]
    assert str(one["SUMMARY"]) == "拜访：客户C002（C002）"
    assert str(one["DESCRIPTION"]) == "此安排已取消"
    assert one.walk("VALARM") == []
    assert int(one["SEQUENCE"]) == 9810
    assert "UID:visit-C002-new.3@kamrules\r\nDTSTAMP:20261110T000000Z\r\nSEQUENCE:9810\r\n" in text
    assert [str(e["UID"]) for e in events(text) if str(e["STATUS"]) == "CONFIRMED"] == [
        "visit-C001-20261109.1@kamrules", "visit-C001-20261109.2@kamrules", "visit-C001-20261109.3@kamrules",
        "visit-C001-20261109.4@kamrules"]


def test_an_event_that_moved_is_not_cancelled():
    spec = rulebook(reps={"visits_per_day": 1}, calendar={"horizon_days": 10})
    mine = customer("C2", next_visit_date=AS_OF)
    _, first = plan_of(customers(mine), spec)
    frame = customers(customer("C1", key_account=True, next_visit_date=AS_OF), mine)
    _, second = plan_of(frame, spec)
    from kamrules.render.ics import plan_records
    assert cancellations(plan_records(first, None), second, AS_OF) == []
    assert timeline(build(frame, spec, previous=plan_records(first, None))) == [
        ("visit-C1-new.1@kamrules", at("2026-11-02", "09:00")), ("visit-C2-new.1@kamrules", at("2026-11-03", "09:00"))]


def test_cancellations_start_at_as_of():
    previous = [{"uid": "visit-C9-new.1@kamrules", "kind": "visit", "key": "C9", "rep": "王芳", "day": day,
                 "start": 600, "minutes": 60, "summary": "拜访：丙（C9）"} for day in ("2026-11-01", "2026-11-02")]
    previous[0]["uid"] = "visit-C9-new.0@kamrules"
    previous.append({"uid": "birthday-C9-2026@kamrules", "kind": "birthday", "key": "C9", "rep": "王芳",
                     "day": "2026-12-01", "start": None, "minutes": 0, "summary": "生日：甲（丙）"})
    previous.append({"uid": "x@kamrules", "kind": "meeting", "day": "2026-12-01", "summary": "?"})
    previous.append({"uid": "y@kamrules", "kind": "visit", "day": "not a day", "summary": "?"})
    gone = cancellations(previous, [], AS_OF)
    assert [(e.uid, e.day, e.start, e.rep, e.cancelled) for e in gone] == [
        ("visit-C9-new.1@kamrules", dt.date(2026, 11, 2), 600, "王芳", True),
        ("birthday-C9-2026@kamrules", dt.date(2026, 12, 1), None, "王芳", True)]
    text = build(customers(), previous=previous)
    assert "DTSTART;TZID=Asia/Shanghai:20261102T100000\r\nDTEND;TZID=Asia/Shanghai:20261102T110000\r\n" in text
    assert "DTSTART;VALUE=DATE:20261201\r\n" in text
    assert text.count("STATUS:CANCELLED\r\n") == 2


def test_cancellations_go_into_the_reps_file(tmp_path: Path):
    previous = [{"uid": "visit-C9-new.1@kamrules", "kind": "visit", "key": "C9", "rep": "王芳", "day": "2026-11-05",
                 "start": 540, "minutes": 60, "summary": "拜访：丙（C9）"}]
    spec = rulebook()
    frame = customers(customer("C1", next_visit_date=AS_OF))
    plan, found = plan_of(frame, spec)
    counts = write_calendars(tmp_path, found, cancellations(previous, found, AS_OF), AS_OF, plan.end,
                             spec.zone_name, "")
    assert counts == {"visits.ics": 2, "visits/张伟.ics": 1, "visits/王芳.ics": 1}
    (event,) = events((tmp_path / "visits" / "王芳.ics").read_text(encoding="utf-8"))
    assert (str(event["UID"]), str(event["STATUS"]), str(event["SUMMARY"])) == (
        "visit-C9-new.1@kamrules", "CANCELLED", "拜访：丙（C9）")


@pytest.mark.parametrize("content", ["", "{", "[]", '{"events": 3}', '{"version": 1}', "\udcff",
                                     json.dumps({"events": [{"uid": "a"}, 5, None]})])
def test_a_damaged_plan_json_reads_as_nothing(tmp_path: Path, content):
    path = tmp_path / "plan.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    assert read_plan(path) == []


def test_a_missing_plan_json_reads_as_nothing(tmp_path: Path):
    assert read_plan(None) == []
    assert read_plan(tmp_path / "plan.json") == []
    assert read_plan(tmp_path) == []  # a folder


# ------------------------------------------------------------------ configuration

def test_defaults():
    spec = CalendarSpec()
    assert (spec.horizon_days, spec.visit_start, spec.visit_minutes, spec.birthdays, spec.renewals,
            spec.reminder_days, spec.festivals, spec.timezone) == (90, None, None, True, True, 3, [], None)
    full = RulebookSpec()
    assert full.zone_name == "Asia/Shanghai"
    assert (full.reps.visits_per_day, full.reps.day_start, full.reps.day_end, full.reps.lunch,
            full.reps.travel_minutes) == (4, None, dt.time(17, 30), (dt.time(12), dt.time(13, 30)), 30)
    assert full.working_days.holidays == "CN" and full.working_days.week == [0, 1, 2, 3, 4]
    assert RulebookSpec.model_validate({"calendar": {"timezone": "Europe/London"}}).zone_name == "Europe/London"


def documented_yaml(module) -> str:
    (block,) = re.findall(r"```yaml\n(.*?)```", module.__doc__, re.S)
    return block


def test_the_documented_calendar_yaml_validates():
    raw = load_yaml(documented_yaml(calendar_config), "documents.yaml")
    spec = CalendarSpec.model_validate(dict(raw["calendar"]))
    assert [(f.name, f.when) for f in spec.festivals] == [
        ("春节", "lunar 01-01"), ("除夕", "lunar 12-30"), ("清明节", "solar_term 清明"), ("国庆节", "10-01"),
        ("开业庆典", "2027-03-08")]
    assert (spec.horizon_days, spec.reminder_days) == (90, 3)


def test_the_documented_plan_yaml_validates():
    raw = load_yaml(documented_yaml(plan_config), "plan.yaml")
    spec = RulebookSpec.model_validate(dict(raw))
    assert spec.zone_name == "Asia/Shanghai"
    assert spec.reps.lunch == (dt.time(12), dt.time(13, 30))
    assert spec.working_days.closed_days() >= {dt.date(2026, 12, 31), dt.date(2027, 2, 8), dt.date(2027, 2, 19)}
    assert [(s.kind, s.after_days, s.minutes) for s in spec.tasks.onboarding.steps] == [
        ("call", 1, 15), ("gift", 7, 60), ("visit", 30, 90)]


@pytest.mark.parametrize("value, normalised", [
    (dt.date(2027, 2, 6), "2027-02-06"), ("2027-2-6", "2027-02-06"), ("1-1", "01-01"), (" 10-01 ", "10-01")])
def test_festival_dates_are_normalised(value, normalised):
    assert FestivalSpec(name="节", date=value).date == normalised


DATE_RULE = "festival date must be YYYY-MM-DD (that day only, like 2027-02-06) or MM-DD (every year, like 10-01)"


@pytest.mark.parametrize("value, message", [
    ("2027/02/06", f"{DATE_RULE}; got '2027/02/06'"),
    ("十月一日", f"{DATE_RULE}; got '十月一日'"),
    (1001, f"{DATE_RULE}; got 1001"),
    ("02-30", f"'02-30' is not a calendar date ({DATE_RULE})"),
    ("2027-13-01", f"'2027-13-01' is not a calendar date ({DATE_RULE})"),
    ("02-29", "02-29 exists only in leap years; give the full date of the year meant, like 2028-02-29"),
    (dt.datetime(2027, 2, 6, 10), f"{DATE_RULE}, without a time; got '2027-02-06 10:00:00'"),
])
def test_bad_festival_dates_are_refused_clearly(value, message):
    with pytest.raises(ValidationError, match=re.escape(f"Value error, {message} [")):
        CalendarSpec(festivals=[{"name": "节", "date": value}])


def test_leap_day_with_a_year_is_a_festival_date():
    assert FestivalSpec(name="节", date="2028-02-29").date == "2028-02-29"


@pytest.mark.parametrize("value, message", [
    (600, 'visit_start must be a time in quotes, like "10:00" (YAML reads an unquoted 10:00 as the number 600)'),
    ("25:00", 'visit_start must be a time HH:MM between 00:00 and 23:59, like "10:00"; got \'25:00\''),
    ("10h", 'visit_start must be a time HH:MM between 00:00 and 23:59, like "10:00"; got \'10h\''),
    ("10:00:30", 'visit_start must be a time HH:MM between 00:00 and 23:59, like "10:00"; got \'10:00:30\''),
])
def test_bad_visit_start_is_refused_clearly(value, message):
    with pytest.raises(ValidationError, match=re.escape(f"Value error, {message} [")):
        CalendarSpec(visit_start=value)


def test_unquoted_yaml_time_gets_the_quoted_hint():
    raw = load_yaml("visit_start: 9:30\n", "documents.yaml")
    with pytest.raises(ValidationError, match=re.escape(
            'visit_start must be a time in quotes, like "09:30" (YAML reads an unquoted 9:30 as the number 570)')):
        CalendarSpec.model_validate(dict(raw))
    raw = load_yaml("reps: {day_start: 8:30}\n", "plan.yaml")
    with pytest.raises(ValidationError, match=re.escape(
            'reps.day_start must be a time in quotes, like "08:30" (YAML reads an unquoted 8:30 as the number 510)')):
        RulebookSpec.model_validate(dict(raw))


@pytest.mark.parametrize("fields, message", [
    ({"horizon_days": -1}, "Input should be greater than or equal to 0"),
    ({"visit_minutes": 0}, "Input should be greater than 0"),
    ({"reminder_days": -2}, "Input should be greater than or equal to 0"),
    ({"timezone": "Europe/Berln"}, "Value error, unknown time zone 'Europe/Berln': use a name from the IANA time "
                                   "zone database"),
    ({"horizon": 30}, "Extra inputs are not permitted"),
    ({"festivals": [{"name": "节", "date": "10-01", "lunar": True}]},
     "Value error, a lunar date must be MM-DD (month 01-12, day 01-30"),
    ({"festivals": [{"name": "节", "date": "10-01", "lunar": "01-01"}]},
     "Value error, festival 节 needs exactly one of date (Gregorian), lunar (Chinese lunar) or solar_term; "
     "got: date, lunar"),
    ({"festivals": [{"name": "  ", "date": "10-01"}]}, "Value error, festival name must not be blank"),
    ({"festivals": [{"date": "10-01"}]}, "Field required"),
    ({"festivals": [{"name": "国庆节", "date": "10-01"}, {"name": "国庆节", "date": "10-1"}]},
     "Value error, festival 国庆节 on 10-01 is listed twice"),
])
def test_bad_calendar_config_is_refused(fields, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        CalendarSpec(**fields)


@pytest.mark.parametrize("fields, message", [
    ({"reps": {"lunch": "12:00"}},
     'Value error, reps.lunch must be "HH:MM-HH:MM" (start before end), like "12:00-13:30"; got \'12:00\''),
    ({"reps": {"lunch": "13:00-12:00"}},
     'Value error, reps.lunch must be "HH:MM-HH:MM" (start before end), like "12:00-13:30"; got \'13:00-12:00\''),
    ({"reps": {"day_start": "18:00"}}, "Value error, the working day ends (17:30) before it starts (18:00)"),
    ({"reps": {"day_end": "24:00"}},
     'Value error, reps.day_end must be a time HH:MM between 00:00 and 23:59, like "09:00"; got \'24:00\''),
    ({"reps": {"visits_per_day": 0}}, "Input should be greater than or equal to 1"),
    ({"working_days": {"week": []}},
     "Value error, working_days.week must list at least one working day, like [mon, tue, wed, thu, fri]"),
    ({"working_days": {"week": ["mon", "fun"]}},
     "Value error, 'fun' is not a day of the week; write one of mon, tue, wed, thu, fri, sat, sun (or Monday…Sunday)"),
    ({"working_days": {"holidays": "US"}}, "Input should be 'CN' or 'none'"),
    ({"working_days": {"closures": ["2027-02-30"]}},
     "Value error, '2027-02-30' is not a date; write YYYY-MM-DD, like 2027-02-08"),
    ({"working_days": {"closures": [{"from": "2027-02-19", "to": "2027-02-08"}]}},
     "Value error, the range 2027-02-19 to 2027-02-08 ends before it starts"),
    ({"timezone": "Asia/Shanghia"}, "Value error, unknown time zone 'Asia/Shanghia'"),
])
def test_bad_plan_config_is_refused(fields, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        RulebookSpec.model_validate(fields)
