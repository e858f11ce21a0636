"""The benchmark runs end to end at a tiny size, so it never rots (no timing is asserted)."""

from __future__ import annotations

import pytest

pytest.importorskip("numpy")
pytest.importorskip("xlsxwriter")


@pytest.mark.slow  # a benchmark run (tiny, but every stage and baseline): CI's second step
def test_benchmark_smoke(capsys, monkeypatch):
    from benchmarks import __main__ as bench

    monkeypatch.setitem(bench.SIZES, "smoke", (20, 500))
    bench.main(["--size", "smoke", "--repeat", "2"])
    out = capsys.readouterr().out
    for label in ("bare calamine (fastexcel) read", "openpyxl read-only (rate)", "kamrules ledger (read+validate)",
                  "polars engine", "per-customer loop (same rules)", "polars engine, policy from DMN", "bare docxtpl (serial)", "kamrules serial",
                  "kamrules parallel", "baseline: calamine read + dump", "kamrules run",
                  "baseline: cadence dates only", "kamrules plan (calendar+capacity)"):
        assert label in out, label
    assert out.count("  kamrules run ") == 2 and "  median of 2 pairs " in out


@pytest.mark.slow  # five whole runs on a tiny year of monthly files
def test_incremental_benchmark_smoke(capsys, tmp_path):
    from benchmarks import incremental

    incremental.main(["--files", "2", "--lines", "400", "--customers", "40", "--scaling", "--keep", str(tmp_path)])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("kamrules incremental benchmark · 2 monthly files × 400 order lines, 40 customers")
    assert any(line.startswith("   1 order file(s)          400 order lines  cold ") for line in lines), out
    assert any(line.startswith("   2 order file(s)          800 order lines  cold ") for line in lines), out
    for label, cache in (("cold (2 files, no cache)", "[0 reused, 3 parsed]"),
                         ("warm, nothing changed", "[3 reused, 0 parsed]"),
                         ("warm after file 3 arrived", "[3 reused, 1 parsed]"),
                         ("warm after a rule change only", "[4 reused, 0 parsed]")):
        found = [line for line in lines if line.startswith(f"  {label}")]
        assert len(found) == 1 and cache in found[0], (label, out)
    # the rule change was made on the generated project, never on the repository's rules
    assert "revenue_12m >= 20万" in (incremental.gen.ROOT / "rules" / "policy.yaml").read_text(encoding="utf-8")
