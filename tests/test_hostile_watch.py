"""Issue 19, the drop folder's part: ``kamrules watch`` survives whatever is dropped into the
project and the faults around it (points 1, 2, 6, 7, 8, 13, 16, 20 and 21), and writes
nothing outside the project.

The real service runs as a subprocess under a 3 GiB address-space limit; the hostile files of
tests/corpus/watch.py (and links, a file called ``inputs/rejected``) are dropped into it in
turn, and after each a good file must still be published. The faults no test machine can make
on demand (a full disk, a dying watchdog thread) are driven in-process on a fake clock."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kamrules import pipeline
from kamrules.cli import app
from kamrules.errors import LedgerError
from kamrules.i18n import msg, printable
from kamrules.pipeline import project_lock
from kamrules.watch import NAME_MAX, Watcher, WatchOptions, content_digest, set_aside, status

from conftest import make_project
from hostile import bounded
from test_watch import FakeClock, elapse, inputs_of, orders_csv, runs, wait_for

sys.path.insert(0, str(Path(__file__).parent / "corpus"))
import watch as corpus  # noqa: E402

pytestmark = pytest.mark.slow  # real watchers against every hostile drop: CI's second step (tests/test_watch.py keeps a real one in the fast suite)

SETTLE, DEBOUNCE, GIVE_UP = 0.5, 0.4, 2.0
POSIX_ONLY = pytest.mark.skipif(not hasattr(os, "symlink") or os.name != "posix", reason="POSIX links and names")


def start(project: Path, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "kamrules", "watch", "-p", str(project), "--settle", str(SETTLE),
               "--debounce", str(DEBOUNCE), "--give-up", str(GIVE_UP), "--as-of", "2026-10-31", "--lang", "en"]
    return subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, preexec_fn=bounded)


def hashes(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (links not followed) and its content hash."""
    found = {}
    for directory, _, names in os.walk(folder):
        for name in names:
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


class Service:
    """A running ``kamrules watch`` and what it has published so far."""

    def __init__(self, project: Path, log: Path):
        self.project, self.log = project, log
        self.process = start(project, log)
        self.good = 0

    def text(self) -> str:
        return self.log.read_bytes().decode("utf-8", "replace")

    def alive(self) -> None:
        assert self.process.poll() is None, f"watch died:\n{self.text()}"

    def publishes_a_good_file(self) -> Path:
        """Drop one more good orders file; the service must publish a run that read it."""
        self.good += 1
        name = f"good{self.good}.csv"
        orders_csv(self.project / "inputs" / name, [f"SOG{self.good},C002,2026-10-1{self.good % 10},五金,1,1000,500"])
        published = wait_for(lambda: [r for r in runs(self.project) if f"inputs/{name}" in inputs_of(r)],
                             timeout=90, what=f"a run with {name}:\n{self.text()}")
        self.alive()
        return published[0]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
def service(tmp_path):
    project = make_project(tmp_path / "proj")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("客户编号,客户名称\nC777,外部客户\n", encoding="utf-8")
    running = Service(project, tmp_path / "watch.log")
    wait_for(lambda: runs(project), timeout=90, what="the first run")
    before = hashes(tmp_path / "outside"), sorted(os.listdir(tmp_path))
    yield running, outside
    code = running.stop()
    text = running.text()
    assert code == 0, text
    assert "Traceback" not in text
    assert (hashes(tmp_path / "outside"), sorted(os.listdir(tmp_path))) == before  # nothing written outside


def dropped(project: Path, make) -> tuple[Path, str]:
    path = make(project / "inputs")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def set_aside_with_note(project: Path, name: str, digest: str) -> Path:
    """The file is in inputs/rejected/ (under its name, or a shortened one), unchanged, with a note."""
    rejected = project / "inputs" / "rejected"
    moved = wait_for(lambda: [p for p in rejected.iterdir() if not p.name.endswith(".error.txt")
                              and hashlib.sha256(p.read_bytes()).hexdigest() == digest] if rejected.is_dir() else [],
                     timeout=60, what=f"{name!r} set aside")[0]
    note = moved.with_name(moved.name + ".error.txt")
    assert note.exists() and len(os.fsencode(note.name)) <= NAME_MAX
    assert not (project / "inputs" / name).exists()
    return note


@POSIX_ONLY
def test_files_that_cannot_be_read_are_set_aside_and_the_service_goes_on(service):
    running, _ = service
    project = running.project
    for make in (corpus.damaged_deflate, corpus.unknown_compression, corpus.encrypted_part, corpus.repeated_big_part,
                 corpus.long_name):
        path, digest = dropped(project, make)
        started = time.monotonic()
        note = set_aside_with_note(project, path.name, digest)
        assert time.monotonic() - started < 45  # the 30 × 64 MiB directory is refused, not inflated
        text = note.read_text(encoding="utf-8")
        assert text.startswith(f"File: {path.name}\nReason: inputs/{path.name}") or \
            text.startswith(f"文件：{path.name}\n")
        running.publishes_a_good_file()
    long_note = next(p for p in (project / "inputs" / "rejected").iterdir() if p.name.startswith("客"))
    assert long_note.name.endswith(".xlsx") or long_note.name.endswith(".xlsx.error.txt")


@POSIX_ONLY
def test_strange_names_are_escaped_in_the_log_and_a_non_utf8_name_is_read(service):
    running, _ = service
    project = running.project
    forged = project / "inputs" / "x\n12:00:00 ERROR forged line \x1b[31mred\x1b[0m.xlsx"
    forged.write_bytes(b"%PDF-1.4 not a workbook")
    set_aside_with_note(project, forged.name, hashlib.sha256(forged.read_bytes() if forged.exists() else
                                                             b"%PDF-1.4 not a workbook").hexdigest())
    wait_for(lambda: "forged line" in running.text(), what="the log line")
    log = running.text() + (project / "outputs" / "kamrules.log").read_bytes().decode("utf-8", "replace")
    assert "x\\x0a12:00:00 ERROR forged line \\x1b[31mred\\x1b[0m.xlsx" in log
    assert "\x1b" not in log and "\n12:00:00 ERROR forged" not in log
    gbk, _ = dropped(project, corpus.gbk_name)
    published = wait_for(lambda: [r for r in runs(project) if f"inputs/{gbk.name}" in inputs_of(r)],
                         timeout=60, what=f"a run with the GBK-named file:\n{running.text()}")
    assert gbk.exists()
    shown = subprocess.run([sys.executable, "-m", "kamrules", "status", "-p", str(project), "--lang", "en"],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "watcher: running" in shown.stdout, shown.stderr
    assert published


@POSIX_ONLY
def test_links_out_of_the_project_are_not_read_and_the_service_stays_awake(service):
    running, outside = service
    project = running.project
    link = project / "inputs" / "elsewhere.csv"
    link.symlink_to(outside / "secret.csv")  # point 7: the observer thread died on this event
    run = running.publishes_a_good_file()  # still hears changes after the link's event
    assert "inputs/elsewhere.csv" not in inputs_of(run)
    assert link.is_symlink() and (outside / "secret.csv").exists()
    portfolio = (run / "portfolio.xlsx").read_bytes()
    assert "外部客户".encode() not in portfolio


@POSIX_ONLY
def test_a_rejected_folder_that_is_a_link_or_a_file_is_not_used(service):
    running, outside = service
    project = running.project
    rejected = project / "inputs" / "rejected"
    rejected.symlink_to(outside, target_is_directory=True)  # point 13
    bad = project / "inputs" / "bad.xlsx"
    bad.write_bytes(b"%PDF-1.4 not a workbook")
    wait_for(lambda: "cannot set aside inputs" in running.text() or "cannot set aside bad.xlsx" in running.text(),
             what=f"the refusal in the log:\n{running.text()}")
    assert bad.read_bytes() == b"%PDF-1.4 not a workbook"  # left where it was, unchanged
    assert "inputs/rejected is not a folder inside the project" in running.text()
    running.publishes_a_good_file()
    rejected.unlink()
    rejected.write_text("a file, not a folder")  # point 2: a plain file called inputs/rejected
    second = project / "inputs" / "bad2.xlsx"
    second.write_bytes(b"%PDF-1.4 not a workbook either")
    wait_for(lambda: "cannot set aside bad2.xlsx" in running.text(), what=f"the second refusal:\n{running.text()}")
    running.publishes_a_good_file()
    assert rejected.read_text() == "a file, not a folder"


# --- in process: the faults -----------------------------------------------------------------

@pytest.fixture
def watched(tmp_path):
    project = make_project(tmp_path / "proj")
    clock = FakeClock()
    watcher = Watcher(project, WatchOptions(settle=SETTLE, debounce=DEBOUNCE, give_up=GIVE_UP,
                                            as_of=dt.date(2026, 10, 31), workers=1, lang="en"), clock=clock)
    watcher.catch_up()
    elapse(watcher, clock, SETTLE + 0.5)
    assert len(runs(project)) == 1
    return watcher, clock


def test_a_full_disk_is_said_and_retried_later(watched, monkeypatch, caplog):
    watcher, clock = watched
    project = watcher.project
    real_replace = os.replace

    def full(source, target, *args, **kwargs):
        if Path(source).name.startswith(pipeline.STAGING_PREFIX):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(pipeline.os, "replace", full)
    orders_csv(project / "inputs" / "more.csv", ["SO9,C002,2026-10-15,五金,1,50000,30000"])
    watcher.on_change(str(project / "inputs" / "more.csv"))
    with caplog.at_level(logging.ERROR, logger="kamrules.watch"):
        elapse(watcher, clock, SETTLE + DEBOUNCE + 0.5)
    assert [r.getMessage() for r in caplog.records] == [
        f"{project / 'outputs'}: no space left on device | hint: free some space (or delete old run "
        "folders) and run again; nothing in inputs/ was changed; trying again in 60 s"]
    assert len(runs(project)) == 1 and not [p for p in (project / "outputs").iterdir()
                                             if p.name.startswith(pipeline.STAGING_PREFIX)]
    monkeypatch.setattr(pipeline.os, "replace", real_replace)  # space was freed
    assert elapse(watcher, clock, 30) == 0  # no attempt before the minute is up
    elapse(watcher, clock, 31)
    assert len(runs(project)) == 2 and "inputs/more.csv" in inputs_of(runs(project)[-1])


@pytest.mark.parametrize("code, message, hint", [
    (errno.ENOSPC, "no space left on device",
     "free some space (or delete old run folders) and run again; nothing in inputs/ was changed"),
    (errno.EROFS, "read-only (or not writable by the user kamrules runs as)",
     "make outputs/ writable for the user kamrules runs as"),
    (errno.EACCES, "read-only (or not writable by the user kamrules runs as)",
     "make outputs/ writable for the user kamrules runs as"),
])
def test_run_on_a_full_or_read_only_disk_ends_with_a_message(tmp_path, monkeypatch, code, message, hint):
    project = make_project(tmp_path / "proj")
    real_mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):
        if self.name.startswith(pipeline.STAGING_PREFIX):
            raise OSError(code, os.strerror(code))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    before = hashes(project / "inputs")
    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "--lang", "en"])
    assert (result.exit_code, result.output.splitlines()[-2:]) == (1, [
        f"error: {project / 'outputs'}: {message}", f"  hint: {hint}"])
    assert hashes(project / "inputs") == before and runs(project) == []


def test_a_dead_observer_thread_is_restarted(watched, caplog):
    watcher, clock = watched

    class Dead:
        def is_alive(self):
            return False

    started = []

    class Fresh:
        def start(self):
            started.append(self)

        def is_alive(self):
            return True

    watcher.observer = Dead()
    watcher._observer = Fresh
    with caplog.at_level(logging.WARNING, logger="kamrules.watch"):
        watcher._keep_observing()
    assert len(started) == 1 and isinstance(watcher.observer, Fresh) and watcher.changed.is_set()
    assert [r.getMessage() for r in caplog.records] == ["the file-watching thread stopped; started it again"]


def test_an_event_for_a_path_outside_the_project_is_still_a_change(watched, tmp_path):
    watcher, clock = watched
    watcher.changed.clear()
    watcher.on_change(str(tmp_path / "elsewhere" / "x.csv"))  # a link's target, resolved by watchdog
    assert watcher.changed.is_set()
    watcher.changed.clear()
    watcher.on_change(str(watcher.project / "outputs" / "x"))
    assert not watcher.changed.is_set()


def test_a_long_name_is_shortened_for_its_note(tmp_path):
    project = make_project(tmp_path / "proj")
    bad = project / "inputs" / ("客" * 83 + ".xlsx")
    bad.write_bytes(b"x")
    target = set_aside(project, bad, LedgerError(msg("watch.never_ready", seconds=2.0), file=bad.name), "en")
    note = target.with_name(target.name + ".error.txt")
    assert target.name == "客" * 80 + ".xlsx"  # 83 × 3 + 5 + 10 bytes would be 264; 255 is the most
    assert len(os.fsencode(note.name)) == NAME_MAX and target.read_bytes() == b"x" and note.exists()
    assert note.read_text(encoding="utf-8").splitlines()[0] == f"File: {bad.name}"
    again = project / "inputs" / bad.name
    again.write_bytes(b"y")
    second = set_aside(project, again, LedgerError(msg("watch.never_ready", seconds=2.0), file=bad.name), "en")
    assert second != target and second.read_bytes() == b"y" and target.read_bytes() == b"x"


def test_a_bad_file_that_cannot_be_set_aside_is_left_out_until_it_changes(watched, caplog):
    watcher, clock = watched
    project = watcher.project
    (project / "inputs" / "rejected").write_text("not a folder")
    bad = project / "inputs" / "bad.xlsx"
    bad.write_bytes(b"%PDF-1.4")
    watcher.on_change(str(bad))
    with caplog.at_level(logging.WARNING, logger="kamrules.watch"):
        elapse(watcher, clock, GIVE_UP + SETTLE + DEBOUNCE + 1)
    said = [r.getMessage() for r in caplog.records if "cannot set aside" in r.getMessage()]
    assert said and said[0].startswith("cannot set aside bad.xlsx (inputs/rejected is not a folder inside the "
                                       "project (a file or a link); make it a plain folder): it stays where it is")
    assert len(said) == 1  # said once, not on every pass
    assert bad.read_bytes() == b"%PDF-1.4" and watcher.stuck
    orders_csv(project / "inputs" / "more.csv", ["SO9,C002,2026-10-15,五金,1,50000,30000"])
    watcher.on_change(str(project / "inputs" / "more.csv"))
    elapse(watcher, clock, SETTLE + DEBOUNCE + 1)
    assert "inputs/more.csv" in inputs_of(runs(project)[-1])
    assert "inputs/bad.xlsx" not in inputs_of(runs(project)[-1])


def test_status_and_the_state_keep_a_name_that_is_not_utf8(tmp_path):
    project = make_project(tmp_path / "proj")
    gbk = corpus.gbk_name(project / "inputs")
    _, inputs = content_digest(project)
    assert f"inputs/{gbk.name}" in inputs
    shown = status(project)
    assert shown.pending == sorted(inputs)
    result = CliRunner().invoke(app, ["status", "-p", str(project), "--lang", "en"])
    assert result.exit_code == 0
    assert f"  {printable('inputs/' + gbk.name)}" in result.output.splitlines()
    assert "inputs/\\xb6\\xa9\\xb5\\xa5\\xb2\\xb9\\xb3\\xe4.csv" in result.output


def test_two_runs_started_together_never_both_run(tmp_path):
    """Point 16: the OS lock; whichever comes second is told, never both hold it."""
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    held, refused, barrier = [], [], threading.Barrier(8)

    def contend():
        barrier.wait()
        try:
            with project_lock(outputs):
                held.append(1)
                time.sleep(0.2)
                assert len(held) == 1
                held.pop()
        except Exception as exc:  # noqa: BLE001
            refused.append(type(exc).__name__)

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refused and set(refused) == {"LockedError"} and len(refused) <= 7
