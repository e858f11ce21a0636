"""DMN interchange: the TCK's compliance-level-2 tests through ``kamrules dmn test``, import of
DMN 1.1–1.5 models (refusing what is not supported, by element and construct), export that
validates against the OMG DMN 1.5 schema, and a round trip that keeps every decision."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from lxml import etree
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.errors import DmnError
from kamrules.expr.unparse import unparse
from kamrules.pipeline import decisions_digest, evaluate
from kamrules.rules import load_rulebook
from kamrules.rules.dmn import import_model, import_yaml
from kamrules.rules.dmn.feel import FeelUnsupported, parse_expression, parse_unary_tests, to_feel
from kamrules.rules.dmn.writer import write_dmn

from conftest import AS_OF, REPO

TCK = REPO / "tests" / "data" / "dmn-tck"
LEVEL_2 = sorted(p.name for p in (TCK / "compliance-level-2").iterdir() if p.is_dir())
MODEL_NS = "https://www.omg.org/spec/DMN/20230324/MODEL/"


def invoke(*args, lang: str = "en"):
    return CliRunner().invoke(app, [str(a) for a in args] + ["--lang", lang])


def tck_files(folder: str) -> tuple[Path, Path]:
    base = TCK / "compliance-level-2" / folder
    return base / f"{folder}.dmn", base / f"{folder}-test-01.xml"


def model(body: str, namespace: str = MODEL_NS, extra: str = "") -> bytes:
    """A model file: line 1 the XML declaration, line 2 <definitions>, the body from line 3."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<definitions xmlns="{namespace}" id="m" name="m" namespace="https://example.com/m" {extra}>\n'
            + textwrap.dedent(body) + "</definitions>\n").encode()


# --- the TCK ---------------------------------------------------------------------------------

@pytest.mark.parametrize("folder", LEVEL_2)
def test_every_level_2_test_passes(folder):
    assert len(LEVEL_2) == 28
    result = invoke("dmn", "test", *tck_files(folder))
    lines = result.output.splitlines()
    cases = sum(1 for line in lines[:-1] if line.startswith("  ok "))
    assert result.exit_code == 0, result.output
    assert lines[-1] == f"{cases} passed, 0 failed" and cases == len(lines) - 1 >= 1


def test_a_failing_case_says_what_and_the_exit_code_is_1(tmp_path):
    dmn, cases = tck_files("0004-simpletable-U")
    changed = tmp_path / cases.name
    changed.write_text(cases.read_text(encoding="utf-8").replace(
        '<value xsi:type="xsd:string">Approved</value>', '<value xsi:type="xsd:string">Declined</value>', 1),
        encoding="utf-8")
    result = invoke("dmn", "test", dmn, changed)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "  FAIL         001  Approval Status: expected 'Declined', got 'Approved'",
        "  ok           002",
        "  ok           003",
        "2 passed, 1 failed",
    ]
    chinese = invoke("dmn", "test", dmn, changed, lang="zh")
    assert chinese.output.splitlines()[0] == "  失败    001  Approval Status：应为 'Declined'，实为 'Approved'"
    assert chinese.output.splitlines()[-1] == "2 个通过，1 个失败"


def test_an_unsupported_model_makes_every_case_unsupported_with_the_reason(tmp_path):
    dmn, cases = tck_files("0008-LX-arithmetic")
    changed = tmp_path / dmn.name
    changed.write_text(dmn.read_text(encoding="utf-8").replace(
        "(loan.principal*loan.rate/12)", "(sqrt(loan.principal)*loan.rate/12)"), encoding="utf-8")
    result = invoke("dmn", "test", changed, cases)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == ("  unsupported  001  kamrules does not support the function sqrt(); "
                        "nothing of the model was imported")
    assert lines[-1] == "0 passed, 0 failed, 3 unsupported"


def test_unreadable_test_files_are_clear_errors(tmp_path):
    dmn, _ = tck_files("0004-simpletable-U")
    (tmp_path / "cases.xml").write_text("<testCases", encoding="utf-8")
    result = invoke("dmn", "test", dmn, tmp_path / "cases.xml")
    assert result.exit_code == 1
    assert result.output.startswith("error: cases.xml:1: not well-formed XML")
    result = invoke("dmn", "test", dmn, dmn)
    assert result.exit_code == 1
    assert "not a DMN TCK test file (the root is not testCases)" in result.output
    _, cases = tck_files("0004-simpletable-U")
    result = invoke("dmn", "test", tmp_path / "missing.dmn", cases)
    assert result.exit_code == 1
    assert result.output == f"error: {tmp_path / 'missing.dmn'}: cannot read: No such file or directory\n"


def test_the_conformance_table_is_generated_and_current():
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "make_dmn_conformance.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    table = (REPO / "docs" / "dmn-conformance.md").read_text(encoding="utf-8")
    assert "| **all 28 tests** | **116** | **116** | **0** | **0** |" in table


# --- FEEL ------------------------------------------------------------------------------------

NAMES = {"Full Name": "Full_Name", "Age": "Age", "loan.rate": "loan_rate", "A": "A"}


@pytest.mark.parametrize("feel, rule_language", [
    ('"Hello " + Full Name', "'Hello ' + Full_Name"),
    ("(1+loan.rate/12)**-12", "power(1 + loan_rate / 12, -12)"),
    ("Age between 18 and 65", "Age >= 18 and Age <= 65"),
    ("if Age > 60 then \"senior\" else \"adult\"", "'senior' if Age > 60 else 'adult'"),
    ("not(A)", "not A"),
    ('date("2025-01-31")', "date('2025-01-31')"),
    (".5 * -Age", "0.5 * -Age"),
])
def test_feel_expressions(feel, rule_language):
    assert unparse(parse_expression(feel, NAMES)) == rule_language


@pytest.mark.parametrize("feel, rule_language", [
    ("-", "true"),
    (">= 18", "? >= 18"),
    ('"Medium","Low"', "? == 'Medium' or ? == 'Low'"),
    ("[18..65)", "? >= 18 and ? < 65"),
    ("]1..10[", "? > 1 and ? < 10"),
    ('not("High", "Low")', "not (? == 'High' or ? == 'Low')"),
    ("null", "? == null"),
    ("? > Age * 2", "? > Age * 2"),
])
def test_feel_unary_tests(feel, rule_language):
    assert unparse(parse_unary_tests(feel, NAMES)) == rule_language


@pytest.mark.parametrize("feel, construct", [
    ("for x in [1,2] return x", "for loops"),
    ("loan.term > 1", "the path loan.term (not a field of an input of the model)"),
    ("sqrt(Age)", "the function sqrt()"),
    ("sum([1, 2])", "lists and ranges in expressions"),
])
def test_feel_beyond_s_feel_is_named(feel, construct):
    with pytest.raises(FeelUnsupported) as info:
        parse_expression(feel, NAMES)
    assert info.value.construct == construct


def test_what_feel_cannot_say_is_none():
    from kamrules.expr.parser import parse

    assert to_feel(parse("days_between(as_of, last_visit_date) > 30")) is None
    assert to_feel(parse("tier in ['A', 'B'] and x >= 1")) == '(tier in ("A", "B")) and (x >= 1)'


# --- import ----------------------------------------------------------------------------------

def test_import_writes_rulebook_yaml(tmp_path):
    dmn, _ = tck_files("0004-simpletable-U")
    result = invoke("dmn", "import", dmn)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:5] == [
        "# Imported from 0004-simpletable-U.dmn by kamrules dmn import.",
        "# Inputs the decisions read (each must be a column or metric of the project):",
        "#   Age: number", "#   RiskCategory: text", "#   isAffordable: bool"]
    document = yaml.safe_load(result.output)
    decision = document["decisions"]["Approval_Status"]
    assert decision["title"] == "Approval Status" and decision["hit"] == "unique"
    assert decision["values"] == {"Approval_Status": ["Approved", "Declined"]}
    assert decision["table"]["inputs"] == ["Age", "RiskCategory", "isAffordable"]
    assert decision["table"]["rows"][0] == [">= 18", "'Medium', 'Low'", "true", "Approved"]
    target = tmp_path / "imported.yaml"
    assert invoke("dmn", "import", dmn, "--out", target).exit_code == 0
    assert target.read_text(encoding="utf-8") == result.output
    again = invoke("dmn", "import", dmn, "--out", target)
    assert again.exit_code == 1
    assert again.output == f"error: {target}: file exists\n  hint: choose another name, or add --force to overwrite it\n"
    assert invoke("dmn", "import", dmn, "--out", target, "--force").exit_code == 0
    assert not list(tmp_path.glob(".*.tmp"))


def test_an_unsupported_construct_is_refused_by_element_and_line(tmp_path):
    path = tmp_path / "boxed.dmn"
    path.write_bytes(model("""\
        <inputData id="in_age" name="Age"><variable name="Age" typeRef="number"/></inputData>
        <decision id="d_score" name="Score">
          <variable name="Score" typeRef="number"/>
          <context id="ctx_1">
            <contextEntry><literalExpression><text>Age</text></literalExpression></contextEntry>
          </context>
        </decision>
        """))
    with pytest.raises(DmnError) as info:
        import_model(path)
    error = info.value
    assert (error.file, error.line, error.element, error.construct) == ("boxed.dmn", 6, "ctx_1",
                                                                        "context (boxed expression)")
    result = invoke("dmn", "import", path)
    assert result.exit_code == 1
    assert result.output == (
        "error: boxed.dmn:6 [ctx_1]: kamrules does not support context (boxed expression); nothing of the model "
        "was imported\n  hint: kamrules reads decision tables and literal expressions in S-FEEL; rewrite this part "
        "as a decision table in the modeler, or remove it\n")
    chinese = invoke("dmn", "import", path, lang="zh")
    assert chinese.output.startswith("错误：boxed.dmn:6 [ctx_1]：kamrules 不支持 context (boxed expression)，整个模型未导入")


@pytest.mark.parametrize("body, construct", [
    ('<decisionService id="svc" name="Service"/>', "decisionService"),
    ('<import id="imp" name="other" namespace="x" importType="y"/>', "import"),
    ('<itemDefinition id="t" name="tTime"><typeRef>time</typeRef></itemDefinition>', "typeRef time"),
])
def test_other_constructs_are_refused_whole(tmp_path, body, construct):
    path = tmp_path / "m.dmn"
    path.write_bytes(model(body))
    with pytest.raises(DmnError) as info:
        import_model(path)
    assert info.value.construct == construct


def test_a_dmn_1_1_model_imports(tmp_path):
    path = tmp_path / "old.dmn"
    path.write_bytes(model("""\
        <inputData id="i" name="Score"><variable name="Score" typeRef="feel:number"/></inputData>
        <decision id="d" name="Grade">
          <variable name="Grade" typeRef="feel:string"/>
          <decisionTable id="t" hitPolicy="FIRST">
            <input id="c"><inputExpression typeRef="feel:number"><text>Score</text></inputExpression></input>
            <output id="o" name="Grade" typeRef="feel:string"/>
            <rule id="r1"><description>good</description><inputEntry><text>&gt;= 90</text></inputEntry>
              <outputEntry><text>"A"</text></outputEntry></rule>
            <rule id="r2"><inputEntry><text>-</text></inputEntry><outputEntry><text>"B"</text></outputEntry></rule>
          </decisionTable>
        </decision>
        """, namespace="http://www.omg.org/spec/DMN/20151101/dmn.xsd", extra='xmlns:feel="http://www.omg.org/spec/FEEL/20140401"'))
    imported = import_model(path)
    assert imported.inputs == {"Score": "number"}
    decision = imported.decisions["Grade"]
    assert decision["hit"] == "first"
    assert decision["table"]["rows"] == [{"cells": [">= 90", "A"], "note": "good"}, ["-", "B"]]


def test_a_dtd_is_refused(tmp_path):
    path = tmp_path / "bomb.dmn"
    path.write_bytes(b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><definitions/>')
    with pytest.raises(DmnError) as info:
        import_model(path)
    assert "declares a DTD or entities" in info.value.message


# --- export and round trip -------------------------------------------------------------------

@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(TCK / "xsd" / "DMN15.xsd")))


@pytest.fixture(scope="module")
def exported() -> bytes:
    return write_dmn(load_rulebook(REPO), "大客户政策")


def test_the_export_validates_against_the_dmn_1_5_schema(schema, exported):
    document = etree.fromstring(exported)
    assert schema.validate(document), schema.error_log
    ns = {"d": MODEL_NS}
    assert len(document.findall("d:decision", ns)) == 14
    tier = document.find("d:decision[@name='tier']/d:decisionTable", ns)
    assert tier.get("hitPolicy") == "UNIQUE"
    first = tier.find("d:rule", ns)
    assert first.get("label") == "tier#1"
    assert [e.findtext("d:text", namespaces=ns) for e in first.findall("d:inputEntry", ns)] == [">= 1500000"]
    assert first.findtext("d:annotationEntry/d:text", namespaces=ns) == "累计消费150万元及以上"


def test_the_cli_exports_to_stdout_or_a_file(tmp_path, schema):
    result = invoke("dmn", "export", "-p", REPO)
    assert result.exit_code == 0
    assert schema.validate(etree.fromstring(result.output.encode("utf-8")))
    assert invoke("dmn", "export", "-p", REPO, "--out", tmp_path / "policy.dmn").output == \
        f"wrote {tmp_path / 'policy.dmn'}\n"


def bundled_copy(root: Path) -> Path:
    for name in ("rules", "inputs", "templates"):
        shutil.copytree(REPO / name, root / name)
    return root


@pytest.fixture(scope="module")
def bundled_digest() -> str:
    rulebook, _, result = evaluate(REPO, AS_OF)
    return decisions_digest(result.frame, rulebook)


def test_yaml_to_dmn_to_yaml_keeps_every_decision(tmp_path, exported, bundled_digest):
    project = bundled_copy(tmp_path / "p")
    (tmp_path / "policy.dmn").write_bytes(exported)
    (project / "rules" / "policy.yaml").write_text(import_yaml(tmp_path / "policy.dmn"), encoding="utf-8")
    rulebook, _, result = evaluate(project, AS_OF)
    assert decisions_digest(result.frame, rulebook) == bundled_digest
    original = load_rulebook(REPO)
    assert [(d.id, d.hit, d.outputs, [r.id for r in d.rules]) for d in rulebook.decisions] == \
        [(d.id, d.hit, d.outputs, [r.id for r in d.rules]) for d in original.decisions]
    assert [c.id for c in rulebook.constraints] == ["margin-floor"]
    assert rulebook.spec.decisions["key_account"].quota == original.spec.decisions["key_account"].quota


def test_a_dmn_file_in_rules_loads_beside_the_yaml(tmp_path, exported, bundled_digest):
    project = bundled_copy(tmp_path / "p")
    (project / "rules" / "policy.yaml").unlink()
    (project / "rules" / "policy.dmn").write_bytes(exported)
    assert invoke("check", "-p", project).output == "rulebook OK: 14 decisions, 54 rules, 1 constraint, 6 datasets\n"
    rulebook, _, result = evaluate(project, AS_OF)
    assert decisions_digest(result.frame, rulebook) == bundled_digest
    assert "rules/policy.dmn" in rulebook.source.hashes


def test_a_mistake_in_a_dmn_rule_is_reported_at_its_line(tmp_path, exported):
    project = bundled_copy(tmp_path / "p")
    (project / "rules" / "policy.yaml").unlink()
    text = exported.decode("utf-8").replace("<text>revenue_growth &gt;= 0.3</text>", "<text>revenue_grwth &gt;= 0.3</text>")
    (project / "rules" / "policy.dmn").write_text(text, encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if 'label="P-growth"' in row)
    result = invoke("check", "-p", project)
    assert result.exit_code == 1
    assert f"rules/policy.dmn:{line} [P-growth]: unknown name 'revenue_grwth'" in result.output
    assert "hint: did you mean 'revenue_growth'?" in result.output
