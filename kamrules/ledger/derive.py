"""Datasets built from another one when no sheet provides them.

An ERP export often has only order lines: then customers are the distinct customer ids of
the orders (``derive: {from: orders}``), in the order they first appear. Columns of the
derived dataset are filled from the source rows of each id with a reducer
(``derive.columns``, see :mod:`kamrules.ledger.config`):

- ``first(col)`` / ``latest(col)``: the value of the earliest / latest row that has one, rows
  ordered by ``derive.by`` (default: the source's first required date column), then by file,
  sheet and row;
- ``most_frequent(col)``: the value most rows have (a tie goes to the value of the latest row);
- ``min(col)`` / ``max(col)``: the smallest / largest value.

Empty values are ignored. ``derive.name: col`` is ``name: first(col)``; ``name`` falls back to
the id. Constant (``value:``) and computed (``expr:``) columns are added as for a sheet; every
other column is empty (the run says which).
"""

from __future__ import annotations

import polars as pl

from ..errors import Issue, LedgerError
from ..expr.typecheck import kind_of
from ..i18n import msg
from ..names import any_of, did_you_mean
from ..types import POLARS_TYPES, cast_to
from .config import DatasetSpec, alias_clashes, parse_reduction
from .rows import FILE, ROW, SHEET, add_derived_columns

SEQ = "_seq"


def order_column(spec: DatasetSpec, source: DatasetSpec | None) -> str | None:
    """The source column that orders its rows for first/latest: ``derive.by``, else the
    source's first required date column, else its first date column (None: file order)."""
    if spec.derive.by:
        return spec.derive.by
    if source is None:
        return None
    dates = [n for n, c in source.columns.items() if c.type == "date"]
    return next((n for n in dates if source.columns[n].required), dates[0] if dates else None)


def ledger_problems(spec: DatasetSpec, datasets: dict[str, DatasetSpec]) -> list[tuple[tuple, object, object]]:
    """What is wrong with a dataset's mapping beyond its own schema, as ``(keys below the
    dataset, message, suggestion)``; ``kamrules check`` reports each at its YAML line: a header
    two columns claim (the second could never read it), and ``derive`` given the other datasets."""
    problems = [(("columns", second), msg("ledger.config.alias_clash", alias=alias, first=first, second=second), None)
                for alias, first, second in alias_clashes(spec)]
    if spec.derive is not None:
        problems += [(("derive", *keys), message, hint) for keys, message, hint in _derive_problems(spec, datasets)]
    return problems


def _derive_problems(spec: DatasetSpec, datasets: dict[str, DatasetSpec]) -> list[tuple[tuple, object, object]]:
    source = datasets.get(spec.derive.from_)
    if source is None:
        return []  # reported as an unknown dataset
    problems = []
    by = spec.derive.by
    if by is not None and (by not in source.columns or source.columns[by].type != "date"):
        dates = [n for n, c in source.columns.items() if c.type == "date"]
        near = did_you_mean(by, dates) or (msg("names.did_you_mean", names=any_of([repr(d) for d in dates]))
                                           if dates else None)
        problems.append((("by",), msg("ledger.derive.by", source=spec.derive.from_, column=by), near))
    for target, text in spec.derive.columns.items():  # derive.name: checked with the rule language's names
        reducer, column = parse_reduction(text)
        where = ("columns", target)
        if column not in source.columns:
            problems.append((where, msg("ledger.derive.source_column", target=target, source=spec.derive.from_,
                                        column=column), did_you_mean(column, source.columns)))
            continue
        source_type, target_type = source.columns[column].type, spec.columns[target].type
        if target_type not in ("text", "enum") and kind_of(source_type) != kind_of(target_type):
            problems.append((where, msg("ledger.derive.type", target=target, reducer=reducer, column=column,
                                        source_type=source_type, target_type=target_type), None))
    return problems


def derive(name: str, spec: DatasetSpec, datasets: dict[str, pl.DataFrame | pl.LazyFrame],
           specs: dict[str, DatasetSpec] | None = None) -> tuple[pl.DataFrame, list[Issue]]:
    specs = specs or {}
    source_name = spec.derive.from_
    source = datasets.get(source_name)
    keys = spec.key_columns
    if source is None or len(keys) != 1 or keys[0] not in source.collect_schema().names():
        raise LedgerError(msg("ledger.derive.impossible", name=name, source=source_name,
                              column=keys[0] if keys else msg("ledger.derive.key")),
                          file="rules/ledger.yaml", suggestion=msg("ledger.derive.impossible.hint", name=name))
    key = keys[0]
    by = order_column(spec, specs.get(source_name))
    if isinstance(source, pl.LazyFrame):  # only the columns used: the source may be every order line
        wanted = {key, by, FILE, SHEET, ROW, *(column for _, column in spec.derive.reductions.values())}
        source = source.select([c for c in source.collect_schema().names() if c in wanted]).collect()
    rows = source.filter(pl.col(key).is_not_null())
    frame = rows.sort(FILE, SHEET, ROW).select(key).unique(key, keep="first", maintain_order=True)
    order = [by, FILE, SHEET, ROW] if by in rows.columns else [FILE, SHEET, ROW]
    rows = rows.sort(order, nulls_last=False).with_row_index(SEQ)
    issues = []
    reductions = spec.derive.reductions
    for target, (reducer, column) in reductions.items():
        if column not in rows.columns:
            continue
        values = _reduce(rows, key, column, reducer).with_columns(
            cast_to(pl.col("_value"), spec.columns[target].type).alias("_value"))
        frame = frame.join(values, on=key, how="left", maintain_order="left").rename({"_value": target})
        allowed = spec.columns[target].values
        if allowed:
            outside = frame.filter(pl.col(target).is_not_null() & ~pl.col(target).is_in(allowed))
            if outside.height:
                issues.append(Issue(f"({source_name})", None, None, target, str(outside[target][0]),
                                    msg("ledger.derive.not_allowed", count=outside.height, column=target,
                                        values=", ".join(allowed)),
                                    "bad_enum", "warning", name, None))
                frame = frame.with_columns(pl.when(pl.col(target).is_in(allowed)).then(pl.col(target)).alias(target))
    columns = []
    for column, column_spec in spec.columns.items():
        if column == key or not column_spec.read_from_sheet:
            continue
        if column == "name":
            found = pl.col("name").cast(pl.String) if "name" in frame.columns else pl.lit(None, dtype=pl.String)
            columns.append(pl.coalesce(found, pl.col(key)).alias("name"))
        elif column in frame.columns:
            columns.append(pl.col(column))
        else:
            columns.append(pl.lit(None, dtype=POLARS_TYPES[column_spec.type]).alias(column))
    frame = frame.select(pl.col(key), *columns, pl.lit(None, dtype=pl.String).alias(FILE),
                         pl.lit(None, dtype=pl.String).alias(SHEET), pl.lit(None, dtype=pl.Int64).alias(ROW))
    frame = add_derived_columns(frame, spec)
    issues.insert(0, _note(name, spec, specs.get(source_name), frame, key))
    return frame, issues


def _reduce(rows: pl.DataFrame, key: str, column: str, reducer: str) -> pl.DataFrame:
    """One row per id with the reduced value of ``column`` as ``_value``."""
    present = rows.filter(pl.col(column).is_not_null())
    if reducer == "most_frequent":
        counted = present.group_by(key, column).agg(pl.len().alias("_n"), pl.col(SEQ).max().alias("_last"))
        return (counted.sort([key, "_n", "_last"], descending=[False, True, True])
                .group_by(key, maintain_order=True).first().select(key, pl.col(column).alias("_value")))
    value = {"first": pl.col(column).sort_by(SEQ).first(), "latest": pl.col(column).sort_by(SEQ).last(),
             "min": pl.col(column).min(), "max": pl.col(column).max()}[reducer]
    return present.group_by(key).agg(value.alias("_value"))


def _note(name: str, spec: DatasetSpec, source: DatasetSpec | None, frame: pl.DataFrame, key: str) -> Issue:
    source_name = spec.derive.from_
    title = spec.title or name
    source_title = (source.title if source else None) or source_name
    key_title = spec.columns[key].title or key
    filled = set(spec.derive.reductions) | {key} | {c for c, s in spec.columns.items() if not s.read_from_sheet}
    if "name" in spec.columns:
        filled.add("name")
    empty = [spec.columns[c].title or c for c in spec.columns if c not in filled]
    hint = (msg("ledger.derived.hint", title=title, columns=", ".join(empty)) if empty
            else msg("ledger.derived.hint_all", title=title))
    return Issue(f"({source_name})", None, None, None, None,
                 msg("ledger.derived", title=title, count=frame.height, source=source_title, by=key_title),
                 "derived_dataset", "warning", name, hint)
