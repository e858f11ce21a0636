"""Command line: parse arguments, call the library, turn KamrulesError into a message.

Exit codes: 0 success (rejected rows are reported, not failures) · 1 a kamrules error
(bad rulebook, unreadable workbook, locked project…) · 2 wrong usage.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from . import __version__
from .errors import KamrulesError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="kamrules: key account rules engine — spreadsheets + YAML policy → decisions and documents.")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ProjectOption = typer.Option(Path("."), "--project", "-p", help="Project folder (has rules/, inputs/, templates/).")


def _parse_date(value: Optional[str]) -> Optional[dt.date]:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-10-31") from None


def _fail(error: KamrulesError, as_json: bool = False) -> None:
    if as_json:
        out.print(json.dumps({"ok": False, "error": error_dict(error)}, ensure_ascii=False), markup=False)
    else:
        err.print("error: " + str(error), markup=False)
    raise typer.Exit(error.exit_code)


def error_dict(error: Exception) -> dict:
    """An error as JSON: its kind, location, message, suggestion and every documented attribute."""
    data = {"kind": type(error).__name__, "message": getattr(error, "message", str(error))}
    location = getattr(error, "location", None)
    if callable(location):
        data["location"] = location()
    for name, value in vars(error).items():
        if name not in data and not name.startswith("_") and isinstance(value, (str, int, float, bool, type(None))):
            data[name] = value
    errors = getattr(error, "errors", None)
    if errors:
        data["errors"] = [error_dict(e) for e in errors]
    return data


JsonOption = typer.Option(False, "--json", help="Print the result as JSON (for scripts).")


@app.command()
def run(project: Path = ProjectOption,
        as_of: Optional[str] = typer.Option(None, "--as-of", help="Evaluate as of this date (YYYY-MM-DD); default today."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the run folder."),
        pdf: bool = typer.Option(False, "--pdf", help="Also save PDF copies (needs LibreOffice)."),
        workers: Optional[int] = typer.Option(None, "--workers", min=1,
                                              help="Processes for documents; default one per core."),
        once: bool = typer.Option(False, "--once", help="For schedulers: run only if inputs, rules or templates "
                                                        "changed since the last run; set unreadable files aside."),
        force: bool = typer.Option(False, "--force", help="With --once: run even if nothing changed."),
        engine: str = typer.Option("polars", "--engine", help="polars (default) or durable (needs kamrules[durable])."),
        lang: Optional[str] = typer.Option(None, "--lang", help="zh or en for sheet names and headers; "
                                                                "default the rulebook's locale."),
        as_json: bool = JsonOption) -> None:
    """Read inputs/, apply rules/, fill templates/ → a new folder in outputs/."""
    from .pipeline import RunOptions, run as run_pipeline

    when = _parse_date(as_of)
    if engine not in ("polars", "durable"):
        raise typer.BadParameter(f"unknown engine {engine!r}; use polars or durable", param_hint="--engine")
    if lang not in (None, "zh", "en"):
        raise typer.BadParameter(f"unknown language {lang!r}; use zh or en", param_hint="--lang")
    if once:
        _run_once(project, when, workers, force, quiet)
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True, disable=quiet or as_json or not err.is_terminal) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        try:
            result = run_pipeline(project, when, progress,
                                  options=RunOptions(workers=workers, pdf=pdf, engine=engine, lang=lang))
        except KamrulesError as exc:
            bar.stop()
            _fail(exc, as_json)
    if as_json:
        manifest = json.loads((result.run_dir / "run.json").read_text(encoding="utf-8"))
        out.print(json.dumps({"ok": True, "run_dir": str(result.run_dir), **manifest}, ensure_ascii=False),
                  markup=False)
        return
    if quiet:
        out.print(str(result.run_dir), markup=False)
        return
    _print_summary(result)


def _run_once(project: Path, when, workers, force: bool, quiet: bool) -> None:
    from .watch import WatchOptions, run_if_changed, setup_logging

    setup_logging(project.resolve(), console=False)
    try:
        result = run_if_changed(project.resolve(), WatchOptions(as_of=when, force=force, workers=workers))
    except KamrulesError as exc:
        _fail(exc)
    if result is None:
        out.print("nothing changed since the last run; not run again (use --force to run anyway)", markup=False)
    elif quiet:
        out.print(str(result.run_dir), markup=False)
    else:
        _print_summary(result)


@app.command()
def watch(project: Path = ProjectOption,
          settle: float = typer.Option(2.0, help="Seconds a file must keep its size before it is read."),
          debounce: float = typer.Option(2.0, help="Quiet seconds after the last change before a run."),
          give_up: float = typer.Option(60.0, "--give-up",
                                        help="Set aside a file unchanged this long that still does not open."),
          poll: bool = typer.Option(False, "--poll", help="Poll instead of OS events (network drives)."),
          as_of: Optional[str] = typer.Option(None, "--as-of", help="Evaluate as of this date; default today."),
          force: bool = typer.Option(False, "--force", help="Run at start even if nothing changed.")) -> None:
    """Watch inputs/, rules/ and templates/ and run whenever they change (Ctrl-C to stop)."""
    from .watch import Watcher, WatchOptions, install_signal_handlers, setup_logging

    root = project.resolve()
    if not root.is_dir():
        _fail(KamrulesError(f"{root}: project folder does not exist"))
    setup_logging(root)
    watcher = Watcher(root, WatchOptions(settle=settle, debounce=debounce, give_up=give_up, poll=poll,
                                         as_of=_parse_date(as_of), force=force))
    install_signal_handlers(watcher.stop)
    try:
        watcher.serve()
    except KamrulesError as exc:
        _fail(exc)


@app.command()
def status(project: Path = ProjectOption) -> None:
    """Last run, whether inputs changed since, files set aside, and whether a watcher runs."""
    from .watch import status as project_status

    state = project_status(project)
    out.print(f"last run: {state.last_run or 'none'}" + (f" (finished {state.finished_at})" if state.finished_at else ""),
              markup=False)
    out.print("up to date" if state.up_to_date else "changes not yet run:", markup=False)
    for name in state.pending:
        out.print(f"  {name}", markup=False)
    if state.rejected:
        out.print("set aside in inputs/rejected/: " + ", ".join(state.rejected), markup=False)
    out.print(f"watcher: running (process {state.watcher_pid})" if state.watcher_pid else "watcher: not running",
              markup=False)


def describe_issue(issue) -> str:
    """``file · sheet · row N · column = 'value': message`` on one line."""
    where = " · ".join(str(p) for p in (issue.file, issue.sheet, f"row {issue.row}" if issue.row else None) if p)
    cell = f" · {issue.column} = {issue.value or ''!r}" if issue.column else ""
    remedy = f" — {issue.suggestion}" if issue.suggestion else ""
    return f"{where}{cell}: {issue.message}{remedy}"


def _print_summary(result) -> None:
    frame = result.result.frame
    out.print(f"kamrules {__version__} · as of {result.as_of.isoformat()}", markup=False)
    out.print("read:", markup=False)
    for name, stats in result.ledger.stats.items():
        line = f"  {name:<12} {stats.rows_used:>8,} rows used"
        if stats.rows_rejected:
            line += f", {stats.rows_rejected:,} rejected"
        if stats.rows_skipped:
            line += f", {stats.rows_skipped:,} skipped"
        out.print(line, markup=False)
    out.print("decided:", markup=False)
    out.print(f"  customers    {result.customers:>8,}", markup=False)
    if "key_account" in frame.columns:
        out.print(f"  key accounts {int(frame['key_account'].fill_null(False).sum()):>8,}", markup=False)
    for doc, count in result.documents.items():
        out.print(f"  {doc:<12} {count:>8,} {'PDF copies' if doc == 'pdf' else 'documents'}", markup=False)
    if result.options and result.options.pdf_skipped:
        out.print(f"PDF skipped: {result.options.pdf_skipped}", markup=False)
    if result.options and result.options.pdf_failed:
        out.print(f"PDF failed for {len(result.options.pdf_failed)} documents: "
                  + ", ".join(result.options.pdf_failed[:5]), markup=False)
    errors = [i for i in result.issues if i.severity == "error"]
    if errors:
        out.print(f"{len(errors)} rows were rejected (see 数据问题 in portfolio.xlsx, and issues.xlsx):", markup=False)
        for issue in errors[:10]:
            out.print("  " + describe_issue(issue), markup=False)
        if len(errors) > 10:
            out.print(f"  … and {len(errors) - 10} more", markup=False)
    for severity in ("skipped", "warning"):
        counts = Counter(i.code for i in result.issues if i.severity == severity)
        if counts:
            out.print(f"{severity}: " + ", ".join(f"{code} ×{n}" for code, n in sorted(counts.items())), markup=False)
    if result.result.issues:
        out.print(f"{len(result.result.issues)} decision conflicts (listed in 数据问题)", markup=False)
    for issue in result.issues:
        if issue.code == "model_not_fitted":
            out.print(f"{issue.file}: {issue.message}\n  hint: {issue.suggestion}", markup=False)
    for decision, count in result.result.unmatched.items():
        out.print(f"decision {decision}: no rule matched for {count} customers (output left empty)", markup=False)
    for decision, count in result.result.quota_trimmed.items():
        out.print(f"decision {decision}: quota reached, {count} customers over the cap set to false", markup=False)
    for constraint, count in result.result.constraint_fixes.items():
        out.print(f"constraint {constraint}: adjusted {count} customers", markup=False)
    out.print(f"outputs: {result.run_dir}", markup=False)


@app.command()
def check(project: Path = ProjectOption, as_json: bool = JsonOption) -> None:
    """Validate the rulebook (rules/*.yaml) and the templates it names, without reading any data."""
    from .pipeline import check as check_project

    try:
        rulebook, findings = check_project(project)
    except KamrulesError as exc:
        _fail(exc, as_json)
    if as_json:
        out.print(json.dumps({"ok": not findings, "findings": [error_dict(f) for f in findings],
                              "decisions": len(rulebook.decisions),
                              "rules": sum(len(d.rules) for d in rulebook.decisions),
                              "constraints": len(rulebook.constraints), "datasets": len(rulebook.spec.datasets)},
                             ensure_ascii=False), markup=False)
        if findings:
            raise typer.Exit(1)
        return
    if findings:
        count = len(findings)
        out.print(f"check found {count} problem{'s' if count != 1 else ''}:", markup=False)
        for finding in findings:
            out.print("  " + str(finding).replace("\n", "\n  "), markup=False)
        raise typer.Exit(1)
    rules = sum(len(d.rules) for d in rulebook.decisions)
    out.print(f"rulebook OK: {len(rulebook.decisions)} decisions, {rules} rules, "
              f"{len(rulebook.constraints)} constraints, {len(rulebook.spec.datasets)} datasets", markup=False)


@app.command("test")
def test_rules(project: Path = ProjectOption, as_json: bool = JsonOption) -> None:
    """Run the rule test cases in rules/tests/*.yaml (given values → expected decisions)."""
    from .rules.decisions import load_rulebook
    from .rules.testing import run_rule_tests

    try:
        report = run_rule_tests(project.resolve(), load_rulebook(project.resolve()))
    except KamrulesError as exc:
        _fail(exc, as_json)
    if as_json:
        cases = [{"name": r.name, "file": r.file, "line": r.line, "passed": r.passed,
                  "mismatches": [{"field": m.field, "expected": m.expected, "actual": m.actual} for m in r.mismatches],
                  "trace": r.trace} for r in report.results]
        out.print(json.dumps({"ok": not report.failed, "passed": len(report.results) - len(report.failed),
                              "failed": len(report.failed), "cases": cases, "unexercised": report.unexercised},
                             ensure_ascii=False, default=str), markup=False)
        if report.failed:
            raise typer.Exit(1)
        return
    if not report.results:
        out.print("no rule tests: add cases to rules/tests/*.yaml", markup=False)
        return
    for result in report.results:
        if result.passed:
            out.print(f"  ok    {result.name}", markup=False)
            continue
        out.print(f"  FAIL  {result.name}  ({result.file}:{result.line})", markup=False)
        for mismatch in result.mismatches:
            out.print(f"        {mismatch.field}: expected {_show(mismatch.expected)}, got {_show(mismatch.actual)}",
                      markup=False)
        trace = ", ".join(f"{decision}={rules}" for decision, rules in result.trace.items() if rules)
        out.print(f"        trace: {trace}", markup=False)
    failed = len(report.failed)
    out.print(f"{len(report.results) - failed} passed, {failed} failed", markup=False)
    if report.unexercised:
        out.print("rules no case exercises: " + ", ".join(report.unexercised), markup=False)
    if failed:
        raise typer.Exit(1)


def _show(value) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return repr(value)


@app.command()
def explain(customer_id: str = typer.Argument(..., help="Customer id, e.g. C0168."),
            project: Path = ProjectOption,
            run_id: Optional[str] = typer.Option(None, "--run", help="Run folder name; default the latest run."),
            lang: Optional[str] = typer.Option(None, "--lang", help="zh or en; default the rulebook's locale."),
            as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Why a customer got each decision in a finished run."""
    import json

    from .pipeline import explain as explain_customer
    from .rules.explain import render_text

    try:
        explanation = explain_customer(project, customer_id, run_id, lang)
    except KamrulesError as exc:
        _fail(exc)
    if as_json:
        out.print(json.dumps(explanation.to_dict(), ensure_ascii=False, indent=2, default=str), markup=False)
    else:
        out.print(render_text(explanation), markup=False)


@app.command()
def diff(rules: Path = typer.Option(..., "--rules", help="The other rules: a rules folder, or a project with rules/."),
         project: Path = ProjectOption,
         as_of: Optional[str] = typer.Option(None, "--as-of", help="Evaluate as of this date (YYYY-MM-DD); default today."),
         output: Optional[Path] = typer.Option(None, "--output", "-o",
                                               help="Workbook to write; default outputs/diff-<date-time>.xlsx."),
         lang: Optional[str] = typer.Option(None, "--lang", help="zh or en for the workbook; default the rulebook's "
                                                                 "locale."),
         as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON.")) -> None:
    """What changes if the other rules were used on the current data (nothing else is written)."""
    from .diff import MONEY_TOTALS, rule_diff, write_diff_workbook

    when = _parse_date(as_of) or dt.date.today()
    try:
        result = rule_diff(project, rules, when)
    except KamrulesError as exc:
        _fail(exc, as_json)
    target = output or project / "outputs" / f"diff-{dt.datetime.now():%Y%m%d-%H%M%S}.xlsx"
    write_diff_workbook(result, target, lang)
    if as_json:
        out.print(json.dumps({**result.as_dict(), "workbook": str(target)}, ensure_ascii=False, default=str),
                  markup=False)
        return
    out.print(f"{result.affected_customers} of {result.customers} customers would change (as of {when}):",
              markup=False)
    for t in result.transitions:
        out.print(f"  {t.title} ({t.output}): {t.before} → {t.after}  {t.customers}", markup=False)
    for n in result.numeric:
        totals = (f", total {n.total_before:,.2f} → {n.total_after:,.2f}" if n.total_before is not None else "")
        out.print(f"  {n.title} ({n.output}): {n.customers} customers changed{totals}", markup=False)
    for name, (before, after) in result.totals.items():
        out.print(f"  {MONEY_TOTALS[name][1]}: {before:,.2f} → {after:,.2f} ({after - before:+,.2f})", markup=False)
    out.print(f"workbook: {target}", markup=False)


@app.command()
def init(folder: Path = typer.Argument(..., help="New project folder (created; must not hold a project yet)."),
         lang: str = typer.Option("zh", "--lang", help="zh or en: README, templates and explanations.")) -> None:
    """Create a working project: rules with comments, templates, a sample ledger, a README."""
    from .init import init_project

    try:
        files = init_project(folder, lang)
    except KamrulesError as exc:
        _fail(exc)
    out.print(f"created {folder} ({len(files)} files); next:", markup=False)
    out.print(f"  cd {folder}\n  kamrules run\n  kamrules explain C0168", markup=False)


@app.command()
def schema(output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write it to this file instead.")) -> None:
    """Print the JSON Schema of rules/*.yaml (for editors: VS Code's YAML extension)."""
    from .schema import schema_text

    text = schema_text()
    if output is None:
        out.print(text, markup=False, end="")
        return
    output.write_text(text, encoding="utf-8")
    out.print(f"schema written to {output}", markup=False)


@app.command()
def version() -> None:
    """Print the kamrules version."""
    out.print(__version__, markup=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
