"""One sheet's data rows → typed rows of a dataset, and an issue for every row not used as is.

Order of work, all vectorised: blank rows are not rows; totals rows (合计/小计/总计) and the
header row repeated inside the data are skipped; value maps rewrite raw text; every sheet
column is coerced to its type, and constant and computed columns are added; then the
dataset's ``where`` filter skips the rows it leaves out (counted, listed with the row's id and
the values the filter saw) — before any validation, so a guest sale without a customer id that
``where`` leaves out is skipped, not rejected for the missing id. Only a row whose value the
filter needs could not be read is validated instead of skipped. Of the rows that count, a row
with a bad value in a required, key or reference column is rejected (one issue per rejected
row, naming every problem of that row); a bad optional value is blanked (warning). Hidden rows
are used but noted; a formula with no saved result is reported at its cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl

from ..errors import Issue
from ..i18n import msg
from ..limits import current as current_limits
from ..names import did_you_mean
from ..expr.ast import names as expression_names
from ..expr.compiler import compile_expression
from ..expr.parser import parse
from ..names import all_of
from ..types import POLARS_TYPES, cast_to
from .coerce import NO_SUCH_DAY, PREFIXED, REASONS, SUGGESTIONS, clean_text, coerce, explain, fast_value
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
        self._note_duplicate_headers()
        grid, totals = self._drop_totals(grid)
        grid, headers = self._drop_repeated_headers(grid)
        grid = self._apply_maps(grid)
        checked, rejecting = self._coerce(grid)
        typed = self._typed(checked)
        skip = self._filter(typed, checked)
        if skip.any():
            checked, typed = checked.filter(~skip), typed.filter(~skip)
        empty = self._empty_computed(typed)
        bad_cell = [pl.col(c).is_not_null() for c in rejecting]
        reject = checked.select(pl.any_horizontal([*bad_cell, pl.col(ROW).is_in(list(empty))])).to_series() \
            .fill_null(False)
        self._cell_issues(checked, rejecting, reject, empty)
        kept = typed.filter(~reject)
        self._note_hidden(grid)
        self.issues.sort(key=lambda i: i.row or 0)
        return SheetRows(kept, self.issues, read, int(reject.sum()), totals + headers + int(skip.sum()))

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

    def _drop_repeated_headers(self, grid: pl.DataFrame) -> tuple[pl.DataFrame, int]:
        """Rows that repeat the header (sheets pasted one under another, a report printed with
        its header on every page): skipped, one issue each, instead of failing every cell."""
        headers = {n: h for n, h in self.header.headers.items() if n in grid.columns}
        if not headers:
            return grid, 0
        same = [(pl.col(n) == h).fill_null(False).cast(pl.Int32) for n, h in headers.items()]
        filled = [pl.col(n).is_not_null().cast(pl.Int32) for n in headers]
        needed = min(2, len(headers))
        marked = grid.with_columns(pl.sum_horizontal(same).alias("_same"), pl.sum_horizontal(filled).alias("_filled"))
        repeated = (pl.col("_same") >= needed) & (pl.col("_same") * 2 >= pl.col("_filled"))
        found = marked.filter(repeated)
        first_name, first_header = next(iter(headers.items()))
        for row, value in found.select(ROW, first_name).iter_rows():
            self.issues.append(self.issue(row, first_header, value, msg("ledger.repeated_header"), "repeated_header",
                                          "skipped", msg("ledger.repeated_header.hint")))
        return marked.filter(~repeated).drop("_same", "_filled"), found.height

    def _note_duplicate_headers(self) -> None:
        for name, second in self.header.duplicates.items():
            first = self.header.headers[name]
            self.issues.append(self.issue(self.header.excel_row, second, None,
                                          msg("ledger.duplicate_header", first=first, second=second, column=name),
                                          "duplicate_header", "warning",
                                          msg("ledger.duplicate_header.hint", second=second, dataset=self.dataset)))

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

    def _cell_issues(self, checked: pl.DataFrame, rejecting: list[str], reject: pl.Series,
                     empty: dict[int, list[str]]) -> None:
        """A warning per bad optional value of a row that is used; one error per rejected row,
        at its first bad required value (else its first empty required computed column), naming
        the row's other problems too — so the rows rejected and the errors listed are the same
        count everywhere."""
        problems: dict[int, list[tuple]] = {}  # row -> [(rejecting, header, value, reason, allowed)]
        marked = checked.with_columns(reject.alias("_reject"))
        for name in self.header.columns:
            error_col = ERROR + name
            if error_col not in checked.columns:
                continue
            allowed = self.spec.columns[name].values
            bad = marked.filter(pl.col(error_col).is_not_null()).select(ROW, name, error_col, "_reject")
            for row, value, reason, rejected in bad.iter_rows():
                if rejected:
                    problems.setdefault(row, []).append((error_col in rejecting, self.header.headers[name], value,
                                                         reason, allowed))
                    continue
                message = msg("ledger.cell.left_empty", reason=explain(reason, CELL_REASONS, CELL_PREFIXED))
                self.issues.append(self.issue(row, self.header.headers[name], value, message, _code(reason),
                                              "warning", _suggestion(reason, value, allowed)))
        for row, columns in empty.items():
            found = problems.setdefault(row, [])
            first_optional = next((i for i, p in enumerate(found) if not p[0]), len(found))
            found[first_optional:first_optional] = [(True, n, None, REQUIRED_MISSING, None) for n in columns]
        for row, found in sorted(problems.items()):
            found.sort(key=lambda p: not p[0])  # the rejecting problems first, in column order
            _, header, value, reason, allowed = found[0]
            message = explain(reason, CELL_REASONS, CELL_PREFIXED)
            if len(found) > 1:
                others = [msg("ledger.cell.other", column=h, value=v, reason=explain(r, CELL_REASONS, CELL_PREFIXED))
                          if v is not None else msg("ledger.cell.other_blank", column=h,
                                                    reason=explain(r, CELL_REASONS, CELL_PREFIXED))
                          for _, h, v, r, _ in found[1:]]
                message = msg("ledger.cell.also", reason=message, others=all_of(others))
            computed = self.spec.columns[header].expr if header in empty.get(row, ()) and value is None else None
            suggestion = (msg("ledger.suggest.computed", expr=computed) if computed
                          else _suggestion(reason, value, allowed))
            self.issues.append(self.issue(row, header, value, message, _code(reason), "error", suggestion))

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

    def _empty_computed(self, typed: pl.DataFrame) -> dict[int, list[str]]:
        """Rows where a required computed column came out empty: row -> those columns."""
        required = [n for n, c in self.spec.columns.items() if c.required and c.expr is not None]
        if not required:
            return {}
        empty = typed.select(ROW, *[pl.col(n).is_null() for n in required]).filter(
            pl.any_horizontal([pl.col(n) for n in required]))
        return {row: [n for n, flag in zip(required, flags) if flag] for row, *flags in empty.iter_rows()}

    def _filter(self, typed: pl.DataFrame, checked: pl.DataFrame) -> pl.Series:
        """The rows ``where`` leaves out, as a mask (one issue each, with the row's id and the
        values the filter saw). A row is left out when the condition is false, or unknown
        (an empty value) — unless a value it reads could not be read: that row is validated
        and rejected for the bad value instead."""
        if not self.spec.where:
            return pl.Series("_skip", [False] * typed.height, dtype=pl.Boolean)
        types = column_types(self.spec)
        node = parse(self.spec.where)
        condition = compile_expression(node, pl.col, source=self.spec.where, field_types=types)
        used = [n for n in self.spec.columns if n in expression_names(node)]
        sources = self._source_columns(used)
        unreadable = [(pl.col(n).is_not_null() & pl.col(ERROR + n).is_not_null()) for n in sources
                      if ERROR + n in checked.columns]
        keep = typed.select(condition.alias("_keep")).to_series()
        bad = checked.select(pl.any_horizontal(unreadable) if unreadable else pl.repeat(False, checked.height)) \
            .to_series().fill_null(False)
        skip = (keep.eq(False) | (keep.is_null() & ~bad)).fill_null(False)
        if not skip.any():
            return skip
        key = self._row_key()
        raw, values = checked.filter(skip), typed.filter(skip)
        # the cells as the sheet has them; a computed or constant column as computed
        shown = [(self._label(n), (raw if n in raw.columns else values).get_column(n).to_list()) for n in used]
        keys = raw.get_column(key).to_list() if key else [None] * raw.height
        header = self.header.headers[key] if key else None
        for index, (row, key_value) in enumerate(zip(raw.get_column(ROW).to_list(), keys)):
            seen = [msg("ledger.filtered.empty", column=label) if cells[index] is None or cells[index] == ""
                    else msg("ledger.filtered.value", column=label, value=str(cells[index])) for label, cells in shown]
            self.issues.append(self.issue(row, header, key_value,
                                          msg("ledger.filtered", where=self.spec.where, values=all_of(seen)),
                                          "filtered", "skipped"))
        return skip

    def _source_columns(self, used: list[str]) -> set[str]:
        """The sheet columns ``used`` columns are read from (through computed columns too)."""
        found, todo = set(), list(used)
        while todo:
            name = todo.pop()
            if name in found or name not in self.spec.columns:
                continue
            found.add(name)
            column = self.spec.columns[name]
            if column.expr is not None:
                todo += list(expression_names(parse(column.expr)))
        return {n for n in found if self.spec.columns[n].read_from_sheet}

    def _row_key(self) -> str | None:
        """The column that names a row for a person: the dataset's key, else its own id
        (``order_id``: a column called ``…_id`` that references nothing), else a reference."""
        read = [n for n in self.spec.columns if n in self.header.columns]
        own = [n for n in read if (n == "id" or n.endswith("_id")) and not self.spec.columns[n].references]
        refs = [n for n in read if self.spec.columns[n].references]
        return next(iter([n for n in self.spec.key_columns if n in read] + own + refs), None)

    def _label(self, name: str) -> str:
        """How a person knows the column: its header in this sheet, else its title, else its name."""
        return self.header.headers.get(name) or self.spec.columns[name].title or name

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
    if reason.startswith(NO_SUCH_DAY):
        return msg("ledger.suggest.no_such_day")
    if allowed and value is not None:
        return did_you_mean(value, allowed) or msg("ledger.suggest.use_one_of", values=", ".join(allowed))
    if reason.startswith(TOO_LONG):
        return msg("ledger.suggest.too_long")
    return SUGGEST.get(reason)


def _code(message: str) -> str:
    for prefix, code in (("required", "missing_value"), ("not a valid date", "bad_date"), (NO_SUCH_DAY, "bad_date"),
                         ("ambiguous date", "ambiguous_date"), ("not one of", "bad_enum"),
                         ("below", "out_of_range"), ("above", "out_of_range"),
                         ("formula has no saved", "uncached_formula"), ("cell is longer", "cell_too_long")):
        if message.startswith(prefix):
            return code
    return "bad_value"
