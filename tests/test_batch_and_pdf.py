"""Parallel rendering gives the same documents as serial; worker errors arrive intact; PDF
export works when LibreOffice is installed and is skipped cleanly when it is not."""

from __future__ import annotations

import pickle
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document

from kamrules.errors import RenderError, RulebookError
from kamrules.render import batch, pdf
from kamrules.render.batch import Job, render_all


def template(path: Path, text: str) -> Path:
    doc = Document()
    doc.add_paragraph(text)
    doc.save(path)
    return path


def texts(paths) -> list[str]:
    return ["\n".join(p.text for p in Document(path).paragraphs) for path in paths]


def test_parallel_rendering_matches_serial(tmp_path, monkeypatch):
    source = template(tmp_path / "t.docx", "致：{{ name }}，额度 {{ limit|money }}")
    templates = {"t": (source, "zh_CN", "templates/t.docx")}
    names = ["A&B <Co>", "=1+1", "😀 贸易", "客户四"]
    serial = [Job("t", {"name": n, "limit": 1000 * i}, tmp_path / f"s{i}.docx", f"C{i}") for i, n in enumerate(names)]
    parallel = [Job("t", j.context, tmp_path / f"p{i}.docx", j.customer_id) for i, j in enumerate(serial)]
    assert render_all(serial, templates, workers=1) == 4
    monkeypatch.setattr(batch, "PARALLEL_FROM", 2)
    done = []
    assert render_all(parallel, templates, workers=2, progress=lambda d, t: done.append((d, t))) == 4
    assert texts(j.target for j in parallel) == texts(j.target for j in serial)
    assert texts([parallel[0].target]) == ["致：A&B <Co>，额度 ¥0.00"]
    assert done[-1] == (4, 4)


def test_an_error_in_a_worker_reaches_the_caller_intact(tmp_path, monkeypatch):
    source = template(tmp_path / "t.docx", "{{ nmae }}")
    jobs = [Job("t", {"name": "x"}, tmp_path / f"{i}.docx", f"C{i}") for i in range(3)]
    monkeypatch.setattr(batch, "PARALLEL_FROM", 2)
    with pytest.raises(RenderError) as info:
        render_all(jobs, {"t": (source, "zh_CN", "templates/t.docx")}, workers=2)
    assert info.value.template == "templates/t.docx" and info.value.customer_id.startswith("C")
    assert info.value.suggestion == "did you mean 'name'?"


def test_errors_survive_pickling():
    error = RulebookError("bad", file="rules/p.yaml", line=3, column=5, rule_id="R1", suggestion="fix it")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.line, copy.column) == (RulebookError, str(error), 3, 5)


def test_pdf_is_skipped_cleanly_without_libreoffice(monkeypatch, tmp_path):
    monkeypatch.setattr(pdf, "find_office", lambda: None)
    result = pdf.export_pdfs([tmp_path / "a.docx"])
    assert (result.created, result.skipped) == (0, "LibreOffice (soffice) is not installed")


@pytest.mark.slow  # LibreOffice converts a document: CI's second step, like the other PDF checks
@pytest.mark.skipif(not (pdf.find_office() and shutil.which("pdftoppm") and shutil.which("pdffonts")),
                    reason="LibreOffice and poppler-utils are not installed")
def test_rendered_proposal_pdf_shows_chinese(tmp_path):
    from typer.testing import CliRunner

    from kamrules.cli import app
    from conftest import make_project

    project = make_project(tmp_path / "proj")
    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "--pdf", "-q"])
    assert result.exit_code == 0, result.output
    run = Path(result.output.strip())
    pdfs = list((run / "proposals").glob("*.pdf"))
    assert len(pdfs) == 1
    fonts = subprocess.run(["pdffonts", str(pdfs[0])], capture_output=True, text=True).stdout
    assert any(word in fonts for word in ("CJK", "Song", "Hei", "WenQuanYi", "Droid")), fonts  # a CJK font, not boxes
    text = subprocess.run(["pdftotext", str(pdfs[0]), "-"], capture_output=True, text=True).stdout
    assert "大客户服务方案" in text and "A&B <Co> 贸易有限公司" in text
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "1", str(pdfs[0]), str(tmp_path / "page")],
                   check=True, timeout=60)
    page = next(tmp_path.glob("page*.png"))
    assert page.stat().st_size > 5_000  # a real page, not blank
