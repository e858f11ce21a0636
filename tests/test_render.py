"""Render stage: filters, the sandboxed docx renderer, safe file names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from docx import Document

from kamrules.errors import RenderError
from kamrules.render.docx import DocxRenderer, safe_filename
from kamrules.render.filters import daxie, date, money, pct, wan


@pytest.mark.parametrize("amount, expected", [
    (123456, "壹拾贰万叁仟肆佰伍拾陆元整"),
    (0, "零元整"),
    (0.5, "伍角整"),
    (0.05, "伍分"),
    (1234.56, "壹仟贰佰叁拾肆元伍角陆分"),
    (10203.04, "壹万零贰佰零叁元零肆分"),
    (100500, "壹拾万零伍佰元整"),
    (1001, "壹仟零壹元整"),
    (100000000, "壹亿元整"),
    (1010101010, "壹拾亿壹仟零壹拾万壹仟零壹拾元整"),
    (1000000.09, "壹佰万元零玖分"),
    (-7, "负柒元整"),
    (0.125, "壹角叁分"),  # rounded half up to the fen
    (None, "—"),
])
def test_daxie(amount, expected):
    assert daxie(amount) == expected


def test_locale_filters():
    assert money(1234567) == "¥1,234,567.00"
    assert money(-1234.5) == "-¥1,234.50"
    assert wan(1234567) == "123.46万元"
    assert pct(0.08) == "8.0%" and pct(0.1234, digits=2) == "12.34%"
    assert date(dt.date(2026, 11, 22)) == "2026年11月22日"
    assert date(dt.date(2026, 11, 22), "en_US") == "November 22, 2026"
    assert money(None) == wan(None) == pct(None) == date(None) == "—"


def make_template(path: Path, paragraphs: list[str]) -> Path:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.save(path)
    return path


def rendered_text(path: Path) -> list[str]:
    return [p.text for p in Document(path).paragraphs]


def test_names_are_escaped_not_broken(tmp_path):
    template = make_template(tmp_path / "t.docx", ["致：{{ name }}", "额度：{{ limit|money }}（{{ limit|daxie }}）"])
    target = tmp_path / "out.docx"
    DocxRenderer(template, "zh_CN").render({"name": "A&B <Co> \"引号\" 'x'", "limit": 123456}, target)
    assert rendered_text(target) == ["致：A&B <Co> \"引号\" 'x'", "额度：¥123,456.00（壹拾贰万叁仟肆佰伍拾陆元整）"]


def test_one_renderer_compiles_its_template_once_and_keeps_customers_apart(tmp_path, monkeypatch):
    import jinja2

    template = make_template(tmp_path / "t.docx", ["致：{{ name }}", "{% if vip %}优先发货{% else %}常规发货{% endif %}"])
    compiled = []
    original = jinja2.sandbox.SandboxedEnvironment.from_string

    def counting(env, source, globals=None, template_class=None):
        compiled.append(len(source))
        return original(env, source, globals, template_class)

    monkeypatch.setattr(jinja2.sandbox.SandboxedEnvironment, "from_string", counting)
    renderer = DocxRenderer(template, "zh_CN")
    customers = [("甲公司", True), ("乙公司", False), ("丙公司", True)]
    for index, (name, vip) in enumerate(customers):
        renderer.render({"name": name, "vip": vip}, tmp_path / f"{index}.docx")
    for index, (name, vip) in enumerate(customers):
        assert rendered_text(tmp_path / f"{index}.docx") == [f"致：{name}", "优先发货" if vip else "常规发货"]
    parts = len(compiled)
    assert 1 <= parts < len(customers) * 2  # each part of the template once, not once per customer
    renderer.render({"name": "丁公司", "vip": False}, tmp_path / "again.docx")
    assert len(compiled) == parts


def test_sandbox_blocks_python_internals(tmp_path):
    template = make_template(tmp_path / "t.docx", ["{{ name.__class__.__mro__[1].__subclasses__() }}"])
    with pytest.raises(RenderError) as info:
        DocxRenderer(template, "zh_CN").render({"name": "x"}, tmp_path / "out.docx", customer_id="C1")
    assert info.value.customer_id == "C1"
    assert not (tmp_path / "out.docx").exists()


def test_misspelt_placeholder_is_an_error_with_a_suggestion(tmp_path):
    template = make_template(tmp_path / "t.docx", ["{{ nmae }}"])
    with pytest.raises(RenderError) as info:
        DocxRenderer(template, "zh_CN", "templates/t.docx").render({"name": "x"}, tmp_path / "o.docx", "C7")
    assert str(info.value).startswith("templates/t.docx (customer C7): template uses nmae which is not in the context")
    assert info.value.suggestion == "did you mean 'name'?"


def test_template_syntax_error_names_the_template(tmp_path):
    template = make_template(tmp_path / "t.docx", ["{{ name "])
    with pytest.raises(RenderError, match="template syntax error") as info:
        DocxRenderer(template, "zh_CN", "templates/t.docx").render({"name": "x"}, tmp_path / "o.docx")
    assert info.value.template == "templates/t.docx"


def test_not_a_docx(tmp_path):
    (tmp_path / "t.docx").write_bytes(b"plain text")
    with pytest.raises(RenderError, match="not a Word .docx file"):
        DocxRenderer(tmp_path / "t.docx", "zh_CN")
    with pytest.raises(RenderError, match="cannot read template"):
        DocxRenderer(tmp_path / "missing.docx", "zh_CN")


@pytest.mark.parametrize("name, expected", [
    ("C001_A&B <Co>_服务方案.docx", "C001_A&B _Co__服务方案.docx"),
    ("../../etc/passwd.docx", "___etc_passwd.docx"),
    ('a:b*c?"d|e.docx', "a_b_c__d_e.docx"),
    ("CON.docx", "_CON.docx"),
    ("  trailing. ", "trailing"),
])
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_long_names_are_cut_within_the_byte_limit():
    name = safe_filename("客" * 200 + ".docx")
    assert name.endswith(".docx") and len(name.encode("utf-8")) <= 150
