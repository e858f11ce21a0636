"""What is due: the tasks of every customer, before they are placed on a day.

* ``visit`` — the policy's cadence: the first due date is the decision ``visit_plan.first``
  (``next_visit_date``), then every ``visit_plan.every_days`` days counted from the day the
  previous visit was *scheduled* (a visit that slips moves the next one too). A visit is
  overdue when the customer was never visited or the last visit is older than the interval.
* onboarding steps (``call``, ``gift``, ``visit``) — for the customers ``tasks.onboarding.for``
  chooses, ``after_days`` from the date in ``tasks.onboarding.from``.
* ``renewal`` — ``days_ahead`` days before ``contract_end``.
* ``birthday`` and ``festival`` — greetings on the day (all day, no capacity): a day that is not
  a working day moves to the working day before it.

Each task has a key that stays the same from run to run while it is the same task, so a
calendar that imports the next run's file updates the event instead of adding a second one:
a visit is keyed by the last visit it follows and its number after it (``20261015.2``: the
second visit after the one on 15 October; ``new.1`` for a customer never visited), an onboarding
step by its number, a renewal by the contract's end, a birthday by its year.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from ..i18n import Text, msg
from ..text import is_blank

UNASSIGNED = ""  # the rep of a customer without an account manager
NEVER_VISITED = 10 ** 6  # the overdue days of a customer never visited: the most overdue of all
_DAYS = [dt.timedelta(days=n) for n in range(400)]
VISIT_TITLE = msg("plan.task.visit")  # one message object for every visit (a message per task costs a tenth of the plan)


@dataclass(frozen=True)
class Customer:
    """What the plan needs of one customer (a row of the decided frame)."""

    customer_id: str
    name: str
    rep: str
    tier: str
    key_account: bool
    group: str
    first_visit: dt.date | None
    interval: int | None
    last_visit: dt.date | None
    contact: str = ""
    birthday: dt.date | None = None
    contract_end: dt.date | None = None

    def overdue_days(self, as_of: dt.date) -> int | None:
        """Days past the cadence (a customer never visited counts as the most overdue); None when on plan."""
        if self.interval is None:
            return None
        if self.last_visit is None:
            return NEVER_VISITED
        late = (as_of - self.last_visit).days - self.interval
        return late if late >= 0 else None


@dataclass(eq=False, slots=True)
class Task:
    """One thing a rep has to do for a customer, due on ``due`` (placed at or after it)."""

    due: dt.date = field(compare=False)
    rank: tuple = field(compare=False)  # the priority among tasks due the same day
    kind: str = field(compare=False)  # visit | gift | call | renewal | birthday | festival
    customer_id: str = field(compare=False)  # the festival's name for festival greetings
    rep: str = field(compare=False)
    key: str = field(compare=False)
    minutes: int = field(compare=False, default=0)  # 0: all day
    title: Text | str = field(compare=False, default="")
    overdue_days: int | None = field(compare=False, default=None)
    group: str = field(compare=False, default="")
    reminder_minutes: int | None = field(compare=False, default=None)
    reminder_days: int | None = field(compare=False, default=None)
    every: int | None = field(compare=False, default=None)  # a visit repeats this many days after it is placed
    sequence: int = field(compare=False, default=1)
    anchor: str = field(compare=False, default="")
    customers: tuple[str, ...] = field(compare=False, default=())  # festival: the key accounts to greet
    source: str = field(compare=False, default="visit")  # visit | onboarding | renewal | birthday | festival

    def priority(self) -> tuple:
        """The order of tasks due the same day: the rank (which ends with the customer id), then kind,
        then the task's place in its sequence."""
        return self.rank, self.kind, self.sequence, self.key

    @property
    def uid_key(self) -> tuple[str, str, str]:
        """(task type, customer or festival, sequence): what the calendar's UID is made of."""
        return self.source, self.customer_id, self.key

    @property
    def never_visited(self) -> bool:
        return self.overdue_days is not None and self.overdue_days >= NEVER_VISITED

    @property
    def timed(self) -> bool:
        return self.minutes > 0

    def following(self, placed: dt.date) -> "Task | None":
        """The next visit of a cadence, due ``every`` days after this one was placed."""
        if not self.every or self.every > (dt.date.max - placed).days:
            return None
        sequence = self.sequence + 1
        return Task(placed + _DAYS[self.every] if self.every < len(_DAYS) else placed + dt.timedelta(days=self.every),
                    self.rank, self.kind, self.customer_id, self.rep, f"{self.anchor}.{sequence}", self.minutes,
                    self.title, None, self.group, self.reminder_minutes, None, self.every, sequence, self.anchor)


def rank(customer: Customer, overdue_days: int | None) -> tuple:
    """Key accounts first, then the longest overdue, then by tier (A before B …), then by id."""
    return (not customer.key_account, -(overdue_days or 0), customer.tier or "\uffff", customer.customer_id)


def visit_task(customer: Customer, as_of: dt.date, minutes: int, reminder: int | None) -> Task | None:
    if customer.first_visit is None:
        return None
    overdue = customer.overdue_days(as_of)
    anchor = f"{customer.last_visit:%Y%m%d}" if customer.last_visit else "new"
    return Task(max(customer.first_visit, as_of), rank(customer, overdue), "visit", customer.customer_id,
                customer.rep, f"{anchor}.1", minutes, VISIT_TITLE, overdue, customer.group, reminder,
                None, customer.interval, 1, anchor)


def as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def as_interval(value: Any) -> int | None:
    """Days between visits; anything but a positive whole number of days means "no repeat"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        return None
    return int(value) if 1 <= value <= 36_525 else None


def as_text(value: Any) -> str:
    text = "" if value is None else str(value)
    return "" if is_blank(text) else text


STEP_TITLES = {"call": msg("plan.task.call"), "gift": msg("plan.task.gift"), "visit": msg("plan.task.visit")}


def step_title(kind: str, title: str | None) -> Text | str:
    return title if title else STEP_TITLES[kind]
