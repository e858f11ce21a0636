"""What reading one input file gives: its sheets as matched, its rows per dataset, its issues.

A :class:`FileRead` is the unit the cache keeps (:mod:`kamrules.ledger.cache`): everything the
ledger needs from a file without opening it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from ..errors import Issue
from .headers import HeaderMatch


@dataclass
class InputFile:
    name: str
    sha256: str
    size: int


@dataclass
class DatasetStats:
    """Rows read = used + rejected + skipped (totals rows, duplicates, filtered)."""

    rows_read: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    title: str | None = None  # the dataset's title in rules/ledger.yaml, for people
    derived_from: str | None = None  # no sheet: made from this dataset (its title)
    rows_derived: int = 0  # ... with this many rows

    @property
    def rows_used(self) -> int:
        return self.rows_read - self.rows_rejected - self.rows_skipped


@dataclass
class SheetRecord:
    """A sheet of the file and what it was read as (dataset None: nothing). ``head`` is its
    first rows, enough to match it again (the header search rows): kept for every sheet, so a
    cached file can be checked against a changed mapping without being parsed."""

    sheet: str
    dataset: str | None
    header: HeaderMatch | None
    head: pl.DataFrame


@dataclass
class FileRead:
    file: InputFile
    sheets: list[SheetRecord] = field(default_factory=list)
    stats: dict[str, DatasetStats] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    frames: dict[str, pl.DataFrame | pl.LazyFrame] = field(default_factory=dict)  # dataset -> the file's rows
    specs: dict[str, str] = field(default_factory=dict)  # dataset -> digest of the mapping it was read with
    # dataset without a key -> one row hash per row of its frame (column ``_hash``), for the
    # check for rows repeated across files (kamrules.ledger.validate.check_repeated_files)
    hashes: dict[str, pl.DataFrame | pl.LazyFrame] = field(default_factory=dict)
