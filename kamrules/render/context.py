"""The template context for one customer (documented in README, "Template context").

Top level: every customer column, metric and decision output by name, plus
``company`` (rules/documents.yaml), ``as_of``, ``valid_until``, ``doc_no``,
``reasons`` (list of {decision, title, rule, note}: which rule decided each decision and
why), ``upcoming_visits`` (list of {date, purpose}) and ``trace`` (decision → rule ids).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..rules.decisions import CompiledRulebook
from ..rules.engine import FIX, TRACE
from .config import DocumentSpec


CONTEXT_EXTRAS = ("company", "as_of", "valid_until", "doc_no", "document_title", "reasons", "upcoming_visits",
                  "trace")


def split_ids(trace: str | None) -> list[str]:
    if not trace:
        return []
    return [part.strip() for part in trace.replace(";", ",").split(",") if part.strip()]


def reasons(row: dict[str, Any], rulebook: CompiledRulebook) -> list[dict[str, str]]:
    result = []
    for decision in rulebook.decisions:
        for rule_id in split_ids(row.get(TRACE + decision.id)):
            rule = rulebook.rule(rule_id)
            note = rule.note if rule and rule.note else {
                "default": "未命中任何规则，采用默认值", "quota": "超出名额上限，按排名未入选"}.get(rule_id, "")
            result.append({"decision": decision.id, "title": decision.title, "rule": rule_id, "note": note})
    for constraint in rulebook.constraints:
        if row.get(FIX + constraint.id):
            result.append({"decision": ", ".join(constraint.fix) or constraint.id, "title": constraint.title,
                           "rule": constraint.id, "note": constraint.title})
    return result


def upcoming_visits(row: dict[str, Any], rulebook: CompiledRulebook) -> list[dict[str, Any]]:
    plan = rulebook.spec.visit_plan
    first, every = row.get(plan.first), row.get(plan.every_days)
    if not isinstance(first, dt.date) or not every or every <= 0:
        return []
    purposes = plan.purposes or [""]
    return [{"date": first + dt.timedelta(days=int(every) * i), "purpose": purposes[i % len(purposes)]}
            for i in range(plan.count)]


def customer_context(row: dict[str, Any], rulebook: CompiledRulebook, as_of: dt.date,
                     document: DocumentSpec | None = None) -> dict[str, Any]:
    context = {key: value for key, value in row.items() if not key.startswith("_")}
    context["trace"] = {d.id: row.get(TRACE + d.id) for d in rulebook.decisions}
    context["reasons"] = reasons(row, rulebook)
    context["upcoming_visits"] = upcoming_visits(row, rulebook)
    context["company"] = rulebook.spec.company.model_dump()
    context["as_of"] = as_of
    if document is not None:
        context["valid_until"] = as_of + dt.timedelta(days=document.validity_days)
        context["doc_no"] = f"{document.id.upper()}-{as_of:%Y%m%d}-{row.get('customer_id', '')}"
        context["document_title"] = document.title or document.id
    return context
