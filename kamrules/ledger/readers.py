"""Readers: one per file format, each yielding every sheet as a grid of text cells.

A :class:`RawSheet` keeps the sheet exactly as a person sees it: column ``c0`` is the
first used column, and row ``i`` of the frame is Excel row ``i + 1`` (leading empty rows
are kept, so row numbers in messages match what Excel shows). Every cell is text; typing
happens later, in :mod:`kamrules.ledger.coerce`, where failures can be reported per cell.

Readers parse the bytes the guard checked and the hash was taken of (read once, by
:func:`kamrules.ledger.read_input`), never the path again: a file swapped in between is not
read. And no parser is handed a sheet before its size is known: calamine and polars build a
dense grid of every row × column, so a sheet over the rows, columns or cells limit is refused
from its structure (an .xlsx sheet's cell references, a .xls file's records, a CSV's first
line and line count) before the grid exists.
"""

from __future__ import annotations

import codecs
import io
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import polars as pl

from ..background import while_waiting
from ..errors import LedgerError
from ..i18n import msg
from ..limits import Limits, env_name
from .xlsx_inspect import (WASTED_MATCHES, ZIP_ERRORS, SheetExtent, SheetFacts, column_letters, inspect_sheet,
                           sheet_members)

FAR_COLUMN = 703  # AAA: from three letters on, a sheet too wide is named by its farthest column


@dataclass
class RawSheet:
    file: str
    sheet: str
    grid: pl.DataFrame  # all String columns c0..cN; frame row i = sheet row i + 1
    hidden: bool = False
    facts: Optional[SheetFacts] = None  # hidden rows, formulas without a saved result (.xlsx/.xlsm)


class SheetReader:
    """Base class: ``sheets(data, path, name, limits)`` yields every sheet of one file, read
    from ``data`` (``path`` gives only the file's name: its suffix, and a CSV's sheet name)."""

    extensions: tuple[str, ...] = ()

    def sheets(self, data: bytes, path: Path, name: str, limits: Limits) -> Iterator[RawSheet]:
        raise NotImplementedError

    @staticmethod
    def _normalise(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.rename({old: f"c{i}" for i, old in enumerate(frame.columns)})


def reader_crashed(exc: BaseException) -> bool:
    """A failure of a parser to report as the file's problem: any Exception, and a Rust panic
    (pyo3's PanicException is a BaseException, so that it is not caught by accident)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


class ExcelReader(SheetReader):
    """.xlsx / .xlsm / .xls through fastexcel (calamine): cached formula values, dates as text.

    calamine releases the GIL while it parses, so two background threads keep the second
    core busy. One goes through the sheets' XML: it measures each sheet (its extent, see
    :class:`~kamrules.ledger.xlsx_inspect.SheetExtent`) one sheet ahead of inspecting it (hidden
    rows, formulas without a saved value), starting while calamine opens the file. The other
    reads each sheet once its measure is within the limits, while the previous one is being
    typed. A .xls is measured by the guard instead: calamine reads all of its sheets when it
    opens the file.
    """

    extensions = (".xlsx", ".xlsm", ".xls")

    def sheets(self, data: bytes, path: Path, name: str, limits: Limits) -> Iterator[RawSheet]:
        import fastexcel

        zipped = data.startswith(b"PK")  # calamine tells the kind by the bytes: so do we (an .xlsx called .xls)
        budget = CellBudget(name, limits)
        inspector = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kamrules-inspect")
        loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kamrules-load")
        try:
            members = sheet_members(io.BytesIO(data)) if zipped else {}
            # measuring starts while calamine opens the file (its shared strings, its styles), one
            # sheet ahead of the inspection, which is needed only when a sheet is typed
            measures, facts, order = {}, {}, list(members.items())
            for index, (sheet, member) in enumerate(order + [(None, None)]):
                if sheet is not None:
                    measures[sheet] = inspector.submit(inspect_sheet, data, member, limits=limits, inspect=False)
                if index:
                    before, part = order[index - 1]
                    facts[before] = inspector.submit(inspect_sheet, data, part, measure=False)
            try:
                reader = fastexcel.read_excel(data)
            except BaseException as exc:  # fastexcel raises its own hierarchy; any failure = unreadable
                if not reader_crashed(exc):
                    raise
                raise LedgerError(msg("ledger.cannot_open", reason=_short(exc)), file=name,
                                  suggestion=msg("ledger.cannot_open.hint")) from None
            names = reader.sheet_names  # read before loading starts: the reader is not shareable while it loads
            unmatched = [sheet for sheet in names if sheet not in members]
            if zipped and unmatched:  # a part not found from workbook.xml: measured by every part no sheet claims
                others = inspector.submit(_measure_unclaimed, data, set(members.values()), limits)
                measures.update({sheet: others for sheet in unmatched})
            loads = [loader.submit(_checked_load, reader, sheet_name, measures.get(sheet_name), budget, zipped)
                     for sheet_name in names]
            for index, sheet_name in enumerate(names):
                following = measures.get(names[index + 1]) if index + 1 < len(names) else None
                if not loads[index].done() and (following is None or following.done()):
                    while_waiting()  # calamine parses without the GIL, and no measure waits for this thread
                try:
                    grid, hidden = loads[index].result()
                except LedgerError:
                    raise
                except BaseException as exc:
                    if not reader_crashed(exc):
                        raise
                    raise LedgerError(msg("ledger.cannot_read_sheet", reason=_short(exc)), file=name,
                                      sheet=sheet_name) from None
                loads[index] = None  # the grid is the caller's now: not kept for the whole file
                found = facts.get(sheet_name)
                yield RawSheet(name, sheet_name, self._normalise(grid), hidden, found.result() if found else None)
        finally:
            loader.shutdown(wait=True, cancel_futures=True)
            inspector.shutdown(wait=True, cancel_futures=True)


def _measure_unclaimed(data: bytes, claimed: set[str], limits: Limits) -> SheetFacts | None:
    import zipfile

    facts = SheetFacts()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = [info.filename for info in archive.infolist()
                     if info.filename not in claimed and not info.filename.endswith("/")]
    except ZIP_ERRORS:
        return None
    for part in parts:
        found = inspect_sheet(data, part, limits=limits, inspect=False)
        if found is None:
            return None
        facts.extent = facts.extent.union(found.extent)
    return facts


def _checked_load(reader, sheet_name: str, measure, budget: "CellBudget", zipped: bool):
    if zipped:
        found = measure.result() if measure is not None else None
        if found is None or found.extent.wasted > WASTED_MATCHES:  # not measured: not handed to calamine
            raise LedgerError(msg("ledger.unmeasured_sheet"), file=budget.name, sheet=sheet_name,
                              suggestion=msg("ledger.damaged.hint"))
        budget.check(sheet_name, found.extent)
    sheet = reader.load_sheet_by_name(sheet_name, header_row=None, skip_rows=0, dtypes="string")
    return sheet.to_polars(), getattr(sheet, "visible", "visible") != "visible"


class CellBudget:
    """The rows, columns and cells limits, checked on a sheet's extent before it is read; the
    cells limit is for the whole file (all its sheets can be in memory at once)."""

    def __init__(self, name: str, limits: Limits):
        self.name, self.limits, self.total = name, limits, 0

    def check(self, sheet: str, extent: SheetExtent, cells: int | None = None) -> None:
        """``cells``: what the sheet holds in memory when more than its grid (a .xls's reservations)."""
        limits, name = self.limits, self.name
        for size, limit, what, variable in (
                (extent.rows, limits.max_rows, msg("ledger.unit.rows"), "max_rows"),
                (extent.columns, limits.max_columns, msg("ledger.unit.columns"), "max_columns")):
            if size <= limit:
                continue
            if variable == "max_columns" and extent.last_column >= FAR_COLUMN:
                raise LedgerError(msg("ledger.too_wide", letters=column_name(extent.last_column),
                                      width=extent.last_column, limit=limit), file=name, sheet=sheet,
                                  suggestion=msg("ledger.too_wide.hint", env=env_name("max_columns")))
            raise LedgerError(msg("ledger.sheet_too_big", size=size, what=what, limit=limit), file=name, sheet=sheet,
                              suggestion=msg("ledger.sheet_too_big.hint", what=what, env=env_name(variable)))
        if extent.cells > limits.max_cells:
            raise LedgerError(msg("ledger.too_many_cells", rows=extent.rows, columns=extent.columns,
                                  cells=extent.cells, limit=limits.max_cells), file=name, sheet=sheet,
                              suggestion=msg("ledger.too_many_cells.hint", env=env_name("max_cells")))
        self.total += extent.cells if cells is None else cells
        if self.total > limits.max_cells:
            raise LedgerError(msg("ledger.too_many_cells.file", cells=self.total, limit=limits.max_cells),
                              file=name, sheet=sheet,
                              suggestion=msg("ledger.too_many_cells.hint", env=env_name("max_cells")))


def column_name(column: int) -> str:
    """``XFD`` for column 16,384; past ZZZ (18,278), "beyond ZZZ"."""
    return column_letters(column).decode() if column <= 18_278 else msg("ledger.beyond_zzz")


class CsvReader(SheetReader):
    """.csv as Chinese Excel and ERPs save it: UTF-8 (with or without BOM), GBK/GB18030, or
    UTF-16 with a BOM ("Unicode text", usually tab-separated).

    The whole file is decoded strictly: UTF-16 when it has a BOM, else UTF-8, else GB18030.
    GB18030 accepts almost any bytes, so its result must also read like Chinese (mostly the
    common characters): a Big5 or Shift-JIS file is refused instead of becoming mojibake.
    polars is given UTF-8 bytes (a UTF-8 file as it is), after its first line has been counted
    (a line of 25 million fields would be 25 million columns) and with at most as many rows as
    the limits allow.
    """

    extensions = (".csv",)

    def sheets(self, data: bytes, path: Path, name: str, limits: Limits) -> Iterator[RawSheet]:
        payload = utf8_payload(data, name)
        del data
        start = 3 if payload.startswith(codecs.BOM_UTF8) else 0
        end = payload.find(b"\n", start)
        end = len(payload) if end < 0 else end
        separator = b"\t" if payload.count(b"\t", start, end) > payload.count(b",", start, end) else b","
        fields = first_record_fields(payload, start, separator, limits.max_columns)
        if fields > limits.max_columns:
            raise LedgerError(msg("ledger.csv_too_wide", limit=limits.max_columns), file=name,
                              suggestion=msg("ledger.csv_too_wide.hint", env=env_name("max_columns")))
        rows = min(limits.max_rows, limits.max_cells // fields)
        try:
            grid = pl.read_csv(payload, has_header=False, infer_schema=False, truncate_ragged_lines=True,
                               separator=separator.decode(), n_rows=rows + 1)
        except BaseException as exc:
            if not reader_crashed(exc):
                raise
            raise LedgerError(msg("ledger.cannot_parse_csv", reason=_short(exc)), file=name) from None
        if grid.height > limits.max_rows:
            raise LedgerError(msg("ledger.csv_too_long", limit=limits.max_rows), file=name,
                              suggestion=msg("ledger.split_or_raise", env=env_name("max_rows")))
        if grid.height * grid.width > limits.max_cells:
            raise LedgerError(msg("ledger.csv_too_many_cells", rows=limits.max_cells // grid.width,
                                  columns=grid.width, limit=limits.max_cells), file=name,
                              suggestion=msg("ledger.split_or_raise", env=env_name("max_cells")))
        yield RawSheet(name, path.stem, self._normalise(grid))


_QUOTED = re.compile(rb'"[^"]*(?:""[^"]*)*"')


def first_record_fields(data: bytes, start: int, separator: bytes, limit: int) -> int:
    """Fields of the first record, counted as polars counts them (a quote opens a quoted field
    only at the start of a field; a quoted field may hold separators and line breaks); counting
    stops past ``limit``, so a line of millions of fields costs no more than ``limit`` steps."""
    end_of_field = re.compile(b"[" + re.escape(separator) + b"\n]")
    fields, at = 1, start
    while True:
        if data[at:at + 1] == b'"':
            quoted = _QUOTED.match(data, at)
            if quoted is None:
                return fields  # a quote never closed: the rest is one field (polars refuses it)
            at = quoted.end()
        found = end_of_field.search(data, at)
        if found is None or data[found.start()] == 0x0A:
            return fields
        fields += 1
        if fields > limit:
            return fields
        at = found.end()


def utf8_payload(data: bytes, name: str) -> bytes:
    """The file as UTF-8 bytes for polars: a UTF-8 file itself (checked without a decoded copy),
    anything else decoded (see :func:`decode_text`) and encoded again."""
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and is_utf8(data):
        return data
    return decode_text(data, name).encode("utf-8")


def is_utf8(data: bytes, piece: int = 1 << 24) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for at in range(0, len(view), piece):
            decoder.decode(view[at:at + piece])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


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


CHINESE_SAMPLE = 1_000_000  # characters looked at: enough to tell, and a 500 MB file stays quick


def reads_like_chinese(text: str, threshold: float = 0.8) -> bool:
    """Most Han characters of real Chinese text are among the 3,755 most common (GB2312 level 1):
    0.999 on the bundled ledger, 0.57 for Big5 read as GBK, 0.0 for Shift-JIS."""
    han = [ch for ch in text[:CHINESE_SAMPLE] if "\u4e00" <= ch <= "\u9fff"]
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


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
