"""With more than one worker the documents are made in a thread while the portfolio workbook is
written: the same documents and run.json as one after the other, and a failure on either side
fails the run with its own error, waits for the other side and leaves no run folder."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from docx import Document

import kamrules.pipeline as pipeline
from kamrules.errors import RenderError
from kamrules.pipeline import RunOptions, run

from conftest import AS_OF


def rendered_in(monkeypatch) -> list[str]:
    """The names of the threads render_all runs in, as the run goes."""
    threads = []
    original = pipeline.render_all

    def recorded(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "render_all", recorded)
    return threads


def documents(run_dir: Path) -> dict[str, str]:
    return {path.relative_to(run_dir).as_posix(): "\n".join(p.text for p in Document(path).paragraphs)
            for path in sorted(run_dir.rglob("*.docx"))}


def manifest(run_dir: Path) -> dict:
    data = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    for varying in ("run_id", "started_at", "timings_seconds", "cache"):  # the second run reuses the first one's parse
        data.pop(varying)
    return data


def test_documents_made_beside_the_workbook_are_those_made_after_it(project, monkeypatch):
    threads = rendered_in(monkeypatch)
    after = run(project, AS_OF, options=RunOptions(workers=1))
    beside = run(project, AS_OF, options=RunOptions(workers=2))
    assert threads[0] == threading.main_thread().name and threads[1].startswith("kamrules-documents")
    assert documents(after.run_dir) and documents(beside.run_dir) == documents(after.run_dir)
    assert manifest(beside.run_dir) == manifest(after.run_dir)
    assert {"portfolio", "documents"} <= set(beside.timings)


def no_run_left(project: Path) -> bool:
    outputs = project / "outputs"
    return not [p for p in outputs.iterdir() if p.is_dir()] and not any(
        t.name.startswith("kamrules-documents") for t in threading.enumerate())


def test_a_failing_workbook_stops_the_documents_and_leaves_no_run(project, monkeypatch):
    started = threading.Event()
    original = pipeline.render_all

    def slow(jobs, templates, workers, progress, charts):
        started.set()
        time.sleep(0.3)  # still making documents when the workbook fails
        return original(jobs, templates, workers, progress, charts)

    def failing(*args):
        assert started.wait(5)
        raise RuntimeError("the workbook failed")

    monkeypatch.setattr(pipeline, "render_all", slow)
    monkeypatch.setattr(pipeline, "_write_workbooks", failing)
    with pytest.raises(RuntimeError, match="the workbook failed"):
        run(project, AS_OF, options=RunOptions(workers=2))
    assert no_run_left(project)


def test_a_document_that_fails_beside_the_workbook_fails_the_run(project, monkeypatch):
    def broken(self, context, target, customer_id=None):
        raise RenderError("cannot render", template="templates/proposal.docx", customer_id=customer_id)

    monkeypatch.setattr("kamrules.render.docx.DocxRenderer.render", broken)
    with pytest.raises(RenderError) as raised:
        run(project, AS_OF, options=RunOptions(workers=2))
    assert raised.value.template == "templates/proposal.docx" and raised.value.customer_id
    assert no_run_left(project)
