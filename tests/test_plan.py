"""The visit plan (kamrules/plan/): working days, capacity, priorities, tasks, and the properties
every schedule must have, on random customers, reps and capacities (hypothesis)."""

from __future__ import annotations

import datetime as dt
import random

import chinese_calendar
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamrules.plan.planner import build_plan, rep_capacities
from kamrules.plan.workdays import WorkingCalendar, statutory_holidays
from kamrules.render.ics import cancellations, plan_events, plan_records
from kamrules.rules.plan_config import RepsSpec, WorkingDaysSpec
from kamrules.rules.rulebook import RulebookSpec

MON = dt.date(2026, 11, 2)


def spec(**sections) -> RulebookSpec:
    sections.setdefault("working_days", {"holidays": "none"})
    sections.setdefault("calendar", {"horizon_days": 30})
    return RulebookSpec.model_validate(sections)


def customers(*rows: dict) -> pl.DataFrame:
    base = {"customer_id": None, "name": None, "manager": "张伟", "tier": "A", "key_account": False,
            "next_visit_date": None, "visit_interval_days": None, "last_visit_date": None, "region": None,
            "contact_birthday": None, "contract_end": None, "since": None}
    data = [{**base, "name": r.get("customer_id"), **r} for r in rows]
    return pl.DataFrame(data, schema={"customer_id": pl.Utf8, "name": pl.Utf8, "manager": pl.Utf8, "tier": pl.Utf8,
                                      "key_account": pl.Boolean, "next_visit_date": pl.Date,
                                      "visit_interval_days": pl.Int64, "last_visit_date": pl.Date, "region": pl.Utf8,
                                      "contact_birthday": pl.Date, "contract_end": pl.Date, "since": pl.Date})


def timed(plan) -> list[tuple]:
    return [(p.task.customer_id, p.day, p.start) for p in plan.placed if p.start is not None]


# --- working days -----------------------------------------------------------------------------

def test_spring_festival_week_and_its_tiaoxiu_saturday():
    """2026: 春节 holidays 15–23 February; Saturday 14 February is a 调休 working day."""
    calendar = WorkingCalendar(WorkingDaysSpec(), dt.date(2026, 2, 10), dt.date(2026, 3, 1))
    assert calendar.is_working(dt.date(2026, 2, 14)) and not calendar.is_working(dt.date(2026, 2, 16))
    frame = customers({"customer_id": "C1", "next_visit_date": dt.date(2026, 2, 14)},
                      {"customer_id": "C2", "next_visit_date": dt.date(2026, 2, 16)})
    plan = build_plan(frame, spec(working_days={"holidays": "CN"}), None, dt.date(2026, 2, 10))
    assert timed(plan) == [("C1", dt.date(2026, 2, 14), 9 * 60), ("C2", dt.date(2026, 2, 24), 9 * 60)]
    assert plan.warnings == []


def test_national_day_week_and_the_saturday_after_it():
    """2026: 1–7 October off, Saturday 10 October a working day; the week setting alone would differ."""
    frame = customers({"customer_id": "C1", "next_visit_date": dt.date(2026, 10, 1)},
                      {"customer_id": "C2", "next_visit_date": dt.date(2026, 10, 10)})
    china = build_plan(frame, spec(working_days={"holidays": "CN"}), None, dt.date(2026, 9, 30))
    assert [(c, d) for c, d, _ in timed(china)] == [("C1", dt.date(2026, 10, 8)), ("C2", dt.date(2026, 10, 10))]
    week = build_plan(frame, spec(), None, dt.date(2026, 9, 30))
    assert [(c, d) for c, d, _ in timed(week)] == [("C1", dt.date(2026, 10, 1)), ("C2", dt.date(2026, 10, 12))]


def test_a_year_chinesecalendar_does_not_know_warns_once_and_keeps_the_statutory_days():
    frame = customers({"customer_id": "C1", "next_visit_date": dt.date(2027, 1, 1)})
    plan = build_plan(frame, spec(working_days={"holidays": "CN"}, calendar={"horizon_days": 300}), None,
                      dt.date(2026, 12, 30))
    assert [str(w) for w in plan.warnings] == [
        "chinesecalendar does not know the holiday arrangements of 2027 yet: those dates follow the working week "
        "less the statutory holidays themselves (without the 调休 swaps); upgrade chinesecalendar once the State "
        "Council publishes them"]
    assert timed(plan)[0][1] == dt.date(2027, 1, 4)  # 元旦 is a holiday; Saturday and Sunday follow
    assert not plan.calendar.is_working(dt.date(2027, 2, 8))  # 春节: 除夕 5 February to 初三 8 February


@pytest.mark.parametrize("year", [2025, 2026])
def test_statutory_holidays_are_holidays_in_every_notice_chinesecalendar_has(year):
    days = statutory_holidays(year)
    assert len(days) == 13
    assert [d for d in sorted(days) if chinese_calendar.is_workday(d)] == []


def test_company_closures_and_extra_days():
    working = WorkingDaysSpec.model_validate({"holidays": "none", "week": ["mon", "周二", "Wednesday", "thu", "fri"],
                                              "closures": ["2026-11-03", {"from": "2026-11-05", "to": "2026-11-06"}],
                                              "extra_days": ["2026-11-07", "2026-11-05"]})
    calendar = WorkingCalendar(working, MON, MON + dt.timedelta(days=6))
    assert calendar.days == [dt.date(2026, 11, 2), dt.date(2026, 11, 4), dt.date(2026, 11, 7)]  # a closure wins


# --- capacity and priority ----------------------------------------------------------------------

def test_slots_follow_the_working_day_lunch_and_travel():
    frame = customers(*({"customer_id": f"C{i}", "next_visit_date": MON} for i in range(6)))
    plan = build_plan(frame, spec(reps={"visits_per_day": 6, "day_start": "09:00", "day_end": "16:59",
                                        "lunch": "12:00-13:00", "travel_minutes": 30}), None, MON)
    starts = [(d, s) for _, d, s in timed(plan)]
    assert starts == [(MON, 9 * 60), (MON, 10 * 60 + 30), (MON, 13 * 60), (MON, 14 * 60 + 30),
                      (MON + dt.timedelta(days=1), 9 * 60),  # 16:00 + 60 minutes would end after 16:59
                      (MON + dt.timedelta(days=1), 10 * 60 + 30)]


def test_key_accounts_first_then_longest_overdue_then_tier():
    late = {"next_visit_date": MON, "visit_interval_days": 30}
    frame = customers({"customer_id": "C1", "tier": "B", "last_visit_date": MON - dt.timedelta(days=40), **late},
                      {"customer_id": "C2", "tier": "C", "last_visit_date": MON - dt.timedelta(days=90), **late},
                      {"customer_id": "C3", "tier": "A", "last_visit_date": MON - dt.timedelta(days=40), **late},
                      {"customer_id": "C4", "tier": "D", "key_account": True,
                       "last_visit_date": MON - dt.timedelta(days=31), **late})
    plan = build_plan(frame, spec(reps={"visits_per_day": 1}), None, MON)
    order = [c for c, _, _ in timed(plan) if _ is not None][:4]
    assert order == ["C4", "C2", "C3", "C1"]
    assert [p.task.overdue_days for p in plan.placed[:4]] == [1, 60, 10, 10]


def test_the_next_visit_is_due_an_interval_after_the_placed_one():
    frame = customers({"customer_id": "C1", "next_visit_date": dt.date(2026, 11, 7), "visit_interval_days": 14})
    plan = build_plan(frame, spec(), None, MON)
    assert [d for _, d, _ in timed(plan)] == [dt.date(2026, 11, 9), dt.date(2026, 11, 23)]
    assert [p.task.key for p in plan.placed] == ["new.1", "new.2"]


def test_what_does_not_fit_is_listed_with_its_reason():
    frame = customers(*({"customer_id": f"C{i}", "next_visit_date": MON} for i in range(7)))
    plan = build_plan(frame, spec(reps={"visits_per_day": 2}, calendar={"horizon_days": 2}), None, MON)
    assert len(plan.placed) == 6
    [item] = plan.unplaced
    assert item.task.customer_id == "C6" and str(item.reason) == "张伟 has no free slot up to 2026-11-04"


def test_reps_sheet_overrides_and_bad_values_are_reported():
    reps = pl.DataFrame({"rep": ["张伟", "王芳"], "visits_per_day": [2, 99], "day_start": ["8:30", "9:00:00"],
                         "day_end": [None, "18:00"], "days_off": ["周五、sat", "2026-11-03"]})
    found, problems = rep_capacities(reps, RepsSpec())
    assert (found["张伟"].visits_per_day, found["张伟"].day_start, found["张伟"].weekdays_off) == (2, 510, {4, 5})
    assert (found["王芳"].visits_per_day, found["王芳"].day_start, found["王芳"].dates_off) == \
        (4, 540, {dt.date(2026, 11, 3)})
    assert [str(p) for p in problems] == ["reps sheet: 王芳's visits_per_day cannot be used ('99'); "
                                          "the default in the rules applies"]


def test_times_of_day_from_cells():
    from kamrules.plan.planner import _clock

    assert [_clock(v) for v in ("9:00", "09:30:00", "13：45", 0.375, dt.time(8, 15), dt.timedelta(hours=7),
                                "1899-12-31 08:30:00", dt.datetime(1899, 12, 30, 17, 45))] == \
        [540, 570, 825, 540, 495, 420, 510, 1065]
    for bad in ("25:00", "noon", 1.5, -0.1, "2026-11-02 08:30:00"):
        with pytest.raises(ValueError):
            _clock(bad)


def test_group_by_region_waits_for_a_day_in_the_same_region():
    frame = customers({"customer_id": "C1", "next_visit_date": MON, "region": "北区"},
                      {"customer_id": "C2", "next_visit_date": MON + dt.timedelta(days=1), "region": "南区"},
                      {"customer_id": "C3", "next_visit_date": MON + dt.timedelta(days=1), "region": "北区"})
    grouped = build_plan(frame, spec(reps={"group_by": "region", "group_days": 2, "visits_per_day": 2}), None, MON)
    assert [(c, d) for c, d, _ in timed(grouped)] == [("C1", MON), ("C2", MON + dt.timedelta(days=1)),
                                                      ("C3", MON + dt.timedelta(days=1))]
    frame = customers({"customer_id": "C1", "next_visit_date": MON + dt.timedelta(days=1), "region": "北区"},
                      {"customer_id": "C2", "next_visit_date": MON, "region": "南区"})
    joined = build_plan(frame, spec(reps={"group_by": "region", "group_days": 2}), None, MON)
    assert [(c, d) for c, d, _ in timed(joined)] == [("C2", MON), ("C1", MON + dt.timedelta(days=1))]


# --- tasks --------------------------------------------------------------------------------------

def test_onboarding_steps_renewals_and_greetings():
    frame = customers({"customer_id": "C1", "key_account": True, "since": dt.date(2026, 10, 30),
                       "contract_end": dt.date(2026, 12, 10), "contact_birthday": dt.date(1980, 11, 8)})
    rules = spec(calendar={"horizon_days": 40, "festivals": [{"name": "感恩节", "date": "2026-11-26"}]},
                 tasks={"onboarding": {"for": "key_account and days_between(since, as_of) <= 60", "from": "since",
                                       "steps": [{"kind": "call", "after_days": 1, "minutes": 15},
                                                 {"kind": "gift", "after_days": 7},
                                                 {"kind": "visit", "after_days": 30, "minutes": 90,
                                                  "title": "首月拜访"}]},
                        "renewals": {"days_ahead": 30}})
    plan = build_plan(frame, rules, None, MON)
    got = [(p.task.source, p.task.kind, p.day, p.start, p.task.key) for p in plan.placed]
    assert got == [
        ("onboarding", "call", MON, 9 * 60, "20261030.1"),  # due 10-31 (a Saturday): the first working day
        ("birthday", "birthday", dt.date(2026, 11, 6), None, "2026"),  # Sunday 8 Nov: the Friday before
        ("onboarding", "gift", dt.date(2026, 11, 6), 9 * 60, "20261030.2"),
        ("renewal", "renewal", dt.date(2026, 11, 10), 9 * 60, "20261210"),
        ("festival", "festival", dt.date(2026, 11, 26), None, "20261126.张伟"),
        ("onboarding", "visit", dt.date(2026, 11, 30), 9 * 60, "20261030.3")]
    [festival] = [p for p in plan.placed if p.task.kind == "festival"]
    assert festival.task.customers == ("C1",)


# --- calendars across runs ----------------------------------------------------------------------

def test_a_moved_visit_keeps_its_uid_and_a_dropped_one_is_cancelled():
    frame = customers({"customer_id": "C1", "next_visit_date": MON, "visit_interval_days": 7},
                      {"customer_id": "C2", "next_visit_date": MON})
    first = plan_events(frame, build_plan(frame, spec(), None, MON))
    moved = frame.with_columns(pl.when(pl.col("customer_id") == "C1").then(MON + dt.timedelta(days=2))
                               .otherwise(pl.col("next_visit_date")).alias("next_visit_date"))
    second = plan_events(moved.filter(pl.col("customer_id") == "C1"),
                         build_plan(moved.filter(pl.col("customer_id") == "C1"), spec(), None, MON))
    assert {e.uid: e.day for e in second}["visit-C1-new.1@kamrules"] == MON + dt.timedelta(days=2)
    gone = cancellations(plan_records(first, "zh"), second, MON)
    assert [(e.uid, e.day, e.cancelled) for e in gone] == [("visit-C2-new.1@kamrules", MON, True)]
    assert cancellations(plan_records(first, "zh"), second, MON + dt.timedelta(days=1)) == []  # the past stays


# --- properties ---------------------------------------------------------------------------------

REPS = ["张伟", "王芳", "李娜", ""]


@st.composite
def scenarios(draw):
    as_of = draw(st.dates(dt.date(2025, 1, 1), dt.date(2026, 12, 31)))
    n = draw(st.integers(0, 40))
    rows = []
    for i in range(n):
        interval = draw(st.one_of(st.none(), st.integers(1, 120)))
        rows.append({"customer_id": f"C{i:03d}", "manager": draw(st.sampled_from(REPS)),
                     "tier": draw(st.sampled_from(["A", "B", "C", None])), "key_account": draw(st.booleans()),
                     "next_visit_date": draw(st.one_of(st.none(), st.dates(as_of - dt.timedelta(days=30),
                                                                            as_of + dt.timedelta(days=60)))),
                     "visit_interval_days": interval,
                     "last_visit_date": draw(st.one_of(st.none(), st.dates(as_of - dt.timedelta(days=200), as_of))),
                     "region": draw(st.sampled_from(["北", "南", None])),
                     "contract_end": draw(st.one_of(st.none(), st.dates(as_of, as_of + dt.timedelta(days=90))))})
    week = draw(st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1,
                         unique=True))
    start = draw(st.integers(6 * 60, 10 * 60))
    sections = {
        "working_days": {"holidays": draw(st.sampled_from(["CN", "none"])), "week": week,
                         "closures": [str(as_of + dt.timedelta(days=draw(st.integers(0, 40))))]},
        "reps": {"visits_per_day": draw(st.integers(1, 6)), "day_start": f"{start // 60:02d}:{start % 60:02d}",
                 "day_end": f"{draw(st.integers(start // 60 + 2, 23)):02d}:00",
                 "lunch": draw(st.sampled_from([None, "12:00-13:00"])), "travel_minutes": draw(st.integers(0, 60)),
                 "days_off": draw(st.lists(st.sampled_from(["sat", "sun", "wed"]), unique=True)),
                 "group_by": draw(st.sampled_from([None, "region"]))},
        "calendar": {"horizon_days": draw(st.integers(0, 120))},
        "tasks": {"visits": {"minutes": draw(st.integers(5, 180))}},
    }
    return as_of, rows, sections


def official_working(day: dt.date, working: WorkingDaysSpec) -> bool:
    if day in working.closed_days():
        return False
    if day in working.extra_days:
        return True
    if working.holidays == "CN" and day.year <= 2026:
        return chinese_calendar.is_workday(day)
    if working.holidays == "CN" and day in statutory_holidays(day.year):
        return False
    return day.weekday() in working.week


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_schedule_keeps_its_promises(scenario):
    as_of, rows, sections = scenario
    rules = spec(**sections)
    frame = customers(*rows) if rows else customers().clear()
    plan = build_plan(frame, rules, None, as_of)
    reps = rules.reps
    start = (reps.day_start.hour * 60 + reps.day_start.minute)
    end = reps.day_end.hour * 60 + reps.day_end.minute
    per_day: dict[tuple, list] = {}
    for placed in plan.placed:
        task = placed.task
        assert official_working(placed.day, rules.working_days), placed  # 调休 days both ways
        assert placed.day <= plan.end
        if placed.start is None:
            continue
        assert as_of <= task.due <= placed.day, placed
        assert start <= placed.start and placed.end <= end
        assert placed.day.weekday() not in {["mon", "tue", "wed", "thu", "fri", "sat", "sun"].index(d)
                                            for d in sections["reps"]["days_off"]}
        if reps.lunch:
            lunch = (reps.lunch[0].hour * 60, reps.lunch[1].hour * 60)
            assert placed.end <= lunch[0] or placed.start >= lunch[1]
        per_day.setdefault((task.rep, placed.day), []).append(placed)
    for day_tasks in per_day.values():
        assert sum(p.task.kind in ("visit", "gift", "renewal") for p in day_tasks) <= reps.visits_per_day
        slots = sorted((p.start, p.end) for p in day_tasks)
        assert all(a[1] <= b[0] for a, b in zip(slots, slots[1:]))  # no two tasks at once
    # every due first visit is placed at or after its due date, or listed with a reason
    first_visits = {r["customer_id"] for r in rows if r["next_visit_date"] is not None
                    and max(r["next_visit_date"], as_of) <= plan.end}
    placed_first = {p.task.customer_id for p in plan.placed if p.task.source == "visit" and p.task.sequence == 1}
    listed = {u.task.customer_id for u in plan.unplaced if u.task.source == "visit" and u.task.sequence == 1}
    assert first_visits == placed_first | listed and not placed_first & listed
    assert all(str(u.reason) for u in plan.unplaced)
    # deterministic, whatever the row order; UIDs unique
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=random.Random(len(rows)).randrange(1000))
    again = build_plan(shuffled, rules, None, as_of)
    assert [(p.task.uid_key, p.day, p.start) for p in again.placed] == \
        [(p.task.uid_key, p.day, p.start) for p in plan.placed]
    events = plan_events(frame, plan)
    assert len({e.uid for e in events}) == len(events)


# --- the bundled sample -------------------------------------------------------------------------

def test_the_bundled_plan_is_one_the_reps_can_carry_out(bundled_run):
    """As of 2026-10-31: no event on a day that is not a working day (chinesecalendar for 2026, the
    statutory fallback for 2027), no rep over 4 visits a day or two tasks at once, every overdue key
    account visited within 5 working days, one calendar per rep, an alarm on every visit."""
    import icalendar

    _, run_dir = bundled_run(None)
    frame = pl.read_parquet(run_dir / "decisions.parquet")
    calendar = icalendar.Calendar.from_ical((run_dir / "visits.ics").read_bytes())
    events = list(calendar.walk("VEVENT"))
    working = WorkingDaysSpec()
    visits: dict[tuple, list] = {}
    for event in events:
        start = event["DTSTART"].dt
        day = start.date() if isinstance(start, dt.datetime) else start
        assert official_working(day, working), (str(event["SUMMARY"]), day)
        if isinstance(start, dt.datetime):
            rep = str(event["DESCRIPTION"]).split("\n")[1]
            visits.setdefault((rep, day), []).append((start, event["DTEND"].dt))
            assert [str(a["TRIGGER"].to_ical(), "ascii") for a in event.walk("VALARM")] == ["-PT1H"]
    assert max(len(v) for v in visits.values()) <= 4
    for slots in visits.values():
        slots.sort()
        assert all(a[1] <= b[0] for a, b in zip(slots, slots[1:]))
    overdue_keys = frame.filter(pl.col("key_account") & (pl.col("last_visit_date").is_null()
                                | (pl.col("days_since_visit") >= pl.col("visit_interval_days"))))
    assert overdue_keys.height > 0
    calendar_days = WorkingCalendar(working, dt.date(2026, 10, 31), dt.date(2027, 1, 29))
    first = {}
    for event in events:
        uid = str(event["UID"])
        if uid.startswith("visit-"):
            customer = uid.split("-")[1]
            first[customer] = min(first.get(customer, dt.date.max), event["DTSTART"].dt.date())
    for customer in overdue_keys.get_column("customer_id"):
        assert calendar_days.days.index(first[customer]) < 5, customer
    reps = sorted(p.name for p in (run_dir / "visits").iterdir())
    assert reps == sorted(f"{m}.ics" for m in frame.get_column("manager").drop_nulls().unique())


# --- two runs of a project ----------------------------------------------------------------------

def test_a_customer_gone_from_the_ledger_has_its_visits_cancelled_in_the_next_run(tmp_path):
    import icalendar
    import json

    from conftest import make_project, small_ledger
    from kamrules.pipeline import run

    project = make_project(tmp_path / "proj")
    first = run(project, dt.date(2026, 10, 31))
    manifest = json.loads((first.run_dir / "run.json").read_text(encoding="utf-8"))
    assert manifest["visit_plan"] == {
        "tasks": 10, "unplaced": 0, "cancelled": 0, "reps": 2, "end": "2027-01-29", "timezone": "Asia/Shanghai",
        "calendars": {"visits.ics": 10, "visits/张伟.ics": 9, "visits/王芳.ics": 1}}
    ledger = small_ledger()
    ledger["客户档案"] = [row for row in ledger["客户档案"] if not row or row[0] != "C002"]
    ledger["销售明细"] = [row for row in ledger["销售明细"] if "C002" not in row]
    from conftest import write_workbook
    write_workbook(project / "inputs" / "台账.xlsx", ledger)
    second = run(project, dt.date(2026, 11, 2))
    calendar = icalendar.Calendar.from_ical((second.run_dir / "visits/王芳.ics").read_bytes())
    [event] = calendar.walk("VEVENT")
    assert (str(event["UID"]), str(event["STATUS"]), event["DTSTART"].dt.date()) == \
        ("visit-C002-new.1@kamrules", "CANCELLED", dt.date(2026, 11, 9))
    assert str(event["DESCRIPTION"]) == "此安排已取消"
    assert json.loads((second.run_dir / "run.json").read_text(encoding="utf-8"))["visit_plan"]["cancelled"] == 1


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Shanghai"])
def test_today_is_the_date_where_the_company_is(tmp_path, zone):
    """A run without --as-of (and run --once, watch, status) takes today in the project's timezone:
    at any moment, UTC+14 and UTC-11 are on different dates."""
    import zoneinfo

    from kamrules.rules.rulebook import project_today

    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "documents.yaml").write_text(f"kamrules: 1\ntimezone: {zone}\n", encoding="utf-8")
    before = dt.datetime.now(zoneinfo.ZoneInfo(zone)).date()
    assert project_today(tmp_path) in (before, dt.datetime.now(zoneinfo.ZoneInfo(zone)).date())
    (tmp_path / "rules" / "documents.yaml").write_text("kamrules: 1\ntimezone: Mars/Olympus\n", encoding="utf-8")
    assert project_today(tmp_path) == dt.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date()


def test_a_reps_sheet_in_the_ledger_sets_each_reps_capacity(tmp_path):
    """客户经理 sheet: 张伟 takes 1 visit a day, starts at 08:30 (an Excel time cell) and has Tuesdays off."""
    import json

    import openpyxl

    from conftest import make_project, small_ledger
    from kamrules.pipeline import run

    ledger = small_ledger()
    ledger["客户经理"] = [["客户经理", "每日拜访上限", "上班时间", "休息日"], ["张伟", 1, dt.time(8, 30), "周二"]]
    project = make_project(tmp_path / "proj", ledger)
    result = run(project, dt.date(2026, 10, 31))
    rows = list(openpyxl.load_workbook(result.run_dir / "portfolio.xlsx", read_only=True)["拜访计划"]
                .iter_rows(min_row=2, values_only=True))
    zhang = [(r[0].date(), r[2]) for r in rows if r[4] == "张伟"]
    assert zhang and all(day.weekday() != 1 and start == "08:30" for day, start in zhang)
    assert len({day for day, _ in zhang}) == len(zhang)  # one visit a day
    assert [(r[0].date(), r[2]) for r in rows if r[4] == "王芳"] == [(dt.date(2026, 11, 9), "09:00")]
    load = list(openpyxl.load_workbook(result.run_dir / "portfolio.xlsx", read_only=True)["每日安排"]
                .iter_rows(max_row=1, values_only=True))[0]
    assert load[2:] == ("张伟（上限1）", "王芳（上限4）", "合计")
    manifest = json.loads((result.run_dir / "run.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["datasets"]["reps"] == {"rows_read": 1, "rows_used": 1, "rows_rejected": 0,
                                                      "rows_skipped": 0}
