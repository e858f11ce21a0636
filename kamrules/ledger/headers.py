"""Find the header row of a sheet and map its columns to dataset fields.

Ledgers often carry a title row (or several) above the header, so the header is the row,
among the first ``header_search_rows``, that matches the most aliases.

Matching compares headers after normalising them (:func:`normalise`): full-width forms become
ordinary ones, case is ignored, and so are spaces, ``*`` required-markers and punctuation
(``_ - . : ; , / \\ | # ' "`` and brackets): ``Customer.ID``, ``customer_id`` and
``Customer ID`` are one header. A word that marks an identifier — ``ID``, ``No.``, ``Nr.``,
``Number``, ``#`` — counts as ``id``, so ``Customer No.`` and ``CustomerID`` match
``customer id``; a ``#`` after Chinese is dropped (``客户编号#`` is ``客户编号``). A trailing unit
in brackets may be left out: ``金额（元）`` matches ``金额``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import polars as pl

from .config import DatasetSpec, alias_clashes
from .normal import header_keys, normalise, word_tokens

__all__ = ["HeaderMatch", "alias_clashes", "alias_map", "closest_header", "find_header", "first_row_cells",
           "header_keys", "normalise", "sheet_name_matches"]


@dataclass
class HeaderMatch:
    row_index: int  # 0-based index in the grid; Excel row = row_index + 1
    columns: dict[str, str] = field(default_factory=dict)  # field -> grid column
    headers: dict[str, str] = field(default_factory=dict)  # field -> header text in the file
    duplicates: dict[str, str] = field(default_factory=dict)  # field -> ignored second header
    cells: list[str] = field(default_factory=list)  # every non-empty header cell, as written

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
            match.cells.append(str(cell).strip())
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


def first_row_cells(grid: pl.DataFrame, search_rows: int) -> list[str]:
    """The texts of the first non-empty row among the first ``search_rows``: what a person
    takes for the headers when none of them is recognised."""
    for row in grid.head(search_rows).iter_rows():
        cells = [str(c).strip() for c in row if c is not None and str(c).strip()]
        if cells:
            return cells
    return []


def closest_header(name: str, aliases: list[str], headers: list[str], cutoff: float = 0.7) -> str | None:
    """The header among ``headers`` most like the column ``name`` or one of its aliases, or
    None when none is close. Compared normalised: a header containing an alias (or contained in
    one) scores 0.8, one sharing a word of three letters or more (``InvoiceDate`` and
    ``order date``) 0.7, else the similarity of the two texts; ``cutoff`` is the least score."""
    wanted = [a for a in [name, *aliases] if normalise(a)]
    best, best_score = None, cutoff
    for header in headers:
        key = normalise(header)
        if not key:
            continue
        score = max((_likeness(alias, header) for alias in wanted), default=0.0)
        if score > best_score or (best is None and score >= best_score):
            best, best_score = header, score
    return best


def _likeness(alias: str, header: str) -> float:
    a, b = normalise(alias), normalise(header)
    score = difflib.SequenceMatcher(None, a, b).ratio()
    if len(a) >= 2 and len(b) >= 2 and (a in b or b in a):
        score = max(score, 0.8)
    if word_tokens(alias) & word_tokens(header):
        score = max(score, 0.7)
    return score


def sheet_name_matches(sheet: str, spec: DatasetSpec, dataset: str) -> bool:
    keys = set(header_keys(sheet))
    return any(k in keys for alias in [dataset, *spec.sheets] for k in header_keys(alias))
