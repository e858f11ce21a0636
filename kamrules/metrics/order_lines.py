"""Per-customer sums of the order lines, file by file, added up exactly.

The catalog's order metrics (revenue windows, orders, first and last order, cost) and the
predictive models' purchase summary are made from one reduction of each file's order lines:
per customer, its sums (money in whole fen, :func:`in_fen`), first and last dates, the number
of distinct order keys and purchase days, and the lowest and highest of each. With a stage cache (:mod:`kamrules.ledger.stages`)
each file's reduction is kept under the key of its rows (:meth:`kamrules.ledger.Ledger.keyed_parts`)
and ``as_of``: when a month's file arrives, only its lines are reduced again.

Sums, minima and maxima add up across files whatever the files hold. Distinct counts add up only
when no customer has the same order key or purchase day in two files, which is certain when, for
every customer, the files' ranges [lowest, highest] do not overlap (monthly exports do not). When
any customer's ranges overlap, all the lines are reduced at once, as one file: the result is the
same either way, only slower.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from ..ledger.stages import StageCache, code_digest, key_of
from .catalog import KEY, ORDER_OPTIONAL, Windows, in_fen

KIND = "sums"
OrderParts = list[tuple[str | None, pl.LazyFrame]]  # the order lines file by file, with the key of each one's rows
DAY_KEY, ID_KEY = "day", "id"  # an order is an order number, or (without order numbers) a day with purchases
USED = "\0used"  # the count of lines dated up to as_of (a working column)


def _reduction(w: Windows) -> list[pl.Expr]:
    date, amount = pl.col("order_date"), pl.col("amount")
    used = date.is_not_null() & (date <= w.as_of)  # a line dated later did not exist yet on as_of
    in_12m, bought = w.last_12m(date), used & (amount >= 0)
    counted = in_12m & bought  # the lines orders_12m counts
    fen = in_fen(amount)
    day = pl.when(bought).then(date)
    first_day = day.min()
    order_id = pl.when(counted).then(pl.col("order_id"))
    counted_day = pl.when(counted).then(date)
    return [
        pl.when(in_12m).then(fen).sum().alias("fen_12m"),
        pl.when(w.prev_12m(date)).then(fen).sum().alias("fen_prev_12m"),
        pl.when(used).then(fen).sum().alias("fen_total"),
        pl.when(in_12m).then(in_fen(pl.col("cost"))).sum().alias("cost_fen_12m"),
        first_day.alias("first_order_date"),
        day.max().alias("last_order_date"),
        order_id.drop_nulls().n_unique().alias("ids"),
        order_id.min().alias("id_low"),
        order_id.max().alias("id_high"),
        (counted & pl.col("order_id").is_null()).any().alias("id_missing"),
        counted_day.drop_nulls().n_unique().alias("counted_days"),
        counted_day.min().alias("counted_low"),
        counted_day.max().alias("counted_high"),
        day.drop_nulls().n_unique().alias("days"),
        pl.when(bought).then(fen).sum().alias("bought_fen"),
        pl.when(bought & (date == first_day)).then(fen).sum().alias("first_day_fen"),
        used.sum().alias(USED),
    ]


def reduce_lines(rows: pl.LazyFrame, as_of: dt.date) -> tuple[pl.DataFrame, dict[str, bool]]:
    """One file's order lines (or all of them) reduced per customer, and which of
    :data:`~kamrules.metrics.catalog.ORDER_OPTIONAL` hold a value in them."""
    names = rows.collect_schema().names()
    rows = rows.with_columns([pl.lit(None, dtype=pl.String if c == "order_id" else pl.Float64).alias(c)
                              for c in ORDER_OPTIONAL if c not in names])
    filled = [pl.col(c).is_not_null().any().alias(f"{USED}{c}") for c in ORDER_OPTIONAL]  # on every line
    reduced = rows.group_by(KEY).agg(_reduction(Windows(as_of)) + filled).collect(engine="streaming")
    with_values = {c: bool(reduced[f"{USED}{c}"].any()) for c in ORDER_OPTIONAL if c in names}
    # a customer whose every line is undated or dated after as_of has no order metrics (as if absent)
    return reduced.filter(pl.col(USED) > 0).drop(USED, *(f"{USED}{c}" for c in ORDER_OPTIONAL)), with_values


def file_sums(parts: OrderParts, as_of: dt.date,
              stages: StageCache | None = None) -> tuple[list[pl.DataFrame], set[str]]:
    """Each part's reduction (kept ones read back), and the optional columns holding a value in any."""
    reductions, with_values, used = [], set(), set()
    for part_key, rows in parts:
        key = None if stages is None or part_key is None else \
            key_of(KIND, part_key, code_digest("metrics", "ledger", "types.py"), as_of.isoformat())
        kept = stages.load(KIND, key) if key is not None else None
        if kept is not None:
            body, frames = kept
            reduced, filled = frames["sums"], body["filled"]
        else:
            reduced, filled = reduce_lines(rows, as_of)
            if key is not None:
                stages.store(KIND, key, {"filled": filled}, {"sums": reduced}, prune=False)
        if key is not None:
            used.add(stages.folder_name(KIND, key))
        reductions.append(reduced)
        with_values |= {c for c, value in filled.items() if value}
    if used:
        stages.prune(KIND, keep=used)  # this run's, however many files it has, and the most recent others
    return reductions, with_values


def _ranges_apart(stacked: pl.DataFrame, low: str, high: str) -> bool:
    """No customer has two files whose [low, high] ranges meet (ranges without a value are apart)."""
    ranged = stacked.filter(pl.col(low).is_not_null()).sort(KEY, low)
    clash = ranged.select(((pl.col(KEY) == pl.col(KEY).shift(1))
                           & (pl.col(low) <= pl.col(high).shift(1))).any()).item()
    return not clash


def combine(reductions: list[pl.DataFrame], order_key: str) -> pl.DataFrame | None:
    """The files' reductions added up per customer, in file order; None when a distinct count
    cannot be added up (a customer's order keys or purchase days of two files overlap)."""
    stacked = pl.concat([r.with_columns(pl.lit(i, dtype=pl.UInt32).alias("\0file")) for i, r in enumerate(reductions)])
    low, high = ("id_low", "id_high") if order_key == ID_KEY else ("counted_low", "counted_high")
    if len(reductions) > 1 and not (_ranges_apart(stacked, low, high)
                                    and _ranges_apart(stacked, "first_order_date", "last_order_date")):
        return None
    earliest = pl.col("first_order_date").min()
    return (stacked.sort(KEY, "\0file")
            .group_by(KEY, maintain_order=True)
            .agg(pl.col("fen_12m", "fen_prev_12m", "fen_total", "cost_fen_12m").sum(),
                 earliest,
                 pl.col("last_order_date").max(),
                 pl.col("ids", "counted_days", "days", "bought_fen").sum(),
                 pl.col("id_missing").any(),
                 pl.col("first_day_fen").filter(pl.col("first_order_date") == earliest).sum()))


def order_sums(parts: OrderParts, as_of: dt.date,
               stages: StageCache | None = None) -> tuple[pl.DataFrame, set[str]]:
    """The order lines of all ``parts`` (key, rows) reduced per customer, and the optional
    columns that hold a value (see the module's docstring)."""
    reductions, with_values = file_sums(parts, as_of, stages)
    order_key = ID_KEY if "order_id" in with_values else DAY_KEY
    combined = combine(reductions, order_key)
    if combined is None:
        everything = pl.concat([rows for _, rows in parts], how="diagonal_relaxed")
        combined = combine([reduce_lines(everything, as_of)[0]], order_key)
    orders = (pl.col("ids") + pl.col("id_missing").cast(pl.UInt32)) if order_key == ID_KEY \
        else pl.col("counted_days")  # lines of the window without a number count as one order (as n_unique does)
    return combined.with_columns(orders.cast(pl.Int64).alias("orders_12m")), with_values


def order_metrics_of(sums: pl.DataFrame, with_values: set[str]) -> pl.LazyFrame:
    """The catalog's order metrics from :func:`order_sums`. Revenue is net of returns (lines with a
    negative amount); orders, first and last order dates count purchases only, so a return is
    neither an order nor a sign of activity. ``cost_12m`` only when a line has a cost."""
    money = [(pl.col(fen) / 100).alias(name) for fen, name in
             (("fen_12m", "revenue_12m"), ("fen_prev_12m", "revenue_prev_12m"), ("fen_total", "revenue_total"))]
    cost = [(pl.col("cost_fen_12m") / 100).alias("cost_12m")] if "cost" in with_values else []
    return sums.lazy().select(KEY, *money, "orders_12m", "first_order_date", "last_order_date", *cost)


def purchase_summary_of(sums: pl.DataFrame, as_of: dt.date, unit_days: float = 7.0) -> pl.DataFrame:
    """customer_id, x, t_x, T, m (null when x = 0) and first order date of every customer with a
    purchase, in customer order: x repeat purchase days, t_x and T the weeks from the first purchase
    to the last and to as_of, m the mean value of the days after the first (from whole fen)."""
    first = pl.col("first_order_date")
    x = pl.col("days") - 1
    return (sums.filter(pl.col("days") > 0)
            .select(KEY,
                    x.cast(pl.UInt32).alias("x"),
                    ((pl.col("last_order_date") - first).dt.total_days() / unit_days).alias("t_x"),
                    ((pl.lit(as_of) - first).dt.total_days() / unit_days).alias("T"),
                    pl.when(x > 0).then((pl.col("bought_fen") - pl.col("first_day_fen")) / 100 / x).alias("m"),
                    first.alias("first_order"))
            .sort(KEY))
