"""Reading a file of the project: only regular files, never through a link that leaves it.

Every file kamrules reads (inputs, rules, templates) is read here or checked with the same
policy: a symbolic link is followed only when its target is inside the project (a rulebook
shared between projects is copied in, not linked: a link could otherwise put any readable file
of the machine into a run folder, or a client's document); a named pipe, socket or device is
never opened (a pipe would block the run for ever). The bytes are read through one descriptor,
opened without blocking and checked with ``fstat``, so what was checked is what is parsed even
if the path is swapped meanwhile.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
from pathlib import Path

from .i18n import Text, msg

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_OPEN = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_PIECE = 1 << 24


class RefusedFile(Exception):
    """A file kamrules will not read.

    Attributes:
        reason: "link_outside", "link_missing", "fifo", "socket", "device", "other", "too_big"
            or "unreadable".
        words: why, as a message (:func:`refusal`).
        size: the file's size in bytes for "too_big", else None.
        detail: the operating system's words for "unreadable", else None.
    """

    def __init__(self, reason: str, size: int | None = None, detail: str | None = None):
        self.reason, self.size, self.detail = reason, size, detail
        self.words = msg("file.unreadable", reason=detail or reason) if reason == "unreadable" else refusal(reason)
        super().__init__(str(self.words))


REFUSALS = {"link_outside": msg("file.refused.link_outside"), "link_missing": msg("file.refused.link_missing"),
            "fifo": msg("file.refused.fifo"), "socket": msg("file.refused.socket"),
            "device": msg("file.refused.device"), "other": msg("file.refused.other"),
            "too_big": msg("file.refused.too_big"), "unreadable": msg("file.refused.unreadable")}


def refusal(reason: str) -> Text:
    """Why a file of ``reason`` (see :class:`RefusedFile`) is not read."""
    return REFUSALS[reason]


def inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether ``path`` (links resolved) is ``root`` or below it (``root`` resolved too)."""
    target, base = os.path.realpath(path), os.path.realpath(root)
    return target == base or target.startswith(base.rstrip(os.sep) + os.sep)


def kind(mode: int) -> str | None:
    """None for a regular file, else the reason it is refused."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "other"


def check(path: Path, root: Path) -> str | None:
    """Why ``path`` would be refused (without opening it), or None if it may be read."""
    if not inside(path, root):
        return "link_outside"
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "link_missing" if os.path.islink(path) else "unreadable"
    except OSError:
        return "unreadable"
    return None if stat.S_ISDIR(mode) else kind(mode)


def read_regular(path: Path, root: Path, limit: int | None = None) -> bytes:
    """The bytes of ``path``, a regular file inside ``root`` of at most ``limit`` bytes; else
    :class:`RefusedFile`."""
    if not inside(path, root):
        raise RefusedFile("link_outside")
    try:
        descriptor = os.open(os.path.realpath(path), _OPEN | _NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link put there since the path was resolved
            raise RefusedFile("link_outside") from None
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise RefusedFile("link_missing") from None
        raise RefusedFile("unreadable", detail=exc.strerror or str(exc)) from None
    try:
        status = os.fstat(descriptor)
        reason = kind(status.st_mode)
        if reason:
            raise RefusedFile(reason)
        if limit is not None and status.st_size > limit:
            raise RefusedFile("too_big", size=status.st_size)
        return _read_all(descriptor, limit)
    except OSError as exc:
        raise RefusedFile("unreadable", detail=exc.strerror or str(exc)) from None
    finally:
        os.close(descriptor)


def _read_all(descriptor: int, limit: int | None) -> bytes:
    pieces, size = [], 0
    while True:
        piece = os.read(descriptor, _PIECE if limit is None else min(_PIECE, limit + 1 - size))
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
        if limit is not None and size > limit:  # the file grew while read
            raise RefusedFile("too_big", size=size)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content, read in pieces (a year of ledgers is never in memory at once)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while piece := handle.read(1 << 22):
            digest.update(piece)
    return digest.hexdigest()


def write_replacing(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all: into a temporary file beside it, renamed over
    it. On failure the temporary file is removed and the OSError raised (the caller decides)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass
        raise
