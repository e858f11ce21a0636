"""Datasets built from another one when no sheet provides them.

An ERP export often has only order lines: then customers are the distinct customer ids of
the orders (``derive: {from: orders, name: customer_name}``), named by the first non-empty
name the orders give, else by the id. Every other customer column is empty.
"""

from __future__ import annotations

import polars as pl

from ..errors import Issue, LedgerError
from ..i18n import msg
from ..types import POLARS_TYPES
from .config import DatasetSpec
from .rows import FILE, ROW, SHEET


def derive(name: str, spec: DatasetSpec, datasets: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, Issue]:
    source_name = spec.derive.from_
    source = datasets.get(source_name)
    keys = spec.key_columns
    if source is None or len(keys) != 1 or keys[0] not in source.columns:
        raise LedgerError(msg("ledger.derive.impossible", name=name, source=source_name,
                              column=keys[0] if keys else msg("ledger.derive.key")),
                          file="rules/ledger.yaml", suggestion=msg("ledger.derive.impossible.hint", name=name))
    key = keys[0]
    label = pl.col(spec.derive.name) if spec.derive.name and spec.derive.name in source.columns else pl.lit(None)
    ordered = source.sort(FILE, SHEET, ROW).filter(pl.col(key).is_not_null())
    frame = ordered.group_by(key, maintain_order=True).agg(label.drop_nulls().first().alias("_name"))
    columns = []
    for column, column_spec in spec.columns.items():
        if column == key:
            continue
        if column == "name":
            columns.append(pl.coalesce(pl.col("_name").cast(pl.String), pl.col(key)).alias("name"))
        else:
            columns.append(pl.lit(None, dtype=POLARS_TYPES[column_spec.type]).alias(column))
    frame = frame.select(pl.col(key), *columns, pl.lit(None, dtype=pl.String).alias(FILE),
                         pl.lit(None, dtype=pl.String).alias(SHEET), pl.lit(None, dtype=pl.Int64).alias(ROW))
    title = spec.title or name
    note = Issue(f"({source_name})", None, None, None, None,
                 msg("ledger.derived", title=title, count=frame.height, name=name, source=source_name),
                 "derived_dataset", "warning", name, msg("ledger.derived.hint", title=title))
    return frame, note
