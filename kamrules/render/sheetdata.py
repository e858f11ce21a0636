"""Big tables straight into a saved workbook's XML, built column-wise by Polars.

openpyxl spends a few microseconds of Python on every cell, so a 50,000-customer sheet of
~90 columns took most of a minute. The workbook is still made by openpyxl (styles, header,
frozen panes, filters, conditional formats, charts); only the data rows of the big tables
are produced here, as SpreadsheetML strings computed for a whole column at a time, and
spliced into the saved sheets' ``<sheetData>``. Cells are written like openpyxl writes them:
text as inline strings (so ``=1+1`` stays text), numbers and dates as values with the
column's number format, booleans as ``t="b"``, nulls as no cell.
"""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import polars as pl
from openpyxl.utils import get_column_letter

from ..ledger.xlsx_inspect import sheet_members
from ..text import XML_ILLEGAL

EXCEL_EPOCH = dt.date(1899, 12, 30)
BATCH = 20_000
LEVEL = 1  # zlib level for the big sheets: 3x faster than the default 6, files about a fifth larger
_ILLEGAL_XML = XML_ILLEGAL  # openpyxl refuses these; they are dropped, as SheetWriter drops them (kamrules.text)


@dataclass
class BulkRows:
    """Data rows for one sheet: ``frame`` columns in sheet order, from ``first_row``;
    ``styles`` is the cell style index of each column (None = General)."""

    frame: pl.DataFrame
    styles: list[int | None]
    first_row: int = 2


def _text(value: pl.Expr) -> pl.Expr:
    return (value.str.replace_all(_ILLEGAL_XML, "").str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True))


def _cell(name: str, dtype: pl.DataType, letter: str, style: int | None, row: pl.Expr) -> pl.Expr:
    column = pl.col(name)
    ref = [pl.lit(f'<c r="{letter}'), row]
    styled = f' s="{style}"' if style is not None else ""
    if dtype == pl.Boolean:
        return pl.concat_str([*ref, pl.lit(f'"{styled} t="b"><v>'), column.cast(pl.Int8).cast(pl.String),
                              pl.lit("</v></c>")])
    if dtype == pl.Date:
        value = (column - pl.lit(EXCEL_EPOCH)).dt.total_days().cast(pl.String)
    elif dtype == pl.Datetime:
        value = ((column - pl.lit(dt.datetime(1899, 12, 30))).dt.total_milliseconds() / 86_400_000).cast(pl.String)
    elif dtype.is_numeric():
        value = pl.when(column.cast(pl.Float64).is_finite()).then(column.cast(pl.String))
    else:
        text = (column.list.eval(pl.element().cast(pl.String)).list.join(", ") if isinstance(dtype, pl.List)
                else column.cast(pl.String))
        return pl.concat_str([*ref, pl.lit(f'"{styled} t="inlineStr"><is><t xml:space="preserve">'),
                              _text(text), pl.lit("</t></is></c>")])
    return pl.concat_str([*ref, pl.lit(f'"{styled}><v>'), value, pl.lit("</v></c>")])


def rows_xml(bulk: BulkRows, batch: int = BATCH) -> Iterator[bytes]:
    """``<row>`` elements, ``batch`` rows per piece."""
    frame = bulk.frame
    for start in range(0, frame.height, batch):
        part = frame.slice(start, batch)
        row = pl.int_range(bulk.first_row + start, bulk.first_row + start + part.height).cast(pl.String)
        cells = [_cell(name, dtype, get_column_letter(i), style, row)
                 for i, (name, dtype, style) in enumerate(zip(part.columns, part.dtypes, bulk.styles), start=1)]
        xml = part.select(pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>")],
                                        ignore_nulls=True).str.join("")).item()
        yield xml.encode("utf-8")


def insert_rows(path: Path, tables: dict[str, BulkRows]) -> None:
    """Splice the rows into the saved workbook at ``path`` (rewritten in place via a temporary file)."""
    if not tables:
        return
    members = sheet_members(path)
    targets = {members[title]: bulk for title, bulk in tables.items()}
    temporary = path.with_name(path.name + ".rows")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(
            temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=LEVEL) as out:
        for info in source.infolist():
            bulk = targets.get(info.filename)
            if bulk is None:
                out.writestr(info, source.read(info))
                continue
            head, tail = _split(source.read(info))
            with out.open(info.filename, "w", force_zip64=True) as sheet:
                sheet.write(head)
                for piece in rows_xml(bulk):
                    sheet.write(piece)
                sheet.write(tail)
    os.replace(temporary, path)


def _split(xml: bytes) -> tuple[bytes, bytes]:
    """The sheet XML before and after the place where data rows go (end of ``<sheetData>``)."""
    end = xml.find(b"</sheetData>")
    if end >= 0:
        return xml[:end], xml[end:]
    empty = xml.find(b"<sheetData/>")
    if empty < 0:
        raise ValueError("sheet XML has no sheetData")
    return xml[:empty] + b"<sheetData>", b"</sheetData>" + xml[empty + len(b"<sheetData/>"):]


