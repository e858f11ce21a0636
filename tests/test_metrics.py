"""Metrics stage: windows, receivables as of a date, Pareto/ABC, derived metrics."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from kamrules.errors import LedgerError
from kamrules.metrics import compute_features
from kamrules.metrics.catalog import add_months
from kamrules.metrics.config import AbcSpec, MetricsSpec

AS_OF = dt.date(2026, 10, 31)
D = dt.date


def customers(*ids: str) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": list(ids), "name": [f"客户{i}" for i in ids]})


def orders(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"customer_id": pl.String, "order_date": pl.Date, "amount": pl.Float64},
                        orient="row")


@pytest.mark.parametrize("day, months, expected", [
    (D(2026, 10, 31), -12, D(2025, 10, 31)), (D(2026, 3, 31), -1, D(2026, 2, 28)),
    (D(2024, 2, 29), 12, D(2025, 2, 28)), (D(2026, 1, 15), -13, D(2024, 12, 15)), (D(2026, 12, 31), 1, D(2027, 1, 31)),
])
def test_add_months_clamps_to_month_end(day, months, expected):
    assert add_months(day, months) == expected


def test_window_edges_are_exclusive_at_the_start_and_inclusive_at_as_of():
    frame = compute_features({
        "customers": customers("C1"),
        "orders": orders([("C1", D(2025, 10, 31), 1.0), ("C1", D(2025, 11, 1), 10.0), ("C1", AS_OF, 100.0),
                          ("C1", D(2026, 11, 1), 1000.0), ("C1", D(2024, 10, 31), 5.0), ("C1", D(2024, 11, 1), 50.0)]),
    }, AS_OF, MetricsSpec())
    row = frame.row(0, named=True)
    assert (row["revenue_12m"], row["revenue_prev_12m"], row["revenue_total"]) == (110.0, 51.0, 166.0)
    assert row["orders_12m"] == 2  # no order_id column: each line is an order
    assert row["last_order_date"] == AS_OF and row["recency_days"] == 0
    assert row["gross_margin_12m"] is None and row["margin_pct_12m"] is None  # no cost column


def test_customers_without_orders_or_other_datasets_still_appear():
    frame = compute_features({"customers": customers("C1", "C2"), "orders": orders([("C1", AS_OF, 10.0)])},
                             AS_OF, MetricsSpec())
    c2 = frame.filter(pl.col("customer_id") == "C2").row(0, named=True)
    assert (c2["revenue_12m"], c2["orders_12m"], c2["outstanding"], c2["complaints_12m"]) == (0.0, 0, 0.0, 0)
    assert c2["last_order_date"] is None and c2["last_visit_date"] is None and c2["avg_order_value_12m"] is None


def test_abc_cutoffs_are_configurable_and_the_top_customer_is_always_a():
    rows = [("C1", AS_OF, 70.0), ("C2", AS_OF, 20.0), ("C3", AS_OF, 6.0), ("C4", AS_OF, 4.0)]
    data = {"customers": customers("C1", "C2", "C3", "C4", "C5"), "orders": orders(rows)}
    default = compute_features(data, AS_OF, MetricsSpec())
    # C2 is A: only 70% of revenue comes before it, so the A group covers at least 80%
    assert default["abc_class"].to_list() == ["A", "A", "B", "C", "C"]
    assert default["revenue_rank"].to_list() == [1, 2, 3, 4, 5]
    assert default["cumulative_share"].to_list() == pytest.approx([0.7, 0.9, 0.96, 1.0, 1.0])
    narrow = compute_features(data, AS_OF, MetricsSpec(abc=AbcSpec(a=0.6, b=0.85)))
    assert narrow["abc_class"].to_list() == ["A", "B", "C", "C", "C"]
    tiny = compute_features(data, AS_OF, MetricsSpec(abc=AbcSpec(a=0.01, b=0.02)))
    assert tiny["abc_class"].to_list() == ["A", "C", "C", "C", "C"]


def test_ties_in_revenue_rank_by_customer_id():
    data = {"customers": customers("C2", "C1"), "orders": orders([("C1", AS_OF, 5.0), ("C2", AS_OF, 5.0)])}
    frame = compute_features(data, AS_OF, MetricsSpec())
    assert frame.select("customer_id", "revenue_rank").rows() == [("C1", 1), ("C2", 2)]


def test_abc_cutoffs_must_be_ordered():
    with pytest.raises(ValueError, match="must be greater than a"):
        AbcSpec(a=0.9, b=0.8)


def test_missing_catalog_column_names_the_mapping():
    data = {"customers": customers("C1"), "orders": pl.DataFrame({"customer_id": ["C1"], "amount": [1.0]})}
    with pytest.raises(LedgerError) as info:
        compute_features(data, AS_OF, MetricsSpec())
    assert info.value.message == "dataset 'orders' has no column 'order_date', which the metrics need"
    assert info.value.suggestion == "map it under datasets.orders.columns in rules/ledger.yaml"


def test_derived_metrics_are_typed_and_see_earlier_ones():
    data = {"customers": customers("C1"), "orders": orders([("C1", AS_OF, 1234.567)])}
    derived = [("double", lambda resolve: resolve("revenue_12m") * 2, "money"),
               ("as_text", lambda resolve: resolve("double").cast(pl.String), "text")]
    row = compute_features(data, AS_OF, MetricsSpec(), derived).row(0, named=True)
    assert row["revenue_12m"] == 1234.57  # money metrics are rounded to the fen
    assert row["double"] == 2469.14 and row["as_text"] == "2469.14"
