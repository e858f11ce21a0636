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
from .unparse import literal_text, unparse

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
    return k.replace(node, lambda leaf: value if isinstance(leaf, k.Input) else None)


def unary_text(node: k.Node) -> str:
    """A unary test written as a table cell (``-``, ``>= 18``, ``'A', 'B'``, ``[1..5)``, ``null``,
    ``not('A')``); a test no cell shorthand says is written as an expression of ``?``.
    :func:`parse_unary` reads every result back to the same test."""
    def value(v: k.Literal) -> str:
        return literal_text(v.value)

    def simple(test: k.Node) -> str | None:
        if isinstance(test, k.Literal) and test.value is True:
            return "-"
        if isinstance(test, k.Compare) and len(test.ops) == 1 and isinstance(test.left, k.Input) \
                and isinstance(test.comparators[0], k.Literal):
            op, text = test.ops[0], value(test.comparators[0])
            if test.comparators[0].value is None:
                return "null" if op == "==" else None
            if op == "==":
                return text
            if op in ("<", "<=", ">", ">=", "!="):
                return f"{op} {text}"
        if isinstance(test, k.BoolOp) and test.op == "and" and len(test.values) == 2:
            low, high = test.values
            if all(isinstance(c, k.Compare) and len(c.ops) == 1 and isinstance(c.left, k.Input)
                   and isinstance(c.comparators[0], k.Literal) for c in (low, high)) \
                    and low.ops[0] in (">", ">=") and high.ops[0] in ("<", "<="):
                opening = "[" if low.ops[0] == ">=" else "("
                closing = "]" if high.ops[0] == "<=" else ")"
                return f"{opening}{value(low.comparators[0])}..{value(high.comparators[0])}{closing}"
        if isinstance(test, k.BoolOp) and test.op == "or":
            parts = [simple(v) for v in test.values]
            if all(p is not None and p != "-" and not p.startswith(("not(", "[", "(")) for p in parts):
                return ", ".join(parts)
        if isinstance(test, k.Unary) and test.op == "not":
            inner = simple(test.operand)
            if inner is not None and inner != "-":
                return f"not({inner})"
        return None

    text = simple(node)
    return text if text is not None else unparse(node)
