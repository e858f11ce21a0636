"""Metrics stage: windows, receivables as of a date, Pareto/ABC, RFM, aggregates, derived metrics."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import polars as pl
import pytest

from pydantic import ValidationError

from kamrules.errors import LedgerError, RulebookInvalid
from kamrules.metrics import aggregate_catalog, aggregate_types, compute_features
from kamrules.metrics.catalog import CATALOG, MetricInfo, add_months
from kamrules.metrics.config import AbcSpec, MetricsSpec
from kamrules.metrics.rfm import SEGMENT_TITLES, quintile_scores, segment, segment_of
from kamrules.rules.rulebook_compiler import load_rulebook

AS_OF = dt.date(2026, 10, 31)
D = dt.date


def customers(*ids: str) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": list(ids), "name": [f"客户{i}" for i in ids]})


def orders(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"customer_id": pl.String, "order_date": pl.Date, "amount": pl.Float64},
                        orient="row")


@pytest.mark.parametrize("day, months, expected", [
    (D(2026, 10, 31), -12, D(2025, 10, 31)), (D(2026, 3, 31), -1, D(2026, 2, 28)),
    (D(2024, 2, 29), 12, D(2025, 2, 28)), (D(2026, 1, 15), -13, D(2024, 12, 15)), (D(2026, 12, 31), 1, D(2027, 1, 31)),
])
def test_add_months_clamps_to_month_end(day, months, expected):
    assert add_months(day, months) == expected


def test_window_edges_are_exclusive_at_the_start_and_inclusive_at_as_of():
    frame = compute_features({
        "customers": customers("C1"),
        "orders": orders([("C1", D(2025, 10, 31), 1.0), ("C1", D(2025, 11, 1), 10.0), ("C1", AS_OF, 100.0),
                          ("C1", D(2026, 11, 1), 1000.0), ("C1", D(2024, 10, 31), 5.0), ("C1", D(2024, 11, 1), 50.0)]),
    }, AS_OF, MetricsSpec())
    row = frame.row(0, named=True)
    assert (row["revenue_12m"], row["revenue_prev_12m"], row["revenue_total"]) == (110.0, 51.0, 166.0)
    assert row["orders_12m"] == 2  # no order_id column: each line is an order
    assert row["last_order_date"] == AS_OF and row["recency_days"] == 0
    assert row["gross_margin_12m"] is None and row["margin_pct_12m"] is None  # no cost column


def test_averages_of_money_round_exactly_half_a_fen_away_from_zero_and_do_not_depend_on_line_order():
    # 0.06 / 12 is exactly half a fen (0.005: 0.01), but 0.06 / 12 in floats is 0.00499…; 10.05 over two
    # orders is 5.025 (5.03); 1,234.62 / 12 is 102.885 (102.89). Lines of cents that floats add inexactly.
    lines = [("C1", D(2026, 10, 1), 0.06), ("C2", D(2026, 9, 1), 10.0), ("C2", D(2026, 9, 2), 0.05),
             ("C3", D(2026, 8, 1), 1_000.0), ("C3", D(2026, 8, 2), 234.62)]
    lines += [("C4", D(2026, 10, day), 0.1) for day in range(1, 31)] + [("C4", D(2026, 10, 31), 0.2)]
    rows = None
    for order in (lines, lines[::-1], lines[1::2] + lines[::2]):
        frame = compute_features({"customers": customers("C1", "C2", "C3", "C4"), "orders": orders(order)}, AS_OF,
                                 MetricsSpec()).sort("customer_id")
        got = frame.select("customer_id", "revenue_12m", "avg_monthly_revenue_12m", "avg_order_value_12m").rows()
        assert rows is None or got == rows  # the same to the last bit whatever the order of the lines
        rows = got
    assert rows == [("C1", 0.06, 0.01, 0.06), ("C2", 10.05, 0.84, 5.03), ("C3", 1_234.62, 102.89, 617.31),
                    ("C4", 3.2, 0.27, 0.1)]


def test_customers_without_orders_or_other_datasets_still_appear():
    frame = compute_features({"customers": customers("C1", "C2"), "orders": orders([("C1", AS_OF, 10.0)])},
                             AS_OF, MetricsSpec())
    c2 = frame.filter(pl.col("customer_id") == "C2").row(0, named=True)
    assert (c2["revenue_12m"], c2["orders_12m"], c2["outstanding"], c2["complaints_12m"]) == (0.0, 0, 0.0, 0)
    assert c2["last_order_date"] is None and c2["last_visit_date"] is None and c2["avg_order_value_12m"] is None


def test_abc_cutoffs_are_configurable_and_the_top_customer_is_always_a():
    rows = [("C1", AS_OF, 70.0), ("C2", AS_OF, 20.0), ("C3", AS_OF, 6.0), ("C4", AS_OF, 4.0)]
    data = {"customers": customers("C1", "C2", "C3", "C4", "C5"), "orders": orders(rows)}
    default = compute_features(data, AS_OF, MetricsSpec())
    # C2 is A: only 70% of revenue comes before it, so the A group covers at least 80%
    assert default["abc_class"].to_list() == ["A", "A", "B", "C", "C"]
    assert default["revenue_rank"].to_list() == [1, 2, 3, 4, 5]
    assert default["cumulative_share"].to_list() == pytest.approx([0.7, 0.9, 0.96, 1.0, 1.0])
    narrow = compute_features(data, AS_OF, MetricsSpec(abc=AbcSpec(a=0.6, b=0.85)))
    assert narrow["abc_class"].to_list() == ["A", "B", "C", "C", "C"]
    tiny = compute_features(data, AS_OF, MetricsSpec(abc=AbcSpec(a=0.01, b=0.02)))
    assert tiny["abc_class"].to_list() == ["A", "C", "C", "C", "C"]


def _exact_classes(revenues: list[float], a: Fraction, b: Fraction) -> list[str]:
    """ABC by hand in rational numbers: A while the revenue ranked before is below a of the total."""
    total = sum(Fraction(str(r)) for r in revenues)
    order = sorted(range(len(revenues)), key=lambda i: (-revenues[i], f"C{i:03d}"))
    classes, before = [""] * len(revenues), Fraction(0)
    for i in order:
        share = before / total
        classes[i] = "A" if revenues[i] > 0 and share < a else "B" if revenues[i] > 0 and share < b else "C"
        before += Fraction(str(revenues[i]))
    return classes


def test_abc_classes_are_exact_at_the_cutoffs_and_do_not_depend_on_chunks():
    """Revenues in fen whose running share lands on 80% or 95% exactly, or a float's hair from it
    (0.15 + 0.6, …): the classes are those of exact arithmetic; split into chunks or shuffled, the
    frame gives the same shares to the last bit (float sums used to differ with the chunks)."""
    import random

    from kamrules.metrics.catalog import pareto

    rng, spec = random.Random(23), AbcSpec()
    amounts = [0.1, 0.2, 0.3, 0.7, 0.6, 0.05, 0.15, 1.1, 2.2, 3.3, 0.4, 8.0, 2.0, 16.0, 4.0, 4.2, 2.1, 24.0]
    for _ in range(800):
        revenues = [round(rng.choice(amounts) * rng.choice([1, 1, 3, 7]), 2) for _ in range(rng.randint(2, 7))]
        frame = pl.DataFrame({"customer_id": [f"C{i:03d}" for i in range(len(revenues))], "revenue_12m": revenues},
                             schema={"customer_id": pl.String, "revenue_12m": pl.Float64})
        ranked = pareto(frame, spec)
        assert ranked["abc_class"].to_list() == _exact_classes(revenues, Fraction(4, 5), Fraction(19, 20)), revenues
    big = pl.DataFrame({"customer_id": [f"C{i:05d}" for i in range(20_000)],
                        "revenue_12m": [round(rng.uniform(0, 5000), 2) for _ in range(20_000)],
                        "margin_pct_12m": [rng.uniform(-0.2, 0.6) for _ in range(20_000)]})
    chunked = pl.concat([big.slice(i, 700) for i in range(0, big.height, 700)], rechunk=False)
    assert chunked.n_chunks() > 1
    for by in ("revenue_12m", "margin_pct_12m"):  # money, in fen; a figure summed with math.fsum
        ranking = AbcSpec(by=by)
        whole = pareto(big, ranking)
        for other in (pareto(chunked, ranking), pareto(big.sample(fraction=1.0, shuffle=True, seed=5), ranking)):
            assert other.select("revenue_share", "cumulative_share", "abc_class").equals(
                whole.select("revenue_share", "cumulative_share", "abc_class")), by


def test_ties_in_revenue_rank_by_customer_id():
    data = {"customers": customers("C2", "C1"), "orders": orders([("C1", AS_OF, 5.0), ("C2", AS_OF, 5.0)])}
    frame = compute_features(data, AS_OF, MetricsSpec())
    assert frame.select("customer_id", "revenue_rank").rows() == [("C1", 1), ("C2", 2)]


def test_abc_cutoffs_must_be_ordered():
    with pytest.raises(ValueError, match="must be greater than a"):
        AbcSpec(a=0.9, b=0.8)


def test_missing_catalog_column_names_the_mapping():
    data = {"customers": customers("C1"), "orders": pl.DataFrame({"customer_id": ["C1"], "amount": [1.0]})}
    with pytest.raises(LedgerError) as info:
        compute_features(data, AS_OF, MetricsSpec())
    assert info.value.message == "dataset 'orders' has no column 'order_date', which the metrics need"
    assert info.value.suggestion == "map it under datasets.orders.columns in rules/ledger.yaml"


def test_derived_metrics_are_typed_and_see_earlier_ones():
    data = {"customers": customers("C1"), "orders": orders([("C1", AS_OF, 1234.567)])}
    derived = [("double", lambda resolve: resolve("revenue_12m") * 2, "money"),
               ("as_text", lambda resolve: resolve("double").cast(pl.String), "text")]
    row = compute_features(data, AS_OF, MetricsSpec(), derived).row(0, named=True)
    assert row["revenue_12m"] == 1234.57  # money metrics are rounded to the fen
    assert row["double"] == 2469.14 and row["as_text"] == "2469.14"


# --- declarative aggregates ---------------------------------------------------------------

def sales(rows: list[tuple]) -> pl.DataFrame:
    """Order lines: (customer_id, order_date, amount, product, order_id, status)."""
    return pl.DataFrame(rows, orient="row", schema={
        "customer_id": pl.String, "order_date": pl.Date, "amount": pl.Float64, "product": pl.String,
        "order_id": pl.String, "status": pl.String})


def invoices(rows: list[tuple]) -> pl.DataFrame:
    """Invoices: (customer_id, invoice_date, due_date, amount, paid_amount, paid_date)."""
    return pl.DataFrame(rows, orient="row", schema={
        "customer_id": pl.String, "invoice_date": pl.Date, "due_date": pl.Date, "amount": pl.Float64,
        "paid_amount": pl.Float64, "paid_date": pl.Date})


def with_aggregates(**aggregates) -> MetricsSpec:
    return MetricsSpec.model_validate({"aggregates": aggregates})


def by_customer(frame: pl.DataFrame, *columns: str) -> dict[str, tuple]:
    return {row[0]: row[1:] for row in frame.select("customer_id", *columns).rows()}


def ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def test_each_aggregate_kind_with_zero_or_null_for_customers_without_rows():
    data = {"customers": customers("C1", "C2", "C3"), "orders": sales([
        ("C1", AS_OF, 100.0, "钢材", "SO1", None),
        ("C1", D(2026, 6, 1), 300.0, "五金", "SO2", None),
        ("C1", D(2026, 6, 1), 200.0, "钢材", "SO2", None),
        ("C1", D(2026, 11, 1), 5000.0, "电缆", "SO9", None),  # after as_of: never counts
        ("C2", D(2025, 1, 1), 50.0, None, None, None),
    ])}
    spec = with_aggregates(
        total={"sum": "orders.amount"}, lines={"count": "orders.order_id"}, average={"mean": "orders.amount"},
        smallest={"min": "orders.amount"}, largest={"max": "orders.amount"}, products={"distinct": "orders.product"},
        first={"min": "orders.order_date"}, last={"max": "orders.order_date"})
    frame = compute_features(data, AS_OF, spec)
    names = ("total", "lines", "average", "smallest", "largest", "products", "first", "last")
    assert by_customer(frame, *names) == {
        "C1": (600.0, 3, 200.0, 100.0, 300.0, 2, D(2026, 6, 1), AS_OF),
        "C2": (50.0, 0, 50.0, 50.0, 50.0, 0, D(2025, 1, 1), D(2025, 1, 1)),  # count/distinct skip empty cells
        "C3": (0.0, 0, None, None, None, 0, None, None),
    }
    assert [frame.schema[n] for n in names] == [pl.Float64, pl.Int64, pl.Float64, pl.Float64, pl.Float64,
                                                pl.Int64, pl.Date, pl.Date]
    assert frame.columns[-len(names):] == list(names)


@pytest.mark.parametrize("window, as_of, inside, outside", [
    ("1d", AS_OF, AS_OF, D(2026, 10, 30)),
    ("30d", AS_OF, D(2026, 10, 2), D(2026, 10, 1)),
    ("12m", AS_OF, D(2025, 11, 1), D(2025, 10, 31)),
    ("1m", D(2026, 3, 31), D(2026, 3, 1), D(2026, 2, 28)),  # calendar month, clamped to Feb 28
    ("ytd", AS_OF, D(2026, 1, 1), D(2025, 12, 31)),
    ("ytd", D(2026, 1, 1), D(2026, 1, 1), D(2025, 12, 31)),  # as_of on Jan 1: that day only
    ("all", AS_OF, D(2000, 1, 1), None),
])
def test_window_first_day_inside_and_outside_and_nothing_after_as_of(window, as_of, inside, outside):
    rows = [("C1", inside, 1.0, None, None, None), ("C1", as_of + dt.timedelta(days=1), 100.0, None, None, None)]
    if outside is not None:
        rows.append(("C1", outside, 10.0, None, None, None))
    data = {"customers": customers("C1"), "orders": sales(rows)}
    frame = compute_features(data, as_of, with_aggregates(x={"sum": "orders.amount", "window": window}))
    assert frame["x"].to_list() == [1.0]


def test_receivables_window_uses_invoice_date_unless_date_is_given():
    data = {"customers": customers("C1"), "receivables": invoices([
        ("C1", D(2026, 10, 2), D(2026, 12, 1), 10.0, None, None),   # issued in the window, due after as_of
        ("C1", D(2026, 8, 1), D(2026, 9, 1), 20.0, None, None),     # issued and due before the window
        ("C1", None, D(2026, 10, 15), 40.0, None, None),             # no invoice date: issued
        ("C1", D(2026, 11, 2), D(2026, 10, 20), 80.0, None, None),   # issued after as_of: never counts
    ])}
    spec = with_aggregates(
        issued_30d={"sum": "receivables.amount", "window": "30d"},
        due_30d={"sum": "receivables.amount", "window": "30d", "date": "due_date"},
        issued_ever={"sum": "receivables.amount"})
    row = compute_features(data, AS_OF, spec).row(0, named=True)
    assert (row["issued_30d"], row["due_30d"], row["issued_ever"]) == (10.0, 40.0, 70.0)


def test_window_all_with_date_drops_rows_dated_after_as_of():
    data = {"customers": customers("C1"), "receivables": invoices([
        ("C1", D(2026, 1, 1), D(2026, 2, 1), 10.0, 10.0, D(2026, 3, 1)),
        ("C1", D(2026, 9, 1), D(2026, 10, 1), 10.0, 10.0, D(2026, 11, 2)),  # paid after as_of
        ("C1", D(2026, 9, 1), D(2026, 10, 1), 10.0, None, None),
    ])}
    spec = with_aggregates(last_paid={"max": "receivables.paid_date", "date": "paid_date", "type": "date"},
                           payments={"count": "receivables.paid_date", "date": "paid_date"})
    assert by_customer(compute_features(data, AS_OF, spec), "last_paid", "payments") == {"C1": (D(2026, 3, 1), 1)}


def test_where_filters_rows_and_a_missing_value_is_no_match():
    data = {"customers": customers("C1"), "orders": sales([
        ("C1", AS_OF, 100.0, None, "SO1", "正常"), ("C1", AS_OF, 200.0, None, "SO2", "已取消"),
        ("C1", AS_OF, -50.0, None, "SO3", "正常"), ("C1", AS_OF, 30.0, None, "SO4", None),
        ("C1", D(2026, 10, 20), 20_000.0, None, "SO5", "正常"),
    ])}
    spec = with_aggregates(
        valid={"sum": "orders.amount", "where": "status != '已取消' and amount > 0"},
        big={"count": "orders.order_id", "where": "amount >= 1万"},
        last_week={"sum": "orders.amount", "where": "days_between(order_date, as_of) < 7"})
    row = compute_features(data, AS_OF, spec).row(0, named=True)
    assert (row["valid"], row["big"], row["last_week"]) == (20_100.0, 1, 280.0)


def test_aggregate_types_are_known_without_data():
    spec = with_aggregates(
        revenue_30d={"sum": "orders.amount", "window": "30d", "type": "money", "title": "近30天销售额"},
        big_orders_12m={"count": "orders.order_id", "where": "amount >= 10000", "window": "12m"},
        products_12m={"distinct": "orders.product", "window": "12m"},
        avg_invoice={"mean": "receivables.amount", "window": "all"},
        first_complaint={"min": "complaints.date", "window": "all", "type": "date"},
        first_order={"min": "orders.order_date"},
        last_contract={"max": "contracts.signed", "date": "signed", "window": "12m"})
    assert aggregate_types(spec) == {
        "revenue_30d": "money", "big_orders_12m": "integer", "products_12m": "integer", "avg_invoice": "number",
        "first_complaint": "date", "first_order": "date", "last_contract": "date"}
    assert aggregate_catalog(spec)["revenue_30d"] == MetricInfo("money", "近30天销售额")
    assert aggregate_catalog(spec)["avg_invoice"] == MetricInfo("number", "avg_invoice")


def test_derived_metrics_see_aggregates():
    data = {"customers": customers("C1"), "orders": sales([("C1", AS_OF, 30.0, None, None, None)])}
    derived = [("share_30d", lambda resolve: resolve("revenue_30d") / resolve("revenue_12m"), "percent")]
    spec = with_aggregates(revenue_30d={"sum": "orders.amount", "window": "30d", "type": "money"})
    assert compute_features(data, AS_OF, spec, derived)["share_30d"].to_list() == [1.0]


def test_absent_optional_dataset_gives_zero_or_null():
    spec = with_aggregates(n={"count": "complaints.date", "window": "12m"}, first={"min": "visits.date"})
    frame = compute_features({"customers": customers("C1")}, AS_OF, spec)
    assert by_customer(frame, "n", "first") == {"C1": (0, None)}
    assert (frame.schema["n"], frame.schema["first"]) == (pl.Int64, pl.Date)


def aggregate_error(spec: dict, data: dict | None = None) -> LedgerError:
    data = data or {"customers": customers("C1"), "orders": sales([("C1", AS_OF, 1.0, "钢材", "SO1", None)]),
                    "receivables": invoices([("C1", AS_OF, AS_OF, 1.0, None, None)])}
    with pytest.raises(LedgerError) as info:
        compute_features(data, AS_OF, with_aggregates(x=spec))
    assert info.value.file == "rules/metrics.yaml"
    return info.value


@pytest.mark.parametrize("spec, message, suggestion", [
    ({"sum": "order.amount"}, "aggregate 'x': there is no dataset 'order'", "did you mean 'orders'?"),
    ({"sum": "orders.amout"}, "aggregate 'x': dataset 'orders' has no column 'amout'", "did you mean 'amount'?"),
    ({"sum": "orders.amount", "where": "statu == '正常'"},
     "aggregate 'x': where: dataset 'orders' has no column 'statu'", "did you mean 'status'?"),
    ({"sum": "orders.amount", "where": "status > 1"},
     "aggregate 'x': where: status is text but is compared with a number (1)", None),
    ({"sum": "orders.amount", "window": "12m", "date": "shipped"},
     "aggregate 'x': dataset 'orders' has no column 'shipped' (the date column of its window)", None),
    ({"sum": "orders.product"}, "aggregate 'x': orders.product is not a number column, so it has no sum",
     "aggregate a number column, or use count or distinct"),
    ({"max": "receivables.paid_date"},
     "aggregate 'x': receivables.paid_date holds dates but the aggregate's type is number",
     "add type: date to the aggregate 'x'"),
    ({"max": "orders.amount", "type": "date"},
     "aggregate 'x': orders.amount does not hold dates but the aggregate's type is date",
     "remove type: date from the aggregate 'x'"),
])
def test_unknown_names_and_wrong_columns_are_ledger_errors(spec, message, suggestion):
    error = aggregate_error(spec)
    assert error.message == message
    if suggestion is not None:
        assert error.suggestion == suggestion


@pytest.mark.parametrize("name", ["revenue_12m", "name"])
def test_aggregate_may_not_shadow_a_metric_or_customer_column(name):
    with pytest.raises(LedgerError) as info:
        compute_features({"customers": customers("C1")}, AS_OF, with_aggregates(**{name: {"sum": "orders.amount"}}))
    assert info.value.message == f"aggregate {name!r} has the name of a built-in metric or customer column"


def validation_errors(aggregate) -> list[tuple]:
    with pytest.raises(ValidationError) as info:
        with_aggregates(x=aggregate)
    return [(err["loc"], err["msg"].removeprefix("Value error, ")) for err in info.value.errors()]


@pytest.mark.parametrize("aggregate, loc, message", [
    ({"sum": "orders.amount", "count": "orders.order_id"}, ("aggregates", "x"),
     "an aggregate takes only one of sum, count, mean, min, max, distinct; got sum and count"),
    ({"window": "12m"}, ("aggregates", "x"),
     "an aggregate needs one of sum, count, mean, min, max, distinct (like sum: orders.amount)"),
    ({"sum": "orders.amount", "window": "30 days"}, ("aggregates", "x", "window"),
     "window must be Nd (days), Nm (calendar months), ytd or all, like 30d or 12m; got '30 days'"),
    ({"sum": "orders.amount", "window": "0d"}, ("aggregates", "x", "window"),
     "window must be Nd (days), Nm (calendar months), ytd or all, like 30d or 12m; got '0d'"),
    ({"sum": "orders.amount", "window": 30}, ("aggregates", "x", "window"),
     "window must be Nd (days), Nm (calendar months), ytd or all, like 30d or 12m; got 30"),
    ({"sum": "amount"}, ("aggregates", "x", "sum"), "expected dataset.column, like orders.amount; got 'amount'"),
    ({"count": "orders.order_id.x"}, ("aggregates", "x", "count"),
     "expected dataset.column, like orders.amount; got 'orders.order_id.x'"),
    ({"sum": "contracts.value", "window": "12m"}, ("aggregates", "x"),
     "window 12m needs date: naming the date column of dataset 'contracts' "
     "(only orders, receivables, complaints, visits have a default)"),
    ({"sum": "orders.amount", "type": "date"}, ("aggregates", "x"),
     "type date does not fit sum; use one of integer, number, money, percent"),
    ({"sum": "orders.amount", "where": "amount > "}, ("aggregates", "x", "where"),
     "syntax error: invalid syntax (in 'amount > ' at 9)"),
    ({"sum": "orders.amount", "where": "sun(amount) > 1"}, ("aggregates", "x", "where"),
     "unknown function 'sun' (in 'sun(amount) > 1' at 0)"),
])
def test_aggregate_validation_errors(aggregate, loc, message):
    assert validation_errors(aggregate) == [(loc, message)]


def test_window_on_another_dataset_is_fine_with_date():
    spec = with_aggregates(x={"sum": "contracts.value", "window": "12m", "date": "signed"})
    assert spec.aggregates["x"].date_column == "signed"


def test_aggregate_errors_point_at_the_yaml_line(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ledger.yaml").write_text(
        "kamrules: 1\ndatasets:\n  customers:\n    columns:\n      customer_id: {aliases: [客户编号]}\n",
        encoding="utf-8")
    (rules / "metrics.yaml").write_text(
        "kamrules: 1\nmetrics:\n  aggregates:\n    ok: {sum: orders.amount}\n"
        "    bad:\n      sum: orders.amount\n      window: 2w\n", encoding="utf-8")
    with pytest.raises(RulebookInvalid) as info:
        load_rulebook(tmp_path)
    [error] = info.value.errors
    assert (error.file, error.line) == ("rules/metrics.yaml", 7)
    assert error.message == ("metrics.aggregates.bad.window: window must be Nd (days), Nm (calendar months), "
                             "ytd or all, like 30d or 12m; got '2w'")


# --- receivables: ageing, DSO, on-time payment --------------------------------------------

def test_ageing_buckets_by_days_past_due_add_up_to_outstanding():
    rows = [("C1", D(2026, 1, 1), ago(days), amount, None, None)
            for days, amount in ((-5, 1.0), (0, 2.0), (1, 4.0), (30, 8.0), (31, 16.0), (60, 32.0), (61, 64.0),
                                 (90, 128.0), (91, 256.0))]
    rows += [("C1", D(2026, 1, 1), ago(45), 1000.0, 600.0, D(2026, 10, 1)),   # partly paid: 400 open
             ("C1", D(2026, 1, 1), ago(10), 2000.0, 2000.0, D(2026, 11, 2)),  # paid after as_of: open
             ("C1", D(2026, 11, 1), ago(100), 9999.0, None, None)]            # issued after as_of
    data = {"customers": customers("C1", "C2"), "receivables": invoices(rows)}
    frame = compute_features(data, AS_OF, MetricsSpec())
    buckets = ("ar_current", "ar_1_30", "ar_31_60", "ar_61_90", "ar_over_90")
    assert by_customer(frame, *buckets, "outstanding") == {
        "C1": (3.0, 2012.0, 448.0, 192.0, 256.0, 2911.0), "C2": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)}
    row = frame.row(0, named=True)
    assert sum(row[b] for b in buckets) == row["outstanding"]
    assert row["overdue_amount"] == row["outstanding"] - row["ar_current"]


def test_dso_is_outstanding_over_a_years_revenue_in_days():
    data = {"customers": customers("C1", "C2", "C3"),
            "orders": orders([("C1", AS_OF, 3000.0), ("C2", AS_OF, 36_500.0)]),
            "receivables": invoices([("C1", AS_OF, AS_OF, 100.0, None, None),
                                     ("C2", AS_OF, AS_OF, 1000.0, None, None),
                                     ("C3", AS_OF, AS_OF, 50.0, None, None)])}
    frame = compute_features(data, AS_OF, MetricsSpec())
    assert by_customer(frame, "dso_days") == {"C1": (12.2,), "C2": (10.0,), "C3": (None,)}  # 12.17 → 12.2


def test_on_time_rate_counts_invoices_due_in_the_last_12_months():
    data = {"customers": customers("C1", "C2", "C3"), "receivables": invoices([
        ("C1", D(2026, 9, 1), D(2026, 9, 30), 100.0, 100.0, D(2026, 9, 30)),    # paid on the due date
        ("C1", D(2026, 8, 1), D(2026, 8, 31), 100.0, 99.996, D(2026, 8, 1)),    # in full within half a fen
        ("C1", D(2026, 7, 1), D(2026, 7, 31), 100.0, 99.99, D(2026, 7, 1)),     # one fen short
        ("C1", D(2026, 6, 1), D(2026, 6, 30), 100.0, 100.0, D(2026, 7, 1)),     # a day late
        ("C1", D(2026, 5, 1), D(2026, 5, 31), 100.0, 100.0, None),              # no paid date
        ("C1", D(2025, 10, 1), D(2025, 10, 31), 100.0, 100.0, D(2025, 10, 1)),  # due before the window
        ("C1", D(2026, 10, 1), D(2026, 11, 15), 100.0, 100.0, D(2026, 10, 2)),  # due after as_of
        ("C2", D(2026, 10, 1), D(2026, 12, 1), 100.0, None, None),
    ])}
    frame = compute_features(data, AS_OF, MetricsSpec())
    assert by_customer(frame, "on_time_rate_12m") == {"C1": (0.4,), "C2": (None,), "C3": (None,)}


def test_on_time_rate_is_unknown_without_payment_columns():
    data = {"customers": customers("C1"), "receivables": pl.DataFrame(
        {"customer_id": ["C1"], "due_date": [AS_OF], "amount": [10.0]})}
    row = compute_features(data, AS_OF, MetricsSpec()).row(0, named=True)
    assert row["on_time_rate_12m"] is None and row["outstanding"] == 10.0 and row["ar_current"] == 10.0


# --- complaints and satisfaction ----------------------------------------------------------

def test_complaint_rate_and_satisfaction():
    data = {
        "customers": customers("C1", "C2"),
        "orders": orders([("C1", AS_OF, 1.0), ("C1", D(2026, 5, 1), 1.0), ("C1", D(2026, 4, 1), 1.0),
                          ("C1", D(2026, 3, 1), 1.0)]),
        "complaints": pl.DataFrame({"customer_id": ["C1", "C2"], "date": [D(2026, 6, 1), D(2026, 6, 1)]}),
        "visits": pl.DataFrame({"customer_id": ["C1"] * 5, "satisfaction": [4.0, 5.0, None, 1.0, 1.0],
                                "date": [D(2026, 10, 1), D(2026, 1, 1), D(2026, 2, 1), D(2025, 10, 31),
                                         D(2026, 11, 1)]}),
    }
    frame = compute_features(data, AS_OF, MetricsSpec())
    assert by_customer(frame, "complaint_rate_12m", "satisfaction") == {"C1": (0.25, 4.5), "C2": (None, None)}
    without = {**data, "visits": data["visits"].drop("satisfaction")}
    assert compute_features(without, AS_OF, MetricsSpec())["satisfaction"].to_list() == [None, None]


# --- RFM ----------------------------------------------------------------------------------

def rfm_ledger() -> dict[str, pl.DataFrame]:
    """Six active customers (ties in F and M), one whose only order is 12 months old, one without orders."""
    return {"customers": customers("C8", "C7", "C6", "C5", "C4", "C3", "C2", "C1"), "orders": orders([
        ("C1", AS_OF, 100.0), ("C1", D(2026, 9, 1), 100.0), ("C1", D(2026, 5, 1), 100.0),
        ("C2", ago(10), 100.0), ("C2", D(2026, 6, 1), 100.0), ("C2", D(2026, 1, 1), 100.0),
        ("C3", ago(10), 1000.0),
        ("C4", ago(100), 50.0),
        ("C5", ago(200), 50.0),
        ("C6", ago(300), 10.0), ("C6", D(2025, 12, 1), 10.0),
        ("C7", D(2025, 10, 31), 5000.0),
    ])}


def test_rfm_quintiles_break_ties_by_value_then_customer_id():
    # best first, n = 6 → scores 5 5 4 3 2 1
    # R by recency: C1 0, C2 10, C3 10, C4 100, C5 200, C6 300 days
    # F by orders:  C1 3, C2 3, C6 2, C3 1, C4 1, C5 1
    # M by revenue: C3 1000, C1 300, C2 300, C4 50, C5 50, C6 20
    frame = compute_features(rfm_ledger(), AS_OF, MetricsSpec())
    assert by_customer(frame, "rfm_r", "rfm_f", "rfm_m", "rfm_score", "rfm_segment") == {
        "C1": (5, 5, 5, "555", "champions"),
        "C2": (5, 5, 4, "554", "champions"),
        "C3": (4, 3, 5, "435", "potential_loyalist"),
        "C4": (3, 2, 3, "323", "about_to_sleep"),
        "C5": (2, 1, 2, "212", "hibernating"),
        "C6": (1, 4, 1, "141", "at_risk"),
        "C7": (None, None, None, None, "inactive"),
        "C8": (None, None, None, None, "inactive"),
    }
    assert [frame.schema[c] for c in ("rfm_r", "rfm_score")] == [pl.Int64, pl.String]


def test_rfm_scores_do_not_depend_on_row_order():
    data = rfm_ledger()
    shuffled = {"customers": data["customers"].reverse(), "orders": data["orders"].sample(fraction=1.0, seed=7)}
    columns = ("rfm_r", "rfm_f", "rfm_m", "rfm_segment")
    assert by_customer(compute_features(shuffled, AS_OF, MetricsSpec()), *columns) == \
        by_customer(compute_features(data, AS_OF, MetricsSpec()), *columns)


@pytest.mark.parametrize("n, scores", [
    (1, [5]), (2, [5, 3]), (5, [5, 4, 3, 2, 1]), (7, [5, 5, 4, 3, 3, 2, 1]),
    (10, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]),
])
def test_quintile_scores_give_each_score_a_fifth(n, scores):
    active = pl.DataFrame({"customer_id": [f"C{i:02d}" for i in range(n)], "orders_12m": list(range(n, 0, -1))})
    assert quintile_scores(active, "orders_12m", higher_is_better=True).to_list() == scores


@pytest.mark.parametrize("r, f, segment", [
    (5, 5, "champions"), (4, 4, "champions"), (3, 5, "loyal"), (3, 4, "loyal"), (5, 2, "potential_loyalist"),
    (4, 3, "potential_loyalist"), (5, 1, "new_customers"), (4, 1, "promising"), (3, 3, "need_attention"),
    (3, 1, "about_to_sleep"), (2, 4, "at_risk"), (1, 3, "at_risk"), (1, 5, "cant_lose"), (2, 5, "cant_lose"),
    (2, 2, "hibernating"), (1, 2, "hibernating"), (1, 1, "lost"),
])
def test_rfm_segment_of_a_few_pairs(r, f, segment):
    assert segment_of(r, f) == segment


def test_every_r_f_pair_maps_to_exactly_one_segment():
    pairs = [(r, f) for r in range(1, 6) for f in range(1, 6)]
    segments = {pair: segment_of(*pair) for pair in pairs}
    names = set(SEGMENT_TITLES) - {"inactive"}
    assert len(segments) == 25 and set(segments.values()) == names and len(names) == 11
    assert {p for p, s in segments.items() if s == "champions"} == {(r, f) for r, f in pairs if r >= 4 and f >= 4}
    assert all(f >= 4 for (r, f), s in segments.items() if s == "loyal")
    grid = pl.DataFrame(pairs + [(None, 3), (2, None)], schema={"r": pl.Int64, "f": pl.Int64}, orient="row")
    polars_segments = grid.select(segment(pl.col("r"), pl.col("f")))["r"].to_list()
    assert polars_segments == [segments[p] for p in pairs] + ["inactive", "inactive"]


# --- the catalog ---------------------------------------------------------------------------

NEW_METRICS = {
    "ar_current": "money", "ar_1_30": "money", "ar_31_60": "money", "ar_61_90": "money", "ar_over_90": "money",
    "dso_days": "number", "on_time_rate_12m": "percent", "complaint_rate_12m": "percent", "satisfaction": "number",
    "rfm_r": "integer", "rfm_f": "integer", "rfm_m": "integer", "rfm_score": "text", "rfm_segment": "text",
}


def test_new_catalog_metrics_have_types_and_chinese_titles():
    for name, type_name in NEW_METRICS.items():
        assert CATALOG[name].type == type_name
        assert any("\u4e00" <= ch <= "\u9fff" for ch in CATALOG[name].title), name
    titles = [info.title for info in CATALOG.values()]
    assert len(titles) == len(set(titles))


def test_every_catalog_metric_is_computed_even_from_customers_alone():
    frame = compute_features({"customers": customers("C1")}, AS_OF, MetricsSpec())
    assert set(CATALOG) <= set(frame.columns)
    row = frame.row(0, named=True)
    assert row["ar_over_90"] == 0.0 and row["dso_days"] is None and row["rfm_segment"] == "inactive"
