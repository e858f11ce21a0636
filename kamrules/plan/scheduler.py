"""Place every due task on the earliest working day and free slot of its rep at or after its due date.

Tasks are taken in order of due date, and among tasks due the same day by priority (key accounts,
then the longest overdue, then tier: :func:`kamrules.plan.tasks.rank`), so when a rep has more
due than fits, the key accounts get the first days and the rest spread over the following
working days. A rep's day holds at most ``visits_per_day`` visits (visits, gifts, renewals) and
every timed task lies within the working hours, outside lunch, with ``travel_minutes`` after each
visit. A visit that repeats is due again ``every`` days after the day it was placed.

Greetings (birthdays, festivals) take no capacity: they fall on their day, or on the working day
before it. What cannot be placed by the end of the plan is returned as :class:`Unplaced` with
the reason (未能安排), never dropped.

Finding a day is a union-find over each rep's working days ("the next day that may still take a
visit"), so a rep with a full month is skipped in near-constant time per task.
"""

from __future__ import annotations

import datetime as dt
import dataclasses
import gc
from dataclasses import dataclass, field

from ..i18n import Text, msg
from ..rules.plan_config import VISIT_KINDS
from .tasks import Task
from .workdays import WorkingCalendar



@dataclass(frozen=True)
class RepCapacity:
    """One rep's working day, in minutes after midnight."""

    name: str
    visits_per_day: int = 4
    day_start: int = 9 * 60
    day_end: int = 17 * 60 + 30
    lunch: tuple[int, int] | None = (12 * 60, 13 * 60 + 30)
    travel: int = 30
    weekdays_off: frozenset[int] = frozenset()
    dates_off: frozenset[dt.date] = frozenset()

    def fit(self, cursor: int, minutes: int) -> int | None:
        """The start of a task of ``minutes`` at the first free minute ``cursor``, or None."""
        start = cursor
        if self.lunch and start < self.lunch[1] and start + minutes > self.lunch[0]:
            start = max(start, self.lunch[1])
        return start if start + minutes <= self.day_end else None

    def off(self, day: dt.date) -> bool:
        return day.weekday() in self.weekdays_off or day in self.dates_off


@dataclass(slots=True)
class Placed:
    task: Task
    day: dt.date
    start: int | None = None  # minutes after midnight; None for an all-day greeting

    @property
    def end(self) -> int | None:
        return None if self.start is None else self.start + self.task.minutes


@dataclass(frozen=True)
class Unplaced:
    task: Task
    reason: Text


@dataclass
class Schedule:
    placed: list[Placed] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)


class _RepDays:
    """A rep's working days: the next free minute and the visits of each day, and the union-find
    that skips the days that can take no more visits."""

    def __init__(self, capacity: RepCapacity, calendar: WorkingCalendar, standard_minutes: int):
        n = len(calendar.days)
        self.capacity, self.days, self.standard = capacity, calendar.days, standard_minutes
        self.cursor = [capacity.day_start] * n
        self.visits = [0] * n
        self.parent = list(range(n + 1))
        self.groups: dict[int, set[str]] = {}
        self.has_days_off = bool(capacity.weekdays_off or capacity.dates_off)
        self.full: Text | None = None  # the reason, once made (every later task of a full rep shares it)
        self.too_long: dict[int, bool] = {}  # task minutes -> longer than the rep's working day

    def open_from(self, i: int) -> int:
        """The first day at or after position ``i`` that may take a visit (len(days) if none)."""
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def close(self, i: int) -> None:
        self.parent[i] = i + 1

    def usable(self, i: int) -> bool:
        """Position ``i`` is a day of the rep (not a day off); a day off is closed for good."""
        if self.has_days_off and self.capacity.off(self.days[i]):
            self.close(i)
            return False
        return True

    def try_place(self, i: int, task: Task, visit: bool) -> int | None:
        capacity = self.capacity
        if visit and self.visits[i] >= capacity.visits_per_day:
            return None
        return capacity.fit(self.cursor[i], task.minutes)

    def take(self, i: int, start: int, task: Task, visit: bool) -> None:
        capacity = self.capacity
        self.cursor[i] = start + task.minutes + (capacity.travel if visit else 0)
        if visit:
            self.visits[i] += 1
            if task.group:
                self.groups.setdefault(i, set()).add(task.group)
        if self.visits[i] >= capacity.visits_per_day or capacity.fit(self.cursor[i], self.standard) is None:
            self.close(i)


def schedule(tasks: list[Task], calendar: WorkingCalendar, reps: dict[str, RepCapacity], default: RepCapacity,
             end: dt.date, standard_minutes: int = 60, group_days: int = 0) -> Schedule:
    """Place ``tasks`` (see the module's docstring); the result lists them by day, rep and time."""
    gc_was_on = gc.isenabled()
    gc.disable()  # hundreds of thousands of small objects and no cycles: collecting would only cost time
    try:
        return _schedule(tasks, calendar, reps, default, end, standard_minutes, group_days)
    finally:
        if gc_was_on:
            gc.enable()


def _schedule(tasks: list[Task], calendar: WorkingCalendar, reps: dict[str, RepCapacity], default: RepCapacity,
              end: dt.date, standard_minutes: int, group_days: int) -> Schedule:
    """Each rep's tasks apart (capacities are per rep), day by day: a bucket per due day, sorted by
    priority when its day comes; a repeat lands in a later bucket (its interval is at least a day)."""
    result = Schedule()
    start = calendar.start
    horizon = (end - start).days
    by_rep: dict[str, list[list[Task]]] = {}
    greetings = []
    for task in tasks:
        offset = (task.due - start).days
        if offset > horizon:
            continue  # due after the plan: the next run places it
        if not task.timed:
            greetings.append(task)
            continue
        buckets = by_rep.get(task.rep)
        if buckets is None:
            buckets = by_rep[task.rep] = [[] for _ in range(horizon + 1)]
        buckets[max(offset, 0)].append(task)
    for task in sorted(greetings, key=lambda t: (t.due, t.rep, t.customer_id, t.kind, t.key)):
        _greet(task, calendar, end, result)
    for rep in sorted(by_rep):
        capacity = reps.get(rep) or dataclasses.replace(default, name=rep)
        state = _RepDays(capacity, calendar, standard_minutes)
        placed_list, unplaced_list = result.placed, result.unplaced
        buckets = by_rep[rep]
        for offset in range(horizon + 1):
            bucket = buckets[offset]
            if not bucket:
                continue
            bucket.sort(key=Task.priority)
            for task in bucket:
                placed = _place(task, state, calendar, group_days)
                if placed.__class__ is Placed:
                    placed_list.append(placed)
                    following = task.following(placed.day)
                    if following is not None:
                        later = (following.due - start).days
                        if later <= horizon:
                            buckets[later].append(following)
                else:
                    unplaced_list.append(Unplaced(task, placed))
    first = start.toordinal()
    result.placed.sort(key=lambda p: (p.day.toordinal() - first) * 1441 + (p.start + 1 if p.start is not None else 0))
    result.unplaced.sort(key=lambda u: (u.task.rep, u.task.due, u.task.rank))
    return result


def _greet(task: Task, calendar: WorkingCalendar, end: dt.date, result: Schedule) -> None:
    day = calendar.on_or_before(task.due)
    if day is None:
        i = calendar.index(task.due)
        day = calendar.days[i] if i < len(calendar.days) and calendar.days[i] <= end else None
    if day is None:
        result.unplaced.append(Unplaced(task, msg("plan.unplaced.no_working_day", end=end.isoformat())))
    else:
        result.placed.append(Placed(task, day))


def _place(task: Task, state: _RepDays, calendar: WorkingCalendar, group_days: int) -> Placed | Text:
    capacity = state.capacity
    too_long = state.too_long.get(task.minutes)
    if too_long is None:
        too_long = state.too_long[task.minutes] = capacity.fit(capacity.day_start, task.minutes) is None
    if too_long:
        return msg("plan.unplaced.too_long", minutes=task.minutes, start=_clock(capacity.day_start),
                   end=_clock(capacity.day_end))
    visit = task.kind in VISIT_KINDS
    first = calendar.index(task.due)
    n = len(state.days)
    if first >= n:
        return msg("plan.unplaced.no_working_day", end=calendar.end.isoformat())
    i = state.open_from(first) if visit else first
    while i < n:
        if state.usable(i):
            start = state.try_place(i, task, visit)
            if start is not None:
                if visit and group_days and task.group and task.overdue_days is None:
                    i, start = _join_group(task, state, i, start, group_days)
                state.take(i, start, task, visit)
                return Placed(task, state.days[i], start)
        i = state.open_from(i + 1) if visit else i + 1
    if state.full is None:
        state.full = msg("plan.unplaced.full", rep=task.rep or msg("plan.unassigned"), end=calendar.end.isoformat())
    return state.full


def _join_group(task: Task, state: _RepDays, i: int, start: int, group_days: int) -> tuple[int, int]:
    """A visit may wait up to ``group_days`` working days to join a day its rep already spends in
    its region; otherwise it keeps the earliest day."""
    if task.group in state.groups.get(i, ()):
        return i, start
    for j in range(i + 1, min(i + group_days, len(state.days) - 1) + 1):
        if task.group in state.groups.get(j, ()) and state.open_from(j) == j and state.usable(j):
            later = state.try_place(j, task, True)
            if later is not None:
                return j, later
    return i, start


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
