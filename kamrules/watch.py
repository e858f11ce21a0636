"""The drop folder: ``kamrules watch`` and ``kamrules run --once``.

Back-office staff copy workbooks into ``inputs/`` — slowly, over network shares, sometimes
while Excel still has them open. The service (patterned on Camel's and NiFi's file
consumers) promises:

- **readiness**: a file is read only once it has kept its size and mtime for ``settle``
  seconds and opens (an .xlsx is a zip whose CRCs check out); until then it is left out of
  the runs (the other files are processed), and when it gets there a new run follows; a file
  unchanged for ``give_up`` seconds that still does not open is set aside, not waited on forever;
- **debounce**: a burst of changes (ten files dropped at once, an editor's save dance) is
  one run, started ``debounce`` seconds after the last change;
- **rejection without loss**: an unreadable or invalid workbook is moved to
  ``inputs/rejected/`` with ``<name>.error.txt`` (in the project's language, and in English too
  when that is Chinese) and the rest of the ledger runs; nothing else in ``inputs/`` is ever
  modified, moved or deleted;
- **one writer**: one watcher per project (``outputs/.kamrules-watch.lock``) and one run at
  a time (the pipeline's lock); locks of dead processes are taken over;
- **idempotence**: the content hash of inputs + rules + templates of the last published run
  is kept in ``outputs/.kamrules-state.json``; the same content is not run again (unless
  ``--force``), and work interrupted by a crash is done at the next start;
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
import signal
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .errors import KamrulesError, LedgerError, LockedError
from .i18n import choose, msg
from .rules.rulebook import project_locale
from .pipeline import RunOptions, RunResult, finished_runs, lock_holder, project_lock, run

STATE_FILE = ".kamrules-state.json"
WATCH_LOCK = ".kamrules-watch.lock"
LOG_FILE = "kamrules.log"
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
    log.log(level, "%s", msg(key, **values).localize(lang))


def candidate_inputs(project: Path) -> list[Path]:
    inputs = project / "inputs"
    if not inputs.is_dir():
        return []
    return sorted(p for p in inputs.iterdir() if p.is_file() and p.suffix.lower() in SPREADSHEETS
                  and not p.name.startswith(("~$", ".")))


def content_digest(project: Path, exclude: frozenset = frozenset()) -> tuple[str, dict[str, str]]:
    """SHA-256 over every input (but ``exclude``), rule and template file; and each input's own hash."""
    files: dict[str, str] = {}
    for path in candidate_inputs(project):
        if path not in exclude:
            files[path.relative_to(project).as_posix()] = _sha256(path)
    for folder in ("rules", "templates"):
        root = project / folder
        if root.is_dir():
            for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(("~$", "."))):
                files[path.relative_to(project).as_posix()] = _sha256(path)
    joined = "\n".join(f"{name}:{digest}" for name, digest in sorted(files.items()))
    inputs = {name: digest for name, digest in files.items() if name.startswith("inputs/")}
    return hashlib.sha256(joined.encode()).hexdigest(), inputs


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def opens(path: Path) -> bool:
    """A complete file: an .xlsx/.xlsm zip with good CRCs, an .xls with its OLE signature."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            with zipfile.ZipFile(path) as archive:
                return archive.testzip() is None
        if suffix == ".xls":
            with path.open("rb") as handle:
                return handle.read(8) == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        with path.open("rb"):
            return True
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
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


def set_aside(project: Path, path: Path, error: KamrulesError, lang: Optional[str] = None) -> Path:
    """Move a bad input to inputs/rejected/ with <name>.error.txt (in ``lang``, default the
    project's language; a Chinese note has the English one after it)."""
    lang = language(project, lang)
    folder = project / "inputs" / "rejected"
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = folder / f"{path.stem}.{stamp}{path.suffix}"
    note = target.with_name(target.name + ".error.txt")
    note.write_text(rejection_note(path.name, error, lang), encoding="utf-8")
    os.replace(path, target)
    say(lang, "watch.set_aside", logging.WARNING, file=path.name, reason=error.message)
    return target


def rejection_note(name: str, error: KamrulesError, lang: str) -> str:
    """Why a file was set aside and what to do. In Chinese: the reason, then the whole error with
    where and a hint; the English note follows for whoever supports the office."""
    if lang == "zh":
        lines = [msg("watch.note.file", file=name), msg("watch.note.reason", reason=error.message),
                 msg("watch.note.details", details=error.render("zh")), msg("watch.note.fix")]
        return "".join(line.localize("zh") + "\n" for line in lines) + "\n" + rejection_note(name, error, "en")
    lines = [msg("watch.note.file", file=name), msg("watch.note.reason", reason=error.render("en")),
             msg("watch.note.fix")]
    return "".join(line + "\n" for line in lines)


def read_state(project: Path) -> dict:
    try:
        return json.loads((project / "outputs" / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_state(project: Path, state: dict) -> None:
    path = project / "outputs" / STATE_FILE
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(state, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(temporary, path)


def run_if_changed(project: Path, options: WatchOptions, hopeless: list[Path] = (),
                   waiting: list[Path] = ()) -> Optional[RunResult]:
    """One run over the ready inputs unless exactly that content was already published.

    ``waiting`` files (still being copied, or not opening yet) are left out of this run;
    ``hopeless`` ones are set aside first.
    """
    lang = language(project, options.lang)
    for path in hopeless:
        set_aside(project, path, LedgerError(msg("watch.never_ready", seconds=options.give_up), file=path.name),
                  lang)
    exclude = frozenset(waiting)
    state = read_state(project)
    known = [p for p in waiting if p.relative_to(project).as_posix() in state.get("inputs", {})]
    if known or (waiting and not [p for p in candidate_inputs(project) if p not in exclude]):
        # A file the last result was built from is being replaced: running without it would
        # publish a result that silently lacks its rows. Wait for it instead.
        say(lang, "watch.waiting_for", files=", ".join(p.name for p in known or waiting))
        return None
    digest, _ = content_digest(project, exclude)
    if not options.force and state.get("digest") == digest:
        say(lang, "watch.unchanged", logging.DEBUG, run=state.get("run_id"))
        return None
    if waiting:
        say(lang, "watch.left_out", files=", ".join(p.name for p in waiting))
    render = RunOptions(workers=options.workers, exclude=exclude, lang=options.lang,
                        on_unreadable=lambda path, error: set_aside(project, path, error, lang))
    result = run(project, options.as_of, options=render)
    digest, inputs = content_digest(project, exclude)  # files set aside during the run are no longer inputs
    write_state(project, {"digest": digest, "inputs": inputs, "run_id": result.run_dir.name,
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

    ``clock`` (seconds, monotonic) times the debounce and the settling; tests pass a fake one
    and drive :meth:`step` themselves, as the loop of :meth:`serve` does every quarter second.
    """

    def __init__(self, project: Path, options: WatchOptions, clock: Callable[[], float] = time.monotonic):
        self.project, self.options, self.clock = Path(project).resolve(), options, clock
        self.changed = threading.Event()
        self.stopping = threading.Event()
        self.last_change = 0.0
        self.readiness = Readiness(options.settle, options.give_up)
        self.waiting_before: set[Path] = set()

    @property
    def lang(self) -> str:
        return language(self.project, self.options.lang)

    def on_change(self, path: str) -> None:
        relative = Path(path).resolve().relative_to(self.project).parts if path else ()
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
            observer = self._observer()
            observer.start()
            say(self.lang, "watch.watching_polling" if self.options.poll else "watch.watching",
                project=str(self.project), settle=self.options.settle, debounce=self.options.debounce)
            try:
                self.catch_up()
                self._loop()
            finally:
                observer.stop()
                observer.join(timeout=5)
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
                watcher.on_change(getattr(event, "dest_path", "") or event.src_path)

        observer = PollingObserver(timeout=self.options.poll_interval) if self.options.poll else Observer()
        for folder in WATCHED:
            path = self.project / folder
            path.mkdir(exist_ok=True)
            observer.schedule(Handler(), str(path), recursive=True)
        return observer

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.changed.wait(timeout=0.25)
            self.step()

    def step(self) -> bool:
        """Run if changes have gone quiet for ``debounce`` seconds, or a waiting file became ready
        or hopeless; True when it looked for a run (one is published only if the content changed)."""
        quiet = self.clock() - self.last_change
        if self.changed.is_set() and quiet < self.options.debounce:
            return False
        waiting, hopeless = self.readiness.check(candidate_inputs(self.project), self.clock())
        if not self.changed.is_set() and set(waiting) == self.waiting_before and not hopeless:
            return False  # nothing new: no event, and no file became ready or hopeless
        self.changed.clear()
        self.waiting_before = set(waiting)
        try:
            run_if_changed(self.project, self.options, hopeless, waiting)
        except LockedError as exc:
            say(self.lang, "watch.retry", logging.WARNING, reason=exc.message)
            self.changed.set()
            self.stopping.wait(1.0)
        except KamrulesError as exc:
            say(self.lang, "watch.run_failed", logging.ERROR, error=exc.render(self.lang).replace("\n", " | "))
        return True

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
    last_run: Optional[str]
    finished_at: Optional[str]
    up_to_date: bool
    pending: list[str]
    rejected: list[str]
    watcher_pid: Optional[int]


def status(project: Path) -> Status:
    project = Path(project).resolve()
    state = read_state(project)
    digest, inputs = content_digest(project)
    before = state.get("inputs", {})
    pending = sorted(name for name, h in inputs.items() if before.get(name) != h)
    pending += sorted(f"{name} (removed)" for name in before if name not in inputs)
    rejected_dir = project / "inputs" / "rejected"
    rejected = sorted(p.name for p in rejected_dir.iterdir() if p.suffix != ".txt") if rejected_dir.is_dir() else []
    runs = finished_runs(project)
    last = state.get("run_id") or (runs[-1].name if runs else None)
    return Status(last, state.get("finished_at"), state.get("digest") == digest, pending, rejected,
                  lock_holder(project / "outputs" / WATCH_LOCK))
