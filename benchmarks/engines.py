"""Rule evaluation: the Polars engine vs the durable-rules engine on the same rulebook and customers.

    python -m benchmarks.engines [--customers 20000]

Customers are the bundled sample's feature table, repeated with new ids (so the value
distribution is the sample's). Prints customers/s, customer-decisions/s and the ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import polars as pl

from kamrules.pipeline import evaluate
from kamrules.rules.engine import PolarsEngine

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 10, 31)


def features(customers: int) -> tuple:
    rulebook, _, result = evaluate(ROOT, AS_OF)
    base = result.frame.select([c for c in result.frame.columns
                                if not c.startswith("_") and c not in rulebook.output_owner()])
    copies = -(-customers // base.height)
    frame = pl.concat([base.with_columns(pl.format("{}-{}", pl.col("customer_id"), pl.lit(i)).alias("customer_id"))
                       for i in range(copies)]).head(customers)
    return rulebook, frame


def measure(engine_class, rulebook, frame) -> float:
    start = time.perf_counter()
    engine_class(rulebook, AS_OF).evaluate(frame)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    args = parser.parse_args()
    rulebook, frame = features(args.customers)
    decisions = len(rulebook.decisions)
    polars_seconds = measure(PolarsEngine, rulebook, frame)
    print(f"polars   {frame.height:>8,} customers  {polars_seconds:7.2f} s  {frame.height / polars_seconds:>12,.0f} customers/s"
          f"  {frame.height * decisions / polars_seconds:>14,.0f} customer-decisions/s")
    try:
        from kamrules.rules.durable_engine import DurableEngine
        DurableEngine(rulebook, AS_OF)
    except Exception as exc:
        print(f"durable  not available: {exc}")
        return
    durable_seconds = measure(DurableEngine, rulebook, frame)
    print(f"durable  {frame.height:>8,} customers  {durable_seconds:7.2f} s  {frame.height / durable_seconds:>12,.0f} customers/s"
          f"  {frame.height * decisions / durable_seconds:>14,.0f} customer-decisions/s")
    print(f"ratio    polars is {durable_seconds / polars_seconds:.1f}x faster than durable-rules")


if __name__ == "__main__":
    main()
