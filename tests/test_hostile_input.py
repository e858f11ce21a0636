"""The threat model of SECURITY.md, file by file: every malicious or broken file of the corpus
(tests/corpus/generate.py) goes through ``kamrules run`` or ``check`` and must give a clear
error naming the file (no traceback), the right exit code, untouched inputs, nothing written
outside the run folder, no half-published run, in bounded time and memory."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.errors import ExpressionError, RenderError
from kamrules.limits import Limits, current
from kamrules.render.docx import DocxRenderer, safe_filename
from kamrules.expr.parser import parse

from conftest import make_project, small_ledger
import hostile
from hostile import digest, run_cli
from hostile import project_with_input, published_runs

sys.path.insert(0, str(Path(__file__).parent / "corpus"))
import generate as corpus  # noqa: E402

pytestmark = pytest.mark.slow  # the hostile corpus: every corpus file through the CLI in a bounded process; CI's second step

def run_batch(jobs: list[list[str]]) -> list[subprocess.CompletedProcess]:
    return [subprocess.CompletedProcess(job, r["returncode"], r["stdout"], r["stderr"])
            for job, r in zip(jobs, hostile.run_batch(jobs))]


def _is_full_size(case) -> bool:
    return hasattr(case, "marks") and any(mark.name == "slow" for mark in case.marks)


def _maker(case):
    return case.values[0] if hasattr(case, "values") else case[0]


def case_id(case) -> str | None:
    """A case's maker names it; a pytest.param carries its own id."""
    return None if hasattr(case, "marks") else case[0].__name__


FULL_SIZE = pytest.mark.slow  # a hostile file at full size (hundreds of MB inflated, 10 MB cells, 50 MB YAML)

WORKBOOK_CASES = [
    pytest.param(corpus.zip_bomb, "part xl/worksheets/sheet1.xml inflates 1,022 times (to 1,500 MiB); the limit is "
                 "200 times", marks=FULL_SIZE, id="zip_bomb"),
    (corpus.xml_bomb_sheet, "part xl/worksheets/sheet1.xml declares a DTD (<!DOCTYPE>), which Excel never writes"),
    (corpus.xml_bomb_shared_strings, "part xl/sharedStrings.xml declares a DTD (<!DOCTYPE>)"),
    (corpus.external_entity, "part xl/worksheets/sheet1.xml declares a DTD (<!DOCTYPE>)"),
    (corpus.truncated_zip, "the workbook is incomplete or damaged (its zip directory is missing)"),
    (corpus.mangled_zip_directory, "the workbook is incomplete or damaged (its zip directory is missing)"),
    (corpus.unknown_compression, "part xl/styles.xml is compressed with a method Excel does not use (number 99)"),
    (corpus.encrypted_part, "part xl/_rels/workbook.xml.rels is encrypted with a zip password, which Excel never does"),
    (corpus.password_protected, "the file is encrypted (password-protected) or is an old .xls renamed to .xlsx"),
    (corpus.pdf_renamed, "the file is a PDF file renamed to .xlsx, not an Excel workbook"),
    (corpus.png_renamed, "the file is a PNG image renamed to .xlsx, not an Excel workbook"),
    (corpus.wide_sheet, "sheet 销售明细: sheet has a cell in column XFD (16,384); the limit is 2,048 columns"),
    (corpus.far_column, "sheet 销售明细: sheet has a cell in column beyond ZZZ (18,279); the limit is 2,048 columns"),
]


def _refuse_workbook(folder: Path, maker) -> tuple[Path, Path, dict, list[str]]:
    project, path = project_with_input(folder / "project", maker)
    return project, path, digest(project / "inputs"), ["run", "-p", str(project), "--as-of", "2026-10-31", "-q"]


@pytest.fixture(scope="module")
def refused_workbooks(tmp_path_factory) -> dict:
    """Every workbook case but the full-size ones, run in one bounded process: name -> (folder,
    project, file, inputs digest before, result)."""
    prepared = {}
    for case in WORKBOOK_CASES:
        if not _is_full_size(case):
            maker = _maker(case)
            folder = tmp_path_factory.mktemp(maker.__name__)
            prepared[maker.__name__] = (folder, *_refuse_workbook(folder, maker))
    results = run_batch([job for *_, job in prepared.values()])
    return {name: (folder, project, path, before, result)
            for (name, (folder, project, path, before, _)), result in zip(prepared.items(), results)}


@pytest.mark.parametrize("maker, message", WORKBOOK_CASES, ids=[case_id(c) for c in WORKBOOK_CASES])
def test_hostile_workbooks_are_refused_by_name(request, tmp_path, maker, message):
    if maker.__name__ in ("zip_bomb",):  # full size: its own process, in CI's slow step
        project, path, before, job = _refuse_workbook(tmp_path, maker)
        folder, done = tmp_path, run_cli(*job)
    else:
        folder, project, path, before, done = request.getfixturevalue("refused_workbooks")[maker.__name__]
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith(f"error: inputs/{path.name}"), done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert digest(project / "inputs") == before
    assert published_runs(project) == [] and not list((project / "outputs").glob(".staging-*"))
    assert sorted(p.name for p in folder.iterdir()) == ["project"]


@FULL_SIZE
def test_a_10_mb_cell_is_left_empty_with_a_warning(tmp_path):
    project, path = project_with_input(tmp_path / "project", corpus.huge_cell)
    done = run_cli("run", "-p", str(project), "--as-of", "2026-10-31", "-q")
    assert done.returncode == 0, done.stderr
    wb = openpyxl.load_workbook(published_runs(project)[0] / "portfolio.xlsx", read_only=True)
    rows = [r for r in wb["Data issues"].iter_rows(min_row=2, values_only=True) if r[8] == "cell_too_long"]
    assert len(rows) == 1
    level, file, sheet, row, column, value, message = rows[0][:7]
    assert (file, sheet, row, column, message) == (
        f"inputs/{path.name}", "销售明细", 2, "产品", "cell is longer than the limit of 32,767 characters (value left empty, row kept)")
    assert value.endswith("… (10,000,000 characters)") and len(value) < 250


@FULL_SIZE
def test_a_million_empty_formatted_rows_are_not_rows(tmp_path):
    project, _ = project_with_input(tmp_path / "project", corpus.empty_formatted_rows)
    done = run_cli("run", "-p", str(project), "--as-of", "2026-10-31", "-q")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((published_runs(project)[0] / "run.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["datasets"]["orders"]["rows_read"] == 1


def test_a_formula_into_another_workbook_uses_its_saved_value_and_fetches_nothing(tmp_path):
    project, _ = project_with_input(tmp_path / "project", corpus.external_formula)
    done = run_cli("run", "-p", str(project), "--as-of", "2026-10-31", "-q")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((published_runs(project)[0] / "run.json").read_text(encoding="utf-8"))
    codes = manifest["issues"]["by_code"]
    assert codes.get("uncached_formula") == 1  # openpyxl saved it without a value: reported, not fetched


def test_input_size_limit_is_enforced_at_the_boundary(tmp_path):
    project, path = project_with_input(tmp_path / "project", lambda folder: _plain(folder))
    size = path.stat().st_size
    ok = run_cli("run", "-p", str(project), "--as-of", "2026-10-31", "-q", env={"KAMRULES_MAX_INPUT_BYTES": str(size)})
    assert ok.returncode == 0, ok.stderr
    refused = run_cli("run", "-p", str(project), "--as-of", "2026-10-31", "-q",
                      env={"KAMRULES_MAX_INPUT_BYTES": str(size - 1)})
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: inputs/plain.xlsx: file is 0 MiB; the limit is 0 MiB")
    assert "KAMRULES_MAX_INPUT_BYTES" in refused.stderr


def _plain(folder: Path) -> Path:
    path = folder / "plain.xlsx"
    path.write_bytes(corpus.plain_book())
    return path


def test_a_bad_limit_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("KAMRULES_MAX_ROWS", "lots")
    with pytest.raises(Exception) as caught:
        current()
    assert str(caught.value).startswith("KAMRULES_MAX_ROWS='lots' is not a positive whole number")
    monkeypatch.setenv("KAMRULES_MAX_ROWS", "1_000")
    assert current().max_rows == 1000 and current().max_columns == Limits().max_columns


@pytest.mark.parametrize("limit, code", [("6", 0), ("5", 1)])
def test_row_limit_at_the_boundary(tmp_path, limit, code):
    sheets = {title: rows[:6] for title, rows in small_ledger().items()}  # 客户档案 (6 rows) is read first
    assert len(sheets["客户档案"]) == 6
    project = make_project(tmp_path / "p", sheets)
    done = run_cli("run", "-p", str(project), "--as-of", "2026-10-31", "-q", env={"KAMRULES_MAX_ROWS": limit})
    assert done.returncode == code, done.stderr
    if code:
        assert done.stderr.startswith("error: inputs/台账.xlsx, sheet 客户档案: sheet has 6 rows; the limit is 5")


# --- YAML ---------------------------------------------------------------------------------

YAML_CASES = [
    (corpus.yaml_alias_bomb, ": its anchors and aliases expand to 23,456,790,129 values; the limit is 200,000"),
    (corpus.yaml_deep_nesting, ":2:46: nested more than 40 levels deep"),
    (corpus.yaml_python_object, ":2:4: not valid YAML: could not determine a constructor for the tag "
                                "'tag:yaml.org,2002:python/object/apply:os.system'"),
    (corpus.yaml_duplicate_keys, ":3:1: duplicate key 'locale' (first defined on line 2)"),
    (corpus.yaml_not_utf8, ": not UTF-8 text (byte 14)"),
    pytest.param(corpus.yaml_50mb, ": file is 52,428,720 bytes; the limit for a rulebook file is 2,097,152",
                 marks=FULL_SIZE, id="yaml_50mb"),
]


@pytest.fixture(scope="module")
def refused_yaml(tmp_path_factory) -> dict:
    """Every YAML case but the full-size one, checked in one bounded process."""
    prepared = {}
    for case in YAML_CASES:
        if not _is_full_size(case):
            maker = _maker(case)
            project = make_project(tmp_path_factory.mktemp(maker.__name__) / "p")
            prepared[maker.__name__] = (project, maker(project / "rules"))
    results = run_batch([["check", "-p", str(project)] for project, _ in prepared.values()])
    return {name: (*found, result) for (name, found), result in zip(prepared.items(), results)}


@pytest.mark.parametrize("maker, message", YAML_CASES, ids=[case_id(c) for c in YAML_CASES])
def test_hostile_yaml_is_refused_with_file_and_line(request, tmp_path, maker, message):
    if maker.__name__ == "yaml_50mb":  # full size: its own process, in CI's slow step
        project = make_project(tmp_path / "p")
        path = maker(project / "rules")
        done = run_cli("check", "-p", str(project), cwd=tmp_path)
    else:
        project, path, done = request.getfixturevalue("refused_yaml")[maker.__name__]
    assert done.returncode == 1, done.stdout
    assert f"  rules/{path.name}{message}" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (project.parent / "pwned.txt").exists() and not (project / "pwned.txt").exists()


def test_yaml_values_limit_at_the_boundary(tmp_path, monkeypatch):
    from kamrules.yamlio import load_yaml

    text = "a: &x [1, 2, 3]\nb: [*x, *x]\n"  # mapping 1 + keys 2 + a: 4 + b: 1 + 2 * 4 = 16 values
    monkeypatch.setenv("KAMRULES_MAX_YAML_VALUES", "16")
    assert load_yaml(text, "t.yaml") == {"a": [1, 2, 3], "b": [[1, 2, 3], [1, 2, 3]]}
    monkeypatch.setenv("KAMRULES_MAX_YAML_VALUES", "15")
    with pytest.raises(Exception, match="expand to 16 values; the limit is 15"):
        load_yaml(text, "t.yaml")


# --- expressions --------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('id')", "only plain function calls like round(x) are allowed"),
    ("name.__class__.__mro__", "attribute access (a.b) is not allowed in rule expressions"),
    ("tags[0]", "subscript (a[b]) is not allowed in rule expressions"),
    ("9**9**9", "operator '**' is not allowed"),
    ("(" * 300 + "1" + ")" * 300, "syntax error: too many nested parentheses"),
    ("-" * 100 + "1", "expression is nested more than 60 levels deep"),
    ("1" * 5000, "syntax error: Exceeds the limit (4300 digits) for integer string conversion"),
    ("10000000000000000000000", "number is too large"),
    ("'" + "a" * 20_000 + "'", "expression is longer than 10000 characters"),
    ("lambda: 1", "lambda is not allowed in rule expressions"),
])
def test_hostile_expressions_are_rejected_never_evaluated(text, message):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert caught.value.message.startswith(message)


def test_check_rejects_an_import_in_a_rule(tmp_path):
    project = make_project(tmp_path / "p")
    policy = project / "rules" / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace("when: revenue_total > 0 and (p_alive", "when: __import__('os') and (p_alive"),
                      encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "-p", str(project), "--lang", "en"])
    assert result.exit_code == 1
    assert "rules/policy.yaml:" in result.output and "[R-high]" in result.output
    assert "unknown function '__import__'" in result.output


# --- templates ----------------------------------------------------------------------------

def docx_with(tmp_path: Path, text: str) -> Path:
    document = Document()
    document.add_paragraph(text)
    path = tmp_path / "t.docx"
    document.save(path)
    return path


@pytest.mark.parametrize("tag, message", [
    ("{{ ''.__class__.__mro__ }}", "template tried something unsafe: access to attribute '__class__'"),
    ("{{ cycler.__init__.__globals__ }}", "template tried something unsafe: access to attribute '__init__'"),
    ("{{ joiner.__init__.__globals__.os }}", "template tried something unsafe: access to attribute '__init__'"),
    ("{% set ns = namespace() %}{{ ns.__class__.__init__.__globals__ }}",
     "template tried something unsafe: access to attribute"),
    ("{% include 'secrets.docx' %}", "cannot render: no loader for this environment specified"),
    ("{% import 'macros' as m %}", "cannot render: no loader for this environment specified"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
     "template tried something unsafe: the template took more than 2,000,000 steps"),
    ("{{ range(10**9) | list }}", "template tried something unsafe: the template took more than 2,000,000 steps"),
    ("{{ 2 ** 100000 }}", "template tried something unsafe: an exponent above 64 is not allowed"),
    ("{{ 'x' * 1000000000 }}", "template tried something unsafe: repeating a text or list that many times"),
    ("{{ 'a' | center(1000000000) }}", "template tried something unsafe: a filter argument above 1,000,000"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "the template calls itself without end"),
])
def test_template_escapes_and_bombs_are_stopped(tmp_path, tag, message):
    renderer = DocxRenderer(docx_with(tmp_path, tag), "zh_CN")
    with pytest.raises(RenderError) as caught:
        renderer.render({"name": "x"}, tmp_path / "out.docx", "C001")
    assert caught.value.message.startswith(message), caught.value.message
    assert not (tmp_path / "out.docx").exists()


def test_render_time_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("KAMRULES_MAX_RENDER_SECONDS", "1")
    monkeypatch.setenv("KAMRULES_MAX_RENDER_STEPS", "1000000000")
    tag = "{% for i in range(100000) %}{% for j in range(100000) %}{{ i + j }}{% endfor %}{% endfor %}"
    renderer = DocxRenderer(docx_with(tmp_path, tag), "zh_CN")
    with pytest.raises(RenderError, match="rendering took longer than 1 s; the limit is set by KAMRULES_MAX_RENDER_SECONDS"):
        renderer.render({}, tmp_path / "out.docx")


def test_document_size_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("KAMRULES_MAX_DOCUMENT_BYTES", "60000")
    renderer = DocxRenderer(docx_with(tmp_path, "{% for i in range(20000) %}{{ i }}{% endfor %}"), "zh_CN")
    with pytest.raises(RenderError, match="the document would be [0-9,]+ bytes; the limit is 60,000"):
        renderer.render({}, tmp_path / "out.docx")
    assert not (tmp_path / "out.docx").exists()


def test_a_template_with_a_remote_picture_is_refused(tmp_path):
    path = docx_with(tmp_path, "{{ name }}")
    data = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(data, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "word/_rels/document.xml.rels":
                content = content.replace(b"</Relationships>", (
                    b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/image" Target="http://tracker.example/pixel.png" TargetMode="External"/>'
                    b"</Relationships>"))
            target.writestr(info, content)
    path.write_bytes(data.getvalue())
    with pytest.raises(RenderError) as caught:
        DocxRenderer(path, "zh_CN")
    assert caught.value.message.startswith(
        "the template links to content outside the file (http://tracker.example/pixel.png)")


# --- names --------------------------------------------------------------------------------

HOSTILE_NAMES = ["../../etc/passwd", "CON", "aux.docx", "a/b\\c:d*e?f", '=HYPERLINK("http://x","y")', "+1",
                 "@SUM(A1)", "长" * 300, "invoice\u202excod.docx"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_make_safe_file_names(name):
    safe = safe_filename(f"C001_{name}_服务方案.docx")
    assert "/" not in safe and "\\" not in safe and ".." not in safe and "\u202e" not in safe
    assert len(safe.encode("utf-8")) <= 150 and safe.endswith(".docx")
    assert Path(safe).name == safe


def test_hostile_customer_names_stay_text_and_inside_the_run(tmp_path):
    sheets = small_ledger()
    for row, name in zip(sheets["客户档案"][3:], ["../../etc/passwd", '=HYPERLINK("http://x","y")', "@SUM(A1)"]):
        row[1] = name
    project = make_project(tmp_path / "p", sheets)
    book = project / "inputs" / "台账.xlsx"
    wb = openpyxl.load_workbook(book)
    wb["客户档案"]["B5"].data_type = "s"  # text that starts with "=", as a user types '=HYPERLINK… in Excel
    wb.save(book)
    done = run_cli("run", "-p", str(project), "--as-of", "2026-10-31", "-q")
    assert done.returncode == 0, done.stderr
    run = published_runs(project)[0]
    for path in run.rglob("*"):
        assert path.resolve().is_relative_to(run.resolve())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]
    proposals = [p.name for p in (run / "proposals").iterdir()]
    assert proposals == ["C001_____etc_passwd_服务方案.docx"]
    sheet = openpyxl.load_workbook(run / "portfolio.xlsx")["Customers"]
    names = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert [(names[c].value, names[c].data_type) for c in ("C002", "C003")] == [
        ('=HYPERLINK("http://x","y")', "s"), ("@SUM(A1)", "s")]


def test_document_size_limit_at_the_boundary(tmp_path, monkeypatch):
    template = docx_with(tmp_path, "{% for i in range(2000) %}{{ i }}{% endfor %}")
    DocxRenderer(template, "zh_CN").render({}, tmp_path / "probe.docx")
    with zipfile.ZipFile(tmp_path / "probe.docx") as archive:
        size = sum(info.file_size for info in archive.infolist())
    monkeypatch.setenv("KAMRULES_MAX_DOCUMENT_BYTES", str(size))
    DocxRenderer(template, "zh_CN").render({}, tmp_path / "ok.docx")
    assert (tmp_path / "ok.docx").exists()
    monkeypatch.setenv("KAMRULES_MAX_DOCUMENT_BYTES", str(size - 1))
    with pytest.raises(RenderError, match=f"the document would be {size:,} bytes; the limit is {size - 1:,}"):
        DocxRenderer(template, "zh_CN").render({}, tmp_path / "refused.docx")
    assert not (tmp_path / "refused.docx").exists()


@pytest.mark.parametrize("steps, ok", [(501, True), (500, False)])  # 500 range items + the call to range
def test_render_steps_at_the_boundary(tmp_path, monkeypatch, steps, ok):
    monkeypatch.setenv("KAMRULES_MAX_RENDER_STEPS", str(steps))
    renderer = DocxRenderer(docx_with(tmp_path, "{% for i in range(500) %}.{% endfor %}"), "zh_CN")
    if ok:
        renderer.render({}, tmp_path / "out.docx")
    else:
        with pytest.raises(RenderError, match="the template took more than 500 steps"):
            renderer.render({}, tmp_path / "out.docx")


@pytest.mark.parametrize("limit, code", [("10", 0), ("9", 1)])
def test_column_limit_at_the_boundary(tmp_path, limit, code):
    project = make_project(tmp_path / "p")  # 客户档案 is 10 columns wide (A:J)
    done = run_cli("run", "-p", str(project), "--as-of", "2026-10-31", "-q", env={"KAMRULES_MAX_COLUMNS": limit})
    assert done.returncode == code, done.stderr
    if code:
        assert done.stderr.startswith("error: inputs/台账.xlsx, sheet 客户档案: sheet has 10 columns; the limit is 9")


# --- every other limit at its boundary (in-process: these are cheap) ---------------------

def test_uncompressed_size_limit_at_the_boundary(tmp_path, monkeypatch):
    from kamrules.errors import LedgerError
    from kamrules.ledger.guard import check_input

    path = _plain(tmp_path)
    with zipfile.ZipFile(path) as archive:
        inflated = sum(info.file_size for info in archive.infolist())
    monkeypatch.setenv("KAMRULES_MAX_UNCOMPRESSED_BYTES", str(inflated))
    check_input(path, "plain.xlsx", current())
    monkeypatch.setenv("KAMRULES_MAX_UNCOMPRESSED_BYTES", str(inflated - 1))
    with pytest.raises(LedgerError, match="the workbook inflates to 0 MiB; the limit is 0 MiB"):
        check_input(path, "plain.xlsx", current())


@pytest.mark.parametrize("product, warned", [("钢" * 20, False), ("钢" * 21, True)])
def test_cell_length_limit_at_the_boundary(tmp_path, monkeypatch, product, warned):
    from kamrules.ledger import read_ledger
    from kamrules.rules.rulebook_compiler import load_rulebook

    monkeypatch.setenv("KAMRULES_MAX_CELL_CHARS", "20")  # characters, not bytes: 20 Chinese characters are 60 bytes
    sheets = small_ledger()
    sheets["销售明细"][1][3] = product
    project = make_project(tmp_path / "p", sheets)
    rulebook = load_rulebook(project)
    ledger = read_ledger(project / "inputs", rulebook.spec.datasets, rulebook.spec.ledger)
    too_long = [(i.row, i.column, i.message) for i in ledger.issues
                if i.code == "cell_too_long" and (i.sheet, i.column) == ("销售明细", "产品")]
    if warned:
        assert too_long == [(2, "产品", "cell is longer than the limit of 20 characters (value left empty, row kept)")]
    else:
        assert too_long == [] and product in ledger.datasets["orders"]["product"].to_list()


def test_yaml_size_and_depth_limits_at_the_boundary(tmp_path, monkeypatch):
    from kamrules.errors import RulebookError
    from kamrules.yamlio import load_yaml, load_yaml_file

    path = tmp_path / "r.yaml"
    path.write_text("kamrules: 1\n", encoding="utf-8")
    monkeypatch.setenv("KAMRULES_MAX_YAML_BYTES", "12")
    assert load_yaml_file(path, "rules/r.yaml") == {"kamrules": 1}
    monkeypatch.setenv("KAMRULES_MAX_YAML_BYTES", "11")
    with pytest.raises(RulebookError, match="file is 12 bytes; the limit for a rulebook file is 11"):
        load_yaml_file(path, "rules/r.yaml")
    monkeypatch.setenv("KAMRULES_MAX_YAML_DEPTH", "4")
    assert load_yaml("a: {b: [1]}", "r.yaml") == {"a": {"b": [1]}}  # mapping, mapping, list, value: 4 levels
    with pytest.raises(RulebookError, match="nested more than 4 levels deep"):
        load_yaml("a: {b: [[1]]}", "r.yaml")


def test_expression_limits_at_the_boundary(monkeypatch):
    monkeypatch.setenv("KAMRULES_MAX_EXPRESSION_CHARS", "10")
    parse("1234567890")
    with pytest.raises(ExpressionError, match="expression is longer than 10 characters"):
        parse("12345678901")
    monkeypatch.delenv("KAMRULES_MAX_EXPRESSION_CHARS")
    monkeypatch.setenv("KAMRULES_MAX_EXPRESSION_DEPTH", "3")
    parse("-(-(-x))")  # three operators around a name
    with pytest.raises(ExpressionError, match="expression is nested more than 3 levels deep"):
        parse("-(-(-(-x)))")
