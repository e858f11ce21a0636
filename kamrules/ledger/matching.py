"""Which dataset a sheet is, and where its header row is.

A sheet named like a dataset (``sheets:`` in ledger.yaml) is that dataset, and must have its
required columns; any other sheet is the dataset whose headers it matches best (every
required column and at least two columns), or nothing. Only the first ``header_search_rows``
rows are looked at, so the cache can match a sheet again from those rows alone.
"""

from __future__ import annotations

import hashlib

import polars as pl

from ..errors import LedgerError
from ..i18n import msg
from .config import DatasetSpec, LedgerSettings
from .headers import HeaderMatch, closest_header, find_header, first_row_cells, sheet_name_matches


def match_sheet(file: str, sheet: str, grid: pl.DataFrame, datasets: dict[str, DatasetSpec],
                settings: LedgerSettings) -> tuple[str | None, HeaderMatch | None]:
    """The dataset and header of a non-empty sheet; (None, None) when it is none of them.
    A sheet named for a dataset without one of its required columns raises LedgerError."""
    named = [d for d, spec in datasets.items() if sheet_name_matches(sheet, spec, d)]
    if named:
        dataset = named[0]
        header = find_header(grid, datasets[dataset], settings.header_search_rows)
        _require_columns(file, sheet, grid, dataset, datasets[dataset], header, settings)
        return dataset, header
    return _match_by_headers(grid, datasets, settings)


def spec_digest(spec: DatasetSpec) -> str:
    """What of a dataset's mapping shapes its rows (not its title, nor how it is derived)."""
    text = spec.model_dump_json(exclude={"title", "derive"})
    return hashlib.sha256(text.encode()).hexdigest()


def _match_by_headers(grid: pl.DataFrame, datasets: dict[str, DatasetSpec], settings: LedgerSettings):
    best, best_header = None, None
    for name, spec in datasets.items():
        header = find_header(grid, spec, settings.header_search_rows)
        if header is None or header.missing(spec) or len(header.columns) < 2:
            continue
        if best_header is None or len(header.columns) > len(best_header.columns):
            best, best_header = name, header
    return best, best_header


def _require_columns(file: str, sheet: str, grid: pl.DataFrame, dataset: str, spec: DatasetSpec,
                     header: HeaderMatch | None, settings: LedgerSettings) -> None:
    missing = header.missing(spec) if header else [n for n, c in spec.columns.items()
                                                   if c.required and c.read_from_sheet]
    if not missing:
        return
    column = spec.columns[missing[0]]
    found = header.cells if header else first_row_cells(grid, settings.header_search_rows)
    near = closest_header(missing[0], column.aliases, found)
    taken = {text: field for field, text in header.headers.items()} if header else {}
    tried = " / ".join(column.aliases or [missing[0]])
    seen = (msg("ledger.missing_column.header_row", headers=", ".join(found)) if found
            else msg("ledger.missing_column.no_header"))
    where = {"dataset": dataset, "column": missing[0]}
    if near is not None and near in taken:
        suggestion = msg("ledger.missing_column.taken", header=near, other=taken[near], **where)
    elif near is not None:
        suggestion = msg("ledger.missing_column.did_you_mean", header=near, **where)
    else:
        suggestion = msg("ledger.missing_column.hint", **where)
    raise LedgerError(
        msg("ledger.missing_column", tried=tried, seen=seen, **where),
        file=file, sheet=sheet, row=header.excel_row if header else None, suggestion=suggestion)
