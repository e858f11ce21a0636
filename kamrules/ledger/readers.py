"""Readers: one per file format, each yielding every sheet as a grid of text cells.

A :class:`RawSheet` keeps the sheet exactly as a person sees it: column ``c0`` is the
first used column, and row ``i`` of the frame is Excel row ``i + 1`` (leading empty rows
are kept, so row numbers in messages match what Excel shows). Every cell is text; typing
happens later, in :mod:`kamrules.ledger.coerce`, where failures can be reported per cell.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import polars as pl

from ..errors import LedgerError
from ..i18n import msg
from .xlsx_inspect import SheetFacts, inspect_sheet, sheet_members


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
    """.xlsx / .xlsm / .xls through fastexcel (calamine): cached formula values, dates as text.

    calamine releases the GIL while it parses, so two background threads keep the second
    core busy: one inspects the sheets' XML (hidden rows, formulas without a saved value),
    the other reads the following sheets while the current one is being typed.
    """

    extensions = (".xlsx", ".xlsm", ".xls")

    def sheets(self, path: Path, name: str) -> Iterator[RawSheet]:
        import fastexcel

        try:
            reader = fastexcel.read_excel(str(path))
        except Exception as exc:  # fastexcel raises its own hierarchy; any failure = unreadable
            raise LedgerError(msg("ledger.cannot_open", reason=_short(exc)), file=name,
                              suggestion=msg("ledger.cannot_open.hint")) from None
        members = sheet_members(path) if path.suffix.lower() in (".xlsx", ".xlsm") else {}
        inspector = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kamrules-inspect")
        loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kamrules-load")
        try:
            facts = {sheet: inspector.submit(inspect_sheet, path, member) for sheet, member in members.items()}
            names = reader.sheet_names  # read before loading starts: the reader is not shareable while it loads
            loads = [loader.submit(_load, reader, sheet_name) for sheet_name in names]
            for sheet_name, load in zip(names, loads):
                try:
                    grid, hidden = load.result()
                except Exception as exc:
                    raise LedgerError(msg("ledger.cannot_read_sheet", reason=_short(exc)), file=name,
                                      sheet=sheet_name) from None
                found = facts.get(sheet_name)
                yield RawSheet(name, sheet_name, self._normalise(grid), hidden, found.result() if found else None)
        finally:
            loader.shutdown(wait=True, cancel_futures=True)
            inspector.shutdown(wait=True, cancel_futures=True)


def _load(reader, sheet_name: str) -> tuple[pl.DataFrame, bool]:
    sheet = reader.load_sheet_by_name(sheet_name, header_row=None, skip_rows=0, dtypes="string")
    return sheet.to_polars(), getattr(sheet, "visible", "visible") != "visible"


class CsvReader(SheetReader):
    """.csv as Chinese Excel and ERPs save it: UTF-8 (with or without BOM), GBK/GB18030, or
    UTF-16 with a BOM ("Unicode text", usually tab-separated).

    The whole file is decoded strictly: UTF-16 when it has a BOM, else UTF-8, else GB18030.
    GB18030 accepts almost any bytes, so its result must also read like Chinese (mostly the
    common characters): a Big5 or Shift-JIS file is refused instead of becoming mojibake.
    """

    extensions = (".csv",)

    def sheets(self, path: Path, name: str) -> Iterator[RawSheet]:
        text = decode_text(path.read_bytes(), name)
        first_line = text.split("\n", 1)[0]
        separator = "\t" if first_line.count("\t") > first_line.count(",") else ","
        try:
            grid = pl.read_csv(io.StringIO(text), has_header=False, infer_schema=False,
                               truncate_ragged_lines=True, separator=separator)
        except pl.exceptions.PolarsError as exc:
            raise LedgerError(msg("ledger.cannot_parse_csv", reason=_short(exc)), file=name) from None
        yield RawSheet(name, path.stem, self._normalise(grid))


def decode_text(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise LedgerError(msg("ledger.bad_utf16", byte=exc.start), file=name,
                              suggestion=msg("ledger.save_as_csv_utf8")) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and reads_like_chinese(text):
        return text
    raise LedgerError(msg("ledger.unknown_encoding"), file=name, suggestion=msg("ledger.save_as_csv_utf8"))


def reads_like_chinese(text: str, threshold: float = 0.8) -> bool:
    """Most Han characters of real Chinese text are among the 3,755 most common (GB2312 level 1):
    0.999 on the bundled ledger, 0.57 for Big5 read as GBK, 0.0 for Shift-JIS."""
    han = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
    if not han:
        return True
    common = sum(1 for ch in han if _level_one(ch))
    return common / len(han) >= threshold


def _level_one(ch: str) -> bool:
    try:
        return 0xB0 <= ch.encode("gb2312")[0] <= 0xD7
    except UnicodeEncodeError:
        return False


READERS: tuple[SheetReader, ...] = (ExcelReader(), CsvReader())


def reader_for(path: Path) -> SheetReader | None:
    suffix = path.suffix.lower()
    return next((r for r in READERS if suffix in r.extensions), None)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
