"""Decision tables (the ``table:`` form, in YAML or in an Excel sheet) turned into rules.

Each row becomes one :class:`~kamrules.rules.decisions.Rule` whose condition is the AND of its
cells' unary tests, with ``?`` bound to the column's input expression.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Protocol

from ..errors import RulebookError
from ..expr import ast as k
from ..expr.unary import bind_input
from ..files import check, refusal
from ..i18n import msg
from .decisions import Expr, Rule
from .excel_tables import read_excel_table
from .model import DecisionSpec, TableRowSpec
from .rulebook import ErrorSink, Located, RulebookSource


class RuleBuilder(Protocol):
    """What a table needs from the compiler: locations, errors and the parsing of cells."""

    source: RulebookSource
    sink: ErrorSink

    def at(self, *loc) -> Located: ...

    def error(self, message, where: Located, rule_id: str | None = None, **extra) -> None: ...

    def parse(self, text: Any, where: Located, rule_id: str | None, *, cell: bool = False) -> Optional[Expr]: ...

    def output_value(self, value: Any, type_name: str, where: Located, rule_id: str) -> Optional[Expr]: ...


@dataclass
class TableRow:
    """One row as written: a cell per input and per output, and its note (if the table has notes)."""

    cells: list
    note: Optional[str]
    where: Located
    index: int  # its position in the table (0-based), for the addresses of its cells


def rules_from_table(compiler: RuleBuilder, decision_id: str,
                     spec: DecisionSpec) -> tuple[list[Expr], list[Rule]]:
    if spec.table.file is not None:
        return rules_from_excel(compiler, decision_id, spec)
    table = spec.table

    def input_at(index: int) -> Located:
        return compiler.at("decisions", decision_id, "table", "inputs", index)

    width = len(table.inputs) + len(spec.outputs)
    rows = []
    for index, row in enumerate(table.rows):
        where = compiler.at("decisions", decision_id, "table", "rows", index)
        cells, note = (row.cells, row.note) if isinstance(row, TableRowSpec) else (row, None)
        expected = width + 1 if table.notes and not isinstance(row, TableRowSpec) else width
        if len(cells) != expected:
            compiler.error(_width_message(len(cells), table.inputs, spec, table.notes and expected > width), where,
                           f"{decision_id}#{index + 1}", suggestion=_width_hint(len(cells), width, table.notes))
            rows.append(None)
            continue
        if expected > width:
            cells, note = cells[:width], cells[width]
        # In YAML an empty cell is written "-"; a bare null is the null test, as in DMN.
        cells = [("null" if cell is None and i < len(table.inputs) else cell) for i, cell in enumerate(cells)]
        rows.append(TableRow(cells, None if note is None else str(note), where, index))
    return table_rules(compiler, decision_id, spec, table.inputs, rows, input_at, lambda row, position: row.where)


def _width_message(cells: int, inputs: list, spec: DecisionSpec, noted: bool):
    return msg("decisions.row_width", cells=cells, width=len(inputs) + len(spec.outputs) + noted,
               inputs=len(inputs), input_names=", ".join(map(str, inputs)), outputs=len(spec.outputs),
               output_names=", ".join(spec.outputs), note=msg("decisions.row_width.note") if noted else "")


def _width_hint(cells: int, width: int, notes: bool):
    if not notes and cells == width + 1:
        return msg("decisions.row_width.declare_notes")
    return msg("decisions.row_width.hint")


def rules_from_excel(compiler: RuleBuilder, decision_id: str,
                     spec: DecisionSpec) -> tuple[list[Expr], list[Rule]]:
    rules_dir = (compiler.source.project or Path(".")) / "rules"
    path = (rules_dir / spec.table.file).resolve()
    display = f"rules/{spec.table.file}"
    where = compiler.at("decisions", decision_id, "table", "file")
    if not path.is_relative_to(rules_dir.resolve()):
        compiler.error(msg("decisions.table_outside"), where, decision_id,
                       suggestion=msg("decisions.table_outside.hint"))
        return [], []
    refused = check(rules_dir / spec.table.file, rules_dir)
    if refused not in (None, "unreadable"):  # a missing file is read_excel_table's to say
        compiler.error(refusal(refused), where, decision_id, suggestion=msg("file.refused.hint"))
        return [], []
    try:
        table = read_excel_table(path, display, spec.table.sheet, spec.outputs, spec.labels, decision_id)
    except RulebookError as exc:
        compiler.sink.add(exc)
        return [], []
    compiler.source.hashes[display] = hashlib.sha256(path.read_bytes()).hexdigest()

    def input_at(index: int) -> Located:
        return Located(display, None, (), table.sheet, table.input_cells[index])

    def cell_at(row_index: int, position: int) -> Located:
        return Located(display, None, (), table.sheet, table.cell(row_index, position))

    rows = [TableRow(cells, note, cell_at(index, 0), index) for index, (cells, note) in enumerate(table.rows)]
    return table_rules(compiler, decision_id, spec, table.inputs, rows, input_at,
                       lambda row, position: cell_at(row.index, position))


def table_rules(compiler: RuleBuilder, decision_id: str, spec: DecisionSpec, input_texts: list,
                rows: list[Optional[TableRow]], input_at, cell_at) -> tuple[list[Expr], list[Rule]]:
    """Rules from table rows (YAML or Excel); a row of None was refused already (its number is kept).
    ``input_at(index)`` and ``cell_at(row, position)`` locate a header or a cell."""
    out_names = list(spec.outputs)
    inputs = [compiler.parse(text, input_at(index), decision_id) for index, text in enumerate(input_texts)]
    n_in = len(input_texts)
    rules = []
    for row_index, row in enumerate(rows):
        if row is None:
            continue
        rule_id = f"{decision_id}#{row_index + 1}"
        if all(value is None for value in row.cells[n_in:]):
            compiler.error(msg("decisions.row_empty"), cell_at(row, n_in), rule_id,
                           suggestion=msg("decisions.row_empty.hint"))
            continue
        tests = [compiler.parse(cell, cell_at(row, i), rule_id, cell=True) for i, cell in enumerate(row.cells[:n_in])]
        outputs = {name: compiler.output_value(value, spec.outputs[name], cell_at(row, n_in + i), rule_id)
                   for i, (name, value) in enumerate(zip(out_names, row.cells[n_in:]))}
        if any(t is None for t in tests) or any(i is None for i in inputs) or None in outputs.values():
            continue
        condition = _table_condition(inputs, tests)
        rules.append(Rule(rule_id, condition, outputs, row.note, None, row.where, [t.node for t in tests]))
    return inputs, rules


def _table_condition(inputs: list[Expr], tests: list[Expr]) -> Expr:
    """AND of each cell's unary test, with ``?`` bound to that column's input expression."""
    parts = [bind_input(test.node, column.node) for column, test in zip(inputs, tests)
             if not (isinstance(test.node, k.Literal) and test.node.value is True)]
    text = " and ".join(f"({c.text}: {t.text})" for c, t in zip(inputs, tests) if t.text not in ("-", "", "None"))
    if not parts:
        return Expr(k.Literal(True), "-")
    node = parts[0] if len(parts) == 1 else k.BoolOp("and", tuple(parts))
    return Expr(node, text or "-")
