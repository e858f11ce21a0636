"""The command line: exact exit codes and messages; failed runs publish nothing."""

from __future__ import annotations

import datetime as dt
import json
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
    assert result.output == "rulebook OK: 14 decisions, 54 rules, 1 constraint, 6 datasets\n"
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
    output, run_dir = bundled_run(None)  # the rules' locale: Chinese (the run other test files share)
    assert "8 行数据被拒绝" in output
    for row in (331, 2951, 5203, 7815, 10997, 13191, 16194, 18590):  # scripts/make_sample.py prints them
        assert f"· 第 {row} 行 ·" in output
    proposals = list((run_dir / "proposals").iterdir())
    assert 5 <= len(proposals) <= 25
    assert any("A&B _国际_ 贸易有限公司" in p.name for p in proposals)


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["check", "--help"]])
def test_help(args):
    assert invoke(*args, lang=None).exit_code == 0


# --- run --once and status follow the calendar ------------------------------------------------

UNCHANGED = ("nothing changed since the last run, as of the same date ({}); not run again "
             "(use --force to run anyway)\n")


def published(project: Path) -> list[Path]:
    return [project / "outputs" / name for name in run_folders(project)
            if (project / "outputs" / name / "run.json").exists() and not name.startswith(".")]


def as_of_of(run: Path) -> str:
    return json.loads((run / "run.json").read_text(encoding="utf-8"))["as_of"]


def test_run_once_runs_again_only_for_a_new_date(project):
    first = invoke("run", "-p", str(project), "--once", "--as-of", "2026-10-31", "--quiet")
    assert first.exit_code == 0 and first.output == f"{published(project)[0]}\n"
    again = invoke("run", "-p", str(project), "--once", "--as-of", "2026-10-31")
    assert (again.exit_code, again.output) == (0, UNCHANGED.format("2026-10-31"))
    moved = invoke("run", "-p", str(project), "--once", "--as-of", "2026-11-01", "--quiet")
    assert moved.exit_code == 0 and [as_of_of(r) for r in published(project)] == ["2026-10-31", "2026-11-01"]
    assert moved.output == f"{published(project)[-1]}\n"
    chinese = invoke("run", "-p", str(project), "--once", "--as-of", "2026-11-01", lang="zh")
    assert (chinese.exit_code, chinese.output) == (
        0, "上次运行以来没有变化，数据日期（2026-11-01）也相同，不再运行（要强制运行请加 --force）\n")


def test_run_once_from_a_morning_scheduler_follows_today(project, monkeypatch):
    today = [dt.date(2026, 10, 31)]
    monkeypatch.setattr("kamrules.watch.local_today", lambda project=None: today[0])
    assert invoke("run", "-p", str(project), "--once", "--quiet").exit_code == 0
    assert invoke("run", "-p", str(project), "--once").output == UNCHANGED.format("2026-10-31")
    today[0] = dt.date(2026, 11, 1)  # the next morning, no file changed
    assert invoke("run", "-p", str(project), "--once", "--quiet").exit_code == 0
    assert [as_of_of(r) for r in published(project)] == ["2026-10-31", "2026-11-01"]
    assert invoke("run", "-p", str(project), "--once").output == UNCHANGED.format("2026-11-01")
    assert len(published(project)) == 2


def test_status_knows_a_plain_run_and_what_run_once_would_do(project, monkeypatch):
    monkeypatch.setattr("kamrules.watch.local_today", lambda project=None: dt.date(2026, 10, 31))
    result = invoke("status", "-p", str(project))  # no outputs/ at all
    assert (result.exit_code, result.output) == (0, "last run: none\nchanges not yet run:\n  inputs/台账.xlsx\n"
                                                    "watcher: not running\n")
    assert invoke("run", "-p", str(project), "--as-of", "2026-10-31", "--quiet").exit_code == 0
    (run,) = published(project)
    (project / "outputs" / (STAGING_PREFIX + "20991231-235959")).mkdir()  # a run in progress is not a run
    finished = dt.datetime.fromtimestamp((run / "run.json").stat().st_mtime).isoformat(timespec="seconds")
    result = invoke("status", "-p", str(project))
    assert (result.exit_code, result.output) == (0, f"last run: {run.name} (finished {finished})\n"
                                                    "as of: 2026-10-31\nup to date\nwatcher: not running\n")
    once = invoke("run", "-p", str(project), "--once")  # what status said: nothing to do
    assert (once.exit_code, once.output) == (0, UNCHANGED.format("2026-10-31"))
    monkeypatch.setattr("kamrules.watch.local_today", lambda project=None: dt.date(2026, 11, 1))
    policy = project / "rules" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    result = invoke("status", "-p", str(project))
    assert (result.exit_code, result.output) == (0, (
        f"last run: {run.name} (finished {finished})\nas of: 2026-10-31\nchanges not yet run:\n  rules/policy.yaml\n"
        "the date moved on: today is 2026-11-01, the last run is as of 2026-10-31; kamrules run --once would run "
        "for today\nwatcher: not running\n"))
    chinese = invoke("status", "-p", str(project), lang="zh")
    assert "日期已变：今天是 2026-11-01，最近一次运行截至 2026-10-31；kamrules run --once 会为今天运行\n" in chinese.output
    assert "数据截至：2026-10-31\n" in chinese.output


@pytest.fixture(scope="module")
def run_once(tmp_path_factory):
    """A copy (into the given folder) of the small project after one run as of 2026-10-31, made once."""
    import shutil

    from conftest import make_project

    done = make_project(tmp_path_factory.mktemp("ran") / "proj")
    assert invoke("run", "-p", str(done), "--as-of", "2026-10-31", "--quiet").exit_code == 0

    def copy(folder: Path) -> Path:
        return Path(shutil.copytree(done, folder / "proj", symlinks=True))

    return copy


@pytest.mark.parametrize("damage", [b"", b'{"as_of": "2026-10-31", "inputs": [', b"\xff\xfe", b"[1, 2]",
                                    b'{"as_of": 20261031, "inputs": "x", "rulebook": null}', b"[" * 100_000])
def test_status_survives_a_damaged_run_json(run_once, tmp_path, damage):
    project = run_once(tmp_path)
    (run,) = published(project)
    (run / "run.json").write_bytes(damage)
    result = invoke("status", "-p", str(project))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"last run: {run.name} (finished ")
    if damage.startswith(b'{"as_of": 2026'):  # a manifest without what the comparison needs: not known
        assert lines[1:] == ["as of: not recorded; kamrules run --once would run once more", "watcher: not running"]
    else:
        assert lines[1:] == [f"{run.name}/run.json cannot be read: kamrules run --once would run again",
                             "watcher: not running"]
    once = invoke("run", "-p", str(project), "--once", "--as-of", "2026-10-31", "--quiet")
    assert once.exit_code == 0 and len(published(project)) == 2  # not known: run to be sure


def rules_copy(project: Path, name: str = "rules-new", *changes: tuple[str, str], file: str = "policy.yaml") -> Path:
    """A copy of the project's rules beside them (the README's rules-new), with ``changes`` made in ``file``."""
    import shutil

    folder = project / name
    shutil.copytree(project / "rules", folder)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return folder


def test_check_rules_checks_a_copy_before_it_replaces_the_live_rules(project, monkeypatch):
    monkeypatch.chdir(project)
    rules_copy(project, "rules-new", ("quota: {max: 20,", "quota: {max: 25,"))
    result = invoke("check", "--rules", "rules-new")
    assert (result.exit_code, result.output) == (0, "rulebook OK: 14 decisions, 54 rules, 1 constraint, 6 datasets\n")
    chinese = invoke("check", "--rules", "rules-new", lang=None)
    assert (chinese.exit_code, chinese.output) == (0, "规则无误：14 个决策，54 条规则，1 个约束，6 个数据集\n")

    broken = rules_copy(project, "rules-broken", ("when: revenue_growth >= 0.3", "when: revenue_grwth >= 0.3"))
    line = next(i for i, l in enumerate((broken / "policy.yaml").read_text(encoding="utf-8").splitlines(), 1)
                if "revenue_grwth" in l)
    result = invoke("check", "--rules", "rules-broken")
    assert result.exit_code == 1
    assert result.output == (
        "error: rulebook has 1 error:\n"
        f"  rules-broken/policy.yaml:{line}:9 [P-growth]: unknown name 'revenue_grwth' (in 'revenue_grwth >= 0.3')\n"
        "    hint: did you mean 'revenue_growth'?\n")
    as_json = invoke("check", "--rules", "rules-broken", "--json")
    error = json.loads(as_json.output)["error"]["errors"][0]
    assert (as_json.exit_code, error["file"], error["line"], error["column"]) == (1, "rules-broken/policy.yaml", line, 9)
    # the live rules are untouched and still the ones `check` reads without --rules
    assert invoke("check").exit_code == 0


def test_check_rules_findings_and_templates_name_the_right_files(project, monkeypatch):
    monkeypatch.chdir(project)
    rules_copy(project, "rules-new", ("        - [B,  30,  B级客户每月拜访]", "        - [A,  30,  B级客户每月拜访]"))
    result = invoke("check", "--rules", "rules-new")
    assert result.exit_code == 1
    line = next(i for i, l in enumerate((project / "rules-new" / "policy.yaml").read_text(encoding="utf-8").splitlines(), 1)
                if "[A,  30," in l)
    assert result.output.startswith(f"check found 1 problem:\n  rules-new/policy.yaml:{line}:11 [visit_cadence#2]: rows "
                                    "visit_cadence#1 and visit_cadence#2 ca")
    assert "rules/policy.yaml" not in result.output
    (project / "templates" / "proposal.docx").unlink()  # the copy is checked with the project's templates
    missing = invoke("check", "--rules", str(project / "rules"))
    assert missing.exit_code == 1
    assert missing.output.startswith("error: templates/proposal.docx: cannot read template: No such file or directory")
    nothing = invoke("check", "--rules", "rules-none")
    assert nothing.exit_code == 1
    assert nothing.output == ("error: rules-none: no rules here (*.yaml or *.dmn)\n"
                              "  hint: pass a rules folder (with policy.yaml …) or a project folder that has rules/\n")


def test_test_rules_runs_the_tests_of_the_copy(project, monkeypatch):
    monkeypatch.chdir(project)
    rules_copy(project, "rules-new", ("quota: {max: 20,", "quota: {max: 25,"))
    result = invoke("test", "--rules", "rules-new")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "87 passed, 0 failed"
    # a changed discount the copy's own cases still expect at 8%: those cases fail, named in the copy
    copy = rules_copy(project, "rules-10", ('''{id: D-A, when: "tier == 'A'", then: {discount_pct: 0.08}''',
                                            '''{id: D-A, when: "tier == 'A'", then: {discount_pct: 0.10}'''))
    result = invoke("test", "--rules", "rules-10")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "  FAIL  A级客户有投诉、增长一般，只有基础折扣8%  (rules-10/tests/discount.yaml:10)" in lines
    assert "        discount_pct: expected 0.08, got 0.1" in lines
    assert lines[-1] == "83 passed, 4 failed"
    assert not any("(rules/tests/" in line for line in lines)
    # … and once the copy's cases say 10%, its tests pass again: the copy's cases are the ones run
    cases = copy / "tests" / "discount.yaml"
    cases.write_text(cases.read_text(encoding="utf-8").replace(
        "expect: {loyalty_level: 中, potential_level: 中, discount_pct: 0.08}",
        "expect: {loyalty_level: 中, potential_level: 中, discount_pct: 0.10}"), encoding="utf-8")
    report = json.loads(invoke("test", "--rules", "rules-10", "--json").output)
    assert (report["passed"], report["failed"]) == (84, 3)
    assert {c["file"] for c in report["cases"] if not c["passed"]} == {"rules-10/tests/discount.yaml"}
    assert invoke("test").output.splitlines()[-1] == "87 passed, 0 failed"  # the live rules' own tests
