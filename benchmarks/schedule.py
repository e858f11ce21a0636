"""``python -m benchmarks.schedule [--customers 50000] [--months 12]``: the visit plan at scale.

Customers get a rep (150 customers each), a tier, a cadence (14–180 days), a last visit and a
first due date (a third of them overdue), and every 20th a contract ending within the year; the
plan covers ``--months`` months on China's working days with 4 visits a day per rep. Baseline,
measured in the same run on the same customers: the cadence dates alone (every ``every`` days
from the due date, no calendar and no capacity: what the calendar did before issue 20), the
least work any plan of these customers has to do. Target: 50,000 customers over 12 months
within capacity in at most 2 s on the full size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import polars as pl

from kamrules.plan.planner import build_plan
from kamrules.rules.rulebook import RulebookSpec

AS_OF = dt.date(2026, 1, 5)
PER_REP = 150


def customers(n: int, seed: int = 20261031) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    interval = rng.choice([14, 30, 45, 60, 90, 180], size=n, p=[0.05, 0.15, 0.2, 0.2, 0.2, 0.2])
    since_visit = rng.integers(0, 240, size=n)
    last = [AS_OF - dt.timedelta(days=int(d)) for d in since_visit]
    due = [max(AS_OF + dt.timedelta(days=3), d + dt.timedelta(days=int(i))) if s < i else AS_OF + dt.timedelta(days=3)
           for d, i, s in zip(last, interval, since_visit)]
    ends = [AS_OF + dt.timedelta(days=int(d)) if k % 20 == 0 else None
            for k, d in enumerate(rng.integers(10, 360, size=n))]
    return pl.DataFrame({
        "customer_id": [f"C{k:06d}" for k in range(n)], "name": [f"客户{k}" for k in range(n)],
        "manager": [f"经理{k % max(1, n // PER_REP):03d}" for k in range(n)],
        "tier": rng.choice(["A", "B", "C", "D", "E", "普通"], size=n).tolist(),
        "key_account": (rng.random(n) < 0.05).tolist(), "region": rng.choice(["华东", "华南", "华北"], size=n).tolist(),
        "last_visit_date": last, "next_visit_date": due, "visit_interval_days": interval.tolist(),
        "contract_end": ends})


def cadence_only(frame: pl.DataFrame, end: dt.date) -> int:
    """The baseline: every cadence date up to ``end``, nothing else."""
    count = 0
    for first, every in frame.select("next_visit_date", "visit_interval_days").iter_rows():
        day = first
        while day <= end:
            count += 1
            day += dt.timedelta(days=every)
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args(argv)
    frame = customers(args.customers)
    spec = RulebookSpec.model_validate({"calendar": {"horizon_days": args.months * 365 // 12},
                                        "tasks": {"birthdays": None, "festivals": None}})
    end = AS_OF + dt.timedelta(days=spec.calendar.horizon_days)
    start = time.perf_counter()
    baseline_count = cadence_only(frame, end)
    baseline = time.perf_counter() - start
    start = time.perf_counter()
    plan = build_plan(frame, spec, None, AS_OF)
    seconds = time.perf_counter() - start
    reps = frame.get_column("manager").n_unique()
    print(f"visit plan · {args.customers:,} customers, {reps:,} reps, {args.months} months · "
          f"{len(plan.calendar.until(end).days)} working days", flush=True)
    print(f"  {'baseline: cadence dates only':<34} {baseline:8.2f} s  {baseline_count / baseline:>14,.0f} dates/s",
          flush=True)
    print(f"  {'kamrules plan (calendar+capacity)':<34} {seconds:8.2f} s  {len(plan.placed) / seconds:>14,.0f} tasks/s"
          f"   {seconds / baseline:5.2f}x the baseline's time   {len(plan.placed):,} placed, "
          f"{len(plan.unplaced):,} unplaced   target ≤ 2 s", flush=True)


if __name__ == "__main__":
    main()
