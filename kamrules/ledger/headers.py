"""Find the header row of a sheet and map its columns to dataset fields.

Ledgers often carry a title row (or several) above the header, so the header is the row,
among the first ``header_search_rows``, that matches the most aliases. Matching ignores
case, spaces (including full-width), ``*`` required-markers, and a trailing unit in
parentheses: ``金额（元）`` matches ``金额``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import polars as pl

from .config import DatasetSpec

_IGNORED = re.compile(r"[\s*_\-:：]+")
_UNIT = re.compile(r"\([^()]*\)$")


def normalise(text: object) -> str:
    value = unicodedata.normalize("NFKC", str(text)).lower()
    return _IGNORED.sub("", value)


def header_keys(text: object) -> list[str]:
    key = normalise(text)
    bare = _UNIT.sub("", key)
    return [key] if bare == key or not bare else [key, bare]


@dataclass
class HeaderMatch:
    row_index: int  # 0-based index in the grid; Excel row = row_index + 1
    columns: dict[str, str] = field(default_factory=dict)  # field -> grid column
    headers: dict[str, str] = field(default_factory=dict)  # field -> header text in the file
    duplicates: dict[str, str] = field(default_factory=dict)  # field -> ignored second header

    def missing(self, spec: DatasetSpec) -> list[str]:
        return [name for name, col in spec.columns.items()
                if col.required and col.read_from_sheet and name not in self.columns]

    @property
    def excel_row(self) -> int:
        return self.row_index + 1


def alias_map(spec: DatasetSpec) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for name, column in spec.columns.items():
        if not column.read_from_sheet:
            continue
        for alias in [name, *column.aliases]:
            for key in header_keys(alias):
                mapping.setdefault(key, name)
    return mapping


def find_header(grid: pl.DataFrame, spec: DatasetSpec, search_rows: int) -> HeaderMatch | None:
    """The best header row, or None when no row matches even one column."""
    aliases = alias_map(spec)
    best: HeaderMatch | None = None
    above: tuple = ()
    for index, row in enumerate(grid.head(search_rows).iter_rows()):
        match = HeaderMatch(index)
        # A header cell merged over two rows keeps its text in the upper cell only.
        cells = [cell if cell is not None or not above else above[i] for i, cell in enumerate(row)]
        above = row
        for column, cell in zip(grid.columns, cells):
            if cell is None:
                continue
            name = next((aliases[k] for k in header_keys(cell) if k in aliases), None)
            if name is None:
                continue
            if name in match.columns:
                match.duplicates[name] = str(cell).strip()
                continue
            match.columns[name] = column
            match.headers[name] = str(cell).strip()
        if match.columns and (best is None or len(match.columns) > len(best.columns)):
            best = match
    return best


def sheet_name_matches(sheet: str, spec: DatasetSpec, dataset: str) -> bool:
    keys = set(header_keys(sheet))
    return any(k in keys for alias in [dataset, *spec.sheets] for k in header_keys(alias))
