"""``kamrules watch`` as a real subprocess on a temporary project."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, make_project, write_workbook

SETTLE, DEBOUNCE, GIVE_UP = 0.8, 0.6, 3.0
ORDER_HEADER = "订单编号,客户编号,下单日期,产品,数量,金额,成本"


def start(project: Path, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "kamrules.cli", "watch", "-p", str(project), "--settle", str(SETTLE),
               "--debounce", str(DEBOUNCE), "--give-up", str(GIVE_UP), "--as-of", "2026-10-31"]
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT)


def runs(project: Path) -> list[Path]:
    outputs = project / "outputs"
    return sorted(p for p in outputs.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / "run.json").exists()) if outputs.exists() else []


def wait_for(condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def inputs_of(run: Path) -> dict[str, str]:
    manifest = json.loads((run / "run.json").read_text(encoding="utf-8"))
    return {f["file"]: f["sha256"] for f in manifest["inputs"]}


def settle_down(project: Path, count: int, quiet: float = 3.0) -> list[Path]:
    """Wait until there are ``count`` runs and no new one appears for ``quiet`` seconds."""
    wait_for(lambda: len(runs(project)) >= count, what=f"{count} runs")
    time.sleep(quiet)
    return runs(project)


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


def orders_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([ORDER_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


def test_slow_copy_is_processed_once_after_it_is_complete(project, tmp_path):
    watcher = start(project, tmp_path / "watch.log")
    try:
        assert len(settle_down(project, 1)) == 1
        source = write_workbook(tmp_path / "补充订单.xlsx", {"销售明细": [
            ["订单编号", "客户编号", "下单日期", "产品", "数量", "金额", "成本"],
            ["SO9", "C002", "2026-10-15", "五金", 1, 50_000, 30_000]]})
        data = source.read_bytes()
        target = project / "inputs" / "补充订单.xlsx"
        with target.open("wb") as handle:
            for start_byte in range(0, len(data), len(data) // 6 + 1):
                handle.write(data[start_byte:start_byte + len(data) // 6 + 1])
                handle.flush()
                time.sleep(0.3)
        published = settle_down(project, 2)
        assert len(published) == 2
        assert inputs_of(published[-1])["inputs/补充订单.xlsx"] == hashlib.sha256(data).hexdigest()
    finally:
        assert stop(watcher) == 0
    assert "已停止" in (tmp_path / "watch.log").read_text(encoding="utf-8")  # the rules' locale is zh_CN


def test_bad_files_are_set_aside_with_a_reason_and_the_rest_runs(project, tmp_path):
    watcher = start(project, tmp_path / "watch.log")
    try:
        settle_down(project, 1)
        truncated = b"PK\x03\x04 this zip was cut off"
        (project / "inputs" / "半截.xlsx").write_bytes(truncated)
        with zipfile.ZipFile(project / "inputs" / "不是工作簿.xlsx", "w") as archive:
            archive.writestr("readme.txt", "hello")
        orders_csv(project / "inputs" / "补充.csv", ["SO9,C002,2026-10-15,五金,1,50000,30000"])
        rejected = project / "inputs" / "rejected"
        wait_for(lambda: (rejected / "半截.xlsx.error.txt").exists() and (rejected / "不是工作簿.xlsx.error.txt").exists(),
                 timeout=GIVE_UP + 20, what="both files set aside")
        assert (rejected / "半截.xlsx").read_bytes() == truncated
        note = (rejected / "不是工作簿.xlsx.error.txt").read_text(encoding="utf-8")
        assert "原因：无法打开工作簿" in note and "Reason: inputs/不是工作簿.xlsx: cannot open workbook" in note
        assert "unchanged for 3 seconds but still cannot be opened" in (rejected / "半截.xlsx.error.txt").read_text(
            encoding="utf-8")
        assert sorted(p.name for p in (project / "inputs").iterdir()) == ["rejected", "台账.xlsx", "补充.csv"]
        time.sleep(3)
        assert set(inputs_of(runs(project)[-1])) == {"inputs/台账.xlsx", "inputs/补充.csv"}
    finally:
        stop(watcher)


def test_a_burst_of_ten_files_is_one_or_two_runs(project, tmp_path):
    watcher = start(project, tmp_path / "watch.log")
    try:
        settle_down(project, 1)
        for i in range(10):
            orders_csv(project / "inputs" / f"批次{i}.csv", [f"SO{100 + i},C002,2026-10-15,五金,1,{1000 + i},500"])
            time.sleep(0.05)
        published = settle_down(project, 2, quiet=4.0)
        assert len(published) - 1 in (1, 2)
        assert {f"inputs/批次{i}.csv" for i in range(10)} <= set(inputs_of(published[-1]))
    finally:
        stop(watcher)


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
        published = wait_for(lambda: runs(project), timeout=60, what="the interrupted work to finish")
        assert len(published) == 1
        assert (published[0] / "portfolio.xlsx").exists() and len(list((published[0] / "proposals").iterdir())) == 20
        assert not any(p.name.startswith(".staging-") for p in outputs.iterdir())
    finally:
        stop(restarted)


def test_a_second_watcher_refuses_with_a_clear_message(project, tmp_path):
    first = start(project, tmp_path / "first.log")
    try:
        wait_for(lambda: (project / "outputs" / ".kamrules-watch.lock").exists(), what="the first watcher's lock")
        second = subprocess.run([sys.executable, "-m", "kamrules.cli", "watch", "-p", str(project), "--lang", "en"],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert f"another kamrules watch is already watching this project (process {first.pid})" in second.stderr
        status = subprocess.run([sys.executable, "-m", "kamrules.cli", "status", "-p", str(project)],
                                capture_output=True, text=True, timeout=60)
        assert f"监视：运行中（进程 {first.pid}）" in status.stdout  # the bundled rules say zh_CN
    finally:
        assert stop(first) == 0


def test_soak_every_drop_gives_exactly_one_complete_result(project, tmp_path):
    watcher = start(project, tmp_path / "watch.log")
    try:
        settle_down(project, 1, quiet=1.0)
        target = project / "inputs" / "每日订单.csv"
        for day in range(6):
            before = len(runs(project))
            orders_csv(target, [f"SO{200 + day},C002,2026-10-{10 + day:02d},五金,1,{10_000 + day},5000"])
            expected = hashlib.sha256(target.read_bytes()).hexdigest()
            published = wait_for(lambda: runs(project)[before:] or None, timeout=30, what=f"the run for drop {day}")
            time.sleep(DEBOUNCE + SETTLE + 0.5)
            new = runs(project)[before:]
            assert len(new) == 1, f"drop {day} gave {len(new)} runs"
            assert inputs_of(published[0])["inputs/每日订单.csv"] == expected
        for run in runs(project):
            assert (run / "portfolio.xlsx").exists() and (run / "run.json").exists()
        assert not any(p.name.startswith(".staging-") for p in (project / "outputs").iterdir())
    finally:
        stop(watcher)
