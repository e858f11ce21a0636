"""No silent wrong figures: a mapped column without values is reported with what the metrics do
instead; a BG/NBD fit without spread in dropout uses its limiting model; quotas rank by a list of
keys and say who had none; an as-of long after the last order is said; ``check`` finds what the
metrics read but ledger.yaml does not map."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import textwrap
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.metrics import predictive
from kamrules.pipeline import evaluate
from kamrules.rules import PolarsEngine, load_rulebook

from conftest import AS_OF, REPO, make_project, small_ledger


def run(project: Path, as_of: str = "2026-10-31", lang: str = "en"):
    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", as_of, "--lang", lang, "--workers", "1"])
    assert result.exit_code == 0, result.output
    run_dir = Path(re.split(r": |：", result.output.strip().splitlines()[-1], maxsplit=1)[-1])
    return result.output, run_dir, json.loads((run_dir / "run.json").read_text(encoding="utf-8"))


def without_columns(sheets: dict, sheet: str, *names: str) -> dict:
    """The ledger with the named columns removed from one sheet (header and every row)."""
    rows = sheets[sheet]
    header_at = next(i for i, row in enumerate(rows) if any(cell in names for cell in row))
    drop = [i for i, cell in enumerate(rows[header_at]) if cell in names]
    sheets[sheet] = rows[:header_at] + [[c for i, c in enumerate(row) if i not in drop] for row in rows[header_at:]]
    return sheets


# --- a mapped column the ledger does not have ------------------------------------------------

def test_orders_without_order_numbers_count_order_days_and_say_so(tmp_path):
    sheets = without_columns(small_ledger(), "销售明细", "订单编号", "成本")
    sheets["销售明细"].insert(2, ["C001", dt.datetime(2026, 10, 1), "钢材", 1, 50_000])  # a 2nd line the same day
    output, run_dir, manifest = run(make_project(tmp_path / "p", sheets))
    frame = pl.read_parquet(run_dir / "decisions.parquet").sort("customer_id")
    # C001's lines in the window: 10-01 (two lines, one day), 03-15 → 2 orders; 11-05 is after as_of
    assert frame["orders_12m"].to_list()[:2] == [2, 1]
    assert frame["avg_order_value_12m"].to_list()[0] == pytest.approx((1_000_000 + 50_000 + 600_000) / 2)
    assert frame["cost_12m"].to_list() == [None, None, None]  # not 0: nobody knows the cost
    assert frame["margin_pct_12m"].to_list() == [None, None, None]
    notes = [(i["column"], i["message"]) for i in manifest["issues"]["rows"] if i["code"] == "column_without_values"]
    assert notes == [
        ("order_id", "the mapped column order_id has no value in the ledger (the sheets lack it, or it is empty): "
                     "orders_12m counts days with orders (lines of one day are one order); avg_order_value_12m, "
                     "complaint_rate_12m and the RFM frequency follow from it"),
        ("cost", "the mapped column cost has no value in the ledger (the sheets lack it, or it is empty): "
                 "cost_12m, gross_margin_12m and margin_pct_12m are left empty"),
        ("satisfaction", "the mapped column satisfaction has no value in the ledger (the sheets lack it, or it is "
                         "empty): satisfaction is left empty"),
    ]
    assert "rules/ledger.yaml [orders.order_id]: the mapped column order_id has no value" in output


def test_receivables_without_payments_are_open_items_and_said_so_in_chinese(tmp_path):
    sheets = without_columns(small_ledger(), "应收账款", "已收金额", "收款日期")
    _, run_dir, manifest = run(make_project(tmp_path / "p", sheets), lang="zh")
    frame = pl.read_parquet(run_dir / "decisions.parquet").sort("customer_id")
    assert frame["outstanding"].to_list()[0] == 50_000 + 8_000 + 10_000
    assert frame["on_time_rate_12m"].to_list()[0] is None
    codes = [(i["column"], i["code"]) for i in manifest["issues"]["rows"] if i["code"] == "column_without_values"]
    assert codes == [("paid_amount", "column_without_values"), ("paid_date", "column_without_values"),
                     ("satisfaction", "column_without_values")]
    output = CliRunner().invoke(app, ["run", "-p", str(tmp_path / "p"), "--as-of", "2026-10-31", "--lang", "zh",
                                      "--workers", "1"]).output
    assert ("rules/ledger.yaml [receivables.paid_amount]：映射的列 paid_amount 在台账中没有任何值（工作表中没有这一列，"
            "或整列为空）：每张发票都按未收款计算（视为未结发票清单）：未结余额、逾期金额、账龄和 DSO 以此为准") in output


def test_a_late_as_of_is_said(tmp_path):
    # days with orders are about 117 days apart (median): a quiet spell up to 3 x 117 days is not stale
    quiet, _, _ = run(make_project(tmp_path / "quiet"), as_of="2027-06-30")
    assert "the last order is on" not in quiet
    output, _, manifest = run(make_project(tmp_path / "p"), as_of="2028-06-30")
    assert ("inputs [orders.order_date]: the last order is on 2026-11-05, 603 days before as_of 2028-06-30: "
            "recency, churn risk and the predictions count those days as days without purchases\n"
            "  hint: if the export ends on 2026-11-05, run with --as-of 2026-11-05") in output
    assert manifest["issues"]["by_code"]["as_of_after_data"] == 1
    _, _, on_time = run(make_project(tmp_path / "q"))
    assert "as_of_after_data" not in on_time["issues"]["by_code"]


# --- the BG/NBD fit without spread in dropout --------------------------------------------------

def buyers(p: float, seed: int, customers: int = 600) -> tuple[np.ndarray, ...]:
    """Customers buying at their own Poisson rates (Gamma-distributed), each dropping out after a
    purchase with the same probability ``p`` (0: nobody drops out), observed for 100 weeks."""
    rng = np.random.default_rng(seed)
    x, t_x, T = [], [], []
    for rate in rng.gamma(2.0, 0.3, customers):
        first = rng.uniform(0, 30)
        times = [first]
        while True:
            later = times[-1] + rng.exponential(1 / rate)
            if later > 100:
                break
            times.append(later)
            if rng.random() < p:
                break
        x.append(len(times) - 1)
        t_x.append(times[-1] - first)
        T.append(100 - first)
    return np.array(x, float), np.array(t_x), np.array(T)


@pytest.mark.parametrize("p, seed, used", [(0.0, 7, "nbd"), (0.05, 1, "bgnbd_common_p")])
def test_without_spread_in_dropout_the_limiting_model_is_used_and_named(p, seed, used):
    x, t_x, T = buyers(p, seed)
    bgnbd = predictive.fit_bgnbd.uncached(x, t_x, T)
    assert predictive._dropout_at_a_bound(bgnbd)  # the BG/NBD fit runs off to a bound
    limit = predictive.fit_common_p.uncached(x, t_x, T)
    assert (limit.status, limit.used) == ("limiting", used)
    assert limit.log_likelihood >= bgnbd.log_likelihood - predictive.LIKELIHOOD_SLACK
    assert limit.params.get("p", 0.0) == pytest.approx(p, abs=0.005)  # the truth is recovered
    assert limit.params["r"] / limit.params["alpha"] == pytest.approx(0.6, rel=0.15)  # mean rate 2 x 0.3
    if used == "nbd":
        assert predictive.p_alive_common(limit.params, x, t_x, T).tolist() == [1.0] * len(x)


def test_the_limit_formulas_are_bgnbd_with_a_and_b_large():
    common = {"r": 1.3, "alpha": 3.9, "p": 0.0064}
    huge = {"r": 1.3, "alpha": 3.9, "a": 0.0064 * 1e9, "b": (1 - 0.0064) * 1e9}
    x, t_x, T = np.array([0.0, 3, 20]), np.array([0.0, 30, 90]), np.array([50.0, 60, 100])
    np.testing.assert_allclose(predictive.p_alive_common(common, x, t_x, T), predictive.p_alive(huge, x, t_x, T),
                               rtol=1e-6)
    np.testing.assert_allclose(predictive.expected_purchases_common(common, 52, x, t_x, T),
                               predictive.expected_purchases(huge, 52, x, t_x, T), rtol=1e-6)
    nbd = {"r": 1.3, "alpha": 3.9}
    np.testing.assert_allclose(predictive.expected_purchases_common(nbd, 52, x, t_x, T), (1.3 + x) * 52 / (3.9 + T))
    assert predictive.p_alive_common(nbd, x, t_x, T).tolist() == [1.0, 1.0, 1.0]


def test_the_bundled_sample_as_of_today_fills_the_predictions_and_ranks_by_value():
    rulebook, ledger, result = evaluate(REPO, dt.date(2026, 12, 6))
    model = result.models["bgnbd"]
    assert model["status"] in ("fitted", "limiting") and model["model"] in ("bgnbd", "bgnbd_common_p", "nbd")
    frame = result.frame
    with_orders = frame.filter(pl.col("first_order_date").is_not_null())
    assert with_orders["clv_12m"].null_count() == 0 and with_orders["p_alive"].null_count() == 0
    kept = frame.filter(pl.col("key_account"))
    trimmed = frame.filter(pl.col("_rule.key_account").str.contains("quota"))
    assert kept.height == 20 and trimmed.height >= 1
    assert kept["clv_12m"].min() >= trimmed["clv_12m"].max()  # by value, not by id
    assert [i.code for i in ledger.issues if i.code == "as_of_after_data"] == ["as_of_after_data"]


def test_the_bundled_sample_churns_and_customers_come_back(bundled_run):
    """Point 3: small accounts stop buying or pause and return, so BG/NBD as of the sample's date
    fits a spread of dropout probabilities (not the limiting model)."""
    orders = pl.read_excel(REPO / "inputs" / "大客户台账.xlsx", sheet_name="销售明细", engine="calamine")
    dated = orders.select(pl.col("客户编号").alias("customer"), pl.col("下单日期").alias("day")) \
        .filter(pl.col("day").cast(pl.String).str.contains(r"^\d{4}-\d{2}-\d{2}")) \
        .with_columns(pl.col("day").cast(pl.String).str.slice(0, 10).str.to_date()).drop_nulls()
    months = dated.group_by("customer").agg(pl.col("day").dt.truncate("1mo").unique().sort().alias("months"),
                                            pl.len().alias("lines"))
    established = months.filter(pl.col("lines") >= 4)
    silent = established.filter(pl.col("months").list.last() < dt.date(2026, 3, 1))  # half a year without an order
    gaps = established.with_columns(pl.col("months").list.eval(pl.element().diff().dt.total_days()).list.max()
                                    .alias("gap")).filter(pl.col("gap") >= 120)
    came_back = gaps.filter(pl.col("months").list.last() >= dt.date(2026, 6, 1))
    assert silent.height >= 20 and came_back.height >= 10
    model = json.loads((bundled_run(None)[1] / "run.json").read_text(encoding="utf-8"))["predictive_models"]["bgnbd"]
    assert (model["status"], model["model"]) == ("fitted", "bgnbd")
    assert 0 < model["params"]["a"] / (model["params"]["a"] + model["params"]["b"]) < 0.05  # a mean dropout chance


@pytest.mark.slow  # the whole sample built again (about 2 s): CI's second step
def test_the_bundled_sample_is_made_the_same_byte_for_byte():
    import importlib.util
    import sys
    from random import Random

    spec = importlib.util.spec_from_file_location("make_sample", REPO / "scripts" / "make_sample.py")
    make_sample = importlib.util.module_from_spec(spec)
    sys.modules["make_sample"] = make_sample  # its dataclasses look themselves up there
    spec.loader.exec_module(make_sample)
    workbook, _ = make_sample.build_workbook(Random(make_sample.SEED))
    assert make_sample.workbook_bytes(workbook) == (REPO / "inputs" / "大客户台账.xlsx").read_bytes()


# --- quotas: a list of keys, missing values last, and said -------------------------------------

QUOTA_LEDGER = """\
kamrules: 1
datasets:
  customers:
    key: customer_id
    columns:
      customer_id: {aliases: [客户编号], required: true}
      score: {aliases: [评分], type: number}
      sales: {aliases: [销售], type: number}
"""


def test_a_quota_ranks_by_its_keys_in_turn_with_missing_values_last(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "ledger.yaml").write_text(QUOTA_LEDGER, encoding="utf-8")
    (tmp_path / "rules" / "policy.yaml").write_text(textwrap.dedent("""\
        kamrules: 1
        decisions:
          vip:
            outputs: {vip: bool}
            rules: [{id: V, when: "true", then: {vip: true}}]
            quota: {max: 3, rank_by: [score, sales]}
        """), encoding="utf-8")
    features = pl.DataFrame({"customer_id": ["C1", "C2", "C3", "C4", "C5"],
                             "score": [None, 5.0, 5.0, None, 1.0], "sales": [900.0, 10.0, 20.0, 50.0, None]})
    result = PolarsEngine(load_rulebook(tmp_path), AS_OF).evaluate(features)
    vip = dict(zip(result.frame["customer_id"], result.frame["vip"]))
    # score first (C3 beats C2 on sales), C5 has a score; C1 and C4 have none: after them, by sales
    assert vip == {"C3": True, "C2": True, "C5": True, "C1": False, "C4": False}
    assert result.quota_without_key == {"vip": {"first_key": 2, "every_key": 0, "keys": ["score", "sales"]}}


def test_the_bundled_quota_ranks_by_clv_then_revenue(tmp_path):
    rulebook = load_rulebook(REPO)
    assert rulebook.spec.decisions["key_account"].quota.keys == ["clv_12m", "revenue_12m"]
    project = make_project(tmp_path / "p")  # three customers: no model fit, so no clv for anyone
    output, _, manifest = run(project)
    assert manifest["counts"]["quota_ranked_without_key"] == {
        "key_account": {"first_key": 1, "every_key": 0, "keys": ["clv_12m", "revenue_12m"]}}
    assert ("decision key_account: 1 customers have no clv_12m and rank after those who do (then by revenue_12m)"
            in output)


# --- check follows the path ledger.yaml -> metrics ---------------------------------------------

def test_check_finds_what_the_metrics_read_and_the_ledger_does_not_map(tmp_path):
    for name in ("rules", "templates"):
        shutil.copytree(REPO / name, tmp_path / name)
    metrics = tmp_path / "rules" / "metrics.yaml"
    metrics.write_text(metrics.read_text(encoding="utf-8").replace("revenue_30d: {sum: orders.amount,",
                                                                   "revenue_30d: {sum: orders.amont,")
                       .replace('where: "amount >= 1万"', 'where: "amout >= 1万"'), encoding="utf-8")
    ledger = tmp_path / "rules" / "ledger.yaml"
    ledger.write_text(ledger.read_text(encoding="utf-8").replace("      order_date:", "      order_day:", 1),
                      encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "-p", str(tmp_path), "--lang", "en"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "error: rulebook has 7 errors:"  # order_date is also the date of 4 windowed aggregates
    assert sum("dataset 'orders' has no column 'order_date'" in line for line in lines) == 4
    assert any("[orders.order_date]: the built-in metrics need the column order_date of dataset orders, and "
               "ledger.yaml does not map it" in line for line in lines)
    assert any("[revenue_30d]: aggregate 'revenue_30d': dataset 'orders' has no column 'amont'" in line
               for line in lines)
    assert any("[big_orders_12m]: unknown name 'amout'" in line for line in lines)
