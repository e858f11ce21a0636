"""The malicious and broken files of SECURITY.md, generated (nothing opaque is committed).

    python tests/corpus/generate.py OUT_DIR      # writes every file, prints their names

Each maker writes one file into a folder and returns its path. The tests
(tests/test_hostile_input.py) put each file into a project and run ``kamrules run`` or
``kamrules check`` on it.
"""

from __future__ import annotations

import io
import random
import sys
import zipfile
from pathlib import Path

import openpyxl

HEADER = ["订单编号", "客户编号", "下单日期", "产品", "数量", "金额"]
CUSTOMERS = [["客户编号", "客户名称"], ["C001", "一号客户"]]


def _book(rows: list[list], extra: dict[str, list[list]] | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "销售明细"
    for row in rows:
        ws.append(row)
    customers = wb.create_sheet("客户档案")
    for row in CUSTOMERS:
        customers.append(row)
    for title, more in (extra or {}).items():
        sheet = wb.create_sheet(title)
        for row in more:
            sheet.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _rewrite(data: bytes, change, extra: dict[str, bytes] | None = None) -> bytes:
    """Copy a zip (workbook or document), letting ``change(name, bytes)`` replace any member, and
    adding the members of ``extra``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info)))
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def plain_book() -> bytes:
    return _book([HEADER, ["SO1", "C001", "2026-10-01", "钢材", 1, 100.0]])


# --- workbooks ----------------------------------------------------------------------------

def zip_bomb(folder: Path) -> Path:
    """A valid workbook whose sheet XML inflates to 1.5 GB (ratio ~1000:1)."""
    path = folder / "zip_bomb.xlsx"
    source = zipfile.ZipFile(io.BytesIO(plain_book()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                with target.open(info.filename, "w", force_zip64=True) as sheet:
                    head, _, tail = data.partition(b"</sheetData>")
                    sheet.write(head)
                    padding = b"<!--" + b" " * (1 << 20) + b"-->"
                    for _ in range(1500):
                        sheet.write(padding)
                    sheet.write(b"</sheetData>" + tail)
            else:
                target.writestr(info.filename, data)
    return path


def _entity_bomb(xml: bytes) -> bytes:
    laughs = [b'<!ENTITY lol0 "lol">'] + [
        b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10)]
    doctype = b"<!DOCTYPE worksheet [" + b"".join(laughs) + b"]>"
    start = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    return xml[:start] + doctype + xml[start:].replace(b"<v>100</v>", b"<v>&lol9;</v>", 1)


def xml_bomb_sheet(folder: Path) -> Path:
    path = folder / "xml_bomb_sheet.xlsx"
    path.write_bytes(_rewrite(plain_book(), lambda n, d: _entity_bomb(d) if n == "xl/worksheets/sheet1.xml" else d))
    return path


def xml_bomb_shared_strings(folder: Path) -> Path:
    """Billion laughs in sharedStrings.xml (the text cells live there)."""
    def change(name, data):
        if name != "xl/sharedStrings.xml":
            return data
        return _entity_bomb(data).replace(b"<t>SO1</t>", b"<t>&lol9;</t>", 1)

    path = folder / "xml_bomb_shared_strings.xlsx"
    path.write_bytes(_rewrite(_book_with_shared_strings(), change))
    return path


def _book_with_shared_strings() -> bytes:
    """openpyxl writes inline strings; xlsxwriter puts text in sharedStrings.xml, as Excel does."""
    import xlsxwriter

    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as wb:
        for title, rows in (("销售明细", [HEADER, ["SO1", "C001", "2026-10-01", "钢材", 1, 100.0]]),
                            ("客户档案", CUSTOMERS)):
            sheet = wb.add_worksheet(title)
            for r, row in enumerate(rows):
                sheet.write_row(r, 0, row)
    return buffer.getvalue()


def external_entity(folder: Path) -> Path:
    """An XXE: an entity that points at a local file must never be read."""
    def change(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        doctype = b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        start = data.index(b"?>") + 2 if data.startswith(b"<?xml") else 0
        return data[:start] + doctype + data[start:].replace(b"<v>100</v>", b"<v>&xxe;</v>", 1)

    path = folder / "external_entity.xlsx"
    path.write_bytes(_rewrite(plain_book(), change))
    return path


def truncated_zip(folder: Path) -> Path:
    data = plain_book()
    path = folder / "truncated.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return path


def mangled_zip_directory(folder: Path) -> Path:
    """A part name marked UTF-8 in the zip directory that is not UTF-8 (found by fuzz/fuzz_workbook.py)."""
    data = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain_book())) as source, zipfile.ZipFile(data, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("xl/ü.xml", b"<x/>")  # a non-ASCII name: zipfile sets the UTF-8 flag
    raw = data.getvalue()
    at = raw.rindex("ü".encode())  # the central directory's copy of the name
    path = folder / "mangled.xlsx"
    path.write_bytes(raw[:at] + b"\xea\xff" + raw[at + 2:])
    return path


def unknown_compression(folder: Path) -> Path:
    """A part compressed with a method zip readers do not know (found by fuzz/fuzz_workbook.py)."""
    data = bytearray(plain_book())
    header = data.rindex(b"xl/styles.xml") - 46  # the central directory entry: 46 fixed bytes, then the name
    assert data[header:header + 4] == b"PK\x01\x02"
    data[header + 10:header + 12] = (99).to_bytes(2, "little")
    path = folder / "unknown_compression.xlsx"
    path.write_bytes(bytes(data))
    return path


def encrypted_part(folder: Path) -> Path:
    """A zip whose workbook relationships are marked as zip-encrypted (found by fuzz/fuzz_workbook.py)."""
    data = bytearray(plain_book())
    header = data.rindex(b"xl/_rels/workbook.xml.rels") - 46
    assert data[header:header + 4] == b"PK\x01\x02"
    data[header + 8] |= 1  # general purpose flag bit 0: encrypted
    path = folder / "encrypted_part.xlsx"
    path.write_bytes(bytes(data))
    return path


def password_protected(folder: Path) -> Path:
    """What Excel writes for a password-protected workbook: an OLE compound file, not a zip."""
    header = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16 + bytes.fromhex("3E000300FEFF0900")
    body = header + b"\0" * (512 - len(header)) + "EncryptionInfo".encode("utf-16-le") + b"\0" * 4096
    path = folder / "password.xlsx"
    path.write_bytes(body)
    return path


def pdf_renamed(folder: Path) -> Path:
    path = folder / "report.pdf.xlsx"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    return path


def png_renamed(folder: Path) -> Path:
    path = folder / "photo.xlsx"
    path.write_bytes(bytes.fromhex("89504E470D0A1A0A") + b"\0\0\0\rIHDR" + b"\0" * 64)
    return path


def wide_sheet(folder: Path) -> Path:
    """16,384 columns (Excel's maximum) in the header row."""
    row = HEADER + [f"列{i}" for i in range(len(HEADER), 16384)]
    path = folder / "wide.xlsx"
    path.write_bytes(_book([row, ["SO1", "C001", "2026-10-01", "钢材", 1, 100.0]]))
    return path


def far_column(folder: Path) -> Path:
    """One cell in column AAAA, beyond Excel's XFD: calamine would build 18,279 columns, and a
    few hundred thousand take it minutes (found by fuzz/fuzz_workbook.py)."""
    def change(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        assert b'r="F2"' in data
        return data.replace(b'r="F2"', b'r="AAAA2"', 1)

    path = folder / "far_column.xlsx"
    path.write_bytes(_rewrite(plain_book(), change))
    return path


def huge_cell(folder: Path) -> Path:
    """A single 10 MB cell (Excel and openpyxl stop at 32,767 characters, so the XML is edited;
    random letters, so it does not compress like a zip bomb)."""
    def change(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        assert b"<t>steel</t>" in data
        text = random.Random(11).choices(b"abcdefghijklmnopqrstuvwxyz0123456789", k=10_000_000)
        return data.replace(b"<t>steel</t>", b"<t>" + bytes(text) + b"</t>", 1)

    path = folder / "huge_cell.xlsx"
    path.write_bytes(_rewrite(_book([HEADER, ["SO1", "C001", "2026-10-01", "steel", 1, 100.0]]), change))
    return path


def empty_formatted_rows(folder: Path) -> Path:
    """1,048,576 rows that hold nothing but formatting, as "select all → fill colour" leaves."""
    def change(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        head, _, tail = data.partition(b"</sheetData>")
        rows = b"".join(b'<row r="%d" s="1" customFormat="1" ht="15"/>' % r for r in range(3, 1048577))
        return (head + rows + b"</sheetData>" + tail).replace(b'<dimension ref="A1:F2"/>',
                                                               b'<dimension ref="A1:XFD1048576"/>')

    path = folder / "formatted_rows.xlsx"
    path.write_bytes(_rewrite(plain_book(), change))
    return path


def external_formula(folder: Path) -> Path:
    """A formula that reads another workbook (with its saved value, as Excel stores it)."""
    wb = openpyxl.load_workbook(io.BytesIO(plain_book()))
    wb["销售明细"]["F2"] = "='[other.xlsx]Sheet1'!A1*2"
    buffer = io.BytesIO()
    wb.save(buffer)
    path = folder / "external_formula.xlsx"
    path.write_bytes(buffer.getvalue())
    return path


WORKBOOKS = [zip_bomb, xml_bomb_sheet, xml_bomb_shared_strings, external_entity, truncated_zip, mangled_zip_directory,
             unknown_compression, encrypted_part, password_protected,
             pdf_renamed, png_renamed, wide_sheet, far_column, huge_cell, empty_formatted_rows, external_formula]


# --- YAML ---------------------------------------------------------------------------------

def yaml_alias_bomb(folder: Path) -> Path:
    """Ten levels of ten aliases each: 10^10 values once expanded, in keys the schema reads."""
    levels = ["  - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path = folder / "alias_bomb.yaml"
    path.write_text("kamrules: 1\nlevels:\n" + "\n".join(levels) + "\ncompany: {name: *a9}\n", encoding="utf-8")
    return path


def yaml_deep_nesting(folder: Path) -> Path:
    path = folder / "deep.yaml"
    path.write_text("kamrules: 1\ndeep: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    return path


def yaml_python_object(folder: Path) -> Path:
    path = folder / "python_object.yaml"
    path.write_text("kamrules: 1\nx: !!python/object/apply:os.system ['echo pwned > pwned.txt']\n", encoding="utf-8")
    return path


def yaml_duplicate_keys(folder: Path) -> Path:
    path = folder / "duplicate.yaml"
    path.write_text("kamrules: 1\nlocale: zh_CN\nlocale: en_US\n", encoding="utf-8")
    return path


def yaml_not_utf8(folder: Path) -> Path:
    path = folder / "gbk.yaml"
    path.write_bytes("kamrules: 1\n# 规则说明\n".encode("gbk") + b"\xff\xfe\n")
    return path


def yaml_50mb(folder: Path) -> Path:
    path = folder / "huge.yaml"
    with path.open("w", encoding="utf-8") as out:
        out.write("kamrules: 1\n")
        line = "# " + "注释" * 40 + "\n"
        for _ in range(50 * (1 << 20) // len(line.encode())):
            out.write(line)
    return path


YAML_FILES = [yaml_alias_bomb, yaml_deep_nesting, yaml_python_object, yaml_duplicate_keys, yaml_not_utf8, yaml_50mb]


def main(argv: list[str]) -> None:
    out = Path(argv[0] if argv else "corpus")
    out.mkdir(parents=True, exist_ok=True)
    for maker in WORKBOOKS + YAML_FILES:
        print(maker(out))


if __name__ == "__main__":
    main(sys.argv[1:])
