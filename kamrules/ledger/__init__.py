"""Ledger stage: every workbook in ``inputs/`` → one typed Polars DataFrame per dataset.

Nothing is dropped silently: a row that cannot be used is reported as an
:class:`~kamrules.errors.Issue` (file, sheet, Excel row, header, value, reason), and a value
that could not be read in an optional column is reported as a warning and left empty.
Input files are only read, never modified.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import polars as pl

from ..errors import Issue, LedgerError, ProjectError
from ..files import RefusedFile, read_regular
from ..files import check as check_file
from ..i18n import msg
from ..names import all_of, any_of
from ..limits import MiB, Limits, env_name
from ..limits import current as current_limits
from .config import DatasetSpec, LedgerSettings
from .guard import check_input
from .derive import derive
from .cache import CacheStats, LedgerCache
from .datasets import PART, POS, Datasets, Part, row_hashes
from .headers import closest_header, find_header, first_row_cells
from .matching import match_sheet, spec_digest
from .parsed import DatasetStats, FileRead, InputFile, SheetRecord
from .readers import RawSheet, reader_for
from .rows import SheetTyper
from .stages import StageCache, code_digest, decode_issues, encode_issues, key_of
from .validate import check_keys, check_references, check_repeated_files

__all__ = ["Datasets", "DatasetStats", "Ledger", "LedgerCache", "InputFile", "InputScan", "read_ledger",
           "read_input", "input_files", "scan_inputs"]



@dataclass
class SeenSheet:
    """A sheet of the inputs and what it was read as (None: nothing), with its first rows
    when unused, to explain later why no sheet was found for a dataset."""

    file: str
    sheet: str
    dataset: str | None
    head: pl.DataFrame | None = None


@dataclass
class Ledger:
    datasets: Datasets
    issues: list[Issue] = field(default_factory=list)
    files: list[InputFile] = field(default_factory=list)
    stats: dict[str, DatasetStats] = field(default_factory=dict)
    headers: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (file, sheet) -> field -> header
    seen: list[SeenSheet] = field(default_factory=list)
    cache: CacheStats | None = None  # what the cache did, when one was used
    # with a cache: the key of everything the ledger was made from (inputs, mapping, code), on which
    # results computed from the whole ledger are kept (kamrules.ledger.stages)
    fingerprint: str | None = None
    # with a cache: per dataset, the key of each part's file as read (its content, the mapping, the
    # settings, the code); None for a part not read from a file (see keyed_parts)
    part_keys: dict[str, list[str | None]] = field(default_factory=dict)

    def keyed_parts(self, name: str) -> list[tuple[str | None, pl.LazyFrame]]:
        """The dataset's rows file by file, each with the key of those rows (None without one): the
        key of its file as read and the rows the checks took out of it, on which results computed
        file by file are kept."""
        keys = self.part_keys.get(name, [])
        keyed = []
        for index, part in enumerate(self.datasets.parts(name)):
            base = keys[index] if index < len(keys) else None
            dropped = hashlib.sha256(part.dropped.cast(pl.UInt32).to_numpy().tobytes()).hexdigest()
            keyed.append((key_of("rows", base, dropped) if base is not None else None, part.rows()))
        return keyed

    def header(self, file: str, sheet: str, column: str, spec: DatasetSpec) -> str:
        """The header text ``column`` had in that sheet (first alias if unknown)."""
        found = self.headers.get((file, sheet), {}).get(column)
        aliases = spec.columns[column].aliases
        return found or (aliases[0] if aliases else column)

    @property
    def rejected_rows(self) -> int:
        return sum(s.rows_rejected for s in self.stats.values())


@dataclass
class InputScan:
    """What is in ``inputs/``: the spreadsheets to read, and the entries with a spreadsheet's
    name that are refused unread, with the reason (a key under ``ledger.input_refused.``)."""

    files: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)


def scan_inputs(inputs: Path, settings: LedgerSettings, project: Path | None = None) -> InputScan:
    """Spreadsheets in ``inputs/`` (not sub-folders; Excel lock files and hidden files skipped).

    Only regular files are read: a named pipe, a socket or a device is refused (never opened:
    a pipe would block the run for ever), and so is a symbolic link whose target is outside
    ``project`` (default: the folder above ``inputs/``) — a link inside the project is read.
    Nothing here opens a file; :func:`read_input` checks again on the descriptor it reads."""
    if not inputs.is_dir():
        raise ProjectError(msg("ledger.no_inputs"), path=str(inputs), suggestion=msg("ledger.no_inputs.hint"))
    root = project if project is not None else inputs.parent
    scan = InputScan()
    for entry in sorted(inputs.iterdir()):
        if entry.suffix.lower() not in settings.extensions or entry.name.startswith(("~$", ".")):
            continue
        reason = check_file(entry, root)  # a link, or inputs/ itself a link, out of the project; a pipe…
        if reason == "unreadable":
            continue  # gone since the folder was listed: not an input any more
        if reason is not None:
            scan.refused.append((entry, reason))
        elif not entry.is_dir():
            scan.files.append(entry)
    return scan


def input_files(inputs: Path, settings: LedgerSettings, project: Path | None = None) -> list[Path]:
    """The spreadsheets of ``inputs/`` that are read (see :func:`scan_inputs`)."""
    return scan_inputs(inputs, settings, project).files


REFUSALS = {"link_outside": msg("ledger.input_refused.link_outside"),
            "link_missing": msg("ledger.input_refused.link_missing"), "fifo": msg("ledger.input_refused.fifo"),
            "socket": msg("ledger.input_refused.socket"), "device": msg("ledger.input_refused.device"),
            "other": msg("ledger.input_refused.other")}


def read_input(path: Path, name: str, limits: Limits, project: Path | None = None) -> bytes:
    """The bytes of one input, read once through one descriptor (:func:`kamrules.files.read_regular`):
    what the guard checks, the hash is taken of and the readers parse, so a file swapped in the
    meantime is never read unchecked. The descriptor must be a regular file (opened without
    blocking, so a pipe swapped in is refused, not waited on), reached without following a link
    out of the project, and the file no larger than the input limit (checked on the descriptor,
    and again while reading)."""
    try:
        return read_regular(path, project if project is not None else path.parent.parent, limits.max_input_bytes)
    except RefusedFile as refused:
        if refused.reason == "too_big":
            raise _too_big(refused.size, name, limits) from None
        if refused.reason == "unreadable":
            raise LedgerError(msg("ledger.cannot_read_file", reason=refused.detail or "?"), file=name) from None
        raise _refused(name, refused.reason) from None


def _refused(name: str, reason: str) -> LedgerError:
    return LedgerError(msg("ledger.input_refused", reason=REFUSALS[reason]), file=name,
                       suggestion=msg("ledger.input_refused.hint"))


def _too_big(size: int, name: str, limits: Limits) -> LedgerError:
    return LedgerError(msg("ledger.file_too_big", size=size / MiB, limit=limits.max_input_bytes / MiB), file=name,
                       suggestion=msg("ledger.split_or_raise", env=env_name("max_input_bytes")))


Rejecter = Callable[[Path, LedgerError], None]


def read_ledger(inputs: Path, datasets: dict[str, DatasetSpec], settings: LedgerSettings,
                display_root: Path | None = None, on_unreadable: Rejecter | None = None,
                exclude: frozenset = frozenset(), cache: LedgerCache | None = None) -> Ledger:
    """Read every input file. A file that cannot be used raises LedgerError, or, when
    ``on_unreadable`` is given, is handed to it (the drop-folder service moves it aside) and
    the rest of the ledger is read; its rows then count nowhere.

    With a ``cache`` (:mod:`kamrules.ledger.cache`), a file read before with the same mapping is
    not parsed again, and the rows stay in the cache's Parquet files until they are used."""
    project = display_root if display_root is not None else inputs.parent
    scan = scan_inputs(inputs, settings, project)
    paths = [p for p in scan.files if p not in exclude]
    refused = [(p, reason) for p, reason in scan.refused if p not in exclude]
    shown = (lambda path: path.relative_to(display_root).as_posix()) if display_root else (lambda path: path.name)
    if not paths:
        if refused:  # nothing else to read: the refusal is the error
            raise _refused(shown(refused[0][0]), refused[0][1])
        raise ProjectError(msg("ledger.no_spreadsheets"), path=str(inputs),
                           suggestion=msg("ledger.no_spreadsheets.hint"))
    ledger = Ledger(Datasets(), stats={name: DatasetStats(title=spec.title) for name, spec in datasets.items()})
    for path, reason in refused:
        ledger.issues.append(Issue(shown(path), None, None, None, None,
                                   msg("ledger.input_refused", reason=REFUSALS[reason]),
                                   "input_refused", "warning", None, msg("ledger.input_refused.hint")))
    for path, contents in _read_ahead(paths, shown, project):
        name = shown(path)
        try:
            read = _read_file(path, name, datasets, settings, project, cache, contents)
        except LedgerError as exc:
            if on_unreadable is None:
                raise
            on_unreadable(path, exc)
            ledger.issues.append(Issue(name, exc.sheet, exc.row, exc.column, None,
                                       msg("ledger.file_set_aside", reason=exc.message), "file_rejected", "warning",
                                       None, msg("ledger.file_set_aside.hint", name=path.name)))
            continue
        _merge_file(ledger, read)
    if cache is not None:
        ledger.cache = cache.stats
        cache.prune()
    _derive_missing(ledger, datasets, inputs, settings)
    if cache is not None:
        _key_parts(ledger, datasets, cache)
    _check_across_files(ledger, datasets, cache)
    ledger.issues.sort(key=lambda i: (i.file, i.sheet or "", i.row or 0))
    return ledger


def _derive_missing(ledger: Ledger, datasets: dict[str, DatasetSpec], inputs: Path,
                    settings: LedgerSettings) -> None:
    missing = [name for name in datasets if name not in ledger.datasets]
    # a required dataset that nothing can stand in for is the real problem: said first, with
    # the sheets that were seen, rather than as a dataset that cannot be derived from it
    for name in missing:
        if datasets[name].required and datasets[name].derive is None:
            raise no_sheet_error(ledger, name, datasets, inputs, settings)
    for name in missing:
        spec = datasets[name]
        if spec.derive is None:
            continue
        source = spec.derive.from_
        if source not in ledger.datasets and source in datasets:
            raise no_sheet_error(ledger, source, datasets, inputs, settings, needed_by=name)
        ledger.datasets[name], notes = derive(name, spec, ledger.datasets.frames(), datasets)
        ledger.issues.extend(notes)
        stats = ledger.stats[name]
        stats.derived_from = datasets[source].title or source if source in datasets else source
        stats.rows_derived = ledger.datasets[name].height


def _check_across_files(ledger: Ledger, datasets: dict[str, DatasetSpec], cache: LedgerCache | None) -> None:
    """Duplicate keys, rows repeated across files and references, or, when the same inputs were
    checked with the same mapping before, what those checks found then (their issues, counts and
    the rows they took out), read back from the kept results."""
    stages = StageCache.beside(cache.root) if cache is not None else None
    if stages is not None:
        ledger.fingerprint = key_of(
            "checks", code_digest("ledger"), cache.salt, [(f.name, f.sha256) for f in ledger.files],
            {name: spec.model_dump(mode="json") for name, spec in datasets.items()},
            {name: [p.file for p in ledger.datasets.parts(name)] for name in ledger.datasets})
        if _replay_checks(ledger, stages.load("checks", ledger.fingerprint)):
            return
    before = len(ledger.issues)
    check_keys(ledger, datasets)
    check_repeated_files(ledger, datasets)
    check_references(ledger, datasets)
    if stages is not None:
        body = {"issues": encode_issues(ledger.issues[before:]),
                "stats": {n: [s.rows_read, s.rows_rejected, s.rows_skipped] for n, s in ledger.stats.items()},
                "parts": {n: len(ledger.datasets.parts(n)) for n in ledger.datasets}}
        schema = {"dataset": pl.String, PART: pl.UInt32, POS: pl.UInt32}
        dropped = [pl.DataFrame({"dataset": name, PART: index, POS: part.dropped}, schema=schema)
                   for name in ledger.datasets for index, part in enumerate(ledger.datasets.parts(name))
                   if not part.dropped.is_empty()]
        dropped = pl.concat([pl.DataFrame(schema=schema), *dropped])
        stages.store("checks", ledger.fingerprint, body, {"dropped": dropped})


def _key_parts(ledger: Ledger, datasets: dict[str, DatasetSpec], cache: LedgerCache) -> None:
    """:attr:`Ledger.part_keys`."""
    contents = {f.name: f.sha256 for f in ledger.files}
    code = code_digest("ledger")
    for name in ledger.datasets:
        spec = datasets[name].model_dump(mode="json") if name in datasets else None
        ledger.part_keys[name] = [key_of("part", code, cache.salt, contents[part.file], spec)
                                  if part.file in contents else None for part in ledger.datasets.parts(name)]


def _replay_checks(ledger: Ledger, kept: tuple[dict, dict[str, pl.DataFrame]] | None) -> bool:
    if kept is None:
        return False
    body, frames = kept
    if body.get("parts") != {n: len(ledger.datasets.parts(n)) for n in ledger.datasets} \
            or set(body.get("stats", ())) != set(ledger.stats):
        return False  # cannot happen under the same key; computed again rather than trusted
    ledger.issues.extend(decode_issues(body["issues"]))
    for name, (read, rejected, skipped) in body["stats"].items():
        stats = ledger.stats[name]
        stats.rows_read, stats.rows_rejected, stats.rows_skipped = read, rejected, skipped
    for (name,), where in frames["dropped"].partition_by("dataset", as_dict=True).items():
        ledger.datasets.drop(name, where)
    return True


SHOWN_SHEETS, SHOWN_HEADERS = 5, 20


def no_sheet_error(ledger: Ledger, name: str, datasets: dict[str, DatasetSpec], inputs: Path,
                   settings: LedgerSettings, needed_by: str | None = None) -> LedgerError:
    """No sheet for the dataset ``name``: which sheets were seen, what each was read as, and for
    the unused ones the headers found and, per missing column, the closest header."""
    spec = datasets[name]
    title = spec.title or name
    seen, examples = [], []
    for sheet in ledger.seen[:SHOWN_SHEETS]:
        where = msg("ledger.no_sheet.where", file=sheet.file, sheet=sheet.sheet)
        if sheet.dataset is not None:
            used = datasets[sheet.dataset].title or sheet.dataset
            seen.append(msg("ledger.no_sheet.used", where=where, dataset=used))
            continue
        header = find_header(sheet.head, spec, settings.header_search_rows)
        cells = header.cells if header else first_row_cells(sheet.head, settings.header_search_rows)
        taken = {text: field for field, text in header.headers.items()} if header else {}
        missing = header.missing(spec) if header else [n for n, c in spec.columns.items()
                                                       if c.required and c.read_from_sheet]
        gaps = []
        for column in missing:
            aliases = spec.columns[column].aliases
            near = closest_header(column, aliases, cells)
            if near is None:
                gaps.append(msg("ledger.no_sheet.gap_none", column=column))
            elif near in taken:
                gaps.append(msg("ledger.no_sheet.gap_taken", column=column, header=near, other=taken[near]))
            else:
                gaps.append(msg("ledger.no_sheet.gap", column=column, header=near))
                examples.append(f"{column}: [{near}]")
        shown = ", ".join(cells[:SHOWN_HEADERS]) + (" …" if len(cells) > SHOWN_HEADERS else "")
        seen.append(msg("ledger.no_sheet.unused", where=where, headers=shown or "-", missing=all_of(gaps)))
    if len(ledger.seen) > SHOWN_SHEETS:
        seen.append(msg("ledger.no_sheet.more", count=len(ledger.seen) - SHOWN_SHEETS))
    message = msg("ledger.no_sheet", name=name, title=title)
    if needed_by is not None:
        message = msg("ledger.no_sheet.needed_by", reason=message, dataset=datasets[needed_by].title or needed_by)
    if seen:
        message = msg("ledger.no_sheet.seen", reason=message, sheets=_listed(seen))
    suggestion = (msg("ledger.no_sheet.alias_hint", name=name, examples="; ".join(examples)) if examples
                  else msg("ledger.no_sheet.hint", sheets=any_of(spec.sheets or [name]), name=name))
    return LedgerError(message, file=str(inputs.name), suggestion=suggestion)


AHEAD = 2  # files read and hashed ahead of the one being parsed


def _read_ahead(paths: list[Path], shown: Callable[[Path], str], project: Path) -> Iterator[tuple[Path, Future]]:
    """Each path with its contents (:func:`_contents`) being read in a thread, up to :data:`AHEAD`
    files ahead: reading and hashing release the GIL, so they go on while a file is parsed, and
    two of them at once when the files are in the cache (nothing to parse)."""
    limits = current_limits()
    waiting = iter(paths)
    with ThreadPoolExecutor(max_workers=AHEAD, thread_name_prefix="kamrules-read") as pool:
        queued: deque[tuple[Path, Future]] = deque()
        for path in itertools.islice(waiting, AHEAD):
            queued.append((path, pool.submit(_contents, path, shown(path), limits, project)))
        while queued:
            path, contents = queued.popleft()
            following = next(waiting, None)
            if following is not None:
                queued.append((following, pool.submit(_contents, following, shown(following), limits, project)))
            yield path, contents
            del contents  # the bytes are not kept past their file


def _contents(path: Path, name: str, limits: Limits, project: Path | None) -> list:
    """``[bytes, SHA-256]`` of one input (:func:`read_input`); a list, so that the reader can take
    the bytes out of it (the future holding it would otherwise keep them until the next file)."""
    data = read_input(path, name, limits, project)
    return [data, hashlib.sha256(data).hexdigest()]


def _read_file(path: Path, name: str, datasets: dict[str, DatasetSpec], settings: LedgerSettings,
               project: Path | None = None, cache: LedgerCache | None = None,
               contents: Future | None = None) -> FileRead:
    """One file as a unit: its rows are used only if every sheet of it could be read. Its bytes
    are read once (``contents``: being read already); the guard, the hash and the readers all see
    those same bytes. A file the cache holds for this mapping is not parsed (nor guarded: no
    parser sees it)."""
    limits = current_limits()
    taken = contents.result() if contents is not None else _contents(path, name, limits, project)
    data, sha256 = taken
    taken.clear()
    file = InputFile(name, sha256, len(data))
    if cache is not None:
        cached = cache.load(file, datasets)
        if cached is not None:
            return cached
    check_input(data, name, limits, path.suffix)
    read = FileRead(file, stats={n: DatasetStats() for n in datasets})
    parts: dict[str, list[pl.DataFrame]] = {n: [] for n in datasets}
    for sheet in reader_for(path).sheets(data, path, name, limits):
        _check_shape(sheet, limits)
        _read_sheet(sheet, datasets, settings, read, parts)
    del data
    read.frames = {n: frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
                   for n, frames in parts.items() if frames}
    read.specs = {n: spec_digest(datasets[n]) for n in {r.dataset for r in read.sheets if r.dataset is not None}}
    if cache is None:  # the repeated-row check hashes the rows itself when it needs to
        return read
    # kept with the entry: a later run with more files compares 8 bytes a row instead of every value
    read.hashes = {n: row_hashes(frame) for n, frame in read.frames.items() if not datasets[n].key_columns}
    return cache.store(read)


def _check_shape(sheet: RawSheet, limits: Limits) -> None:
    for size, limit, what, variable in (
            (sheet.grid.height, limits.max_rows, msg("ledger.unit.rows"), "max_rows"),
            (sheet.grid.width, limits.max_columns, msg("ledger.unit.columns"), "max_columns")):
        if size > limit:
            raise LedgerError(msg("ledger.sheet_too_big", size=size, what=what, limit=limit), file=sheet.file,
                              sheet=sheet.sheet,
                              suggestion=msg("ledger.sheet_too_big.hint", what=what, env=env_name(variable)))


def _merge_file(ledger: Ledger, read: FileRead) -> None:
    name = read.file.name
    ledger.files.append(read.file)
    ledger.issues += read.issues
    for record in read.sheets:
        if record.head.height == 0:
            continue
        ledger.seen.append(SeenSheet(name, record.sheet, record.dataset, record.head if record.dataset is None else None))
        if record.dataset is not None and record.header is not None:
            ledger.headers[(name, record.sheet)] = record.header.headers
    for dataset, stats in read.stats.items():
        total = ledger.stats.get(dataset)
        if total is None:  # a dataset no longer mapped: the cache matched no sheet of the file to it
            continue
        total.rows_read += stats.rows_read
        total.rows_rejected += stats.rows_rejected
        total.rows_skipped += stats.rows_skipped
    for dataset, frame in read.frames.items():
        hashes = read.hashes.get(dataset)
        ledger.datasets.add_part(dataset, Part(name, frame.lazy(), hashes=hashes.lazy() if hashes is not None else None))


def _read_sheet(sheet: RawSheet, datasets: dict[str, DatasetSpec], settings: LedgerSettings,
                read: FileRead, parts: dict[str, list[pl.DataFrame]]) -> None:
    # a copy of the first rows, not a slice that would keep the whole sheet in memory
    first = sheet.grid.head(settings.header_search_rows)
    head = pl.DataFrame(first.rows(), schema=first.schema, orient="row")
    if sheet.grid.height == 0:
        read.sheets.append(SheetRecord(sheet.sheet, None, None, head))
        return
    dataset, header = match_sheet(sheet.file, sheet.sheet, sheet.grid, datasets, settings)
    read.sheets.append(SheetRecord(sheet.sheet, dataset, header, head))
    if dataset is None:
        read.issues.append(Issue(sheet.file, sheet.sheet, None, None, None, msg("ledger.sheet_ignored"),
                                 "sheet_ignored", "warning", None, msg("ledger.sheet_ignored.hint")))
        return
    result = SheetTyper(sheet, dataset, datasets[dataset], header, settings).run()
    read.issues.extend(result.issues)
    stats = read.stats[dataset]
    stats.rows_read += result.read
    stats.rows_rejected += result.rejected
    stats.rows_skipped += result.skipped
    parts[dataset].append(result.frame)


def _listed(items: list):
    """``a; b; c`` in either language, nested in halves like :func:`kamrules.names.all_of`."""
    if len(items) <= 1:
        return items[0] if items else ""
    half = len(items) // 2
    return msg("ledger.list", first=_listed(items[:half]), second=_listed(items[half:]))
