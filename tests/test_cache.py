"""The parsed-ledger cache: what makes an entry usable, what makes it not, and that a run is
the same with it, without it, cold and warm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.ledger import LedgerCache, read_ledger
from kamrules.ledger.cache import ENTRY, KEEP_DAYS, cache_root
from kamrules.pipeline import project_lock
from kamrules.rules.rulebook_compiler import load_rulebook

from conftest import AS_OF, small_ledger, write_workbook

def read(project: Path, cache: bool = True, rulebook=None):
    rulebook = rulebook or load_rulebook(project)
    store = LedgerCache.for_project(project, rulebook.spec.ledger) if cache else None
    ledger = read_ledger(project / "inputs", rulebook.spec.datasets, rulebook.spec.ledger, project, cache=store)
    return ledger, store


def snapshot(ledger) -> dict:
    """Everything a ledger holds, comparable: rows, issues in both languages, counts, headers."""
    return {
        "rows": {name: ledger.datasets[name].sort("_file", "_sheet", "_row").to_dicts() for name in ledger.datasets},
        "issues": [(i.file, i.sheet, i.row, i.column, i.value, i.code, i.severity, i.dataset, str(i.message),
                    i.message.localize("zh") if hasattr(i.message, "localize") else i.message,
                    str(i.suggestion) if i.suggestion else None) for i in ledger.issues],
        "stats": {name: (s.rows_read, s.rows_rejected, s.rows_skipped, s.rows_used) for name, s in ledger.stats.items()},
        "headers": ledger.headers,
        "seen": [(s.file, s.sheet, s.dataset) for s in ledger.seen],
    }


def counts(store) -> tuple[int, int, int, int]:
    s = store.stats
    return s.files_reused, s.files_parsed, s.damaged, s.remapped


def entry_folders(project: Path) -> list[Path]:
    return sorted(p for p in cache_root(project).iterdir() if p.is_dir())


def test_a_second_read_reuses_every_file_and_gives_the_same_ledger(split):
    fresh, _ = read(split, cache=False)
    cold, store = read(split)
    assert counts(store) == (0, 3, 0, 0)
    warm, store = read(split)
    assert counts(store) == (3, 0, 0, 0)
    assert snapshot(cold) == snapshot(fresh)
    assert snapshot(warm) == snapshot(fresh)
    assert any(i.code == "unknown_reference" for i in warm.issues)  # cross-file checks ran on cached rows
    assert len(entry_folders(split)) == 3


def test_a_changed_file_is_parsed_again_and_only_it(split):
    read(split)
    sheets = small_ledger()
    sheets["销售明细"].append(["SO9", "C003", "2026-10-02", "钢材", 1, 7_000, 5_000])
    write_workbook(split / "inputs" / "订单.xlsx", {"销售明细": sheets["销售明细"]})
    ledger, store = read(split)
    assert counts(store) == (2, 1, 0, 0)
    assert "SO9" in ledger.datasets["orders"]["order_id"].to_list()
    assert snapshot(ledger) == snapshot(read(split, cache=False)[0])


def _edit_ledger_yaml(project: Path, old: str, new: str) -> None:
    path = project / "rules" / "ledger.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_changed_mapping_reparses_only_the_files_that_hold_that_dataset(split):
    read(split)
    # visits: a new computed column changes the visits mapping, and only the file with 拜访记录
    text = (split / "rules" / "ledger.yaml").read_text(encoding="utf-8")
    start = text.index("\n  visits:")
    columns = text.index("    columns:\n", start) + len("    columns:\n")
    (split / "rules" / "ledger.yaml").write_text(
        text[:columns] + "      checked: {type: integer, value: 1}\n" + text[columns:], encoding="utf-8")
    ledger, store = read(split)
    assert counts(store) == (2, 1, 0, 1)
    assert ledger.datasets["visits"]["checked"].to_list() == [1, 1]
    assert snapshot(ledger) == snapshot(read(split, cache=False)[0])
    _, store = read(split)
    assert counts(store) == (3, 0, 0, 0)


def test_an_entry_whose_sheets_no_longer_match_is_never_used(split):
    read(split)
    # the orders' amount header is no longer known: the cached rows must not stand in for the error
    _edit_ledger_yaml(split, "amount: {aliases: [金额, 销售金额, 含税金额, amount]", "amount: {aliases: [销售金额]")
    with pytest.raises(Exception) as raised:
        read(split)
    assert "金额" in str(raised.value) or "amount" in str(raised.value)


@pytest.mark.parametrize("change", ["version", "date_order", "limit"])
def test_every_global_key_part_invalidates_every_entry(split, monkeypatch, change):
    read(split)
    if change == "version":
        monkeypatch.setattr("kamrules.ledger.cache.__version__", "0.0.0-other")
    elif change == "limit":
        monkeypatch.setenv("KAMRULES_MAX_CELL_CHARS", "30000")
    else:
        path = split / "rules" / "ledger.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("date_order: ymd", "date_order: dmy") if "date_order: ymd" in text
                        else "ledger:\n  date_order: dmy\n" + text if not text.startswith("ledger:")
                        else text.replace("ledger:\n", "ledger:\n  date_order: dmy\n", 1), encoding="utf-8")
    _, store = read(split)
    assert counts(store) == (0, 3, 0, 0)


def _damage(folder: Path, how: str) -> None:
    part = sorted(folder.glob("part-*.parquet"))[0]
    if how == "flipped byte":
        data = bytearray(part.read_bytes())
        data[len(data) // 2] ^= 0xFF
        part.write_bytes(bytes(data))
    elif how == "missing part":
        part.unlink()
    elif how == "truncated entry":
        text = (folder / ENTRY).read_bytes()
        (folder / ENTRY).write_bytes(text[: len(text) // 2])
    elif how == "edited entry":
        text = (folder / ENTRY).read_text(encoding="utf-8").replace('"rows":', '"rows": 1,"x":', 1)
        (folder / ENTRY).write_text(text, encoding="utf-8")
    elif how == "empty entry":
        (folder / ENTRY).write_bytes(b"")


@pytest.mark.parametrize("how", ["flipped byte", "missing part", "truncated entry", "edited entry", "empty entry"])
def test_a_damaged_entry_is_rebuilt_never_used(split, how):
    fresh, _ = read(split, cache=False)
    read(split)
    for folder in entry_folders(split):
        _damage(folder, how)
    ledger, store = read(split)
    assert counts(store) == (0, 3, 3, 0)
    assert snapshot(ledger) == snapshot(fresh)
    _, store = read(split)
    assert counts(store) == (3, 0, 0, 0)


def test_a_renamed_copy_is_reused_under_its_new_name(split):
    read(split)
    os.rename(split / "inputs" / "订单.xlsx", split / "inputs" / "十月订单.xlsx")
    ledger, store = read(split)
    assert counts(store) == (3, 0, 0, 0)
    assert set(ledger.datasets["orders"]["_file"]) == {"inputs/十月订单.xlsx"}
    assert {i.file for i in ledger.issues if i.dataset == "orders"} == {"inputs/十月订单.xlsx"}
    assert snapshot(ledger) == snapshot(read(split, cache=False)[0])


def test_the_same_export_twice_is_found_across_cached_files(split):
    import shutil

    shutil.copyfile(split / "inputs" / "订单.xlsx", split / "inputs" / "订单（副本）.xlsx")
    cold, _ = read(split)
    warm, store = read(split)
    assert counts(store) == (4, 0, 0, 0)
    repeated = [i for i in warm.issues if i.code == "duplicate_row" and i.dataset == "orders"]
    assert len(repeated) == 6 and {i.file for i in repeated} == {"inputs/订单（副本）.xlsx"}
    assert warm.datasets["orders"].height == cold.datasets["orders"].height
    assert snapshot(warm) == snapshot(read(split, cache=False)[0])


READER = """
import hashlib, sys
from pathlib import Path
from kamrules.ledger import LedgerCache, read_ledger
from kamrules.rules.rulebook_compiler import load_rulebook
project = Path(sys.argv[1])
rulebook = load_rulebook(project)
cache = LedgerCache.for_project(project, rulebook.spec.ledger)
ledger = read_ledger(project / "inputs", rulebook.spec.datasets, rulebook.spec.ledger, project, cache=cache)
rows = ledger.datasets["orders"].sort("_row").write_csv()
print(hashlib.sha256(rows.encode()).hexdigest(), len(ledger.issues))
"""


def test_two_processes_filling_the_cache_at_once_agree(split):
    """A run and the drop-folder service (or explain) reading the same new files together."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [subprocess.Popen([sys.executable, "-c", READER, str(split)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    assert len({o[0] for o in outputs}) == 1
    assert len(entry_folders(split)) == 3
    assert not [p for p in cache_root(split).iterdir() if p.name.startswith((".tmp-", ".trash-"))]
    _, store = read(split)
    assert counts(store) == (3, 0, 0, 0)


def test_unused_entries_and_abandoned_writes_are_pruned(split):
    read(split)
    old_entry = cache_root(split) / ("0" * 40)
    old_entry.mkdir()
    (old_entry / ENTRY).write_text("x")
    abandoned = cache_root(split) / ".tmp-abc-1-0000"
    abandoned.mkdir()
    long_ago = time.time() - (KEEP_DAYS + 1) * 86400
    os.utime(old_entry / ENTRY, (long_ago, long_ago))
    os.utime(abandoned, (long_ago, long_ago))
    recent = cache_root(split) / ("1" * 40)
    recent.mkdir()
    (recent / ENTRY).write_text("x")
    read(split)
    names = {p.name for p in cache_root(split).iterdir()}
    assert old_entry.name not in names and abandoned.name not in names
    assert recent.name in names and len(names) == 4


# --- runs and the CLI ----------------------------------------------------------------------------

runner = CliRunner()


def run_json(project: Path, *extra: str) -> dict:
    result = runner.invoke(app, ["run", "-p", str(project), "--as-of", AS_OF.isoformat(), "--workers", "1",
                                 "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_decisions_are_identical_cold_warm_and_without_the_cache(split):
    cold = run_json(split)
    warm = run_json(split)
    bare = run_json(split, "--no-cache")
    assert cold["cache"]["files_parsed"] == 3 and warm["cache"] == {
        "files_reused": 3, "files_parsed": 0, "damaged": 0, "remapped": 0, "problem": None}
    assert bare["cache"] is None
    assert cold["decisions_sha256"] == warm["decisions_sha256"] == bare["decisions_sha256"]
    assert cold["issues"]["rows"] == warm["issues"]["rows"] == bare["issues"]["rows"]
    cold_frame = pl.read_parquet(Path(cold["run_dir"]) / "decisions.parquet")
    warm_frame = pl.read_parquet(Path(warm["run_dir"]) / "decisions.parquet")
    assert cold_frame.equals(warm_frame)


def test_run_without_the_cache_writes_none(split):
    run_json(split, "--no-cache")
    assert not (split / ".kamrules").exists()


def test_a_cache_that_cannot_be_written_is_said_and_the_run_completes(split):
    (split / ".kamrules").write_text("not a folder")
    data = run_json(split)
    assert data["cache"]["files_parsed"] == 3 and data["cache"]["problem"]
    warnings = [r for r in data["issues"]["rows"] if r["code"] == "cache_unwritable"]
    assert len(warnings) == 1 and "next one will parse every file again" in warnings[0]["message"]


def test_run_summary_says_what_the_cache_did(split):
    runner.invoke(app, ["run", "-p", str(split), "--as-of", AS_OF.isoformat(), "--workers", "1", "--lang", "en"])
    result = runner.invoke(app, ["run", "-p", str(split), "--as-of", AS_OF.isoformat(), "--workers", "1",
                                 "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "  cache        3 files reused as parsed before, 0 parsed\n" in result.output


def test_cache_status_lists_entries_and_marks_current_files(split):
    empty = runner.invoke(app, ["cache", "status", "-p", str(split), "--lang", "en"])
    assert empty.exit_code == 0 and empty.output == "the cache is empty (.kamrules/cache)\n"
    read(split)
    write_workbook(split / "inputs" / "订单.xlsx", {"销售明细": small_ledger()["销售明细"][:3]})
    read(split)
    result = runner.invoke(app, ["cache", "status", "-p", str(split), "--lang", "en"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(".kamrules/cache: 4 entries, ")
    current = [line for line in lines if line.startswith("  ✓ inputs/订单.xlsx")]
    former = [line for line in lines if line.startswith("    inputs/订单.xlsx")]
    assert len(current) == 1 and "销售明细 2 rows" in current[0]  # the dataset's title in ledger.yaml
    assert len(former) == 1 and "销售明细 6 rows" in former[0]
    data = json.loads(runner.invoke(app, ["cache", "status", "-p", str(split), "--json"]).output)
    assert len(data["entries"]) == 4 and sum(e["current"] for e in data["entries"]) == 3
    assert all(e["ok"] for e in data["entries"])


def test_cache_clear_removes_everything_but_never_under_a_run(split):
    read(split)
    (split / "outputs").mkdir()
    with project_lock(split / "outputs"):
        refused = runner.invoke(app, ["cache", "clear", "-p", str(split), "--lang", "en"])
    assert refused.exit_code == 1, refused.output
    assert "a run is working: the cache cannot be cleared now" in refused.output
    assert len(entry_folders(split)) == 3
    result = runner.invoke(app, ["cache", "clear", "-p", str(split), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("removed 3 cache entries (")
    assert entry_folders(split) == []


def test_stored_row_hashes_are_those_of_the_rows_read_back(split, tmp_path):
    """The duplicate check compares hashes made when a file was parsed with hashes of rows read
    back from Parquet (a part without stored hashes): they must agree."""
    from kamrules.ledger.datasets import row_hashes

    ledger, _ = read(split)
    frame = ledger.datasets["orders"]
    frame.write_parquet(tmp_path / "orders.parquet")
    back = pl.read_parquet(tmp_path / "orders.parquet")
    assert row_hashes(frame).equals(row_hashes(back))
    part = ledger.datasets.parts("orders")[0]
    assert part.hashes is not None
    stored = part.located_hashes(0, [c for c in frame.columns if not c.startswith("_")]).collect()
    part.hashes = None
    computed = part.located_hashes(0, [c for c in frame.columns if not c.startswith("_")]).collect()
    assert stored.equals(computed)


@pytest.mark.slow  # the bundled sample run three times (fit, read back, damaged and fitted again)
def test_model_fits_are_kept_with_the_cache_and_read_back_exactly(tmp_path):
    """The predictive models are a pure function of the ledger: a run after a rule change reads
    the fit back instead of fitting again, and decides exactly as a run that fitted."""
    import shutil

    from kamrules.metrics import predictive

    from conftest import REPO

    project = tmp_path / "bundled"
    for name in ("inputs", "rules", "templates"):
        shutil.copytree(REPO / name, project / name)
    predictive.forget_fits()
    cold = run_json(project)
    fits = sorted((project / ".kamrules" / "fits").glob("*.json"))
    assert len(fits) == 2 and cold["predictive_models"]["bgnbd"]["status"] == "fitted"  # BG/NBD and Gamma-Gamma
    predictive.forget_fits()  # as a new process
    shutil.rmtree(project / ".kamrules" / "stages")  # the metrics computed again (as after a change of metrics.yaml)
    kept = predictive._stored_fit
    read_back = []
    predictive._stored_fit = lambda key: read_back.append(key) or kept(key)
    try:
        warm = run_json(project)
    finally:
        predictive._stored_fit = kept
    assert len(read_back) == 2
    assert cold["predictive_models"] == warm["predictive_models"]
    assert cold["decisions_sha256"] == warm["decisions_sha256"]
    for fit in fits:
        fit.write_text("{broken", encoding="utf-8")
    predictive.forget_fits()
    shutil.rmtree(project / ".kamrules" / "stages")
    again = run_json(project)
    assert again["decisions_sha256"] == cold["decisions_sha256"]
    assert all(json.loads(fit.read_text(encoding="utf-8"))["params"] for fit in fits)  # fitted again, kept
    cleared = runner.invoke(app, ["cache", "clear", "-p", str(project), "--lang", "en"])
    assert cleared.exit_code == 0 and not list((project / ".kamrules" / "fits").glob("*.json"))


def test_a_long_value_in_an_issue_comes_back_as_it_was_shown(split):
    """Issue values are shortened once, when the issue is made; a cached issue is not shortened again."""
    sheets = small_ledger()
    sheets["销售明细"][2][3] = "钢" * 5_000  # 产品 of SO2: long, but within the cell limit
    sheets["销售明细"][3][5] = "x" * 400  # 金额 of SO3: not an amount, and long
    write_workbook(split / "inputs" / "订单.xlsx", {"销售明细": sheets["销售明细"]})
    cold, _ = read(split)
    warm, store = read(split)
    assert counts(store) == (3, 0, 0, 0)
    shown = [i.value for i in cold.issues if i.value and "characters)" in str(i.value)]
    assert shown and shown == [i.value for i in warm.issues if i.value and "characters)" in str(i.value)]
    assert shown[0].endswith("… (400 characters)")


def test_a_gbk_csv_export_is_cached_like_a_workbook(split):
    """A CSV in GBK (as Excel on a Chinese Windows saves it): the same rows and issues, reused."""
    rows = small_ledger()["销售明细"]
    rows[4][5] = "￥120000.00"  # the full-width yuan sign GBK has, and no thousands comma in a CSV field
    lines = [",".join("" if v is None else (v.strftime("%Y-%m-%d") if hasattr(v, "strftime") else str(v))
                      for v in row) for row in rows]
    (split / "inputs" / "订单.xlsx").unlink()
    (split / "inputs" / "订单.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    fresh, _ = read(split, cache=False)
    read(split)
    warm, store = read(split)
    assert counts(store) == (3, 0, 0, 0)
    assert warm.datasets["orders"].height == fresh.datasets["orders"].height > 0
    assert snapshot(warm) == snapshot(fresh)
