"""Workbooks that read on screen and on paper (issue 22): column widths fitted with East Asian
width, wrapped long text, the lead columns first and the rest grouped, a print setup on every
sheet, an overview on one page, charts that read, booleans in words, the models on their own
sheet, issues.xlsx filterable; and (slow, with LibreOffice) the page counts of the printed PDF."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.render.sheetdata import (MAX_WIDTH, MIN_WIDTH, content_widths, header_width, lines_at,
                                       number_text_width, text_width)
from kamrules.render.xlsx import ROW_HEIGHT

LEAD_ZH = ["客户编号", "客户名称", "客户经理", "客户等级", "大客户", "近12个月销售额", "销售额同比增长", "折扣", "信用额度",
           "信用状态", "下次拜访日期", "流失风险"]


def _east_asian(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _workbook(run_dir: Path, name: str = "portfolio.xlsx") -> openpyxl.Workbook:
    return openpyxl.load_workbook(run_dir / name)


@pytest.fixture(scope="module")
def chinese(bundled_run):
    return _workbook(bundled_run(None)[1])


@pytest.fixture(scope="module")
def english(bundled_run):
    return _workbook(bundled_run("en")[1])


def _width(ws, column: int) -> float:
    return ws.column_dimensions[openpyxl.utils.get_column_letter(column)].width


# --- widths -------------------------------------------------------------------------------------

def test_east_asian_width_in_python_and_polars_agree():
    names = ["洛阳合众智能科技有限公司", "A&B <Co> 贸易有限公司", "ＡＢＣ全角", "Ünïcode ok", "😀 emoji 公司", "", "𠀀𠀁"]
    assert [text_width(n) for n in names] == [_east_asian(n) for n in names]
    measured = content_widths(pl.DataFrame({"name": names}), [None])
    assert measured == [max(_east_asian(n) for n in names)]
    assert text_width("line one\n第二行很长很长") == 14  # the widest line


def test_headers_fit_in_two_lines_and_numbers_in_their_format():
    for header in ("未来12个月客户价值（折现）", "Customer value, next 12 months (discounted)", "客户编号", "折扣"):
        width = header_width(header)
        assert lines_at(header, width) <= 2 and MIN_WIDTH <= width
    assert number_text_width(1234567.891, "#,##0.00") == len("1,234,567.89")
    assert number_text_width(0.125, "0.0%") == len("12.5%")
    assert number_text_width(-5, "[$£-809]#,##0.00") == len("£ -5.00")
    frame = pl.DataFrame({"money": [1.0, 27_457_617.8, float("inf")], "day": [None, None, None]},
                         schema_overrides={"day": pl.Date})
    assert content_widths(frame, ["#,##0.00", "yyyy-mm-dd"]) == [len("27,457,617.80"), 0.0]


@pytest.mark.parametrize("lang", [None, "en"])
def test_the_name_column_fits_the_longest_name(bundled_run, lang):
    wb = _workbook(bundled_run(lang)[1])
    ws = wb.worksheets[1]  # 客户 / Customers
    header = [c.value for c in ws[1]]
    column = header.index("客户名称") + 1  # (the ledger's column titles are the rulebook author's words)
    names = [r[0] for r in ws.iter_rows(min_row=2, min_col=column, max_col=column, values_only=True) if r[0]]
    assert len(names) == 330
    longest = max(_east_asian(n) for n in names)
    assert longest >= 20  # Chinese company names: two units a character
    assert longest < _width(ws, column) <= MAX_WIDTH


def test_headers_are_never_cut(chinese, english):
    for wb in (chinese, english):
        for ws in wb.worksheets:
            if ws.title in ("概览", "Summary"):
                continue
            height = ws.row_dimensions[1].height or ROW_HEIGHT
            for cell in ws[1]:
                if isinstance(cell.value, str):
                    lines = lines_at(cell.value, _width(ws, cell.column))
                    assert lines * ROW_HEIGHT <= height, (ws.title, cell.value)


def test_long_text_wraps(chinese):
    ws = chinese["客户"]
    header = [c.value for c in ws[1]]
    basis = header.index("折扣依据") + 1
    assert ws.cell(2, basis).alignment.wrap_text
    assert not ws.cell(2, header.index("客户名称") + 1).alignment.wrap_text
    issues = chinese["数据问题"]
    issue_header = [c.value for c in issues[1]]
    for title in ("问题", "建议"):
        assert issues.cell(2, issue_header.index(title) + 1).alignment.wrap_text


# --- lead columns and groups --------------------------------------------------------------------

def test_lead_columns_first_and_the_rest_grouped_and_hidden(chinese, bundled_run):
    for title in ("客户", "信用预警", "流失风险"):
        ws = chinese[title]
        header = [c.value for c in ws[1]]
        assert header[:12] == LEAD_ZH, title
        assert len(header) > 90 and "客户等级依据" in header  # nothing dropped: the rest follow
        for column in range(1, len(header) + 1):
            dimension = ws.column_dimensions[openpyxl.utils.get_column_letter(column)]
            assert (dimension.outline_level, bool(dimension.hidden)) == ((0, False) if column <= 12 else (1, True))
        assert ws.freeze_panes == "C2"
    with zipfile.ZipFile(bundled_run(None)[1] / "portfolio.xlsx") as archive:
        sheet = archive.read("xl/worksheets/sheet2.xml").decode()
    assert 'outlineLevelCol="1"' in sheet  # Excel draws the outline bar only with it


def test_lead_is_the_policys_choice_and_checked(project):
    documents = project / "rules" / "documents.yaml"
    text = documents.read_text(encoding="utf-8")
    documents.write_text(text.replace("portfolio:\n", "portfolio:\n  lead: [name, tier, nmae]\n"), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "-p", str(project), "--lang", "en"])
    assert result.exit_code == 1 and "portfolio column 'nmae' is not a field" in result.output
    assert "name" in result.output.split("nmae", 1)[1]  # did you mean
    documents.write_text(text.replace("portfolio:\n", "portfolio:\n  lead: [name, tier]\n"), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "-q"])
    assert result.exit_code == 0, result.output
    run_dir = next((project / "outputs").iterdir())
    ws = _workbook(run_dir)["客户"]
    assert [c.value for c in ws[1]][:3] == ["客户名称", "客户等级", "客户编号"]
    assert ws.column_dimensions["C"].hidden and not ws.column_dimensions["B"].hidden


# --- printing -----------------------------------------------------------------------------------

def test_every_sheet_prints_landscape_one_page_wide_with_its_header(chinese, english):
    for wb in (chinese, english):
        for ws in wb.worksheets:
            setup = ws.page_setup
            assert (setup.orientation, setup.paperSize, setup.fitToWidth) == ("landscape", 9, 1), ws.title
            assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
            assert ws.print_area, ws.title
            assert ws.oddFooter.center.text in ("第 &P 页，共 &N 页", "Page &P of &N")
            assert ws.oddHeader.left.text == "上海恒信供应链管理有限公司"
            assert "2026-10-31" in ws.oddHeader.right.text
            if ws.title in ("概览", "Summary"):
                assert setup.fitToHeight == 1  # the overview: one page
            else:
                assert setup.fitToHeight == 0 and ws.print_title_rows == "$1:$1", ws.title


def test_the_overview_holds_its_charts_on_its_one_page(chinese):
    ws = chinese["概览"]
    _, _, last_column, last_row = openpyxl.utils.range_boundaries(ws.print_area.split("!")[-1].replace("$", ""))
    assert len(ws._charts) == 3
    for chart in ws._charts:
        start = chart.anchor._from
        assert start.col + 1 < last_column and start.row + 14 <= last_row


# --- words, legend, models ----------------------------------------------------------------------

def test_booleans_are_words(chinese, english):
    for wb, title, header, words in ((chinese, "客户", "大客户", {"是", "否"}), (chinese, "信用预警", "优先发货", {"是", "否"}),
                                     (english, "Customers", None, {"Yes", "No"})):
        ws = wb[title]
        names = [c.value for c in ws[1]]
        column = names.index(header) + 1 if header else 5  # the lead's key-account column
        values = {r[0] for r in ws.iter_rows(min_row=2, min_col=column, max_col=column, values_only=True)}
        assert values == words, (title, values)


def test_overview_has_a_colour_legend_and_one_sentence_on_the_models(chinese):
    ws = chinese["概览"]
    rows = {r[0].value: r for r in ws.iter_rows(max_col=3) if r[0].value}
    legend = rows["信用状态颜色"]
    assert [(c.value, c.fill.fgColor.rgb[-6:]) for c in legend[1:]] == [("冻结", "FFC7CE"), ("预警", "FFEB9C")]
    sentence = rows["预测模型"][1].value
    assert sentence.startswith("购买预测（BG/NBD）已拟合：324 位客户，已收敛") and "“模型”工作表" in sentence
    everything = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    assert "对数似然" not in everything and "alpha" not in everything


def test_models_sheet_explains_each_number(chinese, english):
    for wb, title in ((chinese, "模型"), (english, "Models")):
        rows = list(wb[title].iter_rows(min_row=2, values_only=True))
        items = {r[1] for r in rows}
        assert {"r", "alpha", "a", "b", "p", "q", "gamma"} <= items
        assert all(r[3] for r in rows), "every number has its meaning"
    rows = {r[1]: r for r in chinese["模型"].iter_rows(min_row=2, values_only=True) if r[0].startswith("购买")}
    assert rows["对数似然"][2] < 0 and "越接近 0 越好" in rows["对数似然"][3]
    assert re.fullmatch(r"每年约 \d+\.\d 次", rows["平均购买频率"][2])


# --- charts -------------------------------------------------------------------------------------

def _charts(run_dir: Path) -> list[str]:
    with zipfile.ZipFile(run_dir / "portfolio.xlsx") as archive:
        return [archive.read(n).decode() for n in sorted(archive.namelist()) if n.startswith("xl/charts/chart")]


def test_charts_read(bundled_run):
    tiers, exposure, pareto = _charts(bundled_run(None)[1])
    for single in (tiers, exposure):
        assert "<legend>" not in single  # one series: no legend
    assert "<a:t>万元</a:t>" in exposure and 'formatCode="#,##0"' in exposure
    assert "'概览'!$D$" in exposure  # the amounts in 万, from their own column
    assert "<scatterChart>" in pareto and pareto.count("<ser>") == 2  # the curve and the 80% line
    assert '<max val="1"/>' in pareto and '<majorUnit val="100"/>' in pareto  # up to 100%; a tick every 100 ranks
    ws = _workbook(bundled_run(None)[1])["帕累托"]
    assert {r[0] for r in ws.iter_rows(min_row=2, min_col=5, max_col=5, values_only=True)} == {0.8}
    (english_exposure,) = [c for c in _charts(bundled_run("en")[1]) if "Credit exposure" in c]
    assert "CNY thousands" in english_exposure


# --- fonts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang, font", [(None, "等线"), ("en", "Calibri")])
def test_every_font_is_named(bundled_run, lang, font):
    run_dir = bundled_run(lang)[1]
    for name in ("portfolio.xlsx", "issues.xlsx"):
        with zipfile.ZipFile(run_dir / name) as archive:
            styles = archive.read("xl/styles.xml").decode()
        fonts = re.findall(r"<font>.*?</font>|<font/>", styles)
        assert fonts and all(f'<name val="{font}"/>' in f for f in fonts), (name, fonts)


# --- issues.xlsx --------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", [None, "en"])
def test_issues_workbook_has_widths_wrap_filter_and_frozen_header(bundled_run, lang):
    ws = _workbook(bundled_run(lang)[1], "issues.xlsx").active
    header = [c.value for c in ws[1]]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}{ws.max_row}"
    widths = [_width(ws, i) for i in range(1, len(header) + 1)]
    assert all(MIN_WIDTH <= w <= MAX_WIDTH for w in widths)
    problem = header.index("问题" if lang is None else "Problem") + 1
    suggestion = header.index("建议" if lang is None else "Suggestion") + 1
    assert widths[problem - 1] == MAX_WIDTH and ws.cell(2, problem).alignment.wrap_text
    assert ws.cell(2, suggestion).alignment.wrap_text
    files = [r[0] for r in ws.iter_rows(min_row=2, min_col=2, max_col=2, values_only=True)]
    assert _width(ws, 2) > max(_east_asian(f) for f in files)
    kind = header.index("问题类型" if lang is None else "Kind") + 1
    kinds = {r[0] for r in ws.iter_rows(min_row=2, min_col=kind, max_col=kind, values_only=True)}
    assert kinds and not [k for k in kinds if re.fullmatch(r"[a-z_]+", k)]  # codes as words
    assert ws.page_setup.fitToWidth == 1 and ws.print_title_rows == "$1:$1"


# --- on paper (LibreOffice) ---------------------------------------------------------------------

def _page_sheets(pdf: Path) -> list[str]:
    """The sheet named in each page's header (the header's centre: ``&A``)."""
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                                                             check=True).stdout).group(1))
    names = []
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        first = next(line for line in text.splitlines() if line.strip())
        names.append(re.split(r"\s{2,}", first.strip())[1])
    return names


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("soffice") and shutil.which("pdftotext") and shutil.which("pdfinfo")),
                    reason="needs LibreOffice and poppler")
def test_printed_portfolio_has_bounded_pages(bundled_run, tmp_path):
    shutil.copy(bundled_run(None)[1] / "portfolio.xlsx", tmp_path / "portfolio.xlsx")
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(tmp_path / "portfolio.xlsx")], capture_output=True, timeout=300,
                   check=True)
    sheets = _page_sheets(tmp_path / "portfolio.pdf")
    assert sheets.count("概览") == 1 and sheets[0] == "概览"  # the overview and its charts on one page
    assert 1 <= sheets.count("客户") <= 30  # 330 customers: not hundreds of pages
    assert len(sheets) <= 80


def test_page_header_keeps_ampersands_and_the_issues_file_names_the_company(tmp_path):
    from kamrules.errors import Issue
    from kamrules.i18n import Words
    from kamrules.render.xlsx import _header_text, write_issues_workbook

    assert _header_text("A&B 贸易") == "A&&B 贸易" and _header_text(" \n ") is None  # & alone starts a code
    issue = Issue("inputs/台账.xlsx", "销售明细", 6, "金额", "待确认" * 40, "not an amount", "bad_value", "error",
                  None, None)
    write_issues_workbook(tmp_path / "issues.xlsx", [issue], Words("zh"), company="A&B 贸易",
                          as_of=__import__("datetime").date(2026, 10, 31))
    ws = openpyxl.load_workbook(tmp_path / "issues.xlsx").active
    assert ws.oddHeader.left.text == "A&&B 贸易" and ws.oddHeader.right.text == "数据截至2026-10-31"
    value = [c.value for c in ws[1]].index("值") + 1
    assert _width(ws, value) == MAX_WIDTH and ws.cell(2, value).alignment.wrap_text  # too long for a column: wraps
