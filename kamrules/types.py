"""Value types shared by the ledger, metrics, rules and render stages."""

from __future__ import annotations

import polars as pl

POLARS_TYPES = {"text": pl.String, "enum": pl.String, "integer": pl.Int64, "number": pl.Float64,
                "money": pl.Float64, "percent": pl.Float64, "date": pl.Date, "bool": pl.Boolean}


def cast_to(expr: pl.Expr, type_name: str) -> pl.Expr:
    """Cast to a kamrules type: money rounded to the fen, percent to 1e-8, integers half away from zero."""
    if type_name == "money":
        return expr.cast(pl.Float64).round(2, mode="half_away_from_zero")
    if type_name == "percent":  # 0.05 + 0.01 must equal 0.06: drop binary float noise
        return expr.cast(pl.Float64).round(8, mode="half_away_from_zero")
    if type_name == "integer":
        return expr.cast(pl.Float64).round(0, mode="half_away_from_zero").cast(pl.Int64)
    return expr.cast(POLARS_TYPES[type_name])
