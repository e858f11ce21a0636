"""Checks across sheets and files: duplicate keys and references between datasets.

A key seen twice with identical content (the same export dropped twice, overlapping
exports) is skipped as a duplicate; with different content it is a conflict and the later
row is rejected, naming the first row and the first column that differs.

The rows may be far more than fit in memory (:mod:`kamrules.ledger.datasets`): each check
reads the columns it compares and where each row is, and only the rows it found are read whole.
"""

from __future__ import annotations

import polars as pl

from ..errors import Issue
from ..i18n import msg
from .config import DatasetSpec
from .datasets import HASH, INTERNAL, PART, POS
from .rows import FILE, ROW, SHEET


def _content(ledger, name: str) -> list[str]:
    return [c for c in ledger.datasets.lazy(name).collect_schema().names() if c not in INTERNAL]


def _whole_rows(ledger, name: str, where: pl.DataFrame) -> pl.DataFrame:
    """The rows at ``where`` (PART, POS), whole, in ledger order."""
    frames = []
    for index, part in enumerate(ledger.datasets.parts(name)):
        positions = where.filter(pl.col(PART) == index).get_column(POS)
        if positions.len():
            wanted = part.located(index, [pl.all().exclude(POS)]).filter(pl.col(POS).is_in(positions.implode()))
            frames.append(wanted.collect(engine="streaming"))
    return pl.concat(frames, how="diagonal_relaxed").sort(PART, POS)


def check_repeated_files(ledger, datasets: dict[str, DatasetSpec]) -> None:
    """Datasets without a key (order lines): a row identical to one from *another* file is the
    same export dropped twice, or overlapping exports; it is skipped, not counted twice.

    Rows are compared by a hash of their content first; only rows whose hash occurs in two
    files are read whole and compared value by value."""
    for name, spec in datasets.items():
        if name not in ledger.datasets or spec.key_columns or ledger.datasets.files(name) < 2:
            continue
        content = _content(ledger, name)
        hashed = ledger.datasets.located_hashes(name, content).collect()
        # hashes seen twice, found by sorting (cheaper than a hash table of every row), then only
        # those rows grouped to see whether the twice is in two files
        ordered = hashed.get_column(HASH).sort()
        twice = ordered.filter(ordered == ordered.shift(1))
        if twice.is_empty():
            continue
        hashed = hashed.filter(pl.col(HASH).is_in(twice.unique().implode()))
        shared = hashed.group_by(HASH).agg(pl.col(PART).n_unique().alias("_files")).filter(pl.col("_files") > 1)
        if shared.is_empty():
            continue
        candidates = _whole_rows(ledger, name, hashed.join(shared.select(HASH), on=HASH, how="semi"))
        del hashed
        first = pl.struct(FILE, SHEET, ROW).first().over(content)
        marked = candidates.with_columns(first.alias("_first"))
        repeated = marked.filter(pl.col("_first").struct.field(FILE) != pl.col(FILE))
        for row in repeated.iter_rows(named=True):
            origin = row["_first"]
            ledger.issues.append(Issue(
                row[FILE], row[SHEET], row[ROW], None, None, msg("ledger.repeated_row", origin=_origin(origin)),
                "duplicate_row", "skipped", name, msg("ledger.repeated_row.hint")))
        if repeated.height:
            ledger.stats[name].rows_skipped += repeated.height
            ledger.datasets.drop(name, repeated.select(PART, POS))


def check_keys(ledger, datasets: dict[str, DatasetSpec]) -> None:
    for name, spec in datasets.items():
        keys = spec.key_columns
        if name not in ledger.datasets or not keys:
            continue
        located = ledger.datasets.located(name, [*keys, FILE, SHEET, ROW]).collect().sort(PART, POS)
        marked = located.with_columns(
            pl.int_range(pl.len()).over(keys).alias("_n"),
            pl.struct(PART, POS).first().over(keys).alias("_first"))
        later = marked.filter(pl.col("_n") > 0)
        if later.is_empty():
            continue
        firsts = later.select(pl.col("_first").struct.unnest())
        whole = _whole_rows(ledger, name, pl.concat([later.select(PART, POS), firsts]).unique())
        by_place = {(row[PART], row[POS]): row for row in whole.iter_rows(named=True)}
        content = _content(ledger, name)
        for place in later.select(PART, POS, "_first").iter_rows(named=True):
            row = by_place[(place[PART], place[POS])]
            first = by_place[(place["_first"][PART], place["_first"][POS])]
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
        ledger.datasets.drop(name, later.select(PART, POS))


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
        if name not in ledger.datasets:
            continue
        for column, col_spec in spec.columns.items():
            if not col_spec.references:
                continue
            target_name, target_column = col_spec.references.split(".")
            if target_name not in ledger.datasets:
                continue
            title = datasets[target_name].title or target_name
            known = (ledger.datasets.lazy(target_name).select(pl.col(target_column).drop_nulls().unique())
                     .collect(engine="streaming"))
            unknown = pl.col(column).is_not_null() & ~pl.col(column).is_in(known.get_column(target_column).implode())
            # streamed: only the rows that fail are ever held, however many the dataset has
            bad = (ledger.datasets.located(name, [column, FILE, SHEET, ROW]).filter(unknown)
                   .collect(engine="streaming").sort(PART, POS))
            for row in bad.iter_rows(named=True):
                ledger.issues.append(Issue(
                    row[FILE], row[SHEET], row[ROW], ledger.header(row[FILE], row[SHEET], column, spec),
                    str(row[column]), msg("ledger.unknown_reference", value=str(row[column]), dataset=title,
                                          column=_label(ledger, row, column, spec, datasets)),
                    "unknown_reference", "error", name, msg("ledger.unknown_reference.hint", dataset=title)))
            if bad.height:
                ledger.stats[name].rows_rejected += bad.height
                ledger.datasets.drop(name, bad.select(PART, POS))
