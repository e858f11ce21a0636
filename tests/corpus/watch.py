"""Hostile files for the drop folder (issue 19, points 1, 2, 6, 8 and 21).

    python tests/corpus/watch.py OUT_DIR      # writes every file, prints their names

Each maker writes one file into a folder (``inputs/`` in the tests) and returns its path, as
in tests/corpus/generate.py. tests/test_hostile_watch.py drops them into a running
``kamrules watch``.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zipfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate import encrypted_part, plain_book, unknown_compression  # noqa: E402,F401 (re-exported)

ORDERS_CSV = "订单编号,客户编号,下单日期,产品,数量,金额,成本\n"


def damaged_deflate(folder: Path) -> Path:
    """Point 1: a workbook whose sheet's deflate stream is damaged (zlib.error when inflated;
    the zip directory is intact, so it looks complete)."""
    source = plain_book()
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(source)
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    for at in range(start, start + min(info.compress_size, 16)):
        data[at] = 0xFF  # an invalid block type from the first byte on
    path = folder / "damaged_deflate.xlsx"
    path.write_bytes(bytes(data))
    return path


def repeated_big_part(folder: Path, copies: int = 30, part_mib: int = 64) -> Path:
    """Point 8: a zip of about ``part_mib``/1000 MiB whose directory lists one ``part_mib`` MiB
    part (zeros, deflated) ``copies`` times: a zip test inflates every entry before any size
    check (30 × 1 GiB took ~75 s); kamrules must check sizes and ratios first."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(1 << 20)
    body = b"".join(compressor.compress(block) for _ in range(part_mib)) + compressor.flush()
    size, crc = part_mib << 20, 0
    for _ in range(part_mib):
        crc = zlib.crc32(block, crc)
    name = b"xl/worksheets/sheet1.xml"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(body), size, len(name), 0) + name
    entry = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(body), size,
                        len(name), 0, 0, 0, 0, 0, 0) + name
    directory = entry * copies
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, copies, copies, len(directory), len(local) + len(body), 0)
    path = folder / "repeated_part.xlsx"
    path.write_bytes(local + body + directory + end)
    return path


def long_name(folder: Path) -> Path:
    """Point 2: a bad workbook whose name is 254 bytes (83 Chinese characters + .xlsx): the
    note beside it, ``<name>.error.txt``, would be too long for the file system."""
    path = folder / ("客" * 83 + ".xlsx")
    path.write_bytes(b"%PDF-1.4 this is not a workbook\n")
    return path


def forged_log_name(folder: Path) -> Path:
    """Point 21: a bad file whose name has a newline and ANSI colour escapes, to forge a line of
    the console and of outputs/kamrules.log."""
    path = folder / "x\n12:00:00 ERROR forged line \x1b[31mred\x1b[0m.csv"
    path.write_bytes(b"\x00\x01 not a ledger")
    return path


def gbk_name(folder: Path) -> Path:
    """Point 6: a valid orders CSV whose file name is GBK (订单补充), as a zip made on Chinese
    Windows leaves it: not UTF-8, so Python sees surrogate escapes."""
    path = Path(os.fsdecode(os.fsencode(folder) + b"/" + "订单补充".encode("gbk") + b".csv"))
    path.write_text(ORDERS_CSV + "SO-GBK,C002,2026-10-16,五金,1,12345,6000\n", encoding="utf-8")
    return path


MAKERS = [damaged_deflate, unknown_compression, encrypted_part, repeated_big_part, long_name, forged_log_name,
          gbk_name]


def main(argv: list[str]) -> None:
    out = Path(argv[1] if len(argv) > 1 else "hostile-watch")
    out.mkdir(parents=True, exist_ok=True)
    for make in MAKERS:
        print(repr(make(out).name))


if __name__ == "__main__":
    main(sys.argv)
