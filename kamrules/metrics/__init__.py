"""Metrics stage: the per-customer feature table as of a date.

``compute_features`` joins every customer column with the built-in catalog
(:mod:`kamrules.metrics.catalog`, with RFM from :mod:`kamrules.metrics.rfm`), then adds the
declarative aggregates (:mod:`kamrules.metrics.aggregates`), the predictive metrics
(:mod:`kamrules.metrics.predictive`, when configured) and finally evaluates the derived
metrics of ``rules/metrics.yaml`` in order, so derived metrics may use aggregates. Customers
with no orders still appear, with zero sums and counts and empty dates.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Callable, Mapping

import polars as pl

from ..errors import Issue, LedgerError
from ..i18n import Text, msg
from ..ledger.stages import (StageCache, code_digest, decode_fit_error, decode_issues, encode_fit_error,
                             encode_issues, key_of)
from ..types import cast_to
from .catalog import (AGEING_BUCKETS, CATALOG, KEY, ZERO_FILLED, Windows, complaint_metrics, finish, pareto,
                      receivable_metrics, visit_metrics)
from .aggregates import aggregate_catalog, aggregate_types, compute_aggregates
from .config import MetricsSpec
from .order_lines import OrderParts, order_metrics_of, order_sums, purchase_summary_of
from .predictive import predictive_metrics
from .rfm import rfm

__all__ = ["CATALOG", "REQUIRED_COLUMNS", "compute_features", "features_and_notes", "data_notes", "INTERNAL_COLUMNS",
           "aggregate_catalog", "aggregate_types"]

INTERNAL_COLUMNS = ("_file", "_sheet", "_row")
AGEING = tuple(name for name, _, _ in AGEING_BUCKETS)
STALE_AFTER_DAYS = 31  # at least: an as_of a month after the last order may just be a quiet month
STALE_GAPS = 3  # and three times the usual gap between days with orders


def _without_values() -> dict[tuple[str, str], Text]:
    """Optional columns the catalog reads, and what happens to the metrics when one mapped in
    ledger.yaml has no value in the ledger (absent from the sheets, or empty)."""
    return {
        ("orders", "order_id"): msg("metrics.no_order_id"),
        ("orders", "cost"): msg("metrics.no_cost"),
        ("receivables", "paid_amount"): msg("metrics.no_paid_amount"),
        ("receivables", "paid_date"): msg("metrics.no_paid_date"),
        ("receivables", "invoice_date"): msg("metrics.no_invoice_date"),
        ("visits", "satisfaction"): msg("metrics.no_satisfaction"),
        ("customers", "since"): msg("metrics.no_since"),
    }


def columns_with_values(frame: pl.DataFrame | pl.LazyFrame, columns: list[str] | None = None) -> set[str]:
    """Of ``columns`` (default all), those that hold at least one value (all of an empty dataset)."""
    chosen = pl.all() if columns is None else pl.col(columns)
    counts = (frame.lazy().select(chosen.null_count(), pl.len().alias("\0rows"))
              .collect(engine="streaming").row(0, named=True))
    rows = counts.pop("\0rows")
    if rows == 0:
        return set(counts)
    return {name for name, nulls in counts.items() if nulls < rows}


def data_notes(datasets: Mapping[str, pl.DataFrame | pl.LazyFrame], as_of: dt.date) -> list[Issue]:
    """Warnings about what the metrics could not use as mapped, once per dataset and column, and
    about an as_of well after the ledger's last order (more than a month, and more than three times
    the median gap between days with orders: then the ledger is most likely an older export)."""
    notes, filled, effects = [], {}, _without_values()
    for (name, column), effect in effects.items():
        if name not in filled:  # one pass per dataset over the columns looked at: orders may be millions of lines
            frame = datasets.get(name)
            names = set(frame.lazy().collect_schema().names()) if frame is not None else set()
            mapped = [c for (n, c) in effects if n == name and c in names]
            filled[name] = (set(mapped), columns_with_values(frame, mapped) if mapped else set())
        mapped, with_values = filled[name]
        if column in mapped and column not in with_values:
            notes.append(Issue("rules/ledger.yaml", None, None, column, None,
                               msg("metrics.column_without_values", column=column, effect=effect),
                               "column_without_values", "warning", name,
                               msg("metrics.column_without_values.hint", column=column)))
    orders = datasets.get("orders")
    if orders is not None and "order_date" in orders.lazy().collect_schema().names():
        days = orders.lazy().select(pl.col("order_date").filter(pl.col("order_date") <= as_of).drop_nulls().unique()
                                    ).collect(engine="streaming").sort("order_date")
        last = days["order_date"].max() if days.height else None
        usual = days.select(pl.col("order_date").diff().dt.total_days().median()).item() if days.height > 2 else 0
        if last is not None and (as_of - last).days > max(STALE_AFTER_DAYS, STALE_GAPS * (usual or 0)):
            notes.append(Issue("inputs", None, None, "order_date", last.isoformat(),
                               msg("metrics.stale_ledger", last=last.isoformat(), days=(as_of - last).days,
                                   as_of=as_of.isoformat()), "as_of_after_data", "warning", "orders",
                               msg("metrics.stale_ledger.hint", last=last.isoformat())))
    return notes

REQUIRED_COLUMNS = {
    "customers": ("customer_id",),
    "orders": ("customer_id", "order_date", "amount"),
    "receivables": ("customer_id", "amount", "due_date"),
    "complaints": ("customer_id", "date"),
    "visits": ("customer_id", "date"),
}


def check_catalog_columns(datasets: Mapping[str, pl.DataFrame | pl.LazyFrame]) -> None:
    """The catalog needs some columns by name; say which mapping in ledger.yaml is missing."""
    if "customers" not in datasets:
        raise LedgerError(msg("metrics.no_customers"), file="rules/ledger.yaml",
                          suggestion=msg("metrics.no_customers.hint"))
    for name, required in REQUIRED_COLUMNS.items():
        frame = datasets.get(name)
        if frame is None:
            continue
        missing = [c for c in required if c not in frame.lazy().collect_schema().names()]
        if missing:
            raise LedgerError(msg("metrics.missing_column", dataset=name, column=missing[0]),
                              file="rules/ledger.yaml", suggestion=msg("metrics.map_it", dataset=name))


Derived = list[tuple[str, Callable[[Callable[[str], pl.Expr]], pl.Expr], str]]


def compute_features(datasets: Mapping[str, pl.DataFrame | pl.LazyFrame], as_of: dt.date, spec: MetricsSpec,
                     derived: Derived = (), reports: dict | None = None) -> pl.DataFrame:
    """One row per customer: customer columns + catalog metrics + aggregates + derived metrics.

    ``derived`` is a list of (name, build, type) where ``build(resolve)`` returns the
    metric's Polars expression; the rules stage compiles them so metrics and rules share
    one expression language. With ``predictive`` configured, the fitted models are recorded
    in ``reports`` (model name → parameters and diagnostics).
    """
    return _add_derived(_ledger_features(datasets, as_of, spec, reports), as_of, derived)


def features_and_notes(datasets: Mapping[str, pl.DataFrame | pl.LazyFrame], as_of: dt.date, spec: MetricsSpec,
                       derived: Derived, reports: dict, stages: StageCache | None = None,
                       fingerprint: str | None = None,
                       order_parts: OrderParts | None = None) -> tuple[pl.DataFrame, list[Issue]]:
    """:func:`compute_features` and :func:`data_notes`. With kept results (``stages``) and the
    ledger's ``fingerprint`` (:attr:`kamrules.ledger.Ledger.fingerprint`), the metrics computed
    from the ledger are kept under a key of the fingerprint, ``as_of``, the metrics spec (all but
    the derived metrics and the client list) and the code that computes them, and read back when
    all of those are the same: a run after a rule change does not aggregate the order lines again.
    Derived metrics (compiled from the rulebook) are always evaluated afresh. ``order_parts``: see
    :func:`_ledger_features`."""
    key = None
    if stages is not None and fingerprint is not None:
        key = key_of("features", fingerprint, code_digest("metrics", "ledger", "types.py"), as_of.isoformat(),
                     spec.model_dump(mode="json", exclude={"derived", "client"}))  # those two: not computed here
        kept = stages.load("features", key)
        if kept is not None:
            body, frames = kept
            reports.update(body["reports"])
            if body["unfit"] is not None:
                reports["unfit"] = decode_fit_error(body["unfit"])
            return _add_derived(frames["features"], as_of, derived), decode_issues(body["notes"])
    frame = _ledger_features(datasets, as_of, spec, reports, order_parts, stages)
    notes = data_notes(datasets, as_of)
    if key is not None:
        unfit = reports.pop("unfit", None)
        reports.update(json.loads(json.dumps(reports)))  # as read back: a cold and a warm run give the same
        stages.store("features", key, {"reports": reports, "notes": encode_issues(notes),
                                       "unfit": encode_fit_error(unfit) if unfit is not None else None},
                     {"features": frame})
        if unfit is not None:
            reports["unfit"] = unfit
    return _add_derived(frame, as_of, derived), notes


def _ledger_features(datasets: Mapping[str, pl.DataFrame | pl.LazyFrame], as_of: dt.date, spec: MetricsSpec,
                     reports: dict | None, order_parts: OrderParts | None = None,
                     stages: StageCache | None = None) -> pl.DataFrame:
    """The customer columns and every metric computed from the ledger (all but derived ones).
    ``order_parts``: the order lines file by file, each with the key of its rows (None: not
    kept), so that each file's reduction is kept in ``stages`` (:mod:`kamrules.metrics.order_lines`)."""
    check_catalog_columns(datasets)
    w = Windows(as_of)
    customers = datasets["customers"].drop(INTERNAL_COLUMNS, strict=False).lazy()
    frame = customers
    has_cost = False
    sums = None
    parts: list[pl.LazyFrame] = []
    if "orders" in datasets:
        sums, with_values = order_sums(order_parts or [(None, datasets["orders"].lazy())], as_of, stages)
        has_cost = "cost" in with_values
        parts.append(order_metrics_of(sums, with_values))
    if "receivables" in datasets:
        invoices = datasets["receivables"]
        parts.append(receivable_metrics(invoices.lazy(), columns_with_values(invoices), w))
    if "complaints" in datasets:
        parts.append(complaint_metrics(datasets["complaints"].lazy(), w))
    if "visits" in datasets:
        visits = datasets["visits"]
        parts.append(visit_metrics(visits.lazy(), columns_with_values(visits), w))
    for part in parts:
        frame = frame.join(part, on=KEY, how="left")
    frame = _ensure_catalog_columns(frame)
    frame = frame.with_columns([pl.col(c).fill_null(0) for c in ZERO_FILLED if c != "cost_12m" or has_cost])
    frame = finish(frame, w, has_cost)
    money = [cast_to(pl.col(name), "money") for name, info in CATALOG.items()
             if info.type == "money" and name in frame.collect_schema()]
    frame = rfm(pareto(frame.with_columns(money).collect(engine="streaming"), spec.abc))
    frame = compute_aggregates(frame, datasets, as_of, spec.aggregates)
    if spec.predictive is not None:
        summary = purchase_summary_of(sums, as_of, spec.predictive.unit_days) if sums is not None else None
        frame = predictive_metrics(frame, datasets.get("orders"), as_of, spec.predictive, reports, summary)
    return frame


def _ensure_catalog_columns(frame: pl.LazyFrame) -> pl.LazyFrame:
    schema = frame.collect_schema()
    dtypes = {"money": pl.Float64, "integer": pl.Int64, "date": pl.Date}
    missing = [pl.lit(None, dtype=dtypes.get(CATALOG[c].type, pl.Float64)).alias(c)
               for c in ("revenue_12m", "revenue_prev_12m", "revenue_total", "orders_12m",
                         "cost_12m", "first_order_date", "last_order_date", "outstanding",
                         "overdue_amount", "max_overdue_days", "open_invoices", *AGEING,
                         "on_time_rate_12m", "complaints_12m", "last_complaint_date", "visits_90d",
                         "visits_12m", "last_visit_date", "satisfaction")
               if c not in schema]
    return frame.with_columns(missing) if missing else frame


def _add_derived(frame: pl.DataFrame, as_of: dt.date, derived) -> pl.DataFrame:
    def resolve(name: str) -> pl.Expr:
        return pl.lit(as_of) if name == "as_of" else pl.col(name)

    for name, build, type_name in derived:
        frame = frame.with_columns(cast_to(build(resolve), type_name).alias(name))
    return frame
