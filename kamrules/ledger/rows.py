"""One sheet's data rows → typed rows of a dataset, and an issue for every row not used as is.

Order of work, all vectorised: blank rows are not rows; totals rows (合计/小计/总计) are
skipped; value maps rewrite raw text; every sheet column is coerced to its type; a row with
a bad value in a required, key or reference column is rejected, a bad optional value is
blanked (warning); constant and computed columns are added; the dataset's ``where`` filter
skips rows (counted, listed). Hidden rows are used but noted; a formula with no saved result
is reported at its cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl

from ..errors import Issue
from ..i18n import msg
from ..limits import current as current_limits
from ..names import did_you_mean
from ..expr.compiler import compile_expression
from ..expr.parser import parse
from ..types import POLARS_TYPES, cast_to
from .coerce import PREFIXED, REASONS, SUGGESTIONS, clean_text, coerce, explain, fast_value
from .config import DatasetSpec, LedgerSettings
from .headers import HeaderMatch
from .readers import RawSheet

ROW, FILE, SHEET = "_row", "_file", "_sheet"
ERROR = "_e_"
TOTALS = re.compile(r"^(合\s*计|小\s*计|总\s*计|总\s*合\s*计|共\s*计|本页合计|累\s*计|total|subtotal|grand total|sum)"
                    r"\s*([:：].*)?$", re.IGNORECASE)
REQUIRED_MISSING = "required value is missing"
NO_SAVED_RESULT = "formula has no saved result"
TOO_LONG = "cell is longer than the limit of"
SUGGEST = {
    **SUGGESTIONS,
    REQUIRED_MISSING: msg("ledger.suggest.required"),
    NO_SAVED_RESULT: msg("ledger.suggest.formula"),
}
CELL_REASONS = {**REASONS, REQUIRED_MISSING: msg("ledger.cell.required_missing"),
                NO_SAVED_RESULT: msg("ledger.cell.no_saved_result")}
CELL_PREFIXED = (*PREFIXED, (TOO_LONG + " ", lambda rest: msg("ledger.cell.too_long",
                                                              limit=rest.removesuffix(" characters"))))


@dataclass
class SheetRows:
    frame: pl.DataFrame
    issues: list[Issue] = field(default_factory=list)
    read: int = 0
    rejected: int = 0
    skipped: int = 0


class SheetTyper:
    """Types the data rows of one sheet for one dataset."""

    def __init__(self, sheet: RawSheet, dataset: str, spec: DatasetSpec, header: HeaderMatch,
                 settings: LedgerSettings):
        self.sheet, self.dataset, self.spec, self.header, self.settings = sheet, dataset, spec, header, settings
        self.issues: list[Issue] = []

    def issue(self, row, column, value, message: str, code: str, severity: str, suggestion=None) -> Issue:
        return Issue(self.sheet.file, self.sheet.sheet, row, column, value, message, code, severity,
                     self.dataset, suggestion)

    def run(self) -> SheetRows:
        grid = self._data_rows()
        read = grid.height
        grid, totals = self._drop_totals(grid)
        grid = self._apply_maps(grid)
        checked, rejecting = self._coerce(grid)
        self._cell_issues(checked, rejecting)
        reject = pl.any_horizontal([pl.col(c).is_not_null() for c in rejecting]) if rejecting else pl.lit(False)
        kept = checked.filter(~reject)
        rejected = checked.height - kept.height
        kept = self._typed(kept)
        kept, empty = self._reject_empty_computed(kept)
        kept, filtered = self._filter(kept)
        self._note_hidden(grid)
        self.issues.sort(key=lambda i: i.row or 0)
        return SheetRows(kept, self.issues, read, rejected + empty, totals + filtered)

    def _data_rows(self) -> pl.DataFrame:
        grid = self.sheet.grid.with_row_index(ROW, offset=1).slice(self.header.row_index + 1)
        mapped = {name: clean_text(pl.col(col)) for name, col in self.header.columns.items()}
        grid = grid.select(pl.col(ROW).cast(pl.Int64), *[e.alias(n) for n, e in mapped.items()])
        return grid.filter(pl.any_horizontal([pl.col(n).is_not_null() for n in mapped]))

    def _drop_totals(self, grid: pl.DataFrame) -> tuple[pl.DataFrame, int]:
        if not self.spec.skip_totals:
            return grid, 0
        text_columns = list(self.header.columns)
        label = pl.coalesce([pl.when(pl.col(n).str.contains("(?i)" + TOTALS.pattern)).then(pl.struct(
            pl.lit(self.header.headers[n]).alias("h"), pl.col(n).alias("v"))) for n in text_columns])
        marked = grid.with_columns(label.alias("_total"))
        totals = marked.filter(pl.col("_total").is_not_null())
        for row, found in totals.select(ROW, "_total").iter_rows():
            self.issues.append(self.issue(row, found["h"], found["v"], msg("ledger.totals_row"), "totals_row",
                                          "skipped"))
        return marked.filter(pl.col("_total").is_null()).drop("_total"), totals.height

    def _apply_maps(self, grid: pl.DataFrame) -> pl.DataFrame:
        maps = {n: c.map for n, c in self.spec.columns.items() if c.map and n in grid.columns}
        return grid.with_columns([pl.col(n).replace({str(k): str(v) for k, v in m.items()}) for n, m in maps.items()])

    def _uncached_rows(self, name: str) -> list[int]:
        facts = self.sheet.facts
        if facts is None or not facts.uncached:
            return []
        header_row = self.sheet.grid.row(self.header.row_index)
        first = next((i for i, v in enumerate(header_row) if v is not None), 0)
        offset = facts.column_offset(self.header.excel_row, first)
        if offset is None:
            return []
        column = int(self.header.columns[name][1:]) + offset
        return [row for row, col in facts.uncached if col == column]

    def _coerce(self, grid: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
        """Rows whose cells are all in canonical form take the fast parsers; the others, the
        full ones. Both give the same values, so this only changes the cost."""
        columns = [(name, column) for name, column in self.spec.columns.items() if name in grid.columns]
        long = self._long_columns(grid, [name for name, _ in columns])
        rejecting = [ERROR + name for name, column in columns
                     if column.required or name in self.spec.key_columns or column.references is not None]
        fast = [pl.col(name).is_null() | value.is_not_null() for name, column in columns
                if (value := fast_value(pl.col(name), column)) is not None]
        if not fast:
            return grid.with_columns(self._checks(columns, long, fast=False)), rejecting
        clean = pl.all_horizontal(fast)
        parts = [grid.lazy().filter(clean).with_columns(self._checks(columns, long, fast=True)),
                 grid.lazy().filter(~clean).with_columns(self._checks(columns, long, fast=False))]
        return pl.concat(parts).sort(ROW).collect(), rejecting

    @staticmethod
    def _long_columns(grid: pl.DataFrame, names: list[str]) -> set[str]:
        """Columns with a cell over the length limit. A cell has at least as many bytes as
        characters, so the byte length (free in Arrow) rules out almost every column at once."""
        longest = current_limits().max_cell_chars
        if not names:
            return set()
        suspects = grid.select([(pl.col(n).str.len_bytes() > longest).any().alias(n) for n in names]).row(0)
        return {n for n, suspect in zip(names, suspects) if suspect}

    def _checks(self, columns, long: set[str], fast: bool) -> list[pl.Expr]:
        exprs = []
        longest = current_limits().max_cell_chars
        for name, column in columns:
            value, error = coerce(pl.col(name), column, self.settings.date_order, fast)
            if name in long:
                error = pl.coalesce(pl.when(pl.col(name).str.len_chars() > longest).then(
                    pl.lit(f"{TOO_LONG} {longest:,} characters")), error)
            uncached = self._uncached_rows(name)
            if uncached:
                error = pl.coalesce(pl.when(pl.col(name).is_null() & pl.col(ROW).is_in(uncached))
                                    .then(pl.lit(NO_SAVED_RESULT)), error)
            if column.required:
                error = pl.coalesce(error, pl.when(pl.col(name).is_null()).then(pl.lit(REQUIRED_MISSING)))
            exprs += [error.alias(ERROR + name), pl.when(error.is_null()).then(value).alias("_v_" + name)]
        return exprs

    def _cell_issues(self, checked: pl.DataFrame, rejecting: list[str]) -> None:
        for name in self.header.columns:
            error_col = ERROR + name
            if error_col not in checked.columns:
                continue
            severity = "error" if error_col in rejecting else "warning"
            allowed = self.spec.columns[name].values
            bad = checked.filter(pl.col(error_col).is_not_null()).select(ROW, name, error_col)
            for row, value, reason in bad.iter_rows():
                message = explain(reason, CELL_REASONS, CELL_PREFIXED)
                if severity == "warning":
                    message = msg("ledger.cell.left_empty", reason=message)
                self.issues.append(self.issue(row, self.header.headers[name], value, message, _code(reason),
                                              severity, _suggestion(reason, value, allowed)))

    def _typed(self, kept: pl.DataFrame) -> pl.DataFrame:
        columns = []
        for name, column in self.spec.columns.items():
            if not column.read_from_sheet:
                continue
            dtype = POLARS_TYPES[column.type]
            columns.append(pl.col("_v_" + name).cast(dtype).alias(name) if "_v_" + name in kept.columns
                           else pl.lit(None, dtype=dtype).alias(name))
        frame = kept.select(*columns, pl.lit(self.sheet.file).alias(FILE), pl.lit(self.sheet.sheet).alias(SHEET),
                            pl.col(ROW))
        return add_derived_columns(frame, self.spec)

    def _reject_empty_computed(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
        required = [(n, c) for n, c in self.spec.columns.items() if c.required and c.expr is not None]
        rejected = 0
        for name, column in required:
            empty = frame.filter(pl.col(name).is_null())
            for (row,) in empty.select(ROW).iter_rows():
                self.issues.append(self.issue(row, name, None, CELL_REASONS[REQUIRED_MISSING], "missing_value",
                                              "error", msg("ledger.suggest.computed", expr=column.expr)))
            rejected += empty.height
            frame = frame.filter(pl.col(name).is_not_null())
        return frame, rejected

    def _filter(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
        if not self.spec.where:
            return frame, 0
        condition = compile_expression(parse(self.spec.where), pl.col, source=self.spec.where,
                                       field_types=column_types(self.spec)).fill_null(False)
        marked = frame.with_columns(condition.alias("_keep"))
        for (row,) in marked.filter(~pl.col("_keep")).select(ROW).iter_rows():
            self.issues.append(self.issue(row, None, None, msg("ledger.filtered", where=self.spec.where),
                                          "filtered", "skipped"))
        kept = marked.filter(pl.col("_keep")).drop("_keep")
        return kept, marked.height - kept.height

    def _note_hidden(self, grid: pl.DataFrame) -> None:
        facts = self.sheet.facts
        if facts is None or not facts.hidden_rows:
            return
        hidden = grid.filter(pl.col(ROW).is_in(sorted(facts.hidden_rows)))
        for (row,) in hidden.select(ROW).iter_rows():
            self.issues.append(self.issue(row, None, None, msg("ledger.hidden_row"), "hidden_row", "warning",
                                          msg("ledger.hidden_row.hint")))


def column_types(spec: DatasetSpec) -> dict[str, str]:
    return {name: ("text" if c.type == "enum" else c.type) for name, c in spec.columns.items()}


def add_derived_columns(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Constant columns, then computed ones in the order written (a later one may use an earlier one)."""
    types = column_types(spec)
    for name, column in spec.columns.items():
        if column.value is not None:
            frame = frame.with_columns(cast_to(pl.lit(column.value), types[name]).alias(name))
        elif column.expr is not None:
            expr = compile_expression(parse(column.expr), pl.col, source=column.expr, field_types=types)
            frame = frame.with_columns(cast_to(expr, types[name]).alias(name))
    return frame


def _suggestion(reason: str, value, allowed: list[str] | None):
    if allowed and value is not None:
        return did_you_mean(value, allowed) or msg("ledger.suggest.use_one_of", values=", ".join(allowed))
    if reason.startswith(TOO_LONG):
        return msg("ledger.suggest.too_long")
    return SUGGEST.get(reason)


def _code(message: str) -> str:
    for prefix, code in (("required", "missing_value"), ("not a valid date", "bad_date"),
                         ("ambiguous date", "ambiguous_date"), ("not one of", "bad_enum"),
                         ("below", "out_of_range"), ("above", "out_of_range"),
                         ("formula has no saved", "uncached_formula"), ("cell is longer", "cell_too_long")):
        if message.startswith(prefix):
            return code
    return "bad_value"
