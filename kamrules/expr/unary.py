"""DMN-style unary tests: what a decision-table input cell may say.

``-`` or empty (any) · ``< 5`` ``>= 150万`` ``!= A`` · ranges ``[100..200)`` ``(0..1]``
(``]a..b[`` also reads as open) · ``A`` or ``"A"`` (equals) · ``"A", "B"`` (any of) ·
``not("A", "B")`` · ``null`` · ``true`` / ``false`` · dates ``>= 2025-01-01`` · and any
expression using ``?`` for the input, e.g. ``? > revenue_prev_12m * 1.2``.
A bare word is text (``A`` means ``? == 'A'``); to compare with another field use ``?``.
"""

from __future__ import annotations

import re

from ..errors import ExpressionError
from . import ast as k
from .parser import parse

_RANGE = re.compile(r"^([\[\(\]])\s*(.+?)\s*\.\.\s*(.+?)\s*([\]\)\[])$", re.S)
_COMPARISON = re.compile(r"^(<=|>=|!=|==|<|>|=)\s*(.+)$", re.S)
ANY = k.Literal(True)


def parse_unary(cell) -> k.Node:
    """The boolean test a table cell stands for, with :class:`ast.Input` as the input."""
    if cell is None or (isinstance(cell, str) and cell.strip() in ("", "-")):
        return ANY
    if isinstance(cell, bool) or isinstance(cell, (int, float)):
        return _equals(k.Literal(cell))
    if not isinstance(cell, str):
        return _equals(k.Literal(str(cell)))
    text = cell.strip()
    if "?" in text:
        return parse(text, allow_input=True)
    return _test(text, cell)


def _test(text: str, source: str) -> k.Node:
    lowered = text.lower()
    if lowered.startswith("not(") and text.endswith(")"):
        return k.Unary("not", _test(text[4:-1].strip(), source))
    parts = _split_top_level(text)
    if len(parts) > 1:
        return k.BoolOp("or", tuple(_test(p, source) for p in parts))
    if lowered in ("null", "none"):
        return k.Compare(k.Input(), ("==",), (k.Literal(None),))
    match = _RANGE.match(text)
    if match:
        return _range(match, source)
    match = _COMPARISON.match(text)
    if match:
        op = "==" if match.group(1) in ("=", "==") else match.group(1)
        return k.Compare(k.Input(), (op,), (_value(match.group(2), source),))
    return _equals(_value(text, source))


def _range(match: re.Match, source: str) -> k.Node:
    low, high = _value(match.group(2), source), _value(match.group(3), source)
    low_op = ">=" if match.group(1) == "[" else ">"
    high_op = "<=" if match.group(4) == "]" else "<"
    return k.BoolOp("and", (k.Compare(k.Input(), (low_op,), (low,)),
                            k.Compare(k.Input(), (high_op,), (high,))))


def _value(text: str, source: str) -> k.Node:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return k.Literal(text[1:-1])
    try:
        node = parse(text, allow_input=True)
    except ExpressionError:
        return k.Literal(text)
    if isinstance(node, k.Name):
        return k.Literal(node.name)
    return node


def _equals(value: k.Node) -> k.Node:
    return k.Compare(k.Input(), ("==",), (value,))


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are outside quotes, brackets and parentheses."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch in ",，" and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def bind_input(node: k.Node, value: k.Node) -> k.Node:
    """Replace every ``?`` in ``node`` by ``value``."""
    if isinstance(node, k.Input):
        return value
    if isinstance(node, k.Unary):
        return k.Unary(node.op, bind_input(node.operand, value), node.position)
    if isinstance(node, k.Binary):
        return k.Binary(node.op, bind_input(node.left, value), bind_input(node.right, value), node.position)
    if isinstance(node, k.BoolOp):
        return k.BoolOp(node.op, tuple(bind_input(v, value) for v in node.values), node.position)
    if isinstance(node, k.Compare):
        return k.Compare(bind_input(node.left, value), node.ops,
                         tuple(bind_input(c, value) for c in node.comparators), node.position)
    if isinstance(node, k.IfElse):
        return k.IfElse(bind_input(node.condition, value), bind_input(node.then, value),
                        bind_input(node.otherwise, value), node.position)
    if isinstance(node, k.Call):
        return k.Call(node.function, tuple(bind_input(a, value) for a in node.args), node.position)
    if isinstance(node, k.ListOf):
        return k.ListOf(tuple(bind_input(i, value) for i in node.items), node.position)
    return node
