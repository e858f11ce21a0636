"""Inputs that made a reader abort the process, or read what it must not (issue 19, points 9-12,
15, 17), generated: nothing opaque is committed.

    python tests/corpus/readers.py OUT_DIR      # writes every small file, prints their names

Each maker writes one file into a folder and returns its path, as in ``generate.py``. The big
ones (``csv_wide_line``, 50 MB; ``csv_200mb``) are written on demand by the tests that need them
and removed with the test's folder.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate import CUSTOMERS, HEADER, _book, plain_book  # noqa: E402

ORDERS = "销售明细"


def _sheet_xml(rows_xml: bytes) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b"<sheetData>" + rows_xml + b"</sheetData></worksheet>")


def _with_orders_sheet(rows_xml: bytes) -> bytes:
    """The plain workbook with its first sheet (销售明细) replaced by ``rows_xml``."""
    source = zipfile.ZipFile(io.BytesIO(plain_book()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = _sheet_xml(rows_xml)
            target.writestr(info.filename, data)
    return out.getvalue()


def _inline(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def _header_row() -> bytes:
    return b'<row r="1">' + b"".join(_inline(f"{chr(65 + i)}1", h) for i, h in enumerate(HEADER)) + b"</row>"


# --- .xlsx: a dense grid from a few bytes (point 9) -------------------------------------------

def row_50_million(folder: Path) -> Path:
    """One cell in row 50,000,000: calamine would build 50 million rows × 6 columns (5.5 KB)."""
    path = folder / "row_50_million.xlsx"
    path.write_bytes(_with_orders_sheet(_header_row() + b'<row r="50000000"><c r="A50000000"><v>1</v></c></row>'))
    return path


def two_far_corners(folder: Path) -> Path:
    """Cells at BZT1 and A1048576, inside the rows (1,048,576) and columns (2,048) limits: a grid of
    2,147,483,648 cells (5.6 KB)."""
    path = folder / "two_far_corners.xlsx"
    path.write_bytes(_with_orders_sheet(b'<row r="1">' + _inline("A1", HEADER[0]) + b'<c r="BZT1"><v>1</v></c></row>'
                                        b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>'))
    return path


def row_without_references(folder: Path) -> Path:
    """One row of 300,000 cells without r="…" (calamine puts each after the one before: 300,000
    columns, which no cell reference shows) and one cell in row 2,000: 600 million cells."""
    import random

    values = random.Random(19).choices(range(10**9), k=300_000)  # random: not a zip bomb by ratio
    path = folder / "row_without_references.xlsx"
    path.write_bytes(_with_orders_sheet(b"<row>" + b"".join(b"<c><v>%d</v></c>" % v for v in values) + b"</row>"
                                        b'<row r="2000"><c r="A2000"><v>1</v></c></row>'))
    return path


# --- .xls: counts calamine trusts (point 10) --------------------------------------------------

def _xls(sheets: dict[str, list[tuple[int, int, object]]]) -> bytes:
    import xlwt

    book = xlwt.Workbook()
    for title, cells in sheets.items():
        sheet = book.add_sheet(title)
        for row, column, value in cells:
            sheet.write(row, column, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _small_xls() -> bytes:
    return _xls({ORDERS: [(0, i, h) for i, h in enumerate(HEADER)] + [(1, 0, "SO1"), (1, 1, "C001")]})


def xls_dimensions_claim(folder: Path) -> Path:
    """A valid .xls whose DIMENSIONS record claims 4,294,967,295 rows: calamine reserves that many cells."""
    data = bytearray(_small_xls())
    at = data.index(struct.pack("<HH", 0x0200, 14))  # the sheet's DIMENSIONS record (BIFF8: 14 bytes)
    data[at + 8:at + 12] = struct.pack("<I", 0xFFFFFFFF)  # rwMac, one past the last row
    path = folder / "dimensions_claim.xls"
    path.write_bytes(bytes(data))
    return path


def xls_fat_claim(folder: Path) -> Path:
    """A valid .xls whose OLE header claims 0x7FFFFFFF FAT sectors: calamine reserves 8 GiB for them."""
    data = bytearray(_small_xls())
    data[44:48] = struct.pack("<I", 0x7FFFFFFF)
    path = folder / "fat_claim.xls"
    path.write_bytes(bytes(data))
    return path


def xls_four_far_sheets(folder: Path) -> Path:
    """A valid .xls of 4 sheets, each with one cell at IV65536 (Excel 97's last cell): 16,777,216
    cells a sheet, all of them read when calamine opens the file (5.6 KB)."""
    path = folder / "four_far_sheets.xls"
    path.write_bytes(_xls({f"S{i}": [(0, 0, "x"), (65535, 255, "z")] for i in range(4)}))
    return path


# --- CSV (point 11) ---------------------------------------------------------------------------

def csv_wide_line(folder: Path) -> Path:
    """One 50 MB line of ``a,``: 25 million columns."""
    path = folder / "wide_line.csv"
    with path.open("wb") as out:
        piece = b"a," * (1 << 20)
        for _ in range(25):
            out.write(piece)
        out.write(b"\n")
    return path


def csv_200mb(folder: Path) -> Path:
    """200 MB of ordinary order rows (well under the 512 MiB input limit): 4.9 million rows."""
    path = folder / "orders_200mb.csv"
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(",".join(HEADER) + "\n")
        written, i = 0, 0
        while written < 200 * (1 << 20):
            lines = "".join(f"SO{n},C001,2026-10-01,钢材,1,100.00\n" for n in range(i, i + 10_000))
            out.write(lines)
            written += len(lines.encode("utf-8"))
            i += 10_000
    return path


# --- what is not a spreadsheet in inputs/ (points 12, 15) --------------------------------------

def outside_csv(folder: Path) -> Path:
    """A CSV of a customer that is not this project's, outside it (the target of a link)."""
    path = folder / "elsewhere.csv"
    path.write_text("客户编号,客户名称\nC777,外部客户\n", encoding="utf-8")
    return path


def other_ledger(folder: Path) -> Path:
    """Another project's ledger (the target of a link)."""
    path = folder / "other_ledger.xlsx"
    path.write_bytes(_book([HEADER, ["SO9", "C888", "2026-10-01", "外部产品", 1, 9.0]],
                           {"客户档案": CUSTOMERS + [["C888", "别家客户"]]}))
    return path


def link(folder: Path, name: str, target: Path) -> Path:
    path = folder / name
    path.symlink_to(target)
    return path


def fifo(folder: Path, name: str = "pipe.xlsx") -> Path:
    """A named pipe with a spreadsheet's name: opening it for reading blocks until a writer comes."""
    path = folder / name
    os.mkfifo(path)
    return path


def socket_file(folder: Path, name: str = "socket.csv") -> Path:
    """A Unix socket with a spreadsheet's name (the returned socket object keeps it bound)."""
    import socket

    path = folder / name
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    here = os.getcwd()
    os.chdir(folder)  # a relative name: a socket's path is limited to about 100 bytes
    try:
        server.bind(name)
    finally:
        os.chdir(here)
    socket_file.open.append(server)
    return path


socket_file.open = []


SMALL = [row_50_million, two_far_corners, row_without_references, xls_dimensions_claim, xls_fat_claim,
         xls_four_far_sheets]


def main(argv: list[str]) -> None:
    out = Path(argv[0] if argv else "corpus")
    out.mkdir(parents=True, exist_ok=True)
    for maker in SMALL:
        print(maker(out))


if __name__ == "__main__":
    main(sys.argv[1:])
