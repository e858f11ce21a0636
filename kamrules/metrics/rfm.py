"""RFM scores and segments among the customers who ordered in the last 12 months.

``rfm_r``, ``rfm_f``, ``rfm_m`` are quintile scores 1–5 of recency (``recency_days``: fewer
days is better), frequency (``orders_12m``) and monetary value (``revenue_12m``): customers
with at least one order in the last 12 months are ordered best first — by the value, then
by customer_id, so equal values are split by customer_id (the smaller id ranks higher) and
the same data always gives the same scores. The customer at position p (0 = best) of n
scores ceil(5 × (n − p) / n): the best customer scores 5, and each score covers a fifth.
Other customers have no scores and the segment ``inactive``.

``rfm_score`` is the three scores as text (``"545"``). ``rfm_segment`` depends on R and F
only, one segment per (R, F) cell:

    R\\F   1               2                   3                   4          5
    5     new_customers   potential_loyalist  potential_loyalist  champions  champions
    4     promising       potential_loyalist  potential_loyalist  champions  champions
    3     about_to_sleep  about_to_sleep      need_attention      loyal      loyal
    2     hibernating     hibernating         at_risk             at_risk    cant_lose
    1     lost            hibernating         at_risk             at_risk    cant_lose

This is the common R/F segment map (champions R≥4 and F≥4; loyal R=3 and F≥4; cant_lose
R≤2 and F=5; at_risk R≤2 and F 3–4; hibernating R≤2 and F≤2 except lost, R=1 and F=1;
about_to_sleep R=3 and F≤2; need_attention R=3 and F=3; potential_loyalist R≥4 and F 2–3;
promising R=4 and F=1; new_customers R=5 and F=1).
"""

from __future__ import annotations

import polars as pl

KEY = "customer_id"
INACTIVE = "inactive"

SEGMENT_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new_customers", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    4: ("promising", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    1: ("lost", "hibernating", "at_risk", "at_risk", "cant_lose"),
}

SEGMENT_TITLES = {
    "champions": "冠军客户",
    "loyal": "忠诚客户",
    "potential_loyalist": "潜力忠诚客户",
    "new_customers": "新客户",
    "promising": "有潜力客户",
    "need_attention": "需要关注客户",
    "about_to_sleep": "即将沉睡客户",
    "at_risk": "流失风险客户",
    "cant_lose": "不能失去的客户",
    "hibernating": "休眠客户",
    "lost": "已流失客户",
    INACTIVE: "近12个月无订单",
}
SEGMENT_TITLES_EN = {
    "champions": "Champions",
    "loyal": "Loyal customers",
    "potential_loyalist": "Potential loyalists",
    "new_customers": "New customers",
    "promising": "Promising",
    "need_attention": "Need attention",
    "about_to_sleep": "About to sleep",
    "at_risk": "At risk",
    "cant_lose": "Can't lose them",
    "hibernating": "Hibernating",
    "lost": "Lost",
    INACTIVE: "No orders in the last 12 months",
}


def segment_title(name: str | None, lang: str = "zh") -> str | None:
    """The title of segment ``name`` in ``lang`` (``zh`` or ``en``); an unknown name as it is."""
    titles = SEGMENT_TITLES_EN if lang == "en" else SEGMENT_TITLES
    return titles.get(name, name)


SCORED = (("rfm_r", "recency_days", False), ("rfm_f", "orders_12m", True), ("rfm_m", "revenue_12m", True))


def segment_of(r: int, f: int) -> str:
    """The segment of one (R, F) pair of scores 1–5."""
    return SEGMENT_GRID[r][f - 1]


def quintile_scores(active: pl.DataFrame, column: str, higher_is_better: bool) -> pl.Series:
    """Score 1–5 per row of ``active`` (in its order): best first by value, then customer_id."""
    n = max(active.height, 1)
    order = active.with_row_index("_at").sort([column, KEY], descending=[higher_is_better, False],
                                              nulls_last=True)
    position = pl.int_range(pl.len(), dtype=pl.Int64)
    scored = order.with_columns(((5 * (n - position) + n - 1) // n).alias("_score"))
    return scored.sort("_at")["_score"]


def segment(r: pl.Expr, f: pl.Expr) -> pl.Expr:
    """:func:`segment_of` as a Polars expression; ``inactive`` when a score is missing."""
    cells = {r_score * 10 + f_score: segment_of(r_score, f_score)
             for r_score in range(1, 6) for f_score in range(1, 6)}
    return (r * 10 + f).replace_strict(cells, default=None, return_dtype=pl.String).fill_null(INACTIVE)


def rfm(frame: pl.DataFrame) -> pl.DataFrame:
    """Add rfm_r, rfm_f, rfm_m, rfm_score and rfm_segment (see the module docstring)."""
    active = frame.filter(pl.col("orders_12m") > 0).select(KEY, *(column for _, column, _ in SCORED))
    scores = active.select(KEY).with_columns(
        [quintile_scores(active, column, better).alias(name) for name, column, better in SCORED])
    r, f, m = (pl.col(name) for name, _, _ in SCORED)
    return frame.join(scores, on=KEY, how="left", maintain_order="left").with_columns(
        pl.format("{}{}{}", r, f, m).alias("rfm_score"),
        segment(r, f).alias("rfm_segment"),
    )
