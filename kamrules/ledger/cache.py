"""The parsed-ledger cache: each input file's typed rows, issues and sheets, kept as Parquet.

An entry lives in ``.kamrules/cache/<key>/`` of the project, where the key is the SHA-256 of
the file's bytes together with everything global that shapes a parse: the cache format, the
versions of kamrules, Polars and fastexcel, the ``ledger:`` settings and the input limits. The
mapping of each dataset is checked per entry instead, so that editing one dataset's mapping
re-parses only the files that hold a sheet of it: an entry keeps every sheet's first rows
(the header search rows) and is used only if each sheet still matches the same dataset at the
same header, and each of those datasets' mapping has the digest it was read with.

An entry is written to a temporary folder and renamed into place, so it is whole or absent;
``entry.json`` begins with the SHA-256 of the rest of it, and lists the SHA-256 of every Parquet
file, checked on every use. A damaged, partial or foreign entry is removed and the file parsed
again, never used. Two processes storing the same entry (a run and ``watch``) race harmlessly:
the second rename fails and the second process uses the first one's entry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ..errors import Issue, LedgerError
from ..files import file_sha256
from ..i18n import Text
from ..limits import current as current_limits
from ..version import __version__
from .config import DatasetSpec, LedgerSettings
from .datasets import with_file
from .headers import HeaderMatch
from .matching import match_sheet, spec_digest
from .parsed import DatasetStats, FileRead, InputFile, SheetRecord

FORMAT = 1
ENTRY = "entry.json"
TEMPORARY, TRASH = ".tmp-", ".trash-"
KEEP_DAYS = 14  # an entry no run has used for this long is removed by the next run
ABANDONED_SECONDS = 3600  # a temporary folder this old was left by a run that died


def cache_root(project: Path) -> Path:
    return project / ".kamrules" / "cache"


def fits_root(root: Path) -> Path:
    """Where the predictive models' fits are kept (:data:`kamrules.metrics.predictive.FIT_STORE`),
    beside the cache at ``root``."""
    return root.parent / "fits"


def charts_root(root: Path) -> Path:
    """Where drawn charts are kept (:data:`kamrules.render.charts.CHART_STORE`), beside the cache at ``root``."""
    return root.parent / "charts"


def stages_root(root: Path) -> Path:
    """Where whole-ledger results are kept (:mod:`kamrules.ledger.stages`), beside the cache at ``root``."""
    return root.parent / "stages"


@dataclass
class CacheStats:
    """What one read of the ledger did with the cache (``files_*`` count input files)."""

    files_reused: int = 0
    files_parsed: int = 0
    damaged: int = 0  # entries found damaged (checksum, missing part): removed, file parsed again
    remapped: int = 0  # entries whose mapping changed: file parsed again
    problem: str | None = None  # why nothing could be written, if so

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class EntryInfo:
    key: str
    file: str
    sha256: str
    bytes: int
    rows: dict[str, int]
    last_used: dt.datetime
    ok: bool


class CacheDamaged(Exception):
    """An entry that must not be used: what is wrong with it."""


class LedgerCache:
    """The cache of one project for one ``ledger:`` settings block."""

    def __init__(self, root: Path, settings: LedgerSettings):
        self.root = root
        self.settings = settings
        self.salt = _salt(settings)
        self.stats = CacheStats()
        self.used: set[str] = set()

    @classmethod
    def for_project(cls, project: Path, settings: LedgerSettings) -> "LedgerCache":
        return cls(cache_root(project), settings)

    def key(self, sha256: str) -> str:
        return hashlib.sha256(f"{self.salt}:{sha256}".encode()).hexdigest()[:40]

    # --- reading -----------------------------------------------------------------------------

    def load(self, file: InputFile, datasets: dict[str, DatasetSpec]) -> FileRead | None:
        """The cached read of ``file`` (shown under its name now), or None: not cached, damaged
        (removed), or read with a mapping that no longer matches its sheets."""
        folder = self.root / self.key(file.sha256)
        if not folder.is_dir():
            return None
        try:
            body = _verified(folder)
            read = _decode(body, folder, file)
        except CacheDamaged:
            self.stats.damaged += 1
            _remove(folder)
            return None
        if not self._still_matches(read, datasets):
            self.stats.remapped += 1
            return None
        self.used.add(folder.name)
        _touch(folder / ENTRY)
        self.stats.files_reused += 1
        return read

    def _still_matches(self, read: FileRead, datasets: dict[str, DatasetSpec]) -> bool:
        for record in read.sheets:
            if record.head.height == 0:
                continue
            try:
                dataset, header = match_sheet(read.file.name, record.sheet, record.head, datasets, self.settings)
            except LedgerError:  # a named sheet now missing a column: the parse will say so
                return False
            if dataset != record.dataset or header != record.header:
                return False
        return all(name in datasets and spec_digest(datasets[name]) == digest for name, digest in read.specs.items())

    # --- writing -----------------------------------------------------------------------------

    def store(self, read: FileRead) -> FileRead:
        """Keep ``read``; return it with its frames read back from the entry (so the parsed frames
        can be freed). If the entry cannot be written, ``read`` is returned as it is."""
        self.stats.files_parsed += 1
        key = self.key(read.file.sha256)
        folder = self.root / key
        temporary = self.root / f"{TEMPORARY}{key}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            temporary.mkdir()
            body = _write_entry(temporary, read, self.salt)
            if folder.exists():
                same = _same_read(folder, read)
                if same is not None:  # stored by another process meanwhile (a run and watch): used as it is
                    _remove(temporary)
                    self.used.add(key)
                    return same
                _remove(folder)  # damaged, or read with another mapping: replaced
            try:
                os.rename(temporary, folder)
            except OSError:  # stored by another process meanwhile: its entry is checked before use
                _remove(temporary)
                body = None
        except (OSError, TypeError, ValueError) as exc:
            _remove(temporary)
            self.stats.problem = str(getattr(exc, "strerror", None) or exc)
            return read
        try:
            stored = _decode(body if body is not None else _verified(folder), folder, read.file)
        except CacheDamaged as exc:
            self.stats.problem = str(exc)
            return read
        self.used.add(key)
        return stored

    # --- housekeeping ------------------------------------------------------------------------

    def prune(self, now: float | None = None) -> int:
        """Remove entries no run has used for :data:`KEEP_DAYS` (not those this read used) and
        temporary folders left by a process that died. Returns how many were removed."""
        now = time.time() if now is None else now
        removed = 0
        for folder in _folders(self.root):
            if folder.name in self.used:
                continue
            if folder.name.startswith((TEMPORARY, TRASH)):
                old = _age(folder, now) > ABANDONED_SECONDS
            else:
                old = _age(folder / ENTRY, now) > KEEP_DAYS * 86400
            if old:
                _remove(folder)
                removed += 1
        for fit in _files(fits_root(self.root)):
            if _age(fit, now) > KEEP_DAYS * 86400:
                fit.unlink(missing_ok=True)
                removed += 1
        return removed


def entries(root: Path) -> list[EntryInfo]:
    """Every entry of the cache, checked (``ok`` False: damaged, would be rebuilt)."""
    found = []
    for folder in _folders(root):
        if folder.name.startswith((TEMPORARY, TRASH)):
            continue
        size = _bytes(folder)
        try:
            body = _verified(folder)
            info = body["file"]
            rows = {name: part["rows"] for name, part in body["parts"].items()}
            ok = True
        except CacheDamaged:
            info, rows, ok = {"name": "?", "sha256": "?"}, {}, False
        used = dt.datetime.fromtimestamp(_mtime(folder / ENTRY) or _mtime(folder))
        found.append(EntryInfo(folder.name, info["name"], info["sha256"], size, rows, used, ok))
    return sorted(found, key=lambda e: (e.file, e.last_used))


def kept_beside(root: Path) -> dict[str, tuple[int, int]]:
    """What is kept beside the cache at ``root``: kind (results, charts, fits) → (how many, bytes)."""
    results = [f for f in _folders(stages_root(root)) if not f.name.startswith((TEMPORARY, TRASH))]
    charts = [f for f in _files(charts_root(root)) if f.suffix == ".chart"]
    fits = [f for f in _files(fits_root(root)) if f.suffix == ".json"]
    return {"results": (len(results), sum(_bytes(f) for f in results)),
            "charts": (len(charts), sum(f.stat().st_size for f in charts)),
            "fits": (len(fits), sum(f.stat().st_size for f in fits))}


def clear(root: Path) -> tuple[int, int]:
    """Remove the whole cache, the kept whole-ledger results, model fits and charts; (entries of
    input files, bytes of all of it) removed."""
    count, size = 0, 0
    for folder in _folders(root) + _folders(stages_root(root)):
        size += _bytes(folder)
        _remove(folder)
        count += 0 if folder.name.startswith((TEMPORARY, TRASH)) or folder.parent != root else 1
    for kept in _files(fits_root(root)) + _files(charts_root(root)):
        size += kept.stat().st_size
        kept.unlink(missing_ok=True)
    return count, size


def _bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in _files(folder))


def _files(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_file() and not p.is_symlink()]
    except OSError:
        return []


# --- entry format ------------------------------------------------------------------------------

def _salt(settings: LedgerSettings) -> str:
    import fastexcel

    shaping = {"format": FORMAT, "kamrules": __version__, "polars": pl.__version__,
               "fastexcel": getattr(fastexcel, "__version__", "?"),
               "settings": settings.model_dump(mode="json", exclude={"extensions"}),
               "limits": dataclasses.asdict(current_limits())}
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()


def _write_entry(folder: Path, read: FileRead, salt: str) -> dict:
    """Write the entry of ``read`` into ``folder``; its body (what ``entry.json`` holds)."""
    parts = {}
    for index, (name, frame) in enumerate(read.frames.items()):
        parts[name] = _write_parquet(frame, folder / f"part-{index}.parquet")
        hashes = read.hashes.get(name)
        if hashes is not None:
            parts[name]["hashes"] = _write_parquet(hashes, folder / f"hashes-{index}.parquet")
            del parts[name]["hashes"]["rows"]
    body = {
        "format": FORMAT, "salt": salt,
        "file": dataclasses.asdict(read.file),
        "sheets": [{"sheet": r.sheet, "dataset": r.dataset,
                    "header": dataclasses.asdict(r.header) if r.header is not None else None,
                    "head": {"columns": r.head.columns, "rows": [list(row) for row in r.head.iter_rows()]}}
                   for r in read.sheets],
        "stats": {name: [s.rows_read, s.rows_rejected, s.rows_skipped] for name, s in read.stats.items()},
        "specs": read.specs,
        "issues": [_encode_issue(issue) for issue in read.issues],
        "parts": parts,
    }
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    checksum = hashlib.sha256(text.encode()).hexdigest()
    (folder / ENTRY).write_text(f"{checksum}\n{text}", encoding="utf-8")
    return body


def _write_parquet(frame: pl.DataFrame | pl.LazyFrame, path: Path) -> dict:
    """Write one Parquet file of an entry; what ``entry.json`` says of it (name, SHA-256, rows)."""
    frame = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    frame.write_parquet(path, compression="zstd", compression_level=1, statistics=False)
    return {"path": path.name, "sha256": file_sha256(path), "rows": frame.height}


def _same_read(folder: Path, read: FileRead) -> FileRead | None:
    """The entry in ``folder`` if it is whole and holds ``read`` (same sheets, same mappings)."""
    try:
        found = _decode(_verified(folder), folder, read.file)
    except CacheDamaged:
        return None
    sheets = [(r.sheet, r.dataset, r.header) for r in found.sheets]
    return found if found.specs == read.specs and sheets == [(r.sheet, r.dataset, r.header) for r in read.sheets] \
        else None


def _verified(folder: Path) -> dict:
    try:
        raw = (folder / ENTRY).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CacheDamaged(f"{ENTRY}: {exc}") from None
    checksum, _, text = raw.partition("\n")
    if hashlib.sha256(text.encode()).hexdigest() != checksum:
        raise CacheDamaged(f"{ENTRY}: checksum")
    try:
        body = json.loads(text)
    except ValueError:
        raise CacheDamaged(f"{ENTRY}: not JSON") from None
    if body.get("format") != FORMAT:
        raise CacheDamaged("format")
    for part in body["parts"].values():
        for stored in (part, part.get("hashes")):
            if stored is None:
                continue
            path = folder / stored["path"]
            if Path(stored["path"]).name != stored["path"] or not path.is_file() \
                    or file_sha256(path) != stored["sha256"]:
                raise CacheDamaged(f"{stored['path']}: checksum")
    return body


def _decode(body: dict, folder: Path, file: InputFile) -> FileRead:
    """The entry as a read of ``file`` (its current name on the issues and rows)."""
    if body["file"]["sha256"] != file.sha256:
        raise CacheDamaged("another file")
    try:
        sheets = [SheetRecord(s["sheet"], s["dataset"], HeaderMatch(**s["header"]) if s["header"] else None,
                              pl.DataFrame(s["head"]["rows"], schema={c: pl.String for c in s["head"]["columns"]},
                                           orient="row"))
                  for s in body["sheets"]]
        stats = {name: DatasetStats(*counts) for name, counts in body["stats"].items()}
        issues = [_decode_issue(i, file.name) for i in body["issues"]]
        frames = {name: with_file(pl.scan_parquet(folder / part["path"]), file.name)
                  for name, part in body["parts"].items()}
        hashes = {name: pl.scan_parquet(folder / part["hashes"]["path"])
                  for name, part in body["parts"].items() if "hashes" in part}
    except (KeyError, TypeError, ValueError) as exc:
        raise CacheDamaged(f"{ENTRY}: {exc}") from None
    return FileRead(file, sheets, stats, issues, frames, dict(body["specs"]), hashes)


ISSUE_FIELDS = [f.name for f in dataclasses.fields(Issue)]


def _encode_issue(issue: Issue) -> list:
    return [_encode(getattr(issue, name)) for name in ISSUE_FIELDS]


def _decode_issue(values: list, file: str | None) -> Issue:
    """The issue as stored, shown in ``file`` (the name the file has now; None: as stored)."""
    fields = {name: _decode_value(v) for name, v in zip(ISSUE_FIELDS, values)}
    value = fields.pop("value")
    if file is not None:
        fields["file"] = file
    issue = Issue(**fields, value=None)
    object.__setattr__(issue, "value", value)  # already shortened when it was made: not again
    return issue


def _encode(value):
    """Messages keep their key and values, so they still speak both languages."""
    if isinstance(value, Text):
        return {"$t": value.key, "v": {k: _encode(v) for k, v in value.values.items()}}
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    raise TypeError(f"cannot keep a {type(value).__name__} in the ledger cache")


def _decode_value(value):
    if isinstance(value, dict):
        if "$t" in value:
            return Text(value["$t"], {k: _decode_value(v) for k, v in value["v"].items()})
        return dt.date.fromisoformat(value["$d"])
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


# --- files -------------------------------------------------------------------------------------

def _folders(root: Path) -> list[Path]:
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return []


def _remove(folder: Path) -> None:
    """Out of the way at once (a rename), then deleted: a reader never sees half an entry."""
    trash = folder.with_name(f"{TRASH}{secrets.token_hex(6)}")
    try:
        os.rename(folder, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _age(path: Path, now: float) -> float:
    return now - _mtime(path)
