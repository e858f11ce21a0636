"""Declarative aggregates: ``metrics.aggregates`` in ``rules/metrics.yaml``.

Each aggregate is one per-customer sum, count, mean, min, max or distinct count of a
dataset's column, over the rows that match its ``where`` condition and fall in its window
(see :mod:`kamrules.metrics.config` for the syntax). Windows are (start, as_of] on the
window's date column: ``Nd`` starts N days before as_of, ``Nm`` N calendar months before (as
in the catalog's 12-month window), ``ytd`` on 1 January of the as-of year (inclusive); ``all``
keeps every row dated up to as_of and the rows without a date. Whatever ``date:`` names, rows
that did not exist yet on as_of never count (:func:`existed`). Customers with no matching
rows get 0 from sum, count and distinct, and no value (null) from mean, min and max.

Dataset and column names are checked against the data: an unknown one is a
:class:`~kamrules.errors.LedgerError` naming ``rules/metrics.yaml``. The catalog's optional
datasets (orders, receivables, complaints, visits) may be absent from a run; their aggregates
are then 0 or null, as for the catalog metrics.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Callable, Mapping

import polars as pl

from ..errors import LedgerError
from ..i18n import Text, msg
from ..names import did_you_mean
from ..expr.compiler import compile_expression
from ..expr.parser import parse
from ..expr.typecheck import check_condition
from ..types import POLARS_TYPES, cast_to
from .catalog import KEY, MetricInfo, add_months
from .config import DATE_COLUMNS, AggregateSpec, MetricsSpec, Window
from .predictive import predictive_types

FILE = "rules/metrics.yaml"
ADDITIVE = ("sum", "count", "distinct")
INTERNAL = ("_file", "_sheet", "_row")

AGGREGATORS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "sum": lambda values: values.sum(),
    "count": lambda values: values.count(),
    "mean": lambda values: values.mean(),
    "min": lambda values: values.min(),
    "max": lambda values: values.max(),
    "distinct": lambda values: values.drop_nulls().n_unique(),
}


def aggregate_catalog(spec: MetricsSpec) -> dict[str, MetricInfo]:
    """Type and title (the name when no title is given) of every aggregate, in YAML order,
    then the predictive metrics when ``predictive`` is configured."""
    catalog = {name: MetricInfo(agg.result_type, agg.title or name) for name, agg in spec.aggregates.items()}
    if spec.predictive is not None:
        catalog.update({name: MetricInfo(*info) for name, info in predictive_types(spec.predictive).items()})
    return catalog


def aggregate_types(spec: MetricsSpec) -> dict[str, str]:
    """Aggregate (and predictive metric) name → kamrules type, known without data (for the rule compiler)."""
    return {name: info.type for name, info in aggregate_catalog(spec).items()}


def window_start(window: Window, as_of: dt.date) -> dt.date | None:
    """The exclusive start of the window (None for ``all``): rows dated in (start, as_of] count."""
    if window.unit == "d":
        return as_of - dt.timedelta(days=window.count)
    if window.unit == "m":
        return add_months(as_of, -window.count)
    if window.unit == "ytd":
        return dt.date(as_of.year - 1, 12, 31)
    return None


def window_mask(window: Window, date: pl.Expr, as_of: dt.date) -> pl.Expr:
    """True for rows in the window; ``all`` also keeps rows without a date."""
    start = window_start(window, as_of)
    if start is None:
        return date.is_null() | (date <= as_of)
    return (date > start) & (date <= as_of)


def compute_aggregates(frame: pl.DataFrame, datasets: Mapping[str, pl.DataFrame | pl.LazyFrame], as_of: dt.date,
                       aggregates: Mapping[str, AggregateSpec]) -> pl.DataFrame:
    """Add one column per aggregate to the per-customer ``frame``, typed and in YAML order."""
    for name in aggregates:
        if name in frame.columns:
            raise LedgerError(msg("aggregates.name_taken", name=name), file=FILE,
                              suggestion=msg("aggregates.name_taken.hint"))
    by_dataset: dict[str, dict[str, AggregateSpec]] = defaultdict(dict)
    for name, agg in aggregates.items():
        by_dataset[agg.dataset][name] = agg
    for dataset, items in by_dataset.items():
        rows = _rows(datasets, dataset, next(iter(items)))
        if rows is not None:
            schema = rows.collect_schema()
            part = rows.group_by(KEY).agg(
                [aggregate_expr(name, agg, schema, as_of) for name, agg in items.items()]).collect(engine="streaming")
            frame = frame.join(part, on=KEY, how="left", maintain_order="left")
    return frame.with_columns([_finished(name, agg, frame.columns) for name, agg in aggregates.items()])


def _finished(name: str, agg: AggregateSpec, columns: list[str]) -> pl.Expr:
    value = pl.col(name) if name in columns else pl.lit(None, dtype=POLARS_TYPES[agg.result_type])
    if agg.kind in ADDITIVE:
        value = value.fill_null(0)
    return cast_to(value, agg.result_type).alias(name)


def _rows(datasets: Mapping[str, pl.DataFrame | pl.LazyFrame], dataset: str, name: str) -> pl.LazyFrame | None:
    """The dataset's rows; None for an optional catalog dataset this run did not read."""
    rows = datasets.get(dataset)
    if rows is None:
        if dataset in DATE_COLUMNS:
            return None
        known = sorted(set(datasets) | set(DATE_COLUMNS))
        raise _error(name, msg("aggregates.no_dataset", dataset=dataset),
                     did_you_mean(dataset, known) or msg("aggregates.datasets", datasets=", ".join(known)))
    rows = rows.lazy()
    if KEY not in rows.collect_schema().names():
        raise _error(name, msg("aggregates.no_key", dataset=dataset, column=KEY),
                     msg("metrics.map_it", dataset=dataset))
    return rows


def aggregate_expr(name: str, agg: AggregateSpec, schema: Mapping[str, pl.DataType], as_of: dt.date) -> pl.Expr:
    """The group-by expression of one aggregate over its dataset's rows."""
    _check_column(name, agg, agg.column, schema)
    _check_value_type(name, agg, schema[agg.column])
    mask = _where(name, agg, schema, as_of) & _in_window(name, agg, schema, as_of)
    values = pl.col(agg.column)
    if schema[agg.column].is_temporal():
        values = values.cast(pl.Date)
    return AGGREGATORS[agg.kind](values.filter(mask)).alias(name)


def _in_window(name: str, agg: AggregateSpec, schema: Mapping[str, pl.DataType], as_of: dt.date) -> pl.Expr:
    """The window as a row mask, within the rows that existed on as_of (:func:`existed`)."""
    mask = existed(agg.dataset, schema, as_of)
    if agg.parsed_window.unit == "all" and agg.date is None:
        return mask
    column = agg.date_column
    _check_column(name, agg, column, schema, window=True)
    _check_date(name, agg, column, schema[column])
    return mask & window_mask(agg.parsed_window, pl.col(column).cast(pl.Date), as_of)


def existed(dataset: str, schema: Mapping[str, pl.DataType], as_of: dt.date) -> pl.Expr:
    """Rows of a catalog dataset dated by its own date column after as_of did not exist yet.

    An order placed, an invoice issued, a complaint or visit recorded after as_of never
    counts, whichever column ``date:`` names; rows without that date do.
    """
    column = DATE_COLUMNS.get(dataset)
    if column is None or column not in schema or not schema[column].is_temporal():
        return pl.lit(True)
    return window_mask(Window("all"), pl.col(column).cast(pl.Date), as_of)


def _error(name: str, problem: Text, suggestion: Text | None = None) -> LedgerError:
    """An error about the aggregate ``name`` of rules/metrics.yaml."""
    return LedgerError(msg("aggregates.problem", name=name, problem=problem), file=FILE, suggestion=suggestion)


def _check_column(name: str, agg: AggregateSpec, column: str, schema: Mapping[str, pl.DataType],
                  window: bool = False) -> None:
    """``window``: the column is the date column of the aggregate's window."""
    if column not in schema or column in INTERNAL:
        columns = [c for c in schema if c not in INTERNAL]
        problem = (msg("aggregates.no_date_column", dataset=agg.dataset, column=column) if window
                   else msg("aggregates.no_column", dataset=agg.dataset, column=column))
        raise _error(name, problem, did_you_mean(column, columns) or msg("metrics.map_it", dataset=agg.dataset))


def _check_value_type(name: str, agg: AggregateSpec, dtype: pl.DataType) -> None:
    column = f"{agg.dataset}.{agg.column}"
    if agg.kind in ("sum", "mean") and not dtype.is_numeric():
        raise _error(name, msg("aggregates.not_number", column=column, kind=agg.kind),
                     msg("aggregates.not_number.hint"))
    if agg.kind in ("min", "max"):
        if not (dtype.is_numeric() or dtype.is_temporal()):
            raise _error(name, msg("aggregates.not_number_or_date", column=column, kind=agg.kind),
                         msg("aggregates.count_or_distinct"))
        if dtype.is_temporal() and agg.result_type != "date":
            raise _error(name, msg("aggregates.holds_dates", column=column, type=agg.result_type),
                         msg("aggregates.holds_dates.hint", name=name))
        if not dtype.is_temporal() and agg.result_type == "date":
            raise _error(name, msg("aggregates.no_dates", column=column, type=agg.result_type),
                         msg("aggregates.no_dates.hint", name=name))


def _check_date(name: str, agg: AggregateSpec, column: str, dtype: pl.DataType) -> None:
    if not dtype.is_temporal():
        raise _error(name, msg("aggregates.window_not_date", column=f"{agg.dataset}.{column}"),
                     msg("aggregates.window_not_date.hint", dataset=agg.dataset, column=column))


def field_types(schema: Mapping[str, pl.DataType]) -> dict[str, str]:
    """kamrules types of a dataset's columns, for type-checking ``where`` conditions."""
    types = {"as_of": "date"}
    for column, dtype in schema.items():
        if dtype.is_integer():
            types[column] = "integer"
        elif dtype.is_numeric():
            types[column] = "number"
        elif dtype.is_temporal():
            types[column] = "date"
        elif dtype == pl.Boolean:
            types[column] = "bool"
        elif dtype == pl.String:
            types[column] = "text"
    return types


def _where(name: str, agg: AggregateSpec, schema: Mapping[str, pl.DataType], as_of: dt.date) -> pl.Expr:
    """The ``where`` condition as a row mask (a missing value is no match)."""
    if agg.where is None:
        return pl.lit(True)
    columns = [c for c in schema if c not in INTERNAL]

    def resolve(column: str) -> pl.Expr:
        if column in columns:
            return pl.col(column)
        if column == "as_of":
            return pl.lit(as_of)
        raise _error(name, msg("aggregates.where", problem=msg("aggregates.no_column", dataset=agg.dataset,
                                                                column=column)),
                     did_you_mean(column, columns + ["as_of"]))

    node, types = parse(agg.where), field_types(schema)
    condition = compile_expression(node, resolve, source=agg.where, field_types=types)
    problem = check_condition(node, types)
    if problem:
        raise _error(name, msg("aggregates.where", problem=problem))
    return condition.fill_null(False)
