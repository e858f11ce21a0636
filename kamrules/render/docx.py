"""Word documents with docxtpl, through a sandboxed, autoescaping, strict Jinja environment.

Sandboxed: a template cannot reach Python internals (``''.__class__`` and friends).
Autoescaped: a customer called ``A&B <Co>`` is written as text, never as broken XML.
Strict: a misspelt placeholder is an error naming the template, not a silent blank.
Amounts: the filters format money in the project's ``currency:`` (see :mod:`.filters`).
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import jinja2
from defusedxml import ElementTree
from docxtpl import DocxTemplate
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment, safe_range

from ..errors import RenderError
from ..i18n import Text, msg
from ..limits import Limits, env_name
from ..limits import current as current_limits
from ..names import did_you_mean
from ..rules.documents_config import DEFAULT_CURRENCY
from .filters import make_filters

_RENDERED_PART = re.compile(r"^word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$")
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\u200e\u200f\u202a-\u202e\u2066-\u2069]')  # bidi controls disguise extensions
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


class BoundedEnvironment(SandboxedEnvironment):
    """Jinja's sandbox (no Python internals), plus bounds on what one render may cost: every
    call and every ``range`` item is a step (``max_render_steps``) and steps check the clock
    (``max_render_seconds``); ``*`` and ``**`` may not build huge values; filter arguments
    such as ``center(10**9)`` are capped. ``{% include %}`` and ``{% import %}`` find nothing:
    the environment has no loader."""

    intercepted_binops = frozenset({"*", "**"})
    LARGEST_ARGUMENT = 1_000_000

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

    def _range(self, *args):
        items = range(*args)
        self.step(len(items))
        return safe_range(*args)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's signature)
        __self.step()
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context, operator, left, right):
        self.step()
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError(msg("render.big_exponent"))
        if operator == "*":
            sized = next((v for v in (left, right) if isinstance(v, (str, list, tuple))), None)
            times = next((v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)), None)
            if sized is not None and times is not None and len(sized) * times > self.limits.max_document_bytes:
                raise SecurityError(msg("render.big_repeat"))
        return super().call_binop(context, operator, left, right)


def _bounded_filter(env: BoundedEnvironment, function):
    def bounded(*args, **kwargs):
        env.step()
        numbers = [v for v in list(args[1:]) + list(kwargs.values()) if isinstance(v, int) and not isinstance(v, bool)]
        if any(abs(v) > env.LARGEST_ARGUMENT for v in numbers):
            raise SecurityError(msg("render.big_argument", limit=env.LARGEST_ARGUMENT))
        return function(*args, **kwargs)

    if hasattr(function, "jinja_pass_arg"):  # keep pass_context / pass_eval_context / pass_environment
        bounded.jinja_pass_arg = function.jinja_pass_arg
    return bounded


def make_environment(locale: str, limits: Limits | None = None,
                     currency: str = DEFAULT_CURRENCY) -> BoundedEnvironment:
    env = BoundedEnvironment(limits, autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(make_filters(locale, currency))
    env.filters.update({name: _bounded_filter(env, f) for name, f in env.filters.items()})
    return env


def safe_filename(name: str, limit: int = 150) -> str:
    """A file name that is valid on Windows and Linux and cannot leave its folder."""
    cleaned = _UNSAFE.sub("_", name).strip().strip(".")
    cleaned = cleaned.replace("..", "_")
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot:
        stem, suffix = cleaned, ""
    if stem.lower() in _RESERVED or not stem:
        stem = "_" + stem
    encoded_limit = limit - len(suffix) - 1
    if len(stem.encode("utf-8")) > encoded_limit:
        stem = _shorten(stem, encoded_limit)
    return f"{stem}.{suffix}" if suffix else stem


def _shorten(stem: str, limit: int, tail: int = 12) -> str:
    """Cut the middle, keeping the start (the id) and the end (e.g. ``_服务方案``) readable."""
    end = stem[-tail:]
    start = stem[:-tail]
    while len((start + "…" + end).encode("utf-8")) > limit:
        start = start[:-1]
    return start + "…" + end


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


class DocxRenderer:
    """Renders one .docx template many times (the template file is read once), its amounts in ``currency``."""

    def __init__(self, template: Path, locale: str, display_name: str | None = None,
                 currency: str = DEFAULT_CURRENCY):
        self.display_name = display_name or template.name
        try:
            self.source = template.read_bytes()
        except OSError as exc:
            raise RenderError(msg("render.unreadable", reason=exc.strerror), template=self.display_name,
                              suggestion=msg("render.unreadable.hint")) from None
        self.env = make_environment(locale, currency=currency)
        self._patched: dict[str, str] = {}
        self._tree: nodes.Template | None = None
        try:
            DocxTemplate(io.BytesIO(self.source)).get_docx()
        except Exception as exc:
            raise RenderError(msg("render.not_docx", kind=type(exc).__name__), template=self.display_name) from None
        linked = external_content(self.source)
        if linked:
            raise RenderError(msg("render.linked", target=linked[0]), template=self.display_name,
                              suggestion=msg("render.linked.hint"))
        if currency != "CNY" and "daxie" in self.filters_used():  # before any document, not at the first customer
            raise RenderError(msg("render.daxie_not_cny", currency=currency), template=self.display_name,
                              suggestion=msg("render.daxie_not_cny.hint"))

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

    def placeholders(self) -> set[str]:
        """Top-level names the template reads (loop variables and its own sets excluded)."""
        return set(meta.find_undeclared_variables(self._parsed()))

    def filters_used(self) -> set[str]:
        """Names of the filters the template applies (``{{ x|daxie }}`` → ``daxie``)."""
        return {node.name for node in self._parsed().find_all(nodes.Filter)}

    def render(self, context: dict[str, Any], target: Path, customer_id: str | None = None) -> None:
        template = _Template(self.source, self._patched)
        self.env.begin()
        try:
            template.render(context, jinja_env=self.env, autoescape=True)
        except jinja2.UndefinedError as exc:
            name = _undefined_name(exc)
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
                for part in archive.namelist():
                    if not _RENDERED_PART.match(part):
                        continue
                    root = ElementTree.fromstring(archive.read(part))
                    text = "".join(root.itertext())
                    if not carried and ("{{" in text or "{%" in text):
                        raise RenderError(msg("render.unrendered", part=part), template=self.display_name,
                                          customer_id=customer_id, suggestion=msg("render.unrendered.hint"))
        except (zipfile.BadZipFile, ElementTree.ParseError) as exc:
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


_EXTERNAL = re.compile(rb'<Relationship\b[^>]*\bTargetMode="External"[^>]*>')
_FETCHED = re.compile(rb'Type="[^"]*/(image|oleObject|frame|subDocument|package|video|audio|media)"')
_TARGET = re.compile(rb'Target="([^"]*)"')


def external_content(source: bytes) -> list[str]:
    """Targets of external relationships that Word fetches by itself (pictures, objects,
    frames); hyperlinks and the attached template are not fetched and stay allowed."""
    found = []
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        for name in archive.namelist():
            if not name.endswith(".rels"):
                continue
            for relation in _EXTERNAL.findall(archive.read(name)):
                if _FETCHED.search(relation):
                    target = _TARGET.search(relation)
                    found.append(target.group(1).decode("utf-8", "replace") if target else "?")
    return found


def _undefined_name(exc: jinja2.UndefinedError) -> str | None:
    match = re.search(r"'([^']+)' is undefined", exc.message or "")
    if match:
        return match.group(1)
    match = re.search(r"has no attribute '([^']+)'", exc.message or "")
    return match.group(1) if match else None
