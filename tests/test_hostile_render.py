"""Issue 19 for the render stage and the rulebook's bounds (points 3, 4, 5, 14, 18, 19).

The files come from tests/corpus/render.py. Whatever reaches ``kamrules run`` or ``check`` is
run as the CLI in its own process, under a 3 GiB address-space limit and a timeout (several
commands share one bounded process, as in tests/test_hostile_input.py): a clean message, the
right exit code, no traceback, inputs unchanged, nothing written beside the project. The
pieces (filters, the template sandbox, the template check, cell and text cleaning, the
expression and YAML bounds) are also tested in-process, with exact messages in English and,
where the message is new, in Chinese.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sys
import threading
import time
import zipfile
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import polars as pl
import pytest
from docx import Document
from hypothesis import given, settings
from hypothesis import strategies as st

from kamrules.errors import ExpressionError, Issue, RenderError, RulebookError, RulebookInvalid
from kamrules.expr.compiler import compile_expression
from kamrules.expr.parser import parse
from kamrules.i18n import Text, Words
from kamrules.render import ics
from kamrules.render.context import _later, upcoming_visits
from kamrules.render.docx import DocxRenderer, external_content, safe_filename
from kamrules.render.filters import EMPTY, daxie, make_filters, money, number, pct, wan
from kamrules.render.xlsx import SheetWriter, sheet_title, write_issues_workbook
from kamrules.rules.documents_config import DocumentSpec, PortfolioSpec, fill_filename, filename_fields
from kamrules.text import WHITESPACE, WHITESPACE_CLASS, XML_ILLEGAL, is_blank, strip, xml_text
from kamrules.plan.planner import build_plan
from kamrules.rules.rulebook import RulebookSpec
from kamrules.yamlio import load_yaml

from conftest import REPO, small_ledger, write_workbook
from hostile import digest, run_batch

sys.path.insert(0, str(Path(__file__).parent / "corpus"))
import render as corpus  # noqa: E402  (tests/corpus/render.py)

AS_OF = "2026-10-31"

def new_project(root: Path, ledger: bool = True) -> Path:
    root.mkdir(parents=True)
    for name in ("rules", "templates"):
        shutil.copytree(REPO / name, root / name)
    (root / "inputs").mkdir()
    if ledger:
        write_workbook(root / "inputs" / "台账.xlsx", small_ledger())
    return root


def runs(project: Path) -> list[Path]:
    outputs = project / "outputs"
    return sorted(p for p in outputs.iterdir() if not p.name.startswith(".")) if outputs.exists() else []


def no_traceback(result: dict) -> None:
    text = result["stdout"] + result["stderr"]
    assert "Traceback" not in text and "──" not in text, text[-3000:]


# --- the CLI, one bounded process per group -------------------------------------------------

RUN = ["--as-of", AS_OF, "-q", "--workers", "1"]

# point 18: filter arguments and format widths in a template, through `kamrules run`
TEMPLATE_BOUNDS = {
    "number_30": ("{{ 1|number(30) }}", "cannot render: the number of decimals must be a whole number from 0 to 10; "
                                        "got 30"),
    "pct_27": ("{{ 0.5|pct(27) }}", "cannot render: the number of decimals must be a whole number from 0 to 10; got 27"),
    "wan_million": ("{{ revenue_12m|wan(1000000) }}", "cannot render: the number of decimals must be a whole number "
                                                      "from 0 to 10; got 1000000"),
    "format_width": ("{{ '{:>500000000}'.format('x') }}", "template tried something unsafe: a format width or "
                                                          "precision above 1,000,000 is not allowed in templates"),
}

# point 14: the template check, through `kamrules check`
TEMPLATE_LINKS = {
    **{spelling: (lambda folder, s=spelling: corpus.remote_picture(folder, s),
                  "the template links to content outside the file ("
                  + ("file://attacker.example/share/x.png" if spelling == "unc_share" else "http://tracker.example/pixel.png")
                  + ") in word/_rels/document.xml.rels, which Word may fetch when a client opens the document")
       for spelling in corpus.REMOTE_PICTURES},
    "remote_attached_template": (corpus.remote_attached_template,
                                 "the template links to content outside the file (file://attacker.example/share/"
                                 "normal.dotm) in word/_rels/settings.xml.rels, which Word may fetch when a client "
                                 "opens the document"),
    "include_picture_field": (corpus.include_picture_field,
                              'the template has a field code INCLUDEPICTURE "http://tracker.example/p.png" \\d in '
                              "word/document.xml, with which Word may fetch content from outside the file when a "
                              "client opens the document"),
}

# point 19: rules that `check` accepted and `run` could not survive; now refused by `check` at their line
RULES = {
    corpus.round_to_a_billion_places: (
        "rules/hostile.yaml:9:9 [H1]: round()'s second argument must be a whole number from -18 to 18, like 2 or -3; "
        "got -1000000000 (in 'round(revenue_12m, -1000000000) > 0')"),
    corpus.round_to_a_float: (
        "rules/hostile.yaml:9:9 [H1]: round()'s second argument must be a whole number from -18 to 18, like 2 or -3; "
        "got 1e+18 (in 'round(revenue_12m, 1e18) > 0')"),
    corpus.add_months_beyond_the_calendar: (
        "rules/hostile.yaml:9:9 [H1]: add_months()'s second argument must be between -119,987 and 119,987 (years 1 "
        "to 9999); got 999999999999 (in 'add_months(as_of, 999999999999) > as_of')"),
    corpus.validity_beyond_the_calendar: (
        "rules/hostile.yaml:6:5 [hostile]: documents[2].validity_days: Input should be less than or equal to 36525"),
    corpus.five_thousand_digits: (
        "rules/hostile.yaml:6:20: number 11111111111111111111… (5,000 characters) is too large: whole numbers in a "
        "rulebook are at most 10^18"),
    corpus.filename_width: (
        "rules/hostile.yaml:6:5 [hostile]: documents[2].filename: file name pattern '{customer_id:>900000000}.docx' "
        "is not valid: {customer_id:>900000000} is not a field name: braces hold one field name only, with no "
        "format, conversion, attribute or index\n    hint: write only field names in braces, e.g. "
        "{customer_id}_{name}.docx"),
    corpus.filename_attribute: (
        "rules/hostile.yaml:6:5 [hostile]: documents[2].filename: file name pattern '{name.__class__.__mro__}.docx' "
        "is not valid: {name.__class__.__mro__} is not a field name: braces hold one field name only, with no "
        "format, conversion, attribute or index"),
    corpus.folder_outside_the_run: (
        "rules/hostile.yaml:6:5 [hostile]: documents[2].folder: folder must be a relative path inside the run folder "
        "(no '..', absolute path, drive, or character a file name cannot hold); got '../../../escaped'"),
    corpus.alert_title_with_slash: (
        "rules/documents.yaml:85:5: alert title '信用/预警[1]' cannot name a sheet: Excel does not allow / [ ] in sheet "
        "names\n    hint: e.g. '信用_预警_1_'"),
    corpus.visit_interval_of_text: "rules/documents.yaml:40:3: visit_plan.every_days must be a number field; tier is text",
    corpus.exposure_of_text: "rules/documents.yaml:84:3: portfolio.exposure_field must be a number field; tier is text",
}


BOUNDED_CLI = pytest.mark.slow  # the CLI cases below share one bounded process (~15 s): CI's second step


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> dict:
    """Every CLI case, run in one bounded process: name -> (project, inputs digest before, result)."""
    base = tmp_path_factory.mktemp("hostile_render")
    prepared: dict[str, tuple[Path, list[str]]] = {}
    for maker in corpus.LEDGERS:
        project = new_project(base / maker.__name__ / "project", ledger=False)
        maker(project / "inputs")
        prepared[maker.__name__] = (project, ["run", "-p", str(project), *RUN])
    for name, (tag, _) in TEMPLATE_BOUNDS.items():
        project = new_project(base / name / "project")
        corpus.template_with(project / "templates", tag)
        prepared[name] = (project, ["run", "-p", str(project), *RUN])
    for name, (maker, _) in TEMPLATE_LINKS.items():
        project = new_project(base / name / "project")
        maker(project / "templates")
        prepared[name] = (project, ["check", "-p", str(project)])
    for maker in RULES:
        project = new_project(base / maker.__name__ / "project")
        maker(project / "rules")
        prepared[maker.__name__] = (project, ["check", "-p", str(project)])
    before = {name: digest(project / "inputs") for name, (project, _) in prepared.items()}
    results = run_batch([job for _, job in prepared.values()])
    return {name: (project, before[name], result) for (name, (project, _)), result in zip(prepared.items(), results)}


def _refused_cleanly(case, code: int = 1) -> dict:
    project, before, result = case
    assert result["returncode"] == code, result["stdout"] + result["stderr"]
    no_traceback(result)
    assert digest(project / "inputs") == before
    assert sorted(p.name for p in project.parent.iterdir()) == ["project"]
    if code:
        assert runs(project) == [] and not list((project / "outputs").glob(".staging-*"))
    return result


@BOUNDED_CLI
def test_an_amount_of_1e26_is_a_clean_error_not_a_traceback(cli):
    """Point 3: money() writes the amount; 大写 refuses it cleanly (an amount beyond 10^16 yuan)."""
    result = _refused_cleanly(cli["huge_amount"])
    assert result["stderr"] == ("error: templates/account_plan.docx (customer C001): cannot render: amount too large "
                                "for 大写: 1.0499999999999999e+26\n")


@BOUNDED_CLI
@pytest.mark.parametrize("name", ["em_space_id", "line_separator_id"])
def test_a_customer_id_of_unicode_space_does_not_stop_the_calendar(cli, name):
    """Point 4: the ledger and the calendar agree on what is blank; nothing raises, every UID is unique."""
    from icalendar import Calendar

    result = _refused_cleanly(cli[name], code=0)
    project = cli[name][0]
    [run] = runs(project)
    calendar = Calendar.from_ical((run / "visits.ics").read_bytes())
    uids = [str(event["UID"]) for event in calendar.walk("VEVENT")]
    assert uids and len(uids) == len(set(uids))
    assert any(uid.startswith("visit-C001-") for uid in uids)
    assert result["stdout"] == f"{runs(project)[0]}\n"


@BOUNDED_CLI
@pytest.mark.parametrize("name", ["control_character_cell", "control_character_name"])
def test_every_cell_written_is_cleaned_of_control_characters(cli, name):
    """Point 5: the write-only rows (Data issues, Reminders, issues.xlsx) are cleaned like the bulk tables."""
    _refused_cleanly(cli[name], code=0)
    [run] = runs(cli[name][0])
    books = [run / "portfolio.xlsx"] + ([run / "issues.xlsx"] if (run / "issues.xlsx").exists() else [])
    for book in books:
        for sheet in openpyxl.load_workbook(book, read_only=True).worksheets:
            for row in sheet.iter_rows(values_only=True):
                for value in row:
                    assert not (isinstance(value, str) and re.search(XML_ILLEGAL, value)), (book.name, value)
    portfolio = openpyxl.load_workbook(run / "portfolio.xlsx", read_only=True)
    if name == "control_character_cell":
        issues = [r for r in portfolio["Data issues"].iter_rows(min_row=2, values_only=True) if r[4] == "金额"]
        assert [r[5:7] for r in issues] == [("12", "not an amount of money")]
        rejected = list(openpyxl.load_workbook(run / "issues.xlsx", read_only=True).worksheets[0].iter_rows(
            min_row=2, values_only=True))
        assert [r[5] for r in rejected] == ["12"]
    else:
        names = [r[1] for r in portfolio["Customers"].iter_rows(min_row=2, values_only=True)]
        assert names == ["Namex"]
        reminders = [r for r in portfolio["Reminders"].iter_rows(min_row=2, values_only=True)]
        assert [r[1] for r in reminders] == ["Birthday", "Festival"]
        assert all("Name" in r[3] + r[4] for r in reminders)
        planned = [r for r in portfolio["Visit plan"].iter_rows(min_row=2, values_only=True)]
        assert {(r[5], r[7]) for r in planned} == {("Visit", "Namex"), ("Renewal visit", "Namex")}


@BOUNDED_CLI
@pytest.mark.parametrize("name", list(TEMPLATE_BOUNDS))
def test_template_bounds_are_clean_render_errors_quickly(cli, name):
    """Point 18: digits beyond 10 and format widths beyond 1,000,000 are RenderErrors, in seconds."""
    result = _refused_cleanly(cli[name])
    assert result["stderr"] == f"error: templates/proposal.docx (customer C001): {TEMPLATE_BOUNDS[name][1]}\n"
    assert result["seconds"] < 20


@BOUNDED_CLI
@pytest.mark.parametrize("name", list(TEMPLATE_LINKS))
def test_a_template_linking_outside_itself_is_refused_by_check(cli, name):
    """Point 14: the .rels XML is parsed: quoting, a prefix, a character reference or spacing hide nothing."""
    result = _refused_cleanly(cli[name])
    hint = ("delete the field in Word (Alt+F9 shows field codes) and insert the picture or text itself"
            if name == "include_picture_field" else "insert the picture or object into the template instead of linking it")
    assert result["stderr"] == f"error: templates/proposal.docx: {TEMPLATE_LINKS[name][1]}\n  hint: {hint}\n"


@BOUNDED_CLI
@pytest.mark.parametrize("maker", list(RULES), ids=[m.__name__ for m in RULES])
def test_rules_that_run_could_not_survive_are_refused_by_check_at_their_line(cli, maker):
    """Point 19: every numeric argument is bounded, sheet titles and file-name patterns checked, by `check`."""
    result = _refused_cleanly(cli[maker.__name__])
    output = result["stdout"] + result["stderr"]
    assert output.startswith("error: rulebook has 1 error:\n  " + RULES[maker].split("\n")[0]), output
    if "\n" in RULES[maker]:
        assert RULES[maker] in output


# --- point 3: every filter, any value -------------------------------------------------------

HOSTILE_VALUES = [None, True, 0, -1, 1.5, -0.005, 1e26, -1e26, 1e308, -1e308, 5e-324, float("inf"), float("-inf"),
                  float("nan"), 10**30, -(10**400), 10**480, 10**4000, Decimal("1e399"), Decimal("1e400"),
                  Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), "12.5", " 7 ", "abc", "", "1,234", "NaN",
                  [], {}, dt.date(2026, 1, 1), dt.datetime(2026, 1, 1, 12), dt.date.max]


def _filter_outcome(function, value, *args):
    """A filter either renders text or raises ValueError with a message that says itself in both languages."""
    try:
        out = function(value, *args)
    except ValueError as exc:
        assert isinstance(exc.args[0], Text), (value, exc)
        return exc
    assert isinstance(out, str) and len(out) < 2_000, (value, out)
    return out


@pytest.mark.parametrize("locale", ["zh_CN", "en_US"])
@pytest.mark.parametrize("name", ["money", "wan", "pct", "number", "date", "yesno", "daxie"])
def test_every_filter_renders_or_says_why_for_any_value(locale, name):
    function = make_filters(locale)[name]
    for value in HOSTILE_VALUES:
        _filter_outcome(function, value)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-10**500, max_value=10**500),
                 st.decimals(allow_nan=True, allow_infinity=True)),
       st.sampled_from(["money", "wan", "pct", "number", "daxie"]), st.integers(min_value=-3, max_value=13))
def test_numeric_filters_never_raise_anything_but_their_own_error(value, name, digits):
    function = make_filters("zh_CN")[name]
    _filter_outcome(function, value)
    if name in ("wan", "pct", "number"):
        outcome = _filter_outcome(function, value, digits)
        if not 0 <= digits <= 10:
            assert isinstance(outcome, ValueError)


def test_huge_and_non_finite_amounts():
    assert money(1e26) == "¥100,000,000,000,000,000,000,000,000.00"
    assert money(1e26, "en_GB", "GBP") == "£100,000,000,000,000,000,000,000,000.00"
    assert money(-1e308) == "-¥100" + ",000" * 102 + ".00"
    assert [money(v) for v in (float("nan"), float("inf"), float("-inf"), None)] == [EMPTY] * 4
    assert wan(1e26) == "10,000,000,000,000,000,000,000.00万元"
    assert number(1e20, digits=10) == "100,000,000,000,000,000,000.0000000000"
    assert pct(1e300).endswith("00.0%")
    assert money(12345.675) == "¥12,345.68" and wan(12345) == "1.23万元" and pct(0.125) == "12.5%"  # unchanged
    with pytest.raises(ValueError) as caught:
        money(10**500)
    assert caught.value.args[0].localize("en") == "number too large to write: 1" + "0" * 38 + "…"
    assert caught.value.args[0].localize("zh") == "数字太大，无法写出：1" + "0" * 38 + "…"
    with pytest.raises(ValueError) as caught:
        daxie(1e26)
    assert str(caught.value.args[0]) == "amount too large for 大写: 1e+26"


@pytest.mark.parametrize("digits", [30, 11, -1, 2.5, "2", True, None])
def test_filter_digits_are_a_whole_number_from_0_to_10(digits):
    for name in ("number", "pct", "wan"):
        with pytest.raises(ValueError) as caught:
            make_filters("zh_CN")[name](0.5, digits)
        assert caught.value.args[0].localize("en") == \
            f"the number of decimals must be a whole number from 0 to 10; got {digits!r}"
        assert caught.value.args[0].localize("zh") == f"小数位数必须是 0 到 10 之间的整数；实际为 {digits!r}"
    assert number(0.5, digits=10) == "0.5000000000" and pct(0.5, digits=0) == "50%"


def test_a_text_or_a_date_given_to_a_number_filter_is_named():
    with pytest.raises(ValueError) as caught:
        money("abc")
    assert (caught.value.args[0].localize("en"), caught.value.args[0].localize("zh")) == \
        ("'abc' is not a number", "'abc' 不是数字")
    with pytest.raises(ValueError) as caught:
        make_filters("zh_CN")["date"](5)
    assert (caught.value.args[0].localize("en"), caught.value.args[0].localize("zh")) == \
        ("5 is not a date", "5 不是日期")
    assert money("12.5") == "¥12.50" and make_filters("zh_CN")["date"]("2026-10-31T08:00") == "2026年10月31日"


# --- point 18: the template sandbox ---------------------------------------------------------

def docx_with(tmp_path: Path, text: str, name: str = "t.docx") -> Path:
    document = Document()
    document.add_paragraph(text)
    path = tmp_path / name
    document.save(path)
    return path


UNSAFE = "template tried something unsafe: "
BIG_VALUE = UNSAFE + ("the template built a text or list of more than 67,108,864 characters or items; the limit is "
                      "set by KAMRULES_MAX_DOCUMENT_BYTES")


@pytest.mark.slow  # 28 template bombs, each run to its bound: the hostile corpus, CI's second step
@pytest.mark.parametrize("tag, message", [
    ("{{ 1|number(30) }}", "cannot render: the number of decimals must be a whole number from 0 to 10; got 30"),
    ("{{ 0.5|pct(27) }}", "cannot render: the number of decimals must be a whole number from 0 to 10; got 27"),
    ("{{ 5|wan(1000000) }}", "cannot render: the number of decimals must be a whole number from 0 to 10; got 1000000"),
    ("{{ 1e26|money }}{{ 1|daxie }}", None),
    ("{{ '{:>500000000}'.format('x') }}", UNSAFE + "a format width or precision above 1,000,000 is not allowed in templates"),
    ("{{ '{:.500000000f}'.format(1.5) }}", UNSAFE + "a format width or precision above 1,000,000 is not allowed in "
                                                   "templates"),
    ("{{ '{:{w}}'.format('x', w='500000000') }}", UNSAFE + "a format width or precision above 1,000,000 is not "
                                                           "allowed in templates"),
    ("{{ '{a:>500000000}'.format_map({'a': 1}) }}", UNSAFE + "a format width or precision above 1,000,000 is not "
                                                             "allowed in templates"),
    ("{{ '%500000000d' % 1 }}", UNSAFE + "a format width or precision above 1,000,000 is not allowed in templates"),
    ("{{ '%.500000000f' % 1.5 }}", UNSAFE + "a format width or precision above 1,000,000 is not allowed in templates"),
    ("{{ '%*d' % (500000000, 1) }}", UNSAFE + "a filter argument above 1,000,000 is not allowed in templates"),
    ("{{ '%500000000d'|format(1) }}", UNSAFE + "a format width or precision above 1,000,000 is not allowed in templates"),
    ("{{ 'x'.ljust(500000000) }}", UNSAFE + "a filter argument above 1,000,000 is not allowed in templates"),
    ("{{ 'x'.zfill(500000000) }}", UNSAFE + "a filter argument above 1,000,000 is not allowed in templates"),
    ("{{ ((((10**64)**64)**64)**64)**64 }}", UNSAFE + "a whole number of more than 4,096 bits is not allowed in "
                                                      "templates"),
    ("{{ (10**64)" + " * (10**64)" * 20 + " }}",
     UNSAFE + "a whole number of more than 4,096 bits is not allowed in templates"),
    ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", BIG_VALUE),
    ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", BIG_VALUE),
    ("{% set l = [1] %}{% for i in range(40) %}{{ l.extend(l) }}{% endfor %}", BIG_VALUE),
    ("{{ ('a' * 60000000)|replace('', 'b' * 60000000) }}", BIG_VALUE),
    ("{{ ('a' * 60000000).replace('a', 'bb') }}", BIG_VALUE),
    ("{{ ('a\\n' * 30000000)|indent(1000000) }}", BIG_VALUE),
    ("{{ (['a'] * 1000000)|join('y' * 100) }}", BIG_VALUE),
    ("{{ ('y' * 100).join(['a'] * 1000000) }}", BIG_VALUE),
    ("{% for i in range(2000) %}{{ 'x'|center(1000000) }}{% endfor %}", BIG_VALUE),
    ("{{ [].pop() }}", "cannot render: IndexError: pop from empty list"),
    ("{{ 1 / 0 }}", "cannot render: ZeroDivisionError: division by zero"),
    ("{{ 1e308 ** 2 }}", "cannot render: OverflowError: (34, 'Numerical result out of range')"),
])
def test_template_bombs_are_clean_errors_in_bounded_time(tmp_path, tag, message):
    renderer = DocxRenderer(docx_with(tmp_path, tag), "zh_CN")
    started = time.monotonic()
    if message is None:
        renderer.render({"name": "x"}, tmp_path / "out.docx", "C001")
        text = "".join(ElementText(tmp_path / "out.docx"))
        assert "¥100,000,000,000,000,000,000,000,000.00壹元整" in text
        return
    with pytest.raises(RenderError) as caught:
        renderer.render({"name": "x"}, tmp_path / "out.docx", "C001")
    assert caught.value.message == message
    assert str(caught.value).startswith("t.docx (customer C001): ")
    assert time.monotonic() - started < 15
    assert not (tmp_path / "out.docx").exists()


def ElementText(path: Path) -> list[str]:  # noqa: N802
    from defusedxml import ElementTree
    with zipfile.ZipFile(path) as archive:
        return list(ElementTree.fromstring(archive.read("word/document.xml")).itertext())


def test_ordinary_formatting_and_large_enough_widths_still_render(tmp_path):
    tag = ("{{ '{:>5}|{:.3f}|{:,}'.format('a', 1.5, 1234567) }} {{ '%-4s|%05.1f|%*d'|format('b', 2.5, 3, 7) }} "
           "{{ '%s=%d' % ('n', 3) }} {{ 'x'.center(9) }} {{ 'ab'|replace('a', 'c') }} {{ [1, 2]|join('+') }} "
           "{{ 'p' ~ 'q' }} {{ 2 ** 10 }} {{ '{:>1000000}'.format('z')|length }} {{ 12|tojson }} {{ 2000000|string }} "
           "{{ '{:,}'.format(123456789012) }} {{ '%d' % 123456789012 }} {{ 'x'.ljust(1000000)|length }}")
    DocxRenderer(docx_with(tmp_path, tag), "zh_CN").render({"name": "x"}, tmp_path / "out.docx")
    assert "".join(ElementText(tmp_path / "out.docx")) == (
        "    a|1.500|1,234,567 b   |002.5|  7 n=3     x     cb 1+2 pq 1024 1000000 12 2000000 123,456,789,012 "
        "123456789012 1000000")


def test_new_sandbox_messages_in_chinese(tmp_path):
    renderer = DocxRenderer(docx_with(tmp_path, "{{ '{:>500000000}'.format('x') }}"), "zh_CN")
    with pytest.raises(RenderError) as caught:
        renderer.render({}, tmp_path / "out.docx", "C001")
    assert caught.value.render("zh").endswith("模板试图执行不安全的操作：模板中格式的宽度或精度不能大于 1,000,000")
    renderer = DocxRenderer(docx_with(tmp_path, "{{ (10**64) ** 64 ** 1 * 10**64 }}", "u.docx"), "zh_CN")
    with pytest.raises(RenderError) as caught:
        renderer.render({}, tmp_path / "out.docx", "C001")
    assert caught.value.render("zh").endswith("模板中不允许超过 4,096 位（二进制）的整数")


# --- point 14: the template check parses the XML ----------------------------------------------

@pytest.mark.parametrize("spelling", list(corpus.REMOTE_PICTURES))
def test_every_spelling_of_an_external_relationship_is_found(tmp_path, spelling):
    path = corpus.remote_picture(tmp_path, spelling)
    target = "file://attacker.example/share/x.png" if spelling == "unc_share" else "http://tracker.example/pixel.png"
    assert external_content(path.read_bytes()) == [("word/_rels/document.xml.rels", target)]
    with pytest.raises(RenderError) as caught:
        DocxRenderer(path, "zh_CN")
    assert caught.value.render("zh") == (
        f"proposal.docx：模板链接了文件以外的内容（{target}）（见 word/_rels/document.xml.rels），客户打开文档时 Word "
        "可能会去获取它\n  建议：请把图片或对象直接插入模板，不要使用链接")


def test_a_hyperlink_is_external_content_too_and_internal_pictures_are_not(tmp_path):
    """Every TargetMode="External" is refused, hyperlinks included (Word does not ask which it may fetch)."""
    path = docx_with(tmp_path, "{{ name }}")
    assert external_content(path.read_bytes()) == []
    hyperlink = (b'<Relationship Id="rId98" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                 b'relationships/hyperlink" Target="https://example.com/" TargetMode="External"/>')
    data = corpus._with_parts(path.read_bytes(), lambda n, d: d.replace(b"</Relationships>", hyperlink + b"</Relationships>")
                              if n == "word/_rels/document.xml.rels" else d)
    assert external_content(data) == [("word/_rels/document.xml.rels", "https://example.com/")]


def test_relationships_with_a_dtd_are_refused_not_expanded(tmp_path):
    path = docx_with(tmp_path, "{{ name }}")
    data = corpus._with_parts(path.read_bytes(), lambda n, d: d.replace(
        b"<Relationships", b'<!DOCTYPE r [<!ENTITY e "External">]><Relationships', 1)
        if n == "word/_rels/document.xml.rels" else d)
    path.write_bytes(data)
    with pytest.raises(RenderError) as caught:
        DocxRenderer(path, "zh_CN")
    assert caught.value.message.startswith("the template's word/_rels/document.xml.rels cannot be read: ")


def test_a_field_that_includes_a_picture_is_refused_in_chinese(tmp_path):
    path = corpus.include_picture_field(tmp_path)
    with pytest.raises(RenderError) as caught:
        DocxRenderer(path, "zh_CN")
    assert caught.value.render("zh") == (
        'proposal.docx：模板的 word/document.xml 中有域代码 INCLUDEPICTURE "http://tracker.example/p.png" \\d，客户'
        "打开文档时 Word 可能会用它获取文件以外的内容\n  建议：请在 Word 中删除该域（Alt+F9 可显示域代码），直接插入图片或文字")


def test_a_value_cannot_smuggle_a_field_into_a_field_code(tmp_path):
    """A template that puts a placeholder inside a field: the rendered document is checked too."""
    path = docx_with(tmp_path, "x")
    data = corpus._with_parts(path.read_bytes(), lambda n, d: re.sub(
        rb"(<w:body>)", lambda m: m.group(1) + (
            b'<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">{{ note }}'
            b'</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'), d, count=1)
        if n == "word/document.xml" else d)
    path.write_bytes(data)
    renderer = DocxRenderer(path, "zh_CN")
    renderer.render({"note": "QUOTE x"}, tmp_path / "ok.docx")
    with pytest.raises(RenderError, match="field code INCLUDETEXT"):
        renderer.render({"note": 'INCLUDETEXT "http://x.example/"'}, tmp_path / "bad.docx", "C001")


# --- point 4: one definition of whitespace ----------------------------------------------------

def test_one_definition_of_whitespace_in_python_regex_and_polars():
    every_space = [chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace()]
    assert set(every_space) <= set(WHITESPACE)
    assert {"\u200b", "\u2060", "\ufeff", "\u180e"} <= set(WHITESPACE)
    assert all(re.fullmatch(WHITESPACE_CLASS, c) for c in WHITESPACE)
    column = pl.Series([c for c in WHITESPACE] + ["\u2003C1\u2028"])
    assert column.str.strip_chars(WHITESPACE).to_list() == [""] * len(WHITESPACE) + ["C1"]
    assert column.str.contains("^" + WHITESPACE_CLASS).all()
    assert all(is_blank(c * 3) for c in WHITESPACE) and not is_blank("\u200dx") and is_blank(None)
    assert strip("\u3000 客户\u2003") == "客户"


def test_the_calendar_never_calls_a_kept_id_blank_and_treats_blank_names_as_missing():
    frame = pl.DataFrame({"customer_id": ["\u2003", "C2"], "name": ["\u2028\u00a0", "名"],
                          "next_visit_date": [dt.date(2026, 11, 2)] * 2, "visit_interval_days": [1e12, 7.5]})
    customers = ics.read_customers(frame)
    assert [(c.customer_id, c.name) for c in customers.values()] == [("\u2003", "\u2003"), ("C2", "名")]
    spec = RulebookSpec.model_validate({"calendar": {"horizon_days": 30, "birthdays": False, "renewals": False},
                                        "working_days": {"holidays": "none"}})
    plan = build_plan(frame, spec, None, dt.date(2026, 10, 31))
    events = ics.plan_events(frame, plan)
    assert sorted(e.uid for e in events) == ["visit-%E2%80%83-new.1@kamrules", "visit-C2-new.1@kamrules"]


def test_calendar_errors_are_clean_render_errors_in_both_languages():
    frame = pl.DataFrame({"customer_id": ["C1", "C1"]})
    with pytest.raises(RenderError) as caught:
        ics.read_customers(frame)
    assert isinstance(caught.value, ValueError)
    assert caught.value.render("en") == "visits.ics: customer_id 'C1' appears more than once; visits.ics needs one row " \
                                        "per customer"
    assert caught.value.render("zh") == "visits.ics：customer_id 'C1' 出现了不止一次；visits.ics 要求每位客户一行"
    with pytest.raises(RenderError) as caught:
        ics.read_customers(pl.DataFrame({"customer_id": ["C1"], "contract_end": ["soon"]}))
    assert caught.value.render("zh") == "visits.ics（客户 C1）：客户 C1：contract_end 应为日期，实际为 'soon'"


def test_customers_read_for_some_events_are_still_checked_in_every_row():
    """The calendar describes only the customers its events name, but an id or a date that would
    be refused is refused in any row."""
    frame = pl.DataFrame({"customer_id": ["C1", "C2", "C3"], "name": ["甲", "乙", "丙"],
                          "contract_end": ["2027-01-31", None, " "]})
    customers = ics.read_customers(frame, {"C2", "C9"})
    assert list(customers) == ["C2"] and customers["C2"].name == "乙"
    assert list(ics.read_customers(frame)) == ["C1", "C2", "C3"]
    for bad, message in [({"customer_id": ["C1", "C2", "C1"]}, "customer_id 'C1' appears more than once"),
                         ({"customer_id": ["C1", None, "C1"]}, "a customer without customer_id"),
                         ({"customer_id": ["C1", "C2", "C3"], "contract_end": ["2027-01-31", None, "soon"]},
                          "客户 C3：contract_end 应为日期，实际为 'soon'")]:
        with pytest.raises(RenderError) as caught:
            ics.read_customers(pl.DataFrame(bad), {"C2"})
        assert message in caught.value.render("zh" if "客户" in message else "en")


def test_the_ledger_and_the_renderers_agree_on_blanks():
    from kamrules.ledger.coerce import clean_text

    cells = pl.DataFrame({"c": ["\u2003", "\u2028", "\ufeffC001\u2003", "\u3000", "C 1"]})
    cleaned = cells.select(clean_text(pl.col("c"))).to_series().to_list()
    assert cleaned == [None, None, "C001", None, "C 1"]
    assert [is_blank(c) for c in cells.to_series()] == [v is None for v in cleaned]


# --- point 5: every cell written is cleaned -------------------------------------------------

def test_xml_text_drops_what_xml_cannot_hold():
    assert xml_text("12\x01") == "12" and xml_text("a\ufffeb\uffff") == "ab"
    assert xml_text("x\udcb0.xlsx") == "x\ufffd.xlsx" and xml_text("tab\tnl\n") == "tab\tnl\n"
    assert xml_text("普通文本") == "普通文本"


def test_write_only_rows_headers_and_undecodable_file_names_are_cleaned(tmp_path):
    wb = openpyxl.Workbook(write_only=True)
    sheet = SheetWriter(wb, "s")
    sheet.append(["head\x02er", "b"], header=True)
    sheet.append(["=1+1\x01", "a\x1fb", ["x\x00", "y"], 1.5], [None, None, None, "money"])
    wb.save(tmp_path / "t.xlsx")
    rows = list(openpyxl.load_workbook(tmp_path / "t.xlsx").active.iter_rows(values_only=True))
    assert rows == [("header", "b", None, None), ("=1+1", "ab", "x, y", 1.5)]
    issue = Issue("inputs/\udcb0\udcc4.xlsx", "表\x01", 3, "金额", "12\x01", "not an amount of money", "bad_value", "error",
                  None, None)
    write_issues_workbook(tmp_path / "issues.xlsx", [issue], Words("en"))
    [row] = list(openpyxl.load_workbook(tmp_path / "issues.xlsx").active.iter_rows(min_row=2, values_only=True))
    assert row[1:6] == ("inputs/\ufffd\ufffd.xlsx", "表", 3, "金额", "12")


@pytest.mark.parametrize("title, taken, expected", [
    ("信用/预警[1]", [], "信用_预警_1_"),
    ("a:b*c?d\\e", [], "a_b_c_d_e"),
    ("'quoted'", [], "quoted"),
    ("History", [], "History_"),
    ("line\nbreak\x01", [], "line break"),
    ("长" * 40, [], "长" * 31),
    ("😀" * 20, [], "😀" * 15),
    ("Customers", ["Summary", "customers"], "Customers (2)"),
    ("x" * 40, ["x" * 31], "x" * 27 + " (2)"),
    ("\u2003", [], "_"),
])
def test_alert_sheet_titles_are_made_safe(title, taken, expected):
    assert sheet_title(title, taken) == expected


def test_an_alert_named_like_a_sheet_of_the_workbook_gets_its_own_sheet(tmp_path):
    from conftest import make_project
    from kamrules.pipeline import run

    project = make_project(tmp_path / "p")
    documents = project / "rules" / "documents.yaml"
    documents.write_text(documents.read_text(encoding="utf-8").replace("信用预警:", "数据问题:", 1), encoding="utf-8")
    result = run(project, dt.date(2026, 10, 31))
    names = openpyxl.load_workbook(result.run_dir / "portfolio.xlsx", read_only=True).sheetnames
    assert "数据问题" in names and "数据问题 (2)" in names
    assert names.index("数据问题 (2)") < names.index("数据问题")  # the alert comes first; the issues keep their name


# --- point 19: bounds checked by `check` ----------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("round(x, -1000000000)", "round()'s second argument must be a whole number from -18 to 18, like 2 or -3; "
                              "got -1000000000"),
    ("round(x, 1e18)", "round()'s second argument must be a whole number from -18 to 18, like 2 or -3; got 1e+18"),
    ("round(x, 19)", "round()'s second argument must be a whole number from -18 to 18, like 2 or -3; got 19"),
    ("round(x, n)", "round()'s second argument must be a whole number from -18 to 18, like 2 or -3; got an expression"),
    ("add_months(d, 999999999999)", "add_months()'s second argument must be between -119,987 and 119,987 (years 1 to "
                                    "9999); got 999999999999"),
    ("add_days(d, -3652059)", "add_days()'s second argument must be between -3,652,058 and 3,652,058 (years 1 to "
                              "9999); got -3652059"),
    ("add_days(d, 1e300)", "add_days()'s second argument must be between -3,652,058 and 3,652,058 (years 1 to 9999); "
                           "got 1e+300"),
])
def test_numeric_arguments_are_bounded_when_parsed(text, message):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert caught.value.message == message


def test_bounded_arguments_in_chinese_and_at_their_limits():
    for text in ("round(x, 18)", "round(x, -18)", "add_days(d, 3652058)", "add_months(d, -119987)"):
        parse(text)
    with pytest.raises(ExpressionError) as caught:
        parse("round(x, -1000000000)")
    assert caught.value.message.localize("zh") == \
        "round() 的第二个参数必须是 -18 到 18 之间的整数，例如 2 或 -3；实际为 -1000000000"
    with pytest.raises(ExpressionError) as caught:
        parse("add_months(d, 999999999999)")
    assert caught.value.message.localize("zh") == \
        "add_months() 的第二个参数必须在 -119,987 到 119,987 之间（公元 1 年到 9999 年）；实际为 999999999999"


def test_days_and_months_from_the_data_beyond_the_calendar_are_null():
    frame = pl.DataFrame({"d": [dt.date(2026, 1, 31), dt.date(9999, 12, 1), dt.date(2026, 1, 31)],
                          "n": [1, 1, 10**15], "f": [1.0, float("inf"), float("nan")]})
    for text, expected in [("add_months(d, n)", [dt.date(2026, 2, 28), None, None]),
                           ("add_days(d, n)", [dt.date(2026, 2, 1), dt.date(9999, 12, 2), None]),
                           ("add_days(d, f)", [dt.date(2026, 2, 1), None, None]),
                           ("add_months(d, f)", [dt.date(2026, 2, 28), None, None])]:
        expr = compile_expression(parse(text), pl.col, source=text)
        assert frame.select(expr.alias("r")).to_series().to_list() == expected, text


def test_yaml_integers_are_bounded_at_their_line():
    assert load_yaml("a: 1000000000000000000\nb: -1000000000000000000\nc: 0x1F\n", "r.yaml") == \
        {"a": 10**18, "b": -(10**18), "c": 31}
    with pytest.raises(RulebookError) as caught:
        load_yaml("a: 1\nb: 1000000000000000001\n", "rules/r.yaml")
    assert str(caught.value) == \
        "rules/r.yaml:2:4: number 1000000000000000001 is too large: whole numbers in a rulebook are at most 10^18"
    assert caught.value.render("zh") == \
        "rules/r.yaml:2:4：数字 1000000000000000001 太大：规则文件中的整数最多为 10^18"


@pytest.mark.parametrize("pattern, fields", [
    ("{customer_id}_{name}_服务方案.docx", ["customer_id", "name"]),
    ("{{literal}}_{客户}.docx", ["客户"]),
    ("plain.docx", []),
])
def test_file_name_patterns_are_field_names_in_braces(pattern, fields):
    assert filename_fields(pattern) == fields
    DocumentSpec(id="d", template="t.docx", filename=pattern)


@pytest.mark.parametrize("pattern, problem", [
    ("{customer_id:>900000000}", "{customer_id:>900000000} is not a field name"),
    ("{name.__class__.__mro__}", "{name.__class__.__mro__} is not a field name"),
    ("{name!r}", "{name!r} is not a field name"),
    ("{tags[0]}", "{tags[0]} is not a field name"),
    ("{0}", "{0} is not a field name"),
    ("{}", "{} is not a field name"),
    ("a{b", "the '{' at character 2 has no closing '}'"),
    ("a}b", "a lone '}' at character 2 (write '}}' for a brace itself)"),
])
def test_anything_else_in_a_file_name_pattern_is_refused_with_a_suggestion(pattern, problem):
    with pytest.raises(ValueError) as caught:
        filename_fields(pattern)
    message, hint = caught.value.args
    rest = ": braces hold one field name only, with no format, conversion, attribute or index" \
        if problem.endswith("is not a field name") else ""
    assert message.localize("en") == f"file name pattern {pattern!r} is not valid: {problem}{rest}"
    assert hint.localize("en") == "write only field names in braces, e.g. {customer_id}_{name}.docx"
    assert message.localize("zh").startswith(f"文件名模式 {pattern!r} 无效：")


def test_file_names_are_filled_without_str_format():
    row = {"customer_id": "C1", "name": "{0.__class__}", "day": dt.date(2026, 1, 2), "x": None}
    assert fill_filename("{customer_id}_{name}_{day}_{x}{{}}.docx", row) == "C1_{0.__class__}_2026-01-02_{}.docx"
    with pytest.raises(KeyError):
        fill_filename("{missing}.docx", row)


def test_safe_filename_never_hangs_and_stays_within_its_limit():
    names = ["a." + "b" * 300, "." * 400, "长" * 300 + "." + "长" * 300, "x" * 5000 + ".docx", "\u2003" * 10, "CON.tar.gz"]
    results: list[str] = []
    worker = threading.Thread(target=lambda: results.extend(safe_filename(n) for n in names), daemon=True)
    worker.start()
    worker.join(10)
    assert len(results) == len(names), "safe_filename did not finish"
    assert all(0 < len(r.encode("utf-8")) <= 150 and "/" not in r for r in results)
    assert results[3].endswith(".docx") and results[5] == "_CON.tar.gz"


@pytest.mark.parametrize("settings_, message", [
    ({"validity_days": 36_526}, "Input should be less than or equal to 36525"),
    ({"folder": "../x"}, "folder must be a relative path inside the run folder"),
    ({"folder": "/tmp/x"}, "folder must be a relative path inside the run folder"),
    ({"folder": "C:\\x"}, "folder must be a relative path inside the run folder"),
    ({"folder": "nul"}, "folder must be a relative path inside the run folder"),
    ({"template": "../../other/proposal.docx"}, "template must be a relative path inside templates/"),
])
def test_document_settings_that_leave_the_project_or_the_calendar_are_refused(settings_, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        DocumentSpec(**{"id": "d", "template": "t.docx", **settings_})
    DocumentSpec(id="d", template="zh/t.docx", folder="a/b", validity_days=36_525)


def test_status_colours_are_hex():
    assert PortfolioSpec(status_colors={"冻结": "#ffc7ce"}).status_colors == {"冻结": "FFC7CE"}
    with pytest.raises(ValueError, match="colour 'red' is not a 6-digit hex RGB colour such as FFC7CE"):
        PortfolioSpec(status_colors={"冻结": "red"})
    with pytest.raises(ValueError, match="template must be a relative path inside templates/"):
        PortfolioSpec(template="/etc/portfolio.xlsx")


def test_check_refuses_settings_in_chinese(tmp_path):
    from kamrules.rules.rulebook_compiler import load_rulebook

    project = new_project(tmp_path / "p")
    corpus.filename_attribute(project / "rules")
    with pytest.raises(RulebookInvalid) as caught:
        load_rulebook(project)
    assert caught.value.render("zh") == (
        "规则有 1 处错误：\n  rules/hostile.yaml:6:5 [hostile]：documents[2].filename：文件名模式 "
        "'{name.__class__.__mro__}.docx' 无效：{name.__class__.__mro__} 不是字段名：花括号中只能写一个字段名，不能有格式、"
        "转换、属性或下标\n    建议：请只在花括号中写字段名，例如 {customer_id}_{name}.docx")
    (project / "rules" / "hostile.yaml").unlink()
    corpus.alert_title_with_slash(project / "rules")
    with pytest.raises(RulebookInvalid) as caught:
        load_rulebook(project)
    assert caught.value.render("zh") == (
        "规则有 1 处错误：\n  rules/documents.yaml:85:5：预警页标题 '信用/预警[1]' 不能作为工作表名：Excel 不允许工作表名中出现 "
        "/ [ ]\n    建议：例如 '信用_预警_1_'")


def test_visit_intervals_and_validity_beyond_the_calendar_stay_in_it():
    plan = SimpleNamespace(first="first", every_days="every", purposes=["p"], count=4)
    rulebook = SimpleNamespace(spec=SimpleNamespace(visit_plan=plan))
    first = dt.date(9999, 12, 1)
    assert [v["date"] for v in upcoming_visits({"first": first, "every": 10**12}, rulebook)] == [first]
    assert [v["date"] for v in upcoming_visits({"first": first, "every": 7}, rulebook)] == \
        [first, dt.date(9999, 12, 8), dt.date(9999, 12, 15), dt.date(9999, 12, 22)]
    for every in (float("nan"), float("inf"), True, 0.5, -3, "7"):
        assert upcoming_visits({"first": first, "every": every}, rulebook) == []
    assert _later(dt.date(2026, 10, 31), 90) == dt.date(2027, 1, 29)
    assert _later(dt.date(9999, 12, 1), 36_525) == dt.date.max
