"""S-FEEL, DMN's simple expression language, to and from the rule language's syntax tree.

:func:`parse_expression` reads an input expression, an output entry or a literal expression;
:func:`parse_unary_tests` reads an input entry (``-``, ``< 18``, ``[18..65)``, ``"A", "B"``,
``not("A")``, ``null``, ``date("2025-01-01")``). Both return :mod:`kamrules.expr.ast` nodes, so
imported tables are evaluated by the same engine as YAML ones. Names are the model's own
(``Full Name``, ``loan.principal``): the caller gives the map from each FEEL name to the
identifier the rule language uses, and every name in the text must be one of them.

What is not S-FEEL (contexts, function definitions, ``for``/``some``/``every``, filters, most
built-in functions) raises :class:`FeelUnsupported` naming the construct, never a guess.

:func:`to_feel` writes a node back as FEEL for export; it returns None for what FEEL cannot
say the same way, and the caller keeps the rule language's own text beside it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Optional

from ...expr import ast as k
from ...expr.unary import bind_input

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<string>"(?:\\.|[^"\\])*")
  | (?P<op>\*\*|\.\.|<=|>=|!=|[-+*/=<>(),\[\]?:.])
  | (?P<name>[^\W\d][\w]*)
""", re.X)
_KEYWORDS = {"and", "or", "not", "true", "false", "null", "if", "then", "else", "in", "between",
             "for", "some", "every", "function", "instance", "of", "satisfies", "return"}
_UNSUPPORTED_KEYWORDS = {"for": "for loops", "some": "quantified expressions (some)",
                         "every": "quantified expressions (every)", "function": "function definitions",
                         "instance": "instance of"}
# FEEL built-ins that have a rule-language function of the same meaning
_FUNCTIONS = {"abs": "abs", "min": "min", "max": "max", "floor": "floor", "ceiling": "ceil"}
_COMPARE = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class FeelUnsupported(Exception):
    """The text uses FEEL beyond S-FEEL. ``construct`` names it; ``position`` is where."""

    def __init__(self, construct: str, text: str, position: int = 0):
        super().__init__(construct)
        self.construct, self.text, self.position = construct, text, position


class FeelSyntaxError(Exception):
    """The text is not FEEL at all. ``position`` is where reading stopped."""

    def __init__(self, reason: str, text: str, position: int):
        super().__init__(reason)
        self.reason, self.text, self.position = reason, text, position


@dataclass(frozen=True)
class _Token:
    kind: str  # number string op name keyword end
    text: str
    position: int


def substitute_names(text: str, names: dict[str, str]) -> str:
    """Replace each FEEL name (which may hold spaces, dots, slashes) by its identifier, longest
    first, outside string literals and only where it stands as a whole name."""
    if not names:
        return text
    ordered = sorted(names, key=len, reverse=True)
    pattern = re.compile(r'"(?:\\.|[^"\\])*"|(?<![\w.])(' + "|".join(map(re.escape, ordered)) + r")(?![\w])")
    return pattern.sub(lambda m: names[m.group(1)] if m.group(1) else m.group(0), text)


def _tokens(text: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FeelSyntaxError(f"unexpected character {text[position]!r}", text, position)
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "name" and value in _KEYWORDS:
            kind = "keyword"
        if kind != "space":
            tokens.append(_Token(kind, value, position))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


@dataclass(frozen=True)
class Function:
    """A business knowledge model callable from FEEL: its parameters' identifiers and its body."""

    parameters: tuple[str, ...]
    body: k.Node


class _Parser:
    def __init__(self, text: str, names: dict[str, str], functions: dict[str, Function] | None = None):
        self.source = text
        self.names = set(names.values())
        self.functions = functions or {}
        self.text = substitute_names(text, names)
        self.tokens = _tokens(self.text)
        self.at = 0

    # --- tokens ---------------------------------------------------------------------------

    @property
    def current(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def accept(self, *texts: str) -> Optional[_Token]:
        if self.current.kind in ("op", "keyword") and self.current.text in texts:
            return self.take()
        return None

    def expect(self, text: str) -> _Token:
        token = self.accept(text)
        if token is None:
            raise FeelSyntaxError(f"expected {text!r}", self.source, self.current.position)
        return token

    def done(self) -> None:
        if self.current.kind != "end":
            raise FeelSyntaxError(f"unexpected {self.current.text!r}", self.source, self.current.position)

    # --- expressions ----------------------------------------------------------------------

    def expression(self) -> k.Node:
        if self.accept("if"):
            condition = self.expression()
            self.expect("then")
            then = self.expression()
            self.expect("else")
            return k.IfElse(condition, then, self.expression())
        return self.disjunction()

    def disjunction(self) -> k.Node:
        parts = [self.conjunction()]
        while self.accept("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else k.BoolOp("or", tuple(parts))

    def conjunction(self) -> k.Node:
        parts = [self.comparison()]
        while self.accept("and"):
            parts.append(self.comparison())
        return parts[0] if len(parts) == 1 else k.BoolOp("and", tuple(parts))

    def comparison(self) -> k.Node:
        left = self.additive()
        token = self.accept(*_COMPARE)
        if token:
            return k.Compare(left, (_COMPARE[token.text],), (self.additive(),))
        if self.accept("between"):
            low = self.additive()
            self.expect("and")
            high = self.additive()
            return k.BoolOp("and", (k.Compare(left, (">=",), (low,)), k.Compare(left, ("<=",), (high,))))
        if self.accept("in"):
            if self.accept("("):
                test = self.positive_tests()
                self.expect(")")
            else:
                test = self.positive_test()
            return _bind(test, left)
        return left

    def additive(self) -> k.Node:
        node = self.multiplicative()
        while True:
            token = self.accept("+", "-")
            if token is None:
                return node
            node = k.Binary(token.text, node, self.multiplicative())

    def multiplicative(self) -> k.Node:
        node = self.power()
        while True:
            token = self.accept("*", "/")
            if token is None:
                return node
            node = k.Binary(token.text, node, self.power())

    def power(self) -> k.Node:
        node = self.negation()
        while self.accept("**"):
            node = k.Call("power", (node, self.negation()))
        return node

    def negation(self) -> k.Node:
        if self.accept("-"):
            operand = self.negation()
            if isinstance(operand, k.Literal) and isinstance(operand.value, (int, float)) \
                    and not isinstance(operand.value, bool):
                return k.Literal(-operand.value)
            return k.Unary("-", operand)
        return self.primary()

    def primary(self) -> k.Node:
        token = self.take()
        if token.kind == "number":
            return k.Literal(int(token.text) if token.text.isdigit() else float(token.text))
        if token.kind == "string":
            return k.Literal(_unquote(token.text))
        if token.kind == "keyword":
            if token.text in ("true", "false"):
                return k.Literal(token.text == "true")
            if token.text == "null":
                return k.Literal(None)
            if token.text == "not" and self.current.text == "(":
                self.take()
                operand = self.expression()
                self.expect(")")
                return k.Unary("not", operand)
            if token.text in _UNSUPPORTED_KEYWORDS:
                raise FeelUnsupported(_UNSUPPORTED_KEYWORDS[token.text], self.source, token.position)
        if token.kind == "op" and token.text == "(":
            node = self.expression()
            self.expect(")")
            return node
        if token.kind == "op" and token.text == "[":
            raise FeelUnsupported("lists and ranges in expressions", self.source, token.position)
        if token.kind == "op" and token.text == "?":
            return k.Input()
        if token.kind == "name":
            if self.current.text == "(":
                return self.call(token)
            if self.current.text == "." and token.text not in self.names:
                raise FeelUnsupported(f"the path {token.text}.{self.tokens[self.at + 1].text} "
                                      "(not a field of an input of the model)", self.source, token.position)
            return k.Name(token.text)  # a name the model does not declare is the compiler's to report
        raise FeelSyntaxError(f"unexpected {token.text or 'end'!r}", self.source, token.position)

    def call(self, name: _Token) -> k.Node:
        self.expect("(")
        args = []
        if not self.accept(")"):
            while True:
                if self.current.kind == "name" and self.tokens[self.at + 1].text == ":":
                    raise FeelUnsupported("named arguments", self.source, self.current.position)
                args.append(self.expression())
                if not self.accept(","):
                    break
            self.expect(")")
        if name.text in self.functions:
            return self.invoke(name, self.functions[name.text], args)
        if name.text == "date" and len(args) == 1 and isinstance(args[0], k.Literal) \
                and isinstance(args[0].value, str):
            try:
                return k.Literal(dt.date.fromisoformat(args[0].value))
            except ValueError:
                raise FeelSyntaxError(f"not a date: {args[0].value!r}", self.source, name.position) from None
        if name.text in _FUNCTIONS:
            return k.Call(_FUNCTIONS[name.text], tuple(args))
        raise FeelUnsupported(f"the function {name.text}()", self.source, name.position)

    def invoke(self, name: _Token, function: Function, args: list[k.Node]) -> k.Node:
        if len(args) != len(function.parameters):
            raise FeelSyntaxError(f"{name.text}() takes {len(function.parameters)} arguments, not {len(args)}",
                                  self.source, name.position)
        bound = dict(zip(function.parameters, args))
        return k.replace(function.body, lambda leaf: bound.get(leaf.name) if isinstance(leaf, k.Name) else None)

    # --- unary tests ----------------------------------------------------------------------

    def unary_tests(self) -> k.Node:
        if self.current.text == "-" and self.tokens[self.at + 1].kind == "end":
            self.take()
            return k.Literal(True)
        if self.current.kind == "keyword" and self.current.text == "not" and self.tokens[self.at + 1].text == "(":
            self.take()
            self.take()
            tests = self.positive_tests()
            self.expect(")")
            return k.Unary("not", tests)
        return self.positive_tests()

    def positive_tests(self) -> k.Node:
        tests = [self.positive_test()]
        while self.accept(","):
            tests.append(self.positive_test())
        return tests[0] if len(tests) == 1 else k.BoolOp("or", tuple(tests))

    def positive_test(self) -> k.Node:
        token = self.accept("<", "<=", ">", ">=", "=", "!=")
        if token:
            return k.Compare(k.Input(), (_COMPARE[token.text],), (self.additive(),))
        if self.current.text in ("[", "(", "]") and self._is_interval():
            return self.interval()
        value = self.expression()
        if any(isinstance(n, k.Input) for n in k.walk(value)):
            return value  # a test written with ? (FEEL 1.2+)
        return k.Compare(k.Input(), ("==",), (value,))

    def _is_interval(self) -> bool:
        """``[``, ``(`` or ``]`` opening a range ``a..b`` (and not a parenthesised expression)."""
        if self.current.text == "]":
            return True
        depth = 0
        for token in self.tokens[self.at:]:
            if token.kind == "end":
                return False
            if token.text in ("(", "["):
                depth += 1
            elif token.text in (")", "]"):
                depth -= 1
                if depth == 0:
                    return False
            elif token.text == ".." and depth == 1:
                return True
        return False

    def interval(self) -> k.Node:
        opening = self.take().text
        low = self.additive()
        self.expect("..")
        high = self.additive()
        closing = self.accept("]", ")", "[")
        if closing is None:
            raise FeelSyntaxError("expected ']', ')' or '['", self.source, self.current.position)
        low_op = ">=" if opening == "[" else ">"
        high_op = "<=" if closing.text == "]" else "<"
        return k.BoolOp("and", (k.Compare(k.Input(), (low_op,), (low,)), k.Compare(k.Input(), (high_op,), (high,))))


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r'\\(["\\nrt])', lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _bind(test: k.Node, value: k.Node) -> k.Node:
    return bind_input(test, value)


def parse_expression(text: str, names: dict[str, str], functions: dict[str, Function] | None = None) -> k.Node:
    """An S-FEEL expression as a rule-language node; calls of ``functions`` are inlined."""
    parser = _Parser(text.strip(), names, functions)
    if parser.current.kind == "end":
        raise FeelSyntaxError("empty expression", text, 0)
    node = parser.expression()
    parser.done()
    return node


def parse_unary_tests(text: Optional[str], names: dict[str, str],
                      functions: dict[str, Function] | None = None) -> k.Node:
    """An input entry as a test of :class:`ast.Input`; an empty entry is ``-`` (any)."""
    if text is None or not text.strip():
        return k.Literal(True)
    parser = _Parser(text.strip(), names, functions)
    node = parser.unary_tests()
    parser.done()
    return node


# --- writing FEEL ---------------------------------------------------------------------------

_FEEL_OPS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_FEEL_FUNCTIONS = {"abs": "abs", "min": "min", "max": "max", "floor": "floor", "ceil": "ceiling"}


class _Untranslatable(Exception):
    pass


def to_feel(node: k.Node, names: dict[str, str] | None = None) -> Optional[str]:
    """The node as FEEL, or None when FEEL cannot say it the same way. ``names`` maps the rule
    language's identifiers to the model's names (default: the same)."""
    try:
        return _Writer(names or {}).text(node)
    except _Untranslatable:
        return None


def unary_to_feel(node: k.Node, names: dict[str, str] | None = None) -> Optional[str]:
    """A table cell's test (``?`` for the input) as a FEEL input entry, or None."""
    if isinstance(node, k.Literal) and node.value is True:
        return "-"
    try:
        return _Writer(names or {}).unary(node)
    except _Untranslatable:
        return None


class _Writer:
    def __init__(self, names: dict[str, str]):
        self.names = names

    def text(self, node: k.Node) -> str:
        method = getattr(self, "_" + type(node).__name__)
        return method(node)

    def atom(self, node: k.Node) -> str:
        text = self.text(node)
        return text if isinstance(node, (k.Literal, k.Name, k.Input, k.Call)) else f"({text})"

    def _Literal(self, node: k.Literal) -> str:
        value = node.value
        if value is None:
            return "null"
        if value is True or value is False:
            return "true" if value else "false"
        if isinstance(value, dt.date):
            return f'date("{value.isoformat()}")'
        if isinstance(value, str):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(value, float):
            text = repr(value)
            if "e" in text or "inf" in text or "nan" in text:
                raise _Untranslatable
            return text.removesuffix(".0") if value.is_integer() else text
        return str(value)

    def _Name(self, node: k.Name) -> str:
        return self.names.get(node.name, node.name)

    def _Input(self, node: k.Input) -> str:
        return "?"

    def _Unary(self, node: k.Unary) -> str:
        if node.op == "not":
            return f"not({self.text(node.operand)})"
        if node.op == "-":
            return f"-{self.atom(node.operand)}"
        return self.text(node.operand)

    def _Binary(self, node: k.Binary) -> str:
        if node.op in ("+", "-", "*", "/"):
            return f"{self.atom(node.left)} {node.op} {self.atom(node.right)}"
        raise _Untranslatable  # // and % have no S-FEEL operator

    def _BoolOp(self, node: k.BoolOp) -> str:
        return f" {node.op} ".join(self.atom(v) for v in node.values)

    def _Compare(self, node: k.Compare) -> str:
        parts, left = [], node.left
        for op, right in zip(node.ops, node.comparators):
            if op in _FEEL_OPS:
                parts.append(f"{self.atom(left)} {_FEEL_OPS[op]} {self.atom(right)}")
            elif op in ("in", "not in") and isinstance(right, k.ListOf):
                test = f"{self.atom(left)} in ({', '.join(self.text(i) for i in right.items)})"
                parts.append(test if op == "in" else f"not({test})")
            else:
                raise _Untranslatable
            left = right
        return " and ".join(parts)

    def _IfElse(self, node: k.IfElse) -> str:
        return f"if {self.text(node.condition)} then {self.text(node.then)} else {self.text(node.otherwise)}"

    def _Call(self, node: k.Call) -> str:
        if node.function == "power" and len(node.args) == 2:
            return f"{self.atom(node.args[0])} ** {self.atom(node.args[1])}"
        if node.function in _FEEL_FUNCTIONS:
            return f"{_FEEL_FUNCTIONS[node.function]}({', '.join(self.text(a) for a in node.args)})"
        raise _Untranslatable

    def _ListOf(self, node: k.ListOf) -> str:
        raise _Untranslatable

    def unary(self, node: k.Node) -> str:
        """A test of ``?`` in unary-test syntax where it has one, else as an expression of ``?``."""
        if isinstance(node, k.BoolOp) and node.op == "or":
            return ", ".join(self.unary(v) for v in node.values)
        if isinstance(node, k.Unary) and node.op == "not":
            return f"not({self.unary(node.operand)})"
        if isinstance(node, k.Compare) and len(node.ops) == 1 and isinstance(node.left, k.Input) \
                and not any(isinstance(n, k.Input) for n in k.walk(node.comparators[0])):
            op, value = node.ops[0], node.comparators[0]
            if op == "==":
                return self.text(value)
            if op in ("<", "<=", ">", ">="):
                return f"{op} {self.atom(value)}"
            if op == "!=":
                return f"not({self.text(value)})"
            if op in ("in", "not in") and isinstance(value, k.ListOf):
                listed = ", ".join(self.text(i) for i in value.items)
                return listed if op == "in" else f"not({listed})"
        interval = self._interval(node)
        if interval:
            return interval
        return self.text(node)

    def _interval(self, node: k.Node) -> Optional[str]:
        if not (isinstance(node, k.BoolOp) and node.op == "and" and len(node.values) == 2):
            return None
        low, high = node.values
        if not all(isinstance(c, k.Compare) and len(c.ops) == 1 and isinstance(c.left, k.Input)
                   for c in (low, high)):
            return None
        if low.ops[0] in (">", ">=") and high.ops[0] in ("<", "<="):
            opening = "[" if low.ops[0] == ">=" else "("
            closing = "]" if high.ops[0] == "<=" else ")"
            return f"{opening}{self.text(low.comparators[0])}..{self.text(high.comparators[0])}{closing}"
        return None
