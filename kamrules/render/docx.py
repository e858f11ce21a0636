"""Word documents with docxtpl, through a sandboxed, autoescaping, strict Jinja environment.

Sandboxed: a template cannot reach Python internals (``''.__class__`` and friends).
Autoescaped: a customer called ``A&B <Co>`` is written as text, never as broken XML.
Strict: a misspelt placeholder is an error naming the template, not a silent blank.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import jinja2
from defusedxml import ElementTree
from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment

from ..errors import RenderError
from ..names import did_you_mean
from .filters import make_filters

_RENDERED_PART = re.compile(r"^word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$")
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def make_environment(locale: str) -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(make_filters(locale))
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


class DocxRenderer:
    """Renders one .docx template many times (the template file is read once)."""

    def __init__(self, template: Path, locale: str, display_name: str | None = None):
        self.display_name = display_name or template.name
        try:
            self.source = template.read_bytes()
        except OSError as exc:
            raise RenderError(f"cannot read template: {exc.strerror}", template=self.display_name,
                              suggestion="put the .docx file in templates/ or fix documents.yaml") from None
        self.env = make_environment(locale)
        try:
            DocxTemplate(io.BytesIO(self.source)).get_docx()
        except Exception as exc:
            raise RenderError(f"not a Word .docx file ({type(exc).__name__})", template=self.display_name) from None

    def placeholders(self) -> set[str]:
        """Top-level names the template reads (loop variables and its own sets excluded)."""
        try:
            return set(DocxTemplate(io.BytesIO(self.source)).get_undeclared_template_variables(self.env))
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"template syntax error: {exc.message}", template=self.display_name,
                              suggestion="in Word, retype the whole {{ … }} tag in one go so it is not split") from None

    def render(self, context: dict[str, Any], target: Path, customer_id: str | None = None) -> None:
        template = DocxTemplate(io.BytesIO(self.source))
        try:
            template.render(context, jinja_env=self.env, autoescape=True)
        except jinja2.UndefinedError as exc:
            name = _undefined_name(exc)
            raise RenderError(f"template uses {name or 'a name'} which is not in the context: {exc.message}",
                              template=self.display_name, customer_id=customer_id,
                              suggestion=did_you_mean(name, context) if name else None) from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"template syntax error: {exc.message}", template=self.display_name,
                              customer_id=customer_id,
                              suggestion="in Word, retype the whole {{ … }} tag in one go so it is not split") from None
        except jinja2.exceptions.SecurityError as exc:
            raise RenderError(f"template tried something unsafe: {exc}", template=self.display_name,
                              customer_id=customer_id) from None
        except (TypeError, ValueError, jinja2.TemplateError) as exc:
            raise RenderError(f"cannot render: {exc}", template=self.display_name,
                              customer_id=customer_id) from None
        template.save(str(target))
        self.verify(target, context, customer_id)

    def verify(self, target: Path, context: dict[str, Any], customer_id: str | None) -> None:
        """Reopen the written file: every XML part parses, and no template tag was left unrendered."""
        carried = any(isinstance(v, str) and ("{{" in v or "{%" in v) for v in context.values())
        try:
            with zipfile.ZipFile(target) as archive:
                for part in archive.namelist():
                    if not _RENDERED_PART.match(part):
                        continue
                    root = ElementTree.fromstring(archive.read(part))
                    text = "".join(root.itertext())
                    if not carried and ("{{" in text or "{%" in text):
                        raise RenderError(f"a template tag was left unrendered in {part}", template=self.display_name,
                                          customer_id=customer_id,
                                          suggestion="in Word, retype the tag in one go so it is not split by formatting")
        except (zipfile.BadZipFile, ElementTree.ParseError) as exc:
            raise RenderError(f"the generated document is broken: {exc}", template=self.display_name,
                              customer_id=customer_id) from None


def _undefined_name(exc: jinja2.UndefinedError) -> str | None:
    match = re.search(r"'([^']+)' is undefined", exc.message or "")
    if match:
        return match.group(1)
    match = re.search(r"has no attribute '([^']+)'", exc.message or "")
    return match.group(1) if match else None
