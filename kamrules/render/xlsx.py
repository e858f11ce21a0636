"""The portfolio workbook (openpyxl, write-only so 50,000 customers stay cheap).

Sheets: 概览 (summary: totals, a table per text decision — counts and revenue —, the
alert counts), 客户 (one row per customer: fields, metrics, every decision output and the
rule that decided it; frozen header, filters, number formats), one sheet per alert in
``portfolio.alerts``, and 数据问题 (every ledger issue and decision conflict).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ..errors import Issue
from ..metrics import aggregate_catalog
from ..metrics.catalog import CATALOG
from ..rules.decisions import CompiledRulebook
from ..rules.engine import DecisionIssue, TRACE
from ..rules.explain import language, phrase_expr, phrase_map

FORMATS = {"money": "#,##0.00", "percent": "0.0%", "date": "yyyy-mm-dd", "integer": "0",
           "number": "#,##0.00"}
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TITLE_FONT = Font(bold=True, size=14)


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    type: str


def portfolio_columns(rulebook: CompiledRulebook) -> list[Column]:
    """Customer sheet columns: customer fields, metrics, derived metrics, decisions + 依据."""
    columns: list[Column] = []
    customers = rulebook.spec.datasets.get("customers")
    if customers is not None:
        for name, spec in customers.columns.items():
            header = spec.title or (spec.aliases[0] if spec.aliases else name)
            columns.append(Column(name, header, "text" if spec.type == "enum" else spec.type))
    columns += [Column(name, info.title, info.type) for name, info in CATALOG.items()]
    columns += [Column(name, info.title, info.type) for name, info in aggregate_catalog(rulebook.spec.metrics).items()]
    columns += [Column(d.name, d.title, d.type) for d in rulebook.derived]
    for decision in rulebook.decisions:
        for output, type_name in decision.outputs.items():
            columns.append(Column(output, decision.label(output), type_name))
        columns.append(Column(TRACE + decision.id, f"{decision.title}依据", "text"))
    wanted = rulebook.spec.portfolio.columns
    if wanted:
        keep = set(wanted) | {"customer_id", "name"}
        columns = [c for c in columns if c.field in keep or c.field.startswith(TRACE)]
    return columns


def _cell(ws, value: Any, type_name: str | None = None, *, header: bool = False) -> WriteOnlyCell:
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    cell = WriteOnlyCell(ws, value=value)
    if header:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    elif type_name in FORMATS and value is not None:
        cell.number_format = FORMATS[type_name]
    return cell


class PortfolioWriter:
    def __init__(self, rulebook: CompiledRulebook, as_of: dt.date):
        self.rulebook, self.as_of = rulebook, as_of
        self.columns = portfolio_columns(rulebook)

    def write(self, target: Path, frame: pl.DataFrame, issues: list[Issue],
              conflicts: list[DecisionIssue], alerts: dict[str, pl.DataFrame], stats: dict[str, Any]) -> None:
        wb = Workbook(write_only=True)
        frame, alerts = self._worded(frame), {title: self._worded(rows) for title, rows in alerts.items()}
        self._summary(wb, frame, issues, conflicts, alerts, stats)
        columns = [c for c in self.columns if c.field in frame.columns]
        self._table(wb, "客户", columns, frame)
        for title, rows in alerts.items():
            self._table(wb, title[:31], columns, rows)
        self._issues(wb, issues, conflicts)
        wb.save(str(target))

    def _worded(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Trace columns in the words ``kamrules explain`` uses: ``D-A（A级客户基础折扣8%）；…``."""
        mapping = phrase_map(self.rulebook, language(self.rulebook, None))
        traces = [c for c in frame.columns if c.startswith(TRACE)]
        return frame.with_columns([phrase_expr(c, mapping).alias(c) for c in traces])

    def _table(self, wb: Workbook, title: str, columns: list[Column], frame: pl.DataFrame) -> None:
        ws = wb.create_sheet(title)
        ws.freeze_panes = "C2"
        for index, column in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = _width(column)
        ws.append([_cell(ws, c.header, header=True) for c in columns])
        types = [c.type for c in columns]
        for row in frame.select([c.field for c in columns]).iter_rows():
            ws.append([_cell(ws, value, t) for value, t in zip(row, types)])
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{frame.height + 1}"

    def _summary(self, wb, frame, issues, conflicts, alerts, stats) -> None:
        ws = wb.create_sheet("概览")
        ws.column_dimensions["A"].width = 28
        for letter in "BCD":
            ws.column_dimensions[letter].width = 18
        title = WriteOnlyCell(ws, value="大客户组合概览")
        title.font = TITLE_FONT
        ws.append([title])
        ws.append(["数据截至", _cell(ws, self.as_of, "date")])
        revenue = round(frame.get_column("revenue_12m").sum(), 2) if "revenue_12m" in frame.columns else None
        ws.append(["客户数", frame.height])
        ws.append(["近12个月销售额", _cell(ws, revenue, "money")])
        for decision in self.rulebook.decisions:
            for output, type_name in decision.outputs.items():
                if type_name == "bool" and output in frame.columns:
                    ws.append([decision.label(output), int(frame.get_column(output).fill_null(False).sum())])
        for title_text, rows in alerts.items():
            ws.append([title_text, rows.height])
        ws.append(["被拒绝的数据行", stats.get("rows_rejected", 0)])
        ws.append(["数据问题（含警告）", len(issues)])
        ws.append(["决策冲突", len(conflicts)])
        for decision in self.rulebook.decisions:
            self._breakdown(ws, frame, decision, revenue)

    def _breakdown(self, ws, frame: pl.DataFrame, decision, revenue) -> None:
        text_outputs = [o for o, t in decision.outputs.items() if t == "text" and o in frame.columns]
        if not text_outputs or "revenue_12m" not in frame.columns or decision.hit in ("collect", "rule_order"):
            return
        output = text_outputs[0]
        order = {value: i for i, value in enumerate(decision.literal_values(output))}
        groups = (frame.group_by(output).agg(pl.len().alias("n"), pl.col("revenue_12m").sum().alias("rev"))
                  .sort(pl.col(output).replace_strict(order, default=len(order), return_dtype=pl.Int64),
                        output, nulls_last=True))
        if groups.height > 20:
            return
        ws.append([])
        ws.append([_cell(ws, decision.label(output), header=True), _cell(ws, "客户数", header=True),
                   _cell(ws, "近12个月销售额", header=True), _cell(ws, "销售额占比", header=True)])
        for value, n, rev in groups.iter_rows():
            share = rev / revenue if revenue else None
            ws.append([value if value is not None else "（空）", n, _cell(ws, round(rev, 2), "money"),
                       _cell(ws, share, "percent")])

    def _issues(self, wb: Workbook, issues: list[Issue], conflicts: list[DecisionIssue]) -> None:
        ws = wb.create_sheet("数据问题")
        headers = ISSUE_HEADERS
        widths = [8, 24, 14, 8, 14, 20, 50, 40, 18, 12]
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "A2"
        ws.append([_cell(ws, h, header=True) for h in headers])
        for issue in issues:
            ws.append(issue_row(issue))
        for conflict in conflicts:
            ws.append(["错误", "", "", None, conflict.decision, conflict.customer_id, conflict.message, None,
                       "decision_conflict", "决策"])
        ws.auto_filter.ref = f"A1:{get_column_letter(len(ISSUE_HEADERS))}{len(issues) + len(conflicts) + 1}"


ISSUE_HEADERS = ["级别", "文件", "工作表", "行号", "列", "值", "问题", "建议", "规则", "数据集"]
LEVELS = {"error": "错误（未使用）", "skipped": "跳过", "warning": "警告"}


def issue_row(issue: Issue) -> list[Any]:
    return [LEVELS.get(issue.severity, issue.severity), issue.file, issue.sheet, issue.row, issue.column,
            issue.value, issue.message, issue.suggestion, issue.code, issue.dataset]


def write_issues_workbook(target: Path, issues: Iterable[Issue]) -> None:
    """``issues.xlsx``: every row not used (rejected or skipped), for the back office to check at the source."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("数据问题")
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, h, header=True) for h in ISSUE_HEADERS])
    for issue in issues:
        ws.append(issue_row(issue))
    wb.save(str(target))


def _width(column: Column) -> float:
    base = max(len(column.header) * 2, 10)
    if column.type == "date":
        return max(base, 12)
    if column.field.startswith(TRACE):
        return 18
    return min(base, 30)
