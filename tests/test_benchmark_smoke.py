"""The benchmark runs end to end at a tiny size, so it never rots (no timing is asserted)."""

from __future__ import annotations

import pytest

pytest.importorskip("numpy")
pytest.importorskip("xlsxwriter")


@pytest.mark.slow  # a benchmark run (tiny, but every stage and baseline): CI's second step
def test_benchmark_smoke(capsys, monkeypatch):
    from benchmarks import __main__ as bench

    monkeypatch.setitem(bench.SIZES, "smoke", (20, 500))
    bench.main(["--size", "smoke"])
    out = capsys.readouterr().out
    for label in ("bare calamine (fastexcel) read", "openpyxl read-only (rate)", "kamrules ledger (read+validate)",
                  "polars engine", "per-customer loop (same rules)", "polars engine, policy from DMN", "bare docxtpl (serial)", "kamrules serial",
                  "kamrules parallel", "baseline: calamine read + dump", "kamrules run",
                  "baseline: cadence dates only", "kamrules plan (calendar+capacity)"):
        assert label in out, label
