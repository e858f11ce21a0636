"""Build the Word templates that kamrules fills with docxtpl.

Usage: python scripts/make_templates.py [--out-dir DIR]

The templates are generated with python-docx rather than edited by hand so
that every Jinja tag sits in exactly one run (Word tends to split hand-typed
tags across runs, which breaks docxtpl).  Output is byte-for-byte
deterministic: core properties carry a fixed date and the zip entries a fixed
timestamp, so regenerating an unchanged template leaves git clean.

Template context expected by ``proposal.docx``:

* ``company.name/address/phone/email/signatory``, ``as_of``, ``valid_until``,
  ``doc_no``
* customer: ``customer_id``, ``name``, ``industry``, ``region``, ``manager``,
  ``since``, ``settlement``, ``contact``
* metrics: ``revenue_12m``, ``revenue_prev_12m``, ``revenue_growth``,
  ``revenue_total``, ``orders_12m``, ``avg_order_value_12m``, ``outstanding``,
  ``overdue_amount``, ``max_overdue_days``
* decisions: ``tier_label``, ``key_account``, ``value_level``,
  ``potential_level``, ``loyalty_level``, ``discount_pct``, ``credit_limit``,
  ``credit_warn_at``, ``credit_block_at``, ``credit_status``,
  ``response_hours``, ``priority_delivery``, ``visit_interval_days``,
  ``next_visit_date``
* loops: ``upcoming_visits`` (``date``, ``purpose``), ``reasons``
  (``title``, ``rule``, ``note``)

Filters used: ``money``, ``wan``, ``pct``, ``date``, ``daxie`` (engine) and
Jinja's built-in ``abs``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION_START
from docx.enum.table import WD_TABLE_ALIGNMENT, WD_CELL_VERTICAL_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "templates"

FIXED_TIME = dt.datetime(2026, 10, 31, 0, 0, 0, tzinfo=dt.timezone.utc)
ZIP_TIME = (2026, 10, 31, 0, 0, 0)
AUTHOR = "kamrules"

BODY_LATIN, BODY_CJK = "Calibri", "宋体"
HEAD_LATIN, HEAD_CJK = "Arial", "黑体"

BRAND = RGBColor(0x1F, 0x4E, 0x79)
GREY = RGBColor(0x59, 0x59, 0x59)
ALERT = RGBColor(0xC0, 0x00, 0x00)
HEADER_FILL = "1F4E79"
KEY_FILL = "EAF1F8"
BORDER_COLOR = "A6A6A6"

PAGE_W, PAGE_H = Mm(210), Mm(297)
MARGIN_TB, MARGIN_LR = Mm(25), Mm(25)
TEXT_W_MM = 160

TABLE_STYLE = "KAM Table Text"

TCPR_AFTER_SHD = ("w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText",
                  "w:vAlign", "w:hideMark", "w:headers", "w:cellIns",
                  "w:cellDel", "w:cellMerge", "w:tcPrChange")
TBLPR_AFTER_BORDERS = ("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook",
                       "w:tblCaption", "w:tblDescription", "w:tblPrChange")
PPR_AFTER_BORDER = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku",
                    "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
                    "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi",
                    "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
                    "w:contextualSpacing", "w:mirrorIndents",
                    "w:suppressOverlap", "w:jc", "w:textDirection",
                    "w:textAlignment", "w:textboxTightWrap",
                    "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr",
                    "w:sectPr", "w:pPrChange")
SIGNATURE_BLANK = "＿＿＿＿＿＿＿＿＿＿＿＿"
DATE_BLANK = "＿＿＿＿年＿＿月＿＿日"


# --- low-level formatting -------------------------------------------------

def set_fonts(rpr_owner, latin: str, east_asia: str) -> None:
    """Set explicit ascii/hAnsi/eastAsia/cs fonts, dropping theme fonts."""
    rfonts = rpr_owner.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        rfonts.attrib.pop(qn(f"w:{attr}"), None)
    for attr in ("ascii", "hAnsi", "cs"):
        rfonts.set(qn(f"w:{attr}"), latin)
    rfonts.set(qn("w:eastAsia"), east_asia)


def style_font(style, latin: str, east_asia: str, size: float,
               bold: bool = False, color: RGBColor | None = None) -> None:
    set_fonts(style.element, latin, east_asia)
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.color.rgb = color


def style_spacing(style, before: float = 0, after: float = 0,
                  line: float = 1.0) -> None:
    fmt = style.paragraph_format
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(after)
    fmt.line_spacing_rule = WD_LINE_SPACING.MULTIPLE
    fmt.line_spacing = line


def shade(cell, fill: str) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tc_pr.insert_element_before(shd, *TCPR_AFTER_SHD)


def table_borders(table, color: str | None = BORDER_COLOR) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        if color is None:
            el.set(qn("w:val"), "nil")
        else:
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), "4")
            el.set(qn("w:space"), "0")
            el.set(qn("w:color"), color)
        borders.append(el)
    tbl_pr.insert_element_before(borders, *TBLPR_AFTER_BORDERS)


def cell_margins(table, top_bottom: int = 60, left_right: int = 100) -> None:
    mar = OxmlElement("w:tblCellMar")
    for edge, width in (("top", top_bottom), ("left", left_right),
                        ("bottom", top_bottom), ("right", left_right)):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), str(width))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    table._tbl.tblPr.insert_element_before(mar, "w:tblLook", "w:tblCaption",
                                           "w:tblDescription")


def row_flag(row, tag: str) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement(f"w:{tag}"))


def paragraph_bottom_border(paragraph, color: str, size: int = 8) -> None:
    p_pr = paragraph._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), str(size))
    bottom.set(qn("w:space"), "4")
    bottom.set(qn("w:color"), color)
    bdr.append(bottom)
    p_pr.insert_element_before(bdr, *PPR_AFTER_BORDER)


def add_field(paragraph, instr: str, placeholder: str) -> None:
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), instr)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = placeholder
    run.append(text)
    fld.append(run)
    paragraph._p.append(fld)


# --- document setup -------------------------------------------------------

def setup_doc_defaults(doc) -> None:
    rpr_default = doc.styles.element.find(qn("w:docDefaults")).find(
        qn("w:rPrDefault"))
    rpr = rpr_default.find(qn("w:rPr"))
    rfonts = rpr.find(qn("w:rFonts"))
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        rfonts.attrib.pop(qn(f"w:{attr}"), None)
    for attr in ("ascii", "hAnsi", "cs"):
        rfonts.set(qn(f"w:{attr}"), BODY_LATIN)
    rfonts.set(qn("w:eastAsia"), BODY_CJK)
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")


def setup_styles(doc) -> None:
    styles = doc.styles
    normal = styles["Normal"]
    style_font(normal, BODY_LATIN, BODY_CJK, 10.5)
    style_spacing(normal, after=6, line=1.3)

    heading = styles["Heading 1"]
    style_font(heading, HEAD_LATIN, HEAD_CJK, 14, bold=True, color=BRAND)
    style_spacing(heading, before=18, after=8, line=1.0)
    heading.paragraph_format.keep_with_next = True
    style_font(styles["Heading 1 Char"], HEAD_LATIN, HEAD_CJK, 14,
               bold=True, color=BRAND)

    for name in ("Header", "Footer"):
        style_font(styles[name], BODY_LATIN, BODY_CJK, 9, color=GREY)

    cell_style = styles.add_style(TABLE_STYLE, 1)
    cell_style.base_style = normal
    style_font(cell_style, BODY_LATIN, BODY_CJK, 10)
    style_spacing(cell_style, line=1.15)


def setup_page(doc) -> None:
    section = doc.sections[0]
    section.start_type = WD_SECTION_START.NEW_PAGE
    section.page_width, section.page_height = PAGE_W, PAGE_H
    section.top_margin = section.bottom_margin = MARGIN_TB
    section.left_margin = section.right_margin = MARGIN_LR
    section.header_distance = section.footer_distance = Mm(12)
    section.different_first_page_header_footer = True


def setup_header_footer(doc) -> None:
    section = doc.sections[0]
    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    header.add_run("{{ company.name }}｜大客户服务方案｜{{ doc_no }}")
    paragraph_bottom_border(header, BORDER_COLOR, size=4)

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("第 ")
    add_field(footer, "PAGE", "1")
    footer.add_run(" 页，共 ")
    add_field(footer, "NUMPAGES", "1")
    footer.add_run(" 页")


def set_core_properties(doc) -> None:
    props = doc.core_properties
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.title = "大客户服务方案"
    props.subject = "Key account service proposal template"
    props.keywords = "kamrules; docxtpl"
    props.comments = "Generated by scripts/make_templates.py"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.revision = 1


# --- content helpers ------------------------------------------------------

def add_text(container, text: str, *, style: str | None = None,
             bold: bool = False, size: float | None = None,
             color: RGBColor | None = None, align=None,
             latin: str | None = None, east_asia: str | None = None):
    paragraph = container.add_paragraph(style=style)
    if align is not None:
        paragraph.alignment = align
    run = paragraph.add_run(text)
    run.bold = bold or None
    if size is not None:
        run.font.size = Pt(size)
    if color is not None:
        run.font.color.rgb = color
    if latin and east_asia:
        set_fonts(run._r, latin, east_asia)
    return paragraph


def add_labelled(container, label: str, text: str, style: str | None = None):
    paragraph = container.add_paragraph(style=style)
    paragraph.add_run(label).bold = True
    paragraph.add_run(text)
    return paragraph


def lead_in(doc, text: str):
    paragraph = doc.add_paragraph(text)
    paragraph.paragraph_format.keep_with_next = True
    return paragraph


def keep_rows_together(rows) -> None:
    for row in rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                paragraph.paragraph_format.keep_with_next = True


def add_tag(doc, tag: str) -> None:
    doc.add_paragraph().add_run(tag)


def add_heading(doc, text: str, page_break: bool = False):
    paragraph = doc.add_paragraph(text, style="Heading 1")
    if page_break:
        paragraph.paragraph_format.page_break_before = True
    paragraph_bottom_border(paragraph, HEADER_FILL, size=6)
    return paragraph


def fill_cell(cell, text: str, *, bold: bool = False,
              color: RGBColor | None = None, align=None) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.style = TABLE_STYLE
    if align is not None:
        paragraph.alignment = align
    if text:
        run = paragraph.add_run(text)
        run.bold = bold or None
        if color is not None:
            run.font.color.rgb = color
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def new_table(doc, widths_mm, rows: int = 0, borders: bool = True):
    table = doc.add_table(rows=rows, cols=len(widths_mm))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    table_borders(table, BORDER_COLOR if borders else None)
    cell_margins(table)
    for col, width in zip(table.columns, widths_mm):
        col.width = Mm(width)
    return table


def add_row(table, texts, widths_mm, **cell_kwargs):
    row = table.add_row()
    for cell, text, width in zip(row.cells, texts, widths_mm):
        cell.width = Mm(width)
        fill_cell(cell, text, **cell_kwargs)
    return row


def add_header_row(table, titles, widths_mm):
    row = add_row(table, titles, widths_mm, bold=True,
                  color=RGBColor(0xFF, 0xFF, 0xFF),
                  align=WD_ALIGN_PARAGRAPH.CENTER)
    for cell in row.cells:
        shade(cell, HEADER_FILL)
    row_flag(row, "tblHeader")
    row_flag(row, "cantSplit")
    return row


def add_tag_row(table, tag: str, widths_mm):
    return add_row(table, [tag] + [""] * (len(widths_mm) - 1), widths_mm)


def key_value_table(doc, pairs, key_mm: float = 45):
    widths = (key_mm, TEXT_W_MM - key_mm)
    table = new_table(doc, widths)
    for key, value in pairs:
        if key is None:
            add_tag_row(table, value, widths)
            continue
        row = add_row(table, (key, value), widths)
        row.cells[0].paragraphs[0].runs[0].bold = True
        shade(row.cells[0], KEY_FILL)
        row_flag(row, "cantSplit")
    keep_rows_together(table.rows[:-1])
    return table


def loop_table(doc, titles, widths, open_tag: str, cells, close_tag: str,
               center_cols=(0,)):
    table = new_table(doc, widths)
    keep_rows_together([add_header_row(table, titles, widths)])
    add_tag_row(table, open_tag, widths)
    row = add_row(table, cells, widths)
    row_flag(row, "cantSplit")
    for index in center_cols:
        row.cells[index].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    add_tag_row(table, close_tag, widths)
    return table


def spacer(doc, points: float = 9) -> None:
    paragraph = doc.add_paragraph()
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.line_spacing = Pt(points)


# --- proposal sections ----------------------------------------------------

def add_cover(doc) -> None:
    add_text(doc, "{{ company.name }}", size=12, color=GREY,
             align=WD_ALIGN_PARAGRAPH.LEFT, latin=HEAD_LATIN,
             east_asia=HEAD_CJK)
    title = add_text(doc, "大客户服务方案", bold=True, size=30, color=BRAND,
                     align=WD_ALIGN_PARAGRAPH.CENTER, latin=HEAD_LATIN,
                     east_asia=HEAD_CJK)
    title.paragraph_format.space_before = Pt(150)
    title.paragraph_format.space_after = Pt(4)
    sub = add_text(doc, "KEY ACCOUNT SERVICE PROPOSAL", size=11, color=GREY,
                   align=WD_ALIGN_PARAGRAPH.CENTER, latin=HEAD_LATIN,
                   east_asia=HEAD_CJK)
    paragraph_bottom_border(sub, HEADER_FILL, size=12)
    sub.paragraph_format.space_after = Pt(36)
    to = add_text(doc, "致：{{ name }}", bold=True, size=16,
                  align=WD_ALIGN_PARAGRAPH.CENTER, latin=HEAD_LATIN,
                  east_asia=HEAD_CJK)
    to.paragraph_format.space_after = Pt(36)
    add_cover_table(doc)
    note = add_text(doc, "本方案仅供贵司内部评估使用，未经我司书面同意请勿向第三方披露。",
                    size=9, color=GREY, align=WD_ALIGN_PARAGRAPH.CENTER)
    note.paragraph_format.space_before = Pt(150)


def add_cover_table(doc) -> None:
    widths = (35, 85)
    table = new_table(doc, widths, borders=False)
    rows = (
        ("方案编号", "{{ doc_no }}"),
        ("方案日期", "{{ as_of|date }}"),
        ("有效期至", "{{ valid_until|date }}"),
        ("客户经理", "{{ manager }}"),
        ("提供方", "{{ company.name }}"),
    )
    for key, value in rows:
        row = add_row(table, (key + "：", value), widths)
        row.cells[0].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        row.cells[0].paragraphs[0].runs[0].bold = True
        for cell in row.cells:
            cell.paragraphs[0].runs[0].font.size = Pt(12)


def add_overview(doc) -> None:
    add_heading(doc, "一、客户概况", page_break=True)
    lead_in(
        doc,
        "感谢贵司长期以来对我司的信任与支持。为进一步提升合作效率与服务质量，"
        "我司结合双方合作情况，为贵司制定本大客户服务方案。贵司基本信息如下：")
    key_value_table(doc, (
        ("客户编号", "{{ customer_id }}"),
        ("客户名称", "{{ name }}"),
        ("所属行业", "{{ industry or '—' }}"),
        ("所在地区", "{{ region or '—' }}"),
        ("合作开始日期", "{{ since|date if since else '—' }}"),
        ("结算方式", "{{ settlement }}"),
        ("客户联系人", "{{ contact or '—' }}"),
        ("我方客户经理", "{{ manager }}"),
    ))


def add_review(doc) -> None:
    add_heading(doc, "二、合作回顾")
    lead_in(doc, "近12个月（截至{{ as_of|date }}）双方合作的主要数据如下：")
    key_value_table(doc, (
        ("近12个月采购额", "{{ revenue_12m|money }}"),
        ("上一周期采购额", "{{ revenue_prev_12m|money }}"),
        (None, "{%tr if revenue_growth is not none %}"),
        ("同比变化", "{% if revenue_growth >= 0 %}增长{% else %}下降{% endif %}"
                     "{{ revenue_growth|abs|pct }}"),
        (None, "{%tr endif %}"),
        ("累计采购额", "{{ revenue_total|wan }}"),
        ("近12个月订单数", "{{ orders_12m }} 笔"),
        ("平均订单金额", "{{ avg_order_value_12m|money }}"),
    ))
    spacer(doc)
    doc.add_paragraph(
        "综合评估贵司的采购价值（{{ value_level }}）、发展潜力（{{ potential_level }}）"
        "与合作稳定性（{{ loyalty_level }}），贵司被评定为{{ tier_label }}"
        "{% if key_account %}，并纳入我司大客户管理体系{% endif %}。"
        "本方案中的各项优惠与服务均依据该评级制定。")


def add_discount(doc) -> None:
    add_heading(doc, "三、专属优惠")
    add_tag(doc, "{%p if discount_pct %}")
    add_labelled(doc, "专属折扣：", "{{ discount_pct|pct }}")
    doc.add_paragraph(
        "在本方案有效期内（{{ as_of|date }}至{{ valid_until|date }}），贵司每一笔订单"
        "均可在我司当期标准目录价基础上直接享受{{ discount_pct|pct }}的专属折扣，"
        "折扣在报价单与发票中直接体现，无需另行申请。特价商品、促销活动商品及"
        "定制类商品另行报价，折扣不与其他优惠叠加使用。")
    add_tag(doc, "{%p else %}")
    doc.add_paragraph(
        "在本方案有效期内（{{ as_of|date }}至{{ valid_until|date }}），贵司订单按我司"
        "当期标准目录价执行。随着合作规模的扩大，我司将在下一期方案中重新评估"
        "并为贵司争取专属折扣。")
    add_tag(doc, "{%p endif %}")


def add_credit(doc) -> None:
    add_heading(doc, "四、结算与信用")
    key_value_table(doc, (
        ("结算方式", "{{ settlement }}"),
        ("信用额度", "{{ credit_limit|money }}（大写：{{ credit_limit|daxie }}）"),
        ("预警线", "{{ credit_warn_at|money }}"),
        ("冻结线", "{{ credit_block_at|money }}"),
        ("当前未结余额", "{{ outstanding|money }}"),
        ("信用状态", "{{ credit_status }}"),
    ))
    spacer(doc)
    add_tag(doc, "{%p if settlement == '月结' %}")
    doc.add_paragraph(
        "贵司采用月结方式：当月已交付订单于次月统一对账结算。当未结余额超过预警线"
        "（{{ credit_warn_at|money }}）时，我司客户经理将及时提醒贵司安排付款；"
        "当未结余额超过冻结线（{{ credit_block_at|money }}）时，新订单将暂缓发货，"
        "待余额结清后自动恢复正常供货。")
    add_tag(doc, "{%p else %}")
    doc.add_paragraph(
        "贵司采用现结方式：订单款项到账后安排发货。如贵司有调整为月结的需要，"
        "可联系客户经理提交申请，我司将根据合作情况予以评估。")
    add_tag(doc, "{%p endif %}")
    add_tag(doc, "{%p if credit_status != '正常' %}")
    add_text(doc,
             "特别提示：截至{{ as_of|date }}，贵司逾期未付金额为"
             "{{ overdue_amount|money }}，最长逾期{{ max_overdue_days }}天，"
             "当前信用状态为“{{ credit_status }}”。"
             "{% if credit_status == '冻结' %}新订单已暂缓发货，"
             "请尽快安排付款，结清后我司将立即恢复供货。"
             "{% else %}请尽快安排付款，以免影响后续订单的正常发货。{% endif %}",
             bold=True, color=ALERT)
    add_tag(doc, "{%p endif %}")


def add_service(doc) -> None:
    add_heading(doc, "五、服务承诺")
    lead_in(doc, "在本方案有效期内，我司向贵司作出以下服务承诺：")
    widths = (40, TEXT_W_MM - 40)
    table = new_table(doc, widths)
    keep_rows_together([add_header_row(table, ("服务项目", "承诺内容"), widths)])
    rows = (
        ("响应时效", "工作时间内{{ response_hours }}小时内响应贵司的咨询、订单与售后需求。"),
        (None, "{%tr if priority_delivery %}"),
        ("优先交付", "贵司订单享受优先排产、优先备货与优先发货。"),
        (None, "{%tr endif %}"),
        ("专属客户经理", "由{{ manager }}担任贵司专属客户经理，统筹订单、交付、结算与售后事宜。"),
        ("先行赔付", "因我司产品或服务质量问题给贵司造成损失的，经双方确认后由我司先行赔付，"
                     "不因内部追责流程延误贵司。"),
        ("季度业务回顾", "每季度与贵司共同回顾采购、交付、结算与服务情况，并据此优化合作方案。"),
    )
    for key, value in rows:
        if key is None:
            add_tag_row(table, value, widths)
            continue
        row = add_row(table, (key, value), widths)
        row.cells[0].paragraphs[0].runs[0].bold = True
        shade(row.cells[0], KEY_FILL)
        row_flag(row, "cantSplit")
    keep_rows_together(table.rows[:-1])


def add_visits(doc) -> None:
    add_heading(doc, "六、拜访计划")
    lead_in(
        doc,
        "我司客户经理将每{{ visit_interval_days }}天对贵司进行一次例行拜访，"
        "下次拜访预计为{{ next_visit_date|date }}。具体拜访时间将由客户经理提前与贵司"
        "{% if contact %}联系人{{ contact }}{% else %}相关负责人{% endif %}确认。"
        "近期拜访安排如下：")
    loop_table(
        doc, ("序号", "日期", "事项"), (20, 45, TEXT_W_MM - 65),
        "{%tr for v in upcoming_visits %}",
        ("{{ loop.index }}", "{{ v.date|date }}", "{{ v.purpose }}"),
        "{%tr endfor %}", center_cols=(0, 1))


def add_basis(doc) -> None:
    add_heading(doc, "七、方案依据")
    lead_in(doc, "本方案中的各项安排均依据我司大客户管理制度确定，对应规则如下：")
    loop_table(
        doc, ("决策", "规则编号", "说明"), (40, 30, TEXT_W_MM - 70),
        "{%tr for r in reasons %}",
        ("{{ r.title }}", "{{ r.rule }}", "{{ r.note }}"),
        "{%tr endfor %}", center_cols=(1,))


def add_contact(doc) -> None:
    add_heading(doc, "八、联系方式")
    lead_in(doc, "如对本方案有任何疑问，欢迎随时与我们联系：")
    key_value_table(doc, (
        ("公司名称", "{{ company.name }}"),
        ("公司地址", "{{ company.address }}"),
        ("联系电话", "{{ company.phone }}"),
        ("电子邮箱", "{{ company.email }}"),
        ("专属客户经理", "{{ manager }}"),
    ))
    spacer(doc)
    doc.add_paragraph(
        "本方案自双方签字盖章之日起生效，有效期至{{ valid_until|date }}。"
        "本方案未尽事宜，以双方签订的购销合同为准。")


def add_signature(doc) -> None:
    intro = add_text(doc, "双方确认", bold=True, size=12, color=BRAND,
                     latin=HEAD_LATIN, east_asia=HEAD_CJK)
    intro.paragraph_format.space_before = Pt(18)
    intro.paragraph_format.keep_with_next = True
    widths = (80, 80)
    table = new_table(doc, widths, borders=False)
    rows = (
        ("甲方（客户）：{{ name }}", "乙方（服务方）：{{ company.name }}"),
        ("授权代表：" + SIGNATURE_BLANK, "授权代表：{{ company.signatory }}"),
        ("签字（盖章）：" + SIGNATURE_BLANK, "签字（盖章）：" + SIGNATURE_BLANK),
        ("日期：" + DATE_BLANK, "日期：" + DATE_BLANK),
    )
    for index, texts in enumerate(rows):
        row = add_row(table, texts, widths, bold=index == 0)
        row_flag(row, "cantSplit")
        for cell in row.cells:
            fmt = cell.paragraphs[0].paragraph_format
            fmt.space_before = Pt(10)
            fmt.keep_with_next = index < len(rows) - 1


# --- build & write --------------------------------------------------------

def build_proposal():
    doc = Document()
    setup_doc_defaults(doc)
    setup_styles(doc)
    setup_page(doc)
    setup_header_footer(doc)
    set_core_properties(doc)
    add_cover(doc)
    add_overview(doc)
    add_review(doc)
    add_discount(doc)
    add_credit(doc)
    add_service(doc)
    add_visits(doc)
    add_basis(doc)
    add_contact(doc)
    add_signature(doc)
    return doc


def normalized_zip(raw: bytes) -> bytes:
    """Rewrite a .docx zip with fixed timestamps so output is reproducible."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(item.filename))
    return out.getvalue()


def write_docx(doc, path: Path) -> None:
    buffer = io.BytesIO()
    doc.save(buffer)
    data = normalized_zip(buffer.getvalue())
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


TEMPLATES = {
    "proposal.docx": build_proposal,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR,
                        help="directory to write templates into "
                             f"(default: {DEFAULT_OUT_DIR})")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for filename, builder in TEMPLATES.items():
        path = args.out_dir / filename
        write_docx(builder(), path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
