"""What calamine does not tell: hidden rows and formulas without a saved result (.xlsx/.xlsm).

calamine reads cached formula values, which is right, but a workbook written by a script
and never opened in Excel has formulas with no cached value: they read as empty. And a
hidden row is read like any other, which is also right, but the user should know. Both are
found by streaming the sheet's XML through byte regexes (no DOM: a million-row sheet stays
cheap), in a background thread while calamine reads (see :class:`~kamrules.ledger.readers.ExcelReader`).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

# what a damaged or hostile zip can raise from zipfile (a name that is not UTF-8 is a ValueError,
# an unknown compression method NotImplementedError, an encrypted part RuntimeError)
ZIP_ERRORS = (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, zlib.error, NotImplementedError,
              RuntimeError)

_SHEET = re.compile(rb'<sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_SHEET_ALT = re.compile(rb'<sheet\b[^>]*?\br:id="([^"]*)"[^>]*?\bname="([^"]*)"')
_REL = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
_REL_ALT = re.compile(rb'<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')
_HIDDEN_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?\bhidden="(?:1|true)"')
_HIDDEN_ROW_ALT = re.compile(rb'<row\b[^>]*?\bhidden="(?:1|true)"[^>]*?\br="(\d+)"')
_FORMULA_WITHOUT_VALUE = re.compile(rb'<f\b(?:[^>]*/>|[^>]*>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>|</c>)')
_CELL_REF = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*>\s*$')
_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*?(?:/>|>(.*?)</c>)', re.S)
_LAST_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
TOP_ROWS = 1000  # the header is found among the first rows; only they need column positions
CHUNK = 1 << 22
_ESCAPES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}


@dataclass
class SheetFacts:
    hidden_rows: set[int] = field(default_factory=set)
    uncached: set[tuple[int, int]] = field(default_factory=set)  # (Excel row, 0-based column)
    first_columns: dict[int, int] = field(default_factory=dict)  # top rows: first non-empty column
    scanned_top: int = 0  # highest row number seen while collecting first_columns

    def column_offset(self, row: int, grid_first: int) -> int | None:
        """Sheet column of grid column 0, from a row whose first value is at ``grid_first`` in the grid."""
        column = self.first_columns.get(row)
        return None if column is None else column - grid_first


def column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def _unescape(text: str) -> str:
    for escaped, plain in _ESCAPES.items():
        text = text.replace(escaped, plain)
    return text


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    workbook = archive.read("xl/workbook.xml")
    rels = archive.read("xl/_rels/workbook.xml.rels")
    targets = {rid: target for rid, target in _REL.findall(rels)}
    targets.update({rid: target for target, rid in _REL_ALT.findall(rels)})
    sheets = dict(_SHEET.findall(workbook))
    sheets.update({name: rid for rid, name in _SHEET_ALT.findall(workbook)})
    paths = {}
    for name, rid in sheets.items():
        target = targets.get(rid)
        if target is None:
            continue
        target = target.decode()
        path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        paths[_unescape(name.decode("utf-8"))] = path
    return paths


def sheet_members(source) -> dict[str, str]:
    """Sheet name → zip member of its XML, from a path or an open ZipFile; empty when the file
    cannot be inspected (calamine reports that)."""
    try:
        if isinstance(source, zipfile.ZipFile):
            return _members(source)
        with zipfile.ZipFile(source) as archive:
            return _members(archive)
    except ZIP_ERRORS:
        return {}


def _members(archive: zipfile.ZipFile) -> dict[str, str]:
    names = set(archive.namelist())
    return {name: member for name, member in _sheet_paths(archive).items() if member in names}


def inspect_sheet(path, member: str, top_rows: int = TOP_ROWS) -> SheetFacts | None:
    """Facts of one sheet, streamed: memory stays at one chunk however big the sheet is, and
    the regexes run only on chunks that contain a hidden row or a formula at all."""
    facts = SheetFacts()
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
            for piece in _row_pieces(stream):
                _scan(piece, facts, top_rows)
    except ZIP_ERRORS:
        return None
    return facts



def _row_pieces(stream):
    """The XML in pieces that each end after a ``</row>``, so no row is split between two."""
    rest = b""
    while True:
        data = stream.read(CHUNK)
        if not data:
            if rest:
                yield rest
            return
        rest += data
        cut = rest.rfind(b"</row>")
        if cut >= 0:
            cut += len(b"</row>")
            yield rest[:cut]
            rest = rest[cut:]


def _scan(xml: bytes, facts: SheetFacts, top_rows: int) -> None:
    if b'hidden="' in xml:
        facts.hidden_rows.update(int(r) for r in _HIDDEN_ROW.findall(xml))
        facts.hidden_rows.update(int(r) for r in _HIDDEN_ROW_ALT.findall(xml))
    if b"<f" in xml:
        facts.uncached.update(_uncached(xml))
    if facts.scanned_top < top_rows:
        _scan_top(xml, facts, top_rows)


def _uncached(xml: bytes):
    """(row, column) of formulas with no saved value; the search is anchored on ``<f`` (rare)
    rather than on every ``<c`` cell, then the cell's reference is read backwards from there."""
    for match in _FORMULA_WITHOUT_VALUE.finditer(xml):
        start = xml.rfind(b"<c", 0, match.start())
        cell = _CELL_REF.match(xml, start, match.start()) if start >= 0 else None
        if cell:
            yield int(cell.group(2)), column_index(cell.group(1).decode())


def _scan_top(xml: bytes, facts: SheetFacts, top_rows: int) -> None:
    end = xml.find(b'<row r="%d"' % (top_rows + 1))
    for col, row, body in _CELL.findall(xml if end < 0 else xml[:end]):
        if body and (b"<v>" in body or b"<is>" in body or b"<t" in body):
            number, column = int(row), column_index(col.decode())
            facts.first_columns[number] = min(column, facts.first_columns.get(number, column))
    last = _LAST_ROW.search(xml, max(0, xml.rfind(b"<row ")))
    facts.scanned_top = top_rows if end >= 0 or last is None else int(last.group(1))
