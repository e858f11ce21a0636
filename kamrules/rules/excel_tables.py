"""Decision tables kept in an Excel worksheet (``table: {file: ..., sheet: ...}``).

Sheet layout (the first non-empty row is the header; the table starts at its first
non-empty cell)::

    | tier | 累计消费      | 折扣 | tier_label | 说明             |   <- header
    | A    | >= 150万      | 0.08 | 战略       | A级客户基础折扣8% |   <- one rule per row
    | -    |               | 0    | 普通       |                  |

* input columns: every column left of the first output column; the header holds the input
  expression, the cells below hold unary tests (``>= 150万``, ``A, B``, ``-``, empty = any);
* output columns: one per declared output, headed by the output name or its label
  (whitespace and case ignored), in any order;
* optionally one note column headed ``说明``, ``备注``, ``note`` or ``notes``.

Completely empty rows are skipped. The result has the shape of the YAML form (``inputs`` and
``rows``), plus the cell address of every value so later errors can point into the sheet.
"""

from __future__ import annotations

import datetime as dt
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from kamrules.errors import RulebookError
from kamrules.i18n import Text, msg
from kamrules.names import any_of, did_you_mean

NOTE_HEADERS = ("说明", "备注", "note", "notes")

# What openpyxl raises for a file that is not a usable .xlsx: wrong extension, not a zip,
# missing or corrupt parts (KeyError, ValueError, zlib.error), malformed XML (ParseError and
# lxml's XMLSyntaxError are SyntaxError subclasses). In read-only mode the sheet XML is only
# parsed while iterating, so these can come from iter_rows too.
_UNREADABLE = (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, SyntaxError,
               zlib.error, EOFError)


@dataclass
class ExcelTable:
    """A decision table read from a worksheet, in the shape of the YAML ``table:`` form."""

    file: str
    sheet: str
    header_row: int
    inputs: list[str]
    input_cells: list[str]
    rows: list[tuple[list, str | None]]  # (a cell per input and per output, the note)
    row_numbers: list[int]
    columns: list[str]

    def cell(self, row_index: int, position: int) -> str:
        """The address ("C7") of ``rows[row_index][position]``."""
        return f"{self.columns[position]}{self.row_numbers[row_index]}"


@dataclass(frozen=True)
class _ExcelErrorValue:
    """A cell showing an Excel error such as ``#N/A`` (kept apart from ordinary text)."""

    text: str


@dataclass(frozen=True)
class _Where:
    """Builds errors located in the table being read."""

    display: str
    decision_id: str
    sheet: str | None

    def error(self, message: Text, suggestion: Text | None = None, *,
              column: int | None = None, row: int | None = None) -> RulebookError:
        """``column`` is 0-based, ``row`` the Excel row number; both or neither."""
        cell = f"{get_column_letter(column + 1)}{row}" if row is not None else None
        return RulebookError(message, file=self.display, sheet=self.sheet, cell=cell,
                             rule_id=self.decision_id, suggestion=suggestion)


@dataclass
class _Layout:
    """Which 0-based column holds what."""

    start: int                  # first column of the table
    inputs: list[int]
    outputs: list[int]          # in the order of the declared outputs
    note: int | None

    def used(self) -> set[int]:
        return {*self.inputs, *self.outputs} | ({self.note} if self.note is not None else set())


def read_excel_table(path: Path, display: str, sheet: str | None, outputs: dict[str, str],
                     labels: dict[str, str], decision_id: str) -> ExcelTable:
    """Read the decision table of ``decision_id`` from ``sheet`` (None = first sheet) of ``path``.

    ``outputs`` maps output name to type (only the names and their order are used),
    ``labels`` output name to display name; ``display`` is the file name shown in errors.
    Raises :class:`RulebookError` located at the offending cell.
    """
    sheet_name, raw_grid = _read_grid(path, sheet, _Where(display, decision_id, sheet))
    where = _Where(display, decision_id, sheet_name)
    grid = [[_clean(raw, where, col, number) for col, raw in enumerate(raw_row)]
            for number, raw_row in enumerate(raw_grid, start=1)]
    header_row = _header_row(grid, where)
    header = grid[header_row - 1]
    layout = _layout(header, header_row, outputs, labels, where)
    rows, row_numbers = _rule_rows(grid, header_row, layout, where)
    letters = [get_column_letter(col + 1) for col in layout.inputs + layout.outputs]
    if layout.note is not None:
        letters.append(get_column_letter(layout.note + 1))
    return ExcelTable(
        file=display, sheet=sheet_name, header_row=header_row,
        inputs=[_text(header[col]) for col in layout.inputs],
        input_cells=[f"{letter}{header_row}" for letter in letters[:len(layout.inputs)]],
        rows=rows, row_numbers=row_numbers, columns=letters,
    )


def _read_grid(path: Path, sheet: str | None, where: _Where) -> tuple[str, list[list]]:
    """The sheet's title and its raw cell values; grid[i] is Excel row i + 1."""
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise where.error(msg("excel.not_found"), msg("excel.not_found.hint")) from None
    except IsADirectoryError:
        raise where.error(msg("excel.folder"), msg("excel.folder.hint")) from None
    except _UNREADABLE:
        raise _unreadable(where) from None
    except OSError as err:
        raise where.error(msg("excel.cannot_open", reason=err.strerror or err),
                          msg("excel.cannot_open.hint")) from None
    try:
        worksheet = _pick_sheet(workbook, sheet, where)
        # Read-only sheets trust the <dimension> stored in the file, which some tools write
        # wrongly; resetting it makes openpyxl return every stored cell instead of clipping.
        worksheet.reset_dimensions()
        try:
            grid = [[_raw(cell) for cell in row] for row in worksheet.iter_rows()]
        except _UNREADABLE:
            raise _unreadable(where) from None
        return worksheet.title, grid
    finally:
        workbook.close()


def _unreadable(where: _Where) -> RulebookError:
    return where.error(msg("excel.unreadable"), msg("excel.unreadable.hint"))


def _pick_sheet(workbook, sheet: str | None, where: _Where):
    by_title = {ws.title: ws for ws in workbook.worksheets}  # chart sheets have no cells
    if not by_title:
        raise where.error(msg("excel.no_worksheet"), msg("excel.no_worksheet.hint"))
    if sheet is None:
        return workbook.worksheets[0]
    if sheet in by_title:
        return by_title[sheet]
    hint = did_you_mean(sheet, by_title) or msg("excel.sheets", sheets=", ".join(by_title))
    raise where.error(msg("excel.no_sheet", sheet=sheet), hint)


def _raw(cell):
    return _ExcelErrorValue(cell.value) if cell.data_type == "e" else cell.value


def _clean(raw, where: _Where, column: int, row: int):
    """A cell value as a rule sees it: stripped text or None, int for whole numbers, date."""
    if isinstance(raw, _ExcelErrorValue):
        raise where.error(msg("excel.error_value", error=raw.text), msg("excel.error_value.hint"),
                          column=column, row=row)
    if isinstance(raw, str):
        return raw.strip() or None
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, dt.datetime):
        return raw.date()
    return raw


def _text(value) -> str:
    return value if isinstance(value, str) else str(value)


def _key(value) -> str:
    """Header text as compared with names: surrounding whitespace and case ignored."""
    return _text(value).strip().casefold()


def _header_row(grid: list[list], where: _Where) -> int:
    for number, values in enumerate(grid, start=1):
        if any(value is not None for value in values):
            return number
    raise where.error(msg("excel.empty"), msg("excel.empty.hint"))


def _layout(header: list, header_row: int, outputs: dict[str, str], labels: dict[str, str],
            where: _Where) -> _Layout:
    start = next(col for col, value in enumerate(header) if value is not None)
    output_cols = _output_columns(header, header_row, outputs, labels, where)
    missing = [name for name in outputs if name not in output_cols]
    if missing:
        raise _missing_output(missing[0], labels.get(missing[0]), header, header_row, start, where)
    first_output = min(output_cols.values())
    if first_output == start:
        raise where.error(msg("excel.no_inputs"), msg("excel.no_inputs.hint"), column=start, row=header_row)
    for col in range(start, first_output):
        if header[col] is None:
            raise where.error(msg("excel.blank_header"), msg("excel.blank_header.hint"), column=col, row=header_row)
    note = _note_column(header, header_row, first_output, output_cols, outputs, labels, where)
    return _Layout(start, list(range(start, first_output)),
                   [output_cols[name] for name in outputs], note)


def _output_columns(header: list, header_row: int, outputs: dict[str, str],
                    labels: dict[str, str], where: _Where) -> dict[str, int]:
    names_by_key = {_key(name): name for name in outputs}
    names_by_key.update({_key(label): name for name, label in labels.items() if name in outputs})
    found: dict[str, int] = {}
    for col, value in enumerate(header):
        name = names_by_key.get(_key(value)) if value is not None else None
        if name is None:
            continue
        if name in found:
            raise where.error(msg("excel.output_twice", name=name),
                              msg("excel.output_twice.hint", first=get_column_letter(found[name] + 1),
                                  second=get_column_letter(col + 1)), column=col, row=header_row)
        found[name] = col
    return found


def _missing_output(name: str, label: str | None, header: list, header_row: int, start: int,
                    where: _Where) -> RulebookError:
    texts = [_text(value) for value in header if value is not None]
    hint = did_you_mean(name, texts) or (label and did_you_mean(label, texts))
    if not hint:
        spelled = any_of([repr(name), repr(label)] if label else [repr(name)])
        hint = msg("excel.missing_output.hint", spelled=spelled)
    return where.error(msg("excel.missing_output", name=name), hint, column=start, row=header_row)


def _note_column(header: list, header_row: int, first_output: int, output_cols: dict[str, int],
                 outputs: dict[str, str], labels: dict[str, str], where: _Where) -> int | None:
    """The note column, checking that every other header right of the inputs is an output."""
    note = None
    for col in range(first_output + 1, len(header)):
        value = header[col]
        if value is None or col in output_cols.values():
            continue
        if _key(value) not in NOTE_HEADERS:
            raise _unexpected_header(_text(value), outputs, labels, col, header_row, where)
        if note is not None:
            raise where.error(msg("excel.note_twice"),
                              msg("excel.note_twice.hint", first=get_column_letter(note + 1),
                                  second=get_column_letter(col + 1)), column=col, row=header_row)
        note = col
    return note


def _unexpected_header(text: str, outputs: dict[str, str], labels: dict[str, str], col: int,
                       header_row: int, where: _Where) -> RulebookError:
    known = [*outputs, *(labels[name] for name in outputs if name in labels)]
    hint = did_you_mean(text, known)
    if not hint:
        declared = ", ".join(f"{name} ({labels[name]})" if name in labels else name
                             for name in outputs)
        hint = msg("excel.unexpected_header.hint", outputs=declared,
                   notes=any_of([", ".join(NOTE_HEADERS[:-1]), NOTE_HEADERS[-1]]))
    return where.error(msg("excel.unexpected_header", text=text), hint, column=col, row=header_row)


def _rule_rows(grid: list[list], header_row: int, layout: _Layout,
               where: _Where) -> tuple[list[tuple[list, str | None]], list[int]]:
    rows, numbers = [], []
    used = layout.used()
    for number, values in enumerate(grid[header_row:], start=header_row + 1):
        if all(value is None for value in values):
            continue
        _check_no_stray_values(values, used, where, number)
        values = values + [None] * (max(used) + 1 - len(values))  # rows end at their last cell
        cells = [values[col] for col in layout.inputs + layout.outputs]
        note = values[layout.note] if layout.note is not None else None
        rows.append((cells, None if note is None else _text(note)))
        numbers.append(number)
    if not rows:
        raise where.error(msg("excel.no_rows"), msg("excel.no_rows.hint", row=header_row),
                          column=layout.start, row=header_row + 1)
    return rows, numbers


def _check_no_stray_values(values: list, used: set[int], where: _Where, number: int) -> None:
    for col, value in enumerate(values):
        if value is not None and col not in used:
            raise where.error(msg("excel.stray_value"), msg("excel.stray_value.hint"), column=col, row=number)
