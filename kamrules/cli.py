"""Command line: parse arguments, call the library, turn KamrulesError into a message.

Exit codes: 0 success (rejected rows are reported, not failures) · 1 a kamrules error
(bad rulebook, unreadable workbook, locked project…) · 2 wrong usage.

Messages are in Chinese or English: ``--lang`` (or ``KAMRULES_LANG``), then the locale of the
project's rules, then the system locale (:func:`language`). Every text is a key of
:mod:`kamrules.messages`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from .version import __version__
from .errors import KamrulesError, ProjectError
from .expr.unparse import literal_text
from .i18n import Text, Verbatim, Words, choose, localize, msg, printable, shown
from .names import all_of
from .text import json_text
from .rules.rulebook import project_locale

HELP_LANG = choose(os.environ.get("KAMRULES_LANG") or None)


def h(key: str) -> str:
    """A --help text, in the language of KAMRULES_LANG or the system locale: help is printed before
    any project is known."""
    return escape(msg(key).localize(HELP_LANG))  # typer renders help as rich markup: kamrules[durable] must stay


app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help=h("help.app"))
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ProjectOption = typer.Option(Path("."), "--project", "-p", help=h("help.project"))
LangOption = typer.Option(None, "--lang", envvar="KAMRULES_LANG",
                          help=h("help.lang"))


def language(lang: Optional[str], project: Optional[Path] = None) -> str:
    """``--lang``, then the locale of the project's rules, then the system locale."""
    if lang not in (None, "zh", "en"):
        raise typer.BadParameter(msg("cli.unknown_lang", lang=lang).localize(choose(None)), param_hint="--lang")
    return choose(lang, project_locale(project) if project is not None else None)


def plural(n: int) -> str:
    """The English plural ending for ``n`` of something (Chinese has none)."""
    return "" if n == 1 else "s"


def say(lang: str, key: str, **values) -> None:
    out.print(msg(key, **values).shown(lang), markup=False)


def _parse_date(value: Optional[str], lang: str) -> Optional[dt.date]:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(msg("cli.bad_date", value=value).localize(lang)) from None


def _fail(error: KamrulesError, lang: str, as_json: bool = False) -> None:
    if as_json:
        out.print(json_text({"ok": False, "error": error_dict(error, lang)}), markup=False)
    else:
        err.print(msg("cli.error", error=Verbatim(error.render(lang))).localize(lang), markup=False)
    raise typer.Exit(error.exit_code)


def error_dict(error: Exception, lang: str = "en") -> dict:
    """An error as JSON: its kind, location, message (in ``lang``), message id, suggestion and
    every documented attribute. Scripts should test ``kind`` and ``message_id``, not the wording."""
    message = getattr(error, "message", str(error))
    data = {"kind": type(error).__name__, "message": localize(message, lang),
            "message_id": getattr(message, "key", None)}
    location = getattr(error, "location", None)
    if callable(location):
        data["location"] = location(lang)
    for name, value in vars(error).items():
        if name not in data and not name.startswith("_") and isinstance(value, (str, int, float, bool, type(None))):
            data[name] = localize(value, lang)
    errors = getattr(error, "errors", None)
    if errors:
        data["errors"] = [error_dict(e, lang) for e in errors]
    return data


STAGES = {"rules": msg("cli.stage.rules"), "documents": msg("cli.stage.documents")}  # progress bar labels
JsonOption = typer.Option(False, "--json", help=h("help.json"))


@app.command(help=h("help.cmd.run"))
def run(project: Path = ProjectOption,
        as_of: Optional[str] = typer.Option(None, "--as-of", help=h("help.as_of")),
        quiet: bool = typer.Option(False, "--quiet", "-q", help=h("help.run.quiet")),
        pdf: bool = typer.Option(False, "--pdf", help=h("help.run.pdf")),
        workers: Optional[int] = typer.Option(None, "--workers", min=1,
                                              help=h("help.run.workers")),
        once: bool = typer.Option(False, "--once", help=h("help.run.once")),
        force: bool = typer.Option(False, "--force", help=h("help.run.force")),
        engine: str = typer.Option("polars", "--engine", help=h("help.run.engine")),
        no_cache: bool = typer.Option(False, "--no-cache", help=h("help.run.no_cache")),
        lang: Optional[str] = LangOption,
        as_json: bool = JsonOption) -> None:
    from .pipeline import RunOptions, run as run_pipeline

    words = language(lang, project)
    when = _parse_date(as_of, words)
    if engine not in ("polars", "durable"):
        raise typer.BadParameter(msg("cli.unknown_engine", engine=engine).localize(words), param_hint="--engine")
    if once:
        _run_once(project, when, workers, force, quiet, words)
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True, disable=quiet or as_json or not err.is_terminal) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(localize(STAGES.get(stage, stage), words), total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        try:
            result = run_pipeline(project, when, progress,
                                  options=RunOptions(workers=workers, pdf=pdf, engine=engine, lang=words,
                                                     cache=not no_cache))
        except KamrulesError as exc:
            bar.stop()
            _fail(exc, words, as_json)
    if as_json:
        manifest = json.loads((result.run_dir / "run.json").read_text(encoding="utf-8"))
        out.print(json_text({"ok": True, "run_dir": str(result.run_dir), **manifest}),
                  markup=False)
        return
    if quiet:
        out.print(str(result.run_dir), markup=False)
        return
    _print_summary(result, words)


def _run_once(project: Path, when, workers, force: bool, quiet: bool, lang: str) -> None:
    """Run unless the content and the date (``--as-of``, else today) are those of the last run."""
    from .watch import WatchOptions, local_today, run_if_changed, setup_logging

    when = when or local_today(project)  # one date for the comparison and the run, even across midnight
    setup_logging(project.resolve(), console=False)
    try:
        result = run_if_changed(project.resolve(), WatchOptions(as_of=when, force=force, workers=workers, lang=lang))
    except KamrulesError as exc:
        _fail(exc, lang)
    if result is None:
        say(lang, "cli.once.unchanged", as_of=when.isoformat())
    elif quiet:
        out.print(str(result.run_dir), markup=False)
    else:
        _print_summary(result, lang)


@app.command(help=h("help.cmd.watch"))
def watch(project: Path = ProjectOption,
          settle: float = typer.Option(2.0, help=h("help.watch.settle")),
          debounce: float = typer.Option(2.0, help=h("help.watch.debounce")),
          give_up: float = typer.Option(60.0, "--give-up",
                                        help=h("help.watch.give_up")),
          poll: bool = typer.Option(False, "--poll", help=h("help.watch.poll")),
          as_of: Optional[str] = typer.Option(None, "--as-of", help=h("help.as_of")),
          force: bool = typer.Option(False, "--force", help=h("help.watch.force")),
          lang: Optional[str] = LangOption) -> None:
    from .watch import Watcher, WatchOptions, install_signal_handlers, setup_logging

    words = language(lang, project)
    root = project.resolve()
    if not root.is_dir():
        _fail(KamrulesError(msg("cli.no_project", path=str(root))), words)
    setup_logging(root)
    watcher = Watcher(root, WatchOptions(settle=settle, debounce=debounce, give_up=give_up, poll=poll,
                                         as_of=_parse_date(as_of, words), force=force, lang=words))
    install_signal_handlers(watcher.stop)
    try:
        watcher.serve()
    except KamrulesError as exc:
        _fail(exc, words)


@app.command(help=h("help.cmd.status"))
def status(project: Path = ProjectOption, lang: Optional[str] = LangOption) -> None:
    from .watch import status as project_status

    words = language(lang, project)
    state = project_status(project)
    if state.finished_at:
        say(words, "cli.status.last_run_at", run=state.last_run, finished=state.finished_at)
    else:
        say(words, "cli.status.last_run", run=state.last_run or msg("cli.status.none"))
    if state.damaged:
        say(words, "cli.status.damaged", run=state.last_run)
    elif state.last_run and state.as_of:
        say(words, "cli.status.as_of", as_of=state.as_of)
    elif state.last_run:
        say(words, "cli.status.as_of_unknown")
    if state.up_to_date:
        say(words, "cli.status.up_to_date")
    if state.content_changed:
        say(words, "cli.status.pending")
        for name in state.pending:
            out.print(f"  {printable(name)}", markup=False)
    if state.date_moved:
        say(words, "cli.status.new_day", today=state.today.isoformat(), as_of=state.as_of)
    if state.rejected:
        say(words, "cli.status.rejected", files=", ".join(state.rejected))
    if state.watcher_pid:
        say(words, "cli.status.watcher", pid=state.watcher_pid)
    else:
        say(words, "cli.status.no_watcher")


def describe_issue(issue, lang: str = "en") -> str:
    """``file · sheet · row N · column = 'value': message`` on one line."""
    row = msg("where.row", row=issue.row).localize(lang) if issue.row else None
    where = " · ".join(printable(str(p)) for p in (issue.file, issue.sheet, row) if p)
    cell = f" · {printable(str(issue.column))} = {issue.value or ''!r}" if issue.column else ""
    remedy = f" — {shown(issue.suggestion, lang)}" if issue.suggestion else ""
    return msg("located", where=f"{where}{cell}", message=shown(issue.message, lang)).localize(lang) + remedy


def _code_words(code: str, lang: str) -> str:
    """An issue code as the summary names it: in Chinese the words of the Data issues sheet's
    kind column with the code after them (``合计行 (totals_row)``), in English the code."""
    if lang != "zh":
        return code
    words = Words(lang)
    return f"{words('code.' + code)} ({code})" if "code." + code in words.catalogue else code


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a Chinese character takes two)."""
    return text + " " * max(0, width - cell_len(text))


# warnings about the figures themselves: said in full, not only counted by code
SPELLED_OUT = ("model_not_fitted", "as_of_after_data", "column_without_values", "visit_plan", "unplaced_tasks",
               "company_unfinished")


def _print_summary(result, lang: str) -> None:
    frame = result.result.frame
    say(lang, "cli.run.heading", version=__version__, as_of=result.as_of.isoformat())
    say(lang, "cli.run.read")
    for name, stats in result.ledger.stats.items():
        if stats.derived_from and not stats.rows_read:  # no sheet: made from another dataset
            say(lang, "ledger.summary.derived", dataset=_pad(stats.title or name, 12), rows=stats.rows_derived,
                source=stats.derived_from)
            continue
        if not stats.rows_read:
            continue  # an optional sheet this ledger does not have (客户经理): nothing was read
        line = msg("cli.run.rows_used", dataset=_pad(stats.title or name, 12), rows=stats.rows_used).localize(lang)
        if stats.rows_rejected:
            line += msg("cli.run.rows_rejected", rows=stats.rows_rejected).localize(lang)
        if stats.rows_skipped:
            line += msg("cli.run.rows_skipped", rows=stats.rows_skipped).localize(lang)
        out.print(line, markup=False)
    cache = result.ledger.cache
    if cache is not None:
        line = msg("cli.run.cache", reused=cache.files_reused, parsed=cache.files_parsed,
                   s=plural(cache.files_reused)).localize(lang)
        if cache.damaged:
            line += msg("cli.run.cache_rebuilt", count=cache.damaged,
                        s=_entries(cache.damaged)).localize(lang)
        out.print(line, markup=False)
    say(lang, "cli.run.decided")
    say(lang, "cli.run.customers", count=result.customers)
    if "key_account" in frame.columns:
        say(lang, "cli.run.key_accounts", count=int(frame["key_account"].fill_null(False).sum()))
    for doc, count in result.documents.items():
        say(lang, "cli.run.pdf_copies" if doc == "pdf" else "cli.run.documents", document=doc, count=count)
    options = result.options
    if options and options.plan:
        plan = options.plan
        say(lang, "cli.run.plan", tasks=plan["tasks"], reps=plan["reps"], end=plan["end"],
            calendars=len(plan["calendars"]) - 1)
    if options and options.pdf_skipped:
        say(lang, "cli.run.pdf_skipped", reason=localize(options.pdf_skipped, lang))
    if options and options.pdf_failed:
        say(lang, "cli.run.pdf_failed", count=len(options.pdf_failed), files=", ".join(options.pdf_failed[:5]))
    errors = [i for i in result.issues if i.severity == "error"]
    if errors:
        say(lang, "cli.run.rejected", count=len(errors), sheet=Words(lang)("sheet.issues"))
        for issue in errors[:10]:
            out.print("  " + describe_issue(issue, lang), markup=False)
        if len(errors) > 10:
            say(lang, "cli.run.more", count=len(errors) - 10)
    for severity in ("skipped", "warning"):
        counts = Counter(i.code for i in result.issues if i.severity == severity)
        if counts:
            say(lang, "cli.run.skipped" if severity == "skipped" else "cli.run.warning",
                codes=", ".join(f"{_code_words(code, lang)} ×{n}" for code, n in sorted(counts.items())))
    conflicts = result.result.issues
    if conflicts:
        say(lang, "cli.run.conflicts", count=len(conflicts), s=plural(len(conflicts)),
            sheet=Words(lang)("sheet.conflicts"))
        for conflict in conflicts[:5]:
            say(lang, "cli.run.conflict", customer=conflict.customer_id, decision=conflict.decision,
                message=localize(conflict.message, lang), hint=localize(conflict.suggestion, lang))
        if len(conflicts) > 5:
            say(lang, "cli.run.more_conflicts", count=len(conflicts) - 5)
    for issue in result.issues:
        if issue.code in SPELLED_OUT:
            where = issue.file if issue.dataset is None else f"{issue.file} [{issue.dataset}.{issue.column}]"
            text = msg("located", where=where, message=shown(issue.message, lang)).localize(lang)
            if issue.suggestion is not None:
                text += "\n  " + msg("hint", hint=shown(issue.suggestion, lang)).localize(lang)
            out.print(text, markup=False)
    for decision, count in result.result.unmatched.items():
        say(lang, "cli.run.unmatched", decision=decision, count=count)
    for decision, count in result.result.quota_trimmed.items():
        say(lang, "cli.run.quota", decision=decision, count=count)
    for decision, counts in result.result.quota_without_key.items():
        keys = counts["keys"]
        say(lang, "cli.run.quota_without_key", decision=decision, count=counts["first_key"], field=keys[0],
            rest=", ".join(keys[1:]) or msg("cli.run.quota_by_id"))
        if counts["every_key"]:
            say(lang, "cli.run.quota_by_id_count", decision=decision, count=counts["every_key"])
    for constraint, count in result.result.constraint_fixes.items():
        say(lang, "cli.run.constraint", constraint=constraint, count=count)
    say(lang, "cli.run.outputs", run_dir=str(result.run_dir))


RulesOption = typer.Option(None, "--rules", help=h("help.check.rules"))


def _check_rules(project: Path, rules: Optional[Path]):
    """``check`` of the project's rules or, with ``--rules``, of a copy of another rules folder (its
    findings naming the files of that folder)."""
    from .diff import RulesCopy
    from .pipeline import check as check_project
    from .rules.rulebook_compiler import load_rulebook

    if rules is None:
        return check_project(project)
    with RulesCopy(project, rules) as copy:
        copy.bring_logo(load_rulebook(copy.project).spec.company.logo)
        rulebook, findings = check_project(copy.project)
        return rulebook, [copy.rename(f) for f in findings]


@app.command(help=h("help.cmd.check"))
def check(project: Path = ProjectOption, rules: Optional[Path] = RulesOption,
          lang: Optional[str] = LangOption, as_json: bool = JsonOption) -> None:
    words = language(lang, project)
    try:
        rulebook, findings = _check_rules(project, rules)
    except KamrulesError as exc:
        _fail(exc, words, as_json)
    if as_json:
        out.print(json_text({"ok": not findings, "findings": [error_dict(f, words) for f in findings],
                             "company_unfinished": rulebook.spec.company.unfinished(),
                              "decisions": len(rulebook.decisions),
                              "rules": sum(len(d.rules) for d in rulebook.decisions),
                              "constraints": len(rulebook.constraints), "datasets": len(rulebook.spec.datasets)}),
                  markup=False)
        if findings:
            raise typer.Exit(1)
        return
    if findings:
        count = len(findings)
        say(words, "cli.check.problems", count=count, s="s" if count != 1 else "")
        for finding in findings:
            out.print("  " + finding.render(words).replace("\n", "\n  "), markup=False)
        raise typer.Exit(1)
    decisions, rules = len(rulebook.decisions), sum(len(d.rules) for d in rulebook.decisions)
    constraints, datasets = len(rulebook.constraints), len(rulebook.spec.datasets)
    unfinished = rulebook.spec.company.unfinished()
    if unfinished:  # a warning, not a failure: the rules work, the documents would go out unsigned
        say(words, "cli.check.warning", message=msg("company.unfinished", keys=", ".join(unfinished)),
            hint=msg("company.unfinished.hint"))
    say(words, "cli.check.ok", decisions=msg("cli.count.decisions", n=decisions, s=plural(decisions)),
        rules=msg("cli.count.rules", n=rules, s=plural(rules)),
        constraints=msg("cli.count.constraints", n=constraints, s=plural(constraints)),
        datasets=msg("cli.count.datasets", n=datasets, s=plural(datasets)))


def _test_rules(project: Path, rules: Optional[Path]):
    """The rule tests of the project's rules or, with ``--rules``, those of a copy of another rules
    folder, run against it (each case naming its file in that folder)."""
    from .diff import RulesCopy
    from .rules.rulebook_compiler import load_rulebook
    from .rules.testing import run_rule_tests

    if rules is None:
        return run_rule_tests(project.resolve(), load_rulebook(project.resolve()))
    with RulesCopy(project, rules) as copy:
        report = run_rule_tests(copy.project, load_rulebook(copy.project))
        for result in report.results:
            copy.rename(result)
        return report


@app.command("test", help=h("help.cmd.test"))
def test_rules(project: Path = ProjectOption,
               rules: Optional[Path] = typer.Option(None, "--rules", help=h("help.test.rules")),
               lang: Optional[str] = LangOption, as_json: bool = JsonOption) -> None:
    words = language(lang, project)
    try:
        report = _test_rules(project, rules)
    except KamrulesError as exc:
        _fail(exc, words, as_json)
    if as_json:
        cases = [{"name": r.name, "file": r.file, "line": r.line, "passed": r.passed,
                  "mismatches": [{"field": m.field, "expected": m.expected, "actual": m.actual} for m in r.mismatches],
                  "trace": r.trace, "conflicts": {d: list(ids) for d, ids in r.conflicts.items()}}
                 for r in report.results]
        out.print(json_text({"ok": not report.failed, "passed": len(report.results) - len(report.failed),
                              "failed": len(report.failed), "cases": cases, "unexercised": report.unexercised},
                            default=str), markup=False)
        if report.failed:
            raise typer.Exit(1)
        return
    if not report.results:
        say(words, "cli.test.none")
        return
    for result in report.results:
        if result.passed:
            say(words, "cli.test.ok", name=result.name)
            continue
        say(words, "cli.test.fail", name=result.name, file=result.file, line=result.line)
        for mismatch in result.mismatches:
            say(words, "cli.test.mismatch", field=mismatch.field, expected=_show(mismatch.expected, words),
                actual=_show(mismatch.actual, words))
        trace = ", ".join(f"{decision}={rules}" for decision, rules in result.trace.items() if rules)
        say(words, "cli.test.trace", trace=trace)
        for decision, rules in result.conflicts.items():
            say(words, "cli.test.conflict", decision=decision, rules=all_of(list(rules)))
    failed = len(report.failed)
    say(words, "cli.test.summary", passed=len(report.results) - failed, failed=failed)
    if report.unexercised:
        say(words, "cli.test.unexercised", rules=", ".join(report.unexercised))
    if failed:
        raise typer.Exit(1)


def _show(value, lang: str) -> str:
    """A value as the rule language writes it (``true``, ``null``, ``'A'``)."""
    if isinstance(value, Text):
        return value.localize(lang)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return literal_text(value)


@app.command(help=h("help.cmd.explain"))
def explain(customer_id: str = typer.Argument(..., help=h("help.explain.customer")),
            project: Path = ProjectOption,
            run_id: Optional[str] = typer.Option(None, "--run", help=h("help.explain.run")),
            lang: Optional[str] = LangOption,
            as_json: bool = JsonOption) -> None:
    from .pipeline import explain as explain_customer
    from .rules.explain import render_text

    words = language(lang, project)
    try:
        explanation = explain_customer(project, customer_id, run_id, words)
    except KamrulesError as exc:
        _fail(exc, words, as_json)
    if as_json:
        out.print(json_text(explanation.to_dict(), indent=2, default=str), markup=False)
    else:
        out.print(render_text(explanation), markup=False)


@app.command(help=h("help.cmd.diff"))
def diff(rules: Path = typer.Option(..., "--rules", help=h("help.diff.rules")),
         project: Path = ProjectOption,
         as_of: Optional[str] = typer.Option(None, "--as-of", help=h("help.as_of")),
         output: Optional[Path] = typer.Option(None, "--output", "-o",
                                               help=h("help.diff.output")),
         lang: Optional[str] = LangOption,
         as_json: bool = JsonOption) -> None:
    from .diff import MONEY_TOTALS, rule_diff, write_diff_workbook

    words = language(lang, project)
    when = _parse_date(as_of, words) or dt.date.today()
    try:
        result = rule_diff(project, rules, when, words)
    except KamrulesError as exc:
        _fail(exc, words, as_json)
    target = output or project / "outputs" / f"diff-{dt.datetime.now():%Y%m%d-%H%M%S}.xlsx"
    write_diff_workbook(result, target, words)
    if as_json:
        out.print(json_text({**result.as_dict(), "workbook": str(target)}, default=str),
                  markup=False)
        return
    say(words, "cli.diff.heading", affected=result.affected_customers, customers=result.customers, as_of=when)
    labels = [msg("cli.diff.label", title=o.title, output=o.output).shown(words) for o in result.outputs]
    width = min(max((cell_len(label) for label in labels), default=0), 44)
    for label, change in zip(labels, result.outputs):
        out.print(f"  {_pad(label, width)}  {_change_text(change, words)}", markup=False)
    for name, (before, after) in result.totals.items():
        say(words, "cli.diff.total", name=MONEY_TOTALS[name][0 if words == "zh" else 1], before=before, after=after,
            change=after - before)
    say(words, "cli.diff.workbook", path=str(target))


def _number(value: float, kind: str, signed: bool = False) -> str:
    """A figure of the diff summary: percents as %, money with two decimals, counts of days and
    integers without decimals unless a mean has them."""
    sign = "+" if signed else ""
    if kind == "percent":
        text = f"{value * 100:{sign}.2f}".rstrip("0").rstrip(".")
        return f"{text}%"
    if kind == "money":
        return f"{value:{sign},.0f}" if float(value).is_integer() else f"{value:{sign},.2f}"
    if float(value).is_integer():
        return f"{int(value):{sign},d}"
    return f"{value:{sign},.1f}" if kind == "integer" else f"{value:{sign},.2f}"


def _change_text(change, lang: str) -> str:
    """One output's change, as its type makes sense of it (see :class:`kamrules.diff.OutputChange`)."""
    parts = [msg("cli.diff.changed", customers=change.customers, s=plural(change.customers)).shown(lang)]
    comma = "，" if lang == "zh" else ", "
    if change.counts:
        shown_counts = [f"{c.value} {c.before} → {c.after}" for c in change.counts[:4]]
        if len(change.counts) > 4:
            shown_counts.append("…")
        parts.append(msg("cli.diff.counts", counts=Verbatim(comma.join(shown_counts))).shown(lang))
    kind = change.kind
    if change.total_before is not None:
        parts.append(msg("cli.diff.money_total", before=_number(change.total_before, kind),
                         after=_number(change.total_after, kind)).shown(lang))
    if change.mean_before is not None and change.mean_after is not None:
        parts.append(msg("cli.diff.mean", before=_number(change.mean_before, kind if kind != "integer" else "number"),
                         after=_number(change.mean_after, kind if kind != "integer" else "number")).shown(lang))
    if change.min_change is not None:
        low, high = (_number(v, kind, signed=True) for v in (change.min_change, change.max_change))
        parts.append((msg("cli.diff.step", change=low) if low == high
                      else msg("cli.diff.range", low=low, high=high)).shown(lang))
    if change.mean_shift_days:
        days = _number(abs(change.mean_shift_days), "number")
        parts.append((msg("cli.diff.later", days=days) if change.mean_shift_days > 0
                      else msg("cli.diff.earlier", days=days)).shown(lang))
    return ("；" if lang == "zh" else "; ").join(parts)


@app.command(help=h("help.cmd.init"))
def init(folder: Path = typer.Argument(..., help=h("help.init.folder")),
         lang: str = typer.Option("zh", "--lang", help=h("help.init.lang"))) -> None:
    from .init import init_project

    words = language(lang)
    try:
        files = init_project(folder, lang)
    except KamrulesError as exc:
        _fail(exc, words)
    say(words, "cli.init.created", folder=str(folder), count=len(files))
    out.print(f"  cd {folder}\n  kamrules run\n  kamrules explain C0168", markup=False)


@app.command(help=h("help.cmd.schema"))
def schema(output: Optional[Path] = typer.Option(None, "--output", "-o", help=h("help.schema.output")),
           lang: Optional[str] = LangOption) -> None:
    from .schema import schema_text

    text = schema_text()
    if output is None:
        out.print(text, markup=False, end="")
        return
    output.write_text(text, encoding="utf-8")
    say(language(lang), "cli.schema.written", path=str(output))


dmn_app = typer.Typer(add_completion=False, no_args_is_help=True, help=h("help.cmd.dmn"))
app.add_typer(dmn_app, name="dmn")


def _write_atomically(target: Path, data: bytes, force: bool, lang: str) -> None:
    if target.exists() and not force:
        _fail(ProjectError(msg("cli.dmn.exists"), path=str(target), suggestion=msg("cli.dmn.exists.hint")), lang)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


@dmn_app.command("import", help=h("help.dmn.import"))
def dmn_import(model: Path = typer.Argument(..., help=h("help.dmn.model")),
               output: Optional[Path] = typer.Option(None, "--out", "-o", help=h("help.dmn.out")),
               force: bool = typer.Option(False, "--force", help=h("help.dmn.force")),
               lang: Optional[str] = LangOption) -> None:
    from .rules.dmn import import_yaml

    words = language(lang)
    try:
        text = import_yaml(model, model.name)
    except OSError as exc:
        _fail(ProjectError(msg("cli.dmn.unreadable", reason=exc.strerror or str(exc)), path=str(model)), words)
    except KamrulesError as exc:
        _fail(exc, words)
    if output is None:
        out.print(text, markup=False, end="")
        return
    _write_atomically(output, text.encode("utf-8"), force, words)
    say(words, "cli.dmn.imported", path=str(output))


@dmn_app.command("export", help=h("help.dmn.export"))
def dmn_export(project: Path = ProjectOption,
               output: Optional[Path] = typer.Option(None, "--out", "-o", help=h("help.dmn.out")),
               force: bool = typer.Option(False, "--force", help=h("help.dmn.force")),
               lang: Optional[str] = LangOption) -> None:
    from .rules.dmn.writer import write_dmn
    from .rules.rulebook_compiler import load_rulebook

    words = language(lang, project)
    try:
        data = write_dmn(load_rulebook(project.resolve()), project.resolve().name)
    except KamrulesError as exc:
        _fail(exc, words)
    if output is None:
        out.print(data.decode("utf-8"), markup=False, end="")
        return
    _write_atomically(output, data, force, words)
    say(words, "cli.dmn.exported", path=str(output))


@dmn_app.command("test", help=h("help.dmn.test"))
def dmn_test(model: Path = typer.Argument(..., help=h("help.dmn.model")),
             cases: Path = typer.Argument(..., help=h("help.dmn.cases")),
             lang: Optional[str] = LangOption) -> None:
    from .rules.dmn.tck import run_tck

    words = language(lang)
    try:
        report = run_tck(model, cases)
    except OSError as exc:
        _fail(ProjectError(msg("cli.dmn.unreadable", reason=exc.strerror or str(exc)),
                           path=str(exc.filename or model)), words)
    except KamrulesError as exc:
        _fail(exc, words)
    for outcome in report.outcomes:
        detail = localize(outcome.detail, words) if outcome.detail is not None else ""
        if outcome.status == "passed":
            say(words, "cli.dmn.passed", case=outcome.case)
        elif outcome.status == "failed":
            say(words, "cli.dmn.failed", case=outcome.case, detail=detail)
        else:
            say(words, "cli.dmn.unsupported", case=outcome.case, detail=detail)
    unsupported = report.count("unsupported")
    say(words, "cli.dmn.summary", passed=report.count("passed"), failed=report.count("failed"),
        unsupported=msg("cli.dmn.summary_unsupported", count=unsupported) if unsupported else "")
    if report.count("failed"):
        raise typer.Exit(1)


cache_app = typer.Typer(add_completion=False, no_args_is_help=True, help=h("help.cmd.cache"))
app.add_typer(cache_app, name="cache")


def _entries(count: int) -> str:
    """The ending of "entr{s}" (the {s} placeholder is English only)."""
    return "y" if count == 1 else "ies"


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""


@cache_app.command("status", help=h("help.cache.status"))
def cache_status(project: Path = ProjectOption, lang: Optional[str] = LangOption, as_json: bool = JsonOption) -> None:
    from .files import file_sha256
    from .ledger import input_files
    from .ledger.cache import KEEP_DAYS, LedgerCache, cache_root, entries, kept_beside
    from .rules.rulebook_compiler import load_rulebook

    words = language(lang, project)
    project = project.resolve()
    try:
        spec = load_rulebook(project).spec
        settings = spec.ledger
        titles = {name: dataset.title or name for name, dataset in spec.datasets.items()}
        current = {LedgerCache(cache_root(project), settings).key(file_sha256(path)): path.name
                   for path in input_files(project / "inputs", settings, project)}
    except KamrulesError as exc:
        _fail(exc, words, as_json)
    found = entries(cache_root(project))
    beside = kept_beside(cache_root(project))
    root = cache_root(project).relative_to(project).as_posix()
    if as_json:
        out.print(json_text({"root": root, "bytes": sum(e.bytes for e in found), "entries": [
            {"key": e.key, "file": e.file, "sha256": e.sha256, "bytes": e.bytes, "rows": e.rows,
             "last_used": e.last_used.isoformat(timespec="seconds"), "ok": e.ok, "current": e.key in current}
            for e in found], "kept": {kind: {"count": n, "bytes": size} for kind, (n, size) in beside.items()}}),
            markup=False)
        return
    if not found:
        say(words, "cli.cache.empty", root=root)
        return
    say(words, "cli.cache.heading", root=root, count=len(found), size=_size(sum(e.bytes for e in found)),
        s=_entries(len(found)))
    for e in found:
        rows = ("，" if words == "zh" else ", ").join(
            msg("cli.cache.rows", dataset=titles.get(name, name), rows=n).localize(words) for name, n in e.rows.items())
        out.print(msg("cli.cache.entry", mark="✓" if e.key in current else " ", file=e.file,
                      rows=rows if e.ok else msg("cli.cache.damaged").localize(words), size=_size(e.bytes),
                      used=e.last_used.strftime("%Y-%m-%d %H:%M")).localize(words), markup=False)
    say(words, "cli.cache.legend", days=KEEP_DAYS)
    if any(count for count, _ in beside.values()):
        say(words, "cli.cache.beside", **{kind: count for kind, (count, _) in beside.items()},
            **{f"{kind}_size": _size(size) for kind, (_, size) in beside.items()})


@cache_app.command("clear", help=h("help.cache.clear"))
def cache_clear(project: Path = ProjectOption, lang: Optional[str] = LangOption) -> None:
    from .ledger.cache import cache_root, clear
    from .pipeline import project_lock

    words = language(lang, project)
    project = project.resolve()
    outputs = project / "outputs"
    try:
        if outputs.is_dir():  # the lock runs hold: never pull the cache from under a run
            with project_lock(outputs, message=msg("cli.cache.locked")):
                count, size = clear(cache_root(project))
        else:
            count, size = clear(cache_root(project))
    except KamrulesError as exc:
        _fail(exc, words)
    say(words, "cli.cache.cleared", count=count, size=_size(size), s=_entries(count))


@app.command(help=h("help.cmd.version"))
def version() -> None:
    out.print(__version__, markup=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
