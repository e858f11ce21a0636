"""The template context for one customer (documented in docs/zh/templates.md and docs/en/templates.md).

Top level: every customer column, metric and decision output by name (a ``collect``
output is a list, empty when nothing matched), plus ``company`` (rules/documents.yaml),
``as_of``, ``valid_until``, ``doc_no``, ``reasons`` (list of {decision, title, rule, note}:
which rule decided each decision and why), ``upcoming_visits`` (list of {date, purpose}),
``monthly`` (12 months of {label, revenue, revenue_prev_year, growth}),
``rfm_segment_title`` and ``trace`` (decision → rule ids).

Words kamrules adds itself (a reason's note when no rule matched, month labels, the RFM
segment's title) follow the rulebook's ``locale``, as the template does.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from typing import Any

import polars as pl
from babel.dates import format_skeleton

from ..i18n import choose
from ..metrics.rfm import segment_title
from ..rules.decisions import CompiledRulebook
from ..rules.engine import FIX, TRACE
from ..rules.explain import WORDS
from ..rules.model import LIST_POLICIES
from ..rules.documents_config import DocumentSpec
from ..plan.planner import VisitPlan
from .pictures import ChartRequest, Picture, load_logo


CONTEXT_EXTRAS = ("company", "as_of", "valid_until", "doc_no", "document_title", "reasons", "upcoming_visits",
                  "trace", "monthly", "rfm_segment_title", "revenue_chart")
# what a client document sees besides the client fields: our company, dates, the document's own
# number, the planned visits and the client's own purchases; never the rule basis (reasons,
# trace) nor our segmentation (rfm_segment_title)
CLIENT_EXTRAS = ("company", "as_of", "valid_until", "doc_no", "document_title", "upcoming_visits", "monthly",
                 "revenue_chart")


def split_ids(trace: str | None) -> list[str]:
    if not trace:
        return []
    return [part.strip() for part in trace.replace(";", ",").split(",") if part.strip()]


def fallback_notes(lang: str) -> dict[str, str]:
    """The note of a reason no rule gave (``default``, ``quota``), in the words ``kamrules explain`` uses."""
    words = WORDS[lang]
    return {"default": words["no_match"] + ("，" if lang == "zh" else "; ") + words["default"],
            "quota": words["quota_phrase"]}


def reasons(row: dict[str, Any], rulebook: CompiledRulebook) -> list[dict[str, str]]:
    result, fallback = [], fallback_notes(choose(None, rulebook.spec.locale))
    for decision in rulebook.decisions:
        for rule_id in split_ids(row.get(TRACE + decision.id)):
            rule = rulebook.rule(rule_id)
            note = rule.note if rule and rule.note else fallback.get(rule_id, "")
            result.append({"decision": decision.id, "title": decision.title, "rule": rule_id, "note": note})
    for constraint in rulebook.constraints:
        if row.get(FIX + constraint.id):
            result.append({"decision": ", ".join(constraint.fix) or constraint.id, "title": constraint.title,
                           "rule": constraint.id, "note": constraint.title})
    return result


def upcoming_visits(row: dict[str, Any], rulebook: CompiledRulebook,
                    plan: VisitPlan | None = None) -> list[dict[str, Any]]:
    """``count`` visits: the ones the visit plan scheduled for the customer, then (past the
    calendar's horizon) every ``every_days`` days after the last of them, each on a working day.
    Without a plan, from the field ``first``. An interval that is not a positive number (NaN, ∞,
    true) means none, and the list stops at the end of the calendar (9999-12-31)."""
    spec = rulebook.spec.visit_plan
    purposes = spec.purposes or [""]
    every = row.get(spec.every_days)
    if isinstance(every, bool) or not isinstance(every, (int, float)) or not math.isfinite(every) or every < 1:
        every = None
    days = [p.day for p in plan.visits_of(str(row.get("customer_id"))) if p.task.kind == "visit"] if plan else []
    first = row.get(spec.first)
    if not days and isinstance(first, dt.date):
        days = [plan.next_working_day(first) if plan else first]
    while days and every and len(days) < spec.count:
        step = int(every)
        if step > (dt.date.max - days[-1]).days - 7:
            break
        following = days[-1] + dt.timedelta(days=step)
        days.append(plan.next_working_day(following) if plan else following)
    if every is None:
        return []
    return [{"date": day, "purpose": purposes[i % len(purposes)]} for i, day in enumerate(days[:spec.count])]


def _later(day: dt.date, days: int) -> dt.date:
    """``day`` + ``days``, or the last day of the calendar when that lies beyond it."""
    return day + dt.timedelta(days=days) if days <= (dt.date.max - day).days else dt.date.max


def month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


@lru_cache(maxsize=512)
def month_label(month: dt.date, locale: str = "zh_CN") -> str:
    """``2025年11月`` in Chinese, ``Nov 2025`` in English: the locale's own way to write a month."""
    return format_skeleton("yMMM", month, locale=locale)


def monthly_revenue(orders: pl.DataFrame | pl.LazyFrame | None, customer_ids: list[str],
                    as_of: dt.date) -> dict[str, list[dict]]:
    """For each customer: the 12 calendar months ending with as_of's month, oldest first, each with
    ``month``, ``revenue``, ``revenue_prev_year`` (same month a year earlier) and ``growth``
    (:func:`customer_context` adds the ``label`` in the rulebook's language)."""
    months = [month_start(as_of, back) for back in range(11, -1, -1)]
    totals: dict[tuple[str, dt.date], float] = {}
    if orders is not None and customer_ids:
        start = month_start(as_of, 23)
        grouped = (orders.lazy().filter(pl.col("customer_id").is_in(customer_ids) & (pl.col("order_date") >= start)
                                        & (pl.col("order_date") <= as_of))
                   .group_by("customer_id", pl.col("order_date").dt.truncate("1mo").alias("month"))
                   .agg(pl.col("amount").sum()).collect(engine="streaming"))
        totals = {(c, m): a for c, m, a in grouped.iter_rows()}
    result = {}
    for customer in customer_ids:
        rows = []
        for month in months:
            revenue = round(totals.get((customer, month), 0.0), 2)
            previous = round(totals.get((customer, dt.date(month.year - 1, month.month, 1)), 0.0), 2)
            rows.append({"month": month, "revenue": revenue,
                         "revenue_prev_year": previous,
                         "growth": revenue / previous - 1 if previous > 0 else None})
        result[customer] = rows
    return result


def customer_context(row: dict[str, Any], rulebook: CompiledRulebook, as_of: dt.date,
                     document: DocumentSpec | None = None, monthly: list[dict] | None = None,
                     plan: VisitPlan | None = None, company: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a template sees of one customer. With a visit plan, the visit dates (``upcoming_visits``
    and the field ``visit_plan.first``) are the scheduled ones: on working days, within capacity."""
    context = {key: value for key, value in row.items() if not key.startswith("_")}
    for decision in rulebook.decisions:  # a collect decision with no match is an empty list, not null
        if decision.hit in LIST_POLICIES:
            context.update({name: context.get(name) or [] for name in decision.outputs})
    locale = rulebook.spec.locale
    context["monthly"] = [{**month, "label": month_label(month["month"], locale)} for month in monthly or []]
    context["rfm_segment_title"] = segment_title(row.get("rfm_segment"), choose(None, locale))
    context["trace"] = {d.id: row.get(TRACE + d.id) for d in rulebook.decisions}
    context["reasons"] = reasons(row, rulebook)
    context["upcoming_visits"] = upcoming_visits(row, rulebook, plan)
    first = rulebook.spec.visit_plan.first
    if plan is not None and context["upcoming_visits"] and isinstance(row.get(first), dt.date):
        context[first] = context["upcoming_visits"][0]["date"]
    # without the run's company context (a caller of this function alone), no pictures: never the logo's path as text
    context["company"] = company if company is not None else \
        {**rulebook.spec.company.model_dump(), "logo": None, "logo_small": None}
    context["as_of"] = as_of
    context["revenue_chart"] = ChartRequest(tuple(context["monthly"]), choose(None, locale), rulebook.spec.currency,
                                            rulebook.spec.company.brand_color) if monthly else None
    if document is not None:
        context["valid_until"] = _later(as_of, document.validity_days)
        context["doc_no"] = f"{document.id.upper()}-{as_of:%Y%m%d}-{row.get('customer_id', '')}"
        context["document_title"] = document.title or document.id
        if document.audience == "client":
            return client_context(context, rulebook)
    return context


def client_context(context: dict[str, Any], rulebook: CompiledRulebook) -> dict[str, Any]:
    """Only what a client may read: the fields the rulebook marks client-visible and
    :data:`CLIENT_EXTRAS`. An internal field a client template names is then undefined, and the
    renderer refuses it by name (see :class:`kamrules.render.docx.DocxRenderer`)."""
    allowed = rulebook.client_fields | set(CLIENT_EXTRAS)
    return {key: value for key, value in context.items() if key in allowed}


def company_context(project, rulebook: CompiledRulebook) -> dict[str, Any]:
    """``company.*`` for every document of a run, with the logo read (and checked) once."""
    company = rulebook.spec.company.model_dump()
    company["logo"] = company["logo_small"] = None
    if rulebook.spec.company.logo:
        data = load_logo(project, rulebook.spec.company.logo)
        company["logo"], company["logo_small"] = Picture(data, width_mm=45), Picture(data, height_mm=9)
    return company
