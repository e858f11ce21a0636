"""Render many documents: in parallel across cores when there are enough of them.

Each worker process reads every template once (in its initializer) and then renders the
jobs it is given; a job carries only picklable data (the context and the target path). A
RenderError in a worker reaches the caller intact. Worker processes are started with
``spawn``: forking a process that has Polars' thread pool running can deadlock.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from .charts import CHART_STORE
from .docx import DocxRenderer

PARALLEL_FROM = 64  # below this, starting spawned workers (~1 s) costs more than it saves


@dataclass(frozen=True)
class Job:
    template: str  # key into the templates given to the renderer pool
    context: dict[str, Any]
    target: Path
    customer_id: str | None


_RENDERERS: dict[str, DocxRenderer] = {}


def _start_worker(templates: dict[str, tuple], chart_store: Path | None = None) -> None:
    """``templates``: key → DocxRenderer's arguments (path, locale, display name[, currency]);
    ``chart_store``: where charts are kept across runs (:data:`.charts.CHART_STORE`)."""
    if chart_store is not None:
        CHART_STORE.set(chart_store)
    for key, arguments in templates.items():
        _RENDERERS[key] = DocxRenderer(*arguments)


def _render(job: Job) -> Path:
    _RENDERERS[job.template].render(job.context, job.target, job.customer_id)
    return job.target


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def render_all(jobs: list[Job], templates: dict[str, tuple], workers: int | None = None,
               progress: Callable[[int, int], None] = lambda done, total: None,
               chart_store: Path | None = None) -> int:
    """Render every job; ``workers`` None = one per core, 1 = in this process. Charts are kept in
    ``chart_store`` and read back from it when the same chart was drawn before."""
    workers = default_workers() if workers is None else max(1, workers)
    total = len(jobs)
    if workers == 1 or total < PARALLEL_FROM:
        token = CHART_STORE.set(chart_store)
        try:
            _start_worker(templates)
            for done, job in enumerate(jobs, start=1):
                _render(job)
                progress(done, total)
        finally:
            CHART_STORE.reset(token)
        return total
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, total), mp_context=context,
                             initializer=_start_worker, initargs=(templates, chart_store)) as pool:
        for done, _ in enumerate(pool.map(_render, jobs, chunksize=max(1, total // (workers * 4))), start=1):
            progress(done, total)
    return total


def chunks(items: Iterable, count: int) -> list[list]:
    items = list(items)
    return [items[i::count] for i in range(count) if items[i::count]]
