"""Turn rule-language nodes back into readable text, optionally with values substituted.

``unparse(node)`` gives canonical text (``累计消费 >= 1500000``); with ``values`` every field
name is followed by its value for one customer (``累计消费[2000000] >= 1500000``), which is
how ``kamrules explain`` shows why a condition held.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Optional

from . import ast as k

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6,
               "neg": 7, "atom": 8}


def literal_text(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dt.date):
        return f"date('{value.isoformat()}')"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal_text(v) for v in value) + "]"
    return str(value)


def value_text(value: Any) -> str:
    """A customer's value as shown next to a field name."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:,.2f}".rstrip("0").rstrip(".")
    return literal_text(value)


def unparse(node: k.Node, values: Optional[Mapping[str, Any]] = None, input_text: str = "?") -> str:
    return _Unparser(values, input_text).text(node)[0]


class _Unparser:
    def __init__(self, values: Optional[Mapping[str, Any]], input_text: str):
        self.values, self.input_text = values, input_text

    def text(self, node: k.Node) -> tuple[str, int]:
        return getattr(self, "_" + type(node).__name__)(node)

    def wrap(self, node: k.Node, level: int) -> str:
        text, own = self.text(node)
        return f"({text})" if own < level else text

    def _Literal(self, node: k.Literal):
        return literal_text(node.value), _PRECEDENCE["atom"]

    def _Name(self, node: k.Name):
        if self.values is not None and node.name in self.values:
            return f"{node.name}[{value_text(self.values[node.name])}]", _PRECEDENCE["atom"]
        return node.name, _PRECEDENCE["atom"]

    def _Input(self, node: k.Input):
        return self.input_text, _PRECEDENCE["atom"]

    def _Unary(self, node: k.Unary):
        if node.op == "not":
            return "not " + self.wrap(node.operand, _PRECEDENCE["not"]), _PRECEDENCE["not"]
        return node.op + self.wrap(node.operand, _PRECEDENCE["neg"]), _PRECEDENCE["neg"]

    def _Binary(self, node: k.Binary):
        level = _PRECEDENCE[node.op]
        left = self.wrap(node.left, level)
        right = self.wrap(node.right, level + 1)
        return f"{left} {node.op} {right}", level

    def _BoolOp(self, node: k.BoolOp):
        level = _PRECEDENCE[node.op]
        return f" {node.op} ".join(self.wrap(v, level + 1) for v in node.values), level

    def _Compare(self, node: k.Compare):
        level = _PRECEDENCE["compare"]
        parts = [self.wrap(node.left, level + 1)]
        for op, right in zip(node.ops, node.comparators):
            parts += [op, self.wrap(right, level + 1)]
        return " ".join(parts), level

    def _IfElse(self, node: k.IfElse):
        return (f"{self.wrap(node.then, 1)} if {self.wrap(node.condition, 1)} else "
                f"{self.wrap(node.otherwise, 0)}"), 0

    def _Call(self, node: k.Call):
        return f"{node.function}({', '.join(self.text(a)[0] for a in node.args)})", _PRECEDENCE["atom"]

    def _ListOf(self, node: k.ListOf):
        return "[" + ", ".join(self.text(i)[0] for i in node.items) + "]", _PRECEDENCE["atom"]
