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
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from babel.numbers import get_currency_precision
from openpyxl.utils import get_column_letter

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
from .sheetdata import BulkRows, insert_rows

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
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TITLE_FONT = Font(bold=True, size=14)


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


def _cell(ws, value: Any, type_name: str | None = None, *, header: bool = False) -> WriteOnlyCell:
    value = _clean(value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text such as "=1+1" or "@x" stays text, never a formula
    if header:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    elif type_name in FORMATS and value is not None:
        cell.number_format = FORMATS[type_name]
    return cell


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
    """

    def __init__(self, wb: Workbook, title: str, formats: dict[str, str] | None = None):
        self.ws, self.rows = wb.create_sheet(title), 0
        self.formats = formats or FORMATS
        self._styled: dict[tuple, list[WriteOnlyCell]] = {}

    def append(self, values: list, types: list | None = None, *, header: bool = False) -> int:
        if header:
            row = [v if isinstance(v, Cell) else _cell(self.ws, v, header=True) for v in values]
        else:
            row = self._row(values, types or [None] * len(values))
        self.ws.append(row)
        self.rows += 1
        return self.rows

    def _row(self, values: list, types: list) -> list:
        key = tuple(types)
        cells = self._styled.get(key)
        if cells is None:
            cells = self._styled[key] = [_FormattedCell(self.ws) if t in self.formats else None for t in types]
            for cell, type_name in zip(cells, types):
                if cell is not None:
                    cell.number_format = self.formats[type_name]
        row = []
        for value, cell in zip(values, cells):
            value = _clean(value)  # a rejected cell or a name may hold a control character
            if isinstance(value, str) and value.startswith("="):
                row.append(_cell(self.ws, value))  # text such as "=1+1" stays text, never a formula
            elif value is None or cell is None or isinstance(value, (str, bool, Cell)):
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
        for dtype, type_name in zip(frame.dtypes, types):
            number_format = (self.formats["date"] if dtype in (pl.Date, pl.Datetime)
                             else self.formats.get(type_name) if dtype.is_numeric() else None)
            if number_format is None:
                styles.append(None)
                continue
            probe = _FormattedCell(self.ws)
            probe.number_format = number_format
            styles.append(probe.style_id)  # registers the style in the workbook
        rows = BulkRows(frame, styles, self.rows + 1)
        self.rows += frame.height
        return rows

    def widths(self, widths: list[float]) -> None:
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width


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
    return w("visits.never") if task.overdue_days >= 10 ** 6 else w("visits.late", days=task.overdue_days)


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

    def write(self, target: Path, frame: pl.DataFrame, issues: list[Issue],
              conflicts: list[DecisionIssue], alerts: dict[str, pl.DataFrame], stats: dict[str, Any],
              reminders: list | None = None, plan: VisitPlan | None = None) -> None:
        wb, self._bulk = Workbook(write_only=True), {}
        frame, alerts = self.worded(frame), {title: self.worded(rows) for title, rows in alerts.items()}
        w = self.words
        summary = SheetWriter(wb, w("sheet.summary"), self.formats)
        columns = [c for c in self.columns if c.field in frame.columns]
        self._table(wb, w("sheet.customers"), columns, frame)
        if plan is None:
            self._visit_plan(wb, frame)
        else:
            self._scheduled(wb, frame, plan)
            self._load(wb, plan)
            if plan.unplaced:
                self._unplaced(wb, frame, plan)
        self._reminders(wb, reminders or [], w)
        builtin = [w(f"sheet.{key}") for key in ("issues", "conflicts", "pareto")]  # made after the alerts
        for title, rows in alerts.items():
            self._table(wb, sheet_title(title, wb.sheetnames + builtin), columns, rows)
        self._issues(wb, issues)
        if conflicts:
            self._conflicts(wb, conflicts, frame)
        pareto = self._pareto(wb, frame)
        self._summary(summary, frame, issues, conflicts, alerts, stats, pareto)
        wb.save(str(target))
        insert_rows(target, self._bulk)

    def worded(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Trace columns in the words ``kamrules explain`` uses: ``D-A（A级客户基础折扣8%）；…``, in
        English ``D-A (A-tier base discount); …``."""
        lang = self.words.lang
        mapping, separator = phrase_map(self.rulebook, lang), WORDS[lang]["separator"]
        traces = [c for c in frame.columns if c.startswith(TRACE)]
        return frame.with_columns([phrase_expr(c, mapping, separator).alias(c) for c in traces])

    def _table(self, wb: Workbook, title: str, columns: list[Column], frame: pl.DataFrame) -> None:
        sheet = SheetWriter(wb, title, self.formats)
        sheet.ws.freeze_panes = "C2"
        sheet.widths([_width(c) for c in columns])
        sheet.append([c.header for c in columns], header=True)
        self._bulk[sheet.ws.title] = sheet.bulk(frame.select([c.field for c in columns]), [c.type for c in columns])
        last = get_column_letter(len(columns))
        sheet.ws.auto_filter.ref = f"A1:{last}{frame.height + 1}"
        fields = [c.field for c in columns]
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
        sheet = SheetWriter(wb, w("sheet.visits"))
        sheet.ws.freeze_panes = "A2"
        sheet.widths([14, 8, 10, 30, 10, 8, 12, 14, 14][:len(wanted)])
        sheet.append([w[1] for w in wanted], header=True)
        self._bulk[sheet.ws.title] = sheet.bulk(rows.select([w[0] for w in wanted]), [w[2] for w in wanted])
        sheet.ws.auto_filter.ref = f"A1:{get_column_letter(len(wanted))}{rows.height + 1}"
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
        sheet = SheetWriter(wb, w("sheet.visits"))
        sheet.ws.freeze_panes = "A2"
        sheet.widths([12, 6, 7, 7, 12, 14, 10, 30, 6, 12, 12, 24])
        sheet.append(headers, header=True)
        types = ["date", "text", "text", "text", "text", "text", "text", "text", "text", "text", "date", "text"]
        self._bulk[sheet.ws.title] = sheet.bulk(table, types)
        sheet.ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{table.height + 1}"
        if table.height:
            on_plan = _quoted(w("visits.on_plan"))
            sheet.ws.conditional_formatting.add(f"J2:J{table.height + 1}", FormulaRule(
                formula=[f'AND(J2<>"",J2<>{on_plan})'], fill=_fill("FFC7CE")))

    def _load(self, wb: Workbook, plan: VisitPlan) -> None:
        """Each rep's visits on each working day of the plan, against the rep's daily limit."""
        w = self.words
        reps = plan.rep_names()
        load = {(rep, day): visits for rep, day, visits, _ in plan.load()}
        sheet = SheetWriter(wb, w("sheet.load"))
        sheet.ws.freeze_panes = "C2"
        sheet.widths([12, 6, *[14] * len(reps), 8])
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
        if days and reps:
            last = get_column_letter(2 + len(reps))
            sheet.ws.conditional_formatting.add(f"C2:{last}{len(days) + 1}", ColorScaleRule(
                start_type="num", start_value=0, start_color="FFFFFF", end_type="max", end_color="F8CBAD"))

    def _unplaced(self, wb: Workbook, frame: pl.DataFrame, plan: VisitPlan) -> None:
        """未能安排: the tasks the plan could not place, with the reason; nothing is dropped."""
        w = self.words
        names, _ = _customer_labels(frame, self.spec.tier_field)
        sheet = SheetWriter(wb, w("sheet.unplaced"))
        sheet.ws.freeze_panes = "A2"
        sheet.widths([12, 14, 10, 30, 12, 60])
        sheet.append([w("visits.manager"), w("visits.task"), w("visits.customer_id"), w("visits.name"),
                      w("visits.due"), w("visits.reason")], header=True)
        for item in plan.unplaced:
            task = item.task
            sheet.append([task.rep or w("visits.unassigned"), _task_title(task, w), task.customer_id,
                          names.get(task.customer_id), task.due, localize(item.reason, w.lang)],
                         [None, None, None, None, "date", None])

    @staticmethod
    def _reminders(wb: Workbook, events: list, w: Words) -> None:
        """Birthdays, contract renewals and festivals in the calendar's horizon, by date."""
        kinds = {kind: w(f"reminders.{kind}") for kind in ("birthday", "renewal", "festival")}
        # (greetings: the plan's all-day events; renewals are visits now, on the visit plan)
        sheet = SheetWriter(wb, w("sheet.reminders"))
        sheet.ws.freeze_panes = "A2"
        sheet.widths([14, 10, 10, 40, 60])
        sheet.append([w(f"reminders.{k}") for k in ("date", "kind", "customer_id", "summary", "description")],
                     header=True)
        separator = "；" if w.lang == "zh" else "; "
        for event in events:
            customer = None if event.kind == "festival" else event.key
            sheet.append([event.day, kinds.get(event.kind, event.kind), customer, event.title(w.lang),
                          event.description(w.lang, separator)], ["date", None, None, None, None])

    def _pareto(self, wb: Workbook, frame: pl.DataFrame) -> SheetWriter | None:
        """Cumulative revenue share by customer rank, at most 200 points (charted on the summary)."""
        if "cumulative_share" not in frame.columns or "revenue_rank" not in frame.columns or frame.is_empty():
            return None
        ranked = frame.sort("revenue_rank").select("revenue_rank", "customer_id", "name", "cumulative_share")
        step = max(1, ranked.height // 200)
        points = ranked.gather_every(step)
        if points["revenue_rank"][-1] != ranked["revenue_rank"][-1]:
            points = pl.concat([points, ranked.tail(1)])
        w = self.words
        sheet = SheetWriter(wb, w("sheet.pareto"))
        sheet.widths([8, 10, 30, 10])
        sheet.append([w(f"pareto.{k}") for k in ("rank", "customer_id", "name", "share")], header=True)
        for row in points.iter_rows():
            sheet.append(list(row), ["integer", "text", "text", "percent"])
        return sheet

    def _summary(self, sheet: SheetWriter, frame, issues, conflicts, alerts, stats, pareto: SheetWriter | None) -> None:
        ws, w = sheet.ws, self.words
        sheet.widths([28, 18, 18, 18])
        title = WriteOnlyCell(ws, value=w("summary.title"))
        title.font = TITLE_FONT
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
        for slot, model in (stats.get("models") or {}).items():
            self._model_rows(sheet, slot, model, w)
        anchor_row = 2
        for decision in self.rulebook.decisions:
            table = self._breakdown(sheet, frame, decision, revenue)
            if table and self.spec.tier_field in decision.outputs:
                self._bar(ws, w("chart.distribution", label=decision.label(self.spec.tier_field)), table, 2,
                          f"F{anchor_row}")
                anchor_row += 16
        exposure = self._exposure(sheet, frame)
        if exposure:
            self._bar(ws, w("chart.exposure"), exposure, 3, f"F{anchor_row}")
            anchor_row += 16
        if pareto is not None:
            chart = LineChart()
            chart.title, chart.y_axis.title, chart.x_axis.title = w("chart.pareto"), w("pareto.share"), w("chart.rank")
            chart.y_axis.number_format = "0%"
            chart.add_data(Reference(pareto.ws, min_col=4, min_row=1, max_row=pareto.rows), titles_from_data=True)
            chart.set_categories(Reference(pareto.ws, min_col=1, min_row=2, max_row=pareto.rows))
            chart.height, chart.width = 7.5, 16
            ws.add_chart(chart, f"F{anchor_row}")

    @staticmethod
    def _model_rows(sheet: SheetWriter, slot: str, model: dict, w: Words) -> None:
        """A predictive model: which one was used and why, then its parameters and fit."""
        title = w("model." + slot)
        status = model.get("status", "fitted")
        if status == "not_fitted":
            sheet.append([title, w("model.status.not_fitted", reason=localize(model.get("reason", ""), w.lang))])
            return
        used = model.get("model") or slot
        if status == "limiting":
            p = model["params"].get("p", 0.0)
            sheet.append([title, w(f"model.status.{used}", p=f"{p:.2%}")])
        else:
            sheet.append([title, w("model.status.fitted")])
        params = ("，" if w.lang == "zh" else ", ").join(f"{k} = {v:.4g}" for k, v in model["params"].items())
        sheet.append([w("model.params", title=title), params])
        state = w("model.converged" if model["converged"] else "model.not_converged")
        sheet.append([w("model.fit", title=title), w("model.fit_text", customers=model["customers"],
                                                     ll=f"{model['log_likelihood']:.2f}", state=state)])

    @staticmethod
    def _bar(ws, title: str, table: tuple[int, int], value_column: int, anchor: str) -> None:
        first, last = table
        chart = BarChart()
        chart.title, chart.legend = title, None
        chart.add_data(Reference(ws, min_col=value_column, min_row=first, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=first + 1, max_row=last))
        chart.height, chart.width = 7.5, 16
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

    def _exposure(self, sheet: SheetWriter, frame: pl.DataFrame) -> tuple[int, int] | None:
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
        sheet.append([])
        first = sheet.append([owner.label(status) if owner else status, w("summary.customers"),
                              w("summary.outstanding")], header=True)
        for value, n, total in groups.iter_rows():
            last = sheet.append([value if value is not None else w("summary.empty"), n, round(total, 2)],
                                [None, None, "money"])
        return first, last

    def _issues(self, wb: Workbook, issues: list[Issue]) -> None:
        w = self.words
        sheet = SheetWriter(wb, w("sheet.issues"))
        sheet.widths([8, 24, 14, 8, 14, 20, 50, 40, 18, 16, 12])
        sheet.ws.freeze_panes = "A2"
        sheet.append(issue_headers(w), header=True)
        for issue in issues:
            sheet.append(issue_row(issue, w))
        sheet.ws.auto_filter.ref = f"A1:{get_column_letter(len(ISSUE_HEADERS))}{sheet.rows}"

    def _conflicts(self, wb: Workbook, conflicts: list[DecisionIssue], frame: pl.DataFrame) -> None:
        """One row per customer and decision that could not be decided: the rules involved and the remedy."""
        w = self.words
        sheet = SheetWriter(wb, w("sheet.conflicts"))
        sheet.widths([12, 28, 18, 22, 60, 60])
        sheet.ws.freeze_panes = "A2"
        sheet.append([w(f"conflicts.{key}") for key in CONFLICT_KEYS], header=True)
        names = dict(frame.select("customer_id", "name").iter_rows()) if "name" in frame.columns else {}
        for conflict in conflicts:
            sheet.append([conflict.customer_id, names.get(conflict.customer_id), self._decision_title(conflict.decision),
                          ", ".join(conflict.rule_ids), localize(conflict.message, w.lang),
                          localize(conflict.suggestion, w.lang)])
        sheet.ws.auto_filter.ref = f"A1:{get_column_letter(len(CONFLICT_KEYS))}{sheet.rows}"

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


def write_issues_workbook(target: Path, issues: Iterable[Issue], words: Words | None = None) -> None:
    """``issues.xlsx``: every row not used (rejected or skipped), for the back office to check at the source."""
    words = words or Words("zh")
    wb = Workbook(write_only=True)
    sheet = SheetWriter(wb, words("sheet.issues"))
    sheet.ws.freeze_panes = "A2"
    sheet.append(issue_headers(words), header=True)
    for issue in issues:
        sheet.append(issue_row(issue, words))
    wb.save(str(target))


def _width(column: Column) -> float:
    base = max(len(column.header) * 2, 10)
    if column.type == "date":
        return max(base, 12)
    if column.field.startswith(TRACE):
        return 18
    return min(base, 30)
