"""One error hierarchy for kamrules.

Every error carries where it happened as attributes, so the CLI (and tests) never parse
messages. ``str(error)`` is the human form in English: ``location: message`` plus a hint line
when a ``suggestion`` is known; ``error.render("zh")`` is the same in Chinese (messages built
with :func:`kamrules.i18n.msg` remember how to say themselves in both languages).
"""

from __future__ import annotations

from dataclasses import dataclass

from .i18n import msg, printable, shown


class KamrulesError(Exception):
    """Base class of every error kamrules raises on purpose.

    Attributes:
        message: what went wrong, without the location.
        suggestion: how to fix it (a "did you mean" name or a remedy), or None.
    """

    exit_code = 1

    def __init__(self, message: str, *, suggestion: str | None = None):
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion

    def location(self, lang: str = "en") -> str:
        return ""

    def __reduce__(self):
        # Keyword-only constructors defeat Exception's default pickling; errors raised in a
        # worker process must reach the parent intact.
        return _rebuild, (type(self), self.__dict__)

    def __str__(self) -> str:
        return self.render("en")

    def render(self, lang: str = "en") -> str:
        """``location: message`` and a hint line, in ``lang`` ("zh" or "en")."""
        where = self.location(lang)
        message = shown(self.message, lang)
        text = msg("located", where=where, message=message).localize(lang) if where else message
        if self.suggestion:
            text += "\n  " + msg("hint", hint=shown(self.suggestion, lang)).localize(lang)
        return text


def _rebuild(cls, state: dict):
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message"))
    error.__dict__.update(state)
    return error


class ProjectError(KamrulesError):
    """The project folder itself is unusable (missing, no rules/, locked).

    Attributes:
        path: the folder or file concerned.
    """

    def __init__(self, message: str, *, path: str | None = None, suggestion: str | None = None):
        super().__init__(message, suggestion=suggestion)
        self.path = path

    def location(self, lang: str = "en") -> str:
        return printable(self.path or "")


class LedgerError(KamrulesError):
    """A spreadsheet cannot be used at all (unreadable, no usable sheet for a dataset).

    Row-level problems are not errors: they become :class:`kamrules.ledger.Issue` records.

    Attributes:
        file: workbook path as given. sheet, row (as Excel shows it), column (header text):
        as far as known, else None.
    """

    def __init__(self, message: str, *, file: str, sheet: str | None = None,
                 row: int | None = None, column: str | None = None,
                 suggestion: str | None = None):
        super().__init__(message, suggestion=suggestion)
        self.file, self.sheet, self.row, self.column = file, sheet, row, column

    def location(self, lang: str = "en") -> str:
        parts = [printable(self.file)]
        if self.sheet:
            parts.append(msg("where.sheet", sheet=self.sheet).shown(lang))
        if self.row:
            parts.append(msg("where.row", row=self.row).shown(lang))
        if self.column:
            parts.append(msg("where.column", column=self.column).shown(lang))
        return msg("where.separator").localize(lang).join(parts)


class ExpressionError(KamrulesError):
    """An expression is not valid in the rule language.

    Attributes:
        expression: the source text.
        position: 0-based character offset of the offending part, or None.
        symbol: the offending name or construct, or None.
    """

    def __init__(self, message: str, *, expression: str, position: int | None = None,
                 symbol: str | None = None, suggestion: str | None = None):
        super().__init__(message, suggestion=suggestion)
        self.expression, self.position, self.symbol = expression, position, symbol

    def location(self, lang: str = "en") -> str:
        if self.position is None:
            return msg("where.expression", expression=self.expression).shown(lang)
        return msg("where.expression_at", expression=self.expression, position=self.position).shown(lang)


class RulebookError(KamrulesError):
    """One problem in the YAML rulebook.

    Attributes:
        file: the YAML file (relative to the project when possible), or None.
        line: 1-based line in that file, or None.
        rule_id: the decision/rule/column the problem belongs to, or None.
        loc: path of keys from the top of the merged rulebook, e.g. ("decisions", "tier", "hit").
        expression: the expression text when the problem is in one, else None.
        column: 1-based column in the YAML line, or None.
        sheet, cell: for decision tables kept in Excel, the sheet name and cell ("C7"), else None.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 rule_id: str | None = None, loc: tuple = (), expression: str | None = None,
                 suggestion: str | None = None, column: int | None = None,
                 sheet: str | None = None, cell: str | None = None):
        super().__init__(message, suggestion=suggestion)
        self.file, self.line, self.rule_id, self.loc = file, line, rule_id, tuple(loc)
        self.expression, self.column, self.sheet, self.cell = expression, column, sheet, cell

    def location(self, lang: str = "en") -> str:
        where = printable(self.file) if self.file else msg("where.rulebook").localize(lang)
        if self.sheet or self.cell:
            where += "".join(f" › {printable(str(part))}" for part in (self.sheet, self.cell) if part)
        elif self.line:
            where += f":{self.line}" + (f":{self.column}" if self.column else "")
        if self.rule_id:
            where += f" [{printable(str(self.rule_id))}]"
        return where

    def render(self, lang: str = "en") -> str:
        text = super().render(lang)
        if self.expression is not None and self.expression not in self.message:
            head, _, hint = text.partition("\n")
            text = head + msg("where.in_expression", expression=self.expression).shown(lang)
            text += f"\n{hint}" if hint else ""
        return text


class DmnError(RulebookError):
    """A DMN model (``rules/*.dmn`` or ``kamrules dmn import``) that kamrules will not import, or a
    DMN TCK test file it cannot read. Nothing of the model is used when one is raised.

    Attributes (besides RulebookError's file, line and suggestion):
        element: the id (or, without one, the name) of the XML element concerned, or None.
        construct: what the element is, e.g. "businessKnowledgeModel", "FEEL function date and time()".
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 element: str | None = None, construct: str | None = None, suggestion: str | None = None,
                 expression: str | None = None):
        super().__init__(message, file=file, line=line, rule_id=element, expression=expression,
                         suggestion=suggestion)
        self.element, self.construct = element, construct


class ModelFitError(KamrulesError):
    """The ledger cannot support the predictive model of ``rules/metrics.yaml`` (``predictive``).

    Attributes:
        model: "bgnbd" or "gamma_gamma".
        customers: customers with at least one order up to as_of.
        repeat_customers: those of them who bought again on a later day.
    """

    def __init__(self, message: str, *, model: str, customers: int = 0, repeat_customers: int = 0,
                 suggestion: str | None = None):
        super().__init__(message, suggestion=suggestion)
        self.model, self.customers, self.repeat_customers = model, customers, repeat_customers

    def location(self, lang: str = "en") -> str:
        return f"rules/metrics.yaml [predictive: {self.model}]"


class RulebookInvalid(KamrulesError):
    """The rulebook has one or more :class:`RulebookError`; all of them are in ``errors``."""

    def __init__(self, errors: list[RulebookError]):
        self.errors = errors
        count = len(errors)
        super().__init__(msg("rulebook.errors", count=count, s="s" if count != 1 else ""))

    def render(self, lang: str = "en") -> str:
        lines = [shown(self.message, lang) + ("：" if lang == "zh" else ":")]
        return "\n".join(lines + ["  " + e.render(lang).replace("\n", "\n  ") for e in self.errors])


class RenderError(KamrulesError):
    """A template could not be rendered.

    Attributes:
        template: template path. customer_id: the customer being rendered, or None.
    """

    def __init__(self, message: str, *, template: str, customer_id: str | None = None,
                 suggestion: str | None = None):
        super().__init__(message, suggestion=suggestion)
        self.template, self.customer_id = template, customer_id

    def location(self, lang: str = "en") -> str:
        if not self.customer_id:
            return printable(shown(self.template, lang))
        return msg("where.customer", template=self.template, customer_id=self.customer_id).shown(lang)


class LockedError(ProjectError):
    """Another kamrules process holds the project lock. ``path`` is the lock file."""


class UnwritableError(ProjectError):
    """outputs/ cannot be written: the disk is full, it is read-only, or writing is denied.
    Nothing was published and the inputs are untouched; ``path`` is the folder. The drop-folder
    service tries again later."""


@dataclass(frozen=True)
class Issue:
    """A problem with one row or cell of the ledger; the run goes on.

    severity "error": the row was rejected (not used). "skipped": the row was deliberately not
    used (a totals row, a duplicate, filtered by ``where``). "warning": the row was used, but a
    value was left empty or something deserves a look (a hidden row, an unused sheet).
    ``row`` is the row number Excel shows; ``column`` the header text in the file;
    ``code`` a stable identifier for the kind of problem (the rule broken); ``suggestion``
    how to fix it, when known.
    """

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    value: str | None
    message: str
    code: str
    severity: str = "error"
    dataset: str | None = None
    suggestion: str | None = None

    SHOWN = 200  # characters of a value kept in messages, run.json and the issues sheets

    def __post_init__(self):
        value = self.value
        if isinstance(value, str) and len(value) > self.SHOWN:
            object.__setattr__(self, "value", f"{value[:self.SHOWN]}… ({len(value):,} characters)")
