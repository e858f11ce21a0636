"""What calamine would allocate for an old .xls (BIFF in an OLE compound file), read from the
file's structure before calamine opens it.

calamine reads every sheet of a .xls when it opens the file, and trusts the counts written in
it: the OLE header's numbers of FAT, directory and mini FAT sectors and the sizes of streams
become ``Vec::with_capacity``; a sector number beyond the file becomes a buffer that long; a
DIMENSIONS record of 4,294,967,295 rows becomes a reservation of that many cells; an SST record
claiming 2^31 strings, another. Any of these aborts the process (Rust aborts when an allocation
fails), and a sector chain that loops grows a list until it does. This module follows the same
path through the file as calamine's ``cfb.rs`` and ``xls.rs`` with every count checked against
what the file can hold, and measures each sheet's grid from its cell records. Where calamine
would stop with an error of its own (not an OLE file, no Workbook stream, a record cut short),
it stops too and leaves the message to calamine; inside the workbook stream, where calamine may
stop at a damaged record or go on, it keeps what it has measured and goes on where it can.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .xlsx_inspect import SheetExtent

OLE = bytes.fromhex("D0CF11E0A1B11AE1")
ENDOFCHAIN, RESERVED, DIFSECT = 0xFFFFFFFE, 0xFFFFFFFA, 0xFFFFFFFC
MiB = 1 << 20
CELL_RECORDS = {0x0203: 14, 0x0204: 6, 0x0205: 8, 0x027E: 10, 0x00FD: 10, 0x0006: 20, 0x00BD: 6}
EOF, CONTINUE, BOUNDSHEET, SST, DIMENSIONS, STRING = 0x000A, 0x003C, 0x0085, 0x00FC, 0x0200, 0x0207


class XlsProblem(Exception):
    """The file asks calamine for something it cannot have: ``key`` names the message (under
    ``ledger.malformed.``), ``values`` fill it."""

    def __init__(self, key: str, **values):
        super().__init__(key)
        self.key, self.values = key, values


class Unreadable(Exception):
    """calamine would refuse the file with an error of its own: nothing to measure."""


@dataclass
class XlsSheet:
    name: str
    extent: SheetExtent = field(default_factory=SheetExtent)
    declared: tuple[int, int] = (0, 0)  # rows × columns of its DIMENSIONS record, as calamine reserves them

    @property
    def cells(self) -> int:
        """Cells calamine holds for the sheet: its grid, or what DIMENSIONS made it reserve."""
        return max(self.extent.cells, self.declared[0] * self.declared[1])


def measure_xls(data: bytes) -> list[XlsSheet] | None:
    """Every sheet of a .xls with its extent; None when calamine would refuse the file itself;
    XlsProblem when reading it would exhaust memory or never end."""
    try:
        return _sheets(_workbook_stream(data))
    except Unreadable:
        return None


def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 2], "little")


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4], "little")


class _Compound:
    """Sectors of an OLE compound file, checked the way calamine's ``Sectors::get`` uses them:
    sector ``k`` is at ``header + k * size``; calamine grows its buffer to any sector asked for."""

    def __init__(self, data: bytes):
        if len(data) < 512 or not data.startswith(OLE):
            raise Unreadable
        shift = _u16(data, 30)
        if shift not in (9, 12) or _u16(data, 32) != 6:
            raise Unreadable
        self.data, self.size = data, 1 << shift
        self.header = max(512, self.size)
        if len(data) < self.header:
            raise Unreadable
        self.count = -(-(len(data) - self.header) // self.size)  # sectors the file holds (the last may be short)
        self.ceiling = 64 * MiB + 4 * len(data)  # more than any real file asks to reserve

    def sector(self, number: int, part: str) -> bytes:
        if number >= self.count:
            raise XlsProblem("sector", part=part, number=number, count=self.count)
        start = self.header + number * self.size
        return self.data[start:start + self.size]

    def reserve(self, size: int, part: str) -> None:
        if size > self.ceiling:
            raise XlsProblem("reserve", part=part, size=size, file_size=len(self.data))

    def chain(self, start: int, table: list[int], length: int, part: str, sector=None, limit=None) -> bytes:
        """The stream that starts at sector ``start``, following ``table`` (the FAT or mini FAT):
        every sector in the file, no loop, as calamine's ``get_chain`` would read it."""
        self.reserve(length, part)
        sector = sector or (lambda number: self.sector(number, part))
        limit = self.count if limit is None else limit
        pieces, seen, number = [], 0, start
        while number != ENDOFCHAIN:
            pieces.append(sector(number))
            seen += 1
            if number >= len(table) or seen > limit:  # calamine would index past its table, or go round for ever
                raise XlsProblem("chain", part=part)
            number = table[number]
        stream = b"".join(pieces)
        return stream[:length] if length else stream


def _workbook_stream(data: bytes) -> bytes:
    ole = _Compound(data)
    head = data[:512]
    version, dir_count, fat_count = _u16(head, 26), _u32(head, 40), _u32(head, 44)
    dir_start, mini_start, mini_count, difat_start = _u32(head, 48), _u32(head, 60), _u32(head, 64), _u32(head, 68)
    ole.reserve(4 * _u32(head, 62), "DIFAT")  # calamine reads the DIFAT count from these bytes
    for count, part in ((fat_count, "FAT"), (dir_count, "directory"), (mini_count, "mini FAT")):
        if count > ole.count:
            raise XlsProblem("header", count=count, part=part, room=ole.count)
    difat = [_u32(head, at) for at in range(76, 512, 4)]
    number, seen = difat_start, 0
    while number < RESERVED:
        sector = ole.sector(number, "DIFAT")
        difat += [_u32(sector, at) for at in range(0, len(sector) - 3, 4)]
        seen += 1
        if seen > ole.count // 127 + 1:  # more DIFAT sectors than FAT sectors can need
            raise XlsProblem("chain", part="DIFAT")
        number = difat.pop()
    listed = [number for number in difat if number < DIFSECT]
    if len(listed) > fat_count:
        raise XlsProblem("listed", count=len(listed), room=fat_count)
    fat = _table(b"".join(ole.sector(number, "FAT") for number in listed))
    directory = ole.chain(dir_start, fat, dir_count * ole.size, "directory")
    entries = []
    for at in range(0, len(directory) - 127, 128):
        entry = directory[at:at + 128]
        name = entry[:64].decode("utf-16-le", errors="ignore").split("\0", 1)[0]
        size = _u32(entry, 120) if ole.size == 512 else int.from_bytes(entry[120:128], "little")
        entries.append((name, _u32(entry, 116), size))
    if not entries or (version != 3 and entries[0][1] == ENDOFCHAIN):
        raise Unreadable
    mini_stream, mini_fat = b"", _table(b"")
    if mini_count:
        mini_stream = ole.chain(entries[0][1], fat, entries[0][2], "mini stream")
        table = ole.chain(mini_start, fat, mini_count * ole.size, "mini FAT")
        mini_fat = _table(table)
    found = next((e for e in entries if e[0] == "Workbook"), None) or next((e for e in entries if e[0] == "Book"), None)
    if found is None:
        raise Unreadable
    _, start, size = found
    if size < 4096:
        room = -(-len(mini_stream) // 64)

        def mini(number: int) -> bytes:
            if number >= room:
                raise XlsProblem("sector", part="Workbook", number=number, count=room)
            return mini_stream[number * 64:number * 64 + 64]

        return ole.chain(start, mini_fat, size, "Workbook", mini, room)
    if size > len(data):
        raise XlsProblem("stream", part="Workbook", size=size, file_size=len(data))
    return ole.chain(start, fat, size, "Workbook")


def _table(data: bytes):
    """Sector numbers (u32, little-endian) as a compact sequence."""
    view = memoryview(data[:len(data) - len(data) % 4])
    return view.cast("I") if struct.pack("=I", 1) == struct.pack("<I", 1) else \
        [_u32(data, at) for at in range(0, len(data) - 3, 4)]


def _records(stream: bytes, at: int = 0):
    """(type, data, length of its CONTINUE records) from ``at``, as calamine's RecordIter reads
    them, up to a record cut short (where calamine stops, with an error or without: either way,
    what came before is what it holds)."""
    end = len(stream)
    while end - at >= 4:
        kind, length = struct.unpack_from("<HH", stream, at)
        if end - at < length + 4:
            return
        data = stream[at + 4:at + 4 + length]
        at += 4 + length
        extra = 0
        while end - at > 4 and _u16(stream, at) == CONTINUE:
            more = _u16(stream, at + 2)
            if end - at < more + 4:
                yield kind, data, extra
                return
            extra += more
            at += 4 + more
        yield kind, data, extra


def _sheets(stream: bytes) -> list[XlsSheet]:
    bound = []
    for kind, data, extra in _records(stream):
        if kind == EOF:
            break
        if kind == BOUNDSHEET:
            if len(data) < 8:
                raise XlsProblem("record", what="BoundSheet8")
            position = _u32(data, 0)
            if position > len(stream):
                raise XlsProblem("record", what="BoundSheet8")
            bound.append((position, data))
        elif kind == SST and len(data) >= 8:
            count = struct.unpack_from("<i", data, 4)[0]
            if count < 0 or 3 * count > len(data) - 8 + extra:  # each string takes three bytes at least
                raise XlsProblem("strings", count=count)
    sheets = []
    for position, data in bound:
        sheet = XlsSheet(_sheet_name(data))
        formula_at = (0, 0)
        for kind, data, _ in _records(stream, position):
            if kind == EOF:
                break
            if kind == DIMENSIONS:  # reserved each time it is met: the largest counts
                declared = _dimensions(data)
                if declared[0] * declared[1] > sheet.declared[0] * sheet.declared[1]:
                    sheet.declared = declared
            elif kind in CELL_RECORDS and len(data) >= CELL_RECORDS[kind]:  # shorter: calamine's error
                row, column = _u16(data, 0), _u16(data, 2)
                if kind == 0x00BD:  # MulRk: a run of cells from column to the last one
                    last = column + (len(data) - 6) // 6 - 1
                    sheet.extent.add(row + 1, column + 1)
                    column = max(column, last)
                elif kind == 0x0006:
                    formula_at = (row, column)
                sheet.extent.add(row + 1, column + 1)
            elif kind == STRING:
                sheet.extent.add(formula_at[0] + 1, formula_at[1] + 1)
        sheets.append(sheet)
    return sheets


def _dimensions(data: bytes) -> tuple[int, int]:
    """Rows × columns calamine reserves from a DIMENSIONS record (u32 arithmetic that wraps)."""
    if len(data) == 10:
        first_row, last_row, first_column, last_column = struct.unpack_from("<HHHH", data)
    elif len(data) == 14:
        first_row, last_row, first_column, last_column = struct.unpack_from("<IIHH", data)
    else:
        return 0, 0  # calamine's error
    if last_row < 1 or last_column < 1:
        return 1, 1
    return (last_row - 1 - first_row) % (1 << 32) + 1, (last_column - 1 - first_column) % (1 << 32) + 1


def _sheet_name(data: bytes) -> str:
    """The name in a BoundSheet8 record, for messages (calamine decodes it with the code page;
    Latin-1 or UTF-16 here is enough to name it)."""
    length, flags = data[6], data[7] if len(data) > 7 else 0
    text = data[8:8 + 2 * length].decode("utf-16-le", "replace") if flags & 1 else \
        data[8:8 + length].decode("latin-1")
    return text.replace("\0", "")
