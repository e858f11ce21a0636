"""Reading the ledger speaks Chinese and English: rejected rows in the run summary, warnings in
the issues, unusable workbooks, bad limit settings and unreadable rulebook YAML, each triggered
for real and checked word for word in both languages."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl

import pytest
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.errors import Issue, RulebookError
from kamrules.i18n import Words, localize
from kamrules.ledger import read_ledger
from kamrules.render.xlsx import issue_headers, issue_row
from kamrules.rules.rulebook_compiler import load_rulebook
from kamrules.yamlio import load_yaml, load_yaml_file

from conftest import REPO, make_project, small_ledger, write_workbook

# one worker runs the module, so its module-scoped project is built once
pytestmark = pytest.mark.xdist_group("messages_ledger")

MiB = 1 << 20


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, [*args, "--as-of", "2026-10-31", "--workers", "1"] if args[0] == "run"
                              else list(args), env=env)


@pytest.fixture(scope="module")
def messy_project(tmp_path_factory) -> Path:
    """The small ledger (a bad amount, an unknown customer, a missing customer id) plus a
    customer entered twice with another name and an order with an impossible date."""
    sheets = small_ledger()
    sheets["客户档案"].append(["C003", "三号物流（重复）有限公司", "物流", "华北", "张伟", "2018/5/1", "月结", "钱多",
                           None, None])
    sheets["销售明细"].append(["SO9", "C002", "2026-13-45", "五金", 1, 100, 10])
    return make_project(tmp_path_factory.mktemp("messy") / "p", sheets)


def rejected_lines(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "被拒绝" in line or "were rejected" in line)
    return lines[start:start + 6]


def test_rejected_rows_in_the_chinese_run_summary(messy_project):
    result = invoke("run", "-p", str(messy_project), "--lang", "zh")
    assert result.exit_code == 0, result.output
    where = "  inputs/台账.xlsx · "
    assert rejected_lines(result.output) == [
        "5 行数据被拒绝（见 portfolio.xlsx 的“数据问题”页和 issues.xlsx）：",
        where + "客户档案 · 第 7 行 · 客户编号 = 'C003'：与 inputs/台账.xlsx 的工作表 客户档案 第 6 行冲突：客户编号 "
                "同为 C003，但 客户名称 不同（三号物流（重复）有限公司 与 三号物流有限公司） — "
                "请在源文件中只保留两行中的一行（或给它们不同的编号）",
        where + "销售明细 · 第 6 行 · 金额 = '待确认'：不是金额 — 请填写数字，例如 1234.50、¥1,234.50 或 12万",
        where + "销售明细 · 第 7 行 · 客户编号 = 'C999'：未知的客户编号 C999：不在客户档案中；该行未使用 — "
                "请把它添加到客户档案，或更正该值",
        where + "销售明细 · 第 8 行 · 客户编号 = ''：缺少必填值 — 请在源文件中补填，然后重新放入文件",
        where + "销售明细 · 第 10 行 · 下单日期 = '2026-13-45'：不是有效日期 — "
                "请写成 2025-01-03、2025/1/3 或 2025年1月3日",
    ]


def test_rejected_rows_in_the_english_run_summary_are_unchanged(messy_project):
    result = invoke("run", "-p", str(messy_project), "--lang", "en")
    assert result.exit_code == 0, result.output
    where = "  inputs/台账.xlsx · "
    assert rejected_lines(result.output) == [
        "5 rows were rejected (see Data issues in portfolio.xlsx, and issues.xlsx):",
        where + "客户档案 · row 7 · 客户编号 = 'C003': conflicts with inputs/台账.xlsx, sheet 客户档案, row 6: "
                "same 客户编号 C003, different 客户名称 (三号物流（重复）有限公司 vs 三号物流有限公司) — "
                "keep one of the two rows at the source (or give them different ids)",
        where + "销售明细 · row 6 · 金额 = '待确认': not an amount of money — write digits, e.g. 1234.50, ¥1,234.50 or 12万",
        where + "销售明细 · row 7 · 客户编号 = 'C999': unknown 客户编号 C999: not in 客户档案; this row was not used — "
                "add it to 客户档案 or correct it",
        where + "销售明细 · row 8 · 客户编号 = '': required value is missing — "
                "fill it in at the source and drop the file in again",
        where + "销售明细 · row 10 · 下单日期 = '2026-13-45': not a valid date — "
                "write it as 2025-01-03, 2025/1/3 or 2025年1月3日",
    ]


def test_warnings_and_skipped_rows_in_both_languages(tmp_path):
    sheets = small_ledger()
    sheets["客户档案"][3][8] = "不详"  # 联系人生日 of C001: optional, left empty
    sheets["投诉记录"][1][4] = "紧急"  # 严重程度 must be 高/中/低
    sheets["拜访记录"][0].append("满意度")
    sheets["拜访记录"][1].append(7)  # above the maximum 5
    sheets["销售明细"].append(["合计", None, None, None, None, 2_000_000, None])
    sheets["客户档案"].append(list(sheets["客户档案"][5]))  # C003 again, identical
    write_workbook(tmp_path / "台账.xlsx", sheets)
    spec = load_rulebook(REPO).spec
    ledger = read_ledger(tmp_path, spec.datasets, spec.ledger)
    found = {i.code + ":" + str(i.row): i for i in ledger.issues if i.code != "filtered"}

    def both(key):
        issue = found[key]
        return ([localize(issue.message, "zh"), localize(issue.suggestion, "zh")],
                [issue.message, issue.suggestion])

    assert both("bad_date:4") == (
        ["不是有效日期（该值留空，该行仍使用）", "请写成 2025-01-03、2025/1/3 或 2025年1月3日"],
        ["not a valid date (value left empty, row kept)", "write it as 2025-01-03, 2025/1/3 or 2025年1月3日"])
    assert both("bad_enum:2") == (
        ["不是以下值之一：高, 中, 低（该值留空，该行仍使用）", "请使用以下值之一：高, 中, 低"],
        ["not one of: 高, 中, 低 (value left empty, row kept)", "use one of: 高, 中, 低"])
    assert both("out_of_range:2") == (["高于最大值 5（该值留空，该行仍使用）", None],
                                      ["above the maximum 5 (value left empty, row kept)", None])
    assert both("totals_row:10") == (["合计行，不计入数据", None], ["totals row, not counted as data", None])
    assert both("duplicate_row:7") == (["与 台账.xlsx 的工作表 客户档案 第 6 行重复（内容相同）", None],
                                       ["duplicate of 台账.xlsx, sheet 客户档案, row 6 (same content)", None])


def test_a_damaged_workbook_in_chinese_through_the_cli(tmp_path):
    project = make_project(tmp_path / "p")
    book = project / "inputs" / "台账.xlsx"
    book.write_bytes(book.read_bytes()[:2000])
    result = invoke("run", "-p", str(project), "--lang", "zh")
    assert (result.exit_code, result.output) == (
        1, "错误：inputs/台账.xlsx：工作簿不完整或已损坏（缺少 zip 目录）\n"
           "  建议：请重新复制；如果文件正在保存或下载，请等它完成\n")
    english = invoke("run", "-p", str(project), "--lang", "en")
    assert (english.exit_code, english.output) == (
        1, "error: inputs/台账.xlsx: the workbook is incomplete or damaged (its zip directory is missing)\n"
           "  hint: copy it again; if it was being saved or downloaded, wait until that has finished\n")


def test_a_zip_bomb_in_chinese_through_the_cli(tmp_path):
    project = make_project(tmp_path / "p")
    book = project / "inputs" / "台账.xlsx"
    with zipfile.ZipFile(book, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (2 * MiB))
    with zipfile.ZipFile(book) as archive:
        info = archive.getinfo("xl/media/padding.bin")
    ratio = info.file_size / info.compress_size
    result = invoke("run", "-p", str(project), "--lang", "zh")
    assert (result.exit_code, result.output) == (
        1, f"错误：inputs/台账.xlsx：部件 xl/media/padding.bin 解压后膨胀 {ratio:,.0f} 倍（达 2 MiB）；上限为 200 倍："
           "这看起来像 zip 炸弹\n  建议：请不要打开它；如果它确实是正常文件，请调高 KAMRULES_MAX_COMPRESSION_RATIO\n")


def test_a_pdf_renamed_to_xlsx_and_a_sheet_over_the_row_limit_in_chinese(tmp_path):
    project = make_project(tmp_path / "p")
    result = invoke("run", "-p", str(project), "--lang", "zh", env={"KAMRULES_MAX_ROWS": "5"})
    assert (result.exit_code, result.output) == (
        1, "错误：inputs/台账.xlsx，工作表 客户档案：工作表有 6 行；上限为 5 行\n"
           "  建议：请删除多余的行、拆分工作表，或调高 KAMRULES_MAX_ROWS\n")
    (project / "inputs" / "台账.xlsx").write_bytes(b"%PDF-1.7\n")
    result = invoke("run", "-p", str(project), "--lang", "zh")
    assert (result.exit_code, result.output) == (
        1, "错误：inputs/台账.xlsx：该文件是改名为 .xlsx 的 PDF 文件，不是 Excel 工作簿\n"
           "  建议：请改为把原始表格文件放进 inputs/\n")


def test_a_bad_limit_setting_in_chinese(tmp_path):
    project = make_project(tmp_path / "p")
    result = invoke("run", "-p", str(project), "--lang", "zh", env={"KAMRULES_MAX_ROWS": "lots"})
    assert (result.exit_code, result.output) == (
        1, "错误：KAMRULES_MAX_ROWS='lots' 不是正整数\n  建议：取消设置即可使用默认值（1,048,576）\n")


def test_an_empty_inputs_folder_in_chinese(tmp_path):
    project = make_project(tmp_path / "p")
    (project / "inputs" / "台账.xlsx").unlink()
    result = invoke("run", "-p", str(project), "--lang", "zh")
    assert (result.exit_code, result.output) == (
        1, f"错误：{project / 'inputs'}：inputs/ 中没有表格文件（.xlsx .xlsm .xls .csv）\n"
           "  建议：请把台账工作簿复制到 inputs/\n")


def test_yaml_too_deep_and_not_utf8_in_chinese_through_the_cli(tmp_path):
    project = make_project(tmp_path / "p")
    extra = project / "rules" / "extra.yaml"
    extra.write_text("kamrules: 1\ndeep: " + "[" * 50 + "]" * 50 + "\n", encoding="utf-8")
    result = invoke("check", "-p", str(project), "--lang", "zh")
    assert (result.exit_code, result.output) == (
        1, "错误：规则有 1 处错误：\n  rules/extra.yaml:2:46：嵌套超过 40 层\n"
           "    建议：规则文件从不需要这么深的嵌套；该上限由 KAMRULES_MAX_YAML_DEPTH 设置\n")
    extra.write_bytes("kamrules: 1\n# 规则说明\n".encode("gbk"))
    result = invoke("check", "-p", str(project), "--lang", "zh")
    assert (result.exit_code, result.output) == (
        1, "错误：规则有 1 处错误：\n  rules/extra.yaml：不是 UTF-8 文本（字节偏移 14）\n"
           "    建议：请把文件保存为 UTF-8 编码（VS Code：“通过编码保存” -> UTF-8）\n")
    english = invoke("check", "-p", str(project), "--lang", "en")
    assert english.output == ("error: rulebook has 1 error:\n  rules/extra.yaml: not UTF-8 text (byte 14)\n"
                              "    hint: save the file as UTF-8 (VS Code: 'Save with Encoding' -> UTF-8)\n")


def test_yaml_errors_render_in_chinese(tmp_path, monkeypatch):
    with pytest.raises(RulebookError) as duplicate:
        load_yaml("kamrules: 1\nlocale: zh_CN\nlocale: en_US\n", "rules/r.yaml")
    assert duplicate.value.render("zh") == ("rules/r.yaml:3:1：键 'locale' 重复（首次定义在第 2 行）\n"
                                            "  建议：请删除其中一个或重命名；YAML 会悄悄地只保留最后一个")
    path = tmp_path / "r.yaml"
    path.write_text("kamrules: 1\n", encoding="utf-8")
    monkeypatch.setenv("KAMRULES_MAX_YAML_BYTES", "11")
    with pytest.raises(RulebookError) as big:
        load_yaml_file(path, "rules/r.yaml")
    assert big.value.render("zh") == ("rules/r.yaml：文件大小为 12 字节；规则文件的上限为 11 字节\n"
                                      "  建议：规则文件通常只有几 KB：请确认文件是否正确，或调高 KAMRULES_MAX_YAML_BYTES")
    assert str(big.value) == ("rules/r.yaml: file is 12 bytes; the limit for a rulebook file is 11\n"
                              "  hint: a rulebook is a few kilobytes: check it is the right file, or raise "
                              "KAMRULES_MAX_YAML_BYTES")


def ledger_with_problems() -> dict:
    """The small ledger with a 订单状态 column, one cancelled order, the header repeated in the data
    and an order with three bad cells (one row rejected, one error listed for it)."""
    sheets = small_ledger()
    orders = sheets["销售明细"]
    for row in orders:
        row.append(None)
    orders[0][-1] = "订单状态"
    orders.insert(3, list(orders[0]))  # row 4: the header again (two exports pasted together)
    orders.append(["SO9", "C001", "2026-02-30", "钢材", "几个", "很多", 1, None])
    orders.append(["SO10", "C002", "2026-09-15", "五金", 1, 800, 600, "已取消"])
    return sheets


def test_rejected_and_skipped_rows_agree_in_the_summary_run_json_and_data_issues(tmp_path):
    project = make_project(tmp_path / "p", ledger_with_problems())
    where = "is_null(status) or status not in ['已取消', '作废']"
    expected = {
        "zh": ["  客户档案     使用        3 行",
               "  销售明细     使用        5 行，拒绝 4 行，跳过 2 行",
               "4 行数据被拒绝（见 portfolio.xlsx 的“数据问题”页和 issues.xlsx）：",
               "  inputs/台账.xlsx · 销售明细 · 第 11 行 · 下单日期 = '2026-02-30'：日期不存在：2026年2月只有28天；"
               "该行还有：金额 '很多'：不是金额 和 数量 '几个'：不是数字 — 请在源文件中核对这一天（可能是录入错误）",
               "跳过：被筛选条件跳过 (filtered) ×1, 重复的表头行 (repeated_header) ×1"],
        "en": ["  客户档案            3 rows used",  # the titles are the rulebook's, in Chinese
               "  销售明细            5 rows used, 4 rejected, 2 skipped",
               "4 rows were rejected (see Data issues in portfolio.xlsx, and issues.xlsx):",
               "  inputs/台账.xlsx · 销售明细 · row 11 · 下单日期 = '2026-02-30': no such date: February 2026 has 28 days; "
               "also in this row: 金额 '很多': not an amount of money and 数量 '几个': not a number — "
               "check the day at the source (probably a typing error)",
               "skipped: filtered ×1, repeated_header ×1"],
    }
    skipped = {
        "zh": [("跳过", 4, "订单编号", "订单编号", "表头行在数据中重复出现，不计入数据", "repeated_header", "重复的表头行"),
               ("跳过", 12, "订单编号", "SO10", f"被筛选条件 where: {where} 跳过（订单状态 为 已取消）", "filtered",
                "被筛选条件跳过")],
        "en": [("Skipped", 4, "订单编号", "订单编号", "the header row repeated inside the data; not counted as data",
                "repeated_header", "Repeated header row"),
               ("Skipped", 12, "订单编号", "SO10", f"skipped by the filter where: {where} (订单状态 is 已取消)", "filtered",
                "Skipped by the filter")],
    }
    for lang in ("zh", "en"):
        result = invoke("run", "-p", str(project), "--lang", lang)
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        for line in expected[lang]:
            assert line in lines, (lang, line)
        run_dir = Path(lines[-1].split("：" if lang == "zh" else ": ", 1)[1])
        manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        assert manifest["counts"]["datasets"]["orders"] == {"rows_read": 11, "rows_used": 5, "rows_rejected": 4,
                                                            "rows_skipped": 2}
        assert (manifest["issues"]["errors"], manifest["issues"]["skipped"]) == (4, 2)
        wb = openpyxl.load_workbook(run_dir / "portfolio.xlsx")
        summary = {r[0]: r[1] for r in wb.worksheets[0].iter_rows(values_only=True) if r and r[0]}
        assert summary["被拒绝的数据行" if lang == "zh" else "Rows rejected"] == 4
        rows = list(wb.worksheets[wb.sheetnames.index("数据问题" if lang == "zh" else "Data issues")]
                    .iter_rows(min_row=2, values_only=True))
        levels = Counter(r[0] for r in rows if r[10] == "orders")
        error, skip = ("错误（未使用）", "跳过") if lang == "zh" else ("Error (not used)", "Skipped")
        assert (levels[error], levels[skip]) == (4, 2)
        assert [(r[0], r[3], r[4], r[5], r[6], r[8], r[9]) for r in rows if r[0] == skip] == skipped[lang]


def test_chinese_messages_use_titles_not_internal_names(tmp_path):
    sheets = small_ledger()
    del sheets["客户档案"]  # customers derived from the orders
    sheets["销售明细"][0][1] = "客户编号#"
    write_workbook(tmp_path / "台账.xlsx", sheets)
    spec = load_rulebook(REPO).spec
    ledger = read_ledger(tmp_path, spec.datasets, spec.ledger)
    [note] = [i for i in ledger.issues if i.code == "derived_dataset"]
    assert localize(note.message, "zh") == "没有客户档案工作表：按销售明细中的客户编号生成了 3 条客户档案"
    assert note.message == "no sheet for 客户档案: 3 derived from the 客户编号 values in 销售明细"
    assert localize(note.suggestion, "zh") == (
        "这些列为空：行业, 地区, 客户经理, 合作开始日期, 结算方式, 联系人, 联系人生日, 合同到期日；"
        "如需填写，请添加客户档案工作表，或在 derive.columns 中从订单中取值")
    row = issue_row(note, Words("zh"))
    assert row[8:] == ["derived_dataset", "由其他数据生成", "customers"]
    conflict = Issue("台账.xlsx", "客户档案", 7, "客户编号", "C003", "x", "key_conflict", "error", "customers")
    assert issue_row(conflict, Words("zh"))[8:] == ["key_conflict", "编号冲突", "customers"]
    assert issue_row(conflict, Words("en"))[8:] == ["key_conflict", "Key conflict", "customers"]
    assert issue_headers(Words("zh"))[8:] == ["规则", "问题类型", "数据集"]
