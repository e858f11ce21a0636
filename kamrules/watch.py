"""The drop folder: ``kamrules watch`` and ``kamrules run --once``.

Back-office staff copy workbooks into ``inputs/`` — slowly, over network shares, sometimes
while Excel still has them open. The service (patterned on Camel's and NiFi's file
consumers) promises:

- **readiness**: a file is read only once it has kept its size and mtime for ``settle``
  seconds and opens (an .xlsx is a zip whose directory reads; nothing is inflated before the
  ledger's guard has checked the sizes); until then it is left out of
  the runs (the other files are processed), and when it gets there a new run follows; a file
  unchanged for ``give_up`` seconds that still does not open is set aside, not waited on forever;
- **debounce**: a burst of changes (ten files dropped at once, an editor's save dance) is
  one run, started ``debounce`` seconds after the last change;
- **rejection without loss**: an unreadable or invalid workbook is moved to
  ``inputs/rejected/`` with ``<name>.error.txt`` (in the project's language, and in English too
  when that is Chinese; a name too long for the note is shortened) and the rest of the ledger
  runs; nothing else in ``inputs/`` is ever modified, moved or deleted. When it cannot be moved
  (``inputs/rejected`` is not a real folder inside the project, or the disk refuses), it stays
  where it is, is said in the log and is left out of the runs until it changes;
- **survival**: nothing dropped into the folders stops the service: a run that fails is
  logged and the next change runs again; a full or read-only outputs/ is retried later; a
  file-watching thread that dies is restarted; names are logged with their control
  characters escaped;
- **one writer**: one watcher per project (``outputs/.kamrules-watch.lock``) and one run at
  a time (the pipeline's lock); locks of dead processes are taken over;
- **idempotence**: the content hash of inputs + rules + templates of the last published run,
  and the date it was as of, are kept in ``outputs/.kamrules-state.json``; the same content as
  of the same date is not run again (unless ``--force``), and work interrupted by a crash is
  done at the next start;
- **the calendar**: without ``--as-of`` a run is as of today (the computer's local date, as
  ``kamrules run``), so a new day is a reason to run even when no file changed: ``run --once``
  from a morning scheduler runs for the new day, and the watcher runs once when its clock
  passes midnight. A plain ``kamrules run`` is a published run too: when it is newer than the
  state, its ``run.json`` (as_of, inputs, rule files) is what the next look compares with;
- **operations**: a rotating log ``outputs/kamrules.log`` (in the project's language, like the
  console), ``kamrules status``, a graceful stop on Ctrl-C / SIGTERM (the run in progress
  finishes; a second signal stops at once).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import logging.handlers
import os
import re
import signal
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .errors import KamrulesError, LedgerError, LockedError, UnwritableError
from .files import file_sha256
from .text import json_text
from .i18n import Verbatim, choose, msg
from .rules.rulebook import project_locale, project_today
from .pipeline import RunOptions, RunResult, lock_holder, project_lock, run

STATE_FILE = ".kamrules-state.json"
WATCH_LOCK = ".kamrules-watch.lock"
LOG_FILE = "kamrules.log"
RETRY_UNWRITABLE = 60.0  # seconds before a run is tried again on a full or read-only outputs/
OBSERVER_RETRY = 5.0  # seconds between attempts to restart a dead file-watching thread
SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".csv")
WATCHED = ("inputs", "rules", "templates")

log = logging.getLogger("kamrules.watch")


@dataclass
class WatchOptions:
    settle: float = 2.0  # seconds a file must keep its size and mtime
    debounce: float = 2.0  # quiet seconds after the last change before a run
    give_up: float = 60.0  # a file unchanged this long that still does not open is set aside
    poll: bool = False  # polling instead of OS events (network drives)
    poll_interval: float = 1.0
    as_of: Optional[dt.date] = None
    force: bool = False
    workers: Optional[int] = None
    lang: Optional[str] = None  # zh or en for the log and the notes; default the project's locale


def language(project: Path, lang: Optional[str] = None) -> str:
    """The language of the log and of the notes beside files set aside: ``lang``, else the rules' locale."""
    return choose(lang, project_locale(project))


def say(lang: str, key: str, level: int = logging.INFO, **values) -> None:
    """One log line, in ``lang``."""
    log.log(level, "%s", msg(key, **values).shown(lang))


def candidate_inputs(project: Path) -> list[Path]:
    inputs = project / "inputs"
    if not inputs.is_dir():
        return []
    return sorted(p for p in inputs.iterdir() if p.is_file() and p.suffix.lower() in SPREADSHEETS
                  and not p.name.startswith(("~$", ".")))


def content_digest(project: Path, exclude: frozenset = frozenset()) -> tuple[str, dict[str, str]]:
    """SHA-256 over every input (but ``exclude``), rule and template file; and each input's own hash."""
    return _digest(content_hashes(project, exclude))


def _digest(files: dict[str, str]) -> tuple[str, dict[str, str]]:
    joined = "\n".join(f"{name}:{digest}" for name, digest in sorted(files.items()))
    inputs = {name: digest for name, digest in files.items() if name.startswith("inputs/")}
    return hashlib.sha256(joined.encode("utf-8", "surrogateescape")).hexdigest(), inputs


def content_hashes(project: Path, exclude: frozenset = frozenset()) -> dict[str, str]:
    """Every input (but ``exclude``), rule and template file, by its path in the project, and its SHA-256."""
    files: dict[str, str] = {}
    inside = project.resolve()
    for path in candidate_inputs(project):
        if path not in exclude:
            files[path.relative_to(project).as_posix()] = _sha256(path, inside)
    for folder in ("rules", "templates"):
        for directory, _, names in os.walk(project / folder):  # links to folders not followed
            for name in names:
                path = Path(directory) / name
                if path.is_file() and not name.startswith(("~$", ".")):
                    files[path.relative_to(project).as_posix()] = _sha256(path, inside)
    return files


def _sha256(path: Path, inside: Path) -> str:
    """The file's content hash; for a link leading out of the project (which kamrules refuses to
    read) the hash of where it points."""
    if path.is_symlink() and not path.resolve().is_relative_to(inside):
        return hashlib.sha256(os.fsencode(os.readlink(path))).hexdigest()
    return file_sha256(path)


def opens(path: Path) -> bool:
    """A complete file: an .xlsx/.xlsm whose zip directory (written last) reads. Nothing is
    inflated here: the ledger's guard checks sizes and ratios first, and a damaged part is the
    reader's to report. A file that does not even start like a zip (a PDF renamed .xlsx) is as
    complete as it will get: the reader says what it is. An empty file is not ready."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
        if len(head) < 4:
            return False
        if path.suffix.lower() not in (".xlsx", ".xlsm") or head != b"PK\x03\x04":
            return True
        with zipfile.ZipFile(path) as archive:
            return bool(archive.infolist())
    except Exception:  # noqa: BLE001 - a dropped file may fail in any way; it is not ready
        return False


@dataclass
class Readiness:
    """Tracks each input until it has kept its size and mtime for ``settle`` seconds and opens.

    A file still being written is never given up on; one that stays unchanged but unopenable
    for ``give_up`` seconds is hopeless. Whether a file opens is checked once per version.
    """

    settle: float
    give_up: float
    seen: dict[Path, tuple[tuple, float]] = field(default_factory=dict)  # path -> (signature, unchanged since)
    opened: dict[Path, tuple[tuple, bool]] = field(default_factory=dict)
    wall: Callable[[], float] = time.time  # the clock file mtimes are compared with

    def check(self, paths: list[Path], now: float) -> tuple[list[Path], list[Path]]:
        """(files not ready yet, files that never became ready)."""
        waiting, hopeless, seen = [], [], {}
        for path in paths:
            try:
                stat = path.stat()
            except OSError:
                continue
            signature = (stat.st_size, stat.st_mtime_ns)
            previous = self.seen.get(path)
            if previous and previous[0] == signature:
                since = previous[1]
            elif previous:
                since = now
            else:  # first sight: a file untouched for a while is as settled as its mtime says
                since = now - max(0.0, self.wall() - stat.st_mtime)
            seen[path] = (signature, since)
            if now - since < self.settle:
                waiting.append(path)
            elif not self._opens(path, signature):
                (hopeless if now - since >= self.give_up else waiting).append(path)
        self.seen = seen
        return waiting, hopeless

    def _opens(self, path: Path, signature: tuple) -> bool:
        known = self.opened.get(path)
        if known and known[0] == signature:
            return known[1]
        result = opens(path)
        self.opened[path] = (signature, result)
        return result


NAME_MAX = 255  # bytes in one file name on the file systems kamrules runs on


def set_aside(project: Path, path: Path, error: KamrulesError, lang: Optional[str] = None) -> Optional[Path]:
    """Move a bad input to inputs/rejected/ with <name>.error.txt (in ``lang``, default the
    project's language; a Chinese note has the English one after it). None, said in the log,
    when it cannot be moved: ``inputs/rejected`` is a file or a link, or the disk refuses."""
    lang = language(project, lang)
    folder = project / "inputs" / "rejected"
    try:
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise NotADirectoryError(msg("watch.rejected_not_folder").shown(lang))
        folder.mkdir(exist_ok=True)
        target = _free_name(folder, path)
        note = target.with_name(target.name + ".error.txt")
        note.write_text(rejection_note(path.name, error, lang), encoding="utf-8", errors="backslashreplace")
        try:
            os.replace(path, target)
        except OSError:
            note.unlink(missing_ok=True)
            raise
    except OSError as exc:
        say(lang, "watch.cannot_set_aside", logging.ERROR, file=path.name, reason=exc.strerror or str(exc),
            error=error.message)
        return None
    say(lang, "watch.set_aside", logging.WARNING, file=path.name, reason=error.message)
    return target


def _free_name(folder: Path, path: Path) -> Path:
    """A name in ``folder`` for ``path`` that is not taken and leaves room for ".error.txt"."""
    stem, suffix = path.stem, path.suffix
    for attempt in range(1000):
        tag = "" if attempt == 0 else "." + dt.datetime.now().strftime("%Y%m%d-%H%M%S") + (
            f"-{attempt}" if attempt > 1 else "")
        while stem and len(os.fsencode(f"{stem}{tag}{suffix}.error.txt")) > NAME_MAX:
            stem = stem[:-1]
        target = folder / f"{stem or 'file'}{tag}{suffix}"
        if not target.exists() and not target.is_symlink():
            return target
    raise FileExistsError(str(folder))


def rejection_note(name: str, error: KamrulesError, lang: str) -> str:
    """Why a file was set aside and what to do. In Chinese: the reason, then the whole error with
    where and a hint; the English note follows for whoever supports the office."""
    if lang == "zh":
        lines = [msg("watch.note.file", file=name), msg("watch.note.reason", reason=error.message),
                 msg("watch.note.details", details=Verbatim(error.render("zh"))), msg("watch.note.fix")]
        return "".join(line.shown("zh") + "\n" for line in lines) + "\n" + rejection_note(name, error, "en")
    lines = [msg("watch.note.file", file=name), msg("watch.note.reason", reason=Verbatim(error.render("en"))),
             msg("watch.note.fix")]
    return "".join(line.shown("en") + "\n" for line in lines)


def local_today(project: Path | None = None) -> dt.date:
    """The date a run is as of when ``--as-of`` is not given: today in the project's ``timezone:``,
    as :func:`kamrules.pipeline.run` takes it (this computer's date without a project). Tests
    replace it, or pass their own date source to :func:`run_if_changed` and :class:`Watcher`."""
    return project_today(project) if project is not None else dt.date.today()


def read_state(project: Path) -> dict:
    try:
        state = json.loads((project / "outputs" / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return state if isinstance(state, dict) else {}


def write_state(project: Path, state: dict) -> None:
    path = project / "outputs" / STATE_FILE
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_text(json_text(state, indent=2), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        from .pipeline import outputs_error

        raise outputs_error(exc, path.parent) from None


RUN_ID = re.compile(r"(\d{8})-(\d{6})(?:-(\d+))?")  # the name of a published run folder
RULE_FILE = re.compile(r"rules/[^/]+\.(?:ya?ml|dmn)")  # the rule files a run.json lists
MANIFEST_MAX = 64 << 20  # bytes of run.json read; a larger one is not a run.json kamrules wrote


@dataclass
class PublishedRun:
    """A published run folder, whichever command made it, as its ``run.json`` tells."""

    run_id: str
    as_of: Optional[str] = None  # ISO date; None when run.json cannot be read or lacks it
    finished_at: Optional[str] = None
    inputs: Optional[dict[str, str]] = None  # input path -> SHA-256; None: not known
    rules: Optional[dict[str, str]] = None  # rule file path -> SHA-256; None: not known
    readable: bool = True


def latest_run(project: Path) -> Optional[PublishedRun]:
    """The newest folder of outputs/ named like a run (``YYYYMMDD-HHMMSS[-n]``) that holds a
    run.json; staging folders, other folders and links are not runs. Never raises: a run.json
    that cannot be read gives a run with ``readable`` False."""
    outputs = Path(project) / "outputs"
    try:
        named = sorted(((m.group(1), m.group(2), int(m.group(3) or 1)), entry)
                       for entry in outputs.iterdir() if (m := RUN_ID.fullmatch(entry.name)))
    except OSError:
        return None
    for _, folder in reversed(named):
        manifest = folder / "run.json"
        try:
            if folder.is_symlink() or not folder.is_dir() or not (manifest.is_file() or manifest.is_symlink()):
                continue
        except OSError:
            continue
        return _read_manifest(folder.name, manifest)
    return None


def _read_manifest(run_id: str, path: Path) -> PublishedRun:
    """What ``run.json`` says; its modification time is when the run finished (it is written
    last, just before the folder is published) unless it records ``finished_at`` itself."""
    finished = None
    try:
        if path.is_symlink() or not path.is_file():
            raise ValueError(path)
        finished = dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")
        with path.open("rb") as handle:
            data = handle.read(MANIFEST_MAX + 1)
        if len(data) > MANIFEST_MAX:
            raise ValueError(path)
        manifest = json.loads(data.decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return PublishedRun(run_id, finished_at=finished, readable=False)
    if not isinstance(manifest, dict):
        return PublishedRun(run_id, finished_at=finished, readable=False)
    as_of = manifest.get("as_of")
    try:
        as_of = dt.date.fromisoformat(as_of).isoformat() if isinstance(as_of, str) else None
    except ValueError:
        as_of = None
    if isinstance(manifest.get("finished_at"), str):
        finished = manifest["finished_at"]
    inputs = manifest.get("inputs")
    if isinstance(inputs, list) and all(isinstance(f, dict) for f in inputs):
        inputs = _hash_table({f.get("file"): f.get("sha256") for f in inputs})
    else:
        inputs = None
    rulebook = manifest.get("rulebook")
    rules = _hash_table(rulebook.get("files")) if isinstance(rulebook, dict) else None
    return PublishedRun(run_id, as_of, finished, inputs, rules)


def _hash_table(table) -> Optional[dict[str, str]]:
    """``{path: sha256}`` when every key and value is text; None (not known) otherwise."""
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        return None
    return dict(table)


def _differences(now: dict[str, str], before: dict[str, str]) -> list[str]:
    changed = sorted(name for name, digest in now.items() if before.get(name) != digest)
    return changed + sorted(f"{name} (removed)" for name in before if name not in now)


@dataclass
class Since:
    """The last published run and what differs from it now: what ``run --once`` goes by."""

    run_id: Optional[str]  # None: nothing published yet
    as_of: Optional[str]  # the last run's as_of (ISO); None: no run, or not known (old state, damaged run.json)
    content_changed: Optional[bool]  # None: not known (damaged run.json): run to be sure
    changed: list[str]  # the files that differ, where known
    finished_at: Optional[str] = None
    readable: bool = True


def since_last(files: dict[str, str], state: dict, last: Optional[PublishedRun]) -> Since:
    """Compare the current ``files`` (path -> SHA-256) with the last published run.

    The state describes the run watch or ``run --once`` published last. When the latest run
    folder is another one (a plain ``kamrules run`` made it after) or there is no state, that
    run's run.json is the reference: its as_of, its inputs and its rule files (templates are not
    in run.json, so a template changed since such a run is not seen until the next change)."""
    if state.get("digest") and (last is None or state.get("run_id") == last.run_id):
        as_of = state.get("as_of") if isinstance(state.get("as_of"), str) else None  # old state: not known
        before = state.get("files") if isinstance(state.get("files"), dict) else None
        if before is None:  # a state written before per-file hashes were kept: inputs only
            before = state.get("inputs") if isinstance(state.get("inputs"), dict) else {}
            now = {name: digest for name, digest in files.items() if name.startswith("inputs/")}
        else:
            now = files
        changed = state["digest"] != _digest(files)[0]
        finished = state.get("finished_at") if isinstance(state.get("finished_at"), str) else None
        return Since(state.get("run_id"), as_of, changed, _differences(now, before) if changed else [],
                     finished or (last.finished_at if last else None))
    if last is None:
        return Since(None, None, True, sorted(name for name in files if name.startswith("inputs/")))
    if not last.readable or last.inputs is None or last.rules is None:
        return Since(last.run_id, last.as_of, None, [], last.finished_at, last.readable)
    now = {name: digest for name, digest in files.items() if name.startswith("inputs/") or RULE_FILE.fullmatch(name)}
    before = {**last.inputs, **{name: d for name, d in last.rules.items() if RULE_FILE.fullmatch(name)}}
    changed = _differences(now, before)
    return Since(last.run_id, last.as_of, bool(changed), changed, last.finished_at)


def run_if_changed(project: Path, options: WatchOptions, hopeless: list[Path] = (),
                   waiting: list[Path] = (), stuck: Optional[Callable[[Path], None]] = None,
                   left_out: frozenset = frozenset(),
                   today: Optional[Callable[[], dt.date]] = None) -> Optional[RunResult]:
    """One run over the ready inputs unless exactly that content was already published as of
    the same date (``options.as_of``, else ``today()``, by default :func:`local_today`).

    ``waiting`` files (still being copied, or not opening yet) are left out of this run;
    ``hopeless`` ones are set aside first. A bad file that cannot be set aside is handed to
    ``stuck`` (the watcher leaves it out until it changes); ``left_out`` are such files.
    """
    lang = language(project, options.lang)
    exclude = set(waiting) | set(left_out)

    def reject(path: Path, error: KamrulesError) -> None:
        if set_aside(project, path, error, lang) is None:
            exclude.add(path)
            if stuck is not None:
                stuck(path)

    for path in hopeless:
        reject(path, LedgerError(msg("watch.never_ready", seconds=options.give_up),
                                 file=path.relative_to(project).as_posix()))
    state = read_state(project)
    known = [p for p in waiting if p.relative_to(project).as_posix() in (state.get("inputs") or {})]
    if known or (waiting and not [p for p in candidate_inputs(project) if p not in exclude]):
        # A file the last result was built from is being replaced: running without it would
        # publish a result that silently lacks its rows. Wait for it instead.
        say(lang, "watch.waiting_for", files=", ".join(p.name for p in known or waiting))
        return None
    files = content_hashes(project, frozenset(exclude))
    as_of = options.as_of or (today() if today else local_today(project))
    since = since_last(files, state, latest_run(project))
    if not options.force and since.content_changed is False:
        if since.as_of == as_of.isoformat():
            say(lang, "watch.unchanged", logging.DEBUG, run=since.run_id)
            return None
        if since.as_of is not None:
            say(lang, "watch.new_date", before=since.as_of, as_of=as_of.isoformat())
    if waiting:
        say(lang, "watch.left_out", files=", ".join(p.name for p in waiting))
    render = RunOptions(workers=options.workers, exclude=frozenset(exclude), lang=options.lang, on_unreadable=reject)
    result = run(project, as_of, options=render)
    # What this run was given, less what it set aside: a file dropped while it ran is not in it,
    # so the next look sees new content and runs again.
    kept = {name: h for name, h in files.items() if project / name not in exclude
            and (not name.startswith("inputs/") or os.path.lexists(project / name))}
    digest, inputs = _digest(kept)
    write_state(project, {"digest": digest, "inputs": inputs, "files": kept, "as_of": result.as_of.isoformat(),
                          "run_id": result.run_dir.name,
                          "finished_at": dt.datetime.now().isoformat(timespec="seconds"), "result": "ok",
                          "rejected_rows": result.rejected_rows})
    say(lang, "watch.published", run=result.run_dir.name, customers=result.customers,
        rejected=result.rejected_rows)
    return result


def setup_logging(project: Path, console: bool = True) -> None:
    outputs = project / "outputs"
    outputs.mkdir(exist_ok=True)
    log.setLevel(logging.INFO)
    log.handlers.clear()
    handler = logging.handlers.RotatingFileHandler(outputs / LOG_FILE, maxBytes=1_000_000, backupCount=5,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        log.addHandler(stream)


class Watcher:
    """Watches inputs/, rules/ and templates/; runs when they changed and settled.

    ``clock`` (seconds, monotonic) times the debounce and the settling; ``today`` is the date a
    run without ``--as-of`` is as of (by default :func:`local_today`): when it changes (midnight)
    the watcher runs once for the new day. Tests pass fake ones and drive :meth:`step`
    themselves, as the loop of :meth:`serve` does every quarter second.
    """

    def __init__(self, project: Path, options: WatchOptions, clock: Callable[[], float] = time.monotonic,
                 today: Optional[Callable[[], dt.date]] = None):
        self.project, self.options, self.clock = Path(project).resolve(), options, clock
        self.today = today or (lambda: local_today(self.project))  # looked up on each call: tests may replace it
        self.day = self.today()  # the date of the last look; a pinned --as-of never moves on
        self.changed = threading.Event()
        self.stopping = threading.Event()
        self.last_change = 0.0
        self.readiness = Readiness(options.settle, options.give_up)
        self.waiting_before: set[Path] = set()
        self.stuck: dict[Path, tuple] = {}  # bad files that could not be set aside -> their signature
        self.retry_at = 0.0  # outputs/ was full or read-only: no run before this
        self.observer = None
        self.next_observer_try = 0.0

    @property
    def lang(self) -> str:
        return language(self.project, self.options.lang)

    def on_change(self, path: str) -> None:
        try:  # not resolved: a link in inputs/ may point anywhere, the event is still ours
            relative = Path(path).relative_to(self.project).parts if path else ()
        except ValueError:
            relative = ()
        if len(relative) >= 2 and relative[0] == "inputs" and relative[1] == "rejected":
            return
        if relative and relative[0] == "outputs":
            return
        self.last_change = self.clock()
        self.changed.set()

    def catch_up(self) -> None:
        """Look at the folder at once: finish whatever an earlier, interrupted watcher left undone."""
        self.changed.set()
        self.last_change = self.clock() - self.options.debounce

    def serve(self) -> None:
        outputs = self.project / "outputs"
        outputs.mkdir(exist_ok=True)
        with project_lock(outputs, WATCH_LOCK, msg("watch.locked")):
            self.observer = self._observer()
            self.observer.start()
            say(self.lang, "watch.watching_polling" if self.options.poll else "watch.watching",
                project=str(self.project), settle=self.options.settle, debounce=self.options.debounce)
            try:
                self.catch_up()
                self._loop()
            finally:
                if self.observer is not None:
                    self.observer.stop()
                    self.observer.join(timeout=5)
                say(self.lang, "watch.stopped")

    def _observer(self):
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):
                if event.event_type in ("opened", "closed_no_write"):
                    return
                try:
                    watcher.on_change(getattr(event, "dest_path", "") or event.src_path)
                except Exception:  # noqa: BLE001 - the observer thread must not die: look anyway
                    watcher.on_change("")

        observer = PollingObserver(timeout=self.options.poll_interval) if self.options.poll else Observer()
        for folder in WATCHED:
            path = self.project / folder
            path.mkdir(exist_ok=True)
            observer.schedule(Handler(), str(path), recursive=True)
        return observer

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.changed.wait(timeout=0.25)
            self._keep_observing()
            self.step()

    def _keep_observing(self) -> None:
        """A watchdog thread that died (an emitter error on a strange entry) would leave the
        service up but deaf: start a new one and look at the folder at once. If none starts,
        try again every few seconds, looking at the folder each time."""
        if self.stopping.is_set() or (self.observer is not None and self.observer.is_alive()):
            return
        now = self.clock()
        if now < self.next_observer_try:
            return
        self.next_observer_try = now + OBSERVER_RETRY
        if self.observer is not None:
            say(self.lang, "watch.observer_restarted", logging.WARNING)
        try:
            self.observer = self._observer()
            self.observer.start()
        except Exception as exc:  # noqa: BLE001 - keep looking on a timer instead
            if self.observer is not None:
                say(self.lang, "watch.observer_failed", logging.ERROR, reason=str(exc))
            self.observer = None
        self.catch_up()

    def step(self) -> bool:
        """Run if changes have gone quiet for ``debounce`` seconds, or a waiting file became ready
        or hopeless, or the date moved on; True when it looked for a run (one is published only if
        the content or the date changed)."""
        now = self.clock()
        self._new_day(now)
        if now < self.retry_at or (self.changed.is_set() and now - self.last_change < self.options.debounce):
            return False
        candidates = [p for p in candidate_inputs(self.project) if not self._still_stuck(p)]
        waiting, hopeless = self.readiness.check(candidates, now)
        if not self.changed.is_set() and set(waiting) == self.waiting_before and not hopeless:
            return False  # nothing new: no event, and no file became ready or hopeless
        self.changed.clear()
        self.waiting_before = set(waiting)
        try:
            run_if_changed(self.project, self.options, hopeless, waiting, stuck=self._remember_stuck,
                           left_out=frozenset(self.stuck), today=self.today)
        except LockedError as exc:
            say(self.lang, "watch.retry", logging.WARNING, reason=exc.message)
            self.changed.set()
            self.stopping.wait(1.0)
        except UnwritableError as exc:
            say(self.lang, "watch.retry_later", logging.ERROR, error=Verbatim(self._one_line(exc)),
                seconds=RETRY_UNWRITABLE)
            self.retry_at = self.clock() + RETRY_UNWRITABLE
            self.changed.set()
        except KamrulesError as exc:
            say(self.lang, "watch.run_failed", logging.ERROR, error=Verbatim(self._one_line(exc)))
        return True

    def _new_day(self, now: float) -> None:
        """Midnight passed (and ``--as-of`` was not given): look at once, without waiting for a
        file to change; the run for the new day follows unless that date was already run."""
        if self.options.as_of is not None:
            return
        today = self.today()
        if today == self.day:
            return
        say(self.lang, "watch.new_day", before=self.day.isoformat(), as_of=today.isoformat())
        self.day = today
        if not self.changed.is_set():  # a burst of changes in progress keeps its debounce
            self.last_change = now - self.options.debounce
        self.changed.set()

    def _one_line(self, error: KamrulesError) -> str:
        return re.sub(r"\n\s*", " | ", error.render(self.lang))

    def _remember_stuck(self, path: Path) -> None:
        try:
            stat = path.stat()
            self.stuck[path] = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            pass

    def _still_stuck(self, path: Path) -> bool:
        """A bad file that could not be set aside stays out of the runs until it changes."""
        if path not in self.stuck:
            return False
        try:
            stat = path.stat()
        except OSError:
            return True
        if self.stuck[path] == (stat.st_size, stat.st_mtime_ns):
            return True
        del self.stuck[path]
        return False

    def stop(self, *_args) -> None:
        if self.stopping.is_set():
            say(self.lang, "watch.exit_now", logging.WARNING)
            os._exit(130)
        say(self.lang, "watch.stopping")
        self.stopping.set()


def install_signal_handlers(stop: Callable) -> None:
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


@dataclass
class Status:
    last_run: Optional[str]  # the latest published run, whichever command made it
    finished_at: Optional[str]
    up_to_date: bool  # ``run --once`` (without --as-of) would do nothing now
    pending: list[str]  # files changed since the last run, where known
    rejected: list[str]
    watcher_pid: Optional[int]
    as_of: Optional[str] = None  # the last run's as_of (ISO); None: no run, or not known
    today: Optional[dt.date] = None
    content_changed: Optional[bool] = None  # None: not known (the last run's run.json cannot be read)
    date_moved: bool = False  # the last run is as of another day than today
    damaged: bool = False  # the last run's run.json cannot be read


def status(project: Path, today: Optional[Callable[[], dt.date]] = None) -> Status:
    """The latest finished run (from the run folders and the state) and what ``run --once``
    would do now; never raises for a damaged run.json or a missing outputs/."""
    project = Path(project).resolve()
    state = read_state(project)
    files = content_hashes(project)
    since = since_last(files, state, latest_run(project))
    day = today() if today else local_today(project)
    date_moved = since.run_id is not None and since.as_of is not None and since.as_of != day.isoformat()
    up_to_date = since.content_changed is False and since.as_of == day.isoformat()
    rejected_dir = project / "inputs" / "rejected"
    real_folder = rejected_dir.is_dir() and not rejected_dir.is_symlink()
    rejected = sorted(p.name for p in rejected_dir.iterdir() if p.suffix != ".txt") if real_folder else []
    return Status(since.run_id, since.finished_at, up_to_date, since.changed, rejected,
                  lock_holder(project / "outputs" / WATCH_LOCK), since.as_of, day, since.content_changed,
                  date_moved, not since.readable)
