"""The rule language's own syntax tree: small, immutable, independent of Python's ``ast``.

The parser produces it, the compilers (Polars today) consume it, and static checks walk it.
Every node keeps ``position``, the 0-based character offset in the source text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator, Union


@dataclass(frozen=True)
class Literal:
    value: Union[int, float, str, bool, None, dt.date]
    position: int = 0


@dataclass(frozen=True)
class Name:
    name: str
    position: int = 0


@dataclass(frozen=True)
class Input:
    """``?`` in a decision-table cell: the value of the column's input expression."""

    position: int = 0


@dataclass(frozen=True)
class Unary:
    op: str  # "not" | "-" | "+"
    operand: "Node"
    position: int = 0


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / // %
    left: "Node"
    right: "Node"
    position: int = 0


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    values: tuple["Node", ...]
    position: int = 0


@dataclass(frozen=True)
class Compare:
    left: "Node"
    ops: tuple[str, ...]  # < <= == != > >= in "not in"
    comparators: tuple["Node", ...]
    position: int = 0


@dataclass(frozen=True)
class IfElse:
    condition: "Node"
    then: "Node"
    otherwise: "Node"
    position: int = 0


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple["Node", ...]
    position: int = 0


@dataclass(frozen=True)
class ListOf:
    items: tuple["Node", ...]
    position: int = 0


Node = Union[Literal, Name, Input, Unary, Binary, BoolOp, Compare, IfElse, Call, ListOf]


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, BoolOp):
        return node.values
    if isinstance(node, Compare):
        return (node.left, *node.comparators)
    if isinstance(node, IfElse):
        return (node.condition, node.then, node.otherwise)
    if isinstance(node, (Call,)):
        return node.args
    if isinstance(node, ListOf):
        return node.items
    return ()


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in children(node):
        yield from walk(child)


def names(node: Node) -> set[str]:
    """Every field name the expression reads."""
    return {n.name for n in walk(node) if isinstance(n, Name)}


def replace(node: Node, leaf) -> Node:
    """``node`` rebuilt with every leaf (Literal, Name, Input) for which ``leaf(n)`` returns a
    node replaced by that node."""
    if isinstance(node, (Literal, Name, Input)):
        found = leaf(node)
        return node if found is None else found
    if isinstance(node, Unary):
        return Unary(node.op, replace(node.operand, leaf), node.position)
    if isinstance(node, Binary):
        return Binary(node.op, replace(node.left, leaf), replace(node.right, leaf), node.position)
    if isinstance(node, BoolOp):
        return BoolOp(node.op, tuple(replace(v, leaf) for v in node.values), node.position)
    if isinstance(node, Compare):
        return Compare(replace(node.left, leaf), node.ops, tuple(replace(c, leaf) for c in node.comparators),
                       node.position)
    if isinstance(node, IfElse):
        return IfElse(replace(node.condition, leaf), replace(node.then, leaf), replace(node.otherwise, leaf),
                      node.position)
    if isinstance(node, Call):
        return Call(node.function, tuple(replace(a, leaf) for a in node.args), node.position)
    if isinstance(node, ListOf):
        return ListOf(tuple(replace(i, leaf) for i in node.items), node.position)
    return node
