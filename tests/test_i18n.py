"""Workbook words and messages in Chinese and English: both catalogues complete, every message
key the code uses defined and every defined key used, the language chosen by --lang (or
KAMRULES_LANG), then the rulebook's locale, then the system locale."""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import pickle
import re
import shutil
import string
import subprocess
import sys

import openpyxl
import pytest
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.errors import LedgerError, RulebookError, RulebookInvalid
from kamrules.i18n import WORKBOOK, Text, choose, localize, msg
from kamrules.rules.rulebook import project_locale
from kamrules.messages import CATALOGUE

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


def test_english_workbook(bundled_run):
    wb = openpyxl.load_workbook(bundled_run("en")[1] / "portfolio.xlsx", read_only=True)
    assert wb.sheetnames == ["Summary", "Customers", "Visit plan", "Daily load", "Reminders", "信用预警", "流失风险",
                             "Data issues", "Pareto", "Models"]  # alert sheets are named in rules/documents.yaml
    issues = next(wb["Data issues"].iter_rows(max_row=1, values_only=True))
    assert issues == ("Level", "File", "Sheet", "Row", "Column", "Value", "Problem", "Suggestion", "Rule", "Kind",
                      "Dataset")
    visits = next(wb["Visit plan"].iter_rows(max_row=1, values_only=True))
    assert visits[:6] == ("Date", "Day", "Start", "End", "Account manager", "Task")
    summary = [r[0] for r in wb["Summary"].iter_rows(max_col=1, values_only=True) if r[0]]
    assert summary[:3] == ["Key account portfolio", "Data as of", "Customers"]
    assert "Predictive models" in summary  # one sentence; the parameters are on their own sheet
    models = [r[:2] for r in wb["Models"].iter_rows(values_only=True)]
    assert ("Purchase forecast (BG/NBD)", "alpha") in models and ("Spend (Gamma-Gamma)", "Log-likelihood") in models
    header = next(wb["Customers"].iter_rows(max_row=1, values_only=True))
    assert "客户等级 (basis)" in header  # decision titles are the rulebook author's words


def test_chinese_workbook_by_locale(bundled_run):
    wb = openpyxl.load_workbook(bundled_run(None)[1] / "portfolio.xlsx", read_only=True)  # the rules' locale
    assert wb.sheetnames[:5] == ["概览", "客户", "拜访计划", "每日安排", "提醒"]
    assert "客户等级依据" in next(wb["客户"].iter_rows(max_row=1, values_only=True))


def test_unknown_language_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["run", "-p", str(tmp_path), "--lang", "fr"], env={"LANG": "en_US.UTF-8"})
    assert result.exit_code == 2 and "unknown language 'fr'; use zh or en" in result.output


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _fields(text: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_with_the_same_placeholders():
    for key, pair in CATALOGUE.items():
        assert isinstance(pair, tuple) and len(pair) == 2, key
        zh, en = pair
        assert zh.strip() and en.strip(), key
        assert _fields(zh) == _fields(en) - {"s"}, key  # {s}: an English plural ending
        assert CJK.search(zh), f"{key}: the Chinese text is not Chinese"


def _message_keys_in_code() -> dict[str, list[str]]:
    """Keys passed to msg(...) and say(lang, ...) in the package, with where they are used."""
    used: dict[str, list[str]] = {}
    for path in sorted((REPO / "kamrules").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        forwarding = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name in ("say", "h")
                      for n in ast.walk(f)}  # cli.say and cli.h pass their key on to msg
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or id(node) in forwarding:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            position = {"msg": 0, "h": 0, "say": 1}.get(name)
            if position is None or len(node.args) <= position:
                continue
            argument = node.args[position]
            choices = [argument.body, argument.orelse] if isinstance(argument, ast.IfExp) else [argument]
            for choice in choices:
                assert isinstance(choice, ast.Constant), f"{path.name}:{node.lineno}: message keys must be literals"
                used.setdefault(choice.value, []).append(f"{path.relative_to(REPO)}:{node.lineno}")
    return used


def test_every_key_used_is_defined_and_every_key_defined_is_used():
    used = _message_keys_in_code()
    assert sorted(set(used) - set(CATALOGUE)) == []
    assert sorted(set(CATALOGUE) - set(used)) == []


def test_a_text_is_its_english_and_remembers_how_to_say_it_in_chinese():
    inner = msg("where.row", row=7)
    text = msg("located", where=inner, message=msg("project.missing"))
    assert text == "row 7: project folder does not exist" and isinstance(text, str)
    assert localize(text, "zh") == "第 7 行：项目文件夹不存在"
    assert localize(text, "en") == text and localize("plain", "zh") == "plain"
    copy = pickle.loads(pickle.dumps(text))
    assert isinstance(copy, Text) and copy.localize("zh") == "第 7 行：项目文件夹不存在"


def test_errors_render_their_location_message_and_hint_in_either_language():
    error = LedgerError(msg("project.missing"), file="inputs/台账.xlsx", sheet="销售明细", row=12, column="金额",
                        suggestion="copy it again")
    assert str(error) == ("inputs/台账.xlsx, sheet 销售明细, row 12, column 金额: project folder does not exist\n"
                          "  hint: copy it again")
    assert error.render("zh") == ("inputs/台账.xlsx，工作表 销售明细，第 12 行，列 金额：项目文件夹不存在\n"
                                  "  建议：copy it again")
    invalid = RulebookInvalid([RulebookError("bad", file="rules/policy.yaml", line=3, rule_id="T-1",
                                             expression="a >")])
    assert invalid.render("zh") == "规则有 1 处错误：\n  rules/policy.yaml:3 [T-1]：bad（在 'a >' 中）"
    assert str(invalid) == "rulebook has 1 error:\n  rules/policy.yaml:3 [T-1]: bad (in 'a >')"


def _project(tmp_path, locale_line: str | None):
    project = tmp_path / "p"
    shutil.copytree(REPO / "rules", project / "rules")
    shutil.copytree(REPO / "templates", project / "templates")
    documents = project / "rules" / "documents.yaml"
    text = documents.read_text(encoding="utf-8")
    documents.write_text(text.replace("locale: zh_CN", locale_line or ""), encoding="utf-8")
    return project


def test_the_rules_locale_is_read_without_loading_the_rules(tmp_path):
    project = _project(tmp_path, "locale: en_US")
    (project / "rules" / "policy.yaml").write_text("decisions: [unclosed\n", encoding="utf-8")
    assert project_locale(project) == "en_US"
    assert project_locale(tmp_path / "nowhere") is None


def test_cli_language_precedence(tmp_path):
    english = _project(tmp_path / "en", "locale: en_US")
    chinese = _project(tmp_path / "zh", "locale: zh_CN")
    unsaid = _project(tmp_path / "none", None)
    runner = CliRunner()
    ok_en, ok_zh = "rulebook OK: 14 decisions", "规则无误：14 个决策"

    def check(project, *extra, env=None):
        result = runner.invoke(app, ["check", "-p", str(project), *extra], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    assert check(english).startswith(ok_en) and check(chinese).startswith(ok_zh)          # the rules' locale
    assert check(english, "--lang", "zh").startswith(ok_zh)                               # --lang first
    assert check(chinese, env={"KAMRULES_LANG": "en"}).startswith(ok_en)                  # or KAMRULES_LANG
    assert check(chinese, "--lang", "zh", env={"KAMRULES_LANG": "en"}).startswith(ok_zh)  # --lang beats it
    system = {"LANG": "en_US.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    assert check(unsaid, env=system).startswith(ok_en)                                    # then the system locale
    assert check(unsaid, env={**system, "LANG": "zh_CN.UTF-8"}).startswith(ok_zh)


def test_an_error_in_each_language_through_the_cli(tmp_path):
    missing = tmp_path / "missing"
    zh = CliRunner().invoke(app, ["run", "-p", str(missing), "--lang", "zh"])
    assert (zh.exit_code, zh.output) == (1, f"错误：{missing}：项目文件夹不存在\n")
    en = CliRunner().invoke(app, ["run", "-p", str(missing), "--lang", "en"])
    assert (en.exit_code, en.output) == (1, f"error: {missing}: project folder does not exist\n")
    as_json = CliRunner().invoke(app, ["run", "-p", str(missing), "--lang", "zh", "--json"])
    error = json.loads(as_json.output)["error"]
    assert (error["message"], error["message_id"]) == ("项目文件夹不存在", "project.missing")


def test_help_follows_kamrules_lang_or_the_system_locale():
    """--help is printed before any project is read, so it cannot follow the rules' locale."""
    def help_text(**env):
        environment = {k: v for k, v in os.environ.items() if k not in ("KAMRULES_LANG", "LC_ALL", "LC_MESSAGES")}
        result = subprocess.run([sys.executable, "-m", "kamrules", "check", "--help"], capture_output=True, text=True,
                                env={**environment, "COLUMNS": "200", **env}, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "检查规则（rules/*.yaml）和其中用到的模板，不读取任何数据。" in help_text(KAMRULES_LANG="zh")
    assert "项目文件夹（含 rules/、inputs/、templates/）。" in help_text(LANG="zh_CN.UTF-8")
    english = help_text(KAMRULES_LANG="en")
    assert "Validate the rulebook (rules/*.yaml) and the templates it names, without reading any data." in english
    assert "Project folder (has rules/, inputs/, templates/)." in english


def test_python_api_errors_and_findings_in_both_languages(tmp_path):
    import kamrules
    from conftest import make_project
    with pytest.raises(kamrules.KamrulesError) as caught:
        kamrules.run(tmp_path / "missing")
    assert (str(caught.value), caught.value.message.key) == (f"{tmp_path / 'missing'}: project folder does not exist",
                                                             "project.missing")
    assert caught.value.render("zh") == f"{tmp_path / 'missing'}：项目文件夹不存在"
    _, ledger, _ = kamrules.evaluate(make_project(tmp_path / "p"), dt.date(2026, 10, 31))
    money = next(i for i in ledger.issues if i.code == "bad_value")
    assert (money.message, localize(money.message, "zh")) == ("not an amount of money", "不是金额")
