"""The rows of every dataset, held lazily: one part per input file, with the rows that the
cross-file checks took out.

A part is a :class:`polars.LazyFrame` over the file's cached Parquet (or over the frame just
parsed, without a cache), so the whole ledger never has to be in memory at once: the metrics
stream over the parts, and the checks that need every row read only the columns they compare.
``ledger.datasets[name]`` still gives a DataFrame (collected once, then kept) for callers that
want one; the pipeline uses :meth:`Datasets.lazy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Iterator

import polars as pl

from .rows import FILE, ROW, SHEET

INTERNAL = (FILE, SHEET, ROW)
PART, POS, HASH = "_part", "_pos", "_hash"  # where a row is (part index, position in it), its content hash


@dataclass
class Part:
    """One file's rows of one dataset (``file`` None: a dataset made whole, e.g. derived).
    ``dropped`` holds the positions (0-based, in ``frame``) of the rows a check took out."""

    file: str | None
    frame: pl.LazyFrame
    dropped: pl.Series = field(default_factory=lambda: pl.Series(POS, [], dtype=pl.UInt32))
    hashes: pl.LazyFrame | None = None  # ``_hash`` of each row of ``frame``, when known (kept in the cache)

    def rows(self) -> pl.LazyFrame:
        if self.dropped.is_empty():
            return self.frame
        return self._kept(self.frame.with_row_index(POS)).drop(POS)

    def located(self, index: int, columns: list[str | pl.Expr]) -> pl.LazyFrame:
        """``columns`` of the rows still in, with the part's ``index`` and each row's position."""
        frame = self._kept(self.frame.with_row_index(POS))
        return frame.select(pl.lit(index, dtype=pl.UInt32).alias(PART), POS, *columns)

    def located_hashes(self, index: int, content: list[str]) -> pl.LazyFrame:
        """PART, POS and ``_hash`` (of ``content``) of the rows still in: the stored hashes when known."""
        if self.hashes is None:
            return self.located(index, [pl.struct(content).hash().alias(HASH)])
        frame = self._kept(self.hashes.with_row_index(POS))
        return frame.select(pl.lit(index, dtype=pl.UInt32).alias(PART), POS, HASH)

    def _kept(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        if self.dropped.is_empty():
            return frame
        return frame.filter(~pl.col(POS).is_in(self.dropped.implode()))


class Datasets(Mapping):
    """Dataset name → rows. ``[name]`` collects a DataFrame (kept for the next call);
    :meth:`lazy` and :meth:`frames` never collect."""

    def __init__(self, frames: Mapping[str, pl.DataFrame | pl.LazyFrame] | None = None):
        self._parts: dict[str, list[Part]] = {}
        self._collected: dict[str, pl.DataFrame] = {}
        for name, frame in (frames or {}).items():
            self[name] = frame

    def __getitem__(self, name: str) -> pl.DataFrame:
        if name not in self._collected:
            self._collected[name] = self.lazy(name).collect()
        return self._collected[name]

    def __setitem__(self, name: str, frame: pl.DataFrame | pl.LazyFrame) -> None:
        self._parts[name] = [Part(None, frame.lazy())]
        self._collected.pop(name, None)
        if isinstance(frame, pl.DataFrame):
            self._collected[name] = frame

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def __contains__(self, name) -> bool:
        return name in self._parts

    def add_part(self, name: str, part: Part) -> None:
        self._parts.setdefault(name, []).append(part)
        self._collected.pop(name, None)

    def parts(self, name: str) -> list[Part]:
        """The dataset's parts, one per file (one without a file for a dataset set whole)."""
        return self._parts.get(name, [])

    def lazy(self, name: str) -> pl.LazyFrame:
        parts = self._parts[name]
        if len(parts) == 1:
            return parts[0].rows()
        return pl.concat([p.rows() for p in parts], how="diagonal_relaxed")

    def get_lazy(self, name: str) -> pl.LazyFrame | None:
        return self.lazy(name) if name in self else None

    def frames(self) -> dict[str, pl.LazyFrame]:
        """Every dataset as a LazyFrame, for the metrics."""
        return {name: self.lazy(name) for name in self}

    def files(self, name: str) -> int:
        """How many files hold rows of the dataset."""
        return len({p.file for p in self.parts(name) if p.file is not None})

    def located_hashes(self, name: str, content: list[str]) -> pl.LazyFrame:
        """Every row still in: where it is, and the hash of its ``content``."""
        return pl.concat([p.located_hashes(i, content) for i, p in enumerate(self.parts(name))])

    def located(self, name: str, columns: list[str | pl.Expr]) -> pl.LazyFrame:
        """``columns`` of every row still in, with where it is (:data:`PART`, :data:`POS`)."""
        return pl.concat([p.located(i, columns) for i, p in enumerate(self.parts(name))], how="diagonal_relaxed")

    def drop(self, name: str, where: pl.DataFrame) -> None:
        """Take out the rows at ``where`` (:data:`PART`, :data:`POS`)."""
        parts = self.parts(name)
        for index, part in enumerate(parts):
            positions = where.filter(pl.col(PART) == index).get_column(POS).cast(pl.UInt32)
            if positions.len():
                part.dropped = pl.concat([part.dropped, positions]).unique().sort()
        self._collected.pop(name, None)


def row_hashes(frame: pl.DataFrame) -> pl.DataFrame:
    """One hash per row of its content (every column but where the row came from)."""
    content = [c for c in frame.columns if c not in INTERNAL]
    return frame.select(pl.struct(content).hash().alias(HASH))


def with_file(frame: pl.LazyFrame, name: str) -> pl.LazyFrame:
    """The rows as read from the file shown as ``name`` (a cached entry may have been parsed under
    another name: its content, not its name, is the key)."""
    return frame.with_columns(pl.lit(name, dtype=pl.String).alias(FILE))
