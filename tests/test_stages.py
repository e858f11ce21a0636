"""Results kept between runs: the cross-file checks and the ledger's metrics (kamrules.ledger.stages),
and drawn charts (kamrules.render.charts). Each is reused only under the same key, each key part
makes a miss, a damaged entry is computed again, and a run gives the same answers either way."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
from pathlib import Path

import polars as pl
import pytest

import kamrules.ledger as ledger_module
import kamrules.metrics as metrics_module
from kamrules.ledger.cache import cache_root, charts_root, stages_root
from kamrules.ledger.stages import KEPT_PER_KIND, StageCache
from kamrules.ledger import read_ledger
from kamrules.pipeline import RunOptions, evaluate, run
from kamrules.rules.rulebook_compiler import load_rulebook
from kamrules.render import charts
from kamrules.background import ahead

from conftest import AS_OF, REPO, make_project, small_ledger, write_workbook
from test_cache import read, snapshot


class Calls:
    """Counts the calls of a function it stands in for, and can refuse them."""

    def __init__(self, function, refuse: bool = False):
        self.function, self.refuse, self.count = function, refuse, 0

    def __call__(self, *args, **kwargs):
        self.count += 1
        if self.refuse:
            raise AssertionError(f"{self.function.__name__} ran: a kept result should have been used")
        return self.function(*args, **kwargs)


def watch_checks(monkeypatch, refuse: bool = False) -> Calls:
    calls = Calls(ledger_module.check_keys, refuse)
    monkeypatch.setattr(ledger_module, "check_keys", calls)
    return calls


def kinds(project: Path) -> list[str]:
    root = stages_root(cache_root(project))
    return sorted(p.name.split("-")[0] for p in root.iterdir()) if root.is_dir() else []


# --- the cross-file checks --------------------------------------------------------------------

def duplicated(project: Path) -> None:
    """The orders dropped twice (repeated rows), and a customer whose key comes twice with other content."""
    shutil.copyfile(project / "inputs" / "订单.xlsx", project / "inputs" / "订单（副本）.xlsx")
    sheets = small_ledger()
    sheets["客户档案"].append(["C001", "另一家公司", "制造业", "2019-03-15"])
    write_workbook(project / "inputs" / "客户.xlsx", {"客户档案": sheets["客户档案"]})


def test_the_checks_found_before_are_replayed_rows_counts_and_issues(split, monkeypatch):
    duplicated(split)
    fresh, _ = read(split, cache=False)
    assert {"duplicate_row", "key_conflict", "unknown_reference"} <= {i.code for i in fresh.issues}
    cold, _ = read(split)
    assert kinds(split) == ["checks"]
    watch_checks(monkeypatch, refuse=True)
    warm, _ = read(split)
    assert snapshot(warm) == snapshot(cold) == snapshot(fresh)
    assert warm.fingerprint == cold.fingerprint


@pytest.mark.parametrize("change", ["input content", "input name", "mapping", "code", "no cache"])
def test_every_key_part_of_the_checks_makes_them_run_again(split, monkeypatch, change):
    read(split)
    if change == "input content":
        sheets = small_ledger()
        sheets["销售明细"].append(["SO9", "C009", "2026-10-02", "钢材", 1, 7_000, 5_000])
        write_workbook(split / "inputs" / "订单.xlsx", {"销售明细": sheets["销售明细"]})
    elif change == "input name":  # the issues name the files
        os.rename(split / "inputs" / "订单.xlsx", split / "inputs" / "十月订单.xlsx")
    elif change == "mapping":
        path = split / "rules" / "ledger.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("title: 销售明细", "title: 销售明细（十月）", 1) if "title: 销售明细" in text
                        else text.replace("\n  orders:\n", "\n  orders:\n    title: 订单\n", 1), encoding="utf-8")
    elif change == "code":
        monkeypatch.setattr(ledger_module, "code_digest", lambda *packages: "other code")
    calls = watch_checks(monkeypatch)
    ledger, _ = read(split, cache=change != "no cache")
    assert calls.count == 1
    assert snapshot(ledger) == snapshot(read(split, cache=False)[0])


def test_a_damaged_kept_result_is_computed_again(split, monkeypatch):
    fresh, _ = read(split, cache=False)
    read(split)
    folder = next(stages_root(cache_root(split)).iterdir())
    part = next(folder.glob("part-*.parquet"))
    part.write_bytes(part.read_bytes()[:-8])
    calls = watch_checks(monkeypatch)
    ledger, _ = read(split)
    assert calls.count == 1 and snapshot(ledger) == snapshot(fresh)
    read(split)
    assert calls.count == 1  # stored again, whole


# --- the metrics ------------------------------------------------------------------------------

def evaluated(project: Path, as_of: dt.date = AS_OF):
    rulebook, ledger, result = evaluate(project, as_of, options=RunOptions(workers=1))
    issues = [(i.file, i.row, i.code, str(i.message)) for i in ledger.issues]
    return result.frame.sort("customer_id"), issues, result.models


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def watch_metrics(monkeypatch, refuse: bool = False) -> Calls:
    calls = Calls(metrics_module._ledger_features, refuse)
    monkeypatch.setattr(metrics_module, "_ledger_features", calls)
    return calls


def test_after_a_rule_change_the_metrics_are_read_back_and_decide_the_same(split, monkeypatch):
    evaluated(split)
    assert kinds(split) == ["checks", "features", "sums"]
    edit(split / "rules" / "policy.yaml", "revenue_12m >= 20万", "revenue_12m >= 1万")
    with monkeypatch.context() as patched:
        watch_checks(patched, refuse=True)
        watch_metrics(patched, refuse=True)
        warm = evaluated(split)
    shutil.rmtree(split / ".kamrules")
    cold = evaluated(split)
    assert warm[0].equals(cold[0]) and warm[1] == cold[1] and warm[2] == cold[2]


@pytest.mark.parametrize("change", ["as_of", "metrics spec", "input", "code"])
def test_every_key_part_of_the_metrics_makes_them_computed_again(split, monkeypatch, change):
    evaluated(split)
    as_of = AS_OF
    if change == "as_of":
        as_of = AS_OF - dt.timedelta(days=1)
    elif change == "metrics spec":
        edit(split / "rules" / "metrics.yaml", "a: 0.80", "a: 0.70")
    elif change == "input":
        sheets = small_ledger()
        sheets["销售明细"].append(["SO9", "C003", "2026-10-02", "钢材", 1, 7_000, 5_000])
        write_workbook(split / "inputs" / "订单.xlsx", {"销售明细": sheets["销售明细"]})
    else:
        monkeypatch.setattr(metrics_module, "code_digest", lambda *packages: "other code")
    calls = watch_metrics(monkeypatch)
    evaluated(split, as_of)
    assert calls.count == 1


def test_an_unfit_model_is_kept_with_its_reason(split, monkeypatch):
    cold = evaluated(split)  # three customers: too few repeat buyers for BG/NBD
    assert any(code == "model_not_fitted" for _, _, code, _ in cold[1])
    watch_metrics(monkeypatch, refuse=True)
    warm = evaluated(split)
    assert warm[0].equals(cold[0]) and warm[1] == cold[1] and warm[2] == cold[2]


def test_only_the_most_recently_used_results_are_kept(tmp_path):
    stages = StageCache(tmp_path / "stages")
    frame = pl.DataFrame({"x": [1]})
    now = time.time()
    for index in range(KEPT_PER_KIND + 2):
        stages.store("features", f"{index:040d}", {"n": index}, {"f": frame})
        entry = stages.root / f"features-{index:040d}" / "entry.json"
        os.utime(entry, (now - 1000 + index,) * 2)  # used one after the other
    stages.store("checks", "c" * 40, {}, {"f": frame})
    kept = sorted(p.name for p in stages.root.iterdir())
    assert kept == ["checks-" + "c" * 40] + [f"features-{i:040d}" for i in range(2, KEPT_PER_KIND + 2)]
    assert stages.load("features", f"{KEPT_PER_KIND + 1:040d}")[0] == {"n": KEPT_PER_KIND + 1}


def test_a_store_that_fails_is_said_and_nothing_half_written_remains(tmp_path):
    blocked = tmp_path / "stages"
    blocked.write_text("not a folder")
    stages = StageCache(blocked)
    stages.store("features", "k" * 40, {"a": 1}, {"f": pl.DataFrame({"x": [1]})})
    assert stages.problem and stages.load("features", "k" * 40) is None


def test_a_file_name_that_is_not_utf8_is_kept_and_read_back_as_it_was(tmp_path):
    from kamrules.errors import Issue
    from kamrules.ledger.stages import decode_issues, encode_issues, key_of

    name = b"inputs/\xb6\xa9\xb5\xa5.xlsx".decode("utf-8", "surrogateescape")  # 订单 in GBK, as Linux lists it
    issue = Issue(name, "销售明细", 3, "amount", "x", "bad", "bad_value", "error", "orders", None)
    stages = StageCache(tmp_path / "stages")
    key = key_of("checks", [(name, "0" * 64)])
    stages.store("checks", key, {"issues": encode_issues([issue])}, {"f": pl.DataFrame({"x": [1]})})
    assert stages.problem is None
    assert decode_issues(stages.load("checks", key)[0]["issues"]) == [issue]


# --- charts -----------------------------------------------------------------------------------

MONTHLY = [{"month": f"2026-{m:02d}", "revenue": 1000.0 * m, "revenue_prev_year": 900.0 * m, "growth": None}
           for m in range(1, 11)]


DRAW = charts._draw


def drawn_in(folder: Path, monkeypatch, monthly=MONTHLY, refuse: bool = False) -> tuple[bytes, Calls]:
    charts._drawn.cache_clear()
    calls = Calls(DRAW, refuse)
    monkeypatch.setattr(charts, "_draw", calls)
    token = charts.CHART_STORE.set(folder)
    try:
        chart = charts.revenue_chart(monthly, "en")
    finally:
        charts.CHART_STORE.reset(token)
    return chart.png, calls


def test_a_chart_is_drawn_once_and_read_back_after(tmp_path, monkeypatch):
    first, calls = drawn_in(tmp_path, monkeypatch)
    assert calls.count == 1 and first.startswith(b"\x89PNG") and len(list(tmp_path.glob("*.chart"))) == 1
    again, _ = drawn_in(tmp_path, monkeypatch, refuse=True)
    assert again == first
    other = [dict(row, revenue=row["revenue"] + 1) for row in MONTHLY]
    _, calls = drawn_in(tmp_path, monkeypatch, other)
    assert calls.count == 1 and len(list(tmp_path.glob("*.chart"))) == 2


def test_a_damaged_chart_is_drawn_again(tmp_path, monkeypatch):
    first, _ = drawn_in(tmp_path, monkeypatch)
    kept = next(tmp_path.glob("*.chart"))
    kept.write_bytes(kept.read_bytes()[:-20])
    again, calls = drawn_in(tmp_path, monkeypatch)
    assert calls.count == 1 and again == first
    assert kept.read_bytes()[32:] == first


def test_charts_no_run_used_for_two_weeks_are_removed(tmp_path):
    old, new, left = tmp_path / "old.chart", tmp_path / "new.chart", tmp_path / ".x.1.tmp"
    for path in (old, new, left):
        path.write_bytes(b"x")
    now = time.time()
    os.utime(old, (now - (charts.KEEP_DAYS + 1) * 86400,) * 2)
    os.utime(left, (now - 7200,) * 2)
    assert charts.prune_charts(tmp_path, now) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["new.chart"]


def test_cache_status_says_what_is_kept_beside_the_entries_and_clear_removes_it(split):
    import json
    import re

    from typer.testing import CliRunner

    from kamrules.cli import app

    run(split, AS_OF, options=RunOptions(workers=1))
    charts_kept = len(list(charts_root(cache_root(split)).glob("*.chart")))
    assert charts_kept > 0
    runner = CliRunner()
    shown = runner.invoke(app, ["cache", "status", "-p", str(split), "--lang", "en"])
    assert shown.exit_code == 0, shown.output
    line = shown.output.splitlines()[-1]
    assert re.fullmatch(rf"also kept: 3 results of the checks and metrics \(.+\), {charts_kept} charts \(.+\), "
                        r"0 model fits \(0 B\); made again when they do not apply, cleared with the cache", line), line
    kept = json.loads(runner.invoke(app, ["cache", "status", "-p", str(split), "--json"]).output)["kept"]
    assert kept["results"]["count"] == 3 and kept["charts"]["count"] == charts_kept and kept["fits"]["count"] == 0
    assert all(kept[kind]["bytes"] > 0 for kind in ("results", "charts"))
    cleared = runner.invoke(app, ["cache", "clear", "-p", str(split), "--lang", "en"])
    assert cleared.exit_code == 0 and cleared.output.startswith("removed 3 cache entries (")
    assert not list(stages_root(cache_root(split)).iterdir()) and not list(charts_root(cache_root(split)).iterdir())


# --- the workbook's rows, made ahead ------------------------------------------------------------

def test_rows_made_ahead_come_in_order_and_a_failure_reaches_the_caller():
    assert list(ahead(iter([b"a", b"b", b"c"]))) == [b"a", b"b", b"c"]

    def failing():
        yield b"a"
        raise ValueError("rows")

    with pytest.raises(ValueError, match="rows"):
        list(ahead(failing()))


def test_a_caller_that_stops_taking_rows_stops_the_maker():
    made = []

    def endless():
        while True:
            made.append(1)
            yield b"x"

    pieces = ahead(endless(), depth=2, name="kamrules-rows")
    assert next(pieces) == b"x"
    pieces.close()
    assert not [t for t in threading.enumerate() if t.name == "kamrules-rows"]
    assert len(made) <= 4


# --- the render stage's imports, made while calamine parses --------------------------------------

def test_spare_work_runs_while_calamine_still_loads_a_sheet(tmp_path, monkeypatch):
    """The reader hands its wait to the spare work: the work runs while the orders sheet's load is
    held back, once, and the ledger reads as without it."""
    import kamrules.ledger.readers as readers
    from kamrules.background import SPARE_WORK

    project = make_project(tmp_path / "p")
    rulebook = load_rulebook(project)
    expected = read_ledger(project / "inputs", rulebook.spec.datasets, rulebook.spec.ledger, project).datasets["orders"]
    released, ran = threading.Event(), []
    loading = readers._checked_load

    def held_back(reader, sheet_name, *args):
        if sheet_name == "销售明细":
            assert released.wait(10), "the spare work did not run while the sheet was loading"
        return loading(reader, sheet_name, *args)

    def work():
        ran.append(threading.current_thread().name)
        released.set()

    monkeypatch.setattr(readers, "_checked_load", held_back)
    token = SPARE_WORK.set([work])
    try:
        ledger = read_ledger(project / "inputs", rulebook.spec.datasets, rulebook.spec.ledger, project)
    finally:
        SPARE_WORK.reset(token)
    assert ran == ["MainThread"]
    assert ledger.datasets["orders"].equals(expected)


def test_the_importer_leaves_a_failing_import_to_its_stage():
    import sys
    from kamrules.background import importer

    sys.modules.pop("colorsys", None)
    importer(["kamrules_no_such_module", "colorsys"])()
    assert "colorsys" in sys.modules


def test_a_run_imports_what_its_later_stages_need():
    from kamrules.pipeline import later_imports

    rulebook = load_rulebook(REPO)
    assert later_imports(rulebook) == ["scipy.optimize", "scipy.special", "matplotlib.figure",
                                       "matplotlib.backends.backend_agg", "matplotlib.font_manager",
                                       "matplotlib.ticker"]
    rulebook.spec.documents = []
    assert later_imports(rulebook) == ["scipy.optimize", "scipy.special"]


def test_a_kept_file_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from kamrules.files import write_replacing

    target = tmp_path / "kept" / "a.chart"
    write_replacing(target, b"first")
    write_replacing(target, b"second")
    assert target.read_bytes() == b"second" and sorted(p.name for p in target.parent.iterdir()) == ["a.chart"]

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        write_replacing(target, b"third")
    assert target.read_bytes() == b"second" and sorted(p.name for p in target.parent.iterdir()) == ["a.chart"]
