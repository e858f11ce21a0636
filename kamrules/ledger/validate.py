"""Checks across sheets and files: duplicate keys and references between datasets.

A key seen twice with identical content (the same export dropped twice, overlapping
exports) is skipped as a duplicate; with different content it is a conflict and the later
row is rejected, naming the first row and the first column that differs.
"""

from __future__ import annotations

import polars as pl

from ..errors import Issue
from ..i18n import msg
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
                row[FILE], row[SHEET], row[ROW], None, None, msg("ledger.repeated_row", origin=_origin(origin)),
                "duplicate_row", "skipped", name, msg("ledger.repeated_row.hint")))
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
            origin = _origin(first)
            column = ledger.header(row[FILE], row[SHEET], keys[0], spec)
            if differs is None:
                ledger.issues.append(Issue(row[FILE], row[SHEET], row[ROW], column, value,
                                           msg("ledger.duplicate", origin=origin), "duplicate_row", "skipped",
                                           name))
                ledger.stats[name].rows_skipped += 1
            else:
                labels = "/".join(_label(ledger, row, k, spec, datasets) for k in keys)
                ledger.issues.append(Issue(
                    row[FILE], row[SHEET], row[ROW], column, value,
                    msg("ledger.key_conflict", origin=origin, keys=labels, value=value,
                        column=ledger.header(row[FILE], row[SHEET], differs, spec), new=str(row[differs]),
                        old=str(first[differs])),
                    "key_conflict", "error", name, msg("ledger.key_conflict.hint")))
                ledger.stats[name].rows_rejected += 1
        if later.height:
            ledger.datasets[name] = marked.filter(pl.col("_n") == 0).drop("_n", "_first")


def _label(ledger, row: dict, column: str, spec: DatasetSpec, datasets: dict[str, DatasetSpec]) -> str:
    """How a person knows a column: its title in rules/ledger.yaml, else the title of the column
    it references, else its header in that file."""
    own = spec.columns[column]
    if own.title:
        return own.title
    if own.references:
        target, target_column = own.references.split(".")
        found = datasets.get(target)
        if found is not None and target_column in found.columns and found.columns[target_column].title:
            return found.columns[target_column].title
    return ledger.header(row[FILE], row[SHEET], column, spec)


def _origin(first: dict):
    """Where the first of two equal rows is: ``file, sheet S, row N``."""
    return msg("ledger.origin", file=first[FILE], sheet=first[SHEET], row=first[ROW])


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
                    str(row[column]), msg("ledger.unknown_reference", value=str(row[column]), dataset=title,
                                          column=_label(ledger, row, column, spec, datasets)),
                    "unknown_reference", "error", name, msg("ledger.unknown_reference.hint", dataset=title)))
            if bad.height:
                ledger.stats[name].rows_rejected += bad.height
                frame = frame.filter(~unknown)
                ledger.datasets[name] = frame
