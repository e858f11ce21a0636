"""From the decided frame to the visit plan: read the customers and the reps, make the tasks the
policy chooses, and schedule them (see :mod:`kamrules.plan.scheduler`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import polars as pl

from ..expr.compiler import compile_expression
from ..expr.parser import parse
from ..i18n import Text, msg
from ..rules.plan_config import DEFAULT_DAY_START, DEFAULT_VISIT_MINUTES, VISIT_KINDS, RepsSpec, minutes_of, \
    weekday_number
from .festivals import festival_dates, yearly
from .scheduler import Placed, RepCapacity, Schedule, Unplaced, schedule
from .tasks import UNASSIGNED, Customer, Task, as_date, as_interval, as_text, rank, step_title, visit_task
from .workdays import WorkingCalendar, statutory_holidays

DOCUMENT_DAYS = 400  # documents name visits past the calendar's horizon: working days are known that far


@dataclass
class VisitPlan:
    """The scheduled tasks of one run, the calendar they were placed on and what could not be placed."""

    as_of: dt.date
    end: dt.date
    calendar: WorkingCalendar
    reps: dict[str, RepCapacity]
    default_visits: int = 4  # visits a day of a rep the reps sheet does not list
    placed: list[Placed] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)
    warnings: list[Text] = field(default_factory=list)
    events: list = field(default_factory=list)  # the calendar events made of ``placed`` (render/ics.py)
    cancelled: list = field(default_factory=list)
    _by_customer: dict[str, list[Placed]] | None = None

    def visits_of(self, customer_id: str) -> list[Placed]:
        """The customer's scheduled visits (visits, gifts, renewals), in date order."""
        if self._by_customer is None:
            found: dict[str, list[Placed]] = {}
            for placed in self.placed:
                if placed.task.kind in VISIT_KINDS:
                    found.setdefault(placed.task.customer_id, []).append(placed)
            self._by_customer = found
        return self._by_customer.get(customer_id, [])

    def load(self) -> list[tuple[str, dt.date, int, int]]:
        """(rep, day, visits, timed tasks) for every rep's working day that holds a timed task."""
        days: dict[tuple[str, dt.date], list[int]] = {}
        for placed in self.placed:
            if placed.start is None:
                continue
            counts = days.setdefault((placed.task.rep, placed.day), [0, 0])
            counts[0] += placed.task.kind in VISIT_KINDS
            counts[1] += 1
        return [(rep, day, visits, tasks) for (rep, day), (visits, tasks) in sorted(days.items())]

    def rep_names(self) -> list[str]:
        return sorted({p.task.rep for p in self.placed} | {u.task.rep for u in self.unplaced})

    def next_working_day(self, day: dt.date) -> dt.date:
        """``day`` or the first working day after it (past the calendar's end: the working week less
        the company's closures and, with ``holidays: CN``, the statutory holidays)."""
        i = self.calendar.index(day)
        if i < len(self.calendar.days):
            return self.calendar.days[i]
        spec = self.calendar.spec
        while day < dt.date.max and (day.weekday() not in spec.week or day in spec.closed_days()
                                     or (spec.holidays == "CN" and day in statutory_holidays(day.year))):
            day += dt.timedelta(days=1)
        return day


def chosen(frame: pl.DataFrame, condition: str, as_of: dt.date, field_types: dict[str, str] | None) -> pl.Series:
    """For each row, whether ``condition`` (an expression of the rule language) holds; null is false,
    and so is a field the frame does not have (``check`` reports such names before a run)."""
    def resolve(name: str) -> pl.Expr:
        if name == "as_of":
            return pl.lit(as_of)
        return pl.col(name) if name in frame.columns else pl.lit(None)

    expr = compile_expression(parse(condition), resolve, source=condition, field_types=field_types)
    # with_columns broadcasts a condition without fields ("true") to every row; select would not
    return frame.with_columns(expr.fill_null(False).alias("__chosen")).get_column("__chosen")


def build_plan(frame: pl.DataFrame, spec, field_types: dict[str, str] | None, as_of: dt.date,
               reps_frame: pl.DataFrame | None = None) -> VisitPlan:
    """The visit plan of ``frame`` (one row per customer, metrics and decisions) as of ``as_of``;
    ``spec`` is the rulebook's spec (``visit_plan``, ``calendar``, ``working_days``, ``reps``, ``tasks``)."""
    end = as_of + dt.timedelta(days=spec.calendar.horizon_days)
    calendar = WorkingCalendar(spec.working_days, as_of, end + dt.timedelta(days=DOCUMENT_DAYS))
    warnings = []
    years = [y for y in calendar.unknown_years if y <= end.year]  # (later ones: only documents' far dates)
    if years:
        warnings.append(msg("plan.holidays_unknown", years=", ".join(map(str, years))))
    reps_spec = effective_reps(spec)
    default = capacity_of(reps_spec, "")
    reps, problems = rep_capacities(reps_frame, reps_spec)
    warnings += problems
    customers = read_customers(frame, spec)
    tasks = make_tasks(frame, customers, spec, field_types, as_of, end)
    result: Schedule = schedule(tasks, calendar.until(end), reps, default, end, visit_minutes(spec),
                                spec.reps.group_days if spec.reps.group_by else 0)
    return VisitPlan(as_of, end, calendar, reps, default.visits_per_day, result.placed, result.unplaced, warnings)


def effective_reps(spec) -> RepsSpec:
    """``reps`` with its start of day resolved: ``reps.day_start``, else the older
    ``calendar.visit_start``, else 09:00."""
    start = spec.reps.day_start or spec.calendar.visit_start or DEFAULT_DAY_START
    return spec.reps.model_copy(update={"day_start": start})


def visit_minutes(spec) -> int:
    return spec.tasks.visits.minutes or spec.calendar.visit_minutes or DEFAULT_VISIT_MINUTES


def read_customers(frame: pl.DataFrame, spec) -> list[Customer]:
    """One :class:`Customer` per row (none without a ``customer_id`` column: the calendar says so)."""
    if "customer_id" not in frame.columns:
        return []
    plan = spec.visit_plan
    group = spec.reps.group_by
    wanted = ["customer_id", "name", "manager", "tier", "key_account", "last_visit_date", "contact",
              "contact_birthday", "contract_end", plan.first, plan.every_days, group]
    columns = [c for c in dict.fromkeys(w for w in wanted if w) if c in frame.columns]
    customers = []
    for row in frame.select(columns).iter_rows(named=True):
        customer_id = str(row["customer_id"])
        customers.append(Customer(
            customer_id=customer_id, name=as_text(row.get("name")) or customer_id,
            rep=as_text(row.get("manager")) or UNASSIGNED, tier=as_text(row.get("tier")),
            key_account=row.get("key_account") is True, group=as_text(row.get(group)) if group else "",
            first_visit=as_date(row.get(plan.first)), interval=as_interval(row.get(plan.every_days)),
            last_visit=as_date(row.get("last_visit_date")), contact=as_text(row.get("contact")),
            birthday=as_date(row.get("contact_birthday")), contract_end=as_date(row.get("contract_end"))))
    return customers


def make_tasks(frame: pl.DataFrame, customers: list[Customer], spec, field_types: dict[str, str] | None,
               as_of: dt.date, end: dt.date) -> list[Task]:
    tasks_spec = spec.tasks
    visits = tasks_spec.visits
    minutes = visit_minutes(spec)
    tasks = [t for c in customers if (t := visit_task(c, as_of, minutes, visits.reminder_minutes))]
    onboarding = tasks_spec.onboarding
    if onboarding.steps and onboarding.from_ in frame.columns:
        anchors = frame.get_column(onboarding.from_).to_list()
        for customer, anchor, yes in zip(customers, anchors, chosen(frame, onboarding.for_, as_of, field_types)):
            if yes and as_date(anchor) is not None:
                tasks += onboarding_tasks(customer, as_date(anchor), onboarding, as_of, end)
    renewals = tasks_spec.renewals if spec.calendar.renewals else None
    if renewals is not None:
        for customer, yes in zip(customers, chosen(frame, renewals.for_, as_of, field_types)):
            day = customer.contract_end
            if yes and day is not None and as_of <= day and day - dt.timedelta(days=renewals.days_ahead) <= end:
                due = max(as_of, day - dt.timedelta(days=renewals.days_ahead))
                tasks.append(Task(due, rank(customer, None), "renewal", customer.customer_id, customer.rep,
                                  f"{day:%Y%m%d}", renewals.minutes, msg("plan.task.renewal"), None, customer.group,
                                  renewals.reminder_minutes, source="renewal"))
    reminder = spec.calendar.reminder_days
    birthdays = tasks_spec.birthdays if spec.calendar.birthdays else None
    if birthdays is not None:
        for customer, yes in zip(customers, chosen(frame, birthdays.for_, as_of, field_types)):
            if yes and customer.birthday is not None:
                for day in yearly(customer.birthday.month, customer.birthday.day, as_of, end):
                    tasks.append(Task(day, rank(customer, None), "birthday", customer.customer_id, customer.rep,
                                      f"{day:%Y}", 0, msg("plan.task.birthday"), reminder_days=_first(
                                          birthdays.reminder_days, reminder), source="birthday"))
    festivals = tasks_spec.festivals
    if festivals is not None and spec.calendar.festivals:
        greeted: dict[str, list[Customer]] = {}
        for customer, yes in zip(customers, chosen(frame, festivals.for_, as_of, field_types)):
            if yes:
                greeted.setdefault(customer.rep, []).append(customer)
        for festival in spec.calendar.festivals:
            for day in festival_dates(festival, as_of, end):
                for rep, who in sorted(greeted.items()):
                    ids = tuple(c.customer_id for c in sorted(who, key=lambda c: (c.name, c.customer_id)))
                    tasks.append(Task(day, (False, 0, "", festival.name), "festival", festival.name, rep,
                                      f"{day:%Y%m%d}.{rep}", 0, festival.name, reminder_days=_first(
                                          festivals.reminder_days, reminder), customers=ids, source="festival"))
    return tasks


def _first(*values):
    return next((v for v in values if v is not None), None)


def onboarding_tasks(customer: Customer, anchor: dt.date, spec, as_of: dt.date, end: dt.date) -> list[Task]:
    tasks = []
    for number, step in enumerate(spec.steps, start=1):
        if step.after_days > (dt.date.max - anchor).days:
            continue
        due = anchor + dt.timedelta(days=step.after_days)
        if due > end:
            continue
        overdue = (as_of - due).days if due < as_of else None
        tasks.append(Task(max(due, as_of), rank(customer, overdue), step.kind, customer.customer_id, customer.rep,
                          f"{anchor:%Y%m%d}.{number}", step.minutes, step_title(step.kind, step.title), overdue,
                          customer.group, spec.reminder_minutes, source="onboarding"))
    return tasks


# --- the reps' capacity ------------------------------------------------------------------------

def capacity_of(spec: RepsSpec, name: str, **override: Any) -> RepCapacity:
    days_off = list(override.get("days_off", spec.days_off))
    return RepCapacity(
        name=name, visits_per_day=override.get("visits_per_day", spec.visits_per_day),
        day_start=override.get("day_start", minutes_of(spec.day_start or DEFAULT_DAY_START)),
        day_end=override.get("day_end", minutes_of(spec.day_end)),
        lunch=(minutes_of(spec.lunch[0]), minutes_of(spec.lunch[1])) if spec.lunch else None,
        travel=spec.travel_minutes,
        weekdays_off=frozenset(d for d in days_off if isinstance(d, int)),
        dates_off=frozenset(d for d in days_off if isinstance(d, dt.date)))


def rep_capacities(reps: pl.DataFrame | None, spec: RepsSpec) -> tuple[dict[str, RepCapacity], list[Text]]:
    """Each rep of the reps sheet with its own settings; a value that cannot be used keeps the
    default and is reported (the rep, the column, the value)."""
    if reps is None or "rep" not in reps.columns:
        return {}, []
    found, problems = {}, []
    for row in reps.iter_rows(named=True):
        name = as_text(row.get("rep"))
        if not name:
            continue
        override: dict[str, Any] = {}
        for column, reader in (("visits_per_day", _count), ("day_start", _clock), ("day_end", _clock),
                               ("days_off", _days_off)):
            value = row.get(column)
            if value is None or (isinstance(value, str) and not as_text(value)):
                continue
            try:
                override[column] = reader(value)
            except ValueError:
                problems.append(msg("plan.rep_value", rep=name, column=column, value=str(value)))
        capacity = capacity_of(spec, name, **override)
        if capacity.day_end <= capacity.day_start:
            problems.append(msg("plan.rep_hours", rep=name))
            capacity = capacity_of(spec, name)
        found[name] = capacity
    return found, problems


_EXCEL_DAY_ZERO = re.compile(r"(?:1899-12-3[01]|1900-01-0[01])[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)")


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or not 1 <= value <= 48:
        raise ValueError(value)
    return int(value)


def _clock(value: Any) -> int:
    """A time of day from a cell: ``09:00``, ``9:00:00``, a time, Excel's fraction of a day, or an
    Excel time cell read as text (``1899-12-31 08:30:00``: a time on Excel's day zero)."""
    if isinstance(value, dt.datetime) and value.year <= 1900:
        value = value.time()
    if isinstance(value, dt.time):
        return value.hour * 60 + value.minute
    if isinstance(value, str) and (zero := _EXCEL_DAY_ZERO.fullmatch(value.strip())):
        value = zero.group(1)
    if isinstance(value, dt.timedelta):
        minutes = int(value.total_seconds() // 60)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1:
        minutes = round(value * 24 * 60)
    else:
        match = re.fullmatch(r"\s*([01]?\d|2[0-3])[:：]([0-5]\d)(?::[0-5]\d(?:\.\d+)?)?\s*", str(value))
        if match is None:
            raise ValueError(value)
        minutes = int(match.group(1)) * 60 + int(match.group(2))
    if not 0 <= minutes < 24 * 60:
        raise ValueError(value)
    return minutes


def _days_off(value: Any) -> list[int | dt.date]:
    """``sat, sun`` / ``周六、周日`` / dates, separated by commas, 、 or spaces."""
    days: list[int | dt.date] = []
    for part in _split(str(value)):
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", part):
            days.append(dt.date.fromisoformat("-".join(f"{int(x):02d}" if i else x
                                                       for i, x in enumerate(part.split("-")))))
        else:
            days.append(weekday_number(part))
    return days


def _split(text: str) -> Iterable[str]:
    return [p for p in re.split(r"[,，、;；\s]+", text) if p]
