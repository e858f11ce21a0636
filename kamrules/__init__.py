"""kamrules: key account management rules engine and report generator.

The stable Python API (the CLI is a thin layer over it)::

    import datetime as dt
    import kamrules

    result = kamrules.run("path/to/project", as_of=dt.date(2026, 10, 31))
    print(result.run_dir, result.customers, result.documents)     # outputs/<run>/, 330, {...}
    frame = result.result.frame                                     # Polars: one row per customer

    rulebook = kamrules.load_rulebook("path/to/project")            # validated and compiled rules/
    rulebook, ledger, result = kamrules.evaluate("path/to/project", dt.date(2026, 10, 31))  # no files written
    impact = kamrules.rule_diff("path/to/project", "path/to/other-rules", dt.date(2026, 10, 31))

Every error raised on purpose is a :class:`kamrules.KamrulesError` (see :mod:`kamrules.errors`
for the subclasses and their attributes: file, sheet, row, column, line, rule id, suggestion).
``str(error)`` is English; ``error.render("zh")`` says the same in Chinese, and
``error.message.key`` is a stable message id. Ledger findings (``result.issues``) work the same
way: ``kamrules.i18n.localize(issue.message, "zh")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import KamrulesError
from .version import __version__

if TYPE_CHECKING:
    import datetime as dt

__all__ = ["KamrulesError", "evaluate", "load_rulebook", "rule_diff", "run", "__version__"]


def run(project: str | Path, as_of: "dt.date | None" = None, *, workers: int | None = None, pdf: bool = False,
        engine: str = "polars"):
    """Read ``inputs/``, apply ``rules/``, fill ``templates/`` and publish ``outputs/<run>/``;
    returns a :class:`kamrules.pipeline.RunResult` (run_dir, customers, documents, issues, …)."""
    from .pipeline import RunOptions
    from .pipeline import run as run_pipeline

    return run_pipeline(Path(project), as_of, options=RunOptions(workers=workers, pdf=pdf, engine=engine))


def load_rulebook(project: str | Path):
    """Read, validate and compile ``project/rules``; raises :class:`kamrules.errors.RulebookInvalid`
    listing every problem."""
    from .rules.rulebook_compiler import load_rulebook as load

    return load(Path(project))


def evaluate(project: str | Path, as_of: "dt.date"):
    """Ledger, metrics and decisions without writing anything: (rulebook, ledger, result)."""
    from .pipeline import evaluate as evaluate_project

    return evaluate_project(Path(project), as_of)


def rule_diff(project: str | Path, other_rules: str | Path, as_of: "dt.date", lang: str | None = None):
    """What changes if ``other_rules`` were used on the project's data (:class:`kamrules.diff.RuleDiff`);
    ``lang`` "zh"/"en" for the workbook words, default the rules' locale."""
    from .diff import rule_diff as diff

    return diff(Path(project), Path(other_rules), as_of, lang)
