"""Word documents with docxtpl, through a sandboxed, autoescaping, strict Jinja environment.

Sandboxed: a template cannot reach Python internals (``''.__class__`` and friends).
Autoescaped: a customer called ``A&B <Co>`` is written as text, never as broken XML.
Strict: a misspelt placeholder is an error naming the template, not a silent blank.
Amounts: the filters format money in the project's ``currency:`` (see :mod:`.filters`).
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import types
import zipfile
from functools import update_wrapper
from pathlib import Path
from typing import Any

import jinja2
from defusedxml import DefusedXmlException, ElementTree
from docxtpl import DocxTemplate
from jinja2 import meta, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter, safe_range
from markupsafe import Markup

from ..errors import RenderError
from ..i18n import Text, msg
from ..limits import Limits, env_name
from ..limits import current as current_limits
from ..names import did_you_mean
from ..rules.documents_config import BRAND_COLOR, DEFAULT_CURRENCY
from ..text import strip as strip_blanks
from .filters import make_filters
from .pictures import Picture, inline_pictures
from .template_files import read_template

_RENDERED_PART = re.compile(r"^word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$")
# controls (C0, DEL, C1, line separators) and the bidi controls that disguise extensions
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


class _Generator(CodeGenerator):
    """Jinja's code generator, with ``a ~ b`` (text joined in a template) checked by the
    environment like the results of calls and operators: ``{% set ns.s = ns.s ~ ns.s %}`` in a
    loop must not double a text until memory runs out."""

    def visit_Concat(self, node: nodes.Concat, frame) -> None:
        self.write("environment.bounded(")
        super().visit_Concat(node, frame)
        self.write(")")


class _BoundedFormat:
    """``str.format`` in the sandbox with widths and precisions bounded: ``'{:>500000000}'.format(x)``
    is refused before it builds half a gigabyte (nested ``{:{w}}`` fields are checked once filled)."""

    _env: "BoundedEnvironment"

    def format_field(self, value, format_spec):
        self._env.check_format_spec(format_spec)
        return super().format_field(value, format_spec)


class _Formatter(_BoundedFormat, SandboxedFormatter):
    pass


class _EscapeFormatter(_BoundedFormat, SandboxedEscapeFormatter):
    pass


_SPEC_NUMBER = re.compile(r"\d+")
# printf-style conversions (``'%-*.3f' % …``, the ``format`` filter): (width, precision)
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?[diouxXeEfFgGcrsa%]")


class BoundedEnvironment(SandboxedEnvironment):
    """Jinja's sandbox (no Python internals), plus bounds on what one render may cost: every
    call and every ``range`` item is a step (``max_render_steps``) and steps check the clock
    (``max_render_seconds``); ``*`` and ``**`` may not build huge values; numeric arguments of
    filters and the widths of ``str`` methods such as ``center(10**9)`` are capped, and so are the
    widths and precisions of ``str.format``, ``%`` and the ``format`` filter; no text or list a
    call, filter, operator or ``~`` builds, and no part's output, may exceed the document limit.
    ``{% include %}`` and ``{% import %}`` find nothing: the environment has no loader."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _Generator
    LARGEST_ARGUMENT = 1_000_000
    LARGEST_INTEGER_BITS = 4096  # about 1,233 digits: no document needs more

    COMPILED_KEPT = 32  # parts of the templates of one run (document, headers, footers)

    def __init__(self, limits: Limits | None = None, **options):
        super().__init__(**options)
        self.limits = limits or current_limits()
        self.globals["range"] = self._range
        self._compiled: dict[str, jinja2.Template] = {}
        self.begin()

    def from_string(self, source, globals=None, template_class=None):
        """A part's XML is the same for every customer: compile it once (a third of a render)."""
        if globals or template_class or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        template = self._compiled.get(source)
        if template is None:
            if len(self._compiled) >= self.COMPILED_KEPT:
                del self._compiled[next(iter(self._compiled))]
            template = self._compiled[source] = super().from_string(source)
        return template

    def begin(self) -> None:
        """Start the budget of one render."""
        self._steps, self._deadline = 0, time.monotonic() + self.limits.max_render_seconds

    def step(self, count: int = 1) -> None:
        self._steps += count
        if self._steps > self.limits.max_render_steps:
            raise SecurityError(msg("render.too_many_steps", steps=self.limits.max_render_steps,
                                    variable=env_name("max_render_steps")))
        if time.monotonic() > self._deadline:
            raise SecurityError(msg("render.too_slow", seconds=self.limits.max_render_seconds,
                                    variable=env_name("max_render_seconds")))

    # --- sizes ------------------------------------------------------------------------------

    def _too_big(self) -> SecurityError:
        return SecurityError(msg("render.big_value", limit=self.limits.max_document_bytes,
                                 variable=env_name("max_document_bytes")))

    def bounded(self, value):
        """``value`` if it is no larger than a document may be (texts by characters, lists, dicts and
        sets by items up to the step budget); a SecurityError otherwise."""
        if isinstance(value, str):
            if len(value) > self.limits.max_document_bytes:
                raise self._too_big()
        elif isinstance(value, (list, tuple, dict, set, frozenset)) and len(value) > self.limits.max_render_steps:
            raise self._too_big()
        return value

    def concat(self, pieces) -> str:  # Template.render joins a part's output with this
        out, size, limit = [], 0, 2 * self.limits.max_document_bytes  # verify() then says the exact size
        for piece in pieces:
            size += len(piece)
            if size > limit:
                raise self._too_big()
            out.append(piece)
        return "".join(out)

    def check_number(self, value) -> None:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > self.LARGEST_ARGUMENT:
            raise SecurityError(msg("render.big_argument", limit=self.LARGEST_ARGUMENT))

    def check_arguments(self, args, kwargs) -> None:
        for value in (*args, *kwargs.values()):
            self.check_number(value)

    def _check_width(self, digits: str) -> None:
        digits = digits.lstrip("0")
        if len(digits) > len(str(self.LARGEST_ARGUMENT)) or (digits and int(digits) > self.LARGEST_ARGUMENT):
            raise SecurityError(msg("render.big_format", limit=self.LARGEST_ARGUMENT))

    def check_format_spec(self, spec: str) -> None:
        """Every number in a ``str.format`` field's spec (width, precision) at most LARGEST_ARGUMENT."""
        for digits in _SPEC_NUMBER.findall(spec):
            self._check_width(digits)

    def check_printf(self, template: str, values) -> None:
        """Widths and precisions of ``template % values``, written or given as ``*``."""
        starred = False
        for match in _PRINTF.finditer(template):
            for part in match.groups():
                if part == "*":
                    starred = True
                elif part:
                    self._check_width(part)
        if starred:
            for value in values if isinstance(values, tuple) else (values,):
                self.check_number(value)

    _SIZED = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})  # str methods taking a width

    def _check_growth(self, function, args, kwargs) -> None:
        """Calls whose result can be far larger than their arguments, estimated before they run: a
        width above LARGEST_ARGUMENT (``'x'.ljust(10**9)``), ``replace``, ``join``, ``expandtabs``."""
        owner, name = getattr(function, "__self__", None), getattr(function, "__name__", "")
        if not isinstance(owner, str):
            return
        limit = self.limits.max_document_bytes
        if name in self._SIZED:
            self.check_arguments(args, kwargs)
        if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
            self._check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else -1)
        elif name == "join" and args and isinstance(args[0], (list, tuple)):
            size = len(owner) * max(len(args[0]) - 1, 0) + sum(len(v) for v in args[0] if isinstance(v, str))
            if size > limit:
                raise self._too_big()
        elif name == "expandtabs":
            tabsize = args[0] if args else kwargs.get("tabsize", 8)
            if isinstance(tabsize, int) and len(owner) + owner.count("\t") * max(tabsize, 0) > limit:
                raise self._too_big()

    def _check_replace(self, text: str, old: str, new: str, count) -> None:
        times = len(text) + 1 if not old else text.count(old)
        if isinstance(count, int) and count >= 0:
            times = min(times, count)
        if len(text) + times * max(len(new) - len(old), 0) > self.limits.max_document_bytes:
            raise self._too_big()

    # --- the sandbox's hooks ----------------------------------------------------------------

    def _range(self, *args):
        items = range(*args)
        self.step(len(items))
        return safe_range(*args)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's signature)
        __self.step()
        __self._check_growth(__obj, args, kwargs)  # (range counts its own steps)
        result = super().call(__context, __obj, *args, **kwargs)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (list, dict, set)):  # list.extend(list) in a loop doubles it
            __self.bounded(owner)
        return __self.bounded(result)

    def call_binop(self, context, operator, left, right):
        self.step()
        whole = isinstance(left, int) and isinstance(right, int)
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > 64:
                raise SecurityError(msg("render.big_exponent"))
            if whole and right > 0 and abs(left).bit_length() * right > self.LARGEST_INTEGER_BITS:
                raise SecurityError(msg("render.big_number", bits=self.LARGEST_INTEGER_BITS))
        elif operator == "*":
            sized = next((v for v in (left, right) if isinstance(v, (str, list, tuple))), None)
            times = next((v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)), None)
            if sized is not None and times is not None and len(sized) * times > self.limits.max_document_bytes:
                raise SecurityError(msg("render.big_repeat"))
            if whole and abs(left).bit_length() + abs(right).bit_length() > self.LARGEST_INTEGER_BITS:
                raise SecurityError(msg("render.big_number", bits=self.LARGEST_INTEGER_BITS))
        elif operator == "%" and isinstance(left, str):
            self.check_printf(left, right)
        return self.bounded(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value):
        """Jinja's sandboxed ``str.format``/``format_map``, with :class:`_BoundedFormat`'s bounds."""
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) \
                or value.__name__ not in ("format", "format_map"):
            return None
        text = value.__self__
        if not isinstance(text, str):
            return None
        formatter = (_EscapeFormatter(self, escape=text.escape) if isinstance(text, Markup)
                     else _Formatter(self))
        is_map = value.__name__ == "format_map"

        def wrapper(*args, **kwargs):
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            return self.bounded(type(text)(formatter.vformat(text, args, kwargs)))

        return update_wrapper(wrapper, value)


def _bounded_filter(env: BoundedEnvironment, name: str, function):
    """``function`` as a filter of ``env``: a step; numeric arguments capped; the filters whose
    result can be far larger than their input (``format``, ``replace``, ``indent``, ``join``)
    estimated first; the result no larger than a document."""
    first = 1 if hasattr(function, "jinja_pass_arg") else 0  # the context or environment comes before the value

    def bounded(*args, **kwargs):
        env.step()
        value, rest = (args[first], args[first + 1:]) if len(args) > first else (None, ())
        env.check_arguments(rest, kwargs)
        if name == "format" and isinstance(value, str):
            env.check_printf(value, tuple(rest) or tuple(kwargs.values()))
        elif name == "replace" and isinstance(value, str) and len(rest) >= 2:
            if isinstance(rest[0], str) and isinstance(rest[1], str):
                env._check_replace(value, rest[0], rest[1], rest[2] if len(rest) > 2 else kwargs.get("count", -1))
        elif name == "indent" and isinstance(value, str):
            width = rest[0] if rest else kwargs.get("width", 4)
            indent = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
            if len(value) + (value.count("\n") + 1) * max(indent, 0) > env.limits.max_document_bytes:
                raise env._too_big()
        elif name == "join" and isinstance(value, (list, tuple)):
            separator = rest[0] if rest else kwargs.get("d", "")
            if isinstance(separator, str):
                env._check_growth(separator.join, (value,), {})
        return env.bounded(function(*args, **kwargs))

    if hasattr(function, "jinja_pass_arg"):  # keep pass_context / pass_eval_context / pass_environment
        bounded.jinja_pass_arg = function.jinja_pass_arg
    return bounded


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
BRAND_TINT = "EAF1F8"  # the templates' light fill of the accent colour (key cells)


def tint(color: str, share: float = 0.9) -> str:
    """``color`` mixed with white (``share`` of white): the light fill that goes with a brand colour."""
    rgb = [int(color[i:i + 2], 16) for i in (0, 2, 4)]
    return "".join(f"{round(c + (255 - c) * share):02X}" for c in rgb)


def recolor(source: bytes, colors: dict[str, str]) -> bytes:
    """The .docx ``source`` with each hex colour of ``colors`` replaced in its XML parts (the
    document, styles, headers, footers): the company's brand colour in place of the template's."""
    original = zipfile.ZipFile(io.BytesIO(source))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in original.infolist():
            data = original.read(info)
            if info.filename.endswith(".xml") and info.filename.startswith("word/"):
                for old, new in colors.items():
                    data = re.sub(rb'(?i)"' + old.encode() + rb'"', b'"' + new.encode() + b'"', data)
            target.writestr(info, data)
    return out.getvalue()


def make_environment(locale: str, limits: Limits | None = None,
                     currency: str = DEFAULT_CURRENCY, money_style: str = "full") -> BoundedEnvironment:
    env = BoundedEnvironment(limits, autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(make_filters(locale, currency, money_style))
    env.filters.update({name: _bounded_filter(env, name, f) for name, f in env.filters.items()})
    return env


_SUFFIX = re.compile(r"[A-Za-z0-9]{1,10}")


def safe_filename(name: str, limit: int = 150) -> str:
    """A file name that is valid on Windows and Linux and cannot leave its folder, at most ``limit``
    bytes of UTF-8 (its extension kept: letters and digits after the last dot, up to 10)."""
    cleaned = strip_blanks(_UNSAFE.sub("_", name)).strip(".")
    cleaned = cleaned.replace("..", "_")
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot or not _SUFFIX.fullmatch(suffix):
        stem, suffix = cleaned, ""
    if stem.split(".")[0].lower() in _RESERVED or not stem:  # Windows reserves CON.txt and con.tar.gz too
        stem = "_" + stem
    encoded_limit = limit - len(suffix) - 1 if suffix else limit
    if len(stem.encode("utf-8")) > encoded_limit:
        stem = _shorten(stem, encoded_limit)
    return f"{stem}.{suffix}" if suffix else stem


def _shorten(stem: str, limit: int, tail: int = 12) -> str:
    """Cut the middle, keeping the start (the id) and the end (e.g. ``_服务方案``) readable."""
    end = stem[-tail:]
    start = stem[:-tail]
    while start and len((start + "…" + end).encode("utf-8")) > limit:
        start = start[:-1]
    shortened = start + "…" + end
    while len(shortened.encode("utf-8")) > limit and shortened:  # a limit below the kept end
        shortened = shortened[1:]
    return shortened or "_"


class _Template(DocxTemplate):
    """docxtpl's template whose XML clean-up (``patch_xml``, a fifth of a render) is done once per
    part: the cleaned XML depends only on the template's own XML."""

    def __init__(self, source: bytes, patched: dict[str, str]):
        super().__init__(io.BytesIO(source))
        self._patched = patched

    def patch_xml(self, src_xml):
        cleaned = self._patched.get(src_xml)
        if cleaned is None:
            cleaned = self._patched[src_xml] = super().patch_xml(src_xml)
        return cleaned


_VETTED: set[bytes] = set()  # sha256 of template bytes that were a .docx linking nothing outside itself


class DocxRenderer:
    """Renders one .docx template many times (the template file is read once), its amounts in ``currency``."""

    def __init__(self, template: Path, locale: str, display_name: str | None = None,
                 currency: str = DEFAULT_CURRENCY, root: Path | None = None, money_style: str = "full",
                 internal: frozenset[str] = frozenset(), brand_color: str | None = None):
        """``root``: the project; the template must be a regular file inside it (default: inside
        its own folder), see :mod:`kamrules.files`. ``internal``: the fields a client document may
        not show (it is refused by name when the template uses one); ``brand_color`` takes the place
        of the templates' accent colour."""
        self.display_name = display_name or template.name
        self.source = read_template(template, self.display_name, root, msg("render.unreadable.hint"))
        self.locale, self.currency, self.internal = locale, currency, internal
        self.env = make_environment(locale, currency=currency, money_style=money_style)
        self._patched: dict[str, str] = {}
        self._tree: nodes.Template | None = None
        self._vet()
        if brand_color and brand_color.upper() != BRAND_COLOR:
            self.source = recolor(self.source, {BRAND_COLOR: brand_color.upper(), BRAND_TINT: tint(brand_color)})
        if currency != "CNY" and "daxie" in self.filters_used():  # before any document, not at the first customer
            raise RenderError(msg("render.daxie_not_cny", currency=currency), template=self.display_name,
                              suggestion=msg("render.daxie_not_cny.hint"))

    def _vet(self) -> None:
        """Refuse a file that is not a .docx or that links outside itself. The verdict depends on the
        bytes alone, so bytes that passed once in this process (a long-lived ``watch``, the documents
        stage then the render stage of one run) are not parsed again."""
        digest = hashlib.sha256(self.source).digest()
        if digest in _VETTED:
            return
        try:
            DocxTemplate(io.BytesIO(self.source)).get_docx()
        except Exception as exc:
            raise RenderError(msg("render.not_docx", kind=type(exc).__name__), template=self.display_name) from None
        check_self_contained(self.source, self.display_name)
        _VETTED.add(digest)

    def _parsed(self) -> nodes.Template:
        """The template's Jinja tree (body, headers and footers, as docxtpl reads them), parsed once."""
        if self._tree is None:
            capture = _Capture(self.env)
            try:
                DocxTemplate(io.BytesIO(self.source)).get_undeclared_template_variables(capture)
            except jinja2.TemplateSyntaxError as exc:
                raise _syntax_error(exc, self.display_name) from None
            self._tree = capture.tree
        return self._tree

    def _chart(self, request) -> "Picture | None":
        from .charts import revenue_chart

        chart = revenue_chart(list(request.monthly), request.lang, request.currency, request.width_mm,
                              brand_color=request.brand_color)
        return Picture(chart.png, width_mm=request.width_mm) if chart else None

    def placeholders(self) -> set[str]:
        """Top-level names the template reads (loop variables and its own sets excluded)."""
        return set(meta.find_undeclared_variables(self._parsed()))

    def where_used(self, name: str) -> str | None:
        """The text of the first paragraph (body, tables, headers, footers) whose Jinja tag names
        ``name``, shortened: where a person finds the placeholder in Word."""
        tag = re.compile(r"\{[{%](?:(?![}%]\}).)*?\b" + re.escape(name) + r"\b")
        archive = zipfile.ZipFile(io.BytesIO(self.source))
        parts = sorted(n for n in archive.namelist() if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", n))
        for part in parts:
            root = ElementTree.fromstring(archive.read(part))
            for paragraph in root.iter(_W + "p"):
                text = "".join(node.text or "" for node in paragraph.iter(_W + "t"))
                found = tag.search(text)
                if found:
                    start, end = max(0, found.start() - 12), min(len(text), found.start() + 48)
                    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
        return None

    def filters_used(self) -> set[str]:
        """Names of the filters the template applies (``{{ x|daxie }}`` → ``daxie``)."""
        return {node.name for node in self._parsed().find_all(nodes.Filter)}

    def render(self, context: dict[str, Any], target: Path, customer_id: str | None = None) -> None:
        template = _Template(self.source, self._patched)
        self.env.begin()
        try:
            context = {key: inline_pictures(value, template, self._chart) for key, value in context.items()}
            template.render(context, jinja_env=self.env, autoescape=True)
        except jinja2.UndefinedError as exc:
            name = _undefined_name(exc)
            if name in self.internal:
                raise RenderError(msg("documents.internal_field", name=name, where=msg("render.where_rendering")),
                                  template=self.display_name, customer_id=customer_id,
                                  suggestion=msg("documents.internal_field.hint")) from None
            raise RenderError(msg("render.undefined", name=name or msg("render.a_name"), detail=exc.message),
                              template=self.display_name, customer_id=customer_id,
                              suggestion=did_you_mean(name, context) if name else None) from None
        except jinja2.TemplateSyntaxError as exc:
            raise _syntax_error(exc, self.display_name, customer_id) from None
        except jinja2.exceptions.SecurityError as exc:
            raise RenderError(msg("render.unsafe", reason=_reason(exc)), template=self.display_name,
                              customer_id=customer_id) from None
        except (TypeError, ValueError, jinja2.TemplateError) as exc:
            raise RenderError(msg("render.failed", reason=_reason(exc)), template=self.display_name,
                              customer_id=customer_id) from None
        except RecursionError:
            raise RenderError(msg("render.recursive"), template=self.display_name,
                              customer_id=customer_id) from None
        except MemoryError:
            raise RenderError(msg("render.memory"), template=self.display_name,
                              customer_id=customer_id) from None
        except Exception as exc:  # what else a template can make Python raise ([].pop(), 1/0, 1e308 ** 2, …)
            raise RenderError(msg("render.failed", reason=f"{type(exc).__name__}: {_reason(exc)}"),
                              template=self.display_name, customer_id=customer_id) from None
        template.save(str(target))
        self.verify(target, context, customer_id)

    def verify(self, target: Path, context: dict[str, Any], customer_id: str | None) -> None:
        """Reopen the written file: every XML part parses, and no template tag was left unrendered."""
        carried = any(isinstance(v, str) and ("{{" in v or "{%" in v) for v in context.values())
        try:
            with zipfile.ZipFile(target) as archive:
                size = sum(info.file_size for info in archive.infolist())
                if size > self.env.limits.max_document_bytes:
                    target.unlink()
                    raise RenderError(msg("render.too_large", size=size, limit=self.env.limits.max_document_bytes,
                                          variable=env_name("max_document_bytes")), template=self.display_name,
                                      customer_id=customer_id)
                rendered = []
                for part in archive.namelist():
                    if not _RENDERED_PART.match(part):
                        continue
                    root = ElementTree.fromstring(archive.read(part))
                    rendered.append((part, root))
                    text = "".join(root.itertext())
                    if not carried and ("{{" in text or "{%" in text):
                        raise RenderError(msg("render.unrendered", part=part), template=self.display_name,
                                          customer_id=customer_id, suggestion=msg("render.unrendered.hint"))
                check_self_contained(archive, self.display_name, customer_id, rendered)  # a value cannot add a link
        except (zipfile.BadZipFile, ElementTree.ParseError, DefusedXmlException) as exc:
            raise RenderError(msg("render.broken", reason=str(exc)), template=self.display_name,
                              customer_id=customer_id) from None


class _Capture:
    """Stands in for the environment docxtpl parses the template with, keeping the tree it parsed."""

    def __init__(self, env: jinja2.Environment):
        self.env, self.tree = env, None

    def parse(self, source: str) -> nodes.Template:
        self.tree = self.env.parse(source)
        return self.tree


def _syntax_error(exc: jinja2.TemplateSyntaxError, template: str, customer_id: str | None = None) -> RenderError:
    return RenderError(msg("render.syntax", detail=exc.message), template=template, customer_id=customer_id,
                       suggestion=msg("render.syntax.hint"))


def _reason(exc: Exception):
    """What an exception says: our own message (a Text, which localizes) or the library's words."""
    return exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Text) else str(exc)


_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_WORD = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
# Field codes with which Word reads another file or a data source (INCLUDEPICTURE "http://…").
_FETCHING_FIELDS = {"INCLUDEPICTURE", "INCLUDETEXT", "INCLUDE", "LINK", "DDE", "DDEAUTO", "IMPORT", "DATABASE", "RD"}


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _parse_part(archive: zipfile.ZipFile, name: str, template: str, customer_id: str | None = None):
    try:
        return ElementTree.fromstring(archive.read(name))
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise RenderError(msg("render.part_unreadable", part=name, reason=str(exc) or type(exc).__name__),
                          template=template, customer_id=customer_id) from None


def external_content(source: bytes | zipfile.ZipFile) -> list[tuple[str, str]]:
    """(part, target) of every relationship, in any part's ``.rels``, whose TargetMode is External:
    pictures, objects, frames, attached templates, hyperlinks alike. The XML is parsed (defusedxml:
    no DTD, no entities), so quoting, namespace prefixes, character references and spacing cannot
    hide one; python-docx would write it back in canonical form."""
    archive = source if isinstance(source, zipfile.ZipFile) else zipfile.ZipFile(io.BytesIO(source))
    found = []
    for name in archive.namelist():
        if not name.lower().endswith(".rels"):
            continue
        for element in _parse_part(archive, name, name).iter():
            if _local(element.tag) != "Relationship":
                continue
            attributes = {_local(key): value for key, value in element.attrib.items()}
            if attributes.get("TargetMode", "").strip().lower() == "external":
                found.append((name, attributes.get("Target", "?")))
    return found


def fetching_fields(root) -> list[str]:
    """The instructions of the fields in one part's XML that make Word read outside the file
    (``INCLUDEPICTURE``, ``INCLUDETEXT``, ``LINK``, ``DDEAUTO``, …), nested fields included."""
    found, open_fields = [], []
    for element in root.iter():
        name = _local(element.tag)
        if name == "fldSimple":
            instruction = next((v for k, v in element.attrib.items() if _local(k) == "instr"), "")
            found += [instruction] if _fetches(instruction) else []
        elif name == "fldChar":
            kind = next((v for k, v in element.attrib.items() if _local(k) == "fldCharType"), "")
            if kind == "begin":
                open_fields.append([])
            elif kind == "end" and open_fields:
                instruction = "".join(open_fields.pop())
                found += [instruction] if _fetches(instruction) else []
        elif name == "instrText" and open_fields:
            open_fields[-1].append(element.text or "")
    found += ["".join(parts) for parts in open_fields if _fetches("".join(parts))]  # never closed
    return found


def _fetches(instruction: str) -> bool:
    words = instruction.replace("\\", " ").split()
    return bool(words) and words[0].upper() in _FETCHING_FIELDS


def check_self_contained(source: bytes | zipfile.ZipFile, template: str, customer_id: str | None = None,
                         parts=None) -> None:
    """A RenderError naming the part and the target when a .docx links anything outside itself
    (:func:`external_content`) or has a field that reads another file (:func:`fetching_fields`);
    ``parts``: (name, parsed root) of the parts already parsed, else every ``word/*.xml``."""
    archive = source if isinstance(source, zipfile.ZipFile) else zipfile.ZipFile(io.BytesIO(source))
    linked = external_content(archive)
    if linked:
        part, target = linked[0]
        raise RenderError(msg("render.linked", target=target, part=part), template=template,
                          customer_id=customer_id, suggestion=msg("render.linked.hint"))
    if parts is None:
        parts = [(name, _parse_part(archive, name, template, customer_id)) for name in archive.namelist()
                 if name.startswith("word/") and name.endswith(".xml") and name.count("/") == 1]
    for name, root in parts:
        fields = fetching_fields(root)
        if fields:
            raise RenderError(msg("render.field_code", code=" ".join(fields[0].split())[:120], part=name),
                              template=template, customer_id=customer_id, suggestion=msg("render.field_code.hint"))


def _undefined_name(exc: jinja2.UndefinedError) -> str | None:
    match = re.search(r"'([^']+)' is undefined", exc.message or "")
    if match:
        return match.group(1)
    match = re.search(r"has no attribute '([^']+)'", exc.message or "")
    return match.group(1) if match else None
