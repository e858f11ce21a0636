"""Messages of rendering and running in Chinese (and English unchanged): template errors, the
project lock, explain, diff, init, the drop folder's notes and log, PDF, calendar and Excel
template findings."""

from __future__ import annotations

import datetime as dt
import logging
import os
import json
import textwrap

import openpyxl
import polars as pl
import pytest
from docx import Document
from pydantic import ValidationError
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.errors import LedgerError, LockedError, ProjectError
from kamrules.i18n import localize, msg
from kamrules.init import init_project
from kamrules.names import did_you_mean
from kamrules.pipeline import LOCK_NAME, project_lock
from kamrules.render import pdf
from kamrules.rules.calendar_config import CalendarSpec
from kamrules.render.docx import DocxRenderer
from kamrules.render.xlsx_template import TemplatePortfolioWriter
from kamrules.watch import WATCH_LOCK, WatchOptions, run_if_changed, set_aside

from conftest import make_project

AS_OF = "2026-10-31"


def invoke(*args, lang: str = "zh"):
    return CliRunner().invoke(app, [*map(str, args), "--lang", lang])


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "p")


def template(project, text: str) -> None:
    doc = Document()
    doc.add_paragraph(text)
    doc.save(project / "templates" / "proposal.docx")


def test_a_name_not_in_the_context_through_the_cli(project):
    template(project, "尊敬的 {{ customer_nam }}")
    result = invoke("run", "-p", project, "--as-of", AS_OF, "--workers", "1")
    hint = localize(did_you_mean("customer_nam", ["customer_id"]), "zh")
    assert (result.exit_code, result.output) == (1, (
        "错误：templates/proposal.docx（客户 C001）：模板使用了 customer_nam，但数据中没有这个名称："
        f"'customer_nam' is undefined\n  建议：{hint}\n"))
    english = invoke("run", "-p", project, "--as-of", AS_OF, "--workers", "1", lang="en")
    assert (english.exit_code, english.output) == (1, (
        "error: templates/proposal.docx (customer C001): template uses customer_nam which is not in the context: "
        "'customer_nam' is undefined\n  hint: did you mean 'customer_id'?\n"))


def test_a_template_syntax_error_through_check(project):
    template(project, "尊敬的 {{ name }")
    result = invoke("check", "-p", project)
    assert (result.exit_code, result.output) == (1, (
        "错误：templates/proposal.docx：模板语法错误：unexpected '}'\n"
        "  建议：请在 Word 里一次性重新输入整个 {{ … }} 标记，以免它被格式拆开\n"))
    english = invoke("check", "-p", project, lang="en")
    assert english.output == ("error: templates/proposal.docx: template syntax error: unexpected '}'\n"
                              "  hint: in Word, retype the whole {{ … }} tag in one go so it is not split\n")


def test_an_unknown_template_placeholder_is_a_chinese_finding(project):
    template(project, "尊敬的 {{ name }}，等级 {{ teir }}")
    result = invoke("check", "-p", project)
    heading = msg("cli.check.problems", count=1, s="").localize("zh")
    assert (result.exit_code, result.output) == (1, (
        f"{heading}\n"
        "  templates/proposal.docx [proposal]：模板使用了 'teir'，但没有任何客户字段、指标或决策提供它\n"
        f"    建议：{localize(did_you_mean('teir', ['tier']), 'zh')}\n"))


def test_sandbox_limits_and_refused_content_in_chinese(tmp_path):
    path = tmp_path / "t.docx"
    doc = Document()
    doc.add_paragraph("{{ 2 ** 100 }}")
    doc.save(path)
    with pytest.raises(Exception) as info:
        DocxRenderer(path, "zh_CN", "templates/t.docx").render({}, tmp_path / "out.docx", "C001")
    assert info.value.render("zh") == ("templates/t.docx（客户 C001）：模板试图执行不安全的操作："
                                       "模板中不允许大于 64 的指数")
    assert str(info.value) == ("templates/t.docx (customer C001): template tried something unsafe: "
                               "an exponent above 64 is not allowed in templates")
    doc = Document()
    doc.add_paragraph("{{ amount | daxie }}")
    doc.save(path)
    with pytest.raises(Exception) as info:
        DocxRenderer(path, "zh_CN", "templates/t.docx").render({"amount": 10 ** 17}, tmp_path / "out.docx")
    assert info.value.render("zh") == "templates/t.docx：无法生成文档：金额太大，无法写成大写：100000000000000000"
    assert str(info.value) == "templates/t.docx: cannot render: amount too large for 大写: 100000000000000000"
    (tmp_path / "bad.docx").write_bytes(b"not a docx")
    with pytest.raises(Exception) as info:
        DocxRenderer(tmp_path / "bad.docx", "zh_CN", "templates/bad.docx")
    assert info.value.render("zh") == "templates/bad.docx：不是 Word .docx 文件（BadZipFile）"


def test_a_locked_project_in_chinese(project):
    outputs = project / "outputs"
    outputs.mkdir()
    with project_lock(outputs):  # held by this process, as a running kamrules would hold it
        result = invoke("run", "-p", project, "--as-of", AS_OF)
    assert (result.exit_code, result.output) == (1, (
        f"错误：{outputs / LOCK_NAME}：另一个 kamrules 运行正在处理这个项目（进程 {os.getpid()}）\n"
        "  建议：请等它结束（那个进程结束时锁会自动释放）\n"))
    with project_lock(outputs, WATCH_LOCK, msg("watch.locked")), pytest.raises(LockedError) as info, \
            project_lock(outputs, WATCH_LOCK, msg("watch.locked")):
        pass
    assert info.value.render("zh").splitlines()[0] == (
        f"{outputs / WATCH_LOCK}：另一个 kamrules watch 已在监视这个项目（进程 {os.getpid()}）")
    assert str(info.value).splitlines()[0] == (
        f"{outputs / WATCH_LOCK}: another kamrules watch is already watching this project (process {os.getpid()})")


def test_explain_errors_in_chinese(project):
    before = invoke("explain", "C001", "-p", project)
    assert (before.exit_code, before.output) == (1, (
        f"错误：{project / 'outputs'}：outputs/ 中还没有已完成的运行\n  建议：请先运行 `kamrules run`\n"))
    assert invoke("run", "-p", project, "--as-of", AS_OF, "-q", "--workers", "1").exit_code == 0
    run = next(p for p in (project / "outputs").iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = invoke("explain", "C01", "-p", project)
    hint = localize(did_you_mean("C01", ["C001", "C002", "C003"]), "zh")
    assert (unknown.exit_code, unknown.output) == (1, (
        f"错误：{run}：客户 'C01' 不在运行 {run.name} 中\n  建议：{hint}\n"))
    no_run = invoke("explain", "C001", "-p", project, "--run", "20990101-000000")
    assert (no_run.exit_code, no_run.output) == (1, (
        f"错误：{project / 'outputs'}：outputs/ 中没有已完成的运行 '20990101-000000'\n"
        f"  建议：已有的运行：{run.name}\n"))


def test_diff_without_rules_in_chinese(project, tmp_path):
    result = invoke("diff", "--rules", tmp_path / "nope", "-p", project, "--as-of", AS_OF)
    assert (result.exit_code, result.output) == (1, (
        f"错误：{tmp_path / 'nope'}：没有可以比较的规则\n"
        "  建议：请指定一个规则文件夹（含 policy.yaml 等），或一个带 rules/ 的项目文件夹\n"))


def test_init_refuses_to_overwrite_in_chinese(tmp_path):
    target = tmp_path / "p"
    (target / "rules").mkdir(parents=True)
    (target / "README.md").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(app, ["init", str(target), "--lang", "zh"])
    assert (result.exit_code, result.output) == (1, (
        f"错误：{target}：会覆盖已有的 rules, README.md\n"
        "  建议：请选择一个新的或空的文件夹；kamrules init 从不覆盖任何文件\n"))
    with pytest.raises(ProjectError) as info:
        init_project(tmp_path / "q", "fr")
    assert info.value.render("zh") == "不认识的语言 'fr'\n  建议：请使用 --lang zh 或 --lang en"
    assert str(info.value) == "unknown language 'fr'\n  hint: use --lang zh or --lang en"


def test_a_file_set_aside_has_a_chinese_note_then_the_english_one(project, caplog):
    bad = project / "inputs" / "坏.xlsx"
    bad.write_bytes(b"PK")
    error = LedgerError(msg("watch.never_ready", seconds=60.0), file="inputs/坏.xlsx")
    with caplog.at_level(logging.INFO, logger="kamrules.watch"):
        target = set_aside(project, bad, error)
    note = target.with_name("坏.xlsx.error.txt").read_text(encoding="utf-8")
    assert note == ("文件：坏.xlsx\n"
                    "原因：文件一直不可用：已 60 秒没有变化，但仍然无法打开\n"
                    "详情：inputs/坏.xlsx：文件一直不可用：已 60 秒没有变化，但仍然无法打开\n"
                    "处理：请修正后重新放入 inputs/ 文件夹。\n\n"
                    "File: 坏.xlsx\n"
                    "Reason: inputs/坏.xlsx: never became ready: unchanged for 60 seconds but still cannot be opened\n"
                    "Fix the file and copy it into inputs/ again.\n")
    assert caplog.messages == ["已将 坏.xlsx 移到 inputs/rejected/：文件一直不可用：已 60 秒没有变化，但仍然无法打开"]
    (project / "inputs" / "又坏.xlsx").write_bytes(b"PK")
    english = set_aside(project, project / "inputs" / "又坏.xlsx", error, "en")
    assert english.with_name("又坏.xlsx.error.txt").read_text(encoding="utf-8") == (
        "File: 又坏.xlsx\n"
        "Reason: inputs/坏.xlsx: never became ready: unchanged for 60 seconds but still cannot be opened\n"
        "Fix the file and copy it into inputs/ again.\n")


def test_the_drop_folder_logs_in_the_projects_language(project, caplog):
    with caplog.at_level(logging.INFO, logger="kamrules.watch"):
        result = run_if_changed(project, WatchOptions(as_of=dt.date(2026, 10, 31), workers=1))
    name = result.run_dir.name
    assert caplog.messages[-1] == f"运行 {name} 已发布：3 位客户，{result.rejected_rows} 行数据被拒绝"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="kamrules.watch"):
        run_if_changed(project, WatchOptions(as_of=dt.date(2026, 10, 31), workers=1, force=True, lang="en"))
    assert caplog.messages[-1].endswith(f"published: 3 customers, {result.rejected_rows} rows rejected")


def test_pdf_skipped_says_why_in_chinese(monkeypatch, tmp_path):
    monkeypatch.setattr(pdf, "find_office", lambda: None)
    result = pdf.export_pdfs([tmp_path / "a.docx"])
    assert result.skipped == "LibreOffice (soffice) is not installed"
    assert localize(result.skipped, "zh") == "未安装 LibreOffice（soffice）"


@pytest.mark.parametrize("spec, english, chinese", [
    ({"festivals": [{"name": "春节", "date": "2027/02/06"}]},
     "festival date must be YYYY-MM-DD (that day only, like 2027-02-06) or MM-DD (every year, like 10-01); "
     "got '2027/02/06'",
     "节日日期必须写成 YYYY-MM-DD（仅当天，例如 2027-02-06）或 MM-DD（每年，例如 10-01）；实际为 '2027/02/06'"),
    ({"festivals": [{"name": "闰日", "date": "02-29"}]},
     "02-29 exists only in leap years; give the full date of the year meant, like 2028-02-29",
     "02-29 只在闰年存在；请写出具体年份的日期，例如 2028-02-29"),
    ({"visit_start": 600},
     'visit_start must be a time in quotes, like "10:00" (YAML reads an unquoted 10:00 as the number 600)',
     'visit_start 必须是加引号的时间，例如 "10:00"（不加引号时 YAML 会把 10:00 读成数字 600）'),
    ({"timezone": "Asia/Shangai"},
     "unknown time zone 'Asia/Shangai': use a name from the IANA time zone database, like Asia/Shanghai or "
     "Europe/London; did you mean 'Asia/Shanghai'?",
     "未知的时区 'Asia/Shangai'：请使用 IANA 时区数据库中的名称，例如 Asia/Shanghai 或 Europe/London；"
     "您是否指 'Asia/Shanghai'？"),
])
def test_calendar_errors_remember_their_chinese(spec, english, chinese):
    with pytest.raises(ValidationError) as info:
        CalendarSpec(**spec)
    (error,) = info.value.errors()
    assert error["msg"] == f"Value error, {english}"
    assert localize(error["ctx"]["error"].args[0], "zh") == chinese


def test_excel_template_warnings_in_chinese(tmp_path):
    path = tmp_path / "portfolio.xlsx"
    wb = openpyxl.Workbook()
    wb.defined_names["总数"] = openpyxl.workbook.defined_name.DefinedName("总数", attr_text="Sheet!$A$1")
    wb.save(path)
    writer = TemplatePortfolioWriter(path, "templates/portfolio.xlsx", [], dt.date(2026, 10, 31))
    warnings = writer.write(tmp_path / "out.xlsx", pl.DataFrame({"customer_id": ["C001"]}), [], {})
    assert [(localize(w.message, "zh"), localize(w.suggestion, "zh")) for w in warnings] == [
        ("名称单元格 '总数' 不是 kamrules 会填写的名称", "请使用 as_of、customer_count、revenue_12m 或 count_<输出>"),
        ("模板中既没有名为 'customers' 的表格，也没有工作表 '客户'", "请添加一个名为 customers 的 Excel 表格，表头列出需要的列"),
    ]
    assert [w.message for w in warnings] == ["named cell '总数' is not one kamrules fills",
                                             "the template has no table named 'customers' and no sheet '客户'"]


def test_a_bad_file_name_pattern_in_chinese(project):
    documents = project / "rules" / "documents.yaml"
    text = documents.read_text(encoding="utf-8")
    documents.write_text(text.replace('filename: "{customer_id}_{name}_服务方案.docx"',
                                      'filename: "{customer_idd}.docx"', 1), encoding="utf-8")
    assert "{customer_idd}" in documents.read_text(encoding="utf-8")
    result = invoke("run", "-p", project, "--as-of", AS_OF, "--workers", "1")
    assert (result.exit_code, result.output) == (1, textwrap.dedent("""\
        错误：rules/documents.yaml（文档 proposal）：文件名模式 '{customer_idd}.docx' 无法填写：'customer_idd'
          建议：请在花括号中使用字段名，例如 {customer_id}_{name}.docx
        """))
    as_json = invoke("run", "-p", project, "--as-of", AS_OF, "--workers", "1", "--json")
    error = json.loads(as_json.output)["error"]
    assert (error["location"], error["message_id"]) == ("rules/documents.yaml（文档 proposal）", "run.filename")
