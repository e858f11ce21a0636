"""Static analysis of decision tables (``kamrules check``).

Each table cell's unary test becomes the set of input values it accepts: numeric/date
intervals, a set of text/bool values (or all values except some), ``null``, or "any".
Cells using ``?``-expressions or other functions are *unknown*; pairs involving them are
never reported, so every finding is certain:

- ``unique``: two rows that can both match (every column's sets intersect), with an example;
- ``any``: two rows that can both match and give different outputs;
- ``priority``: two rows of the same priority that can both match and give different outputs;
- ``first``: a row that can never match because one earlier row accepts everything it does;
- single-input tables without a default: numeric values no row accepts (gaps) — except where
  an empty result is an answer (``collect*``, ``rule_order``, ``output_order``).
"""

from __future__ import annotations

import datetime as dt
from functools import reduce
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from ..errors import RulebookError
from ..i18n import Text, msg
from ..expr import ast as k
from ..expr.unparse import value_text
from .model import EMPTY_IS_AN_ANSWER


@dataclass(frozen=True)
class Interval:
    lo: Any = None  # None: unbounded
    lo_closed: bool = False
    hi: Any = None
    hi_closed: bool = False

    def is_empty(self) -> bool:
        if self.lo is None or self.hi is None:
            return False
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_closed and self.hi_closed))

    def intersect(self, other: "Interval") -> "Interval":
        lo, lo_closed = _max_lo((self.lo, self.lo_closed), (other.lo, other.lo_closed))
        hi, hi_closed = _min_hi((self.hi, self.hi_closed), (other.hi, other.hi_closed))
        return Interval(lo, lo_closed, hi, hi_closed)

    def example(self) -> Any:
        if self.lo is not None and self.lo_closed:
            return self.lo
        if self.hi is not None and self.hi_closed:
            return self.hi
        if self.lo is not None and self.hi is not None:
            if isinstance(self.lo, dt.date):
                return self.lo + dt.timedelta(days=1)
            return (self.lo + self.hi) / 2
        if self.lo is not None:
            return self.lo + (dt.timedelta(days=1) if isinstance(self.lo, dt.date) else 1)
        if self.hi is not None:
            return self.hi - (dt.timedelta(days=1) if isinstance(self.hi, dt.date) else 1)
        return 0

    def text(self, name: str) -> str | Text:
        if self.lo is not None and self.hi is not None and self.lo == self.hi:
            return f"{name} = {value_text(self.lo)}"
        parts = []
        if self.lo is not None:
            parts.append(f"{name} {'>=' if self.lo_closed else '>'} {value_text(self.lo)}")
        if self.hi is not None:
            parts.append(f"{name} {'<=' if self.hi_closed else '<'} {value_text(self.hi)}")
        return " and ".join(parts) or msg("analysis.any", name=name)


def _max_lo(a, b):
    if a[0] is None:
        return b
    if b[0] is None:
        return a
    if a[0] != b[0]:
        return a if a[0] > b[0] else b
    return a[0], a[1] and b[1]


def _min_hi(a, b):
    if a[0] is None:
        return b
    if b[0] is None:
        return a
    if a[0] != b[0]:
        return a if a[0] < b[0] else b
    return a[0], a[1] and b[1]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of intervals as sorted, disjoint, non-touching intervals."""
    items = sorted((i for i in intervals if not i.is_empty()),
                   key=lambda i: (i.lo is not None, i.lo if i.lo is not None else 0, not i.lo_closed))
    merged: list[Interval] = []
    for item in items:
        if merged and _touches(merged[-1], item):
            last = merged[-1]
            hi = _max_hi((last.hi, last.hi_closed), (item.hi, item.hi_closed))
            merged[-1] = Interval(last.lo, last.lo_closed, hi[0], hi[1])
        else:
            merged.append(item)
    return merged


def _max_hi(a, b):
    if a[0] is None or b[0] is None:
        return None, False
    if a[0] != b[0]:
        return a if a[0] > b[0] else b
    return a[0], a[1] or b[1]


def _touches(left: Interval, right: Interval) -> bool:
    if left.hi is None or right.lo is None:
        return True
    return left.hi > right.lo or (left.hi == right.lo and (left.hi_closed or right.lo_closed))


def complement(intervals: list[Interval]) -> list[Interval]:
    gaps, lo, lo_closed = [], None, False
    for item in merge(intervals):
        gap = Interval(lo, lo_closed, item.lo, not item.lo_closed)
        if item.lo is not None and not gap.is_empty():
            gaps.append(gap)
        lo, lo_closed = item.hi, not item.hi_closed
        if item.hi is None:
            return gaps
    gaps.append(Interval(lo, lo_closed, None, False))
    return gaps


@dataclass(frozen=True)
class CellSet:
    """The input values one table cell accepts."""

    kind: str  # any | intervals | values | null | unknown
    intervals: tuple[Interval, ...] = ()
    values: frozenset = frozenset()
    negated: bool = False  # values: every value except these

    def intersects(self, other: "CellSet") -> Optional[bool]:
        a, b = sorted((self, other), key=lambda s: _ORDER[s.kind])
        if "unknown" in (a.kind, b.kind):
            return None
        if a.kind == "any" or b.kind == "any":
            return True
        if a.kind != b.kind:
            return False
        if a.kind == "null":
            return True
        if a.kind == "intervals":
            return any(not x.intersect(y).is_empty() for x in a.intervals for y in b.intervals)
        if a.negated and b.negated:
            return True
        if a.negated or b.negated:
            positive, negative = (b, a) if a.negated else (a, b)
            return bool(positive.values - negative.values)
        return bool(a.values & b.values)

    def within(self, other: "CellSet") -> Optional[bool]:
        """Every value this cell accepts, ``other`` accepts too."""
        if "unknown" in (self.kind, other.kind):
            return None
        if other.kind == "any":
            return True
        if self.kind == "any" or self.kind != other.kind:
            return False
        if self.kind == "null":
            return True
        if self.kind == "intervals":
            union = merge(other.intervals)
            return all(any(u.intersect(i) == i for u in union) for i in merge(self.intervals))
        if other.negated:  # other accepts everything except other.values
            return other.values <= self.values if self.negated else not (self.values & other.values)
        return not self.negated and self.values <= other.values

    def example(self, other: "CellSet", name: str) -> str | Text:
        both = self if other.kind == "any" else other if self.kind == "any" else None
        if both is None and self.kind == other.kind == "intervals":
            for x in self.intervals:
                for y in other.intervals:
                    meet = x.intersect(y)
                    if not meet.is_empty():
                        return f"{name} = {value_text(meet.example())}"
        source = both or self
        if source.kind == "intervals" and source.intervals:
            return f"{name} = {value_text(source.intervals[0].example())}"
        if source.kind == "values" and not source.negated:
            common = sorted((source.values & other.values) if both is None and not other.negated
                            else source.values, key=str)
            if common:
                return f"{name} = {value_text(common[0])}"
        if source.kind == "null":
            return msg("analysis.empty", name=name)
        return msg("analysis.any", name=name)


_ORDER = {"any": 0, "intervals": 1, "values": 2, "null": 3, "unknown": 4}
ANY, UNKNOWN = CellSet("any"), CellSet("unknown")


def cell_set(node: k.Node) -> CellSet:
    """The set a unary-test node (with :class:`ast.Input`) accepts."""
    if isinstance(node, k.Literal) and node.value is True:
        return ANY
    if isinstance(node, k.Compare) and len(node.ops) == 1 and isinstance(node.left, k.Input) \
            and isinstance(node.comparators[0], k.Literal):
        return _comparison(node.ops[0], node.comparators[0].value)
    if isinstance(node, k.BoolOp):
        parts = [cell_set(v) for v in node.values]
        return _and(parts) if node.op == "and" else _or(parts)
    if isinstance(node, k.Unary) and node.op == "not":
        return _not(cell_set(node.operand))
    return UNKNOWN


def _ordered(value: Any) -> bool:
    return isinstance(value, (int, float, dt.date)) and not isinstance(value, bool)


def _comparison(op: str, value: Any) -> CellSet:
    if value is None:
        return CellSet("null") if op == "==" else UNKNOWN
    if _ordered(value):
        return CellSet("intervals", {
            "==": (Interval(value, True, value, True),),
            "!=": (Interval(None, False, value, False), Interval(value, False, None, False)),
            "<": (Interval(None, False, value, False),), "<=": (Interval(None, False, value, True),),
            ">": (Interval(value, False, None, False),), ">=": (Interval(value, True, None, False),),
        }[op])
    if op in ("==", "!="):
        return CellSet("values", values=frozenset([value]), negated=op == "!=")
    return UNKNOWN


def _and(parts: list[CellSet]) -> CellSet:
    if all(p.kind == "intervals" for p in parts):
        current = list(parts[0].intervals)
        for part in parts[1:]:
            current = [x.intersect(y) for x in current for y in part.intervals]
        return CellSet("intervals", tuple(i for i in current if not i.is_empty()))
    return UNKNOWN


def _or(parts: list[CellSet]) -> CellSet:
    if any(p.kind == "any" for p in parts):
        return ANY
    if all(p.kind == "intervals" for p in parts):
        return CellSet("intervals", tuple(i for p in parts for i in p.intervals))
    if all(p.kind == "values" and not p.negated for p in parts):
        return CellSet("values", values=frozenset().union(*(p.values for p in parts)))
    return UNKNOWN


def _not(part: CellSet) -> CellSet:
    if part.kind == "values":
        return CellSet("values", values=part.values, negated=not part.negated)
    if part.kind == "intervals":
        return CellSet("intervals", tuple(complement(list(part.intervals))))
    return UNKNOWN


def analyse_table(decision) -> list[RulebookError]:
    """Findings for one table-form decision (a :class:`kamrules.rules.decisions.Decision`)."""
    if decision.table_inputs is None:
        return []
    names = [i.text for i in decision.table_inputs]
    rows = [(rule, [cell_set(c) for c in rule.cells]) for rule in decision.rules]
    findings = []
    if decision.hit == "unique":
        findings += _overlaps(rows, names, _always, _UNIQUE)
    if decision.hit == "any":
        findings += _overlaps(rows, names, _differ, _ANY)
    if decision.hit == "priority":
        findings += _overlaps(rows, names, _tied, _PRIORITY)
    if decision.hit == "first":
        findings += _shadowed(decision, rows)
    if len(names) == 1 and decision.default is None and decision.hit not in EMPTY_IS_AN_ANSWER:
        findings += _gaps(decision, rows, names[0])
    return findings


def _literal_outputs(rule) -> Optional[dict]:
    """The rule's outputs when every one is a fixed value (otherwise they cannot be compared)."""
    if not all(isinstance(e.node, k.Literal) for e in rule.outputs.values()):
        return None
    return {name: e.node.value for name, e in rule.outputs.items()}


def _always(first, second) -> bool:
    return True


def _differ(first, second) -> bool:
    a, b = _literal_outputs(first), _literal_outputs(second)
    return a is not None and b is not None and a != b


def _tied(first, second) -> bool:
    return first.priority == second.priority and _differ(first, second)


def _finding(rule, message: Text, suggestion: Text) -> RulebookError:
    where = rule.where
    return RulebookError(message, file=where.file, line=where.line, rule_id=rule.id, loc=where.loc,
                         suggestion=suggestion, sheet=where.sheet, cell=where.cell, column=where.column)


# what two rows that can both match mean under each policy: (message, hint)
_UNIQUE = (lambda first, second, example: msg("analysis.overlap", first=first, second=second, example=example),
           lambda: msg("analysis.overlap.hint"))
_ANY = (lambda first, second, example: msg("analysis.any_conflict", first=first, second=second, example=example),
        lambda: msg("analysis.any_conflict.hint"))
_PRIORITY = (lambda first, second, example: msg("analysis.priority_tie", first=first, second=second,
                                                example=example),
             lambda: msg("analysis.priority_tie.hint"))


def _overlaps(rows, names, matters, words) -> list[RulebookError]:
    """Pairs of rows that can both match (and for which ``matters``), each with an example input."""
    message, hint = words
    findings = []
    for j, (rule_j, sets_j) in enumerate(rows):
        for rule_i, sets_i in rows[:j]:
            meets = [a.intersects(b) for a, b in zip(sets_i, sets_j)]
            if all(m is True for m in meets) and matters(rule_i, rule_j):
                example = reduce(lambda first, second: msg("analysis.comma", first=first, second=second),
                                 [a.example(b, n) for a, b, n in zip(sets_i, sets_j, names)])
                findings.append(_finding(rule_j, message(rule_i.id, rule_j.id, example), hint()))
    return findings


def _shadowed(decision, rows) -> list[RulebookError]:
    findings = []
    for j, (rule_j, sets_j) in enumerate(rows):
        for rule_i, sets_i in rows[:j]:
            if all(a.within(b) is True for a, b in zip(sets_j, sets_i)):
                findings.append(_finding(rule_j, msg("analysis.shadowed", row=rule_j.id, above=rule_i.id),
                                         msg("analysis.shadowed.hint", above=rule_i.id)))
                break
    return findings


def _gaps(decision, rows, name) -> list[RulebookError]:
    sets = [s[0] for _, s in rows]
    if any(s.kind in ("any", "unknown") for s in sets) or not all(s.kind == "intervals" for s in sets):
        return []
    gaps = complement([i for s in sets for i in s.intervals])
    if not gaps:
        return []
    described = reduce(lambda first, second: msg("analysis.semicolon", first=first, second=second),
                       [g.text(name) for g in gaps])
    where = decision.where
    return [RulebookError(msg("analysis.gap", values=described), file=where.file,
                          line=where.line, rule_id=decision.id, loc=where.loc, column=where.column,
                          suggestion=msg("analysis.gap.hint"))]
