"""What calamine does not tell: hidden rows and formulas without a saved result (.xlsx/.xlsm).

calamine reads cached formula values, which is right, but a workbook written by a script
and never opened in Excel has formulas with no cached value: they read as empty. And a
hidden row is read like any other, which is also right, but the user should know. Both are
found by scanning the sheet's XML with byte regexes (no DOM: a million-row sheet stays cheap).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

_SHEET = re.compile(rb'<sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_SHEET_ALT = re.compile(rb'<sheet\b[^>]*?\br:id="([^"]*)"[^>]*?\bname="([^"]*)"')
_REL = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
_REL_ALT = re.compile(rb'<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')
_HIDDEN_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?\bhidden="(?:1|true)"')
_HIDDEN_ROW_ALT = re.compile(rb'<row\b[^>]*?\bhidden="(?:1|true)"[^>]*?\br="(\d+)"')
_UNCACHED = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*>\s*<f\b(?:[^>]*/>|[^>]*>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>|</c>)')
_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*?(?:/>|>(.*?)</c>)', re.S)
TOP_ROWS = 1000  # the header is found among the first rows; only they need column positions
_ESCAPES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}


@dataclass
class SheetFacts:
    hidden_rows: set[int] = field(default_factory=set)
    uncached: set[tuple[int, int]] = field(default_factory=set)  # (Excel row, 0-based column)
    first_columns: dict[int, int] = field(default_factory=dict)  # top rows: first non-empty column

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


def inspect_workbook(path) -> dict[str, SheetFacts]:
    """Facts per sheet name; an empty dict when the file cannot be inspected (calamine reports that)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {name: _inspect(archive.read(member)) for name, member in _sheet_paths(archive).items()
                    if member in archive.namelist()}
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return {}


def _inspect(xml: bytes, top_rows: int = TOP_ROWS) -> SheetFacts:
    facts = SheetFacts()
    facts.hidden_rows = {int(r) for r in _HIDDEN_ROW.findall(xml)} | {int(r) for r in _HIDDEN_ROW_ALT.findall(xml)}
    facts.uncached = {(int(row), column_index(col.decode())) for col, row in _UNCACHED.findall(xml)}
    end = xml.find(b'<row r="%d"' % (top_rows + 1))
    for col, row, body in _CELL.findall(xml[:end if end > 0 else 4_000_000]):
        if body and (b"<v>" in body or b"<is>" in body or b"<t" in body):
            number, column = int(row), column_index(col.decode())
            facts.first_columns[number] = min(column, facts.first_columns.get(number, column))
    return facts
