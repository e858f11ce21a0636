"""``kamrules check``: a manager's typical table mistakes, each one finding at the right line."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from docx import Document
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.rules.analysis import CellSet, Interval, cell_set, complement, merge
from kamrules.expr.unary import parse_unary

from conftest import REPO


def check(project: Path):
    return CliRunner().invoke(app, ["check", "-p", str(project), "--lang", "en"])


def project_with_policy(tmp_path: Path, policy: str) -> Path:
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    (tmp_path / "rules" / "policy.yaml").write_text("kamrules: 1\n" + textwrap.dedent(policy), encoding="utf-8")
    (tmp_path / "rules" / "documents.yaml").write_text("kamrules: 1\nlocale: zh_CN\n", encoding="utf-8")
    (tmp_path / "rules" / "metrics.yaml").write_text("kamrules: 1\n", encoding="utf-8")
    return tmp_path


def test_bundled_project_is_clean():
    result = check(REPO)
    assert result.exit_code == 0
    assert result.output == "rulebook OK: 14 decisions, 54 rules, 1 constraint, 6 datasets\n"


def test_overlapping_unique_rows(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          tier:
            hit: unique
            outputs: {tier: text}
            table:
              inputs: [revenue_total]
              rows:
                - [">= 150万", A]
                - ["[100万..150万]", B]
                - ["< 100万", C]
        """)
    result = check(project)
    assert result.exit_code == 1
    assert result.output == (
        "check found 1 problem:\n"
        "  rules/policy.yaml:10:11 [tier#2]: rows tier#1 and tier#2 can both match (e.g. revenue_total = 1500000); "
        "hit policy unique allows only one\n"
        "    hint: make the conditions exclusive, or use hit: first if the order decides\n")


def test_overlap_needs_every_column_to_meet(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          level:
            hit: unique
            outputs: {level: text}
            table:
              inputs: [abc_class, margin_pct_12m]
              rows:
                - [A, ">= 0.2", 高]
                - [A, "< 0.2", 中]
                - ["B, C", "-", 低]
                - ["not(A)", "> 0.5", 特]
                - [null, "-", 无]
        """)
    result = check(project)
    assert result.output.splitlines()[:2] == [
        "check found 1 problem:",
        "  rules/policy.yaml:12:11 [level#4]: rows level#3 and level#4 can both match "
        "(e.g. abc_class = 'B', margin_pct_12m = 1.5); hit policy unique allows only one"]


def test_unreachable_first_rows(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          tier:
            hit: first
            outputs: {tier: text}
            table:
              inputs: [revenue_total]
              rows:
                - [">= 50万", D]
                - [">= 80万", C]
                - ["-", 普通]
        """)
    result = check(project)
    assert result.output == (
        "check found 1 problem:\n"
        "  rules/policy.yaml:10:11 [tier#2]: row tier#2 can never match: row tier#1 above it already matches "
        "everything it does (hit policy first)\n"
        "    hint: move it above tier#1, narrow tier#1, or remove it\n")


def test_gaps_in_a_single_input_table_without_default(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          tier:
            hit: first
            outputs: {tier: text}
            table:
              inputs: [revenue_total]
              rows:
                - [">= 150万", A]
                - ["[50万..100万)", B]
                - ["(0..15万)", C]
        """)
    result = check(project)
    assert result.output == (
        "check found 1 problem:\n"
        "  rules/policy.yaml:3:3 [tier]: no row matches revenue_total <= 0; revenue_total >= 150000 and "
        "revenue_total < 500000; revenue_total >= 1000000 and revenue_total < 1500000, and there is no default\n"
        "    hint: add a row for these values or a default: {…}\n")


def test_unknown_template_placeholder(tmp_path):
    project = project_with_policy(tmp_path, """\
        decisions:
          tier:
            outputs: {tier: text}
            rules: [{id: T1, when: "true", then: {tier: A}}]
        """)
    (project / "rules" / "documents.yaml").write_text(textwrap.dedent("""\
        kamrules: 1
        documents:
          - {id: letter, template: letter.docx, for: "true"}
        """), encoding="utf-8")
    doc = Document()
    doc.add_paragraph("尊敬的 {{ name }}：贵司等级 {{ teir }}，{% for v in upcoming_visits %}{{ v.date|date }}{% endfor %}")
    doc.save(project / "templates" / "letter.docx")
    result = check(project)
    assert result.output == (
        "check found 1 problem:\n"
        "  templates/letter.docx [letter]: template uses 'teir', which no customer field, metric or decision provides\n"
        "    hint: did you mean 'tier'?\n")


@pytest.mark.parametrize("cell, expected", [
    ("-", CellSet("any")),
    (">= 5", CellSet("intervals", (Interval(5, True, None, False),))),
    ("[1..2)", CellSet("intervals", (Interval(1, True, 2, False),))),
    ('"A", "B"', CellSet("values", values=frozenset({"A", "B"}))),
    ('not("A")', CellSet("values", values=frozenset({"A"}), negated=True)),
    ("null", CellSet("null")),
    ("? > revenue_12m", CellSet("unknown")),
])
def test_cell_sets(cell, expected):
    assert cell_set(parse_unary(cell)) == expected


def test_interval_union_and_complement():
    a, b = Interval(None, False, 5, False), Interval(5, True, 10, True)
    assert merge([b, a]) == [Interval(None, False, 10, True)]
    assert complement([a, Interval(5, False, None, False)]) == [Interval(5, True, 5, True)]
    assert complement([]) == [Interval()]
