"""The portfolio workbook (openpyxl, write-only so 50,000 customers stay cheap).

Sheets: 概览 (totals, a table per text decision — customers and revenue —, credit
exposure by status, native charts: tier distribution, credit exposure, Pareto curve),
客户 (one row per customer: fields, metrics, every decision output and the rule that
decided it; frozen header, filters, number formats — money in the project's ``currency:`` —,
status colours), 拜访计划 (next visits,
overdue first), one sheet per alert in ``portfolio.alerts``, 数据问题 (every ledger issue
and decision conflict) and 帕累托 (the Pareto curve's points). Text is always written as
text: a customer called ``=1+1`` never becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.chart.axis import ChartLines
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule, FormulaRule
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.line import LineProperties
from openpyxl.styles import Alignment, Font, PatternFill
from babel.numbers import get_currency_precision
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties

from ..errors import Issue
from ..i18n import Words, choose, localize
from ..metrics import aggregate_catalog
from ..metrics.catalog import CATALOG, MetricInfo
from ..plan.planner import VisitPlan
from ..plan.tasks import Task
from ..rules.decisions import CompiledRulebook
from ..rules.engine import DecisionIssue, TRACE
from ..rules.explain import WORDS, phrase_expr, phrase_map
from ..rules.documents_config import DEFAULT_CURRENCY
from ..rules.model import LIST_POLICIES
from ..text import one_line, xml_text
from .charts import axis_unit
from .sheetdata import (MAX_WIDTH, PADDING, SAMPLE, BulkRows, content_widths, fit, header_lines, insert_rows,
                        number_text_width, text_width)

FORMATS = {"money": "#,##0.00", "percent": "0.0%", "date": "yyyy-mm-dd", "integer": "0",
           "number": "#,##0.00"}
# Excel's currency formats, as its Format Cells › Currency dialog writes them: [$symbol-locale id].
# CNY keeps the plain #,##0.00 that Chinese ledgers, company templates and earlier runs use.
CURRENCY_FORMATS = {"CNY": "#,##0.00", "GBP": "[$£-809]#,##0.00", "USD": "[$$-409]#,##0.00",
                    "EUR": "[$€-1809]#,##0.00", "HKD": "[$HK$-C04]#,##0.00", "JPY": "[$¥-411]#,##0"}


def money_format(currency: str = DEFAULT_CURRENCY) -> str:
    """The number format of amounts in ``currency``: ``[$£-809]#,##0.00`` for GBP; a currency without
    its own entry shows its code (``[$CHF] #,##0.00``), with as many decimals as it has."""
    found = CURRENCY_FORMATS.get(currency)
    if found is not None:
        return found
    places = get_currency_precision(currency)
    return f"[${currency}] #,##0" + ("." + "0" * places if places else "")


def number_formats(currency: str = DEFAULT_CURRENCY) -> dict[str, str]:
    """:data:`FORMATS` with money in ``currency``."""
    return {**FORMATS, "money": money_format(currency)}
_TIME_TYPES = (dt.date, dt.time, dt.timedelta)
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
# Every font is named, so LibreOffice and WPS draw what Excel draws (a font without a name falls
# back to their default, a serif face): the body font of the workbook's language, which also
# becomes the workbook's default font (Excel's own defaults: 等线 in Chinese, Calibri in English).
BODY_FONTS = {"zh": "等线", "en": "Calibri"}
ROW_HEIGHT = 15.0  # points: one line of 11-point text
PAPER_A4 = 9  # the paperSize code of A4
WRAP = Alignment(wrap_text=True)
MAX_LINES = 15  # a wrapped row grows to at most this many lines
CENTRE = Alignment(horizontal="center")
SHORT = 6  # text columns no wider than this (in East Asian width) are centred


def use_body_font(wb: Workbook, lang: str) -> str:
    """Make the language's body font the default of ``wb`` (before any cell is styled); its name."""
    name = BODY_FONTS.get(lang, BODY_FONTS["en"])
    font = Font(name=name, sz=11, family=2)
    wb._fonts = IndexedList([font])  # style 0, the one unstyled cells use
    wb._named_styles["Normal"].font = font
    return name


def body_font(wb: Workbook) -> str:
    """The name of ``wb``'s default font."""
    return wb._fonts[0].name or BODY_FONTS["en"]


@lru_cache(maxsize=8)
def header_font(name: str) -> Font:
    return Font(name=name, bold=True, color="FFFFFF")


HEADER_ALIGNMENT = Alignment(vertical="center", wrap_text=True)


@dataclass(frozen=True)
class PageLayout:
    """How every sheet prints: A4 landscape, one page wide, the header row on each page; the
    page header names the company (left), the sheet (centre) and the data's date (right), the
    footer counts pages (``第 &P 页，共 &N 页``)."""

    company: str = ""
    as_of: str = ""
    footer: str = "Page &P of &N"

    def apply(self, ws, last_column: int, last_row: int, *, title_rows: str | None = "1:1",
              one_page: bool = False) -> None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        setup = ws.page_setup
        setup.orientation, setup.paperSize = "landscape", PAPER_A4
        setup.fitToWidth, setup.fitToHeight = 1, 1 if one_page else 0
        ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.7, bottom=0.6, header=0.3, footer=0.3)
        ws.print_options.horizontalCentered = one_page
        if title_rows:
            ws.print_title_rows = title_rows
        ws.print_area = f"A1:{get_column_letter(max(1, last_column))}{max(1, last_row)}"
        header, footer = ws.oddHeader, ws.oddFooter
        header.left.text = _header_text(self.company)
        header.center.text = "&A"
        header.right.text = _header_text(self.as_of)
        footer.center.text = self.footer
        for part in (header.left, header.center, header.right, footer.center):
            part.size = 9


# The overview's charts, stacked beside its tables: 7 cm high (13 rows of 15 points), 15 cm
# wide (9 columns of Excel's default width, 1.69 cm), so the page holds all three.
CHART_HEIGHT, CHART_WIDTH = 7.0, 15.0
CHART_ROWS, CHART_COLUMNS = 15, 9


def _nice_step(rough: float) -> float:
    """1, 2 or 5 × 10^n, the first not below ``rough``."""
    if rough <= 1:
        return 1
    power = 10 ** math.floor(math.log10(rough))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= rough)


def _show_axes(chart) -> None:
    """Axes drawn (openpyxl 3.1 writes ``delete`` unset, which Excel reads as a deleted axis)."""
    chart.x_axis.delete = False
    chart.y_axis.delete = False


def _dated(words: Words, as_of: dt.date) -> str:
    """数据截至2026-10-31 / Data as of 2026-10-31, for the page header."""
    return words("summary.as_of") + ("" if words.lang == "zh" else " ") + as_of.isoformat()


def _header_text(text: str) -> str | None:
    """Text for a page header: ``&`` doubled (a single one starts a code), at most 80 characters."""
    text = one_line(xml_text(text or "")).strip()[:80]
    return text.replace("&", "&&") or None


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    type: str


def portfolio_columns(rulebook: CompiledRulebook, words: Words | None = None) -> list[Column]:
    """Customer sheet columns: customer fields, metrics, derived metrics, decisions + 依据."""
    words = words or Words("zh")
    columns: list[Column] = []
    customers = rulebook.spec.datasets.get("customers")
    if customers is not None:
        for name, spec in customers.columns.items():
            header = spec.title or (spec.aliases[0] if spec.aliases else name)
            columns.append(Column(name, header, "text" if spec.type == "enum" else spec.type))
    columns += metric_columns(CATALOG, words.lang)
    columns += metric_columns(aggregate_catalog(rulebook.spec.metrics), words.lang)
    columns += [Column(d.name, d.title, d.type) for d in rulebook.derived]
    for decision in rulebook.decisions:
        for output, type_name in decision.outputs.items():
            columns.append(Column(output, decision.label(output), type_name))
        columns.append(Column(TRACE + decision.id, words("basis", title=decision.title), "text"))
    wanted = rulebook.spec.portfolio.columns
    if wanted:
        keep = set(wanted) | {"customer_id", "name"}
        columns = [c for c in columns if c.field in keep or c.field.startswith(TRACE)]
    return columns


def metric_columns(catalog: dict[str, MetricInfo], lang: str) -> list[Column]:
    """A column per metric, headed by its title in ``lang``."""
    return [Column(name, info.title_in(lang), info.type) for name, info in catalog.items()]


SHEET_TITLE_CHARS = re.compile(r"[\[\]:*?/\\]")  # Excel refuses these in a sheet name
SHEET_TITLE_LENGTH = 31  # UTF-16 code units, as Excel counts


def _utf16_cut(text: str, units: int) -> str:
    while len(text.encode("utf-16-le")) > 2 * units:
        text = text[:-1]
    return text


def sheet_title(title: str, taken) -> str:
    """``title`` as a sheet name Excel accepts, distinct (ignoring case) from every name in ``taken``:
    ``[ ] : * ? / \\`` become ``_``, controls are dropped and line breaks become spaces, no
    apostrophe at either end, not ``History`` (Excel's own), at most 31 characters; a clash
    gets `` (2)``, `` (3)`` …"""
    cleaned = one_line(SHEET_TITLE_CHARS.sub("_", xml_text(title))).strip("'") or "_"
    if cleaned.casefold() == "history":
        cleaned += "_"
    cleaned = _utf16_cut(cleaned, SHEET_TITLE_LENGTH).rstrip("'")
    existing = {name.casefold() for name in taken}
    candidate, n = cleaned, 1
    while candidate.casefold() in existing:
        n += 1
        candidate = _utf16_cut(cleaned, SHEET_TITLE_LENGTH - len(f" ({n})")).rstrip("'") + f" ({n})"
    return candidate


def _clean(value: Any) -> Any:
    """A value as a cell can hold it: lists joined, text without the characters XML refuses."""
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return xml_text(value) if isinstance(value, str) else value


def _cell(ws, value: Any, type_name: str | None = None, *, header: bool = False,
          font: str | None = None) -> WriteOnlyCell:
    value = _clean(value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text such as "=1+1" or "@x" stays text, never a formula
    if header:
        cell.font, cell.fill = header_font(font or body_font(ws.parent)), HEADER_FILL
        cell.alignment = HEADER_ALIGNMENT
    elif type_name in FORMATS and value is not None:
        cell.number_format = FORMATS[type_name]
    return cell


def _lines(text: str, room: float) -> int:
    """How many lines ``text`` takes wrapped in ``room`` characters (East Asian width)."""
    if 2 * len(text) <= room and "\n" not in text:
        return 1  # (most texts: no need to measure)
    return sum(max(1, math.ceil(text_width(line) / room)) for line in text.split("\n"))


class _FormattedCell(Cell):
    """A reusable styled cell. openpyxl recognises a Cell in an appended row by failing to
    convert it to a value, and that error message is built with ``repr``; a constant one
    keeps the failure cheap."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<formatted cell>"


class SheetWriter:
    """A write-only sheet that knows how many rows it has (charts need the ranges).

    openpyxl serialises each appended row at once, so plain values go through its own
    reused cell and one styled cell per formatted column is reused for every row: number
    formats are registered once per column, not once per cell.

    ``buffered``: rows are kept until :meth:`finish`, which first fits the column widths to them
    (a write-only sheet writes its column widths with the first row) and sets up the printing.
    ``wrap``: the columns (from 0) whose text wraps in its cell.
    """

    def __init__(self, wb: Workbook, title: str, formats: dict[str, str] | None = None, *, buffered: bool = False):
        self.ws, self.rows = wb.create_sheet(title), 0
        self.formats = formats or FORMATS
        self.font = body_font(wb)
        self.wrap: set[int] = set()
        self.center: set[int] = set()  # short text (是/否, a tier, 高/中/低) centred: it reads apart from a number
        self.header: list | None = None
        self.header_row = 1
        self._styled: dict[tuple, list[WriteOnlyCell]] = {}
        self._pending: list[tuple[list, list | None, bool]] | None = [] if buffered else None
        self._columns = 0
        self._overflow: set[int] = set()

    def append(self, values: list, types: list | None = None, *, header: bool = False) -> int:
        self._columns = max(self._columns, len(values))
        if header and self.header is None:
            self.header, self.header_row = values, self.rows + 1
        if self._pending is not None:
            self._pending.append((values, types, header))
            self.rows += 1
            return self.rows
        self._write(values, types, header)
        self.rows += 1
        return self.rows

    def _write(self, values: list, types: list | None, header: bool) -> None:
        if header:
            row = [v if isinstance(v, Cell) else _cell(self.ws, v, header=True, font=self.font) for v in values]
        else:
            row = self._row(values, types or [None] * len(values))
        self.ws.append(row)

    def _row(self, values: list, types: list) -> list:
        key = tuple(types)
        cells = self._styled.get(key)
        if cells is None:
            cells = self._styled[key] = [_FormattedCell(self.ws) if t in self.formats or i in self.wrap else None
                                         for i, t in enumerate(types)]
            for index, (cell, type_name) in enumerate(zip(cells, types)):
                if cell is not None and type_name in self.formats:
                    cell.number_format = self.formats[type_name]
                if cell is not None and index in self.wrap:
                    cell.alignment = WRAP
        row = []
        for index, (value, cell) in enumerate(zip(values, cells)):
            value = _clean(value)  # a rejected cell or a name may hold a control character
            if isinstance(value, str) and value.startswith("="):
                row.append(_cell(self.ws, value))  # text such as "=1+1" stays text, never a formula
            elif value is None or cell is None or isinstance(value, (bool, Cell)) \
                    or (isinstance(value, str) and index not in self.wrap):
                row.append(value)  # plain values take openpyxl's own fast path
            elif isinstance(value, _TIME_TYPES) and cell.number_format != self.formats["date"]:
                row.append(_cell(self.ws, value))  # would leave a date format on the shared cell
            else:
                cell.value = value
                row.append(cell)
        return row

    def bulk(self, frame: pl.DataFrame, types: list) -> BulkRows:
        """Rows to splice in after saving (see :mod:`kamrules.render.sheetdata`)."""
        styles = []
        for index, (dtype, type_name) in enumerate(zip(frame.dtypes, types)):
            number_format = (self.formats["date"] if dtype in (pl.Date, pl.Datetime)
                             else self.formats.get(type_name) if dtype.is_numeric() else None)
            text = dtype in (pl.String, pl.Categorical, pl.Enum) or isinstance(dtype, pl.List)
            wrapped, centred = text and index in self.wrap, text and index in self.center
            if number_format is None and not wrapped and not centred:
                styles.append(None)
                continue
            probe = _FormattedCell(self.ws)
            if number_format is not None:
                probe.number_format = number_format
            if wrapped or centred:
                probe.alignment = WRAP if wrapped else CENTRE
            styles.append(probe.style_id)  # registers the style in the workbook
        rows = BulkRows(frame, styles, self.rows + 1)
        self.rows += frame.height
        self._columns = max(self._columns, frame.width)
        return rows

    def widths(self, widths: list[float]) -> None:
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width

    def fitted(self, sample: int = SAMPLE) -> list[float]:
        """Widths fitted to the buffered rows (:func:`.sheetdata.fit`): the first header row is the
        header, other bold rows count as values a tenth wider; styled cells (a title) do not count.
        Columns with text wider than :data:`.sheetdata.MAX_WIDTH` are noted, to be wrapped."""
        content = [0.0] * self._columns
        seen = 0
        for values, types, header in self._pending or []:
            if header and values is self.header:
                continue
            seen += 1
            if seen > sample:
                break
            types = types or [None] * len(values)
            for index, (value, type_name) in enumerate(zip(values, types)):
                content[index] = max(content[index], self._value_width(value, type_name) * (1.1 if header else 1))
        header = [None if h is None or isinstance(h, Cell) else str(h) for h in self.header or []] + [None] * self._columns
        self._overflow = {i for i, c in enumerate(content) if c + PADDING > MAX_WIDTH}
        return [fit(header[i], content[i]) for i in range(self._columns)]

    def _heights(self, pending: list, widths: list[float]) -> None:
        """Rows whose wrapped text needs more lines get the height for them: LibreOffice does not
        grow rows by itself when it opens a workbook, and Excel does not always."""
        rooms = {i: max(1.0, widths[i] - PADDING) for i in self.wrap if i < len(widths)}
        if not rooms:
            return
        for row, (values, _, header) in enumerate(pending, start=1):
            if header:
                continue
            lines = max((_lines(values[i], room) for i, room in rooms.items()
                         if i < len(values) and isinstance(values[i], str)), default=1)
            if lines > 1:
                self.ws.row_dimensions[row].height = ROW_HEIGHT * min(lines, MAX_LINES)

    def _value_width(self, value: Any, type_name: str | None) -> float:
        if value is None or isinstance(value, Cell):
            return 0.0
        if isinstance(value, bool):
            return 5.0
        if isinstance(value, (dt.date, dt.datetime)):
            return 10.0
        if isinstance(value, (int, float)):
            return float(number_text_width(value, self.formats.get(type_name))) if value == value else 0.0
        return float(text_width(_clean(value)))

    def finish(self, page: PageLayout | None = None, widths: list[float] | None = None, *, grouped_from: int | None = None,
               one_page: bool = False, last_column: int | None = None, last_row: int | None = None,
               title_rows: str | None = "1:1") -> list[float]:
        """Fit the columns (or take ``widths``), make the header row tall enough for its wrapped
        headers, set up the printing, and write the buffered rows. ``grouped_from``: the columns
        after this many form one collapsed outline group (hidden until the reader expands them)."""
        widths = widths if widths is not None else self.fitted()
        if self._pending is not None:
            self.wrap |= self._overflow  # text longer than the widest column wraps in it
            self._styled.clear()
        self.widths(widths)
        if self.header:
            lines = header_lines([str(h) if h is not None and not isinstance(h, Cell) else None
                                  for h in self.header], widths)
            if lines > 1:
                self.ws.row_dimensions[self.header_row].height = ROW_HEIGHT * lines
        if grouped_from is not None and grouped_from < len(widths):
            for index in range(grouped_from + 1, len(widths) + 1):
                dimension = self.ws.column_dimensions[get_column_letter(index)]
                dimension.outline_level, dimension.hidden = 1, True
            self.ws.column_dimensions[get_column_letter(len(widths) + 1)].collapsed = True
            self.ws.column_dimensions.max_outline = 1  # (openpyxl would compute it after writing sheetFormatPr)
        if page is not None:
            page.apply(self.ws, last_column or len(widths), last_row or self.rows, title_rows=title_rows,
                       one_page=one_page)
        pending, self._pending = self._pending or [], None
        self._heights(pending, widths)
        for values, types, header in pending:
            self._write(values, types, header)
        return widths


def _clock(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


def _task_title(task: Task, w: Words) -> str:
    """An onboarding step's own title, else the task's kind in the workbook's words."""
    if task.source == "onboarding" and isinstance(task.title, str) and task.title:
        return task.title
    return w(f"task.{task.kind}")


def _state(task: Task, w: Words) -> str:
    if task.overdue_days is None:
        return w("visits.on_plan")
    return w("visits.never") if task.never_visited else w("visits.late", days=task.overdue_days)


def _customer_labels(frame: pl.DataFrame, tier_field: str) -> tuple[dict[str, Any], dict[str, Any]]:
    ids = frame.get_column("customer_id").cast(pl.Utf8).to_list() if "customer_id" in frame.columns else []
    names = frame.get_column("name").to_list() if "name" in frame.columns else [None] * len(ids)
    tiers = frame.get_column(tier_field).to_list() if tier_field in frame.columns else [None] * len(ids)
    return dict(zip(ids, names)), dict(zip(ids, tiers))


def _quoted(text: str) -> str:
    """A text as an Excel formula literal, its double quotes doubled (as Excel writes them)."""
    return '"' + xml_text(str(text)).replace('"', '""') + '"'


def _fill(color: str) -> PatternFill:
    return PatternFill("solid", fgColor=color, bgColor=color)


class PortfolioWriter:
    def __init__(self, rulebook: CompiledRulebook, as_of: dt.date, lang: str | None = None):
        self.rulebook, self.as_of = rulebook, as_of
        self.words = Words(choose(lang, rulebook.spec.locale))
        self.columns = portfolio_columns(rulebook, self.words)
        self._bulk: dict[str, BulkRows] = {}
        self.spec = rulebook.spec.portfolio
        self.formats = number_formats(rulebook.spec.currency)
        company = rulebook.spec.company
        w = self.words
        self.page = PageLayout(company.name or company.short_name or "", _dated(w, as_of), w("page.footer"))

    def write(self, target: Path, frame: pl.DataFrame, issues: list[Issue],
              conflicts: list[DecisionIssue], alerts: dict[str, pl.DataFrame], stats: dict[str, Any],
              reminders: list | None = None, plan: VisitPlan | None = None) -> None:
        wb, self._bulk = Workbook(write_only=True), {}
        use_body_font(wb, self.words.lang)
        raw, frame, alerts = frame, self.worded(frame), {title: self.worded(rows) for title, rows in alerts.items()}
        w = self.words
        summary = SheetWriter(wb, w("sheet.summary"), {**self.formats, "scaled": "#,##0.0"}, buffered=True)
        columns = self.ordered([c for c in self.columns if c.field in frame.columns])
        self._table(wb, w("sheet.customers"), columns, frame)
        if plan is None:
            self._visit_plan(wb, frame)
        else:
            self._scheduled(wb, frame, plan)
            self._load(wb, plan)
            if plan.unplaced:
                self._unplaced(wb, frame, plan)
        self._reminders(wb, reminders or [], w)
        builtin = [w(f"sheet.{key}") for key in ("issues", "conflicts", "pareto", "models")]  # made after the alerts
        for title, rows in alerts.items():
            self._table(wb, sheet_title(title, wb.sheetnames + builtin), columns, rows)
        self._issues(wb, issues)
        if conflicts:
            self._conflicts(wb, conflicts, frame)
        pareto = self._pareto(wb, raw)
        models = stats.get("models") or {}
        if models:
            self._models(wb, models)
        self._summary(summary, raw, issues, conflicts, alerts, stats, pareto)
        wb.save(str(target))
        insert_rows(target, self._bulk)

    def worded(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The frame as the workbook shows it: trace columns in the words ``kamrules explain`` uses
        (``D-A（A级客户基础折扣8%）；…``, in English ``D-A (A-tier base discount); …``), booleans as
        是/否 (Yes/No), as the documents write them."""
        lang = self.words.lang
        mapping, separator = phrase_map(self.rulebook, lang), WORDS[lang]["separator"]
        traces = [c for c in frame.columns if c.startswith(TRACE)]
        yes, no = self.words("bool.true"), self.words("bool.false")
        flags = [name for name, dtype in frame.schema.items() if dtype == pl.Boolean]
        return frame.with_columns([phrase_expr(c, mapping, separator).alias(c) for c in traces]
                                  + [pl.when(pl.col(c)).then(pl.lit(yes)).when(pl.col(c).not_()).then(pl.lit(no))
                                     .otherwise(None).alias(c) for c in flags])

    def ordered(self, columns: list[Column]) -> list[Column]:
        """The lead columns (``portfolio.lead``, those present) first, in the policy's order; the rest after."""
        by_field = {c.field: c for c in columns}
        lead = [by_field[name] for name in dict.fromkeys(self.spec.lead) if name in by_field]
        return lead + [c for c in columns if c not in lead]

    def lead_count(self, columns: list[Column]) -> int:
        lead = set(self.spec.lead)
        count = 0
        while count < len(columns) and columns[count].field in lead:
            count += 1
        return count

    def _bulk_sheet(self, wb: Workbook, title: str, headers: list[str], frame: pl.DataFrame, types: list,
                    freeze: str, *, wrap: set[int] = frozenset(), grouped_from: int | None = None) -> SheetWriter:
        """A sheet whose rows come from ``frame`` (spliced in after saving): widths fitted to the
        header and the values, long text wrapped, header row frozen, filters, printing."""
        sheet = SheetWriter(wb, title, self.formats, buffered=True)
        sheet.ws.freeze_panes = freeze
        formats = [self.formats["date"] if dtype in (pl.Date, pl.Datetime) else self.formats.get(t)
                   for dtype, t in zip(frame.dtypes, types)]
        content = content_widths(frame, formats)
        sheet.wrap = set(wrap) | {i for i, (c, dtype) in enumerate(zip(content, frame.dtypes))
                                  if c + PADDING > MAX_WIDTH and not dtype.is_numeric()}
        sheet.center = {i for i, (c, dtype) in enumerate(zip(content, frame.dtypes))
                        if 0 < c <= SHORT and dtype == pl.String and i not in sheet.wrap}
        widths = [fit(h, c) for h, c in zip(headers, content)]
        sheet.append(headers, header=True)
        self._bulk[sheet.ws.title] = sheet.bulk(frame, types)
        sheet.ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{frame.height + 1}"
        sheet.finish(self.page, widths, grouped_from=grouped_from)
        return sheet

    def _table(self, wb: Workbook, title: str, columns: list[Column], frame: pl.DataFrame) -> None:
        fields = [c.field for c in columns]
        wrap = {i for i, c in enumerate(columns) if c.field.startswith(TRACE)}
        lead = self.lead_count(columns)
        sheet = self._bulk_sheet(wb, title, [c.header for c in columns], frame.select(fields),
                                 [c.type for c in columns], "C2", wrap=wrap,
                                 grouped_from=lead if 0 < lead < len(columns) else None)
        if self.spec.status_field in fields and frame.height:
            letter = get_column_letter(fields.index(self.spec.status_field) + 1)
            for value, color in self.spec.status_colors.items():
                sheet.ws.conditional_formatting.add(
                    f"{letter}2:{letter}{frame.height + 1}",
                    CellIsRule(operator="equal", formula=[_quoted(value)], fill=_fill(color)))

    def _visit_plan(self, wb: Workbook, frame: pl.DataFrame) -> None:
        """Next visits sorted by date, overdue ones (never visited, or past the interval) first."""
        w, plan = self.words, self.rulebook.spec.visit_plan
        if plan.first not in frame.columns or frame.schema[plan.first] not in (pl.Date, pl.Datetime):
            return  # (check says so when visit_plan names a field that is not a date)
        numeric = plan.every_days in frame.columns and frame.schema[plan.every_days].is_numeric()
        every = pl.col(plan.every_days) if numeric else pl.lit(None)
        since = pl.col("days_since_visit") if "days_since_visit" in frame.columns else pl.lit(None)
        overdue = since.is_null() | (since >= every).fill_null(False)
        rows = (frame.filter(pl.col(plan.first).is_not_null())
                .with_columns(pl.when(overdue).then(pl.lit(w("visits.overdue"))).otherwise(pl.lit(w("visits.on_plan")))
                              .alias("_state"),
                              overdue.alias("_overdue"))
                .sort(["_overdue", plan.first, "customer_id"], descending=[True, False, False]))
        wanted = [(plan.first, w("visits.next"), "date"), ("_state", w("visits.state"), "text"),
                  ("customer_id", w("visits.customer_id"), "text"), ("name", w("visits.name"), "text"),
                  ("manager", w("visits.manager"), "text"), (self.spec.tier_field, w("visits.tier"), "text"),
                  (plan.every_days, w("visits.every"), "integer"), ("last_visit_date", w("visits.last"), "date"),
                  ("days_since_visit", w("visits.since"), "integer")]
        wanted = [w for w in wanted if w[0] in rows.columns]
        sheet = self._bulk_sheet(wb, w("sheet.visits"), [w[1] for w in wanted], rows.select([w[0] for w in wanted]),
                                 [w[2] for w in wanted], "A2")
        if rows.height:
            sheet.ws.conditional_formatting.add(f"B2:B{rows.height + 1}", CellIsRule(
                operator="equal", formula=[_quoted(w("visits.overdue"))], fill=_fill("FFC7CE")))

    def _scheduled(self, wb: Workbook, frame: pl.DataFrame, plan: VisitPlan) -> None:
        """Every timed task of the visit plan, by day, rep and time; overdue ones marked."""
        w = self.words
        timed = [p for p in plan.placed if p.start is not None]
        names, tiers = _customer_labels(frame, self.spec.tier_field)
        purposes = self.rulebook.spec.visit_plan.purposes or [""]
        rows = {
            "day": [p.day for p in timed],
            "weekday": [w(f"weekday.{p.day.weekday()}") for p in timed],
            "start": [_clock(p.start) for p in timed],
            "end": [_clock(p.end) for p in timed],
            "rep": [p.task.rep or w("visits.unassigned") for p in timed],
            "task": [_task_title(p.task, w) for p in timed],
            "customer_id": [p.task.customer_id for p in timed],
            "name": [names.get(p.task.customer_id) for p in timed],
            "tier": [tiers.get(p.task.customer_id) for p in timed],
            "state": [_state(p.task, w) for p in timed],
            "due": [p.task.due for p in timed],
            "purpose": [purposes[(p.task.sequence - 1) % len(purposes)] if p.task.source == "visit" else None
                        for p in timed],
        }
        table = pl.DataFrame(rows, schema={"day": pl.Date, "weekday": pl.Utf8, "start": pl.Utf8, "end": pl.Utf8,
                                           "rep": pl.Utf8, "task": pl.Utf8, "customer_id": pl.Utf8, "name": pl.Utf8,
                                           "tier": pl.Utf8, "state": pl.Utf8, "due": pl.Date, "purpose": pl.Utf8})
        headers = [w("visits.day"), w("visits.weekday"), w("visits.start"), w("visits.end"), w("visits.manager"),
                   w("visits.task"), w("visits.customer_id"), w("visits.name"), w("visits.tier"), w("visits.state"),
                   w("visits.due"), w("visits.purpose")]
        types = ["date", "text", "text", "text", "text", "text", "text", "text", "text", "text", "date", "text"]
        sheet = self._bulk_sheet(wb, w("sheet.visits"), headers, table, types, "A2")
        if table.height:
            on_plan = _quoted(w("visits.on_plan"))
            sheet.ws.conditional_formatting.add(f"J2:J{table.height + 1}", FormulaRule(
                formula=[f'AND(J2<>"",J2<>{on_plan})'], fill=_fill("FFC7CE")))

    def _load(self, wb: Workbook, plan: VisitPlan) -> None:
        """Each rep's visits on each working day of the plan, against the rep's daily limit."""
        w = self.words
        reps = plan.rep_names()
        load = {(rep, day): visits for rep, day, visits, _ in plan.load()}
        sheet = SheetWriter(wb, w("sheet.load"), buffered=True)
        sheet.ws.freeze_panes = "C2"
        capacity = {rep: (plan.reps[rep].visits_per_day if rep in plan.reps else plan.default_visits) for rep in reps}
        sheet.append([w("visits.day"), w("visits.weekday"),
                      *[f"{rep or w('visits.unassigned')}（{w('load.capacity')}{capacity[rep]}）"
                        if w.lang == "zh" else f"{rep or w('visits.unassigned')} ({w('load.capacity')} {capacity[rep]})"
                        for rep in reps], w("load.total")], header=True)
        days = [d for d in plan.calendar.days if d <= plan.end]
        types = ["date", None, *["integer"] * len(reps), "integer"]
        for day in days:
            counts = [load.get((rep, day), 0) for rep in reps]
            sheet.append([day, w(f"weekday.{day.weekday()}"), *counts, sum(counts)], types)
        sheet.finish(self.page)
        if days and reps:
            last = get_column_letter(2 + len(reps))
            sheet.ws.conditional_formatting.add(f"C2:{last}{len(days) + 1}", ColorScaleRule(
                start_type="num", start_value=0, start_color="FFFFFF", end_type="max", end_color="F8CBAD"))

    def _unplaced(self, wb: Workbook, frame: pl.DataFrame, plan: VisitPlan) -> None:
        """未能安排: the tasks the plan could not place, with the reason; nothing is dropped."""
        w = self.words
        names, _ = _customer_labels(frame, self.spec.tier_field)
        items = plan.unplaced
        table = pl.DataFrame({
            "rep": [i.task.rep or w("visits.unassigned") for i in items],
            "task": [_task_title(i.task, w) for i in items],
            "customer_id": [i.task.customer_id for i in items],
            "name": [names.get(i.task.customer_id) for i in items],
            "due": [i.task.due for i in items],
            "reason": [localize(i.reason, w.lang) for i in items],
        }, schema={"rep": pl.Utf8, "task": pl.Utf8, "customer_id": pl.Utf8, "name": pl.Utf8, "due": pl.Date,
                   "reason": pl.Utf8})
        headers = [w("visits.manager"), w("visits.task"), w("visits.customer_id"), w("visits.name"),
                   w("visits.due"), w("visits.reason")]
        self._bulk_sheet(wb, w("sheet.unplaced"), headers, table, ["text", "text", "text", "text", "date", "text"],
                         "A2", wrap={5})

    def _reminders(self, wb: Workbook, events: list, w: Words) -> None:
        """Birthdays, contract renewals and festivals in the calendar's horizon, by date."""
        kinds = {kind: w(f"reminders.{kind}") for kind in ("birthday", "renewal", "festival")}
        # (greetings: the plan's all-day events; renewals are visits now, on the visit plan)
        sheet = SheetWriter(wb, w("sheet.reminders"), buffered=True)
        sheet.ws.freeze_panes = "A2"
        sheet.wrap = {4}
        sheet.append([w(f"reminders.{k}") for k in ("date", "kind", "customer_id", "summary", "description")],
                     header=True)
        separator = "；" if w.lang == "zh" else "; "
        for event in events:
            customer = None if event.kind == "festival" else event.key
            sheet.append([event.day, kinds.get(event.kind, event.kind), customer, event.title(w.lang),
                          event.description(w.lang, separator)], ["date", None, None, None, None])
        sheet.finish(self.page)

    def _pareto(self, wb: Workbook, frame: pl.DataFrame) -> tuple[SheetWriter, int] | None:
        """Cumulative revenue share by customer rank, at most 200 points (charted on the summary); the last rank."""
        if "cumulative_share" not in frame.columns or "revenue_rank" not in frame.columns or frame.is_empty():
            return None
        ranked = frame.sort("revenue_rank").select("revenue_rank", "customer_id", "name", "cumulative_share")
        step = max(1, ranked.height // 200)
        points = ranked.gather_every(step)
        if points["revenue_rank"][-1] != ranked["revenue_rank"][-1]:
            points = pl.concat([points, ranked.tail(1)])
        w = self.words
        sheet = SheetWriter(wb, w("sheet.pareto"), buffered=True)
        sheet.append([*(w(f"pareto.{k}") for k in ("rank", "customer_id", "name", "share")), w("chart.line80")],
                     header=True)
        for row in points.iter_rows():
            sheet.append([*row, 0.8], ["integer", "text", "text", "percent", "percent"])
        sheet.finish(self.page)
        return sheet, int(points["revenue_rank"][-1] or 1)

    def _summary(self, sheet: SheetWriter, frame, issues, conflicts, alerts, stats,
                 pareto: tuple[SheetWriter, int] | None) -> None:
        """The overview, printed on one page: totals, a sentence on the models, the status colours'
        legend, a table per text decision and the credit exposure; the charts stacked beside them."""
        ws, w = sheet.ws, self.words
        self._sentence: tuple[int, str] | None = None
        title = WriteOnlyCell(ws, value=w("summary.title"))
        title.font = Font(name=sheet.font, bold=True, size=14)
        sheet.append([title])
        sheet.append([w("summary.as_of"), self.as_of], [None, "date"])
        revenue = round(frame.get_column("revenue_12m").sum(), 2) if "revenue_12m" in frame.columns else None
        sheet.append([w("summary.customers"), frame.height])
        sheet.append([w("summary.revenue"), revenue], [None, "money"])
        for decision in self.rulebook.decisions:
            for output, type_name in decision.outputs.items():
                if type_name == "bool" and output in frame.columns:
                    sheet.append([decision.label(output), int(frame.get_column(output).fill_null(False).sum())])
        for title_text, rows in alerts.items():
            sheet.append([title_text, rows.height])
        sheet.append([w("summary.rejected"), stats.get("rows_rejected", 0)])
        sheet.append([w("summary.issues"), len(issues)])
        sheet.append([w("summary.conflicts"), len(conflicts)])
        models = stats.get("models") or {}
        if models:
            text = xml_text(self._models_sentence(models))
            sentence, label = WriteOnlyCell(ws, value=text), WriteOnlyCell(ws, value=xml_text(w("summary.models")))
            sentence.data_type, sentence.alignment, label.data_type, label.alignment = "s", WRAP, "s", WRAP
            row = sheet.append([label, sentence])
            ws.merged_cells.add(f"B{row}:D{row}")  # the sentence reads across the table's columns
            self._sentence = (row, text)
        self._legend(sheet, frame)
        anchor_row, charts = 2, 0
        for decision in self.rulebook.decisions:
            table = self._breakdown(sheet, frame, decision, revenue)
            if table and self.spec.tier_field in decision.outputs:
                self._bar(ws, w("chart.distribution", label=decision.label(self.spec.tier_field)), table, 2,
                          f"F{anchor_row}", number_format="0")
                anchor_row, charts = anchor_row + CHART_ROWS, charts + 1
        exposure = self._exposure(sheet, frame)
        if exposure:
            first, last, column, unit = exposure
            self._bar(ws, w("chart.exposure"), (first, last), column, f"F{anchor_row}", number_format="#,##0",
                      axis_title=unit)
            anchor_row, charts = anchor_row + CHART_ROWS, charts + 1
        if pareto is not None:
            ws.add_chart(self._pareto_chart(*pareto), f"F{anchor_row}")
            anchor_row, charts = anchor_row + CHART_ROWS, charts + 1
        widths = sheet.fitted()
        if self._sentence:  # its lines in the merged B:D (a character's room lost at each line's end)
            row, text = self._sentence
            room = sum(widths[1:4]) - 2 * PADDING
            ws.row_dimensions[row].height = ROW_HEIGHT * max(1, math.ceil(text_width(text) / max(room, 10.0)))
        last_column = 5 + (CHART_COLUMNS + 1 if charts else 0)
        sheet.finish(self.page, widths, one_page=True, last_column=last_column,
                     last_row=max(sheet.rows, anchor_row - 1), title_rows=None)

    def _legend(self, sheet: SheetWriter, frame: pl.DataFrame) -> None:
        """The status colours of the customer sheet, as coloured cells: 信用状态颜色 | 冻结 | 预警."""
        colors = self.spec.status_colors
        if not colors or self.spec.status_field not in frame.columns:
            return
        owner = self.rulebook.output_owner().get(self.spec.status_field)
        label = owner.label(self.spec.status_field) if owner else self.spec.status_field
        cells = []
        for value, color in list(colors.items())[:3]:
            cell = WriteOnlyCell(sheet.ws, value=xml_text(value))
            cell.data_type, cell.fill = "s", _fill(color)
            cell.alignment = Alignment(horizontal="center")
            cells.append(cell)
        sheet.append([self.words("summary.legend", label=label), *cells])

    def _models_sentence(self, models: dict) -> str:
        w = self.words
        parts = []
        for slot, model in models.items():
            title = w("model." + slot)
            if model.get("status", "fitted") == "not_fitted":
                parts.append(w("summary.model_not_fitted", title=title))
            else:
                state = w("model.converged" if model.get("converged") else "model.not_converged")
                parts.append(w("summary.model_fitted", title=title, customers=model.get("customers"), state=state))
        return w("summary.models_text", models=("；" if w.lang == "zh" else "; ").join(parts), sheet=w("sheet.models"))

    def _pareto_chart(self, pareto: SheetWriter, last: int) -> ScatterChart:
        """The cumulative share by rank on a numeric axis (a tick every round number of customers,
        so the labels never run together), up to 100%, with the 80% line."""
        w = self.words
        chart = ScatterChart()
        chart.title, chart.y_axis.title, chart.x_axis.title = w("chart.pareto"), w("pareto.share"), w("chart.rank")
        chart.style = 13
        ranks = Reference(pareto.ws, min_col=1, min_row=2, max_row=pareto.rows)
        for column, color, width, dash in ((4, "1F4E79", 22225, "solid"), (5, "C00000", 12700, "dash")):
            series = Series(Reference(pareto.ws, min_col=column, min_row=1, max_row=pareto.rows), ranks,
                            title_from_data=True)
            series.marker.symbol, series.smooth = "none", False
            series.graphicalProperties.line = LineProperties(solidFill=color, w=width, prstDash=dash)
            chart.series.append(series)
        chart.y_axis.number_format = "0%"
        chart.y_axis.scaling.min, chart.y_axis.scaling.max, chart.y_axis.majorUnit = 0.0, 1.0, 0.2
        chart.y_axis.majorGridlines = ChartLines()
        chart.x_axis.scaling.min, chart.x_axis.scaling.max = 0, last
        chart.x_axis.majorUnit = _nice_step(last / 6)
        chart.x_axis.number_format = "0"
        chart.x_axis.majorGridlines = None
        chart.legend.position = "b"
        _show_axes(chart)
        chart.height, chart.width = CHART_HEIGHT, CHART_WIDTH
        return chart

    def _models(self, wb: Workbook, models: dict) -> None:
        """模型: each predictive model's status, parameters and fit, with what each number means."""
        w = self.words
        sheet = SheetWriter(wb, w("sheet.models"), buffered=True)
        sheet.ws.freeze_panes = "A2"
        sheet.wrap = {3}
        sheet.append([w("summary.models"), w("models.item"), w("models.value"), w("models.meaning")], header=True)
        for slot, model in models.items():
            self._model_rows(sheet, slot, model, w)
        sheet.finish(self.page)

    def _model_rows(self, sheet: SheetWriter, slot: str, model: dict, w: Words) -> None:
        """A predictive model: which one was used and why, then its parameters and fit, each explained."""
        title = w("model." + slot)
        status = model.get("status", "fitted")
        if status == "not_fitted":
            sheet.append([title, w("models.status"), w("model.status.not_fitted",
                                                        reason=localize(model.get("reason", ""), w.lang)), None])
            return
        used = model.get("model") or slot
        if status == "limiting":
            p = model["params"].get("p", 0.0)
            state = w(f"model.status.{used}", p=f"{p:.2%}")
        else:
            state = w("model.status.fitted")
        sheet.append([title, w("models.status"), state, w("models.status.note")])
        sheet.append([title, w("models.customers"), model.get("customers"), w("models.customers.note")])
        params = model.get("params") or {}
        unit_days = float((model.get("extra") or {}).get("time_unit_days", 7.0) or 7.0)
        if slot == "bgnbd" and params.get("alpha"):
            rate = params.get("r", 0.0) / params["alpha"] * 365.25 / unit_days
            sheet.append([title, w("models.rate"), w("models.rate.value", n=f"{rate:.1f}"), w("models.rate.note")])
        if slot == "bgnbd" and {"a", "b"} <= set(params) and params["a"] + params["b"] > 0:
            sheet.append([title, w("models.dropout"), params["a"] / (params["a"] + params["b"]),
                          w("models.dropout.note")], [None, None, "percent", None])
        if slot == "gamma_gamma" and params.get("q", 0) > 1:
            spend = params.get("p", 0.0) * params.get("gamma", 0.0) / (params["q"] - 1)
            sheet.append([title, w("models.spend"), round(spend, 2), w("models.spend.note")], [None, None, "money", None])
        for name, value in params.items():
            key = "models.param.gg_p" if slot == "gamma_gamma" and name == "p" else f"models.param.{name}"
            note = w(key) if key in w.catalogue else None
            sheet.append([title, name, float(f"{value:.4g}"), note])
        sheet.append([title, w("models.ll"), round(model["log_likelihood"], 2), w("models.ll.note")])
        sheet.append([title, w("models.state"), w("model.converged" if model["converged"] else "model.not_converged"),
                      w("models.state.note")])

    @staticmethod
    def _bar(ws, title: str, table: tuple[int, int], value_column: int, anchor: str, *, number_format: str = "General",
             axis_title: str | None = None) -> None:
        first, last = table
        chart = BarChart()
        chart.title, chart.legend = title, None  # one series: its title is the chart's
        chart.add_data(Reference(ws, min_col=value_column, min_row=first, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=first + 1, max_row=last))
        chart.y_axis.number_format = number_format
        chart.y_axis.scaling.min = 0
        if axis_title:
            chart.y_axis.title = axis_title
        chart.series[0].graphicalProperties = GraphicalProperties(solidFill="1F4E79")
        _show_axes(chart)
        chart.height, chart.width = CHART_HEIGHT, CHART_WIDTH
        ws.add_chart(chart, anchor)

    def _breakdown(self, sheet: SheetWriter, frame: pl.DataFrame, decision, revenue) -> tuple[int, int] | None:
        """Customers and revenue per value of the decision's first text output; (header row, last row)."""
        text_outputs = [o for o, t in decision.outputs.items() if t == "text" and o in frame.columns]
        if not text_outputs or "revenue_12m" not in frame.columns or decision.hit in LIST_POLICIES:
            return None
        output = text_outputs[0]
        order = {value: i for i, value in enumerate(decision.literal_values(output))}
        groups = (frame.group_by(output).agg(pl.len().alias("n"), pl.col("revenue_12m").sum().alias("rev"))
                  .sort(pl.col(output).replace_strict(order, default=len(order), return_dtype=pl.Int64),
                        output, nulls_last=True))
        if groups.height > 20:
            return None
        w = self.words
        sheet.append([])
        first = sheet.append([decision.label(output), w("summary.customers"), w("summary.revenue"), w("summary.share")],
                             header=True)
        for value, n, rev in groups.iter_rows():
            share = rev / revenue if revenue else None
            last = sheet.append([value if value is not None else w("summary.empty"), n, round(rev, 2), share],
                                [None, None, "money", "percent"])
        return first, last

    def _exposure(self, sheet: SheetWriter, frame: pl.DataFrame) -> tuple[int, int, int, str] | None:
        """Customers and outstanding per credit status; (header row, last row, charted column, axis unit).
        Large amounts are charted in 万元 (thousands in English) from a column of their own."""
        status, amount = self.spec.status_field, self.spec.exposure_field
        if status not in frame.columns or amount not in frame.columns or frame.is_empty() \
                or not frame.schema[amount].is_numeric():  # (check says so when it names a field of text)
            return None
        owner = self.rulebook.output_owner().get(status)
        order = {v: i for i, v in enumerate(owner.literal_values(status))} if owner else {}
        groups = (frame.group_by(status).agg(pl.len().alias("n"), pl.col(amount).sum().alias("amount"))
                  .sort(pl.col(status).replace_strict(order, default=len(order), return_dtype=pl.Int64),
                        status, nulls_last=True))
        w = self.words
        divisor, unit = axis_unit(groups["amount"].to_list(), w.lang, self.rulebook.spec.currency)
        scaled = divisor != 1
        sheet.append([])
        first = sheet.append([owner.label(status) if owner else status, w("summary.customers"),
                              w("summary.outstanding"), *([w("summary.outstanding_in", unit=unit)] if scaled else [])],
                             header=True)
        for value, n, total in groups.iter_rows():
            shown = [value if value is not None else w("summary.empty"), n, round(total, 2)]
            last = sheet.append(shown + ([round(total / divisor, 1)] if scaled else []),
                                [None, None, "money", "scaled"] if scaled else [None, None, "money"])
        return first, last, 4 if scaled else 3, unit

    def _issues(self, wb: Workbook, issues: list[Issue]) -> None:
        issue_sheet(wb, issues, self.words, self.page)

    def _conflicts(self, wb: Workbook, conflicts: list[DecisionIssue], frame: pl.DataFrame) -> None:
        """One row per customer and decision that could not be decided: the rules involved and the remedy."""
        w = self.words
        sheet = SheetWriter(wb, w("sheet.conflicts"), buffered=True)
        sheet.ws.freeze_panes = "A2"
        sheet.wrap = {4, 5}
        sheet.append([w(f"conflicts.{key}") for key in CONFLICT_KEYS], header=True)
        names = dict(frame.select("customer_id", "name").iter_rows()) if "name" in frame.columns else {}
        for conflict in conflicts:
            sheet.append([conflict.customer_id, names.get(conflict.customer_id), self._decision_title(conflict.decision),
                          ", ".join(conflict.rule_ids), localize(conflict.message, w.lang),
                          localize(conflict.suggestion, w.lang)])
        sheet.ws.auto_filter.ref = f"A1:{get_column_letter(len(CONFLICT_KEYS))}{sheet.rows}"
        sheet.finish(self.page)

    def _decision_title(self, decision: str) -> str:
        """A decision's title, or a failed constraint's."""
        if decision.startswith("constraint:"):
            found = next((c for c in self.rulebook.constraints if c.id == decision.removeprefix("constraint:")), None)
            return found.title if found else decision
        found = next((d for d in self.rulebook.decisions if d.id == decision), None)
        return found.title if found else decision


CONFLICT_KEYS = ("customer_id", "name", "decision", "rules", "problem", "suggestion")
# "kind" (words for the code) after "code", so the columns before it keep their places
ISSUE_KEYS = ("level", "file", "sheet", "row", "column", "value", "problem", "suggestion", "code", "kind", "dataset")


def issue_headers(words: Words) -> list[str]:
    return [words(f"issues.{key}") for key in ISSUE_KEYS]


ISSUE_HEADERS = issue_headers(Words("zh"))  # the company-template writer's sheet keeps the Chinese headers


def issue_row(issue: Issue, words: Words | None = None) -> list[Any]:
    """One issue as a row: the code stays as it is (for filtering), its words beside it."""
    words = words or Words("zh")
    level = words(f"level.{issue.severity}") if issue.severity in ("error", "skipped", "warning") else issue.severity
    kind = words(f"code.{issue.code}") if f"code.{issue.code}" in words.catalogue else issue.code
    return [level, issue.file, issue.sheet, issue.row, issue.column, issue.value,
            localize(issue.message, words.lang), localize(issue.suggestion, words.lang), issue.code, kind,
            issue.dataset]


def issue_sheet(wb: Workbook, issues: Iterable[Issue], words: Words, page: PageLayout) -> SheetWriter:
    """数据问题: one row per issue, widths fitted, 问题 and 建议 wrapped, filters, frozen header, printable."""
    sheet = SheetWriter(wb, words("sheet.issues"), buffered=True)
    sheet.ws.freeze_panes = "A2"
    sheet.wrap = {ISSUE_KEYS.index("problem"), ISSUE_KEYS.index("suggestion")}
    sheet.append(issue_headers(words), header=True)
    for issue in issues:
        sheet.append(issue_row(issue, words))
    sheet.ws.auto_filter.ref = f"A1:{get_column_letter(len(ISSUE_KEYS))}{sheet.rows}"
    sheet.finish(page)
    return sheet


def write_issues_workbook(target: Path, issues: Iterable[Issue], words: Words | None = None, *,
                          company: str = "", as_of: dt.date | None = None) -> None:
    """``issues.xlsx``: every row not used (rejected or skipped), for the back office to check at the source."""
    words = words or Words("zh")
    wb = Workbook(write_only=True)
    use_body_font(wb, words.lang)
    issue_sheet(wb, issues, words, PageLayout(company, _dated(words, as_of) if as_of else "", words("page.footer")))
    wb.save(str(target))
