"""``python -m benchmarks.incremental [--files 12] [--lines 1000000] [--customers 50000] [--scaling]``

A year of monthly exports in the drop folder (issue 23): ``--files`` order files of ``--lines``
lines each (销售明细, one calendar month each), plus one workbook of customers, receivables
and visits sized to match, generated on demand (never committed; ``--keep DIR`` keeps them
and reuses them while the generator is unchanged). Every figure is a whole ``kamrules run``
in a fresh process, with the main process's peak RSS (VmHWM; document workers excluded):

- cold: no cache (``.kamrules/`` removed), every file parsed: the baseline of the ratios;
- warm after a new file: one more month arrives, only it is parsed;
- warm after a rule change only: a threshold in rules/policy.yaml changes, nothing is parsed;
- with ``--scaling``: cold runs on the first 1 / 3 / ``--files`` months, so memory growth with
  the number of lines is visible.

Targets: cold peak ≤ 4 GB at 12 × 1M lines; new file ≤ 0.25× cold; rule change ≤ 0.10× cold.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from . import generate as gen
from .__main__ import AS_OF, whole_run

CUSTOMER_BOOK = "客户与往来.xlsx"
LAYOUT = 1  # change when what generate_year writes changes: a kept folder is then made again
RULE_BEFORE, RULE_AFTER = "tenure_years < 1 and revenue_12m >= 20万", "tenure_years < 1 and revenue_12m >= 25万"


def months_before(end: dt.date, count: int) -> list[dt.date]:
    """The first days of the ``count`` calendar months ending with ``end``'s month, oldest first."""
    firsts, year, month = [], end.year, end.month
    for _ in range(count):
        firsts.append(dt.date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return firsts[::-1]


def month_end(first: dt.date) -> dt.date:
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _order_book(target: str, customers: int, lines: int, first: dt.date, seed: int) -> str:
    rng = np.random.default_rng([seed, first.year, first.month])
    frame = gen.orders(customers, lines, rng, first, month_end(first), prefix=f"SO{first:%y%m}")
    frame.write_excel(target, worksheet="销售明细", table_style=None, autofit=False)
    return target


def _customer_book(target: Path, customers: int, seed: int) -> None:
    import xlsxwriter

    rng = np.random.default_rng(seed)
    with xlsxwriter.Workbook(str(target)) as workbook:
        gen.customers(customers, rng).write_excel(workbook, worksheet="客户档案", position="A3", table_style=None,
                                                  autofit=False)
        workbook.get_worksheet_by_name("客户档案").write("A1", "客户档案（基准测试）")
        for name, frame in (("应收账款", gen.receivables(customers, rng)), ("拜访记录", gen.visits(customers, rng))):
            frame.write_excel(workbook, worksheet=name, table_style=None, autofit=False)


def generate_year(out: Path, customers: int, lines: int, files: int, seed: int = 20261031) -> tuple[Path, list[Path]]:
    """A project whose inputs/ holds the customer workbook and ``files`` monthly order files; the
    month after them waits in ``spare/``. Returns the project and the order files (the spare last)."""
    stamp = {"customers": customers, "lines": lines, "files": files, "seed": seed, "layout": LAYOUT,
             "generator": hashlib.sha256(Path(gen.__file__).read_bytes()).hexdigest()}
    months = months_before(AS_OF, files + 1)
    books = [out / "inputs" / f"销售明细-{m:%Y-%m}.xlsx" for m in months[:-1]]
    books.append(out / "spare" / f"销售明细-{months[-1]:%Y-%m}.xlsx")
    marker = out / "generated.json"
    if marker.is_file() and json.loads(marker.read_text()) == stamp:
        spare = out / "inputs" / books[-1].name
        if spare.exists():
            os.replace(spare, books[-1])
    else:
        shutil.rmtree(out, ignore_errors=True)
        (out / "inputs").mkdir(parents=True)
        (out / "spare").mkdir()
        _customer_book(out / "inputs" / CUSTOMER_BOOK, customers, seed)
        # spawn, not fork: a forked child of a process whose Polars thread pool has run can deadlock
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1),
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_order_book, [str(b) for b in books], [customers] * len(books), [lines] * len(books),
                          months, [seed] * len(books)))
        marker.write_text(json.dumps(stamp))
    for name in ("outputs", "rules", "templates", ".kamrules"):
        shutil.rmtree(out / name, ignore_errors=True)
    gen._copy_project_files(out)
    return out, books


def change_rule(project: Path) -> None:
    path = project / "rules" / "policy.yaml"
    text = path.read_text(encoding="utf-8")
    if RULE_BEFORE not in text:
        raise SystemExit(f"benchmark: rules/policy.yaml no longer has {RULE_BEFORE!r}; update RULE_BEFORE")
    path.write_text(text.replace(RULE_BEFORE, RULE_AFTER, 1), encoding="utf-8")


def cache_counts(run_dir: Path) -> str:
    cache = json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("cache") or {}
    return f"{cache.get('files_reused', 0)} reused, {cache.get('files_parsed', 0)} parsed"


def report(label: str, seconds: float, peak: int, run_dir: Path, cold: float | None = None,
           target: float | None = None) -> None:
    ratio = f"  {seconds / cold:5.3f}× cold" if cold else ""
    aim = f" (target ≤ {target:.2f}×)" if target else ""
    print(f"  {label:<34} {seconds:8.2f} s  peak {peak:>6,} MB  [{cache_counts(run_dir)}]{ratio}{aim}", flush=True)
    stages(run_dir)


def cold_run(project: Path) -> tuple[float, int, Path]:
    return whole_run(project, cold=True)


def scaling(project: Path, books: list[Path], files: int) -> None:
    """Cold runs on the first 1, 3, … months: memory against the number of order lines."""
    print("memory scaling (cold runs, first N months)", flush=True)
    parked = project / "parked"
    parked.mkdir(exist_ok=True)
    for count in sorted({1, min(3, files)} - {files}):  # all files: the cold run below
        for index, book in enumerate(books[:-1]):
            inside, aside = project / "inputs" / book.name, parked / book.name
            if index < count and aside.exists():
                os.replace(aside, inside)
            elif index >= count and inside.exists():
                os.replace(inside, aside)
        seconds, peak, run_dir = cold_run(project)
        scaled(count, seconds, peak, run_dir)
    for book in parked.iterdir():
        os.replace(book, project / "inputs" / book.name)
    parked.rmdir()


def scaled(count: int, seconds: float, peak: int, run_dir: Path) -> None:
    read = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["counts"]["datasets"]["orders"]
    print(f"  {count:>2} order file(s)  {read['rows_read']:>11,} order lines  cold {seconds:8.2f} s  "
          f"peak {peak:>6,} MB  cache {_megabytes(run_dir.parent.parent / '.kamrules'):,.0f} MB", flush=True)
    stages(run_dir)


def _megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / (1 << 20)


def stages(run_dir: Path) -> None:
    timings = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["timings_seconds"]
    print("      " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in timings.items() if seconds >= 0.05),
          flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--lines", type=int, default=1_000_000, help="order lines per monthly file")
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--scaling", action="store_true", help="also cold runs on 1 and 3 months")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        start = time.perf_counter()
        project, books = generate_year(folder / f"year-{args.files}x{args.lines}", args.customers, args.lines,
                                       args.files)
        print(f"kamrules incremental benchmark · {args.files} monthly files × {args.lines:,} order lines, "
              f"{args.customers:,} customers · {os.cpu_count()} cores · ready in {time.perf_counter() - start:.1f} s",
              flush=True)
        if args.scaling:
            scaling(project, books, args.files)
        cold, peak, run_dir = cold_run(project)
        if args.scaling:
            scaled(args.files, cold, peak, run_dir)
        print("runs", flush=True)
        report(f"cold ({args.files} files, no cache)", cold, peak, run_dir)
        seconds, peak, run_dir = whole_run(project)
        report("warm, nothing changed", seconds, peak, run_dir, cold)
        os.replace(books[-1], project / "inputs" / books[-1].name)
        seconds, peak, run_dir = whole_run(project)
        report(f"warm after file {args.files + 1} arrived", seconds, peak, run_dir, cold, 0.25)
        change_rule(project)
        seconds, peak, run_dir = whole_run(project)
        report("warm after a rule change only", seconds, peak, run_dir, cold, 0.10)
        os.replace(project / "inputs" / books[-1].name, books[-1])
    sys.stdout.flush()


if __name__ == "__main__":
    main()
