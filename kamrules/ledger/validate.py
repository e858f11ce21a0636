"""Checks across sheets and files: duplicate keys and references between datasets.

A key seen twice with identical content (the same export dropped twice, overlapping
exports) is skipped as a duplicate; with different content it is a conflict and the later
row is rejected, naming the first row and the first column that differs.
"""

from __future__ import annotations

import polars as pl

from ..errors import Issue
from .config import DatasetSpec
from .rows import FILE, ROW, SHEET

INTERNAL = (FILE, SHEET, ROW)


def check_repeated_files(ledger, datasets: dict[str, DatasetSpec]) -> None:
    """Datasets without a key (order lines): a row identical to one from *another* file is the
    same export dropped twice, or overlapping exports; it is skipped, not counted twice."""
    for name, spec in datasets.items():
        frame = ledger.datasets.get(name)
        if frame is None or spec.key_columns or frame.is_empty() or frame.get_column(FILE).n_unique() < 2:
            continue
        content = [c for c in frame.columns if c not in INTERNAL]
        first = pl.struct(FILE, SHEET, ROW).first().over(content)
        marked = frame.with_columns(first.alias("_first"))
        repeated = marked.filter(pl.col("_first").struct.field(FILE) != pl.col(FILE))
        for row in repeated.iter_rows(named=True):
            origin = row["_first"]
            ledger.issues.append(Issue(
                row[FILE], row[SHEET], row[ROW], None, None,
                f"same row as {origin[FILE]}, sheet {origin[SHEET]}, row {origin[ROW]} (another file); not counted twice",
                "duplicate_row", "skipped", name, "remove one of the overlapping files from inputs/"))
        if repeated.height:
            ledger.stats[name].rows_skipped += repeated.height
            ledger.datasets[name] = marked.filter(pl.col("_first").struct.field(FILE) == pl.col(FILE)).drop("_first")


def check_keys(ledger, datasets: dict[str, DatasetSpec]) -> None:
    for name, spec in datasets.items():
        frame = ledger.datasets.get(name)
        keys = spec.key_columns
        if frame is None or not keys or frame.is_empty():
            continue
        content = [c for c in frame.columns if c not in INTERNAL]
        marked = frame.with_columns(
            pl.int_range(pl.len()).over(keys).alias("_n"),
            pl.struct(FILE, SHEET, ROW, *content).first().over(keys).alias("_first"))
        later = marked.filter(pl.col("_n") > 0)
        for row in later.iter_rows(named=True):
            first = row["_first"]
            differs = next((c for c in content if row[c] != first[c]), None)
            value = ", ".join(str(row[k]) for k in keys)
            origin = f"{first[FILE]}, sheet {first[SHEET]}, row {first[ROW]}"
            column = ledger.header(row[FILE], row[SHEET], keys[0], spec)
            if differs is None:
                ledger.issues.append(Issue(row[FILE], row[SHEET], row[ROW], column, value,
                                           f"duplicate of {origin} (same content)", "duplicate_row", "skipped",
                                           name))
                ledger.stats[name].rows_skipped += 1
            else:
                ledger.issues.append(Issue(
                    row[FILE], row[SHEET], row[ROW], column, value,
                    f"conflicts with {origin}: same {'/'.join(keys)} {value}, different "
                    f"{ledger.header(row[FILE], row[SHEET], differs, spec)} ({row[differs]!s} vs {first[differs]!s})",
                    "key_conflict", "error", name,
                    "keep one of the two rows at the source (or give them different ids)"))
                ledger.stats[name].rows_rejected += 1
        if later.height:
            ledger.datasets[name] = marked.filter(pl.col("_n") == 0).drop("_n", "_first")


def check_references(ledger, datasets: dict[str, DatasetSpec]) -> None:
    for name, spec in datasets.items():
        frame = ledger.datasets.get(name)
        if frame is None:
            continue
        for column, col_spec in spec.columns.items():
            if not col_spec.references:
                continue
            target_name, target_column = col_spec.references.split(".")
            target = ledger.datasets.get(target_name)
            if target is None:
                continue
            title = datasets[target_name].title or target_name
            known = target.get_column(target_column).drop_nulls().unique()
            unknown = pl.col(column).is_not_null() & ~pl.col(column).is_in(known.implode())
            bad = frame.filter(unknown)
            for row in bad.iter_rows(named=True):
                ledger.issues.append(Issue(
                    row[FILE], row[SHEET], row[ROW], ledger.header(row[FILE], row[SHEET], column, spec),
                    str(row[column]), f"unknown {column} {row[column]}: not in {title}; this row was not used",
                    "unknown_reference", "error", name, f"add it to {title} or correct it"))
            if bad.height:
                ledger.stats[name].rows_rejected += bad.height
                frame = frame.filter(~unknown)
                ledger.datasets[name] = frame
