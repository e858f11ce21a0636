"""Checks on an input file before any parser sees it (SECURITY.md, "inputs/").

calamine is a careful parser, but it will inflate whatever a zip declares and reports a
renamed PDF as "invalid Zip archive". So, first: the size; what the bytes really are (an
encrypted workbook, a PDF or an image renamed ``.xlsx`` each get their own message); for a
zip, the declared inflated sizes and ratios (zip bombs) and any DTD in its XML (entity
bombs and external entities: Excel never writes a ``<!DOCTYPE``).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from openpyxl.utils import get_column_letter

from ..errors import LedgerError
from ..i18n import msg
from ..limits import Limits, env_name
from .xlsx_inspect import ZIP_ERRORS, column_index, sheet_members

OLE = bytes.fromhex("D0CF11E0A1B11AE1")
SNIFF = 2048
PRESCAN_BYTES = 8 * (1 << 20)
_WIDE_REF = re.compile(rb'\br="([A-Z]{3,})[0-9]')  # three letters and more: column AAA (703) onward
MiB = 1 << 20
_KINDS = [
    (b"%PDF", msg("ledger.kind.pdf")),
    (bytes.fromhex("89504E47"), msg("ledger.kind.png")),
    (bytes.fromhex("FFD8FF"), msg("ledger.kind.jpeg")),
    (b"GIF8", msg("ledger.kind.gif")),
    (b"Rar!", msg("ledger.kind.rar")),
    (bytes.fromhex("377ABCAF"), msg("ledger.kind.7z")),
]


def check_input(path: Path, name: str, limits: Limits) -> None:
    """Raise LedgerError when ``path`` must not be handed to a parser."""
    size = path.stat().st_size
    if size > limits.max_input_bytes:
        raise LedgerError(msg("ledger.file_too_big", size=size / MiB, limit=limits.max_input_bytes / MiB),
                          file=name, suggestion=msg("ledger.split_or_raise", env=env_name("max_input_bytes")))
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm"):
        return
    with path.open("rb") as stream:
        head = stream.read(8)
    if head.startswith(OLE):
        raise LedgerError(msg("ledger.encrypted", suffix=suffix), file=name, suggestion=msg("ledger.encrypted.hint"))
    kind = next((label for magic, label in _KINDS if head.startswith(magic)), None)
    if kind is not None:
        raise LedgerError(msg("ledger.renamed", kind=kind, suffix=suffix), file=name,
                          suggestion=msg("ledger.renamed.hint"))
    if not head.startswith(b"PK"):
        raise LedgerError(msg("ledger.not_zip"), file=name, suggestion=msg("ledger.not_zip.hint"))
    _check_zip(path, name, limits)


def _check_zip(path: Path, name: str, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except ZIP_ERRORS:
        raise LedgerError(msg("ledger.damaged"), file=name, suggestion=msg("ledger.damaged.hint")) from None
    with archive:
        total = 0
        for info in archive.infolist():
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > MiB and ratio > limits.max_compression_ratio:
                raise LedgerError(msg("ledger.zip_bomb", part=info.filename, ratio=ratio, size=info.file_size / MiB,
                                      limit=limits.max_compression_ratio), file=name,
                                  suggestion=msg("ledger.zip_bomb.hint", env=env_name("max_compression_ratio")))
            if info.filename.endswith((".xml", ".rels")) and _declares_dtd(archive, info):
                raise LedgerError(msg("ledger.dtd", part=info.filename), file=name, suggestion=msg("ledger.dtd.hint"))
        _check_widths(archive, name, limits)
        if total > limits.max_uncompressed_bytes:
            raise LedgerError(msg("ledger.inflates", size=total / MiB, limit=limits.max_uncompressed_bytes / MiB),
                              file=name, suggestion=msg("ledger.split_or_raise", env=env_name("max_uncompressed_bytes")))


def _check_widths(archive: zipfile.ZipFile, name: str, limits: Limits) -> None:
    """A cell far to the right makes calamine build that many columns, which takes minutes for
    a few hundred thousand; the references are read before it is called. Only sheets up to
    PRESCAN_BYTES of XML (about 25,000 rows) are scanned, in milliseconds: a small file must not
    cost minutes. Larger sheets are checked by the column limit after reading (SECURITY.md)."""
    for sheet, member in sheet_members(archive).items():
        try:
            info = archive.getinfo(member)
        except KeyError:
            continue
        if info.file_size > PRESCAN_BYTES:
            continue
        try:
            with archive.open(info) as part:
                if hasattr(part, "_expected_crc"):
                    part._expected_crc = None  # calamine reads a part with a wrong checksum, so must we
                xml = part.read(PRESCAN_BYTES + 1)
        except ZIP_ERRORS:
            return  # calamine reports the damage with its own message
        widest = max((column_index(ref.decode()) + 1 for ref in _WIDE_REF.findall(xml)), default=0)
        if widest > limits.max_columns:
            letters = get_column_letter(widest) if widest <= 18_278 else msg("ledger.beyond_zzz")
            raise LedgerError(msg("ledger.too_wide", letters=letters, width=widest, limit=limits.max_columns),
                              file=name, sheet=sheet,
                              suggestion=msg("ledger.too_wide.hint", env=env_name("max_columns")))


def _declares_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    try:
        with archive.open(info) as part:
            head = part.read(SNIFF)
    except ZIP_ERRORS:
        return False  # calamine reports a damaged part with its own message
    return b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper()
