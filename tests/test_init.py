"""``kamrules init``: a project that every command works on at once, in Chinese or English,
and never an overwrite."""

from __future__ import annotations

import json
import shutil

import openpyxl
import pytest
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.schema import schema_text


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("lang, locale, explain_heading, sheets", [
    ("zh", "zh_CN", "客户 C0168", (["概览", "客户"], ["影响汇总", "受影响客户"])),
    ("en", "en_US", "customer C0168", (["Summary", "Customers"], ["Impact", "Affected customers"]))])
def test_init_then_every_command(tmp_path, lang, locale, explain_heading, sheets):
    project = tmp_path / "新项目"
    created = invoke("init", project, "--lang", lang)
    assert created.exit_code == 0, created.output
    assert created.output.startswith(f"created {project} (")
    assert (project / ".kamrules" / "rulebook.schema.json").read_text(encoding="utf-8") == schema_text()
    assert "$schema=../.kamrules/rulebook.schema.json" in (project / "rules" / "policy.yaml").read_text(encoding="utf-8")
    assert f"locale: {locale}" in (project / "rules" / "documents.yaml").read_text(encoding="utf-8")
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# 大客户管理项目" if lang == "zh" else "# Key account project")

    assert invoke("check", "-p", project).output.startswith("rulebook OK: 14 decisions, 52 rules")
    tested = invoke("test", "-p", project)
    assert tested.exit_code == 0 and tested.output.splitlines()[-1] == "85 passed, 0 failed"
    ran = invoke("run", "-p", project, "--as-of", "2026-10-31", "--json", "--workers", "1")
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.output)
    assert report["counts"]["customers"] == 330 and report["counts"]["documents"]["proposal"] == 20
    portfolio = openpyxl.load_workbook(f"{report['run_dir']}/portfolio.xlsx", read_only=True)
    assert portfolio.sheetnames[:2] == sheets[0]
    explained = invoke("explain", "C0168", "-p", project, "--lang", lang)
    assert explained.exit_code == 0 and explained.output.startswith(explain_heading)

    other = tmp_path / "rules-new"
    shutil.copytree(project / "rules", other)
    policy = other / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("quota: {max: 20,", "quota: {max: 25,"), encoding="utf-8")
    diffed = invoke("diff", "--rules", other, "-p", project, "--as-of", "2026-10-31", "-o", tmp_path / "d.xlsx")
    assert diffed.exit_code == 0 and diffed.output.splitlines()[0] == "3 of 330 customers would change (as of 2026-10-31):"
    assert openpyxl.load_workbook(tmp_path / "d.xlsx").sheetnames == sheets[1]


def test_init_never_overwrites(tmp_path):
    project = tmp_path / "p"
    (project / "rules").mkdir(parents=True)
    (project / "rules" / "mine.yaml").write_text("kamrules: 1\n", encoding="utf-8")
    result = invoke("init", project)
    assert result.exit_code == 1
    assert result.output == (f"error: {project}: would overwrite rules\n"
                             "  hint: choose a new or empty folder; kamrules init never overwrites anything\n")
    assert [p.name for p in project.iterdir()] == ["rules"]
    assert (project / "rules" / "mine.yaml").read_text(encoding="utf-8") == "kamrules: 1\n"


def test_init_rejects_an_unknown_language(tmp_path):
    result = invoke("init", tmp_path / "p", "--lang", "fr")
    assert result.exit_code == 1 and "unknown language 'fr'" in result.output and not (tmp_path / "p").exists()
