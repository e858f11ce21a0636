"""Results computed from the whole ledger, kept between runs beside the parsed-ledger cache.

A run after a rule change reads the same inputs with the same mapping: the checks across files
(:mod:`kamrules.ledger.validate`) and the per-customer metrics would come out the same, and on a
year of order lines they are most of a warm run. Each result is kept in
``.kamrules/stages/<kind>-<key>/`` under a key that is the SHA-256 of everything it is computed
from: the inputs' contents and names, every dataset's whole mapping, the ``ledger:`` settings and
limits, the versions of kamrules and Polars, and the source code of the stages that compute it
(so an edited checkout never reuses a result of the code before). Anything not in the key is
not an input of the result; a key that differs is a miss, never a wrong reuse.

An entry is written like a parsed-ledger entry (:mod:`kamrules.ledger.cache`): into a temporary
folder renamed into place, ``entry.json`` checksummed and listing the SHA-256 of every Parquet
file; a damaged entry is removed and the result computed again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
import time
from pathlib import Path

import polars as pl

from ..errors import Issue, ModelFitError
from .cache import FORMAT as ENTRY_FORMAT
from .cache import (ABANDONED_SECONDS, ENTRY, KEEP_DAYS, TEMPORARY, TRASH, CacheDamaged, _age, _decode_issue,
                    _decode_value, _encode, _encode_issue, _folders, _remove, _touch, _verified, _write_parquet,
                    stages_root)

FORMAT = 1  # of a result's body; the entry around it is a cache entry (ENTRY_FORMAT)
KEPT_PER_KIND = 4  # a result per as_of date adds up: only the most recently used few are kept
# results kept per file (one per input file and as_of): room for a few runs of a year of monthly
# files; those of the last run are all kept, however many files it had
KEPT = {"sums": 64}


@functools.lru_cache(maxsize=None)
def code_digest(*packages: str) -> str:
    """SHA-256 of the source of kamrules' ``packages`` (sub-packages or modules, e.g. ``ledger``,
    ``types.py``): a result computed by other code is not reused, even under the same version."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in packages:
        target = root / package
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        for path in files:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def key_of(*parts) -> str:
    """The key of a result computed from ``parts`` (anything JSON can write)."""
    text = json.dumps(parts, sort_keys=True, default=str)  # ASCII: a file name not in UTF-8 is kept escaped
    return hashlib.sha256(text.encode()).hexdigest()[:40]


class StageCache:
    """Kept results of one project: ``load``/``store`` a JSON body and named frames by kind and key."""

    def __init__(self, root: Path):
        self.root = root
        self.problem: str | None = None  # why the last store failed, if it did

    @classmethod
    def beside(cls, cache_root: Path) -> "StageCache":
        """The results kept beside the parsed-ledger cache at ``cache_root``."""
        return cls(stages_root(cache_root))

    def load(self, kind: str, key: str) -> tuple[dict, dict[str, pl.DataFrame]] | None:
        folder = self.root / self.folder_name(kind, key)
        if not folder.is_dir():
            return None
        try:
            body = _verified(folder)
            if body.get("kind") != kind or body.get("stage_format") != FORMAT:
                raise CacheDamaged("another kind")
            frames = {name: pl.read_parquet(folder / part["path"]) for name, part in body["parts"].items()}
        except (CacheDamaged, OSError, KeyError, TypeError, ValueError, pl.exceptions.PolarsError):
            _remove(folder)
            return None
        _touch(folder / ENTRY)
        return body["body"], frames

    def store(self, kind: str, key: str, body: dict, frames: dict[str, pl.DataFrame], prune: bool = True) -> None:
        """``prune``: False when the caller prunes once it has stored all it needs (:meth:`prune`)."""
        folder = self.root / self.folder_name(kind, key)
        temporary = self.root / f"{TEMPORARY}{kind}-{key}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            temporary.mkdir()
            parts = {name: _write_parquet(frame, temporary / f"part-{index}.parquet")
                     for index, (name, frame) in enumerate(frames.items())}
            entry = {"format": ENTRY_FORMAT, "stage_format": FORMAT, "kind": kind, "body": body, "parts": parts}
            text = json.dumps(entry, separators=(",", ":"))  # ASCII, like the key
            checksum = hashlib.sha256(text.encode()).hexdigest()
            (temporary / ENTRY).write_text(f"{checksum}\n{text}", encoding="utf-8")
            if folder.exists():  # stored meanwhile by another process under the same key: the same result
                _remove(temporary)
            else:
                os.rename(temporary, folder)
        except (OSError, TypeError, ValueError, pl.exceptions.PolarsError) as exc:  # a full disk, a read-only project
            _remove(temporary)
            if not folder.is_dir():  # not a race lost to another process
                self.problem = str(getattr(exc, "strerror", None) or exc)
            return
        if prune:
            self.prune(kind, keep=folder.name)

    def prune(self, kind: str, keep: str | set[str], now: float | None = None) -> None:
        """Of ``kind``, keep the entries named in ``keep`` (a run's own: however many files it has)
        and the most recently used others up to :data:`KEPT_PER_KIND` (or :data:`KEPT`) in all, none
        older than :data:`KEEP_DAYS`; remove temporary folders left by a process that died."""
        now = time.time() if now is None else now
        keep = {keep} if isinstance(keep, str) else keep
        mine = []
        for folder in _folders(self.root):
            if folder.name.startswith((TEMPORARY, TRASH)):
                if _age(folder, now) > ABANDONED_SECONDS:
                    _remove(folder)
            elif folder.name.startswith(f"{kind}-") and folder.name not in keep:
                mine.append((_age(folder / ENTRY, now), folder))
        mine.sort(key=lambda pair: pair[0])
        others = max(0, KEPT.get(kind, KEPT_PER_KIND) - len(keep))
        for rank, (age, folder) in enumerate(mine):
            if rank >= others or age > KEEP_DAYS * 86400:
                _remove(folder)

    @staticmethod
    def folder_name(kind: str, key: str) -> str:
        return f"{kind}-{key}"


def encode_issues(issues: list[Issue]) -> list:
    return [_encode_issue(issue) for issue in issues]


def decode_issues(stored: list) -> list[Issue]:
    """The issues as they were stored (their file names are part of the key)."""
    return [_decode_issue(values, None) for values in stored]


def encode_fit_error(error: ModelFitError) -> dict:
    return {"message": _encode(error.message), "suggestion": _encode(error.suggestion), "model": error.model,
            "customers": error.customers, "repeat_customers": error.repeat_customers}


def decode_fit_error(stored: dict) -> ModelFitError:
    return ModelFitError(_decode_value(stored["message"]), suggestion=_decode_value(stored["suggestion"]),
                         model=stored["model"], customers=stored["customers"],
                         repeat_customers=stored["repeat_customers"])
