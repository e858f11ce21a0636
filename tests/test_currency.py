"""The project's currency (``currency:`` beside ``locale:``): the workbook's number formats, the
documents' money filters, 大写 only for yuan, unknown codes refused at their YAML line, and CNY —
the default — exactly as before.

The end-to-end checks run ``kamrules run`` on real projects built here (the English example rules,
the bundled templates, the small ledger of conftest) and reopen what it wrote: portfolio.xlsx with
openpyxl, the proposals with python-docx.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from docx import Document
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.errors import RenderError
from kamrules.i18n import localize
from kamrules.render.docx import DocxRenderer, make_environment
from kamrules.render.filters import daxie, make_filters, money, wan
from kamrules.render.xlsx import Column, money_format, number_formats
from kamrules.render.xlsx_template import TemplatePortfolioWriter
from kamrules.rules.documents_config import COMMON_CURRENCIES, currencies
from kamrules.schema import rulebook_schema

from conftest import REPO, small_ledger, write_workbook

# the module's projects are built and run once, by one worker
pytestmark = pytest.mark.xdist_group("currency")

AS_OF = "2026-10-31"
C001_REVENUE_12M = 1_600_000  # SO1 1,000,000 (2026-10-01) + SO2 600,000 (2026-03-15); SO3 is older, SO8 later
REVENUE_HEADER = "Revenue, last 12 months"


# --- filters ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("currency, locale, expected", [
    ("CNY", "zh_CN", "¥1,234.50"),
    ("CNY", "en_US", "CN¥1,234.50"),   # as before: English tells the yuan from the yen
    ("GBP", "en_GB", "£1,234.50"),
    ("GBP", "zh_CN", "£1,234.50"),
    ("USD", "en_US", "$1,234.50"),
    ("EUR", "en_US", "€1,234.50"),
    ("HKD", "zh_CN", "HK$1,234.50"),
    ("JPY", "en_US", "¥1,235"),        # no minor unit: rounded half up to whole yen
    ("JPY", "zh_CN", "JP¥1,235"),
])
def test_money_writes_the_currency_the_locales_way(currency, locale, expected):
    assert money(1234.5, locale, currency) == expected
    assert make_filters(locale, currency)["money"](1234.5) == expected


def test_money_rounds_half_up_to_the_minor_unit_and_keeps_the_empty_dash():
    assert money(0.005, "en_GB", "GBP") == "£0.01"
    assert money(-1234.5, "zh_CN") == "-¥1,234.50"
    assert money(2.5, "en_US", "JPY") == "¥3"
    assert money(None, "en_GB", "GBP") == "—"


def test_money_may_name_another_currency_and_refuses_an_unknown_one():
    filters = make_filters("en_GB", "GBP")
    assert filters["money"](10, "USD") == "US$10.00"
    with pytest.raises(ValueError, match="unknown currency code 'XYZ'"):
        filters["money"](10, "XYZ")
    with pytest.raises(ValueError, match="unknown currency code 'ABC'"):
        make_filters("en_GB", "ABC")


def test_wan_counts_wan_of_the_currency_in_chinese_and_writes_the_amount_elsewhere():
    assert wan(1234567, "zh_CN") == "123.46万元"  # CNY as before
    assert wan(123456.7, "zh_CN", 2, "HKD") == "12.35万港元"
    assert wan(123456.7, "zh_CN", 1, "GBP") == "12.3万英镑"
    assert wan(123456.7, "zh_CN", 2, "USD") == "12.35万美元"
    assert wan(1234567, "en_US") == "CN¥1,234,567.00"  # as before
    assert wan(123456.7, "en_GB", 2, "GBP") == "£123,456.70"
    assert make_filters("zh_CN", "JPY")["wan"](1234567) == "123.46万日元"


def test_daxie_is_for_yuan_only():
    assert daxie(123456) == "壹拾贰万叁仟肆佰伍拾陆元整"
    assert make_filters("zh_CN", "CNY")["daxie"](1234.5) == "壹仟贰佰叁拾肆元伍角整"
    for currency in ("GBP", "HKD", "JPY"):
        with pytest.raises(ValueError) as info:
            make_filters("zh_CN", currency)["daxie"](100)
        message = info.value.args[0]
        assert f"this project's currency is {currency}: use |money instead of |daxie" in message
        assert localize(message, "zh").startswith("大写金额只用于人民币（currency: CNY），本项目的货币是 " + currency)


def _template(path: Path, *paragraphs: str) -> Path:
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(path)
    return path


def _text(path: Path) -> str:
    return "\n".join(p.text for p in Document(path).paragraphs)


def test_a_rendered_document_in_hong_kong_dollars(tmp_path):
    template = _template(tmp_path / "t.docx", "金额：{{ amount|money }}", "约 {{ amount|wan }}",
                         "美元：{{ amount|money('USD') }}")
    DocxRenderer(template, "zh_CN", "templates/t.docx", "HKD").render({"amount": 123456.5}, tmp_path / "out.docx")
    assert _text(tmp_path / "out.docx").splitlines() == ["金额：HK$123,456.50", "约 12.35万港元", "美元：US$123,456.50"]


def test_a_template_with_daxie_is_refused_before_any_document_unless_the_currency_is_cny(tmp_path):
    template = _template(tmp_path / "t.docx", "{{ amount|money }}（大写：{{ amount|daxie }}）")
    DocxRenderer(template, "zh_CN", "templates/t.docx", "CNY").render({"amount": 100}, tmp_path / "cny.docx")
    assert _text(tmp_path / "cny.docx") == "¥100.00（大写：壹佰元整）"
    with pytest.raises(RenderError) as info:
        DocxRenderer(template, "zh_CN", "templates/t.docx", "GBP")
    error = info.value
    assert error.template == "templates/t.docx"
    assert error.message == ("the template uses |daxie (大写, Chinese capital amounts), which is for yuan only; "
                             "this project's currency is GBP")
    assert localize(error.suggestion, "zh") == "请在 Word 中把 |daxie 换成 |money，或删去大写金额"


def test_the_environment_follows_the_currency():
    env = make_environment("en_GB", currency="GBP")
    assert env.from_string("{{ 1234.5|money }} / {{ 1234.5|wan }}").render() == "£1,234.50 / £1,234.50"
    assert make_environment("zh_CN").from_string("{{ 1234.5|money }}").render() == "¥1,234.50"


# --- workbook formats ---------------------------------------------------------------------------

def test_excel_currency_formats():
    assert money_format() == money_format("CNY") == "#,##0.00"  # CNY keeps the format of earlier runs
    assert money_format("GBP") == "[$£-809]#,##0.00"
    assert money_format("USD") == "[$$-409]#,##0.00"
    assert money_format("EUR") == "[$€-1809]#,##0.00"
    assert money_format("HKD") == "[$HK$-C04]#,##0.00"
    assert money_format("JPY") == "[$¥-411]#,##0"
    assert money_format("CHF") == "[$CHF] #,##0.00"
    assert money_format("KWD") == "[$KWD] #,##0.000"  # three decimals (fils)
    formats = number_formats("GBP")
    assert formats["money"] == "[$£-809]#,##0.00" and formats["percent"] == "0.0%" and formats["number"] == "#,##0.00"


def test_company_template_money_cells_take_the_currency(tmp_path):
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.table import Table

    path = tmp_path / "portfolio.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["客户编号", "近12个月销售额", "折扣"])
    ws.append([None, None, None])
    ws["B2"].number_format = "General"
    ws.add_table(Table(displayName="customers", ref="A1:C2"))
    ws["E1"].number_format = '"GBP "#,##0'  # the template's own format is kept
    wb.defined_names["revenue_12m"] = DefinedName("revenue_12m", attr_text="名单!$E$1")
    wb.defined_names["customer_count"] = DefinedName("customer_count", attr_text="名单!$F$1")
    wb.save(path)
    columns = [Column("customer_id", "客户编号", "text"), Column("revenue_12m", "近12个月销售额", "money"),
               Column("discount", "折扣", "percent")]
    frame = pl.DataFrame({"customer_id": ["C001", "C002"], "revenue_12m": [1600000.0, 120000.0],
                          "discount": [0.1, 0.0]})
    writer = TemplatePortfolioWriter(path, "templates/portfolio.xlsx", columns, dt.date(2026, 10, 31), "GBP")
    assert writer.write(tmp_path / "out.xlsx", frame, [], {}) == []
    out = openpyxl.load_workbook(tmp_path / "out.xlsx")["名单"]
    assert [(c.value, c.number_format) for c in out["B"][1:]] == [(1600000, "[$£-809]#,##0.00"),
                                                                 (120000, "[$£-809]#,##0.00")]
    assert out["C2"].number_format == "0.0%"
    assert (out["E1"].value, out["E1"].number_format) == (1720000, '"GBP "#,##0')
    assert (out["F1"].value, out["F1"].number_format) == (2, "General")


# --- the setting ---------------------------------------------------------------------------------

def _project(root: Path, currency: str | None, rules: Path = REPO / "examples" / "en" / "rules") -> Path:
    """The given rules (the English example by default), the bundled templates, the small ledger, and
    ``currency:`` replaced (None: the line removed, so the default applies)."""
    shutil.copytree(rules, root / "rules")
    shutil.copytree(REPO / "templates", root / "templates")
    write_workbook(root / "inputs" / "ledger.xlsx", small_ledger())
    documents = root / "rules" / "documents.yaml"
    text = documents.read_text(encoding="utf-8")
    assert re.search(r"(?m)^currency: CNY\b", text)
    replacement = "" if currency is None else f"currency: {currency}"
    documents.write_text(re.sub(r"(?m)^currency: CNY\b.*$", replacement, text), encoding="utf-8")
    return root


def _run(root: Path) -> Path:
    result = CliRunner().invoke(app, ["run", "-p", str(root), "--as-of", AS_OF, "--workers", "1", "-q"])
    assert result.exit_code == 0, result.output
    return next(p for p in (root / "outputs").iterdir() if p.is_dir())


@pytest.mark.parametrize("written, line, suggestion", [
    ("GPB", 5, "did you mean 'GBP'?"),
    ("gbp", 5, "did you mean 'GBP'?"),
    ("RMB", 5, "did you mean 'CNY'?"),
    ("人民币", 5, "did you mean 'CNY'?"),
    ("EURO", 5, "did you mean 'EUR'?"),
])
def test_an_unknown_currency_is_an_error_at_its_line_with_the_code_meant(tmp_path, written, line, suggestion):
    project = _project(tmp_path / "p", written)
    result = CliRunner().invoke(app, ["check", "-p", str(project), "--lang", "en"])
    assert result.exit_code == 1, result.output
    assert (f"rules/documents.yaml:{line}:1: currency: unknown currency code {written!r}: use an ISO 4217 "
            "three-letter code such as CNY, HKD, USD, EUR, GBP or JPY") in result.output
    assert f"hint: {suggestion}" in result.output
    chinese = CliRunner().invoke(app, ["check", "-p", str(project), "--lang", "zh"])
    assert f"currency：未知的货币代码 {written!r}：请使用 ISO 4217 三字母代码" in chinese.output
    assert "建议：您是否指 " in chinese.output


def test_every_common_currency_is_accepted_and_the_schema_lists_the_codes(tmp_path):
    assert set(COMMON_CURRENCIES) <= set(currencies())
    assert "DEM" not in currencies()  # no longer in use anywhere
    schema = rulebook_schema()["properties"]["currency"]
    assert schema["default"] == "CNY" and "GBP" in schema["enum"] and len(schema["enum"]) == len(currencies())
    for currency in ("GBP", "USD", "EUR", "HKD", "JPY", "CHF"):
        project = _project(tmp_path / currency, currency)
        result = CliRunner().invoke(app, ["check", "-p", str(project), "--lang", "en"])
        assert result.exit_code == 0, result.output


def test_150_wan_stays_a_number_in_a_pound_project(tmp_path):
    project = _project(tmp_path / "p", "GBP")
    (project / "rules" / "wan.yaml").write_text(
        "decisions:\n  big_spender:\n    title: Big spender\n    hit: first\n    outputs: {big: bool}\n"
        "    rules:\n      - {id: W1, when: \"revenue_12m >= 150万\", then: {big: true}}\n"
        "    default: {big: false}\n", encoding="utf-8")
    run = _run(project)
    rows = list(openpyxl.load_workbook(run / "portfolio.xlsx", read_only=True)["Customers"].values)
    column = rows[0].index("Big spender")
    assert {row[0]: row[column] for row in rows[1:]} == {"C001": "Yes", "C002": "No", "C003": "No"}  # booleans in words


# --- end to end ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pound_run(tmp_path_factory) -> Path:
    return _run(_project(tmp_path_factory.mktemp("gbp") / "p", "GBP"))


def _money_cells(ws) -> dict[str, tuple[object, str]]:
    """First customer row of a sheet: header → (value, number format)."""
    header = [c.value for c in ws[1]]
    return {h: (c.value, c.number_format) for h, c in zip(header, ws[2])}


def test_pound_workbook_money_columns_and_summary(pound_run):
    wb = openpyxl.load_workbook(pound_run / "portfolio.xlsx")
    customers = _money_cells(wb["Customers"])
    assert customers[REVENUE_HEADER] == (C001_REVENUE_12M, "[$£-809]#,##0.00")
    assert customers["Outstanding"][1] == "[$£-809]#,##0.00"
    assert customers["Credit limit"][1] == "[$£-809]#,##0.00"
    assert customers["Discount"][1] == "0.0%"  # other formats unchanged
    money_columns = [h for h, (_, f) in customers.items() if f.startswith("[$£")]
    assert len(money_columns) >= 20
    summary = {row[0].value: row[1] for row in wb["Summary"].iter_rows(max_col=2) if row[0].value}
    assert summary[REVENUE_HEADER].value == 1_720_000
    assert summary[REVENUE_HEADER].number_format == "[$£-809]#,##0.00"
    breakdown = [row for row in wb["Summary"].iter_rows(max_col=4) if row[2].number_format.startswith("[$£")]
    assert breakdown, "the per-tier revenue of the summary carries the currency too"
    alerts = [ws for ws in wb.worksheets if ws.title == "Credit warnings"]
    assert alerts and _money_cells(alerts[0])["Outstanding"][1] == "[$£-809]#,##0.00"


def test_pound_proposal_shows_pounds(pound_run):
    (proposal,) = (pound_run / "proposals").glob("C001_*.docx")
    document = Document(proposal)
    text = "\n".join([p.text for p in document.paragraphs]
                     + [c.text for t in document.tables for r in t.rows for c in r.cells])
    assert f"£{C001_REVENUE_12M:,.2f}" in text
    assert re.findall(r"£[\d,]+\.\d\d", text)
    assert "CN¥" not in text and "元" not in text


def test_yen_has_no_decimals_anywhere(tmp_path):
    run = _run(_project(tmp_path / "p", "JPY"))
    customers = _money_cells(openpyxl.load_workbook(run / "portfolio.xlsx")["Customers"])
    assert customers[REVENUE_HEADER] == (C001_REVENUE_12M, "[$¥-411]#,##0")
    (proposal,) = (run / "proposals").glob("C001_*.docx")
    text = "\n".join(p.text for p in Document(proposal).paragraphs) + "\n".join(
        c.text for t in Document(proposal).tables for r in t.rows for c in r.cells)
    assert f"¥{C001_REVENUE_12M:,}" in text and f"¥{C001_REVENUE_12M:,}.00" not in text


def test_chinese_templates_with_daxie_stop_a_hong_kong_dollar_run_before_any_document(tmp_path):
    project = _project(tmp_path / "p", "HKD", rules=REPO / "rules")
    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", AS_OF, "--workers", "1", "--lang", "en"])
    assert result.exit_code != 0
    assert "templates/proposal.docx: the template uses |daxie" in result.output
    assert "this project's currency is HKD" in result.output
    assert not [p for p in (project / "outputs").iterdir() if p.is_dir() and not p.name.startswith(".")]


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if not name.startswith("docProps/")}


@pytest.mark.parametrize("rules", ["rules", "examples/en/rules"])
def test_cny_written_or_not_gives_the_same_bytes(tmp_path, rules):
    """``currency: CNY`` is the default: with or without the line, the workbook and the documents are
    the same bytes (docProps hold the time of writing), and money is still ``#,##0.00`` and ¥."""
    default = _run(_project(tmp_path / "default", None, REPO / rules))
    written = _run(_project(tmp_path / "written", "CNY", REPO / rules))
    assert _members(default / "portfolio.xlsx") == _members(written / "portfolio.xlsx")
    documents = sorted(p.relative_to(default) for p in default.rglob("*.docx"))
    assert documents and documents == sorted(p.relative_to(written) for p in written.rglob("*.docx"))
    for name in documents:
        assert _members(default / name) == _members(written / name), name
    sheet = openpyxl.load_workbook(default / "portfolio.xlsx").worksheets[1]
    header = [c.value for c in sheet[1]]
    revenue = header.index(REVENUE_HEADER if rules != "rules" else "近12个月销售额") + 1
    assert sheet.cell(2, revenue).number_format == "#,##0.00"
    (proposal,) = (default / "proposals").glob("C001_*.docx")
    text = "\n".join(c.text for t in Document(proposal).tables for r in t.rows for c in r.cells)
    assert ("¥1,600,000.00" if rules == "rules" else "CN¥1,600,000.00") in text
