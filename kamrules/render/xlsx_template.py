"""Fill a company's own Excel template (``portfolio: {template: portfolio.xlsx}``).

The template keeps its formatting, column widths, number formats, conditional formats and
formulas; kamrules writes:

- single cells named (Formulas › Name Manager) ``as_of``, ``customer_count``, ``revenue_12m``
  or ``count_<bool output>`` (e.g. ``count_key_account``);
- the rows of the Excel table named ``customers`` (or, without one, the sheet ``客户``):
  its header row decides which columns are written, matched by our column header (客户名称)
  or field name (name); the table grows to the data;
- the rows of a sheet named ``数据问题`` when the template has one.

A cell the template left as General gets kamrules's number format (money in the project's
``currency:``); any format the template set is kept.

openpyxl cannot carry charts, images, pivot tables or slicers of a workbook it loads; the
writer lists what the template has of those as warnings instead of dropping them silently.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
from openpyxl.utils import get_column_letter, range_boundaries

from .template_files import read_template
from ..errors import Issue, RenderError
from ..i18n import Text, msg
from ..rules.documents_config import DEFAULT_CURRENCY
from .xlsx import FORMATS, ISSUE_HEADERS, Column, _clean, issue_row, number_formats

LOST_PARTS = {"xl/charts/": msg("template.lost.charts"), "xl/media/": msg("template.lost.images"),
              "xl/pivotTables/": msg("template.lost.pivot_tables"),
              "xl/slicers/": msg("template.lost.slicers")}  # (a chart or an image also brings an xl/drawings/ part)


def lost_parts(template: Path | bytes) -> list[Text]:
    with zipfile.ZipFile(io.BytesIO(template) if isinstance(template, bytes) else template) as archive:
        names = archive.namelist()
    return [label for prefix, label in LOST_PARTS.items() if any(n.startswith(prefix) for n in names)]


def _write(cell, value: Any, type_name: str | None, formats: dict[str, str] = FORMATS) -> None:
    value = _clean(value)  # lists joined; no character a cell cannot hold
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula
    if type_name in formats and value is not None and cell.number_format == "General":
        cell.number_format = formats[type_name]


class TemplatePortfolioWriter:
    def __init__(self, template: Path, display: str, columns: list[Column], as_of: dt.date,
                 currency: str = DEFAULT_CURRENCY, root: Path | None = None):
        """``root``: the project; the template must be a regular file inside it (default: inside
        its own folder), see :mod:`kamrules.files`."""
        self.template, self.display, self.columns, self.as_of = template, display, columns, as_of
        self.formats = number_formats(currency)
        self.root = root

    def write(self, target: Path, frame: pl.DataFrame, issues: list[Issue], counts: dict[str, int]) -> list[Issue]:
        source = read_template(self.template, self.display, self.root)
        try:
            wb = openpyxl.load_workbook(io.BytesIO(source))
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise RenderError(msg("template.unopenable", reason=str(exc)), template=self.display) from None
        warnings = [self._warning(msg("template.lost", label=label), msg("template.lost.hint"))
                    for label in lost_parts(source)]
        values = {"as_of": self.as_of, "customer_count": frame.height,
                  "revenue_12m": round(frame["revenue_12m"].sum(), 2) if "revenue_12m" in frame.columns else None,
                  **{f"count_{name}": n for name, n in counts.items()}}
        types = {"as_of": "date", "revenue_12m": "money"}
        warnings += self._named_cells(wb, values, types)
        warnings += self._customers(wb, frame)
        if "数据问题" in wb.sheetnames:
            self._rows(wb["数据问题"], 1, ISSUE_HEADERS, [issue_row(i) for i in issues])
        wb.save(target)
        return warnings

    def _warning(self, message: Text, suggestion: Text | None = None) -> Issue:
        return Issue(self.display, None, None, None, None, message, "portfolio_template", "warning", None, suggestion)

    def _named_cells(self, wb, values: dict[str, Any], types: dict[str, str]) -> list[Issue]:
        warnings = []
        for name, defined in wb.defined_names.items():
            if name not in values:
                warnings.append(self._warning(msg("template.unknown_name", name=name),
                                              msg("template.unknown_name.hint")))
                continue
            for sheet, ref in defined.destinations:
                _write(wb[sheet][ref.replace("$", "").split(":")[0]], values[name], types.get(name), self.formats)
        return warnings

    def _customers(self, wb, frame: pl.DataFrame) -> list[Issue]:
        for ws in wb.worksheets:
            if "customers" in ws.tables:
                table = ws.tables["customers"]
                min_col, min_row, _, _ = range_boundaries(table.ref)
                headers = [ws.cell(min_row, c).value for c in range(min_col, min_col + len(table.tableColumns))]
                last = self._fill(ws, min_row, min_col, headers, frame)
                table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(min_col + len(headers) - 1)}" \
                            f"{max(last, min_row + 1)}"
                return []
        if "客户" in wb.sheetnames:
            ws = wb["客户"]
            headers = [c.value for c in ws[1]]
            self._fill(ws, 1, 1, headers, frame)
            return []
        return [self._warning(msg("template.no_customers"), msg("template.no_customers.hint"))]

    def _fill(self, ws, header_row: int, first_col: int, headers: list, frame: pl.DataFrame) -> int:
        by_name = {c.header: c for c in self.columns} | {c.field: c for c in self.columns}
        chosen = [by_name.get(str(h).strip()) if h is not None else None for h in headers]
        fields = [c.field for c in chosen if c is not None and c.field in frame.columns]
        row_number = header_row
        for row_number, row in enumerate(frame.select(fields).iter_rows(named=True), start=header_row + 1):
            for offset, column in enumerate(chosen):
                if column is not None and column.field in row:
                    _write(ws.cell(row_number, first_col + offset), row[column.field], column.type, self.formats)
        return row_number

    @staticmethod
    def _rows(ws, header_row: int, headers: list[str], rows: list[list]) -> None:
        for r, values in enumerate(rows, start=header_row + 1):
            for c, value in enumerate(values, start=1):
                _write(ws.cell(r, c), value, None)
