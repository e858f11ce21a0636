"""``python -m benchmarks [--size smoke|small|full] [--scaling]``: every stage against a baseline
measured in the same run, on a ledger generated on demand (see benchmarks/generate.py).

- ingest + validation vs a bare fastexcel/calamine read of the same sheets (the practical
  limit) and vs openpyxl's read-only reader (what most people would write);
- predictive metrics: fitting BG/NBD and Gamma-Gamma and scoring every customer;
- rule evaluation (customer-decisions/s) vs a per-customer loop over the same compiled
  rules, and vs the durable-rules engine where it is installed;
- 200 proposals: kamrules serial and parallel vs bare docxtpl on the same template;
- the visit plan (``benchmarks/schedule.py``): scheduling every customer over 12 months within
  the reps' capacity vs the bare cadence dates of the same customers;
- the whole ``kamrules run`` vs a bare calamine read of the inputs plus a bare openpyxl
  write-only dump of the same customer table; peak memory of the run (and with
  ``--scaling``, at 100k / 300k / 1M order lines).
Absolute times vary between machines; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import subprocess
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import fastexcel
import openpyxl
import polars as pl

from kamrules.pipeline import evaluate
from kamrules.render.batch import Job, render_all
from kamrules.render.context import customer_context
from kamrules.render.xlsx import portfolio_columns
from kamrules.rules.engine import PolarsEngine

from . import schedule
from .generate import generate

SIZES = {"smoke": (300, 6_000), "small": (5_000, 100_000), "full": (50_000, 1_000_000)}
AS_OF = dt.date(2026, 10, 31)
HEADER_ROWS = {"客户档案": 2}
OPENPYXL_ROWS = 200_000  # openpyxl's rate is measured on at most this many rows


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def line(label: str, seconds: float, count: float, unit: str, baseline: float | None = None, name: str = "") -> None:
    rate = count / seconds if seconds else float("inf")
    text = f"  {label:<34} {seconds:8.2f} s  {rate:>14,.0f} {unit}/s"
    if baseline:
        text += f"   {baseline / seconds:5.2f}x {name}"
    print(text, flush=True)


def bare_calamine(book: Path) -> int:
    reader = fastexcel.read_excel(str(book))
    rows = 0
    for name in reader.sheet_names:
        rows += reader.load_sheet_by_name(name, header_row=HEADER_ROWS.get(name, 0)).to_polars().height
    return rows


def openpyxl_rate(book: Path) -> float:
    """Rows per second of openpyxl's read-only reader on the orders sheet (at most OPENPYXL_ROWS)."""
    wb = openpyxl.load_workbook(book, read_only=True, data_only=True)
    start, rows = time.perf_counter(), 0
    for _ in wb["销售明细"].iter_rows(values_only=True):
        rows += 1
        if rows >= OPENPYXL_ROWS:
            break
    seconds = time.perf_counter() - start
    wb.close()
    return rows / seconds


def bench_ingest(project: Path) -> None:
    book = project / "inputs" / "台账.xlsx"
    print("ingest + validation", flush=True)
    bare_seconds, rows = timed(bare_calamine, book)
    ours_seconds, _ = timed(evaluate, project, AS_OF)  # ledger + metrics + rules; ledger time reported below
    rulebook, ledger, _ = evaluate(project, AS_OF, timings=(timings := {}))
    ours = timings["ledger"]
    rate = openpyxl_rate(book)
    line("bare calamine (fastexcel) read", bare_seconds, rows, "rows")
    line("openpyxl read-only (rate)", rows / rate, rows, "rows")
    line("kamrules ledger (read+validate)", ours, rows, "rows", bare_seconds, "of the calamine rate")
    print(f"  {'':<34} kamrules is {(rows / rate) / ours:.1f}x openpyxl read-only", flush=True)


def bench_predictive(project: Path) -> None:
    """Fitting BG/NBD and Gamma-Gamma on the orders and scoring every customer."""
    from kamrules.metrics.predictive import forget_fits, predictive_metrics
    from kamrules.rules.rulebook_compiler import load_rulebook

    print("predictive metrics", flush=True)
    rulebook = load_rulebook(project)
    spec = rulebook.spec.metrics.predictive
    if spec is None:
        print("  not configured in rules/metrics.yaml", flush=True)
        return
    _, ledger, _ = evaluate(project, AS_OF)
    customers = ledger.datasets["customers"].select("customer_id")
    reports: dict = {}
    forget_fits()  # evaluate() above fitted this very ledger
    seconds, _ = timed(predictive_metrics, customers, ledger.datasets["orders"], AS_OF, spec, reports)
    fitted = reports.get("bgnbd", {}).get("customers", 0)
    line("BG/NBD + Gamma-Gamma fit and score", seconds, customers.height, "customers")
    print(f"  {'':<34} {fitted:,} customers with orders, "
          f"{reports.get('bgnbd', {}).get('extra', {}).get('repeat_customers', 0):,} repeat buyers", flush=True)


def bench_rules(project: Path) -> None:
    print("rule evaluation", flush=True)
    rulebook, _, result = evaluate(project, AS_OF)
    features = result.frame.select([c for c in result.frame.columns
                                    if not c.startswith("_") and c not in rulebook.output_owner()])
    decisions = len(rulebook.decisions)
    seconds, _ = timed(PolarsEngine(rulebook, AS_OF).evaluate, features)
    line("polars engine", seconds, features.height * decisions, "customer-decisions")
    sample = features.head(min(200, features.height))
    engine = PolarsEngine(rulebook, AS_OF)
    loop_seconds, _ = timed(lambda: [engine.evaluate(sample.slice(i, 1)) for i in range(sample.height)])
    per_decision = loop_seconds / (sample.height * decisions)
    print(f"  {'per-customer loop (same rules)':<34} {per_decision * 1e6:8.0f} µs/customer-decision"
          f"   polars is {per_decision * features.height * decisions / seconds:,.0f}x faster", flush=True)
    bench_dmn_policy(project, rulebook, features, seconds)
    try:
        from kamrules.rules.durable_engine import DurableEngine
        durable = DurableEngine(rulebook, AS_OF)
    except Exception as exc:
        print(f"  durable-rules: not available ({type(exc).__name__})", flush=True)
        return
    sample = features.head(min(5_000, features.height))
    durable_seconds, _ = timed(durable.evaluate, sample)
    rate = sample.height * decisions / durable_seconds
    print(f"  {'durable-rules engine':<34} {durable_seconds:8.2f} s  {rate:>14,.0f} customer-decisions/s"
          f"   polars is {features.height * decisions / seconds / rate:,.0f}x faster", flush=True)


def bench_dmn_policy(project: Path, rulebook, features: pl.DataFrame, yaml_seconds: float) -> None:
    """The same policy exported to DMN and imported back (rules/policy.dmn): same speed expected."""
    from kamrules.rules.dmn.writer import write_dmn
    from kamrules.rules.rulebook_compiler import load_rulebook

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder)
        shutil.copytree(project / "rules", copy / "rules")
        (copy / "rules" / "policy.yaml").unlink()
        (copy / "rules" / "policy.dmn").write_bytes(write_dmn(rulebook, "policy"))
        imported = load_rulebook(copy)
    engine = PolarsEngine(imported, AS_OF)
    seconds, _ = timed(engine.evaluate, features)
    decisions = len(imported.decisions)
    print(f"  {'polars engine, policy from DMN':<34} {seconds:8.2f} s  "
          f"{features.height * decisions / seconds:>14,.0f} customer-decisions/s   "
          f"{yaml_seconds / seconds:5.2f}x the YAML policy's rate", flush=True)


def bench_documents(project: Path, count: int = 200) -> None:
    print(f"documents ({count} proposals)", flush=True)
    from docxtpl import DocxTemplate
    from jinja2 import Environment

    from kamrules.render.filters import make_filters

    rulebook, _, result = evaluate(project, AS_OF)
    document = rulebook.spec.documents[0]
    template = project / "templates" / document.template
    rows = list(result.frame.head(count).iter_rows(named=True))
    contexts = [customer_context(r, rulebook, AS_OF, document, []) for r in rows]
    source = template.read_bytes()
    env = Environment(autoescape=True)
    env.filters.update(make_filters(rulebook.spec.locale))
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)

        def bare():
            for i, context in enumerate(contexts):
                tpl = DocxTemplate(io.BytesIO(source))
                tpl.render(context, jinja_env=env, autoescape=True)
                tpl.save(out / f"bare{i}.docx")

        bare_seconds, _ = timed(bare)
        templates = {"p": (template, rulebook.spec.locale, document.template)}
        jobs = lambda tag: [Job("p", c, out / f"{tag}{i}.docx", str(i)) for i, c in enumerate(contexts)]  # noqa: E731
        serial, _ = timed(render_all, jobs("s"), templates, 1)
        workers = min(os.cpu_count() or 1, 8)
        parallel, _ = timed(render_all, jobs("p"), templates, workers)
    line("bare docxtpl (serial)", bare_seconds, len(contexts), "docs")
    line("kamrules serial (sandbox+verify)", serial, len(contexts), "docs", bare_seconds, "of bare docxtpl")
    line(f"kamrules parallel ({workers} workers)", parallel, len(contexts), "docs", serial, "of kamrules serial")


PEAK = """
def peak_mb():
    # VmHWM is this process's own peak; ru_maxrss would include the parent's memory at fork
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1 << 20 if sys.platform == "darwin" else 1024)
"""


def whole_run(project: Path, cold: bool = False) -> tuple[float, int, Path]:
    """Seconds and peak RSS (MB) of ``kamrules run`` in a fresh process, and its run folder.
    Document workers are separate processes of about 100 MB each, not included. ``cold``: the
    ledger cache is removed first, so every file is parsed."""
    if cold:
        shutil.rmtree(project / ".kamrules", ignore_errors=True)
    code = ("import sys, time; from kamrules.cli import main\n" + PEAK + "start = time.perf_counter()\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('SECONDS', time.perf_counter() - start, 'PEAK', peak_mb(), file=sys.stderr)")
    command = [sys.executable, "-c", code, "run", "-p", str(project), "--as-of", AS_OF.isoformat(), "-q"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    marker = done.stderr.split("SECONDS")[-1].split()
    return float(marker[0]), int(marker[2]), Path(done.stdout.strip().splitlines()[-1])


def openpyxl_dump(table: pl.DataFrame, target: Path) -> None:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("客户")
    ws.append(table.columns)
    for row in table.iter_rows():
        ws.append([", ".join(map(str, v)) if isinstance(v, list) else v for v in row])
    wb.save(target)


def bench_run(project: Path, repeat: int = 1) -> None:
    """The whole cold run against its baseline, ``repeat`` times in turn; with more than one, the
    median of the ratios (this machine's speed drifts by 10-20% within minutes: one pair can land
    anywhere in that band)."""
    from kamrules.rules.rulebook_compiler import load_rulebook

    print("whole run", flush=True)
    columns = [c.field for c in portfolio_columns(load_rulebook(project))]
    ratios = []
    for _ in range(repeat):
        seconds, peak, run_dir = whole_run(project, cold=True)
        frame = pl.read_parquet(run_dir / "decisions.parquet")
        table = frame.select([name for name in columns if name in frame.columns])
        read_seconds, _ = timed(bare_calamine, project / "inputs" / "台账.xlsx")
        with tempfile.TemporaryDirectory() as folder:
            dump_seconds, _ = timed(openpyxl_dump, table, Path(folder) / "dump.xlsx")
        baseline = read_seconds + dump_seconds
        ratios.append(seconds / baseline)
        print(f"  {'baseline: calamine read + dump':<34} {baseline:8.2f} s   ({read_seconds:.2f} + {dump_seconds:.2f}; "
              f"{table.height:,} customers x {table.width} columns)", flush=True)
        print(f"  {'kamrules run':<34} {seconds:8.2f} s   {seconds / baseline:5.2f}x the baseline   peak {peak:,} MB",
              flush=True)
    if repeat > 1:
        print(f"  {'median of ' + str(repeat) + ' pairs':<34} {statistics.median(ratios):5.2f}x the baseline "
              f"(from {min(ratios):.2f}x to {max(ratios):.2f}x)", flush=True)


def scaling(folder: Path) -> None:
    print("memory scaling (whole run)", flush=True)
    for customers, lines in ((5_000, 100_000), (15_000, 300_000), (50_000, 1_000_000)):
        project = generate(folder / f"scale-{lines}", customers, lines)
        seconds, peak, _ = whole_run(project, cold=True)
        print(f"  {lines:>9,} order lines  {customers:>7,} customers  {seconds:7.2f} s  peak {peak:,} MB", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="full")
    parser.add_argument("--scaling", action="store_true", help="also measure peak memory at 100k/300k/1M lines")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--repeat", type=int, default=None,
                        help="whole runs, each with its baseline (default 3 at --size full, else 1)")
    args = parser.parse_args(argv)
    customers, lines = SIZES[args.size]
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        start = time.perf_counter()
        project = generate(folder / f"bench-{args.size}", customers, lines)
        print(f"kamrules benchmark · {customers:,} customers, {lines:,} order lines · {os.cpu_count()} cores · "
              f"generated in {time.perf_counter() - start:.1f} s", flush=True)
        bench_ingest(project)
        bench_predictive(project)
        bench_rules(project)
        bench_documents(project, min(200, customers))
        bench_run(project, args.repeat or (3 if args.size == "full" else 1))
        schedule.main(["--customers", str(customers)])
        if args.scaling:
            scaling(folder)


if __name__ == "__main__":
    main()
