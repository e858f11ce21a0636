"""Automation hooks: ``--json`` on run, check, test and diff (explain has its own tests), the
documented exit codes, and the Python API (``kamrules.run``, ``kamrules.load_rulebook`` …)."""

from __future__ import annotations

import datetime as dt
import json
import shutil

from typer.testing import CliRunner

import kamrules
from kamrules.cli import app

from conftest import REPO

AS_OF = dt.date(2026, 10, 31)


def invoke(*args, lang: str | None = "en"):
    """The CLI with English messages unless ``lang`` says otherwise."""
    return CliRunner().invoke(app, [*args, "--lang", lang] if lang else list(args))


def test_run_json_is_the_manifest_with_the_run_folder(project):
    result = invoke("run", "-p", str(project), "--as-of", "2026-10-31", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["as_of"] == "2026-10-31"
    assert report["counts"]["customers"] == 3
    assert json.loads((project / "outputs" / report["run_id"] / "run.json").read_text(encoding="utf-8"))["run_id"] \
        == report["run_id"]
    assert report["run_dir"].endswith(report["run_id"])


def test_errors_in_json_mode_are_json_with_the_exit_code(tmp_path):
    result = invoke("run", "-p", str(tmp_path / "missing"), "--json")
    assert result.exit_code == 1
    assert json.loads(result.output) == {"ok": False, "error": {
        "kind": "ProjectError", "message": "project folder does not exist",
        "message_id": "project.missing", "location": str(tmp_path / "missing"),
        "suggestion": None, "path": str(tmp_path / "missing")}}


def test_check_json_lists_every_error_with_its_location(project):
    policy = project / "rules" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("tier == 'A'", "tier == 'A' and revenue_grwth > 0", 1),
                      encoding="utf-8")
    result = invoke("check", "-p", str(project), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False and report["error"]["kind"] == "RulebookInvalid"
    [error] = report["error"]["errors"]
    assert (error["kind"], error["file"], error["message"]) == ("RulebookError", "rules/policy.yaml",
                                                               "unknown name 'revenue_grwth'")
    assert error["line"] > 1 and error["suggestion"] == "did you mean 'revenue_growth'?"


def test_check_and_test_json_when_all_is_well(project):
    checked = json.loads(invoke("check", "-p", str(project), "--json").output)
    assert checked == {"ok": True, "findings": [], "decisions": 14, "rules": 54, "constraints": 1, "datasets": 6, "company_unfinished": []}
    tested = invoke("test", "-p", str(project), "--json")
    assert tested.exit_code == 0
    report = json.loads(tested.output)
    assert report["ok"] and report["failed"] == 0 and report["passed"] == len(report["cases"]) == 87
    assert report["cases"][0]["file"].startswith("rules/tests/")


def test_python_api(tmp_path):
    project = tmp_path / "bundled"
    for name in ("inputs", "rules", "templates"):
        shutil.copytree(REPO / name, project / name)
    result = kamrules.run(project, AS_OF, workers=1)
    assert result.run_dir.parent == project / "outputs" and result.customers == 330
    assert result.documents == {"proposal": 20, "account_plan": 20}
    rulebook = kamrules.load_rulebook(project)
    assert len(rulebook.decisions) == 14
    _, ledger, evaluation = kamrules.evaluate(project, AS_OF)
    assert evaluation.frame.height == 330 and ledger.rejected_rows == 8
    assert kamrules.rule_diff(project, project / "rules", AS_OF).affected_customers == 0
    try:
        kamrules.load_rulebook(tmp_path / "nothing")
    except kamrules.KamrulesError as error:
        assert error.message == "no rules/ folder"
    else:
        raise AssertionError("expected a KamrulesError")


def test_exit_codes_are_documented():
    import kamrules.cli as cli

    doc = cli.__doc__
    assert "0 success" in doc and "1 a kamrules error" in doc and "2 wrong usage" in doc
    assert invoke("run", "--as-of", "31/10/2026").exit_code == 2
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "`0` 成功" in readme and "Exit codes: 0 success" in readme
