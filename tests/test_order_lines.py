"""The order lines reduced file by file and added up (kamrules.metrics.order_lines): the same
figures as a reduction of all the lines at once, whatever the files hold; each file's reduction is
kept, so a run after a new file reduces only that file."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections import defaultdict

import numpy as np
import polars as pl
import pytest

import kamrules.metrics as metrics_module
import kamrules.metrics.order_lines as order_lines_module
from kamrules.ledger.cache import cache_root, stages_root
from kamrules.ledger.stages import KEPT, KEPT_PER_KIND, StageCache
from kamrules.metrics.order_lines import order_metrics_of, order_sums, purchase_summary_of
from kamrules.ledger.datasets import PART, POS
from kamrules.pipeline import RunOptions, evaluate, run

from conftest import AS_OF, ORDER_HEADER, write_workbook
from test_cache import read

SCHEMA = {"order_id": pl.String, "customer_id": pl.String, "order_date": pl.Date, "amount": pl.Float64,
          "cost": pl.Float64}


def lines(seed: int, count: int, months: tuple[int, int], ids: str = "sequential") -> pl.DataFrame:
    """Order lines of 20 customers dated in ``months`` (months back from AS_OF's month, -1: the
    month after), with returns, lines without an order number or cost, and lines without a date."""
    rng = np.random.default_rng(seed)
    start = dt.date(AS_OF.year, AS_OF.month, 1)
    first = start - dt.timedelta(days=31 * months[0])
    span = max(1, 31 * (months[0] - months[1]) + 30)
    dates = [first + dt.timedelta(days=int(d)) for d in rng.integers(0, span, count)]
    dates = [None if i % 97 == 5 else d for i, d in enumerate(dates)]
    if ids == "sequential":
        order_ids = [f"SO{seed:03d}-{i // 3:06d}" for i in range(count)]  # three lines an order
    else:  # the same numbers in every file
        order_ids = [f"SO-{int(v):04d}" for v in rng.integers(0, count // 2, count)]
    order_ids = [None if i % 41 == 7 else v for i, v in enumerate(order_ids)]
    amounts = np.round(rng.normal(2_000, 3_000, count), 2)  # about a quarter are returns
    costs = [None if i % 13 == 3 else round(float(a) * 0.7, 2) for i, a in enumerate(amounts)]  # money: to the fen
    return pl.DataFrame({"order_id": order_ids, "customer_id": [f"C{int(c):03d}" for c in rng.integers(0, 20, count)],
                         "order_date": dates, "amount": amounts, "cost": costs}, schema=SCHEMA)


def expected_metrics(frame: pl.DataFrame, as_of: dt.date) -> dict[str, dict]:
    """The catalog's order metrics, computed line by line in Python."""
    year_ago, two_years_ago = as_of.replace(year=as_of.year - 1), as_of.replace(year=as_of.year - 2)
    out: dict[str, dict] = defaultdict(lambda: {"revenue_12m": 0.0, "revenue_prev_12m": 0.0, "revenue_total": 0.0,
                                                "cost_12m": 0.0, "orders": set(), "dates": []})
    for row in frame.iter_rows(named=True):
        date, amount = row["order_date"], row["amount"]
        if date is None or date > as_of:
            continue
        m = out[row["customer_id"]]
        m["revenue_total"] += amount
        if date > year_ago:
            m["revenue_12m"] += amount
            m["cost_12m"] += row["cost"] or 0.0
            if amount >= 0:
                m["orders"].add(row["order_id"])  # a line without a number: one more order (None)
        elif date > two_years_ago:
            m["revenue_prev_12m"] += amount
        if amount >= 0:
            m["dates"].append(date)
    return {c: {**{k: v for k, v in m.items() if k not in ("orders", "dates")}, "orders_12m": len(m["orders"]),
                "first_order_date": min(m["dates"], default=None), "last_order_date": max(m["dates"], default=None)}
            for c, m in out.items()}


def expected_summary(frame: pl.DataFrame, as_of: dt.date) -> dict[str, tuple]:
    """x, t_x, T and m of every customer with a purchase: days with purchases, values in whole fen."""
    days: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    for row in frame.iter_rows(named=True):
        date, amount = row["order_date"], row["amount"]
        if date is not None and date <= as_of and amount >= 0:
            days[row["customer_id"]][date] += int(math.floor(amount * 100 + 0.5))
    out = {}
    for customer, values in days.items():
        ordered = sorted(values)
        x = len(ordered) - 1
        m = sum(values[d] for d in ordered[1:]) / 100 / x if x else None
        out[customer] = (x, (ordered[-1] - ordered[0]).days / 7, (as_of - ordered[0]).days / 7, m)
    return out


def assert_figures(parts: list[pl.DataFrame], as_of: dt.date = AS_OF) -> None:
    sums, with_values = order_sums([(None, p.lazy()) for p in parts], as_of)
    assert with_values == {"order_id", "cost"}
    everything = pl.concat(parts)
    got = {r["customer_id"]: r for r in order_metrics_of(sums, with_values).collect().iter_rows(named=True)}
    want = expected_metrics(everything, as_of)
    assert set(got) == set(want)
    for customer, figures in want.items():
        for name, value in figures.items():
            assert got[customer][name] == (pytest.approx(value, abs=1e-6) if isinstance(value, float) else value), \
                (customer, name)
    summary = purchase_summary_of(sums, as_of)
    assert summary["customer_id"].to_list() == sorted(summary["customer_id"])
    got_summary = {r[0]: r[1:5] for r in summary.iter_rows()}
    assert got_summary.keys() == expected_summary(everything, as_of).keys()
    for customer, (x, t_x, T, m) in expected_summary(everything, as_of).items():
        assert got_summary[customer][:3] == (x, pytest.approx(t_x), pytest.approx(T)), customer
        assert got_summary[customer][3] == (None if m is None else pytest.approx(m, abs=1e-9)), customer


def test_monthly_files_add_up_to_the_figures_of_all_their_lines(monkeypatch):
    reduced = count_reductions(monkeypatch)
    assert_figures([lines(100 + month, 400, (month, month)) for month in range(26, -2, -1)])
    assert len(reduced) == 28  # each file once: their order numbers and days do not overlap


def test_files_that_share_order_numbers_and_days_give_the_same_figures(monkeypatch):
    reduced = count_reductions(monkeypatch)
    # every file spans the same two years and more with the same order numbers: nothing adds up file by file
    assert_figures([lines(seed, 500, (24, -1), ids="shared") for seed in range(4)])
    assert len(reduced) == 4 + 1  # each file, then all the lines at once


REDUCE = order_lines_module.reduce_lines


def test_one_file_overlapping_another_for_one_customer_is_enough_to_reduce_all_lines_at_once(monkeypatch):
    september, october = lines(1, 300, (1, 1)), lines(2, 300, (0, 0))
    straddling = pl.DataFrame({"order_id": ["SO001-000000"], "customer_id": ["C001"],  # September's first number
                               "order_date": [dt.date(2026, 10, 20)], "amount": [10.0], "cost": [1.0]}, schema=SCHEMA)
    reduced = count_reductions(monkeypatch)
    assert_figures([september, pl.concat([october, straddling])])
    assert len(reduced) == 3


def test_without_order_numbers_an_order_is_a_day_with_purchases():
    frame = pl.DataFrame({"customer_id": ["C1", "C1", "C1", "C2"], "amount": [5.0, 7.0, -2.0, 1.0],
                          "order_date": [dt.date(2026, 10, 1), dt.date(2026, 10, 1), dt.date(2026, 10, 2),
                                         dt.date(2026, 9, 9)]})
    sums, with_values = order_sums([(None, frame.lazy())], AS_OF)
    assert with_values == set()
    got = order_metrics_of(sums, with_values).collect().sort("customer_id")
    assert got.columns == ["customer_id", "revenue_12m", "revenue_prev_12m", "revenue_total", "orders_12m",
                           "first_order_date", "last_order_date"]  # no cost column: no line has a cost
    assert got["orders_12m"].to_list() == [1, 1] and got["revenue_12m"].to_list() == [10.0, 1.0]


# --- in a run: kept per file ------------------------------------------------------------------

def evaluated(project, as_of=AS_OF):
    _, ledger, result = evaluate(project, as_of, options=RunOptions(workers=1))
    return result.frame.sort("customer_id"), sorted((i.file, i.row, i.code) for i in ledger.issues), result.models


def count_reductions(monkeypatch) -> list:
    reduced = []
    monkeypatch.setattr(order_lines_module, "reduce_lines",
                        lambda rows, as_of: reduced.append(rows) or REDUCE(rows, as_of))
    return reduced


def add_orders_file(project, name: str, rows: list[list]) -> None:
    write_workbook(project / "inputs" / name, {"销售明细": [list(ORDER_HEADER), *rows]})


def test_a_new_orders_file_reduces_only_its_own_lines_and_decides_like_a_cold_run(split, monkeypatch):
    evaluated(split)
    d = dt.datetime
    add_orders_file(split, "订单-2026-10b.xlsx", [["SO21", "C003", d(2026, 10, 20), "钢材", 2, 30_000, 20_000],
                                                  ["SO22", "C002", d(2026, 10, 21), "五金", 1, 9_000, 6_000]])
    reduced = count_reductions(monkeypatch)
    warm = evaluated(split)
    assert len(reduced) == 1  # the new file; the first one's reduction was kept
    shutil.rmtree(split / ".kamrules")
    cold = evaluated(split)
    assert len(reduced) == 3  # both files
    assert warm[0].equals(cold[0]) and warm[1] == cold[1] and warm[2] == cold[2]
    again = evaluated(split)  # the same inputs: nothing reduced
    assert len(reduced) == 3 and again[0].equals(cold[0])


@pytest.mark.parametrize("change", ["as_of", "mapping", "code"])
def test_every_key_part_of_a_files_reduction_makes_it_reduced_again(split, monkeypatch, change):
    evaluated(split)
    as_of = AS_OF
    if change == "as_of":
        as_of = AS_OF + dt.timedelta(days=1)
    elif change == "mapping":
        path = split / "rules" / "ledger.yaml"
        text = path.read_text(encoding="utf-8")
        assert "title: 销售明细" in text
        path.write_text(text.replace("title: 销售明细", "title: 销售明细（十月）", 1), encoding="utf-8")
    else:
        for module in (order_lines_module, metrics_module):  # the metrics' own key too, or they are read back whole
            monkeypatch.setattr(module, "code_digest", lambda *packages: "other code")
    reduced = count_reductions(monkeypatch)
    warm = evaluated(split, as_of)
    assert len(reduced) == 1
    shutil.rmtree(split / ".kamrules")
    cold = evaluated(split, as_of)
    assert warm[0].equals(cold[0]) and warm[1] == cold[1]


def test_a_files_reduction_is_kept_for_more_runs_than_a_whole_result(tmp_path):
    stages = StageCache(tmp_path / "stages")
    frame = pl.DataFrame({"a": [1]})
    for index in range(KEPT_PER_KIND + 3):
        stages.store("sums", f"{index:040d}", {"filled": {}}, {"sums": frame})
        stages.store("checks", f"{index:040d}", {}, {"dropped": frame})
    names = [p.name.split("-")[0] for p in (tmp_path / "stages").iterdir()]
    assert names.count("sums") == KEPT_PER_KIND + 3 <= KEPT["sums"] and names.count("checks") == KEPT_PER_KIND


def test_a_run_keeps_one_reduction_per_orders_file(split):
    d = dt.datetime
    add_orders_file(split, "订单-十一月.xlsx", [["SO31", "C001", d(2026, 10, 30), "钢材", 1, 1_000, 700]])
    run(split, AS_OF, options=RunOptions(workers=1))
    names = sorted(p.name.split("-")[0] for p in stages_root(cache_root(split)).iterdir())
    assert names == ["checks", "features", "sums", "sums"]


def test_the_rows_the_checks_take_out_of_a_file_are_part_of_its_key(split):
    ledger, _ = read(split)
    before = {name: [key for key, _ in ledger.keyed_parts(name)] for name in ("orders", "customers")}
    assert all(before.values()) and None not in before["orders"]
    ledger.datasets.drop("orders", pl.DataFrame({PART: [0], POS: [1]}, schema={PART: pl.UInt32, POS: pl.UInt32}))
    after = {name: [key for key, _ in ledger.keyed_parts(name)] for name in ("orders", "customers")}
    assert after["orders"] != before["orders"] and after["customers"] == before["customers"]
    assert read(split)[0].keyed_parts("orders")[0][0] == before["orders"][0]  # the same file, read again


def test_a_customer_whose_lines_are_all_undated_or_later_than_as_of_has_no_order_figures():
    frame = pl.DataFrame({"customer_id": ["C1", "C1", "C2"], "amount": [5.0, 7.0, 1.0], "order_id": ["A", "B", "C"],
                          "order_date": [None, AS_OF + dt.timedelta(days=1), AS_OF]}, schema_overrides=SCHEMA)
    sums, with_values = order_sums([(None, frame.lazy())], AS_OF)
    assert with_values == {"order_id"}  # C1's numbers count as values, though its lines are not used
    assert sums["customer_id"].to_list() == ["C2"]
    assert purchase_summary_of(sums, AS_OF)["customer_id"].to_list() == ["C2"]


def test_a_run_with_more_files_than_are_kept_keeps_all_its_own_reductions(split, monkeypatch):
    monkeypatch.setitem(KEPT, "sums", 2)  # fewer than a run has files: its own are all kept all the same
    d = dt.datetime
    for month in (7, 8, 9):
        add_orders_file(split, f"订单-2026-{month:02d}.xlsx", [[f"SO{month}1", "C003", d(2026, month, 3), "钢材", 1, 100, 70]])
    evaluated(split)
    sums = lambda: sorted(p.name for p in stages_root(cache_root(split)).iterdir() if p.name.startswith("sums-"))
    first = sums()
    assert len(first) == 4
    reduced = count_reductions(monkeypatch)
    evaluated(split, AS_OF + dt.timedelta(days=1))  # a new day: four new reductions, none of the old kept
    assert len(reduced) == 4 and len(sums()) == 4 and not set(sums()) & set(first)
    shutil.rmtree(stages_root(cache_root(split)) / next(p for p in sums() if p not in first))
    for folder in stages_root(cache_root(split)).iterdir():  # the metrics themselves: made again
        if not folder.name.startswith("sums-"):
            shutil.rmtree(folder)
    evaluated(split, AS_OF + dt.timedelta(days=1))
    assert len(reduced) == 5  # only the one removed
