"""``kamrules init``: a project that every command works on at once, in Chinese or English,
and never an overwrite. The English project's rules are a translation of the Chinese ones:
English throughout, with the same decisions, rules, thresholds and tests."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.init import init_project
from kamrules.expr import ast as k
from kamrules.rules.rulebook_compiler import load_rulebook
from kamrules.expr.parser import parse
from kamrules.rules.testing import load_cases
from kamrules.schema import schema_text

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")

# The Chinese rulebook's words and the English ones that stand for them in the English rulebook
# (decision values, the sample ledger's values, and the one metric with a Chinese name).
ENGLISH = {"高": "high", "中": "medium", "低": "low", "正常": "normal", "预警": "warning", "冻结": "hold",
           "月结": "monthly", "现结": "cash", "普通": "standard", "已解决": "resolved", "已取消": "cancelled",
           "作废": "void", "累计消费": "lifetime_spend"}
# text outputs that are free wording, translated rather than mapped word for word
WORDING = {"tier_label", "actions"}


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


SAID = {  # what each command says first, in the project's own language (no --lang given)
    "zh": {"unfinished": "警告：rules/documents.yaml 的 company 还没有填写：name, address, phone, email, signatory, logo；"
                         "发给客户的文档会缺少这些公司信息",
           "created": "已创建 {project}（", "check": "规则无误：14 个决策，54 条规则", "test": "87 个通过，0 个失败",
           "explain": "客户 C0168", "diff": "330 位客户中有 3 位会变化（数据截至 2026-10-31）：",
           "sheets": (["概览", "客户"], ["影响汇总", "受影响客户"])},
    "en": {"unfinished": "warning: company in rules/documents.yaml is not filled in yet: name, address, phone, email, "
                         "signatory, logo; documents sent to clients will lack them",
           "created": "created {project} (", "check": "rulebook OK: 14 decisions, 54 rules", "test": "87 passed, 0 failed",
           "explain": "customer C0168", "diff": "3 of 330 customers would change (as of 2026-10-31):",
           "sheets": (["Summary", "Customers"], ["Impact", "Affected customers"])},
}


@pytest.mark.parametrize("lang, locale", [("zh", "zh_CN"), ("en", "en_US")])
def test_init_then_every_command(tmp_path, lang, locale):
    said, sheets = SAID[lang], SAID[lang]["sheets"]
    project = tmp_path / "新项目"
    created = invoke("init", project, "--lang", lang)
    assert created.exit_code == 0, created.output
    assert created.output.startswith(said["created"].format(project=project))
    assert (project / ".kamrules" / "rulebook.schema.json").read_text(encoding="utf-8") == schema_text()
    assert "$schema=../.kamrules/rulebook.schema.json" in (project / "rules" / "policy.yaml").read_text(encoding="utf-8")
    assert f"locale: {locale}" in (project / "rules" / "documents.yaml").read_text(encoding="utf-8")
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# 大客户管理项目" if lang == "zh" else "# Key account project")

    checked = invoke("check", "-p", project)
    # the rules work; the company's details are still init's placeholders, and check says so first
    assert checked.exit_code == 0 and checked.output.splitlines()[2].startswith(said["check"])
    assert checked.output.splitlines()[0] == said["unfinished"]
    tested = invoke("test", "-p", project)
    assert tested.exit_code == 0 and tested.output.splitlines()[-1] == said["test"]
    ran = invoke("run", "-p", project, "--as-of", "2026-10-31", "--json", "--workers", "1")
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.output)
    assert report["counts"]["customers"] == 330 and report["counts"]["documents"]["proposal"] == 20
    portfolio = openpyxl.load_workbook(f"{report['run_dir']}/portfolio.xlsx", read_only=True)
    assert portfolio.sheetnames[:2] == sheets[0]
    explained = invoke("explain", "C0168", "-p", project)
    assert explained.exit_code == 0 and explained.output.startswith(said["explain"])

    other = tmp_path / "rules-new"
    shutil.copytree(project / "rules", other)
    policy = other / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("quota: {max: 20,", "quota: {max: 25,"), encoding="utf-8")
    diffed = invoke("diff", "--rules", other, "-p", project, "--as-of", "2026-10-31", "-o", tmp_path / "d.xlsx")
    assert diffed.exit_code == 0 and diffed.output.splitlines()[0] == said["diff"]
    assert openpyxl.load_workbook(tmp_path / "d.xlsx").sheetnames == sheets[1]


def test_init_never_overwrites(tmp_path):
    project = tmp_path / "p"
    (project / "rules").mkdir(parents=True)
    (project / "rules" / "mine.yaml").write_text("kamrules: 1\n", encoding="utf-8")
    result = invoke("init", project, "--lang", "en")
    assert result.exit_code == 1
    assert result.output == (f"error: {project}: would overwrite rules\n"
                             "  hint: choose a new or empty folder; kamrules init never overwrites anything\n")
    assert [p.name for p in project.iterdir()] == ["rules"]
    assert (project / "rules" / "mine.yaml").read_text(encoding="utf-8") == "kamrules: 1\n"


def test_init_rejects_an_unknown_language(tmp_path):
    result = invoke("init", tmp_path / "p", "--lang", "fr")
    assert result.exit_code == 2 and "'fr'" in result.output and not (tmp_path / "p").exists()


def chinese_outside_headers(node, path=()):
    """Paths of the text in ledger.yaml that is Chinese, other than the sheet names, header
    aliases and value maps that the Chinese sample ledger needs."""
    if isinstance(node, dict):
        return [found for key, value in node.items() if key not in ("sheets", "aliases", "map")
                for found in chinese_outside_headers(value, (*path, key)) + chinese_outside_headers(key, path)]
    if isinstance(node, list):
        return [found for i, value in enumerate(node) for found in chinese_outside_headers(value, (*path, i))]
    return [path] if isinstance(node, str) and CJK.search(node) else []


def test_the_english_project_is_in_english(tmp_path):
    init_project(tmp_path / "p", "en")
    rules = tmp_path / "p" / "rules"
    for path in [*rules.glob("*.yaml"), *(rules / "tests").glob("*.yaml")]:
        text = path.read_text(encoding="utf-8")
        if path.name == "ledger.yaml":
            assert chinese_outside_headers(yaml.safe_load(text)) == []
        else:
            assert not CJK.search(text), (path.name, CJK.search(text))
    assert len(list((rules / "tests").glob("*.yaml"))) == 7
    first_lines = {p.read_text(encoding="utf-8").splitlines()[0] for p in rules.glob("*.yaml")}
    assert first_lines == {"# yaml-language-server: $schema=../.kamrules/rulebook.schema.json"}
    assert "# Key account project" in (tmp_path / "p" / "README.md").read_text(encoding="utf-8")


def logic(node, words=ENGLISH):
    """An expression with positions dropped and Chinese words replaced by their English ones."""
    if isinstance(node, k.Literal):
        return words.get(node.value, node.value) if isinstance(node.value, str) else (type(node.value), node.value)
    if isinstance(node, k.Name):
        return words.get(node.name, node.name)
    if isinstance(node, tuple):
        return tuple(logic(item, words) for item in node)
    if dataclasses.is_dataclass(node):
        return (type(node).__name__, *(logic(getattr(node, f.name), words)
                                       for f in dataclasses.fields(node) if f.name != "position"))
    return node


def outputs_logic(outputs):
    return {name: logic(expr.node) for name, expr in (outputs or {}).items() if name not in WORDING}


def test_english_and_chinese_rulebooks_have_the_same_structure_and_logic(tmp_path):
    books = {}
    for lang in ("zh", "en"):
        init_project(tmp_path / lang, lang)
        rulebook = load_rulebook(tmp_path / lang)
        books[lang] = rulebook, load_cases(tmp_path / lang, rulebook)
    (zh, zh_cases), (en, en_cases) = books["zh"], books["en"]
    assert (zh.spec.locale, en.spec.locale) == ("zh_CN", "en_US")

    def shape(rulebook):
        return [(d.id, d.hit, d.outputs, [r.id for r in d.rules], sorted(d.labels), d.default is not None, d.quota)
                for d in rulebook.decisions]
    assert shape(en) == shape(zh) and len(zh.decisions) == 14 and sum(len(d.rules) for d in zh.decisions) == 54
    for zd, ed in zip(zh.decisions, en.decisions):  # same conditions, thresholds and values, word for word
        for zr, er in zip(zd.rules, ed.rules):
            assert logic(er.condition.node) == logic(zr.condition.node), er.id
            assert outputs_logic(er.outputs) == outputs_logic(zr.outputs), er.id
        assert outputs_logic(ed.default) == outputs_logic(zd.default), ed.id
    assert [(c.id, logic(c.check.node), outputs_logic(c.fix)) for c in en.constraints] == \
           [(c.id, logic(c.check.node), outputs_logic(c.fix)) for c in zh.constraints]
    assert [(d.name, d.type, logic(d.expr.node)) for d in en.derived] == \
           [(ENGLISH.get(d.name, d.name), d.type, logic(d.expr.node)) for d in zh.derived]

    def aggregates(rulebook):
        return {name: {**spec.model_dump(exclude={"title", "where"}), "where": spec.where and logic(parse(spec.where))}
                for name, spec in rulebook.spec.metrics.aggregates.items()}
    assert aggregates(en) == aggregates(zh)
    assert en.spec.metrics.model_dump(exclude={"aggregates", "derived"}) == \
           zh.spec.metrics.model_dump(exclude={"aggregates", "derived"})

    # the ledger mapping reads the Chinese sample ledger exactly as before, into English values
    assert en.spec.datasets.keys() == zh.spec.datasets.keys()
    for name, zd in zh.spec.datasets.items():
        ed = en.spec.datasets[name]
        assert (ed.sheets, ed.key, ed.required) == (zd.sheets, zd.key, zd.required), name
        assert logic(parse(ed.where)) == logic(parse(zd.where)) if zd.where else ed.where is None
        assert ed.columns.keys() == zd.columns.keys(), name
        for column, zc in zd.columns.items():
            ec = ed.columns[column]
            assert set(zc.aliases) <= set(ec.aliases) and (ec.type, ec.required) == (zc.type, zc.required), column
            assert [ENGLISH[v] for v in zc.values or []] == (ec.values or [])
            for raw, value in (zc.map or {}).items():
                assert ec.map[raw] == ENGLISH[value], (column, raw)
            for value in zc.values or []:
                assert ec.map[value] == ENGLISH[value], (column, value)

    # documents: the same documents, visit plan, calendar dates and alert conditions
    assert [(d.id, d.template, d.for_, d.folder, d.validity_days) for d in en.spec.documents] == \
           [(d.id, d.template, d.for_, d.folder, d.validity_days) for d in zh.spec.documents]
    assert len(en.spec.visit_plan.purposes) == len(zh.spec.visit_plan.purposes)
    assert [f.date for f in en.spec.calendar.festivals] == [f.date for f in zh.spec.calendar.festivals]
    assert [logic(parse(c)) for c in en.spec.portfolio.alerts.values()] == \
           [logic(parse(c)) for c in zh.spec.portfolio.alerts.values()]
    assert en.spec.portfolio.status_colors == {ENGLISH[v]: c for v, c in zh.spec.portfolio.status_colors.items()}

    # the tests: the same cases, file by file, with the same inputs and expected rules
    def case_shape(cases):
        return [(file, {key: ENGLISH.get(v, v) if isinstance(v, str) else v for key, v in case.given.items()},
                 sorted(case.expect), case.rules, case.as_of) for case, file, _ in cases]
    assert len(zh_cases) == len(en_cases) == 87
    assert case_shape(en_cases) == case_shape(zh_cases)
    for (zc, _, _), (ec, _, _) in zip(zh_cases, en_cases):
        assert {key: ENGLISH.get(v, v) for key, v in zc.expect.items() if key not in WORDING and isinstance(v, str)} == \
               {key: v for key, v in ec.expect.items() if key not in WORDING and isinstance(v, str)}, ec.name
