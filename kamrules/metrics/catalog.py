"""The built-in metric catalog: one row per customer, as of a date.

Windows are calendar months ending on ``as_of`` inclusive: ``12m`` is
(as_of − 12 months, as_of]; the previous 12 months is (as_of − 24 months, as_of − 12 months].
Nothing after ``as_of`` counts (orders, invoices, payments, complaints, visits), so a run
with an earlier ``--as-of`` sees the ledger as it stood then.

Datasets and columns the catalog reads (names after mapping through ledger.yaml):
customers(customer_id, since?), orders(customer_id, order_date, amount, cost?, order_id?),
receivables(customer_id, amount, due_date, invoice_date?, paid_amount?, paid_date?),
complaints(customer_id, date), visits(customer_id, date, satisfaction?). Missing optional
datasets give zero counts and empty dates.

Receivables are seen as of ``as_of``: an invoice counts once issued (invoice_date ≤ as_of or
no invoice date), and a payment reduces its open amount only if it was received by as_of
(or has no date). Days past due = as_of − due_date: the ageing buckets split the open amount
into not yet due (≤ 0 days, or no due date), 1–30, 31–60, 61–90 and over 90 days, and add
up to ``outstanding``.

RFM scores and segments are in :mod:`kamrules.metrics.rfm`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from .config import AbcSpec


@dataclass(frozen=True)
class MetricInfo:
    """A metric's type and title; ``title_en`` is its English title (empty for titles the rulebook gives)."""

    type: str
    title: str
    title_en: str = ""

    def title_in(self, lang: str) -> str:
        """The title in ``lang`` (``zh`` or ``en``); the one title there is when it has no English one."""
        return self.title_en if lang == "en" and self.title_en else self.title


CATALOG: dict[str, MetricInfo] = {
    "revenue_12m": MetricInfo("money", "近12个月销售额", "Revenue, last 12 months"),
    "revenue_prev_12m": MetricInfo("money", "上一个12个月销售额", "Revenue, previous 12 months"),
    "revenue_growth": MetricInfo("percent", "销售额同比增长", "Revenue growth, year on year"),
    "revenue_total": MetricInfo("money", "累计销售额", "Revenue, all time"),
    "orders_12m": MetricInfo("integer", "近12个月订单数", "Orders, last 12 months"),
    "avg_order_value_12m": MetricInfo("money", "近12个月平均订单金额", "Average order value, last 12 months"),
    "avg_monthly_revenue_12m": MetricInfo("money", "近12个月月均销售额",
                                          "Average monthly revenue, last 12 months"),
    "cost_12m": MetricInfo("money", "近12个月成本", "Cost, last 12 months"),
    "gross_margin_12m": MetricInfo("money", "近12个月毛利", "Gross margin, last 12 months"),
    "margin_pct_12m": MetricInfo("percent", "近12个月毛利率", "Gross margin %, last 12 months"),
    "first_order_date": MetricInfo("date", "首次下单日期", "First order"),
    "last_order_date": MetricInfo("date", "最近下单日期", "Last order"),
    "recency_days": MetricInfo("integer", "距最近下单天数", "Days since last order"),
    "tenure_years": MetricInfo("number", "合作年限", "Years as a customer"),
    "outstanding": MetricInfo("money", "未结余额", "Outstanding"),
    "overdue_amount": MetricInfo("money", "逾期金额", "Overdue amount"),
    "max_overdue_days": MetricInfo("integer", "最长逾期天数", "Most days overdue"),
    "open_invoices": MetricInfo("integer", "未结发票数", "Open invoices"),
    "ar_current": MetricInfo("money", "未到期应收", "Not yet due"),
    "ar_1_30": MetricInfo("money", "逾期1-30天", "1–30 days overdue"),
    "ar_31_60": MetricInfo("money", "逾期31-60天", "31–60 days overdue"),
    "ar_61_90": MetricInfo("money", "逾期61-90天", "61–90 days overdue"),
    "ar_over_90": MetricInfo("money", "逾期90天以上", "Over 90 days overdue"),
    "dso_days": MetricInfo("number", "应收账款周转天数", "Days sales outstanding"),
    "on_time_rate_12m": MetricInfo("percent", "近12个月按期回款率", "Paid on time, last 12 months"),
    "complaints_12m": MetricInfo("integer", "近12个月投诉数", "Complaints, last 12 months"),
    "complaint_rate_12m": MetricInfo("percent", "近12个月投诉率", "Complaint rate, last 12 months"),
    "last_complaint_date": MetricInfo("date", "最近投诉日期", "Last complaint"),
    "visits_90d": MetricInfo("integer", "近90天拜访次数", "Visits, last 90 days"),
    "visits_12m": MetricInfo("integer", "近12个月拜访次数", "Visits, last 12 months"),
    "last_visit_date": MetricInfo("date", "最近拜访日期", "Last visit"),
    "days_since_visit": MetricInfo("integer", "距最近拜访天数", "Days since last visit"),
    "satisfaction": MetricInfo("number", "满意度", "Satisfaction"),
    "revenue_rank": MetricInfo("integer", "销售额排名", "Revenue rank"),
    "revenue_share": MetricInfo("percent", "销售额占比", "Share of revenue"),
    "cumulative_share": MetricInfo("percent", "累计占比", "Cumulative share"),
    "abc_class": MetricInfo("text", "ABC分类", "ABC class"),
    "rfm_r": MetricInfo("integer", "RFM近度评分", "RFM recency score"),
    "rfm_f": MetricInfo("integer", "RFM频度评分", "RFM frequency score"),
    "rfm_m": MetricInfo("integer", "RFM额度评分", "RFM monetary score"),
    "rfm_score": MetricInfo("text", "RFM评分", "RFM score"),
    "rfm_segment": MetricInfo("text", "RFM客户分群", "RFM segment"),
}

KEY = "customer_id"


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


@dataclass(frozen=True)
class Windows:
    as_of: dt.date

    @property
    def start_12m(self) -> dt.date:
        return add_months(self.as_of, -12)

    @property
    def start_24m(self) -> dt.date:
        return add_months(self.as_of, -24)

    def last_12m(self, col: pl.Expr) -> pl.Expr:
        return (col > self.start_12m) & (col <= self.as_of)

    def prev_12m(self, col: pl.Expr) -> pl.Expr:
        return (col > self.start_24m) & (col <= self.start_12m)


def _days_to(as_of: dt.date, col: pl.Expr) -> pl.Expr:
    return (pl.lit(as_of) - col).dt.total_days().cast(pl.Int64)


ORDER_OPTIONAL = ("order_id", "cost")  # what the order metrics do with these depends on whether they hold values


def open_amount(columns: set[str], as_of: dt.date) -> pl.Expr:
    """Amount not yet paid as of ``as_of``: payments dated after as_of do not count; never negative."""
    paid = pl.col("paid_amount").fill_null(0) if "paid_amount" in columns else pl.lit(0.0)
    if "paid_date" in columns:
        paid = pl.when(pl.col("paid_date").is_null() | (pl.col("paid_date") <= as_of)).then(paid).otherwise(0)
    return pl.max_horizontal(pl.col("amount").fill_null(0) - paid, pl.lit(0.0))


AGEING_BUCKETS = (("ar_current", None, 0), ("ar_1_30", 1, 30), ("ar_31_60", 31, 60),
                  ("ar_61_90", 61, 90), ("ar_over_90", 91, None))


def _in_bucket(days: pl.Expr, low: int | None, high: int | None) -> pl.Expr:
    if low is None:
        return days.is_null() | (days <= high)
    return (days >= low) & (days <= high) if high is not None else days >= low


def ageing(as_of: dt.date) -> list[pl.Expr]:
    """Open amount (``_open``) by days past due; the buckets add up to ``outstanding``."""
    days = _days_to(as_of, pl.col("due_date"))
    return [pl.col("_open").filter(_in_bucket(days, low, high)).sum().alias(name)
            for name, low, high in AGEING_BUCKETS]


def on_time_rate(columns: set[str], w: Windows) -> pl.Expr:
    """Share of invoices due in (as_of − 12 months, as_of] that were paid in full by the due date.

    Paid in full: paid_amount ≥ amount − 0.005; an invoice without a paid date is not on time.
    Null when no invoice fell due, or when the ledger has no paid_amount / paid_date columns.
    """
    if not {"paid_amount", "paid_date"} <= columns:
        return pl.lit(None, dtype=pl.Float64)
    due = pl.col("due_date")
    on_time = (pl.col("paid_amount") >= pl.col("amount") - 0.005) & (pl.col("paid_date") <= due)
    return on_time.fill_null(False).filter(w.last_12m(due)).mean()


def receivable_metrics(invoices: pl.LazyFrame, columns: set[str], w: Windows) -> pl.LazyFrame:
    as_of = w.as_of
    issued = pl.col("invoice_date").is_null() | (pl.col("invoice_date") <= as_of) \
        if "invoice_date" in columns else pl.lit(True)
    overdue = (pl.col("due_date") < as_of) & (pl.col("_open") > 0)
    return (invoices.filter(issued)
            .with_columns(open_amount(columns, as_of).alias("_open"))
            .group_by(KEY).agg(
                pl.col("_open").sum().alias("outstanding"),
                pl.col("_open").filter(overdue).sum().alias("overdue_amount"),
                _days_to(as_of, pl.col("due_date")).filter(overdue).max().alias("max_overdue_days"),
                (pl.col("_open") > 0).sum().cast(pl.Int64).alias("open_invoices"),
                *ageing(as_of),
                on_time_rate(columns, w).alias("on_time_rate_12m"),
            ))


def complaint_metrics(complaints: pl.LazyFrame, w: Windows) -> pl.LazyFrame:
    date = pl.col("date")
    return (complaints.filter(date <= w.as_of).group_by(KEY).agg(
        date.filter(w.last_12m(date)).len().cast(pl.Int64).alias("complaints_12m"),
        date.max().alias("last_complaint_date"),
    ))


def visit_metrics(visits: pl.LazyFrame, columns: set[str], w: Windows) -> pl.LazyFrame:
    """Visit counts and dates; ``satisfaction`` is the mean score recorded on visits in the last 12 months."""
    date = pl.col("date")
    since_90d = w.as_of - dt.timedelta(days=90)
    satisfaction = pl.col("satisfaction").cast(pl.Float64).filter(w.last_12m(date)).mean() \
        if "satisfaction" in columns else pl.lit(None, dtype=pl.Float64)
    return (visits.filter(date <= w.as_of).group_by(KEY).agg(
        date.filter(date > since_90d).len().cast(pl.Int64).alias("visits_90d"),
        date.filter(w.last_12m(date)).len().cast(pl.Int64).alias("visits_12m"),
        date.max().alias("last_visit_date"),
        satisfaction.alias("satisfaction"),
    ))


ZERO_FILLED = ("revenue_12m", "revenue_prev_12m", "revenue_total", "orders_12m", "cost_12m",
               "outstanding", "overdue_amount", "max_overdue_days", "open_invoices",
               *(name for name, _, _ in AGEING_BUCKETS),
               "complaints_12m", "visits_90d", "visits_12m")


def finish(frame: pl.LazyFrame, w: Windows, has_cost: bool) -> pl.LazyFrame:
    """Metrics computed from the per-customer sums: growth, averages, margin, recency, tenure,
    days since the last visit, ``dso_days`` and ``complaint_rate_12m`` (complaints per order in
    the last 12 months; null without orders)."""
    r12, prev = pl.col("revenue_12m"), pl.col("revenue_prev_12m")
    margin = (r12 - pl.col("cost_12m")) if has_cost else pl.lit(None, dtype=pl.Float64)
    start = pl.coalesce(pl.col("since"), pl.col("first_order_date")) if "since" in frame.collect_schema() \
        else pl.col("first_order_date")  # a customer file without 合作开始日期: tenure from the first order
    return frame.with_columns(
        pl.when(prev > 0).then(r12 / prev - 1).otherwise(None).alias("revenue_growth"),
        pl.when(pl.col("orders_12m") > 0).then(per(r12, pl.col("orders_12m"))).otherwise(None)
        .alias("avg_order_value_12m"),
        per(r12, 12).alias("avg_monthly_revenue_12m"),
        margin.alias("gross_margin_12m"),
        pl.when(r12 > 0).then(margin / r12).otherwise(None).alias("margin_pct_12m"),
        _days_to(w.as_of, pl.col("last_order_date")).alias("recency_days"),
        (_days_to(w.as_of, start) / 365.25).round(2).alias("tenure_years"),
        _days_to(w.as_of, pl.col("last_visit_date")).alias("days_since_visit"),
        dso(pl.col("outstanding"), r12).alias("dso_days"),
        pl.when(pl.col("orders_12m") > 0).then(pl.col("complaints_12m") / pl.col("orders_12m")).otherwise(None)
        .alias("complaint_rate_12m"),
    )


def in_fen(money: pl.Expr) -> pl.Expr:
    """An amount in whole fen (amounts read as money are kept to the fen already). Sums of whole
    fen are exact in any order below 2^53 fen (90 trillion yuan): the streaming engine adds a
    customer's lines in whatever order its threads take them, and a sum of floats with fractions
    would differ in its last bits from run to run, enough to move a quotient that is exactly half a
    fen (revenue_12m / 12) to the other fen. They stay floats, never cast: an absurd amount must
    reach the checks that refuse it, not fail a cast here."""
    return (money * 100).round(0, mode="half_away_from_zero")


def per(money: pl.Expr, count: pl.Expr | int) -> pl.Expr:
    """``money / count`` to the fen, half away from zero, exactly for an amount kept to the fen:
    the division is made in whole fen, where a quotient of exactly half a fen is a float exactly
    (in yuan it is not: 0.06 / 12 is 0.004999…, which would round down)."""
    return (in_fen(money) / count).round(0, mode="half_away_from_zero") / 100


def dso(outstanding: pl.Expr, revenue_12m: pl.Expr) -> pl.Expr:
    """Days sales outstanding: outstanding / revenue_12m × 365, to 0.1 day; null unless revenue_12m > 0."""
    days = (outstanding / revenue_12m * 365).round(1, mode="half_away_from_zero")
    return pl.when(revenue_12m > 0).then(days).otherwise(None)


def pareto(frame: pl.DataFrame, abc: AbcSpec) -> pl.DataFrame:
    """Rank by ``abc.by`` (ties by customer id); A while the share before a customer is < a.

    The shares are made the same whatever the order or the chunks Polars adds in: money in whole
    fen (sums exact in any order), another figure's total as ``math.fsum`` (the exact sum, rounded
    once), the running total in rank order; the classes compare whole fen with ``a`` of the total
    exactly.
    Float shares used to differ in their last bits with how the frame was split, and a customer
    whose share before was exactly ``a`` (or a hair from it) could get either class."""
    value = pl.col(abc.by).fill_null(0)
    info = CATALOG.get(abc.by)
    if info is not None and info.type == "money":
        units = in_fen(value.clip(lower_bound=0))
        total = frame.select(units.sum()).item() or 0.0  # whole fen: exact in any order
    else:
        units = value.clip(lower_bound=0).cast(pl.Float64)
        total = math.fsum(frame.select(units).to_series().to_list())
    share = (lambda amount: amount / total) if total else (lambda amount: pl.lit(None, dtype=pl.Float64))
    ranked = frame.sort([abc.by, KEY], descending=[True, False], nulls_last=True).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("revenue_rank"),
        share(units).alias("revenue_share"),
        share(units.cum_sum()).alias("cumulative_share"),
        (units.cum_sum() - units).alias("_before"),
    )
    before = pl.col("_before")
    positive = value > 0
    abc_class = (pl.when(positive & (before < _limit(abc.a, total))).then(pl.lit("A"))
                 .when(positive & (before < _limit(abc.b, total))).then(pl.lit("B"))
                 .otherwise(pl.lit("C")))
    return ranked.with_columns(abc_class.alias("abc_class")).drop("_before").sort(KEY)


def _limit(share: float, total: float) -> float:
    """A running total is below ``share`` of ``total`` exactly when it is below this: exact for
    whole units (fen, counts), the share taken as the decimal it is written as (0.8 is 4/5)."""
    limit = Fraction(repr(share)) * Fraction(total)
    return float(math.ceil(limit)) if float(total).is_integer() else float(limit)
