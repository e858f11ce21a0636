"""One run: ledger → metrics → rules → render, staged and published atomically.

Everything is written into ``outputs/.staging-<run>`` and published with a single rename
to ``outputs/<YYYYMMDD-HHMMSS>``, so a run folder is either complete or absent. A lock file
keeps two runs off the same project; a lock left by a dead process is taken over.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import shutil
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import polars as pl

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

from .errors import Issue, LockedError, ProjectError, RulebookError, RulebookInvalid, UnwritableError
from .background import SPARE_WORK, importer
from .expr.compiler import compile_expression
from .files import check as check_file, inside, refusal
from .text import json_text
from .i18n import Text, msg
from .ledger import Ledger, LedgerCache, read_ledger
from .ledger.cache import cache_root, charts_root, fits_root
from .ledger.stages import StageCache
from .metrics.predictive import FIT_STORE
from .metrics import features_and_notes
from .names import did_you_mean
from .render.batch import render_all
from .render.charts import prune_charts
from .render.context import CONTEXT_EXTRAS, company_context
from .render.documents import document_jobs, renderer_arguments, select_customers, template_for
from .render.docx import DocxRenderer
from .plan.planner import VisitPlan, build_plan
from .render.ics import PLAN_FILE, cancellations, plan_events, read_plan, write_calendars, write_plan
from .render.pdf import export_pdfs
from .render.xlsx import PortfolioWriter, write_issues_workbook
from .render.xlsx_template import TemplatePortfolioWriter
from .rules.analysis import analyse_table
from .rules.decisions import CompiledRulebook
from .rules.engine import TRACE, EvaluationResult, PolarsEngine
from .rules.rulebook import Located, project_today
from .rules.rulebook_compiler import load_rulebook
from .version import __version__

Progress = Callable[[str, int, int], None]
LOCK_NAME = ".kamrules.lock"
STAGING_PREFIX = ".staging-"
DECISIONS_FILE = "decisions.parquet"


@dataclass
class RunResult:
    run_dir: Path
    as_of: dt.date
    customers: int
    documents: dict[str, int]
    issues: list[Issue]
    result: EvaluationResult
    ledger: Ledger
    timings: dict[str, float] = field(default_factory=dict)
    options: "RunOptions | None" = None

    @property
    def rejected_rows(self) -> int:
        return self.ledger.rejected_rows


def _quiet(stage: str, done: int, total: int) -> None:
    return None


@contextmanager
def project_lock(outputs: Path, name: str = LOCK_NAME, message: Text | None = None) -> Iterator[None]:
    """An exclusive OS lock (flock; LockFileEx on Windows) on ``outputs/<name>``, held while the
    block runs; the file also holds the owner's pid, for messages. The OS releases the lock
    when its process ends, however it ends, so a crashed run never blocks the next one, and two
    processes starting together cannot both hold it.

    ``message`` says who holds it (default: another run)."""
    message = message or msg("run.locked")
    path = outputs / name
    for _ in range(5):
        fd = _open_lock_file(path)
        if not _try_lock(fd):
            os.close(fd)
            holder = lock_holder(path)
            said = msg("run.locked_by", message=message, pid=holder) if holder else message  # 0: no pid yet
            raise LockedError(said, path=str(path), suggestion=msg("run.locked.hint"))
        if _same_file(fd, path):  # not unlinked by the previous holder between our open and lock
            break
        os.close(fd)
    else:
        raise LockedError(message, path=str(path), suggestion=msg("run.locked.hint"))
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        path.unlink(missing_ok=True)  # while still locked: a waiting opener sees a new file next time
        os.close(fd)


def _open_lock_file(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        raise outputs_error(exc, path.parent) from None


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def lock_holder(path: Path) -> int | None:
    """The pid of the process holding the lock ``path`` (0 when it has not written it yet), or None
    when nobody holds it (a pid left in the file by a process that ended does not count)."""
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        if _try_lock(fd):  # nobody holds it
            return None
        try:
            pid = int(os.pread(fd, 32, 0).decode().strip() or 0) if hasattr(os, "pread") else 0
        except (OSError, ValueError):
            pid = 0
        return pid
    finally:
        os.close(fd)


WRITE_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, getattr(errno, "EDQUOT", errno.ENOSPC)}


def outputs_error(exc: OSError, outputs: Path) -> UnwritableError:
    """A failure to write under outputs/ as the user can act on it: full disk, read-only, denied."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return UnwritableError(msg("run.no_space"), path=str(outputs), suggestion=msg("run.no_space.hint"))
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return UnwritableError(msg("run.read_only"), path=str(outputs), suggestion=msg("run.read_only.hint"))
    return UnwritableError(msg("run.cannot_write", reason=exc.strerror or str(exc)), path=str(outputs))


def new_run_id(outputs: Path, now: dt.datetime) -> str:
    base = now.strftime("%Y%m%d-%H%M%S")
    run_id, n = base, 1
    while (outputs / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def check(project: Path) -> tuple[CompiledRulebook, list[RulebookError]]:
    """Validate the rulebook and its templates without reading any data.

    Errors that make the rulebook unusable are raised (RulebookInvalid, RenderError); the
    returned findings are certain problems in an otherwise usable rulebook: overlapping
    ``unique`` rows, unreachable ``first`` rows, uncovered values, unknown template names.
    """
    project = Path(project).resolve()
    rulebook = load_rulebook(project)
    findings = [f for decision in rulebook.decisions for f in analyse_table(decision)]
    known = set(rulebook.field_types) | set(CONTEXT_EXTRAS)
    if rulebook.spec.company.logo:
        company_context(project, rulebook)  # the logo: a PNG or JPEG inside the project
    internal_uses: list[RulebookError] = []
    for index, document in enumerate(rulebook.spec.documents):
        for template in [template_for(project, document, rulebook.spec.locale)]:
            name = f"templates/{template}"
            renderer = DocxRenderer(*renderer_arguments(project, rulebook, document, template))
            used = renderer.placeholders()
            for placeholder in sorted(used - known):
                findings.append(RulebookError(
                    msg("check.unknown_placeholder", name=placeholder), file=name, rule_id=document.id,
                    suggestion=did_you_mean(placeholder, known)))
            where = Located.at(rulebook.source.raw, ("documents", index, "audience")) \
                if "audience" in document.model_fields_set else Located.at(rulebook.source.raw, ("documents", index))
            for placeholder in sorted(used & renderer.internal):
                snippet = renderer.where_used(placeholder) or placeholder
                internal_uses.append(RulebookError(
                    msg("documents.internal_field", name=placeholder, where=f"{name}: {snippet!r}"),
                    file=where.file, line=where.line, rule_id=document.id, loc=where.loc,
                    suggestion=msg("documents.internal_field.hint")))
    if internal_uses:
        raise RulebookInvalid(internal_uses)
    return rulebook, findings


def evaluate(project: Path, as_of: dt.date, rulebook: CompiledRulebook | None = None,
             timings: dict[str, float] | None = None,
             options: "RunOptions | None" = None) -> tuple[CompiledRulebook, Ledger, EvaluationResult]:
    """Ledger, metrics and rules without writing anything (used by run, tests and explain)."""
    timings = {} if timings is None else timings
    rulebook = rulebook or _timed_rulebook(project, timings)
    clock = time.perf_counter()
    cache = LedgerCache.for_project(project, rulebook.spec.ledger) if options is not None and options.cache else None
    ledger = read_ledger(project / "inputs", rulebook.spec.datasets, rulebook.spec.ledger, project,
                         options.on_unreadable if options else None, options.exclude if options else frozenset(),
                         cache)
    if cache is not None and cache.stats.problem:
        ledger.issues.append(Issue(".kamrules/cache", None, None, None, None,
                                   msg("run.cache_unwritable", reason=cache.stats.problem), "cache_unwritable",
                                   "warning", None, msg("run.cache_unwritable.hint")))
    timings["ledger"] = time.perf_counter() - clock
    clock = time.perf_counter()
    derived = [(d.name, _derived_builder(d, rulebook.field_types), d.type) for d in rulebook.derived]
    models: dict[str, dict] = {}
    frames = ledger.datasets.frames()
    kept = FIT_STORE.set(fits_root(cache.root) if cache is not None else None)
    try:
        features, notes = features_and_notes(frames, as_of, rulebook.spec.metrics, derived, models,
                                             StageCache.beside(cache.root) if cache is not None else None,
                                             ledger.fingerprint,
                                             ledger.keyed_parts("orders") if "orders" in ledger.datasets else None)
    finally:
        FIT_STORE.reset(kept)
    ledger.issues.extend(notes)
    timings["metrics"] = time.perf_counter() - clock
    clock = time.perf_counter()
    result = engine_class(options.engine if options else "polars")(rulebook, as_of).evaluate(features)
    unfit = models.pop("unfit", None)
    if unfit is not None:
        ledger.issues.append(Issue("rules/metrics.yaml", None, None, "predictive", None,
                                   msg("run.predictive_empty", reason=unfit.message), "model_not_fitted",
                                   "warning", None, unfit.suggestion))
    result.models = models
    timings["rules"] = time.perf_counter() - clock
    return rulebook, ledger, result


ENGINES = ("polars", "durable")


def engine_class(name: str):
    if name == "durable":
        from .rules.durable_engine import DurableEngine
        return DurableEngine
    return PolarsEngine


def _derived_builder(derived, field_types: dict[str, str]):
    return lambda resolve: compile_expression(derived.expr.node, resolve, source=derived.expr.text,
                                              field_types=field_types)


def run(project: Path, as_of: dt.date | None = None, progress: Progress = _quiet,
        now: dt.datetime | None = None, options: RunOptions | None = None) -> RunResult:
    project = Path(project).resolve()
    if not project.is_dir():
        raise ProjectError(msg("project.missing"), path=str(project))
    as_of = as_of or project_today(project)  # today where the company is (its timezone:)
    outputs = project / "outputs"
    try:
        outputs.mkdir(exist_ok=True)
    except OSError as exc:
        raise outputs_error(exc, outputs) from None
    with project_lock(outputs):
        _remove_stale_staging(outputs)
        started = now or dt.datetime.now()
        timings: dict[str, float] = {}
        progress("rules", 0, 1)
        rulebook = _timed_rulebook(project, timings)
        spare = SPARE_WORK.set([importer(later_imports(rulebook))])
        try:
            rulebook, ledger, result = evaluate(project, as_of, rulebook, timings=timings, options=options)
        finally:
            SPARE_WORK.reset(spare)
        run_id = new_run_id(outputs, started)
        staging = outputs / f"{STAGING_PREFIX}{run_id}"
        try:
            staging.mkdir()
            _snapshot(project, staging, result, ledger)
            options = options or RunOptions()
            documents = _render(project, staging, rulebook, ledger, result, as_of, timings, progress, options)
            run = RunResult(outputs / run_id, as_of, result.frame.height, documents, ledger.issues,
                            result, ledger, timings, options)
            _write_manifest(staging / "run.json", run, rulebook, run_id, started)
            os.replace(staging, outputs / run_id)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno in WRITE_ERRORS:
                raise outputs_error(exc, outputs) from None
            raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return run


def _timed_rulebook(project: Path, timings: dict[str, float]) -> CompiledRulebook:
    clock = time.perf_counter()
    rulebook = load_rulebook(project)
    timings["rulebook"] = time.perf_counter() - clock
    return rulebook


def later_imports(rulebook: CompiledRulebook) -> list[str]:
    """The big libraries a run of ``rulebook`` imports only when it gets to them: SciPy for the
    predictive models, matplotlib for the documents' charts (about 0.3 s and 0.6 s)."""
    modules = []
    if rulebook.spec.metrics.predictive is not None:
        modules += ["scipy.optimize", "scipy.special"]
    if rulebook.spec.documents:
        modules += ["matplotlib.figure", "matplotlib.backends.backend_agg", "matplotlib.font_manager",
                    "matplotlib.ticker"]
    return modules


def _snapshot(project: Path, staging: Path, result: EvaluationResult, ledger: Ledger) -> None:
    """What ``kamrules explain`` needs later: the rules as used and every customer's decisions.

    Only regular files of rules/ are copied; a link leading out of the project, a named pipe, a
    socket or a device is left out and said (a link could otherwise copy any readable file of the
    machine into the run folder, and a pipe would block the run)."""
    for source, problem in _rule_files_to_copy(project):
        relative = source.relative_to(project)
        if problem is not None:
            ledger.issues.append(Issue(relative.as_posix(), None, None, None, None, problem, "not_copied", "warning",
                                       None, msg("run.not_copied.hint")))
            continue
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    result.frame.write_parquet(staging / DECISIONS_FILE)


def _rule_files_to_copy(project: Path) -> Iterator[tuple[Path, Text | None]]:
    """Every entry below rules/ (links not followed), with why it is not copied (None: copy it)."""
    for folder, folders, files in os.walk(project / "rules", followlinks=False):
        for name in sorted(files) + sorted(f for f in folders if (Path(folder) / f).is_symlink()):
            path = Path(folder) / name
            yield path, _not_copied(path, project)


def _not_copied(path: Path, project: Path) -> Text | None:
    if path.is_symlink() and os.path.isdir(path) and inside(path, project):
        return msg("run.link_folder")
    reason = check_file(path, project)
    return msg("run.not_copied", reason=refusal(reason)) if reason else None


def finished_runs(project: Path) -> list[Path]:
    """Published run folders, oldest first."""
    outputs = Path(project) / "outputs"
    if not outputs.is_dir():
        return []
    runs = [p for p in outputs.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "run.json").exists()]
    return sorted(runs, key=_run_order)


def _run_order(path: Path) -> tuple:
    """``20261031-101500`` then ``20261031-101500-2`` (same second); a folder named otherwise by hand
    sorts by its name, before the runs."""
    parts = path.name.split("-")
    if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
        return 1, parts[0], parts[1], int(parts[2]) if len(parts) == 3 else 1
    return 0, path.name, "", 0


def explain(project: Path, customer_id: str, run_id: str | None = None, lang: str | None = None):
    """Explain one customer's decisions in a finished run (the latest one by default)."""
    from .rules.explain import Explainer, language

    project = Path(project).resolve()
    runs = finished_runs(project)
    if run_id is not None:
        chosen = [p for p in runs if p.name == run_id]
        if not chosen:
            raise ProjectError(msg("explain.no_such_run", run=run_id), path=str(project / "outputs"),
                               suggestion=did_you_mean(run_id, [p.name for p in runs]) or
                               msg("explain.runs", runs=", ".join(p.name for p in runs[-5:])))
        run_dir = chosen[0]
    elif runs:
        run_dir = runs[-1]
    else:
        raise ProjectError(msg("explain.no_run"), path=str(project / "outputs"), suggestion=msg("explain.no_run.hint"))
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    rulebook = load_rulebook(run_dir)
    frame = pl.read_parquet(run_dir / DECISIONS_FILE)
    if frame.filter(pl.col("customer_id") == customer_id).is_empty():
        raise ProjectError(msg("explain.no_customer", customer=customer_id, run=run_dir.name), path=str(run_dir),
                           suggestion=did_you_mean(customer_id, frame.get_column("customer_id").to_list()))
    as_of = dt.date.fromisoformat(manifest["as_of"])
    explainer = Explainer(rulebook, frame, as_of, language(rulebook, lang))
    return explainer.explain(customer_id, run_dir.name)


def _remove_stale_staging(outputs: Path) -> None:
    for leftover in outputs.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(leftover, ignore_errors=True)


@dataclass
class RunOptions:
    """How a run is made: ``workers`` None = one per core; ``pdf`` also writes PDF copies; the
    drop-folder service sets ``on_unreadable`` and ``exclude``."""

    workers: int | None = None
    pdf: bool = False
    on_unreadable: Callable | None = None  # set by the drop-folder service: set bad files aside, go on
    exclude: frozenset = frozenset()  # inputs not complete yet: left out of this run
    engine: str = "polars"  # or "durable" (the optional durable-rules engine)
    cache: bool = True  # keep parsed inputs in .kamrules/cache and reuse them (kamrules.ledger.cache)
    lang: str | None = None  # zh or en for the workbooks; default the rulebook's locale
    pdf_skipped: Text | None = None  # why no PDFs were made
    plan: dict[str, Any] | None = None  # the visit plan's counts and calendars (run.json)
    pdf_failed: list[str] = field(default_factory=list)


def _render(project: Path, staging: Path, rulebook: CompiledRulebook, ledger: Ledger,
            result: EvaluationResult, as_of: dt.date, timings: dict[str, float], progress: Progress,
            options: RunOptions) -> dict[str, int]:
    """The visit plan, then the portfolio workbook and the documents. With more than one worker
    the documents are made in a thread while the workbook is written: writing the workbook's rows
    is Polars and zlib, which let go of the GIL, so the two share the cores instead of waiting."""
    clock = time.perf_counter()
    writer = PortfolioWriter(rulebook, as_of, options.lang)
    stats = {"rows_rejected": ledger.rejected_rows, "models": result.models}
    visit_plan = _plan_visits(project, staging, rulebook, ledger, result.frame, as_of, writer.words.lang, stats)
    options.plan = stats["plan"]
    templates, jobs, counts = {}, [], {}
    for document in rulebook.spec.documents:
        templates[document.id], chosen = document_jobs(project, staging, rulebook, result.frame, document, as_of,
                                                       ledger.datasets.get_lazy("orders"), visit_plan)
        counts[document.id] = len(chosen)
        jobs += chosen
    planned = time.perf_counter() - clock
    charts = charts_root(cache_root(project)) if options.cache else None
    documents = _Documents(jobs, templates, options.workers, lambda done, total: progress("documents", done, total),
                           charts)
    together = options.workers != 1 and bool(jobs)
    if together:
        documents.start()
    try:
        clock = time.perf_counter()
        _write_workbooks(project, staging, rulebook, ledger, result, as_of, writer, stats, visit_plan)
        timings["portfolio"] = planned + time.perf_counter() - clock
    except BaseException:
        documents.stop()
        raise
    unfinished = rulebook.spec.company.unfinished()
    if unfinished and any(d.audience == "client" for d in rulebook.spec.documents):
        ledger.issues.append(Issue("rules/documents.yaml", None, None, None, None,
                                   msg("company.unfinished", keys=", ".join(unfinished)), "company_unfinished",
                                   "warning", None, msg("company.unfinished.hint")))
    timings["documents"] = documents.result() if together else documents.run()
    if charts is not None:
        prune_charts(charts)
    if options.pdf:
        clock = time.perf_counter()
        result = export_pdfs([job.target for job in jobs], options.workers)
        counts["pdf"] = result.created
        options.pdf_skipped, options.pdf_failed = result.skipped, result.failed
        timings["pdf"] = time.perf_counter() - clock
    return counts


def _write_workbooks(project: Path, staging: Path, rulebook: CompiledRulebook, ledger: Ledger,
                     result: EvaluationResult, as_of: dt.date, writer: PortfolioWriter, stats: dict[str, Any],
                     visit_plan: VisitPlan) -> None:
    """portfolio.xlsx (the company's template filled, or kamrules' own), and issues.xlsx when rows were not used."""
    frame = result.frame
    template = rulebook.spec.portfolio.template
    if template:
        counts = {o: int(frame[o].fill_null(False).sum()) for d in rulebook.decisions
                  for o, t in d.outputs.items() if t == "bool" and o in frame.columns}
        filler = TemplatePortfolioWriter(project / "templates" / template, f"templates/{template}", writer.columns,
                                         as_of, currency=rulebook.spec.currency, root=project)
        ledger.issues.extend(filler.write(staging / "portfolio.xlsx", writer.worded(frame), ledger.issues, counts))
    else:
        alerts = {title: select_customers(frame, condition, as_of, rulebook.field_types)
                  for title, condition in rulebook.spec.portfolio.alerts.items()}
        writer.write(staging / "portfolio.xlsx", frame, ledger.issues, result.issues, alerts, stats,
                     [e for e in visit_plan.events if not e.timed], visit_plan)
    not_used = [i for i in ledger.issues if i.severity in ("error", "skipped")]
    if not_used:
        write_issues_workbook(staging / "issues.xlsx", not_used, writer.words, company=rulebook.spec.company.name,
                              as_of=as_of)


class _Stopped(Exception):
    """The run failed elsewhere: the documents stop after the one being made."""


class _Documents:
    """:func:`render_all` of a run's documents, here (:meth:`run`) or in a thread (:meth:`start`,
    then :meth:`result`, or :meth:`stop` when the run fails meanwhile). Both give the seconds it took."""

    def __init__(self, jobs, templates, workers, progress, charts):
        self._arguments = (jobs, templates, workers)
        self._progress, self._charts = progress, charts
        self._halt = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._future = None

    def run(self) -> float:
        clock = time.perf_counter()
        render_all(*self._arguments, self._report, self._charts)
        return time.perf_counter() - clock

    def _report(self, done: int, total: int) -> None:
        if self._halt.is_set():
            raise _Stopped()
        self._progress(done, total)

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kamrules-documents")
        self._future = self._pool.submit(self.run)

    def result(self) -> float:
        try:
            return self._future.result()
        except BaseException:  # its own error, or an interrupt while waiting: it has ended, or ends now
            self.stop()
            raise
        finally:
            self._pool.shutdown()

    def stop(self) -> None:
        """Stop and wait (the staging folder is removed after this: nothing may still write into it)."""
        if self._future is None:
            return
        self._halt.set()
        try:
            self._future.result()
        except BaseException:  # the run's own error is the one raised
            pass
        finally:
            self._pool.shutdown()


def _plan_visits(project: Path, staging: Path, rulebook: CompiledRulebook, ledger: Ledger, frame: pl.DataFrame,
                 as_of: dt.date, lang: str, stats: dict[str, Any]) -> VisitPlan:
    """Schedule the visits and tasks, write the calendars (cancelling what the previous run planned
    and this one does not) and keep this run's events for the next run."""
    spec = rulebook.spec
    plan = build_plan(frame, spec, rulebook.field_types, as_of, ledger.datasets.get(spec.reps.dataset))
    for warning in plan.warnings:
        ledger.issues.append(Issue("rules/documents.yaml", None, None, None, None, warning, "visit_plan", "warning",
                                   None, None))
    if plan.unplaced:
        ledger.issues.append(Issue("rules/documents.yaml", None, None, None, None,
                                   msg("run.unplaced", count=len(plan.unplaced), end=plan.end.isoformat()),
                                   "unplaced_tasks", "warning", None, msg("run.unplaced.hint")))
    events = plan_events(frame, plan, spec.visit_plan.purposes)
    runs = finished_runs(project)
    previous = read_plan(runs[-1] / PLAN_FILE if runs else None)
    cancelled = cancellations(previous, events, as_of)
    stats["calendars"] = write_calendars(staging, events, cancelled, as_of, plan.end, spec.zone_name,
                                         spec.company.name, lang)
    write_plan(staging / PLAN_FILE, events, lang)
    plan.events, plan.cancelled = events, cancelled
    stats["plan"] = {"tasks": len(plan.placed), "unplaced": len(plan.unplaced), "cancelled": len(cancelled),
                     "reps": len(plan.rep_names()), "end": plan.end.isoformat(), "timezone": spec.zone_name,
                     "calendars": stats["calendars"]}
    return plan


def decisions_digest(frame: pl.DataFrame, rulebook: CompiledRulebook) -> str:
    """SHA-256 of every customer's decisions and traces: equal digests, equal decisions."""
    columns = ["customer_id"] + [o for d in rulebook.decisions for o in d.outputs] + \
        [TRACE + d.id for d in rulebook.decisions]
    selected = frame.select([c for c in columns if c in frame.columns]).sort("customer_id")
    as_text = [pl.col(c).cast(pl.List(pl.String)).list.join("|") if isinstance(t, pl.List) else pl.col(c).cast(pl.String)
               for c, t in selected.schema.items()]
    text = selected.select(as_text).write_csv()
    return hashlib.sha256(text.encode()).hexdigest()


def _write_manifest(path: Path, run: RunResult, rulebook: CompiledRulebook, run_id: str,
                    started: dt.datetime) -> None:
    ledger, result = run.ledger, run.result
    severities = Counter(i.severity for i in ledger.issues)
    manifest = {
        "kamrules": __version__,
        "run_id": run_id,
        "as_of": run.as_of.isoformat(),
        "started_at": started.isoformat(timespec="seconds"),
        "engine": run.options.engine if run.options else "polars",
        "inputs": [{"file": f.name, "sha256": f.sha256, "bytes": f.size} for f in ledger.files],
        "cache": ledger.cache.as_dict() if ledger.cache is not None else None,
        "rulebook": {"sha256": rulebook.digest, "files": rulebook.source.hashes},
        "counts": {
            "customers": run.customers,
            "datasets": {name: _dataset_counts(s) for name, s in ledger.stats.items()},
            "documents": run.documents,
            "decisions_without_match": result.unmatched,
            "quota_trimmed": result.quota_trimmed,
            "quota_ranked_without_key": result.quota_without_key,
            "constraint_fixes": result.constraint_fixes,
            "decision_conflicts": len(result.issues),
        },
        "pdf": ({"created": run.documents.get("pdf", 0), "skipped": run.options.pdf_skipped,
                 "failed": run.options.pdf_failed} if run.options and run.options.pdf else None),
        "decisions_sha256": decisions_digest(result.frame, rulebook),
        "visit_plan": run.options.plan if run.options else None,
        "predictive_models": result.models or None,
        "conflicts": [{"customer_id": c.customer_id, "decision": c.decision, "rules": list(c.rule_ids),
                       "message": c.message, "suggestion": c.suggestion} for c in result.issues[:1000]],
        "issues": {
            "errors": severities.get("error", 0),
            "skipped": severities.get("skipped", 0),
            "warnings": severities.get("warning", 0),
            "by_code": dict(sorted(Counter(i.code for i in ledger.issues).items())),
            "rows": [_issue_dict(i) for i in ledger.issues[:1000]],
        },
        "timings_seconds": {k: round(v, 4) for k, v in run.timings.items()},
    }
    path.write_text(json_text(manifest, indent=2, default=str), encoding="utf-8")


def _dataset_counts(stats) -> dict[str, Any]:
    counts = {"rows_read": stats.rows_read, "rows_used": stats.rows_used, "rows_rejected": stats.rows_rejected,
              "rows_skipped": stats.rows_skipped}
    if stats.derived_from:  # no sheet: its rows were made from another dataset
        counts.update({"derived_from": stats.derived_from, "rows_derived": stats.rows_derived})
    return counts


def _issue_dict(issue: Issue) -> dict[str, Any]:
    return {"file": issue.file, "sheet": issue.sheet, "row": issue.row, "column": issue.column,
            "value": issue.value, "message": issue.message, "suggestion": issue.suggestion, "code": issue.code,
            "severity": issue.severity, "dataset": issue.dataset}
