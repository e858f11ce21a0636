"""``kamrules watch``: the folder logic driven step by step on a fake clock (deterministic, no
sleeps), and the real thing as a subprocess (file-system events, locks, status, signals)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from kamrules.watch import Watcher, WatchOptions

from conftest import REPO, make_project, write_workbook

SETTLE, DEBOUNCE, GIVE_UP = 0.8, 0.6, 3.0
ORDER_HEADER = "订单编号,客户编号,下单日期,产品,数量,金额,成本"


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def runs(project: Path) -> list[Path]:
    outputs = project / "outputs"
    return sorted(p for p in outputs.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / "run.json").exists()) if outputs.exists() else []


def inputs_of(run: Path) -> dict[str, str]:
    manifest = json.loads((run / "run.json").read_text(encoding="utf-8"))
    return {f["file"]: f["sha256"] for f in manifest["inputs"]}


def orders_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([ORDER_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


@pytest.fixture
def watched(project):
    """A watcher on a fake clock that has published its first run, as ``serve`` starts."""
    clock = FakeClock()
    watcher = Watcher(project, WatchOptions(settle=SETTLE, debounce=DEBOUNCE, give_up=GIVE_UP,
                                            as_of=dt.date(2026, 10, 31), workers=1), clock=clock)
    watcher.catch_up()
    assert watcher.step() and runs(project) == []  # the ledger was written just now: not settled yet
    elapse(watcher, clock, SETTLE)
    assert len(runs(project)) == 1
    return watcher, clock


def elapse(watcher: Watcher, clock: FakeClock, seconds: float) -> int:
    """Let ``seconds`` pass as the service does: a step every quarter second; how many looked for a run."""
    looked = 0
    for _ in range(math.ceil(seconds / 0.25)):
        clock.advance(0.25)
        looked += watcher.step()
    return looked


def changed(watcher: Watcher, path: Path) -> None:
    """What watchdog tells the watcher when a file is written."""
    watcher.on_change(str(path))


def test_a_slow_copy_is_left_out_until_complete_then_run_once(project, tmp_path, watched):
    watcher, clock = watched
    data = write_workbook(tmp_path / "补充订单.xlsx", {"销售明细": [
        ["订单编号", "客户编号", "下单日期", "产品", "数量", "金额", "成本"],
        ["SO9", "C002", "2026-10-15", "五金", 1, 50_000, 30_000]]}).read_bytes()
    target = project / "inputs" / "补充订单.xlsx"
    chunk = len(data) // 6 + 1
    with target.open("wb") as handle:
        for start in range(0, len(data), chunk):
            handle.write(data[start:start + chunk])
            handle.flush()
            os.utime(target, ns=(time.time_ns(), time.time_ns() + start))  # each write is a new version
            changed(watcher, target)
            assert not watcher.step()  # still within the debounce
            elapse(watcher, clock, 0.75)  # quiet, but not settled: left out, nothing new to publish
            assert len(runs(project)) == 1
    elapse(watcher, clock, SETTLE)  # settled and opens: the run that includes it
    published = runs(project)
    assert len(published) == 2
    assert inputs_of(published[-1])["inputs/补充订单.xlsx"] == hashlib.sha256(data).hexdigest()
    assert elapse(watcher, clock, 60) == 0 and len(runs(project)) == 2  # and never again for that content


def test_bad_files_are_set_aside_with_a_reason_and_the_rest_runs(project, watched):
    watcher, clock = watched
    truncated = b"PK\x03\x04 this zip was cut off"
    inputs = project / "inputs"
    (inputs / "半截.xlsx").write_bytes(truncated)
    with zipfile.ZipFile(inputs / "不是工作簿.xlsx", "w") as archive:
        archive.writestr("readme.txt", "hello")
    orders_csv(inputs / "补充.csv", ["SO9,C002,2026-10-15,五金,1,50000,30000"])
    for name in ("半截.xlsx", "不是工作簿.xlsx", "补充.csv"):
        changed(watcher, inputs / name)
    assert elapse(watcher, clock, DEBOUNCE + SETTLE + 0.5) == 2  # after the quiet, and when they settled
    rejected = inputs / "rejected"
    # a zip that opens but holds no workbook is refused by the run and set aside; the rest is published
    note = (rejected / "不是工作簿.xlsx.error.txt").read_text(encoding="utf-8")
    assert "原因：无法打开工作簿" in note and "Reason: inputs/不是工作簿.xlsx: cannot open workbook" in note
    assert set(inputs_of(runs(project)[-1])) == {"inputs/台账.xlsx", "inputs/补充.csv"}
    assert (inputs / "半截.xlsx").exists()  # a broken zip may still be arriving: waited on, not used
    assert elapse(watcher, clock, GIVE_UP) == 1  # given up on
    assert (rejected / "半截.xlsx").read_bytes() == truncated
    assert "unchanged for 3 seconds but still cannot be opened" in \
        (rejected / "半截.xlsx.error.txt").read_text(encoding="utf-8")
    assert sorted(p.name for p in inputs.iterdir()) == ["rejected", "台账.xlsx", "补充.csv"]
    assert len(runs(project)) == 2  # setting the broken file aside changes nothing that was published


def test_a_burst_of_ten_files_is_one_run(project, watched):
    watcher, clock = watched
    for i in range(10):
        changed(watcher, orders_csv(project / "inputs" / f"批次{i}.csv",
                                    [f"SO{100 + i},C002,2026-10-15,五金,1,{1000 + i},500"]))
        clock.advance(0.05)
        assert not watcher.step()
    elapse(watcher, clock, 60)
    published = runs(project)
    assert len(published) == 2
    assert {f"inputs/批次{i}.csv" for i in range(10)} <= set(inputs_of(published[-1]))


def test_every_drop_gives_exactly_one_complete_result(project, watched):
    watcher, clock = watched
    target = project / "inputs" / "每日订单.csv"
    for day in range(6):
        before = len(runs(project))
        orders_csv(target, [f"SO{200 + day},C002,2026-10-{10 + day:02d},五金,1,{10_000 + day},5000"])
        os.utime(target, ns=(time.time_ns(), time.time_ns() + day))
        changed(watcher, target)
        elapse(watcher, clock, DEBOUNCE + SETTLE + 0.5)
        new = runs(project)[before:]
        assert len(new) == 1, f"drop {day} gave {len(new)} runs"
        assert inputs_of(new[0])["inputs/每日订单.csv"] == hashlib.sha256(target.read_bytes()).hexdigest()
    for run in runs(project):
        assert (run / "portfolio.xlsx").exists() and (run / "run.json").exists()
    assert not any(p.name.startswith(".staging-") for p in (project / "outputs").iterdir())


def test_changes_under_outputs_and_rejected_are_not_changes(project, watched):
    watcher, clock = watched
    (project / "inputs" / "rejected").mkdir()
    watcher.on_change(str(project / "inputs" / "rejected" / "x.xlsx"))
    watcher.on_change(str(project / "outputs" / "kamrules.log"))
    assert not watcher.changed.is_set()
    assert elapse(watcher, clock, 60) == 0


# --- the calendar: a new day is a reason to run ----------------------------------------------

class FakeToday:
    """The date a run without --as-of is as of, moved on by the test."""

    def __init__(self, day: dt.date) -> None:
        self.day = day

    def __call__(self) -> dt.date:
        return self.day


def as_of(run: Path) -> str:
    return json.loads((run / "run.json").read_text(encoding="utf-8"))["as_of"]


def test_midnight_runs_once_for_the_new_day_and_a_restart_not_again(project):
    clock, today = FakeClock(), FakeToday(dt.date(2026, 10, 31))
    options = WatchOptions(settle=SETTLE, debounce=DEBOUNCE, give_up=GIVE_UP, workers=1)
    watcher = Watcher(project, options, clock=clock, today=today)
    watcher.catch_up()
    elapse(watcher, clock, SETTLE + 0.5)
    assert [as_of(r) for r in runs(project)] == ["2026-10-31"]
    assert elapse(watcher, clock, 3600) == 0  # no file changed, same day: nothing to look at
    today.day = dt.date(2026, 11, 1)  # midnight
    assert elapse(watcher, clock, 0.25) == 1  # looked at once, without waiting for a file to change
    assert [as_of(r) for r in runs(project)] == ["2026-10-31", "2026-11-01"]
    assert elapse(watcher, clock, 3600) == 0 and len(runs(project)) == 2  # once for the day, not again
    state = json.loads((project / "outputs" / ".kamrules-state.json").read_text(encoding="utf-8"))
    assert state["as_of"] == "2026-11-01" and state["run_id"] == runs(project)[-1].name
    restarted = Watcher(project, options, clock=clock, today=today)  # the date survives a restart
    restarted.catch_up()
    assert elapse(restarted, clock, 60) == 1 and len(runs(project)) == 2


def test_a_change_on_the_new_day_is_one_run_as_of_that_day(project):
    clock, today = FakeClock(), FakeToday(dt.date(2026, 10, 31))
    watcher = Watcher(project, WatchOptions(settle=SETTLE, debounce=DEBOUNCE, give_up=GIVE_UP, workers=1),
                      clock=clock, today=today)
    watcher.catch_up()
    elapse(watcher, clock, SETTLE + 0.5)
    today.day = dt.date(2026, 11, 1)
    changed(watcher, orders_csv(project / "inputs" / "补充.csv", ["SO9,C002,2026-10-15,五金,1,50000,30000"]))
    elapse(watcher, clock, DEBOUNCE + SETTLE + 60)
    published = runs(project)
    assert as_of(published[0]) == "2026-10-31" and {as_of(r) for r in published[1:]} == {"2026-11-01"}
    assert "inputs/补充.csv" in inputs_of(published[-1])  # the new day's run, then the file once it settled
    assert len(published) <= 3


def test_a_pinned_as_of_does_not_move_at_midnight(project, watched):
    watcher, clock = watched  # --as-of 2026-10-31
    an_hour_ago = time.time() - 3600  # settled files, however fast the first run was (mtimes are real time)
    for path in (project / "inputs").iterdir():
        os.utime(path, (an_hour_ago, an_hour_ago))
    today = FakeToday(dt.date(2026, 10, 31))
    pinned = Watcher(project, watcher.options, clock=clock, today=today)
    pinned.catch_up()
    assert elapse(pinned, clock, 5) == 1 and len(runs(project)) == 1  # the same content as of the same date
    today.day = dt.date(2026, 11, 1)
    assert elapse(pinned, clock, 3600) == 0
    assert [as_of(r) for r in runs(project)] == ["2026-10-31"]


def test_a_state_without_as_of_runs_once_then_records_it(project, watched):
    watcher, clock = watched
    path = project / "outputs" / ".kamrules-state.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    old = {key: state[key] for key in ("digest", "inputs", "run_id", "finished_at", "result", "rejected_rows")}
    path.write_text(json.dumps(old), encoding="utf-8")  # written by an older kamrules
    watcher.catch_up()
    assert elapse(watcher, clock, 1) == 1 and len(runs(project)) == 2  # the date is not known: run once
    assert json.loads(path.read_text(encoding="utf-8"))["as_of"] == "2026-10-31"
    watcher.catch_up()
    assert elapse(watcher, clock, 1) == 1 and len(runs(project)) == 2


# --- the real process -----------------------------------------------------------------------

def start(project: Path, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "kamrules.cli", "watch", "-p", str(project), "--settle", str(SETTLE),
               "--debounce", str(DEBOUNCE), "--give-up", str(GIVE_UP), "--as-of", "2026-10-31"]
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_for(condition, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


def test_the_service_sees_a_drop_holds_its_lock_reports_status_and_stops_cleanly(project, tmp_path):
    log = tmp_path / "watch.log"
    first = start(project, log)
    try:
        wait_for(lambda: len(runs(project)) == 1, what="the first run")
        dropped = orders_csv(project / "inputs" / "补充.csv", ["SO9,C002,2026-10-15,五金,1,50000,30000"])
        published = wait_for(lambda: runs(project)[1:], what="the run for the dropped file")
        assert inputs_of(published[0])["inputs/补充.csv"] == hashlib.sha256(dropped.read_bytes()).hexdigest()
        second = subprocess.run([sys.executable, "-m", "kamrules.cli", "watch", "-p", str(project), "--lang", "en"],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert f"another kamrules watch is already watching this project (process {first.pid})" in second.stderr
        status = subprocess.run([sys.executable, "-m", "kamrules.cli", "status", "-p", str(project)],
                                capture_output=True, text=True, timeout=60)
        assert f"监视：运行中（进程 {first.pid}）" in status.stdout  # the bundled rules say zh_CN
    finally:
        assert stop(first) == 0
    assert "已停止" in log.read_text(encoding="utf-8")
    assert len(runs(project)) == 2


@pytest.mark.slow
def test_kill_9_mid_run_leaves_nothing_half_written_and_restart_finishes(tmp_path):
    project = tmp_path / "big"
    for name in ("rules", "templates", "inputs"):
        shutil.copytree(REPO / name, project / name)
    watcher = start(project, tmp_path / "watch1.log")
    outputs = project / "outputs"
    wait_for(lambda: outputs.exists() and any(p.name.startswith(".staging-") for p in outputs.iterdir()),
             what="a run in progress")
    os.kill(watcher.pid, signal.SIGKILL)
    watcher.wait(timeout=10)
    assert runs(project) == []
    assert not [p for p in outputs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    restarted = start(project, tmp_path / "watch2.log")
    try:
        published = wait_for(lambda: runs(project), timeout=90, what="the interrupted work to finish")
        assert len(published) == 1
        assert (published[0] / "portfolio.xlsx").exists() and len(list((published[0] / "proposals").iterdir())) == 20
        assert not any(p.name.startswith(".staging-") for p in outputs.iterdir())
    finally:
        stop(restarted)
