"""The command line: exact exit codes and messages; failed runs publish nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.pipeline import LOCK_NAME, STAGING_PREFIX, project_lock



def invoke(*args: str, lang: str | None = "en"):
    """The CLI with English messages unless ``lang`` says otherwise."""
    return CliRunner().invoke(app, [*args, "--lang", lang] if lang else list(args))


def run_folders(project: Path) -> list[str]:
    outputs = project / "outputs"
    return sorted(p.name for p in outputs.iterdir()) if outputs.exists() else []


def test_missing_project_folder(tmp_path):
    result = invoke("run", "--project", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert result.output == f"error: {tmp_path / 'nope'}: project folder does not exist\n"


def test_invalid_rulebook_lists_every_error_and_writes_nothing(project):
    policy = project / "rules" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("when: revenue_growth >= 0.3",
                                                                  "when: revenue_grwth >= 0.3"), encoding="utf-8")
    result = invoke("run", "-p", str(project), "--as-of", "2026-10-31")
    assert result.exit_code == 1
    line = next(i for i, l in enumerate(policy.read_text(encoding="utf-8").splitlines(), 1) if "revenue_grwth" in l)
    assert result.output == (
        "error: rulebook has 1 error:\n"
        f"  rules/policy.yaml:{line}:9 [P-growth]: unknown name 'revenue_grwth' (in 'revenue_grwth >= 0.3')\n"
        "    hint: did you mean 'revenue_growth'?\n")
    assert run_folders(project) == []


def test_check_command(project):
    result = invoke("check", "-p", str(project))
    assert result.exit_code == 0
    assert result.output == "rulebook OK: 14 decisions, 52 rules, 1 constraint, 5 datasets\n"
    (project / "templates" / "proposal.docx").unlink()
    result = invoke("check", "-p", str(project))
    assert result.exit_code == 1
    assert result.output.startswith("error: templates/proposal.docx: cannot read template: No such file or directory")
    (project / "rules" / "policy.yaml").write_text("kamrules: 2\n", encoding="utf-8")
    result = invoke("check", "-p", str(project))
    assert result.exit_code == 1
    assert "rules/policy.yaml:1: unsupported rulebook format 2; this kamrules reads format 1" in result.output


def test_unreadable_workbook(project):
    (project / "inputs" / "损坏.xlsx").write_bytes(b"PK\x03\x04 truncated zip")
    before = (project / "inputs" / "损坏.xlsx").read_bytes()
    result = invoke("run", "-p", str(project), "--as-of", "2026-10-31")
    assert result.exit_code == 1
    assert result.output == ("error: inputs/损坏.xlsx: the workbook is incomplete or damaged (its zip directory is "
                             "missing)\n  hint: copy it again; if it was being saved or downloaded, wait until that "
                             "has finished\n")
    assert (project / "inputs" / "损坏.xlsx").read_bytes() == before
    assert run_folders(project) == []


def test_bad_as_of_is_a_usage_error(project):
    result = invoke("run", "-p", str(project), "--as-of", "31/10/2026")
    assert result.exit_code == 2
    assert "'31/10/2026' is not a date; write it as YYYY-MM-DD" in result.output


def test_a_failure_while_rendering_leaves_no_run_folder(project):
    (project / "templates" / "proposal.docx").write_bytes(b"not a docx")
    result = invoke("run", "-p", str(project), "--as-of", "2026-10-31")
    assert result.exit_code == 1
    assert result.output.startswith("error: templates/proposal.docx: not a Word .docx file")
    assert run_folders(project) == []  # no published run, no staging folder, no lock


def test_a_live_lock_refuses_and_a_stale_lock_is_taken_over(project):
    outputs = project / "outputs"
    outputs.mkdir()
    with project_lock(outputs):
        result = invoke("run", "-p", str(project), "--as-of", "2026-10-31")
    assert (result.exit_code, result.output) == (1, (
        f"error: {outputs / LOCK_NAME}: another kamrules run is working on this project (process {os.getpid()})\n"
        "  hint: wait for it to finish (the lock is released when that process ends)\n"))
    (outputs / LOCK_NAME).write_text("999999999")
    (outputs / (STAGING_PREFIX + "20200101-000000")).mkdir()  # left by a crashed run
    result = invoke("run", "-p", str(project), "--as-of", "2026-10-31", "--quiet")
    assert result.exit_code == 0
    folders = run_folders(project)
    assert len(folders) == 1 and result.output == f"{outputs / folders[0]}\n"


def test_bundled_example_runs(bundled_run):
    output, run_dir = bundled_run("en")
    assert "8 rows were rejected" in output
    for row in (331, 2951, 5224, 7873, 11207, 13519, 16656, 19233):
        assert f"· row {row} ·" in output
    proposals = list((run_dir / "proposals").iterdir())
    assert 5 <= len(proposals) <= 25
    assert any("A&B _国际_ 贸易有限公司" in p.name for p in proposals)


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["check", "--help"]])
def test_help(args):
    assert invoke(*args, lang=None).exit_code == 0
