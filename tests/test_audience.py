"""Documents that go to clients (issue 21): the audience boundary, the company's identity, wording
filters. Real templates are built with python-docx, rendered into tmp_path and reopened."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document
from PIL import Image
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.errors import RenderError, RulebookInvalid
from kamrules.init import init_project
from kamrules.render.docx import DocxRenderer, recolor, tint
from kamrules.render.filters import amount, discount, score
from kamrules.render.pictures import Picture
from kamrules.rules.rulebook_compiler import load_rulebook

from conftest import make_project


def invoke(*args: str):
    return CliRunner().invoke(app, [*args, "--lang", "en"], env={"KAMRULES_LANG": ""})


def template(path: Path, paragraphs: list[str]) -> Path:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path


def logo_png(color=(31, 78, 121)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buffer, "PNG")
    return buffer.getvalue()


def client_project(tmp_path: Path, paragraphs: list[str]) -> Path:
    """The bundled project whose proposal (audience: client) is the given paragraphs, in both languages."""
    project = make_project(tmp_path / "proj")
    for name in ("proposal.docx", "proposal.en.docx"):
        template(project / "templates" / name, paragraphs)
    (project / "templates" / "logo.png").write_bytes(logo_png())
    return project


# --- the boundary -------------------------------------------------------------------------------

def test_the_bundled_rulebook_marks_what_a_client_may_see(tmp_path):
    rulebook = load_rulebook(make_project(tmp_path / "proj"))
    visible = rulebook.client_fields
    assert {"customer_id", "name", "since", "settlement", "revenue_12m", "tenure_years", "discount_pct",
            "credit_limit", "credit_status", "priority_delivery", "next_visit_date"} <= visible
    assert not visible & {"churn_risk", "value_level", "potential_level", "loyalty_level", "target_growth",
                          "target_revenue_12m", "actions", "clv_12m", "p_alive", "margin_pct_12m", "rfm_segment",
                          "contact_birthday"}
    assert [(d.id, d.audience) for d in rulebook.spec.documents] == [("proposal", "client"),
                                                                     ("account_plan", "internal")]


def test_check_refuses_an_internal_field_in_a_client_template_at_its_line_and_placeholder(tmp_path):
    project = client_project(tmp_path, ["尊敬的{{ name }}：", "流失风险：{{ churn_risk }}（{{ reasons|length }}条依据）"])
    result = invoke("check", "-p", str(project))
    assert result.exit_code == 1
    hint = ("    hint: remove it from the template; or mark it client-visible in the rules (client: true on the "
            "decision, the metric in metrics.client, client: true on the customers column); or make the document "
            "audience: internal")
    lines = result.output.splitlines()
    assert lines[0] == "error: rulebook has 2 errors:"
    assert lines[1] == ("  rules/documents.yaml:24 [proposal]: a client document (audience: client) cannot show the "
                        "internal field churn_risk (templates/proposal.docx: '流失风险：{{ churn_risk }}（{{ reasons|length "
                        "}}条依据）')")
    assert lines[2] == hint
    assert lines[3].startswith("  rules/documents.yaml:24 [proposal]: a client document (audience: client) cannot "
                               "show the internal field reasons (templates/proposal.docx: '…")
    assert [line.split("(templates/")[1].split(":")[0] for line in lines[1::2]] == ["proposal.docx", "proposal.docx"]


def test_an_internal_document_may_show_anything_and_a_client_one_what_is_marked(tmp_path):
    project = client_project(tmp_path, ["{{ name }} {{ revenue_12m|amount }} {{ discount_pct|discount }}"])
    assert invoke("check", "-p", str(project)).exit_code == 0
    text = (project / "rules" / "documents.yaml").read_text(encoding="utf-8")
    (project / "rules" / "documents.yaml").write_text(text.replace("audience: client ", "audience: internal "),
                                                      encoding="utf-8")
    template(project / "templates" / "proposal.docx", ["{{ churn_risk }} {{ reasons|length }}"])
    template(project / "templates" / "proposal.en.docx", ["{{ churn_risk }}"])
    assert invoke("check", "-p", str(project)).exit_code == 0


def test_rendering_refuses_an_internal_field_too(tmp_path):
    path = template(tmp_path / "t.docx", ["{{ name }}：{{ churn_risk }}"])
    renderer = DocxRenderer(path, "zh_CN", "templates/t.docx", internal=frozenset({"churn_risk"}))
    with pytest.raises(RenderError) as caught:
        renderer.render({"name": "甲公司"}, tmp_path / "out.docx", "C001")
    assert caught.value.render("en") == ("templates/t.docx (customer C001): a client document (audience: client) "
                                         "cannot show the internal field churn_risk (while rendering)\n  hint: "
                                         "remove it from the template; or mark it client-visible in the rules "
                                         "(client: true on the decision, the metric in metrics.client, client: true "
                                         "on the customers column); or make the document audience: internal")
    assert not (tmp_path / "out.docx").exists()


def test_a_client_context_holds_only_client_fields(tmp_path):
    from kamrules.pipeline import evaluate
    from kamrules.render.context import customer_context

    project = make_project(tmp_path / "proj")
    rulebook, _, result = evaluate(project, dt.date(2026, 10, 31))
    row = result.frame.row(0, named=True)
    proposal, plan = rulebook.spec.documents
    client = customer_context(row, rulebook, dt.date(2026, 10, 31), proposal)
    internal = customer_context(row, rulebook, dt.date(2026, 10, 31), plan)
    assert {"reasons", "trace", "churn_risk", "value_level", "target_growth", "rfm_segment_title", "clv_12m"} \
        <= internal.keys()
    assert not client.keys() & {"reasons", "trace", "churn_risk", "value_level", "target_growth",
                                "rfm_segment_title", "clv_12m", "margin_pct_12m"}
    assert {"name", "revenue_12m", "discount_pct", "company", "upcoming_visits", "doc_no", "valid_until"} <= client.keys()


@pytest.mark.parametrize("fragment, message", [
    ("metrics:\n  client: [revenue_12m, revnue]\n",
     "rules/metrics.yaml:2:27: metrics.client names 'revnue', which is not a metric or field"),
])
def test_a_client_mark_must_name_a_field(tmp_path, fragment, message):
    project = make_project(tmp_path / "proj")
    text = (project / "rules" / "metrics.yaml").read_text(encoding="utf-8")
    text = re.sub(r"  client: \[[^\]]*\]\n", "", text).replace("metrics:\n", "metrics:\n  client: [revenue_12m, revnue]\n", 1)
    (project / "rules" / "metrics.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RulebookInvalid) as caught:
        load_rulebook(project)
    [error] = caught.value.errors
    assert error.render("en").split("\n")[0].split(": ", 1)[1] == message.split(": ", 1)[1]


def test_a_decision_may_mark_some_outputs_only(tmp_path):
    project = make_project(tmp_path / "proj")
    policy = project / "rules" / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    credit = text.index("\n  credit:\n")
    start = text.index("    client: true", credit)
    end = text.index("\n", start)
    policy.write_text(text[:start] + "    client: [credit_limit, credit_blok_at]" + text[end:], encoding="utf-8")
    with pytest.raises(RulebookInvalid) as caught:
        load_rulebook(project)
    [error] = caught.value.errors
    assert "client names 'credit_blok_at', which is not an output of decision credit" in error.render("en")
    assert "did you mean 'credit_block_at'?" in error.render("en")


# --- wording ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, zh, en", [
    (0.08, "九二折", "8% off"), (0.10, "九折", "10% off"), (0.05, "九五折", "5% off"), (0.125, "八七五折", "12.5% off"),
    (0.15, "八五折", "15% off"), (0.3, "七折", "30% off"), (0, "无折扣", "no discount"), (None, "—", "—"),
])
def test_discounts_read_as_zhe_in_chinese(value, zh, en):
    assert (discount(value), discount(value, "en_US")) == (zh, en)


def test_discount_score_and_amount_edges():
    with pytest.raises(ValueError, match="a discount is between 0 and 100%"):
        discount(1.2)
    assert score(4) == "4.0 / 5" and score(4.25, 10, "en_US") == "4.3 / 10" and score(None) == "—"
    assert amount(1146868.74, "full") == "¥1,146,868.74" and amount(2316000, "wan") == "231.60万元"
    assert amount(2316000, "wan", "en_US") == "CN¥2,316,000.00"  # 万 is Chinese: the full amount in English


def test_one_money_style_per_document(tmp_path):
    path = template(tmp_path / "t.docx", ["{{ a|amount }}｜{{ b|amount }}"])
    for style, expected in (("full", "¥1,146,868.74｜¥2,316,000.00"), ("wan", "114.69万元｜231.60万元")):
        DocxRenderer(path, "zh_CN", money_style=style).render({"a": 1146868.74, "b": 2316000}, tmp_path / "o.docx")
        assert Document(tmp_path / "o.docx").paragraphs[0].text == expected


# --- identity -----------------------------------------------------------------------------------

def test_the_logo_is_embedded_and_the_brand_colour_replaces_the_accent(tmp_path):
    path = tmp_path / "t.docx"
    doc = Document()
    doc.add_paragraph("{{ company.logo }}")
    run = doc.add_paragraph().add_run("{{ company.name }}")
    from docx.shared import RGBColor
    run.font.color.rgb = RGBColor(0x1F, 0x4E, 0x79)
    doc.save(path)
    renderer = DocxRenderer(path, "zh_CN", brand_color="C00000")
    company = {"name": "甲公司", "logo": Picture(logo_png((192, 0, 0)), width_mm=30)}
    renderer.render({"company": company}, tmp_path / "out.docx")
    with zipfile.ZipFile(tmp_path / "out.docx") as archive:
        media = [n for n in archive.namelist() if n.startswith("word/media/")]
        body = archive.read("word/document.xml").decode()
    assert len(media) == 1 and 'w:val="C00000"' in body and "1F4E79" not in body
    assert tint("1F4E79") == "E9EDF2" and tint("C00000") == "F9E6E6"
    assert recolor(path.read_bytes(), {}) != b""


def test_a_logo_that_is_not_a_picture_is_refused_by_check_and_run(tmp_path):
    project = client_project(tmp_path, ["{{ name }}"])
    (project / "templates" / "logo.png").write_text("not a picture", encoding="utf-8")
    result = invoke("check", "-p", str(project))
    assert (result.exit_code, result.output) == (1, "error: templates/logo.png: the company logo must be a PNG or JPEG "
                                                    "image\n  hint: set company.logo in rules/documents.yaml to a "
                                                    "picture inside the project, like templates/logo.png (PNG or "
                                                    "JPEG, at most 2 MB)\n")
    (project / "templates" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * (2 << 20))
    result = invoke("check", "-p", str(project))
    assert (result.exit_code, result.output.splitlines()[0]) == (
        1, "error: templates/logo.png: the company logo is too large (2,097,160 bytes; at most 2,097,152)")
    (project / "templates" / "logo.png").unlink()
    assert invoke("check", "-p", str(project)).output.startswith(
        "error: templates/logo.png: cannot read the company logo: ")


def test_a_new_project_says_its_company_details_are_still_to_fill_in(tmp_path):
    init_project(tmp_path / "new", "en")
    text = (tmp_path / "new" / "rules" / "documents.yaml").read_text(encoding="utf-8")
    assert 'name: "(fill in your company name)"' in text and "  # logo: templates/logo.png" in text
    rulebook = load_rulebook(tmp_path / "new")
    assert rulebook.spec.company.unfinished() == ["name", "address", "phone", "email", "signatory", "logo"]
    assert load_rulebook(make_project(tmp_path / "bundled")).spec.company.unfinished() == []
