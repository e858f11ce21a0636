"""Checks on an input file before any parser sees it (SECURITY.md, "inputs/").

calamine is a careful parser, but it will inflate whatever a zip declares and reports a
renamed PDF as "invalid Zip archive". So, first: the size; what the bytes really are (an
encrypted workbook, a PDF or an image renamed ``.xlsx`` each get their own message); for a
zip, the declared inflated sizes and ratios (zip bombs) and any DTD in its XML (entity
bombs and external entities: Excel never writes a ``<!DOCTYPE``); for an old .xls, the
structure calamine would trust when it opens it (:mod:`kamrules.ledger.xls_inspect`). The
checks run on the bytes that are then parsed (never on the path again), and the kind of file is
told by its bytes, as calamine tells it: a zip is checked as a workbook whatever its name.
The sheets of an .xlsx are measured as they are read (:mod:`kamrules.ledger.readers`).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ..errors import LedgerError
from ..i18n import msg
from ..limits import Limits, env_name
from .readers import CellBudget
from .xls_inspect import OLE, XlsProblem, measure_xls
from .xlsx_inspect import ZIP_ERRORS

SNIFF = 2048
MiB = 1 << 20
OTHER_KINDS = {"xl/workbook.bin", "content.xml"}  # an .xlsb, an .ods
_KINDS = [
    (b"%PDF", msg("ledger.kind.pdf")),
    (bytes.fromhex("89504E47"), msg("ledger.kind.png")),
    (bytes.fromhex("FFD8FF"), msg("ledger.kind.jpeg")),
    (b"GIF8", msg("ledger.kind.gif")),
    (b"Rar!", msg("ledger.kind.rar")),
    (bytes.fromhex("377ABCAF"), msg("ledger.kind.7z")),
]


def check_input(source: Path | bytes, name: str, limits: Limits, suffix: str | None = None) -> None:
    """Raise LedgerError when ``source`` (the file's bytes, or a path) must not be handed to a
    parser. ``suffix``: the file's, when ``source`` is bytes."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        suffix = suffix or path.suffix
        size = path.stat().st_size
        if size > limits.max_input_bytes:
            _too_big(size, name, limits)
        source = path.read_bytes()
    data = source
    if len(data) > limits.max_input_bytes:
        _too_big(len(data), name, limits)
    suffix = (suffix or "").lower()
    if suffix not in (".xlsx", ".xlsm", ".xls"):
        return
    head = data[:8]
    if head.startswith(b"PK"):
        _check_zip(data, name, limits)
    elif suffix == ".xls":
        if head.startswith(OLE):
            _check_xls(data, name, limits)
    elif head.startswith(OLE):
        raise LedgerError(msg("ledger.encrypted", suffix=suffix), file=name, suggestion=msg("ledger.encrypted.hint"))
    else:
        kind = next((label for magic, label in _KINDS if head.startswith(magic)), None)
        if kind is not None:
            raise LedgerError(msg("ledger.renamed", kind=kind, suffix=suffix), file=name,
                              suggestion=msg("ledger.renamed.hint"))
        raise LedgerError(msg("ledger.not_zip"), file=name, suggestion=msg("ledger.not_zip.hint"))


def _too_big(size: int, name: str, limits: Limits):
    raise LedgerError(msg("ledger.file_too_big", size=size / MiB, limit=limits.max_input_bytes / MiB),
                      file=name, suggestion=msg("ledger.split_or_raise", env=env_name("max_input_bytes")))


def _check_zip(data: bytes, name: str, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS:
        raise LedgerError(msg("ledger.damaged"), file=name, suggestion=msg("ledger.damaged.hint")) from None
    with archive:
        total = 0
        names = set()
        for info in archive.infolist():
            names.add(info.filename)
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > MiB and ratio > limits.max_compression_ratio:
                raise LedgerError(msg("ledger.zip_bomb", part=info.filename, ratio=ratio, size=info.file_size / MiB,
                                      limit=limits.max_compression_ratio), file=name,
                                  suggestion=msg("ledger.zip_bomb.hint", env=env_name("max_compression_ratio")))
            if info.flag_bits & 1:
                raise LedgerError(msg("ledger.zip_encrypted_part", part=info.filename), file=name,
                                  suggestion=msg("ledger.dtd.hint"))
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise LedgerError(msg("ledger.zip_method", part=info.filename, method=info.compress_type), file=name,
                                  suggestion=msg("ledger.dtd.hint"))
            if info.filename.endswith((".xml", ".rels")) and _declares_dtd(archive, info):
                raise LedgerError(msg("ledger.dtd", part=info.filename), file=name, suggestion=msg("ledger.dtd.hint"))
        if total > limits.max_uncompressed_bytes:
            raise LedgerError(msg("ledger.inflates", size=total / MiB, limit=limits.max_uncompressed_bytes / MiB),
                              file=name, suggestion=msg("ledger.split_or_raise", env=env_name("max_uncompressed_bytes")))
        # calamine opens a zip as .xlsx if it can, else as .xlsb, else as .ods, whatever the name: only
        # the .xlsx sheets are measured before they are read, so the other two are not read at all
        if OTHER_KINDS & names:
            raise LedgerError(msg("ledger.not_xlsx"), file=name, suggestion=msg("ledger.not_zip.hint"))


MALFORMED = {
    "header": lambda **v: msg("ledger.malformed.header", **v),
    "listed": lambda **v: msg("ledger.malformed.listed", **v),
    "sector": lambda **v: msg("ledger.malformed.sector", **v),
    "reserve": lambda **v: msg("ledger.malformed.reserve", **v),
    "chain": lambda **v: msg("ledger.malformed.chain", **v),
    "stream": lambda **v: msg("ledger.malformed.stream", **v),
    "record": lambda **v: msg("ledger.malformed.record", **v),
    "strings": lambda **v: msg("ledger.malformed.strings", **v),
}


def _check_xls(data: bytes, name: str, limits: Limits) -> None:
    try:
        sheets = measure_xls(data)
    except XlsProblem as problem:
        raise LedgerError(msg("ledger.malformed", detail=MALFORMED[problem.key](**problem.values)),
                          file=name, suggestion=msg("ledger.malformed.hint")) from None
    if sheets is None:
        return  # calamine refuses it with its own message
    budget = CellBudget(name, limits)
    for sheet in sheets:
        rows, columns = sheet.declared
        if rows * columns > limits.max_cells and rows * columns > sheet.extent.cells:
            raise LedgerError(msg("ledger.xls_declared", rows=rows, columns=columns, cells=rows * columns,
                                  limit=limits.max_cells), file=name, sheet=sheet.name,
                              suggestion=msg("ledger.too_many_cells.hint", env=env_name("max_cells")))
        budget.check(sheet.name, sheet.extent, sheet.cells)


def _declares_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    try:
        with archive.open(info) as part:
            head = part.read(SNIFF)
    except ZIP_ERRORS:
        return False  # calamine reports a damaged part with its own message
    return b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper()
