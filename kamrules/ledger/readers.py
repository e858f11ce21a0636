"""Readers: one per file format, each yielding every sheet as a grid of text cells.

A :class:`RawSheet` keeps the sheet exactly as a person sees it: column ``c0`` is the
first used column, and row ``i`` of the frame is Excel row ``i + 1`` (leading empty rows
are kept, so row numbers in messages match what Excel shows). Every cell is text; typing
happens later, in :mod:`kamrules.ledger.coerce`, where failures can be reported per cell.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import polars as pl

from ..errors import LedgerError
from .xlsx_inspect import SheetFacts, inspect_workbook


@dataclass
class RawSheet:
    file: str
    sheet: str
    grid: pl.DataFrame  # all String columns c0..cN; frame row i = sheet row i + 1
    hidden: bool = False
    facts: Optional[SheetFacts] = None  # hidden rows, formulas without a saved result (.xlsx/.xlsm)


class SheetReader:
    """Base class: ``sheets(path, name)`` yields every sheet of one file."""

    extensions: tuple[str, ...] = ()

    def sheets(self, path: Path, name: str) -> Iterator[RawSheet]:
        raise NotImplementedError

    @staticmethod
    def _normalise(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.rename({old: f"c{i}" for i, old in enumerate(frame.columns)})


class ExcelReader(SheetReader):
    """.xlsx / .xlsm / .xls through fastexcel (calamine): cached formula values, dates as text."""

    extensions = (".xlsx", ".xlsm", ".xls")

    def sheets(self, path: Path, name: str) -> Iterator[RawSheet]:
        import fastexcel

        try:
            reader = fastexcel.read_excel(str(path))
        except Exception as exc:  # fastexcel raises its own hierarchy; any failure = unreadable
            raise LedgerError(f"cannot open workbook: {_short(exc)}", file=name,
                              suggestion="check that it is a real Excel file (not renamed), not "
                                         "password-protected, and fully copied") from None
        facts = inspect_workbook(path) if path.suffix.lower() in (".xlsx", ".xlsm") else {}
        for sheet_name in reader.sheet_names:
            try:
                sheet = reader.load_sheet_by_name(sheet_name, header_row=None, skip_rows=0,
                                                  dtypes="string")
                grid = sheet.to_polars()
                hidden = getattr(sheet, "visible", "visible") != "visible"
            except Exception as exc:
                raise LedgerError(f"cannot read sheet: {_short(exc)}", file=name, sheet=sheet_name) from None
            yield RawSheet(name, sheet_name, self._normalise(grid), hidden, facts.get(sheet_name))


class CsvReader(SheetReader):
    """.csv in UTF-8 (with or without BOM) or GB18030/GBK, as saved by Chinese Excel.

    The encoding is decided by decoding the whole file strictly: UTF-8 first, then
    GB18030; a file that is neither is an error rather than silently garbled text.
    """

    extensions = (".csv",)
    encodings = ("utf-8-sig", "gb18030")

    def sheets(self, path: Path, name: str) -> Iterator[RawSheet]:
        data = path.read_bytes()
        text = self._decode(data, name)
        try:
            grid = pl.read_csv(io.StringIO(text), has_header=False, infer_schema=False,
                               truncate_ragged_lines=True)
        except pl.exceptions.PolarsError as exc:
            raise LedgerError(f"cannot parse CSV: {_short(exc)}", file=name) from None
        yield RawSheet(name, path.stem, self._normalise(grid))

    def _decode(self, data: bytes, name: str) -> str:
        for encoding in self.encodings:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
        raise LedgerError("text encoding is neither UTF-8 nor GBK/GB18030", file=name,
                          suggestion="open it in Excel and save as 'CSV UTF-8'")


READERS: tuple[SheetReader, ...] = (ExcelReader(), CsvReader())


def reader_for(path: Path) -> SheetReader | None:
    suffix = path.suffix.lower()
    return next((r for r in READERS if suffix in r.extensions), None)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
