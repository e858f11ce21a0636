"""Which documents a run makes: the customers each document is for, its template and file names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import RenderError
from ..i18n import msg
from ..plan.planner import VisitPlan, chosen
from ..rules.decisions import CompiledRulebook
from ..rules.documents_config import FILENAME_EXAMPLE, fill_filename
from .batch import Job
from .context import CLIENT_EXTRAS, CONTEXT_EXTRAS, company_context, customer_context, monthly_revenue
from .docx import DocxRenderer, safe_filename


def select_customers(frame: pl.DataFrame, condition: str, as_of: dt.date,
                     field_types: dict[str, str]) -> pl.DataFrame:
    """The customers (rows of the decided frame) for whom ``condition`` holds; null counts as false."""
    return frame.filter(chosen(frame, condition, as_of, field_types))


def template_for(project: Path, document, locale: str) -> str:
    """``proposal.en.docx`` instead of ``proposal.docx`` when the locale is English and it exists."""
    name = document.template
    language = locale.split("_")[0].lower()
    if language != "zh":
        stem, dot, suffix = name.rpartition(".")
        variant = f"{stem}.{language}.{suffix}"
        if (project / "templates" / variant).exists():
            return variant
    return name


def document_jobs(project: Path, staging: Path, rulebook: CompiledRulebook, frame: pl.DataFrame,
                  document, as_of: dt.date, orders: pl.DataFrame | pl.LazyFrame | None,
                  plan: VisitPlan | None = None) -> tuple[tuple, list[Job]]:
    """The template (path, locale, display name, currency) and one job per chosen customer."""
    name = template_for(project, document, rulebook.spec.locale)
    template = renderer_arguments(project, rulebook, document, name)
    DocxRenderer(*template)  # fail before any work when the template is unusable
    chosen = select_customers(frame, document.for_, as_of, rulebook.field_types)
    folder = staging / document.folder
    folder.mkdir(parents=True, exist_ok=True)
    monthly = monthly_revenue(orders, chosen.get_column("customer_id").to_list(), as_of)
    company = company_context(project, rulebook)
    used: set[str] = set()
    jobs = []
    for row in chosen.iter_rows(named=True):
        context = customer_context(row, rulebook, as_of, document, monthly.get(row["customer_id"]), plan, company)
        jobs.append(Job(document.id, context, folder / document_name(document, row, used),
                        str(row.get("customer_id"))))
    return template, jobs


def renderer_arguments(project: Path, rulebook: CompiledRulebook, document, name: str) -> tuple:
    """What a :class:`DocxRenderer` of ``document`` is made of (plain data: worker processes make their own)."""
    internal = frozenset()
    if document.audience == "client":
        internal = (frozenset(rulebook.field_types) | set(CONTEXT_EXTRAS)) - rulebook.client_fields - set(CLIENT_EXTRAS)
    return (project / "templates" / name, rulebook.spec.locale, f"templates/{name}", rulebook.spec.currency, project,
            document.money, internal, rulebook.spec.company.brand_color)


def document_name(document, row: dict[str, Any], used: set[str]) -> str:
    """The file name the document's pattern gives for ``row``, sanitised and unique in its folder."""
    try:  # {field} only (rules/documents_config.py): no format spec, attribute or index reaches str.format
        name = safe_filename(fill_filename(document.filename, row))
    except KeyError as exc:
        raise RenderError(msg("run.filename", pattern=document.filename, reason=repr(exc.args[0])),
                          template=msg("run.filename.where", document=document.id),
                          suggestion=msg("run.filename.hint", example=FILENAME_EXAMPLE)) from None
    except ValueError as exc:
        raise RenderError(exc.args[0], template=msg("run.filename.where", document=document.id),
                          suggestion=exc.args[1] if len(exc.args) > 1 else None) from None
    stem, dot, suffix = name.rpartition(".")
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{stem}-{n}.{suffix}" if dot else f"{name}-{n}"
    used.add(candidate.lower())
    return candidate
