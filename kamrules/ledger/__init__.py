"""Ledger stage: every workbook in ``inputs/`` → one typed Polars DataFrame per dataset.

Nothing is dropped silently: a row that cannot be used is reported as an
:class:`~kamrules.errors.Issue` (file, sheet, Excel row, header, value, reason), and a value
that could not be read in an optional column is reported as a warning and left empty.
Input files are only read, never modified.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..errors import Issue, LedgerError, ProjectError
from ..names import did_you_mean
from ..types import POLARS_TYPES
from .coerce import clean_text, coerce
from .config import DatasetSpec, LedgerSettings
from .headers import HeaderMatch, find_header, sheet_name_matches
from .readers import RawSheet, reader_for

__all__ = ["Ledger", "InputFile", "read_ledger", "input_files"]

ROW, FILE, SHEET = "_row", "_file", "_sheet"


@dataclass
class InputFile:
    name: str
    sha256: str
    size: int


@dataclass
class DatasetStats:
    rows_read: int = 0
    rows_rejected: int = 0

    @property
    def rows_used(self) -> int:
        return self.rows_read - self.rows_rejected


@dataclass
class Ledger:
    datasets: dict[str, pl.DataFrame]
    issues: list[Issue] = field(default_factory=list)
    files: list[InputFile] = field(default_factory=list)
    stats: dict[str, DatasetStats] = field(default_factory=dict)
    headers: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (file, sheet) -> field -> header

    def header(self, file: str, sheet: str, column: str, spec: DatasetSpec) -> str:
        """The header text ``column`` had in that sheet (first alias if unknown)."""
        found = self.headers.get((file, sheet), {}).get(column)
        aliases = spec.columns[column].aliases
        return found or (aliases[0] if aliases else column)

    @property
    def rejected_rows(self) -> int:
        return sum(s.rows_rejected for s in self.stats.values())


def input_files(inputs: Path, settings: LedgerSettings) -> list[Path]:
    """Spreadsheets in ``inputs/`` (not sub-folders); Excel lock files and hidden files skipped."""
    if not inputs.is_dir():
        raise ProjectError("no inputs/ folder", path=str(inputs),
                           suggestion="create inputs/ and put the ledger workbooks in it")
    return sorted(p for p in inputs.iterdir()
                  if p.is_file() and p.suffix.lower() in settings.extensions
                  and not p.name.startswith(("~$", ".")))


def read_ledger(inputs: Path, datasets: dict[str, DatasetSpec], settings: LedgerSettings,
                display_root: Path | None = None) -> Ledger:
    paths = input_files(inputs, settings)
    if not paths:
        raise ProjectError("inputs/ has no spreadsheets (.xlsx .xlsm .xls .csv)", path=str(inputs),
                           suggestion="copy the ledger workbooks into inputs/")
    ledger = Ledger({}, stats={name: DatasetStats() for name in datasets})
    parts: dict[str, list[pl.DataFrame]] = {name: [] for name in datasets}
    for path in paths:
        name = path.relative_to(display_root).as_posix() if display_root else path.name
        data = path.read_bytes()
        ledger.files.append(InputFile(name, hashlib.sha256(data).hexdigest(), len(data)))
        for sheet in reader_for(path).sheets(path, name):
            _read_sheet(sheet, datasets, settings, ledger, parts)
    for name, spec in datasets.items():
        if not parts[name]:
            if spec.required:
                raise LedgerError(f"no sheet found for the required dataset {name!r}", file=str(inputs.name),
                                  suggestion=f"name a sheet {' or '.join(spec.sheets or [name])}, or map its "
                                             f"headers in rules/ledger.yaml (datasets.{name})")
            continue
        ledger.datasets[name] = pl.concat(parts[name], how="diagonal_relaxed")
    _check_keys(ledger, datasets)
    _check_references(ledger, datasets)
    ledger.issues.sort(key=lambda i: (i.file, i.sheet or "", i.row or 0))
    return ledger


def _read_sheet(sheet: RawSheet, datasets: dict[str, DatasetSpec], settings: LedgerSettings,
                ledger: Ledger, parts: dict[str, list[pl.DataFrame]]) -> None:
    if sheet.grid.height == 0:
        return
    named = [d for d, spec in datasets.items() if sheet_name_matches(sheet.sheet, spec, d)]
    if named:
        dataset = named[0]
        header = find_header(sheet.grid, datasets[dataset], settings.header_search_rows)
        _require_columns(sheet, dataset, datasets[dataset], header)
    else:
        dataset, header = _match_by_headers(sheet, datasets, settings)
        if dataset is None:
            ledger.issues.append(Issue(sheet.file, sheet.sheet, None, None, None,
                                       "sheet not used: its name and headers match no dataset in rules/ledger.yaml",
                                       "sheet_ignored", "warning"))
            return
    ledger.headers[(sheet.file, sheet.sheet)] = header.headers
    frame, issues, read = _type_rows(sheet, dataset, datasets[dataset], header, settings)
    ledger.issues.extend(issues)
    ledger.stats[dataset].rows_read += read
    ledger.stats[dataset].rows_rejected += read - frame.height
    parts[dataset].append(frame)


def _match_by_headers(sheet: RawSheet, datasets: dict[str, DatasetSpec], settings: LedgerSettings):
    best, best_header = None, None
    for name, spec in datasets.items():
        header = find_header(sheet.grid, spec, settings.header_search_rows)
        if header is None or header.missing(spec) or len(header.columns) < 2:
            continue
        if best_header is None or len(header.columns) > len(best_header.columns):
            best, best_header = name, header
    return best, best_header


def _require_columns(sheet: RawSheet, dataset: str, spec: DatasetSpec, header: HeaderMatch | None) -> None:
    missing = header.missing(spec) if header else [n for n, c in spec.columns.items() if c.required]
    if not missing:
        return
    column = spec.columns[missing[0]]
    found = [str(v) for v in sheet.grid.row(header.row_index) if v is not None] if header else []
    hint = did_you_mean(column.aliases[0] if column.aliases else missing[0], found)
    expected = " / ".join(column.aliases or [missing[0]])
    raise LedgerError(
        f"sheet looks like dataset {dataset!r} but has no column for {missing[0]!r} (expected a header {expected})",
        file=sheet.file, sheet=sheet.sheet, row=header.excel_row if header else None,
        suggestion=(f"{hint} If so, add that header to datasets.{dataset}.columns.{missing[0]}.aliases "
                    "in rules/ledger.yaml" if hint else
                    f"add the column, or add the sheet's header text to datasets.{dataset}.columns."
                    f"{missing[0]}.aliases in rules/ledger.yaml"))


def _type_rows(sheet: RawSheet, dataset: str, spec: DatasetSpec, header: HeaderMatch,
               settings: LedgerSettings) -> tuple[pl.DataFrame, list[Issue], int]:
    """Coerce every mapped column; returns (kept rows, issues, data rows read)."""
    grid = sheet.grid.with_row_index(ROW, offset=1).slice(header.row_index + 1)
    mapped = {name: clean_text(pl.col(col)) for name, col in header.columns.items()}
    grid = grid.select(pl.col(ROW).cast(pl.Int64), *[e.alias(n) for n, e in mapped.items()])
    grid = grid.filter(pl.any_horizontal([pl.col(n).is_not_null() for n in mapped]))
    typed, errors, rejecting = [], [], []
    for name, column in spec.columns.items():
        if name not in mapped:
            typed.append(pl.lit(None, dtype=POLARS_TYPES[column.type]).alias(name))
            continue
        value, error = coerce(pl.col(name), column, settings.date_order)
        if column.required:
            error = pl.coalesce(error, pl.when(pl.col(name).is_null()).then(pl.lit("required value is missing")))
        fatal = column.required or name in spec.key_columns or column.references is not None
        typed.append(pl.when(error.is_null()).then(value).otherwise(None).alias(name))
        errors.append(error.alias("_e_" + name))
        if fatal:
            rejecting.append("_e_" + name)
    checked = grid.with_columns(errors)
    issues = _cell_issues(checked, sheet, dataset, spec, header, rejecting)
    reject = pl.any_horizontal([pl.col(c).is_not_null() for c in rejecting]) if rejecting else pl.lit(False)
    kept = checked.filter(~reject).select(
        *typed, pl.lit(sheet.file).alias(FILE), pl.lit(sheet.sheet).alias(SHEET), pl.col(ROW))
    return kept, issues, grid.height


def _cell_issues(checked: pl.DataFrame, sheet: RawSheet, dataset: str, spec: DatasetSpec,
                 header: HeaderMatch, rejecting: list[str]) -> list[Issue]:
    issues = []
    for name in header.columns:
        error_col = "_e_" + name
        if error_col not in checked.columns:
            continue
        bad = checked.filter(pl.col(error_col).is_not_null()).select(ROW, name, error_col)
        severity = "error" if error_col in rejecting else "warning"
        suffix = "" if severity == "error" else " (value left empty, row kept)"
        allowed = spec.columns[name].values
        for row, value, message in bad.iter_rows():
            hint = did_you_mean(value, allowed) if allowed and value is not None else None
            text = f"{message} — {hint}" if hint else message
            issues.append(Issue(sheet.file, sheet.sheet, row, header.headers[name], value,
                                text + suffix, _code(message), severity, dataset))
    return issues


def _code(message: str) -> str:
    for prefix, code in (("required", "missing_value"), ("not a valid date", "bad_date"),
                         ("ambiguous date", "ambiguous_date"), ("not one of", "bad_enum"),
                         ("below", "out_of_range"), ("above", "out_of_range")):
        if message.startswith(prefix):
            return code
    return "bad_value"


def _check_keys(ledger: Ledger, datasets: dict[str, DatasetSpec]) -> None:
    for name, spec in datasets.items():
        frame = ledger.datasets.get(name)
        keys = spec.key_columns
        if frame is None or not keys:
            continue
        first = pl.struct(FILE, SHEET, ROW).first().over(keys)
        marked = frame.with_columns(pl.int_range(pl.len()).over(keys).alias("_dup"), first.alias("_first"))
        dups = marked.filter(pl.col("_dup") > 0)
        for row in dups.iter_rows(named=True):
            origin = row["_first"]
            value = ", ".join(str(row[k]) for k in keys)
            ledger.issues.append(Issue(
                row[FILE], row[SHEET], row[ROW], ledger.header(row[FILE], row[SHEET], keys[0], spec), value,
                f"duplicate {'/'.join(keys)} {value} (first seen at {origin[FILE]}, sheet {origin[SHEET]}, "
                f"row {origin[ROW]}); this row was not used", "duplicate_key", "error", name))
        if dups.height:
            ledger.stats[name].rows_rejected += dups.height
            ledger.datasets[name] = marked.filter(pl.col("_dup") == 0).drop("_dup", "_first")


def _check_references(ledger: Ledger, datasets: dict[str, DatasetSpec]) -> None:
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
            target_title = datasets[target_name].title or target_name
            known = target.get_column(target_column).drop_nulls().unique()
            unknown = pl.col(column).is_not_null() & ~pl.col(column).is_in(known.implode())
            bad = frame.filter(unknown)
            for row in bad.iter_rows(named=True):
                ledger.issues.append(Issue(
                    row[FILE], row[SHEET], row[ROW], ledger.header(row[FILE], row[SHEET], column, spec),
                    str(row[column]),
                    f"unknown {column} {row[column]}: not in {target_title}; this row was not used "
                    f"(add it to {target_title} or correct it)", "unknown_reference", "error", name))
            if bad.height:
                ledger.stats[name].rows_rejected += bad.height
                ledger.datasets[name] = frame.filter(~unknown)
