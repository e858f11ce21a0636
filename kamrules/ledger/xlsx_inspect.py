"""What calamine does not tell: hidden rows and formulas without a saved result (.xlsx/.xlsm).

calamine reads cached formula values, which is right, but a workbook written by a script
and never opened in Excel has formulas with no cached value: they read as empty. And a
hidden row is read like any other, which is also right, but the user should know. Both are
found by streaming the sheet's XML through byte regexes (no DOM: a million-row sheet stays
cheap), in a background thread, each sheet just before calamine reads it (see
:class:`~kamrules.ledger.readers.ExcelReader`).

They also measure each sheet before calamine reads it (:class:`SheetExtent`): calamine turns a
sheet into a dense grid from row 1 to the last cell and from the first to the last column, so a
single cell in row 50,000,000, or two cells at A1048576 and BZT1, ask for billions of cells of
memory, and a process killed by that cannot even name the file. Cells are found where calamine
finds them (``cells_reader.rs``): a ``<c>`` that is not self-closing, at its own ``r="B7"`` or,
without one, in the column after the previous cell of the current row.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field

import polars as pl

from ..background import ahead

# what a damaged or hostile zip can raise from zipfile (a name that is not UTF-8 is a ValueError,
# an unknown compression method NotImplementedError, an encrypted part RuntimeError)
ZIP_ERRORS = (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, zlib.error, NotImplementedError,
              RuntimeError)

_HIDDEN_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?\bhidden="(?:1|true)"')
_HIDDEN_ROW_ALT = re.compile(rb'<row\b[^>]*?\bhidden="(?:1|true)"[^>]*?\br="(\d+)"')
_FORMULA_WITHOUT_VALUE = re.compile(rb'<f\b(?:[^>]*/>|[^>]*>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>|</c>)')
_CELL_REF = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*>\s*$')
_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*?(?:/>|>(.*?)</c>)', re.S)
_LAST_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
TOP_ROWS = 1000  # the header is found among the first rows; only they need column positions
CHUNK = 1 << 22
LONGEST_PIECE = 1 << 26  # XML without a </row> is cut before a "<" past this: memory stays bounded


@dataclass
class SheetExtent:
    """The grid calamine will build for a sheet: rows 1 to ``rows``, columns ``first_column`` to
    ``last_column`` (1-based; 0 when the sheet has no cell). An upper bound: a cell that turns out
    empty (``<v></v>``) is counted, a self-closing ``<c r="Z9" s="1"/>`` is not, as calamine skips it."""

    rows: int = 0
    first_column: int = 0
    last_column: int = 0
    wasted: int = 0  # cells looked at that did not move it (many only in a crafted file)

    @property
    def columns(self) -> int:
        return self.last_column - self.first_column + 1 if self.last_column else 0

    @property
    def cells(self) -> int:
        return self.rows * self.columns

    def add(self, row: int, column: int) -> None:
        self.rows = max(self.rows, row)
        self.first_column = min(self.first_column, column) if self.first_column else column
        self.last_column = max(self.last_column, column)

    def union(self, other: "SheetExtent") -> "SheetExtent":
        both = SheetExtent(self.rows, self.first_column, self.last_column)
        if other.last_column:
            both.add(other.rows, other.first_column)
            both.add(other.rows, other.last_column)
        return both


@dataclass
class SheetFacts:
    hidden_rows: set[int] = field(default_factory=set)
    uncached: set[tuple[int, int]] = field(default_factory=set)  # (Excel row, 0-based column)
    first_columns: dict[int, int] = field(default_factory=dict)  # top rows: first non-empty column
    scanned_top: int = 0  # highest row number seen while collecting first_columns
    extent: SheetExtent = field(default_factory=SheetExtent)

    def column_offset(self, row: int, grid_first: int) -> int | None:
        """Sheet column of grid column 0, from a row whose first value is at ``grid_first`` in the grid."""
        column = self.first_columns.get(row)
        return None if column is None else column - grid_first


def column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def _element(tag: bytes):
    return re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?" + tag + rb"""(?=[\s/>])((?:[^>"']|"[^"]*"|'[^']*')*)>""")


_SHEET_TAG, _RELATIONSHIP_TAG = _element(b"sheet"), _element(b"Relationship")
PART_BYTES = 1 << 24  # of workbook.xml and its relationships: far more than any real workbook's
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}


def _attributes(text: bytes) -> dict[bytes, bytes]:
    found = {}
    for name, double, single in _ATTRIBUTE.findall(text):
        found.setdefault(name, double if double or not single else single)
    return found


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes:
    with _open_member(archive, name) as part:
        return part.read(PART_BYTES)


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the path calamine reads it from, found as calamine finds it: relationships in
    document order (the last of an Id counts), the first sheet of a name, ``Target`` taken as
    written and put under ``xl/`` unless it starts with ``xl/`` or ``/xl/``."""
    workbook = _read_part(archive, "xl/workbook.xml")
    rels = _read_part(archive, "xl/_rels/workbook.xml.rels")
    targets = {}
    for match in _RELATIONSHIP_TAG.finditer(rels):
        attributes = _attributes(match.group(1))
        targets[attributes.get(b"Id", b"")] = attributes.get(b"Target", b"")
    paths: dict[str, str] = {}
    for match in _SHEET_TAG.finditer(workbook):
        attributes = _attributes(match.group(1))
        rid = attributes.get(b"r:id", attributes.get(b"relationships:id"))
        target = targets.get(rid) if rid is not None else None
        if target is None:
            continue
        target = target.decode("utf-8", "replace")
        path = target[1:] if target.startswith("/xl/") else target if target.startswith("xl/") else f"xl/{target}"
        paths.setdefault(html.unescape(attributes.get(b"name", b"").decode("utf-8", "replace")), path)
    return paths


def sheet_members(source) -> dict[str, str]:
    """Sheet name → zip member of its XML, from a path, a file object or an open ZipFile; empty
    when the file cannot be inspected (calamine reports that). A sheet whose member is not
    certain (a path with ``..`` or a backslash, two members that differ only in case) is left
    out: the readers then measure it by every part no sheet claims."""
    try:
        if isinstance(source, zipfile.ZipFile):
            return _members(source)
        with zipfile.ZipFile(source) as archive:
            return _members(archive)
    except ZIP_ERRORS:
        return {}


def _members(archive: zipfile.ZipFile) -> dict[str, str]:
    by_case: dict[str, list[str]] = {}
    for name in archive.namelist():
        by_case.setdefault(name.translate(_ASCII_LOWER), []).append(name)
    members = {}
    for sheet, path in _sheet_paths(archive).items():
        if any(odd in path for odd in ("\\", "/../", "/./", "//", "%")):
            continue
        found = by_case.get(path.translate(_ASCII_LOWER), [])
        if len(found) == 1:  # calamine looks a part up without regard to case
            members[sheet] = found[0]
    return members


def inspect_sheet(source, member: str, top_rows: int = TOP_ROWS, limits=None, measure: bool = True,
                  inspect: bool = True) -> SheetFacts | None:
    """Facts of one sheet, streamed: memory stays at one chunk however big the sheet is, and
    the regexes run only on chunks that contain a hidden row or a formula at all. ``source`` is a
    path, a file object or the workbook's bytes. ``measure``: its extent (``limits``: stop once the
    sheet is over one of them); ``inspect``: hidden rows, formulas without a value, first columns.
    None when the XML cannot be read."""
    facts = SheetFacts()
    extent = _ExtentScan(limits)
    try:
        with zipfile.ZipFile(_opened(source)) as archive, _open_member(archive, member) as stream:
            measuring = measure
            for piece in _row_pieces(stream):
                if inspect:
                    _scan(piece, facts, top_rows)
                measuring = measuring and extent.feed(piece)
                if not measuring and not inspect:
                    break  # measured (or over a limit: the sheet is refused, nothing more to learn)
        if extent.slow:  # a cell without r="…" (or written unusually): follow calamine's own counting
            extent = _Simulation(limits)
            with zipfile.ZipFile(_opened(source)) as archive, _open_member(archive, member) as stream:
                for piece in _tag_pieces(stream):
                    if not extent.feed(piece):
                        break
    except ZIP_ERRORS:
        return None
    facts.extent = extent.extent
    return facts


def _opened(source):
    return io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source


def _open_member(archive: zipfile.ZipFile, member: str):
    part = archive.open(member)
    if hasattr(part, "_expected_crc"):
        part._expected_crc = None  # calamine reads a part with a wrong checksum, so must we
    return part


def _inflated(stream, depth: int = 2):
    """``stream.read(CHUNK)`` until the end, inflated ahead in a thread of its own (zlib lets go
    of the GIL): the regexes of one chunk run while the next is inflated."""
    return ahead(iter(lambda: stream.read(CHUNK), b""), depth, name="kamrules-inflate")


def _row_pieces(stream):
    """The XML in pieces that each end after a ``</row>``, so no row is split between two (or,
    past LONGEST_PIECE without a ``</row>``, before a ``<``, so no tag is)."""
    rest = b""
    chunks = _inflated(stream)
    try:
        while True:
            data = next(chunks, b"")
            if not data:
                if rest:
                    yield rest
                return
            rest += data
            cut = rest.rfind(b"</row>")
            if cut >= 0:
                cut += len(b"</row>")
            elif len(rest) > LONGEST_PIECE:
                cut = rest.rfind(b"<")
            if cut > 0:
                yield rest[:cut]
                rest = rest[cut:]
    finally:
        chunks.close()


def _tag_pieces(stream):
    """The XML in pieces that each end before a ``<``: no tag is split (a tag cannot contain one)."""
    rest = b""
    while True:
        data = stream.read(CHUNK)
        if not data:
            if rest:
                yield rest
            return
        rest += data
        cut = rest.rfind(b"<")
        if cut > 0:
            yield rest[:cut]
            rest = rest[cut:]


# --- the extent of a sheet, before calamine reads it ----------------------------------------

U32 = 1 << 32
_REF = re.compile(rb"([A-Za-z]+)([0-9]+)")
_TAG_REST = re.compile(rb"""(?:[^>"']|"[^"]*"|'[^']*')*>""")
_PREFIXED_CELL = re.compile(rb":c[\s/>]")
_UNUSUAL_CELL = re.compile(rb'<c(?=[\s/>])(?! r=")')
# _UNUSUAL_CELL spelled out without lookaheads (every way "<c" + a space, "/" or ">" can go on
# that is not ' r="'), for a piece that ends with "</row>", so that the characters looked at exist
_UNUSUAL_SUPERSET = r'<c(?:[/>\t\n\r\x0b\x0c]| [^r]| r[^=]| r=[^"])'
_LAST_CELLS = 64  # cells looked at from the end of a piece for its last row
_REBUILD = 64  # cells that moved the extent (or matched a stale regex) before it is compiled again
WASTED_MATCHES = 1_000_000  # cells matched that moved nothing: a few hundred in a real file; past this, refused


def position(letters: bytes, digits: bytes) -> tuple[int, int] | None:
    """(row, column), 1-based, of a reference as calamine computes it: in u32 arithmetic that
    wraps (``r="A4294967297"`` is row 1); None where calamine refuses it (row or column 0)."""
    column = 0
    for ch in letters.upper():
        column = column * 26 + ch - 64
    row, column = int(digits) % U32, column % U32
    return (row, column) if row and column else None


def _any_case(ch: int) -> bytes:
    return b"[%c%c]" % (ch, ch + 32)


def _letters_between(low: int, high: int) -> bytes:
    return b"[%c-%c%c-%c]" % (low, high, low + 32, high + 32)


def _letters_above(column: int) -> bytes:
    """Column letters (either case) of a column after ``column``, followed by the row's first digit."""
    letters = column_letters(column)
    alternatives = [b"[A-Za-z]{%d,}" % (len(letters) + 1)]
    for i, ch in enumerate(letters):
        if ch < ord("Z"):
            rest = len(letters) - i - 1
            alternatives.append(b"".join(map(_any_case, letters[:i])) + _letters_between(ch + 1, ord("Z"))
                                + (b"[A-Za-z]{%d}" % rest if rest else b""))
    return b"(?:" + b"|".join(alternatives) + b")[0-9]"


def _letters_below(column: int) -> bytes:
    letters = column_letters(column)
    alternatives = [b"[A-Za-z]{1,%d}" % (len(letters) - 1)] if len(letters) > 1 else []
    for i, ch in enumerate(letters):
        if ch > ord("A"):
            rest = len(letters) - i - 1
            alternatives.append(b"".join(map(_any_case, letters[:i])) + _letters_between(ord("A"), ch - 1)
                                + (b"[A-Za-z]{%d}" % rest if rest else b""))
    return b"(?:" + b"|".join(alternatives) + b")[0-9]"


def _digits_above(row: int, lookahead: bool = True) -> bytes:
    """Row digits, after any leading zeros, of a row after ``row``; a lookahead first turns away,
    in one step, the many rows with fewer digits (without it, for Rust's regex engine, the
    pattern matches the same rows and more)."""
    digits = b"%d" % row
    alternatives = [b"[1-9][0-9]{%d}" % len(digits)]
    for i, ch in enumerate(digits):
        if ch < ord("9"):
            alternatives.append(digits[:i] + b"[%c-9]" % (ch + 1) + b"[0-9]{%d}" % (len(digits) - i - 1) + b'"')
    ahead_ = b"(?=[1-9][0-9]{%d})" % (len(digits) - 1) if lookahead else b""
    return b"0*" + ahead_ + b"(?:" + b"|".join(alternatives) + b")"


def column_letters(column: int) -> bytes:
    """Column letters of a 1-based column: 16,384 is ``XFD``."""
    letters = b""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = bytes([65 + rest]) + letters
    return letters


class _ExtentScan:
    """The usual case, at the speed of a few regexes: every cell is written ``<c r="B7"``, as
    Excel, WPS, LibreOffice, openpyxl and xlsxwriter write them. Per piece, one search finds any
    cell written otherwise (``<c>``, ``<c s="1" r="B7">``, ``<x:c>``), which hands the sheet to
    :class:`_Simulation`; another finds only the cells that move the extent (a row after the last
    one, a column outside those seen; self-closing cells, which calamine skips, are passed over).
    A piece's rows are taken from its last cells first, so ascending rows never match, and the
    regex is compiled again only every few dozen cells that moved the extent. Before these
    searches, one search in Rust (:meth:`_maybe_moves`) passes over the pieces in which none of
    them can match: in a regular sheet, all but the first."""

    def __init__(self, limits=None):
        self.extent = SheetExtent()
        self.limits = limits
        self.slow = False
        self._pattern = None
        self._superset_pattern = ""
        self._extended = self._stale = 0

    def feed(self, piece: bytes) -> bool:
        """Measure one piece; False when there is no need to read on (over a limit, or slow)."""
        self._last_rows(piece)
        if not self._maybe_moves(piece):
            return not _over(self.extent, self.limits)
        if _UNUSUAL_CELL.search(piece) or _PREFIXED_CELL.search(piece) and self._prefixed(piece):
            self.slow = True  # <c>, <c s="1" r="A1">, <c\nr=…>, <x:c …>
            return False
        at = 0
        while True:
            match = self._regex().search(piece, at)
            if match is None:
                return not _over(self.extent, self.limits)
            at = match.end()
            found = self._cell(piece, match.start())
            extent = self.extent
            if found is not None and (found[0] > extent.rows or not extent.first_column <= found[1] <= extent.last_column):
                first = not extent.last_column
                extent.add(*found)
                self._extended += 1
                if first or self._extended >= _REBUILD:  # compiled again once so many cells moved the extent
                    self._pattern = None
            else:  # inside an extent the regex has not caught up with, or self-closing after all, a leading
                extent.wasted += 1  # zero, a reference that wraps: it moves nothing
                self._stale += 1
                if self._extended and self._stale >= _REBUILD:
                    self._pattern = None
                if extent.wasted > WASTED_MATCHES:
                    return False

    def _maybe_moves(self, piece: bytes) -> bool:
        """Whether the exact search below could find anything in ``piece``: a cell that moves the
        extent, or one written unusually. Asked of Polars' regex engine (Rust: several times faster
        than Python's, and without the GIL) with a pattern that matches a superset of the exact
        ones (their lookarounds left out), so False is certain; True hands the piece to the exact
        search. Only a piece of whole rows (ending with ``</row>``) is asked, so that no tag is cut
        at its end where a lookahead would have looked further."""
        if not piece.endswith(b"</row>"):
            return True
        try:
            text = pl.Series((piece,), dtype=pl.Binary).cast(pl.String)
            return bool(text.str.contains(self._superset()).item())
        except pl.exceptions.PolarsError:  # not UTF-8 (or anything else Rust refuses): the byte regexes say
            return True

    def _alternatives(self, lookahead: bool) -> bytes:
        extent = self.extent
        if extent.last_column:
            letters = b"[A-Za-z]{1,%d}" % len(column_letters(extent.last_column))
            alternatives = [_letters_above(extent.last_column)]
            if extent.first_column > 1:
                alternatives.append(_letters_below(extent.first_column))
        else:
            letters, alternatives = b"[A-Za-z]+", [b"[A-Za-z]"]
        alternatives.append(letters + _digits_above(extent.rows, lookahead))
        return b"|".join(alternatives)

    def _regex(self):
        """``<c r="`` and a reference outside the extent so far (or with leading zeros), of a
        cell that is not self-closing: formatted empty cells far out cost no more than others."""
        if self._pattern is None:
            self._pattern = re.compile(b'<c r="(?:' + self._alternatives(True)
                                       + rb""")[^"]*"(?!(?:[^>"']|"[^"]*"|'[^']*')*/>)""")
            # the same extent's pattern, with :data:`_UNUSUAL_CELL` and :data:`_PREFIXED_CELL`, as
            # one pattern without lookarounds for Rust's regex engine: it matches wherever any of them does
            self._superset_pattern = "|".join(('<c r="(?:' + self._alternatives(False).decode("ascii") + ")",
                                               _UNUSUAL_SUPERSET, _PREFIXED_CELL.pattern.decode("ascii")))
            self._extended = self._stale = 0
        return self._pattern

    def _superset(self) -> str:
        self._regex()
        return self._superset_pattern

    def _last_rows(self, piece: bytes) -> None:
        end = len(piece)
        for _ in range(_LAST_CELLS):
            start = piece.rfind(b'<c r="', 0, end)
            if start < 0:
                return
            found = self._cell(piece, start)
            if found is not None:
                if found[0] > self.extent.rows:
                    self.extent.rows = found[0]
                    self._pattern = None
                return
            end = start

    @staticmethod
    def _cell(piece: bytes, start: int) -> tuple[int, int] | None:
        """(row, column) of the ``<c r="`` at ``start``; None when calamine skips it (self-closing)
        or refuses its reference (an error of its own)."""
        tag = _TAG_REST.match(piece, start + 2)
        if tag is None or tag.group().endswith(b"/>"):
            return None
        quote = piece.find(b'"', start + 6)
        ref = _REF.fullmatch(piece, start + 6, quote)
        return position(ref.group(1), ref.group(2)) if ref else None

    @staticmethod
    def _prefixed(piece: bytes) -> bool:
        """A ``<x:c`` cell (calamine matches local names)?"""
        for match in _PREFIXED_CELL.finditer(piece):
            lt = piece.rfind(b"<", 0, match.start())
            if lt >= 0 and re.fullmatch(rb"<[A-Za-z_][\w.\-]*", piece[lt:match.start()]):
                return True
        return False


_TAG = re.compile(rb"""<(/?)(?:[A-Za-z_][\w.\-]*:)?(c|row|sheetData)((?:\s(?:[^>"']|"[^"]*"|'[^']*')*)?/?)>""")
_ATTRIBUTE = re.compile(rb"""([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


class _Simulation:
    """Cells counted the way calamine's cell reader counts them, tag by tag: slower (a few
    hundred thousand cells a second), for sheets whose cells are not all ``<c r="…"``."""

    def __init__(self, limits=None):
        self.extent = SheetExtent()
        self.limits = limits
        self.inside = False
        self.row = 0  # calamine's row_index and col_index, 0-based
        self.column = 0

    def feed(self, piece: bytes) -> bool:
        """calamine reads a self-closing ``<c/>`` or ``<row/>`` as a start and an end: a
        self-closing cell moves the column on (it holds no value, so it is not in the grid)."""
        for match in _TAG.finditer(piece):
            closing, name, attributes = match.groups()
            empty = attributes.endswith(b"/")
            if name == b"sheetData":
                if self.inside and (closing or empty) or not self.inside and empty:
                    return False  # its end: calamine reads no further
                self.inside = True
                continue
            if not self.inside:
                continue
            if closing:
                if name == b"row":
                    self.row, self.column = (self.row + 1) % U32, 0
                continue
            ref = _reference(attributes)
            if name == b"row":
                if ref is not None:
                    row = _REF_ROW.search(ref)
                    number = int(row.group()) % U32 if row else 0
                    if number:
                        self.row = number - 1
                if empty:
                    self.row, self.column = (self.row + 1) % U32, 0
                continue
            if ref is not None:
                parts = _REF.fullmatch(ref)
                found = position(parts.group(1), parts.group(2)) if parts else None
                if found is None:
                    continue  # calamine stops at this cell with an error of its own
                self.column = found[1] - 1
            else:
                found = (self.row + 1, self.column + 1)
            self.column = (self.column + 1) % U32
            if not empty:
                self.extent.add(*found)
        return not _over(self.extent, self.limits)


_REF_ROW = re.compile(rb"[0-9]+$")


def _reference(attributes: bytes) -> bytes | None:
    for name, double, single in _ATTRIBUTE.findall(attributes):
        if name == b"r":
            return double if double or not single else single
    return None


def _over(extent: SheetExtent, limits) -> bool:
    return extent.wasted > WASTED_MATCHES or limits is not None and (
        extent.rows > limits.max_rows or extent.columns > limits.max_columns or extent.cells > limits.max_cells)


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
