"""Big tables straight into a saved workbook's XML, built column-wise by Polars.

openpyxl spends a few microseconds of Python on every cell, so a 50,000-customer sheet of
~90 columns took most of a minute. The workbook is still made by openpyxl (styles, header,
frozen panes, filters, conditional formats, charts); only the data rows of the big tables
are produced here, as SpreadsheetML strings computed for a whole column at a time, and
spliced into the saved sheets' ``<sheetData>``. Cells are written like openpyxl writes them:
text as text (so ``=1+1`` stays text), numbers and dates as values with the column's number
format, booleans as ``t="b"``, nulls as no cell. A text column whose values repeat (tiers,
regions, the rules' reasons) is written once into the workbook's shared strings, each cell only
its number there; other text is written inline, in the cell.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import polars as pl
from openpyxl.utils import get_column_letter

from ..background import ahead
from ..ledger.xlsx_inspect import sheet_members
from ..text import XML_ILLEGAL

EXCEL_EPOCH = dt.date(1899, 12, 30)
BATCH = 20_000
LEVEL = 1  # zlib level for the big sheets: 3x faster than the default 6, files about a fifth larger
_ILLEGAL_XML = XML_ILLEGAL  # openpyxl refuses these; they are dropped, as SheetWriter drops them (kamrules.text)


@dataclass
class BulkRows:
    """Data rows for one sheet: ``frame`` columns in sheet order, from ``first_row``;
    ``styles`` is the cell style index of each column (None = General); ``shared``: the columns
    that hold numbers in the shared strings instead of their text (:class:`SharedStrings`)."""

    frame: pl.DataFrame
    styles: list[int | None]
    first_row: int = 2
    shared: frozenset[str] = frozenset()


SST_PART = "xl/sharedStrings.xml"
SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_RELATION = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_TYPES, _RELATIONS = "[Content_Types].xml", "xl/_rels/workbook.xml.rels"  # the parts that name the others


class SharedStrings:
    """The workbook's shared-string table, for the columns in which each text comes back at
    least twice on average: such a cell is ``<c t="s"><v>7</v></c>`` instead of carrying its
    text, which made the big sheets' XML (to make and to compress) a quarter smaller."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.cells = 0

    def share(self, bulk: BulkRows) -> BulkRows:
        """``bulk`` with its repeating text columns turned into shared-string numbers."""
        frame, shared = bulk.frame, set()
        for name, dtype in frame.schema.items():
            if not (dtype == pl.String or isinstance(dtype, pl.List)):
                continue
            texts = frame.select(_shown(pl.col(name), dtype)).to_series()
            values = texts.drop_nulls()
            distinct = values.unique(maintain_order=True).to_list()
            if not distinct or len(distinct) * 2 > values.len():
                continue
            numbers = [str(self.index.setdefault(text, len(self.index))) for text in distinct]
            frame = frame.with_columns(texts.replace_strict(distinct, numbers, return_dtype=pl.String).alias(name))
            shared.add(name)
            self.cells += values.len()
        return BulkRows(frame, bulk.styles, bulk.first_row, frozenset(shared))

    def xml(self) -> bytes:
        items = pl.Series(list(self.index), dtype=pl.String)
        spaced = items.str.contains(r"^\s|\s$")
        body = pl.select(pl.concat_str([pl.when(spaced).then(pl.lit('<si><t xml:space="preserve">'))
                                        .otherwise(pl.lit("<si><t>")), _text(pl.lit(items)), pl.lit("</t></si>")])
                         .str.join("")).item() if len(items) else ""
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN_NS}" '
                f'count="{self.cells}" uniqueCount="{len(self.index)}">{body}</sst>').encode("utf-8")


# --- column widths ------------------------------------------------------------------------------
# Excel measures a column in widths of the body font's "0"; a CJK or full-width character
# (East Asian width W or F) takes two. Widths are fitted to the header and to the values of the
# first SAMPLE rows, within MIN_WIDTH..MAX_WIDTH; a header wider than its column wraps (the
# header row grows a line), long text wraps in its column (see ``wrap`` in the writer).

MIN_WIDTH, MAX_WIDTH = 6.0, 50.0
SAMPLE = 2000
PADDING = 2.0  # a character's room either side, and the filter button's
BOLD = 1.1  # a bold header is about a tenth wider than the body text
HEADER_LINES = 2  # a header may take two lines before its column is widened for it
# the East Asian wide and full-width characters as one regex class (Polars and Python alike):
# Hangul Jamo, CJK radicals … CJK symbols, kana … CJK compatibility, CJK extension A, unified
# ideographs, Yi, Hangul, compatibility ideographs, vertical and small forms, full-width forms,
# the emoji most names carry, and the supplementary ideographic planes
WIDE = ("[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
        "\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"
        "\U0001f300-\U0001f64f\U0001f900-\U0001f9ff\U00020000-\U0003fffd]")
WIDE_CHARS = re.compile(WIDE)


def text_width(value) -> int:
    """The width of ``value`` as text: 2 for each East Asian wide or full-width character, 1 for
    the others; the widest line of a text in several lines."""
    if value is None:
        return 0
    text = value if isinstance(value, str) else str(value)
    return max((sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
                for line in text.splitlines()), default=0)


def _tokens(text: str) -> list[str]:
    """Where a wrapped line may break: after each wide character, and at spaces."""
    return re.findall(WIDE + "|[^\\s]+?(?=" + WIDE + "|\\s|$)\\s*|\\s+", text)


def lines_at(text: str, width: float) -> int:
    """How many lines ``text`` (a bold header) takes, wrapped in a column ``width`` wide."""
    room = (width - PADDING) / BOLD
    lines, used = 1, 0.0
    for token in _tokens(text):
        size = text_width(token.rstrip())
        if used and used + size > room:
            lines, used = lines + 1, 0.0
        used += text_width(token)
        while used > room and room >= 1:  # a word wider than the column is cut where it must be
            lines, used = lines + 1, used - room
    return lines


def header_width(text: str, lines: int = HEADER_LINES) -> float:
    """The narrowest column in which the bold header takes at most ``lines`` lines."""
    full = text_width(text) * BOLD + PADDING
    width = max(MIN_WIDTH, math.ceil(full / lines))
    while width < full and lines_at(text, width) > lines:
        width += 1
    return min(float(width), math.ceil(full))


def fit(header: str | None, content: float) -> float:
    """A column's width: its values' (``content`` characters) and its header's (in at most two lines)."""
    width = max(content + PADDING, header_width(header) if header else MIN_WIDTH)
    return float(min(max(math.ceil(width), MIN_WIDTH), MAX_WIDTH))


def number_text_width(value: float, number_format: str | None) -> int:
    """How wide a number shows in ``number_format`` (one of the writer's formats, or General)."""
    text_format = number_format or "General"
    if "%" in text_format:
        places = len(text_format.split(".")[1].split("%")[0]) if "." in text_format else 0
        text = f"{value * 100:,.{places}f}%"
    elif text_format == "General":
        text = f"{value:.10g}" if isinstance(value, float) and not float(value).is_integer() else f"{int(value)}"
        text = text[:11]
    else:
        digits = text_format.split("]")[-1].strip()
        places = len(digits.split(".")[1]) if "." in digits else 0
        grouped = "," in digits
        text = f"{value:,.{places}f}" if grouped else f"{value:.{places}f}"
        symbol = re.match(r"\[\$([^-\]]*)", text_format)
        if symbol:
            text = symbol.group(1) + " " + text
    return text_width(text)


def content_widths(frame: pl.DataFrame, number_formats: Sequence[str | None], sample: int = SAMPLE) -> list[float]:
    """How wide the values of each column of ``frame`` show: text measured by Polars (characters,
    plus one more for each wide one, :data:`WIDE`), numbers by their largest and smallest value in
    the column's format, dates as ``yyyy-mm-dd``, booleans as a word; over the first ``sample`` rows."""
    part = frame.head(sample)
    texts = [name for name, dtype in part.schema.items()
             if not (dtype.is_numeric() or dtype in (pl.Date, pl.Datetime, pl.Boolean))]
    measured: dict[str, int | None] = {}
    if texts and part.height:
        def shown(name: str) -> pl.Expr:
            column = pl.col(name)
            text = (column.list.eval(pl.element().cast(pl.String)).list.join(", ")
                    if isinstance(part.schema[name], pl.List) else column.cast(pl.String))
            return (text.str.len_chars() + text.str.count_matches(WIDE)).max().alias(name)
        measured = part.select([shown(name) for name in texts]).row(0, named=True)
    numbers = [name for name, dtype in part.schema.items() if dtype.is_numeric()]
    extremes: dict[str, float | None] = {}
    if numbers and part.height:  # the smallest and largest finite value of every number column, at once
        def finite(name: str) -> pl.Expr:
            value = pl.col(name).cast(pl.Float64)
            return value.filter(value.is_finite())
        extremes = part.select([finite(n).min().alias(f"{n}\0min") for n in numbers]
                               + [finite(n).max().alias(f"{n}\0max") for n in numbers]).row(0, named=True)
    widths = []
    for name, dtype, number_format in zip(part.columns, part.dtypes, number_formats):
        if dtype in (pl.Date, pl.Datetime):
            content = 10.0 if part[name].null_count() < part.height else 0.0
        elif dtype == pl.Boolean:
            content = 5.0
        elif dtype.is_numeric():
            ends = [v for v in (extremes.get(f"{name}\0min"), extremes.get(f"{name}\0max")) if v is not None]
            content = float(max((number_text_width(v, number_format) for v in ends), default=0))
        else:
            content = float(measured.get(name) or 0)
        widths.append(content)
    return widths


def frame_widths(frame: pl.DataFrame, headers: Sequence[str], number_formats: Sequence[str | None],
                 sample: int = SAMPLE) -> list[float]:
    """Column widths for ``frame`` (columns in sheet order) under ``headers`` (:func:`fit`)."""
    return [fit(header, content) for header, content in zip(headers, content_widths(frame, number_formats, sample))]


def header_lines(headers: Sequence[str | None], widths: Sequence[float]) -> int:
    """The lines the header row needs so that no header is cut."""
    return max((lines_at(str(h), w) for h, w in zip(headers, widths) if h), default=1)


def _text(value: pl.Expr) -> pl.Expr:
    return (value.str.replace_all(_ILLEGAL_XML, "").str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True))


def _shown(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A text column as its cells show it: a list as its items joined with commas."""
    return column.list.eval(pl.element().cast(pl.String)).list.join(", ") if isinstance(dtype, pl.List) \
        else column.cast(pl.String)


def _cell(name: str, dtype: pl.DataType, letter: str, style: int | None, row: pl.Expr,
          shared: bool = False) -> pl.Expr:
    column = pl.col(name)
    ref = [pl.lit(f'<c r="{letter}'), row]
    styled = f' s="{style}"' if style is not None else ""
    if shared:
        return pl.concat_str([*ref, pl.lit(f'"{styled} t="s"><v>'), column, pl.lit("</v></c>")])
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
        text = _shown(column, dtype)
        # xml:space="preserve" only where Excel would otherwise trim: a sixth less XML to make and compress
        opening = (pl.when(text.str.contains(r"^\s|\s$"))
                   .then(pl.lit(f'"{styled} t="inlineStr"><is><t xml:space="preserve">'))
                   .otherwise(pl.lit(f'"{styled} t="inlineStr"><is><t>')))
        return pl.concat_str([*ref, opening, _text(text), pl.lit("</t></is></c>")])
    return pl.concat_str([*ref, pl.lit(f'"{styled}><v>'), value, pl.lit("</v></c>")])


def rows_xml(bulk: BulkRows, batch: int = BATCH) -> Iterator[bytes]:
    """``<row>`` elements, ``batch`` rows per piece."""
    frame = bulk.frame
    for start in range(0, frame.height, batch):
        part = frame.slice(start, batch)
        row = pl.int_range(bulk.first_row + start, bulk.first_row + start + part.height).cast(pl.String)
        cells = [_cell(name, dtype, get_column_letter(i), style, row, name in bulk.shared)
                 for i, (name, dtype, style) in enumerate(zip(part.columns, part.dtypes, bulk.styles), start=1)]
        xml = part.select(pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>")],
                                        ignore_nulls=True).str.join("")).item()
        yield xml.encode("utf-8")


def insert_rows(path: Path, tables: dict[str, BulkRows]) -> None:
    """Splice the rows into the saved workbook at ``path`` (rewritten in place via a temporary
    file), with a shared-string table when the workbook has none yet (kamrules' sheets write
    their own text inline)."""
    if not tables:
        return
    members = sheet_members(path)
    temporary = path.with_name(path.name + ".rows")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(
            temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=LEVEL) as out:
        names = set(source.namelist())
        strings = SharedStrings() if SST_PART not in names and {_TYPES, _RELATIONS} <= names else None
        targets = {members[title]: strings.share(bulk) if strings else bulk for title, bulk in tables.items()}
        if strings is not None and not strings.index:
            strings = None
        for info in source.infolist():
            bulk = targets.get(info.filename)
            if bulk is None:
                data = source.read(info)
                if strings is not None and info.filename in (_TYPES, _RELATIONS):
                    data = _with_shared_strings(info.filename, data)
                out.writestr(info, data)
                continue
            head, tail = _split(source.read(info))
            with out.open(info.filename, "w", force_zip64=True) as sheet:
                sheet.write(head)
                # the next rows are made while these are compressed (Polars and zlib both let go of the GIL)
                for piece in ahead(rows_xml(bulk), name="kamrules-rows"):
                    sheet.write(piece)
                sheet.write(tail)
        if strings is not None:
            out.writestr(SST_PART, strings.xml())
    os.replace(temporary, path)


def _with_shared_strings(member: str, xml: bytes) -> bytes:
    """The package's content types, or the workbook's relationships, naming the shared strings."""
    if member == _TYPES:
        entry = f'<Override PartName="/{SST_PART}" ContentType="{SST_TYPE}"/>'.encode()
        end = xml.rfind(b"</Types>")
    else:
        taken = set(re.findall(rb'Id="([^"]*)"', xml))
        number = next(n for n in range(1, len(taken) + 2) if b"rId%d" % n not in taken)
        entry = f'<Relationship Id="rId{number}" Type="{SST_RELATION}" Target="sharedStrings.xml"/>'.encode()
        end = xml.rfind(b"</Relationships>")
    if end < 0:
        raise ValueError(f"{member} has no closing tag")
    return xml[:end] + entry + xml[end:]


def _split(xml: bytes) -> tuple[bytes, bytes]:
    """The sheet XML before and after the place where data rows go (end of ``<sheetData>``)."""
    end = xml.find(b"</sheetData>")
    if end >= 0:
        return xml[:end], xml[end:]
    empty = xml.find(b"<sheetData/>")
    if empty < 0:
        raise ValueError("sheet XML has no sheetData")
    return xml[:empty] + b"<sheetData>", b"</sheetData>" + xml[empty + len(b"<sheetData/>"):]


