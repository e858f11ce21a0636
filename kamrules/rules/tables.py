"""Decision tables (the ``table:`` form, in YAML or in an Excel sheet) turned into rules.

Each row becomes one :class:`~kamrules.rules.decisions.Rule` whose condition is the AND of its
cells' unary tests, with ``?`` bound to the column's input expression.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Optional, Protocol

from ..errors import RulebookError
from ..expr import ast as k
from ..expr.unary import bind_input
from ..i18n import msg
from .decisions import Expr, Rule
from .excel_tables import read_excel_table
from .model import DecisionSpec
from .rulebook import ErrorSink, Located, RulebookSource


class RuleBuilder(Protocol):
    """What a table needs from the compiler: locations, errors and the parsing of cells."""

    source: RulebookSource
    sink: ErrorSink

    def at(self, *loc) -> Located: ...

    def error(self, message, where: Located, rule_id: str | None = None, **extra) -> None: ...

    def parse(self, text: Any, where: Located, rule_id: str | None, *, cell: bool = False) -> Optional[Expr]: ...

    def output_value(self, value: Any, type_name: str, where: Located, rule_id: str) -> Optional[Expr]: ...


def rules_from_table(compiler: RuleBuilder, decision_id: str,
                     spec: DecisionSpec) -> tuple[list[Expr], list[Rule]]:
    if spec.table.file is not None:
        return rules_from_excel(compiler, decision_id, spec)
    table = spec.table

    def input_at(index: int) -> Located:
        return compiler.at("decisions", decision_id, "table", "inputs", index)

    def cell_at(row_index: int, position: int) -> Located:
        return compiler.at("decisions", decision_id, "table", "rows", row_index)

    # In YAML an empty cell is written "-"; a bare null is the null test, as in DMN.
    rows = [[("null" if cell is None and i < len(table.inputs) else cell) for i, cell in enumerate(row)]
            for row in table.rows]
    return table_rules(compiler, decision_id, spec, table.inputs, rows, input_at, cell_at)


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

    return table_rules(compiler, decision_id, spec, table.inputs, table.rows, input_at, cell_at)


def table_rules(compiler: RuleBuilder, decision_id: str, spec: DecisionSpec, input_texts: list, rows: list[list],
                input_at, cell_at) -> tuple[list[Expr], list[Rule]]:
    """Rules from table rows (YAML or Excel); ``*_at`` give the location of a header or cell."""
    out_names = list(spec.outputs)
    inputs = [compiler.parse(text, input_at(index), decision_id) for index, text in enumerate(input_texts)]
    n_in = len(input_texts)
    width = n_in + len(out_names)
    rules = []
    for row_index, row in enumerate(rows):
        where = cell_at(row_index, 0)
        rule_id = f"{decision_id}#{row_index + 1}"
        if len(row) not in (width, width + 1):
            compiler.error(msg("decisions.row_width", cells=len(row), width=width, inputs=n_in,
                               outputs=len(out_names), noted=width + 1), where, rule_id)
            continue
        if all(value is None for value in row[n_in:width]):
            compiler.error(msg("decisions.row_empty"), cell_at(row_index, n_in), rule_id,
                           suggestion=msg("decisions.row_empty.hint"))
            continue
        tests = [compiler.parse(cell, cell_at(row_index, i), rule_id, cell=True)
                 for i, cell in enumerate(row[:n_in])]
        outputs = {name: compiler.output_value(value, spec.outputs[name], cell_at(row_index, n_in + i), rule_id)
                   for i, (name, value) in enumerate(zip(out_names, row[n_in:width]))}
        if any(t is None for t in tests) or any(i is None for i in inputs) or None in outputs.values():
            continue
        condition = _table_condition(inputs, tests)
        note = str(row[width]) if len(row) > width and row[width] is not None else None
        rules.append(Rule(rule_id, condition, outputs, note, None, where, [t.node for t in tests]))
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
