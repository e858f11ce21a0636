"""Workbook words in Chinese and English: both catalogues complete, the language chosen by
--lang, then the rulebook's locale, then the system locale."""

from __future__ import annotations

import re
import shutil

import openpyxl
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.i18n import WORKBOOK, choose

from conftest import REPO


def test_both_catalogues_have_the_same_keys_and_placeholders():
    zh, en = WORKBOOK["zh"], WORKBOOK["en"]
    assert set(zh) == set(en)
    for key in zh:
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key
        assert zh[key] and en[key]
    assert all(re.search(r"[\u4e00-\u9fff]", zh[k]) for k in zh if not zh[k].startswith("{")), "zh must be Chinese"
    assert not any(re.search(r"[\u4e00-\u9fff]", v) for v in en.values()), "en must not be Chinese"


def test_language_precedence(monkeypatch):
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert choose("zh", "en_US") == "zh"          # --lang first
    assert choose(None, "zh_CN") == "zh"          # then the rulebook's locale
    assert choose(None, None) == "en"             # then the system locale
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert choose(None, None) == "zh"


def _run(tmp_path, *extra):
    project = tmp_path / "p"
    for name in ("inputs", "rules", "templates"):
        shutil.copytree(REPO / name, project / name)
    result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "-q", "--workers", "1",
                                      *extra])
    assert result.exit_code == 0, result.output
    return openpyxl.load_workbook(result.output.strip().splitlines()[-1] + "/portfolio.xlsx", read_only=True)


def test_english_workbook(tmp_path):
    wb = _run(tmp_path, "--lang", "en")
    assert wb.sheetnames == ["Summary", "Customers", "Visit plan", "Reminders", "信用预警", "流失风险",
                             "Data issues", "Pareto"]  # alert sheets are named in rules/documents.yaml
    issues = next(wb["Data issues"].iter_rows(max_row=1, values_only=True))
    assert issues == ("Level", "File", "Sheet", "Row", "Column", "Value", "Problem", "Suggestion", "Rule", "Dataset")
    visits = next(wb["Visit plan"].iter_rows(max_row=1, values_only=True))
    assert visits[:3] == ("Next visit", "State", "Customer id")
    summary = [r[0] for r in wb["Summary"].iter_rows(max_col=1, values_only=True) if r[0]]
    assert summary[:3] == ["Key account portfolio", "Data as of", "Customers"]
    assert "Purchase forecast (BG/NBD): parameters" in summary
    header = next(wb["Customers"].iter_rows(max_row=1, values_only=True))
    assert "客户等级 (basis)" in header  # decision titles are the rulebook author's words


def test_chinese_workbook_by_locale(tmp_path):
    wb = _run(tmp_path)
    assert wb.sheetnames[:4] == ["概览", "客户", "拜访计划", "提醒"]
    assert "客户等级依据" in next(wb["客户"].iter_rows(max_row=1, values_only=True))


def test_unknown_language_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["run", "-p", str(tmp_path), "--lang", "fr"])
    assert result.exit_code == 2 and "unknown language 'fr'" in result.output
