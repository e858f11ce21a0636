"""Predictive metrics (issue 11): BG/NBD and Gamma-Gamma fitted on the ledger's own orders.

The reproduction test builds a real workbook from the published CDNOW sample
(tests/data/CDNOW_sample.txt: customer id, index, YYYYMMDD, CDs, dollars), reads it
through the normal ledger stage with the bundled rules, and checks the fitted parameters
against Fader, Hardie & Lee (2005) to within 1%.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.errors import ModelFitError
from kamrules.metrics import predictive
from kamrules.pipeline import evaluate

from conftest import REPO, make_project, small_ledger

# one worker runs the module, so its module-scoped project is built once
pytestmark = pytest.mark.xdist_group("predictive")

CDNOW = REPO / "tests" / "data" / "CDNOW_sample.txt"  # a copy of ../shared/data/CDNOW_sample.txt
CALIBRATION_END = dt.date(1997, 9, 30)
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def cdnow_project(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copytree(REPO / "rules", root / "rules", ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "inputs").mkdir()
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("销售明细")
    ws.append(["订单编号", "客户编号", "客户名称", "下单日期", "数量", "金额"])
    for number, line in enumerate(CDNOW.read_text().splitlines(), start=1):
        customer, _, day, cds, dollars = line.split()
        ws.append([f"CD{number:05d}", customer, f"CDNOW顾客{customer}", dt.datetime.strptime(day, "%Y%m%d"),
                   int(cds), float(dollars)])
    wb.save(root / "inputs" / "CDNOW.xlsx")
    return root


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    project = cdnow_project(tmp_path_factory.mktemp("cdnow") / "project")
    return evaluate(project, CALIBRATION_END)


def test_cdnow_reproduces_the_published_parameters(cdnow):
    _, ledger, result = cdnow
    assert ledger.stats["orders"].rows_used == 6919
    bgnbd, gg = result.models["bgnbd"], result.models["gamma_gamma"]
    assert (bgnbd["customers"], bgnbd["extra"]["repeat_customers"], gg["customers"]) == (2357, 946, 946)
    for name, published in PUBLISHED_BGNBD.items():
        assert bgnbd["params"][name] == pytest.approx(published, rel=0.01), name
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert gg["params"][name] == pytest.approx(published, rel=0.01), name
    assert bgnbd["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)  # as reported in the paper
    assert bgnbd["converged"] and gg["converged"]


def test_cdnow_conditional_expectation_matches_the_paper(cdnow):
    # Fader, Hardie & Lee (2005), section 5: x = 2, t_x = 30.43, T = 38.86 -> 1.226 purchases in 39 weeks
    params = cdnow[2].models["bgnbd"]["params"]
    expected = predictive.expected_purchases(params, 39.0, np.array([2.0]), np.array([30.43]), np.array([38.86]))
    assert expected[0] == pytest.approx(1.226, abs=0.002)


def test_cdnow_metrics_per_customer(cdnow):
    frame = cdnow[2].frame.sort("customer_id")
    first = frame.filter(pl.col("customer_id") == "00004").row(0, named=True)  # x=2, t_x=30.43, T=38.86
    params = cdnow[2].models["bgnbd"]["params"]
    alive = predictive.p_alive(params, np.array([2.0]), np.array([30.428571]), np.array([38.857143]))[0]
    assert first["p_alive"] == pytest.approx(alive)
    assert 0 < first["p_alive"] < 1 and first["expected_purchases_12m"] > 0
    never_again = frame.filter(pl.col("customer_id") == "00018").row(0, named=True)
    assert never_again["p_alive"] == 1.0  # no repeat purchase: BG/NBD cannot have seen a dropout
    population = cdnow[2].models["gamma_gamma"]["extra"]["population_mean_value"]
    assert never_again["expected_avg_order_value"] == pytest.approx(population, abs=0.01)
    assert frame["clv_12m"].null_count() == 0 and (frame["clv_12m"] >= 0).all() and frame["clv_12m"].max() > 100
    assert frame["p_alive"].is_between(0, 1).all()


def test_discounting_lowers_clv_and_margin_scales_it(tmp_path):
    def clv(**settings):
        project = tmp_path / "p{}".format(len(list(tmp_path.iterdir())))
        for name in ("inputs", "rules", "templates"):
            shutil.copytree(REPO / name, project / name)
        text = (project / "rules" / "metrics.yaml").read_text(encoding="utf-8")
        line = "  predictive: {model: bgnbd, horizon: 12m, discount_rate: 0.08, margin: 1}"
        assert line in text
        options = ", ".join(f"{k}: {v}" for k, v in settings.items())
        text = text.replace(line, f"  predictive: {{model: bgnbd, horizon: 12m, {options}}}")
        (project / "rules" / "metrics.yaml").write_text(text, encoding="utf-8")
        return evaluate(project, dt.date(2026, 10, 31))[2].frame.sort("customer_id")["clv_12m"].to_numpy()

    plain, discounted, margin = clv(discount_rate=0), clv(discount_rate=0.2), clv(discount_rate=0, margin=0.25)
    bought = ~np.isnan(plain)  # customers without any order have no purchase history to forecast from
    assert bought.sum() == 324 and np.array_equal(np.isnan(discounted), ~bought)
    plain, discounted, margin = plain[bought], discounted[bought], margin[bought]
    assert np.all(discounted <= plain)
    worth_a_yuan = plain >= 1  # churned customers' forecasts round to cents: equal when next to nothing
    assert worth_a_yuan.sum() > 250 and np.all(discounted[worth_a_yuan] < plain[worth_a_yuan])
    assert margin == pytest.approx(np.round(plain / 4, 2), abs=0.011)


def test_too_few_repeat_customers_leaves_the_metrics_empty_and_says_why(tmp_path):
    project = make_project(tmp_path / "p", small_ledger())
    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert ("rules/metrics.yaml: predictive metrics left empty: only 1 of 2 customers bought again after their "
            "first purchase; the purchase model needs at least 20\n  hint: add more order history (a year or "
            "more), or lower predictive.min_repeat_customers") in result.output
    run_dir = Path(result.output.strip().splitlines()[-1].split("outputs: ")[-1])
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    reason = "only 1 of 2 customers bought again after their first purchase; the purchase model needs at least 20"
    assert manifest["predictive_models"] == {
        "bgnbd": {"status": "not_fitted", "model": None, "reason": reason},
        "gamma_gamma": {"status": "not_fitted", "model": None, "reason": reason}}
    assert manifest["issues"]["by_code"]["model_not_fitted"] == 1
    frame = pl.read_parquet(run_dir / "decisions.parquet")
    assert frame["p_alive"].null_count() == frame.height == 3


def test_too_few_repeat_customers_stops_the_run_when_asked(tmp_path):
    project = make_project(tmp_path / "p", small_ledger())
    path = project / "rules" / "metrics.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("margin: 1}", "margin: 1, if_unfit: error}"),
                    encoding="utf-8")
    with pytest.raises(ModelFitError) as caught:
        evaluate(project, dt.date(2026, 10, 31))
    error = caught.value
    assert (error.model, error.customers, error.repeat_customers) == ("bgnbd", 2, 1)
    assert str(error) == ("rules/metrics.yaml [predictive: bgnbd]: only 1 of 2 customers bought again after their "
                          "first purchase; the purchase model needs at least 20\n  hint: add more order history "
                          "(a year or more), or lower predictive.min_repeat_customers")
    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "-q", "--lang", "en"])
    assert result.exit_code == 1
    assert "error: rules/metrics.yaml [predictive: bgnbd]: only 1 of 2 customers" in result.output
    assert not [p for p in (project / "outputs").iterdir() if not p.name.startswith(".")]


@pytest.mark.parametrize("setting, message", [
    ("horizon: ytd", "horizon must be Nm (months) or Nd (days)"),
    ("discount_rate: 1.5", "less than 1"),
    ("horizon: 12m, discount_rate: 0.08, time_unit: month", "'week' or 'day'"),
])
def test_bad_predictive_settings_are_rulebook_errors(tmp_path, setting, message):
    project = make_project(tmp_path / "p")
    path = project / "rules" / "metrics.yaml"
    text = path.read_text(encoding="utf-8").replace("horizon: 12m, discount_rate: 0.08", setting)
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "-p", str(project), "--lang", "en"])
    assert result.exit_code == 1
    assert message in result.output and "metrics.yaml" in result.output


def test_bundled_run_records_the_models(bundled_run):
    run_dir = bundled_run(None)[1]
    models = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["predictive_models"]
    assert set(models) == {"bgnbd", "gamma_gamma"}
    assert set(models["bgnbd"]["params"]) == {"r", "alpha", "a", "b"}
    wb = openpyxl.load_workbook(run_dir / "portfolio.xlsx")
    labels = {row[0].value: row[1].value for row in wb["概览"].iter_rows(max_col=2) if row[0].value}
    assert labels["预测模型"].startswith("购买预测（BG/NBD）已拟合：324 位客户，已收敛")  # one sentence on the overview
    models = {(r[0], r[1]): r[2] for r in wb["模型"].iter_rows(min_row=2, values_only=True)}  # the numbers: own sheet
    assert set(models) >= {("购买预测（BG/NBD）", name) for name in ("r", "alpha", "a", "b")}
    assert models[("购买预测（BG/NBD）", "r")] == pytest.approx(json.loads(
        (run_dir / "run.json").read_text(encoding="utf-8"))["predictive_models"]["bgnbd"]["params"]["r"], rel=1e-3)
    assert models[("消费金额（Gamma-Gamma）", "是否收敛")] == "已收敛"
    customers = openpyxl.load_workbook(run_dir / "portfolio.xlsx", read_only=True)["客户"]
    header = [c.value for c in next(customers.iter_rows(max_row=1))]
    assert {"仍活跃概率", "未来12个月客户价值（折现）", "预计未来12个月购买次数", "预计平均单次消费"} <= set(header)


def test_bundled_key_accounts_are_the_highest_clv_of_the_eligible(tmp_path):
    project = tmp_path / "bundled"
    for name in ("inputs", "rules", "templates"):
        shutil.copytree(REPO / name, project / name)
    _, _, result = evaluate(project, dt.date(2026, 10, 31))
    assert result.quota_trimmed == {"key_account": 3}
    frame = result.frame
    kept = frame.filter(pl.col("key_account"))
    trimmed = frame.filter(pl.col("_rule.key_account").str.contains("quota"))
    assert (kept.height, trimmed.height) == (20, 3)
    assert kept["clv_12m"].min() >= trimmed["clv_12m"].max()


def test_a_misspelt_margin_metric_is_named_with_a_suggestion(tmp_path):
    project = tmp_path / "bundled"
    for name in ("inputs", "rules", "templates"):
        shutil.copytree(REPO / name, project / name)
    path = project / "rules" / "metrics.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("margin: 1}", "margin: margin_pct_12}"), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "-q", "--lang", "en"])
    assert result.exit_code == 1
    assert result.output == ("error: rules/metrics.yaml [predictive.margin]: predictive.margin names 'margin_pct_12', "
                             "which is not a metric\n  hint: did you mean 'margin_pct_12m'?\n")


def test_the_same_data_is_fitted_once_and_each_caller_gets_its_own_report(monkeypatch):
    calls = []
    original = predictive.fit_gamma_gamma.uncached

    def counting(x, m):
        calls.append(len(x))
        return original(x, m)

    monkeypatch.setattr(predictive.fit_gamma_gamma, "uncached", counting)
    monkeypatch.setattr(predictive, "fit_gamma_gamma", predictive.remembered(counting))
    predictive.forget_fits()
    x, m = np.array([1.0, 2.0, 3.0, 1.0, 4.0]), np.array([10.0, 12.5, 9.0, 30.0, 11.0])
    first = predictive.fit_gamma_gamma(x, m)
    first.params["p"] = -1.0  # a caller changing its report does not change the next caller's
    second = predictive.fit_gamma_gamma(x.copy(), m.copy())
    assert calls == [5] and second.params["p"] > 0
    predictive.fit_gamma_gamma(x, m * 2)  # other data: fitted again
    predictive.forget_fits()
    predictive.fit_gamma_gamma(x, m)  # forgotten: fitted again
    assert calls == [5, 5, 5]


def test_the_purchase_summary_adds_a_days_lines_exactly_whatever_their_order():
    """A day's lines are summed in whole fen: 0.10 + 0.20 + 0.30 is 0.60 in every order (as
    floats, (0.1 + 0.2) + 0.3 is 0.6000000000000001), so the fits see the same numbers in every
    run however the streaming engine splits the lines."""
    from kamrules.metrics.predictive import purchase_summary

    lines = [("C1", dt.date(2026, 1, 5), 10.0)] + [("C1", dt.date(2026, 2, 9), a) for a in (0.1, 0.2, 0.3)] \
        + [("C2", dt.date(2026, 3, 1), 5.0), ("C2", dt.date(2026, 1, 1), 7.25), ("C2", dt.date(2026, 2, 1), -3.0)]
    orders = pl.DataFrame(lines, schema={"customer_id": pl.String, "order_date": pl.Date, "amount": pl.Float64},
                          orient="row")
    for order in (orders, orders.reverse(), orders.sample(fraction=1.0, shuffle=True, seed=3)):
        summary = purchase_summary(order, dt.date(2026, 10, 31))
        assert summary.select("customer_id", "x", "m", "first_order").rows() == [
            ("C1", 1, 0.6, dt.date(2026, 1, 5)), ("C2", 1, 5.0, dt.date(2026, 1, 1))]
