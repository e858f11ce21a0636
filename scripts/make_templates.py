"""Build the Word templates that kamrules fills with docxtpl.

Usage: python scripts/make_templates.py [--out-dir DIR]

The templates are generated with python-docx rather than edited by hand so
that every Jinja tag sits in exactly one run (Word tends to split hand-typed
tags across runs, which breaks docxtpl).  Output is byte-for-byte
deterministic: core properties carry a fixed date and the zip entries a fixed
timestamp, so regenerating an unchanged template leaves git clean.

Each template comes in Chinese (``<stem>.docx``) and English
(``<stem>.en.docx``, picked by kamrules when the rulebook's locale is
English).  Both languages share one structure and the same variables; only
the fixed text differs.  English templates never write 元/年/月 themselves
(the filters format amounts and dates for the locale) and show the
rulebook's usual Chinese decision values (高/中/低, 正常/预警/冻结, 月结/现结)
in English, falling back to the value itself.

Template context expected by ``proposal.docx`` (大客户服务方案, sent to the
customer: ``audience: client``, so client-visible fields only):

* ``company.name/short_name/address/phone/email/website/signatory/seal_text``
  and the pictures ``company.logo`` (cover) and ``company.logo_small`` (page
  header), each possibly None/empty and guarded; ``as_of``, ``valid_until``,
  ``doc_no``
* customer: ``customer_id``, ``name``, ``industry``, ``region``, ``manager``,
  ``since``, ``settlement``, ``contact``
* metrics: ``revenue_12m``, ``revenue_prev_12m``, ``revenue_growth``,
  ``revenue_total``, ``orders_12m``, ``avg_order_value_12m``, ``outstanding``,
  ``overdue_amount``, ``max_overdue_days``, ``tenure_years`` (the thank-you:
  "长期以来" from one year, None counts as new)
* decisions: ``tier_label``, ``key_account``, ``discount_pct``,
  ``credit_limit``, ``credit_warn_at``, ``credit_block_at``, ``credit_status``,
  ``response_hours``, ``priority_delivery`` (promised only when true and the
  credit is not on hold), ``visit_interval_days``, ``next_visit_date``
* loops and pictures: ``upcoming_visits`` (``date``, ``purpose``),
  ``revenue_chart`` (the client's own monthly purchases)

Template context expected by ``account_plan.docx`` (大客户经营计划, internal,
for the account team):

* ``company.name`` (and the logos), ``as_of``, ``doc_no``
* customer: ``customer_id``, ``name``, ``industry``, ``region``, ``manager``,
  ``since``, ``settlement``, ``contact``, ``contract_end``
* metrics: ``revenue_12m``, ``revenue_prev_12m``, ``revenue_growth``,
  ``orders_12m``, ``avg_order_value_12m``, ``gross_margin_12m``,
  ``margin_pct_12m``, ``recency_days``, ``dso_days``, ``on_time_rate_12m``,
  ``satisfaction``, ``outstanding``, ``overdue_amount``,
  ``max_overdue_days``, ``complaints_12m``, ``last_visit_date``,
  ``abc_class``, ``rfm_segment_title``
* decisions: ``tier_label``, ``key_account``, ``value_level``,
  ``potential_level``, ``loyalty_level``, ``churn_risk``,
  ``target_growth``, ``target_revenue_12m``, ``discount_pct``,
  ``credit_limit``, ``credit_status``, ``visit_interval_days``,
  ``next_visit_date``
* loops and pictures: ``monthly`` (``label``, ``revenue``,
  ``revenue_prev_year``, ``growth``) with ``revenue_chart``, ``actions``
  (text), ``upcoming_visits``, ``reasons`` (the rules behind each decision:
  internal, never in the proposal)

``overdue_amount``, ``complaints_12m``, ``max_overdue_days`` and
``outstanding`` are compared with numbers and so must never be None; every
other optional value is guarded or goes through a filter that prints ``—``.

Filters used: ``amount`` (every amount: the document's one money style,
``documents[].money``), ``discount`` (九二折 / 8% off), ``score`` (4.0 / 5),
``pct``, ``date``, ``daxie``, ``number``, ``yesno`` (engine) and Jinja's
built-in ``abs``.  Colours: the accent is always 1F4E79 and its light fill
EAF1F8 (a run replaces both with the company's brand colour and its tint).

``--logo`` also draws the sample ``logo.png`` (恒信 in white on the brand
colour) with Pillow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from docx import Document
from docx.enum.section import WD_SECTION_START
from docx.enum.table import WD_TABLE_ALIGNMENT, WD_CELL_VERTICAL_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
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
WHITE = RGBColor(0xFF, 0xFF, 0xFF)
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

# The rulebook's usual Chinese decision values, as English templates show them.
LEVELS = {"高": "High", "中": "Medium", "低": "Low"}
CREDIT_STATUSES = {"正常": "Normal", "预警": "Warning", "冻结": "Credit hold"}
SETTLEMENTS = {"月结": "Monthly statement", "现结": "Cash"}
# The English example rulebook's values (examples/en/rules), which English templates accept too.
ENGLISH_VALUES = {"高": "high", "中": "medium", "低": "low", "正常": "normal", "预警": "warning",
                  "冻结": "hold", "月结": "monthly", "现结": "cash"}

T = TypeVar("T")


# --- languages ------------------------------------------------------------

@dataclass(frozen=True)
class Lang:
    """The fixed-text conventions of one template language.

    Calling it picks the text for its language: ``tr("客户编号", "Customer ID")``.
    """

    code: str
    colon: str                      # after a label
    bar: str                        # between the parts of the page header
    page_of: tuple[str, str, str]   # footer text around PAGE and NUMPAGES
    signature_blank: str
    date_blank: str
    key_mm: float                   # label column of key/value tables

    def __call__(self, zh: T, en: T) -> T:
        return zh if self.code == "zh" else en

    def term(self, name: str, terms: dict[str, str]) -> str:
        """``{{ name }}``; in English, the known Chinese values translated."""
        if self.code == "zh":
            return f"{{{{ {name} }}}}"
        pairs = [*terms.items(), *((ENGLISH_VALUES[zh], en) for zh, en in terms.items())]
        mapping = ", ".join(f"'{value}': '{en}'" for value, en in pairs)
        return f"{{{{ {{{mapping}}}.get({name}, {name} or '—') }}}}"

    def eq(self, name: str, value: str) -> str:
        """``name == '高'``; in English also true for the English value (``'high'``)."""
        if self.code == "zh":
            return f"{name} == '{value}'"
        return f"{name} in ('{value}', '{ENGLISH_VALUES[value]}')"

    def ne(self, name: str, value: str) -> str:
        """``name != '正常'``; in English also false for the English value."""
        if self.code == "zh":
            return f"{name} != '{value}'"
        return f"{name} not in ('{value}', '{ENGLISH_VALUES[value]}')"


ZH = Lang(code="zh", colon="：", bar="｜", page_of=("第 ", " 页，共 ", " 页"),
          signature_blank="＿" * 12, date_blank="＿＿＿＿年＿＿月＿＿日",
          key_mm=45)
EN = Lang(code="en", colon=": ", bar=" | ", page_of=("Page ", " of ", ""),
          signature_blank="_" * 16, date_blank="_" * 16, key_mm=55)


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
    if tr_pr.find(qn(f"w:{tag}")) is None:
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
        # python-docx's default template puts a centre tab at 82.55 mm and a right tab at
        # 165.1 mm (US Letter) here: one right tab at the text's edge instead
        tabs = styles[name].paragraph_format.tab_stops
        tabs.clear_all()
        tabs.add_tab_stop(Mm(TEXT_W_MM), WD_TAB_ALIGNMENT.RIGHT)

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


def setup_header_footer(doc, tr: Lang, title: str, website: bool = False) -> None:
    """Page header: the small logo on the left, the document's identity on the right (one line:
    in English the company's short name and the document number only); footer: the page number,
    after the company's website when ``website``."""
    section = doc.sections[0]
    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.LEFT
    # the picture in a run of its own; the text right-aligned at the tab, with or without a logo
    header.add_run("{% if company.logo_small %}{{ company.logo_small }}{% endif %}")
    header.add_run("\t")
    header.add_run(tr(
        f"{{% if company.name %}}{{{{ company.name }}}}{tr.bar}{{% endif %}}{title}{tr.bar}{{{{ doc_no }}}}",
        "{% if company.short_name or company.name %}{{ company.short_name or company.name }}"
        f"{tr.bar}{{% endif %}}{{{{ doc_no }}}}"))
    paragraph_bottom_border(header, BORDER_COLOR, size=4)

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    before, between, after = tr.page_of
    if website:
        footer.add_run("{% if company.website %}{{ company.website }}" + tr("　·　", "  ·  ")
                       + "{% endif %}")
    footer.add_run(before)
    add_field(footer, "PAGE", "1")
    footer.add_run(between)
    add_field(footer, "NUMPAGES", "1")
    if after:
        footer.add_run(after)


def set_core_properties(doc, title: str, subject: str) -> None:
    props = doc.core_properties
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.title = title
    props.subject = subject
    props.keywords = "kamrules; docxtpl"
    props.comments = "Generated by scripts/make_templates.py"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.revision = 1


def new_document(tr: Lang, title: str, subject: str, website: bool = False):
    """An empty A4 document with the house styles, page header and footer."""
    doc = Document()
    setup_doc_defaults(doc)
    setup_styles(doc)
    setup_page(doc)
    setup_header_footer(doc, tr, title, website)
    set_core_properties(doc, title, subject)
    return doc


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


def add_labelled(container, label: str, text: str, style: str | None = None,
                 color: RGBColor | None = None):
    paragraph = container.add_paragraph(style=style)
    run = paragraph.add_run(label)
    run.bold = True
    if color is not None:
        run.font.color.rgb = color
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


def unglue_from_table(doc) -> None:
    """Put a 1pt empty paragraph between a table and the heading about to follow.

    LibreOffice never moves the first paragraph after a table to the next
    page for keep-with-next, so without this a heading can be left alone at
    the foot of a page.  ``{%p %}`` tag paragraphs vanish when rendered, so a
    heading after one may end up right below a table too.
    """
    previous = doc.element.body[-2]  # [-1] is the section properties
    text = "".join(previous.itertext()) if previous.tag == qn("w:p") else ""
    if previous.tag == qn("w:tbl") or text.startswith("{%p"):
        fmt = doc.add_paragraph().paragraph_format
        fmt.space_after = Pt(0)
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(1)


def add_heading(doc, text: str, page_break: bool = False):
    if not page_break:
        unglue_from_table(doc)
    paragraph = doc.add_paragraph(text, style="Heading 1")
    if page_break:
        paragraph.paragraph_format.page_break_before = True
    paragraph_bottom_border(paragraph, HEADER_FILL, size=6)
    return paragraph


def add_subheading(doc, text: str, space_before: float = 18):
    unglue_from_table(doc)
    paragraph = add_text(doc, text, bold=True, size=12, color=BRAND,
                         latin=HEAD_LATIN, east_asia=HEAD_CJK)
    paragraph.paragraph_format.space_before = Pt(space_before)
    paragraph.paragraph_format.keep_with_next = True
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


def mark_key(cell) -> None:
    """Bold text on a light fill: the label cell of a key/value row."""
    cell.paragraphs[0].runs[0].bold = True
    shade(cell, KEY_FILL)


def align_cells(row, columns, alignment) -> None:
    for index in columns:
        row.cells[index].paragraphs[0].alignment = alignment


def new_table(doc, widths_mm, rows: int = 0, borders: bool = True,
              padding: int = 60):
    table = doc.add_table(rows=rows, cols=len(widths_mm))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    table_borders(table, BORDER_COLOR if borders else None)
    cell_margins(table, top_bottom=padding)
    for col, width in zip(table.columns, widths_mm):
        col.width = Mm(width)
    return table


def add_row(table, texts, widths_mm, **cell_kwargs):
    row = table.add_row()
    for cell, text, width in zip(row.cells, texts, widths_mm):
        cell.width = Mm(width)
        fill_cell(cell, text, **cell_kwargs)
    row_flag(row, "cantSplit")  # a row never breaks across pages
    return row


def add_header_row(table, titles, widths_mm):
    row = add_row(table, titles, widths_mm, bold=True, color=WHITE,
                  align=WD_ALIGN_PARAGRAPH.CENTER)
    for cell in row.cells:
        shade(cell, HEADER_FILL)
    row_flag(row, "tblHeader")
    row_flag(row, "cantSplit")
    return row


def add_tag_row(table, tag: str, widths_mm):
    return add_row(table, [tag] + [""] * (len(widths_mm) - 1), widths_mm)


def key_value_table(doc, pairs, key_mm: float = 45, header=None):
    """Label/value rows; a ``(None, tag)`` pair is a docxtpl ``{%tr %}`` row."""
    widths = (key_mm, TEXT_W_MM - key_mm)
    table = new_table(doc, widths)
    if header is not None:
        keep_rows_together([add_header_row(table, header, widths)])
    for key, value in pairs:
        if key is None:
            add_tag_row(table, value, widths)
            continue
        row = add_row(table, (key, value), widths)
        mark_key(row.cells[0])
        row_flag(row, "cantSplit")
    keep_rows_together(table.rows[:-1])
    return table


def key_value_grid(doc, pairs, widths=(35, 45, 35, 45)):
    """Label/value pairs two to a row, for a compact block of figures."""
    table = new_table(doc, widths)
    for left, right in zip(pairs[0::2], pairs[1::2]):
        row = add_row(table, (*left, *right), widths)
        for index in (0, 2):
            mark_key(row.cells[index])
        row_flag(row, "cantSplit")
    keep_rows_together(table.rows[:-1])
    return table


def loop_table(doc, titles, widths, open_tag: str, cells, close_tag: str,
               center_cols=(0,), right_cols=(), keep_together: bool = False,
               padding: int = 60):
    """Header row plus one ``{%tr for %}`` row; ``keep_together`` keeps every
    generated row with the next (for short tables followed by a totals row)."""
    table = new_table(doc, widths, padding=padding)
    keep_rows_together([add_header_row(table, titles, widths)])
    add_tag_row(table, open_tag, widths)
    row = add_row(table, cells, widths)
    row_flag(row, "cantSplit")
    if keep_together:
        keep_rows_together([row])
    align_cells(row, center_cols, WD_ALIGN_PARAGRAPH.CENTER)
    align_cells(row, right_cols, WD_ALIGN_PARAGRAPH.RIGHT)
    add_tag_row(table, close_tag, widths)
    return table


def spacer(doc, points: float = 9) -> None:
    paragraph = doc.add_paragraph()
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.line_spacing = Pt(points)


def picture_paragraph(doc, tag: str, align=WD_ALIGN_PARAGRAPH.CENTER):
    """A paragraph holding nothing but one picture tag (an InlineImage needs a run of its own)."""
    paragraph = doc.add_paragraph()
    paragraph.alignment = align
    paragraph.add_run(tag)
    return paragraph


def add_cover(doc, tr: Lang, *, title: str, subtitle: str, addressee: str,
              rows, note: str, title_size: float = 30,
              key_mm: float = 35) -> None:
    """Cover page: logo (or the same room left empty), company, title, subtitle rule,
    addressee, details, note."""
    add_tag(doc, "{%p if company.logo %}")
    logo = picture_paragraph(doc, "{{ company.logo }}")
    logo.paragraph_format.space_before = Pt(30)
    logo.paragraph_format.space_after = Pt(6)
    add_tag(doc, "{%p else %}")
    room = doc.add_paragraph()  # about the height of a square logo, so the page looks the same
    room.paragraph_format.space_before = Pt(30)
    room.paragraph_format.space_after = Pt(6)
    room.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    room.paragraph_format.line_spacing = Mm(30)
    add_tag(doc, "{%p endif %}")
    add_text(doc, "{{ company.name or '' }}", size=12, color=GREY,
             align=WD_ALIGN_PARAGRAPH.CENTER, latin=HEAD_LATIN,
             east_asia=HEAD_CJK)
    heading = add_text(doc, title, bold=True, size=title_size, color=BRAND,
                       align=WD_ALIGN_PARAGRAPH.CENTER, latin=HEAD_LATIN,
                       east_asia=HEAD_CJK)
    heading.paragraph_format.space_before = Pt(60)
    heading.paragraph_format.space_after = Pt(4)
    sub = add_text(doc, subtitle, size=11, color=GREY,
                   align=WD_ALIGN_PARAGRAPH.CENTER, latin=HEAD_LATIN,
                   east_asia=HEAD_CJK)
    paragraph_bottom_border(sub, HEADER_FILL, size=12)
    sub.paragraph_format.space_after = Pt(36)
    to = add_text(doc, addressee, bold=True, size=16,
                  align=WD_ALIGN_PARAGRAPH.CENTER, latin=HEAD_LATIN,
                  east_asia=HEAD_CJK)
    to.paragraph_format.space_after = Pt(36)
    add_cover_table(doc, tr, rows, key_mm)
    footnote = add_text(doc, note, size=9, color=GREY,
                        align=WD_ALIGN_PARAGRAPH.CENTER)
    footnote.paragraph_format.space_before = Pt(90)


def add_cover_table(doc, tr: Lang, rows, key_mm: float) -> None:
    """Unbordered label/value rows; a ``(None, tag)`` row is a docxtpl ``{%tr %}`` row."""
    widths = (key_mm, 85)
    table = new_table(doc, widths, borders=False)
    for key, value in rows:
        if key is None:
            add_tag_row(table, value, widths)
            continue
        row = add_row(table, (key + tr.colon, value), widths)
        row.cells[0].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        row.cells[0].paragraphs[0].runs[0].bold = True
        for cell in row.cells:
            cell.paragraphs[0].runs[0].font.size = Pt(12)


def signature_block(doc, heading: str, rows) -> None:
    """Two unbordered columns of sign-off lines; the first row in bold. A ``(None, tag)`` row is
    a docxtpl ``{%tr %}`` row; a row of three (the third true) is in small grey type."""
    add_subheading(doc, heading)
    widths = (80, 80)
    table = new_table(doc, widths, borders=False)
    for index, texts in enumerate(rows):
        if texts[0] is None:
            add_tag_row(table, texts[1], widths)
            continue
        small = len(texts) > 2 and texts[2]
        row = add_row(table, texts[:2], widths, bold=index == 0,
                      color=GREY if small else None)
        for cell in row.cells:
            fmt = cell.paragraphs[0].paragraph_format
            fmt.space_before = Pt(2 if small else 10)
            fmt.keep_with_next = index < len(rows) - 1
            for run in cell.paragraphs[0].runs:
                if small:
                    run.font.size = Pt(9)


def visits_table(doc, tr: Lang) -> None:
    loop_table(
        doc, (tr("序号", "No."), tr("日期", "Date"), tr("事项", "Purpose")),
        (20, 45, TEXT_W_MM - 65),
        "{%tr for v in upcoming_visits %}",
        ("{{ loop.index }}", "{{ v.date|date }}", "{{ v.purpose }}"),
        "{%tr endfor %}", center_cols=(0, 1))


def reasons_table(doc, tr: Lang) -> None:
    loop_table(
        doc, (tr("决策", "Decision"), tr("规则编号", "Rule"),
              tr("说明", "Explanation")),
        (40, 30, TEXT_W_MM - 70),
        "{%tr for r in reasons %}",
        ("{{ r.title }}", "{{ r.rule }}", "{{ r.note }}"),
        "{%tr endfor %}", center_cols=(1,))


# --- proposal sections ----------------------------------------------------

def add_proposal_cover(doc, tr: Lang) -> None:
    add_cover(
        doc, tr,
        title=tr("大客户服务方案", "Key Account Service Proposal"),
        subtitle=tr("KEY ACCOUNT SERVICE PROPOSAL",
                    "PREFERRED TERMS AND SERVICE COMMITMENTS"),
        addressee=tr("致：{{ name }}", "To: {{ name }}"),
        rows=(
            (tr("方案编号", "Reference"), "{{ doc_no }}"),
            (tr("方案日期", "Date"), "{{ as_of|date }}"),
            (tr("有效期至", "Valid until"), "{{ valid_until|date }}"),
            (tr("客户经理", "Account manager"), "{{ manager }}"),
            (None, "{%tr if company.name %}"),
            (tr("提供方", "Provided by"), "{{ company.name }}"),
            (None, "{%tr endif %}"),
        ),
        note=tr("本方案仅供贵司内部评估使用，未经我司书面同意请勿向第三方披露。",
                "This proposal is for your internal evaluation only and may not "
                "be disclosed to any third party without our written consent."),
        title_size=tr(30, 24), key_mm=tr(35, 55))


# Conditions both languages share: each accepts the Chinese rulebook's value and the English one.
MONTHLY = "settlement in ('月结', 'monthly')"
ON_CREDIT = f"{MONTHLY} and credit_limit"  # the limit, warning and hold lines mean something
ON_HOLD = "credit_status in ('冻结', 'hold')"
NOT_NORMAL = "credit_status and credit_status not in ('正常', 'normal')"
# priority is promised only when the policy grants it, and never beside a credit hold
PRIORITY = f"priority_delivery and not ({ON_HOLD})"
LONG_STANDING = "tenure_years is not none and tenure_years >= 1"


def add_overview(doc, tr: Lang) -> None:
    add_heading(doc, tr("一、客户概况", "1. Customer Overview"), page_break=True)
    lead_in(doc, tr(
        f"{{% if {LONG_STANDING} %}}感谢贵司长期以来对我司的信任与支持。"
        "{% else %}感谢贵司选择我司作为合作伙伴。{% endif %}"
        "为进一步提升合作效率与服务质量，我司结合双方合作情况，为贵司制定本大客户服务方案。"
        "贵司基本信息如下：",
        f"{{% if {LONG_STANDING} %}}Thank you for your long-standing trust and "
        "support.{% else %}Thank you for choosing us as your supplier.{% endif %} "
        "To make our cooperation as efficient as possible and raise the quality "
        "of our service, we have prepared this key account service proposal for "
        "you. Your company details are as follows:"))
    key_value_table(doc, (
        (tr("客户编号", "Customer ID"), "{{ customer_id }}"),
        (tr("客户名称", "Customer name"), "{{ name }}"),
        (tr("所属行业", "Industry"), "{{ industry or '—' }}"),
        (tr("所在地区", "Region"), "{{ region or '—' }}"),
        (tr("合作开始日期", "Customer since"), "{{ since|date if since else '—' }}"),
        (tr("结算方式", "Settlement terms"), tr.term("settlement", SETTLEMENTS)),
        (tr("客户联系人", "Contact person"), "{{ contact or '—' }}"),
        (tr("我方客户经理", "Account manager"), "{{ manager }}"),
    ), key_mm=tr.key_mm)
    spacer(doc)
    # the tier and what it brings: only promises the later sections keep
    doc.add_paragraph(tr(
        "{% if tier_label %}贵司当前的客户等级为{{ tier_label }}"
        "{% if key_account %}，已纳入我司大客户管理体系{% endif %}。{% endif %}"
        "在本方案有效期内，贵司享有：专属客户经理{{ manager }}全程服务"
        "{% if response_hours %}、{{ response_hours }}小时内响应{% endif %}"
        "{% if discount_pct %}、目录价{{ discount_pct|discount }}{% endif %}"
        f"{{% if {PRIORITY} %}}、订单优先排产与优先发货{{% endif %}}。"
        "各项条件详见下文。",
        "{% if tier_label %}Your company is rated {{ tier_label }}"
        "{% if key_account %} and is part of our key account programme{% endif %}. "
        "{% endif %}While this proposal is valid, you receive: a dedicated "
        "account manager ({{ manager }})"
        "{% if response_hours %}, responses within {{ response_hours }} hours{% endif %}"
        "{% if discount_pct %}, {{ discount_pct|discount }} our list prices{% endif %}"
        f"{{% if {PRIORITY} %}}, priority production and shipping{{% endif %}}. "
        "The sections below give the details."))


def add_review(doc, tr: Lang) -> None:
    add_heading(doc, tr("二、合作回顾", "2. Business Review"))
    lead_in(doc, tr("近12个月（截至{{ as_of|date }}）双方合作的主要数据如下：",
                    "Key figures of our business together in the 12 months to "
                    "{{ as_of|date }}:"))
    key_value_table(doc, (
        (tr("近12个月采购额", "Purchases"), "{{ revenue_12m|amount }}"),
        (None, "{%tr if revenue_prev_12m %}"),  # not ¥0.00 for a customer of less than a year
        (tr("上一周期采购额", "Previous 12 months"),
         "{{ revenue_prev_12m|amount }}"),
        (None, "{%tr endif %}"),
        (None, "{%tr if revenue_growth is not none %}"),
        (tr("同比变化", "Year-on-year change"),
         tr("{% if revenue_growth >= 0 %}增长{% else %}下降{% endif %}",
            "{% if revenue_growth >= 0 %}Up {% else %}Down {% endif %}")
         + "{{ revenue_growth|abs|pct }}"),
        (None, "{%tr endif %}"),
        (tr("累计采购额", "Lifetime purchases"), "{{ revenue_total|amount }}"),
        (tr("近12个月订单数", "Orders"), number_with_unit("orders_12m", tr(" 笔", ""))),
        (tr("平均订单金额", "Average order value"),
         "{{ avg_order_value_12m|amount }}"),
    ), key_mm=tr.key_mm)
    # the client's own purchases month by month (a chart the engine draws, 160 mm wide)
    # heading and picture in one paragraph kept together: LibreOffice does not always move a
    # keep-with-next heading along with a picture that goes to the next page
    add_tag(doc, "{%p if revenue_chart %}")
    trend = add_subheading(doc, tr("近12个月采购趋势", "Your purchases, last 12 months"),
                           space_before=12)
    trend.paragraph_format.keep_together = True
    trend.add_run().add_break()
    trend.add_run("{{ revenue_chart }}")
    add_tag(doc, "{%p endif %}")


def add_discount(doc, tr: Lang) -> None:
    add_heading(doc, tr("三、专属优惠", "3. Preferred Pricing"))
    add_tag(doc, "{%p if discount_pct %}")
    add_labelled(doc, tr("专属折扣：", "Exclusive discount: "),
                 tr("目录价{{ discount_pct|discount }}",
                    "{{ discount_pct|discount }} our list prices")
                 ).paragraph_format.keep_with_next = True
    doc.add_paragraph(tr(
        "在本方案有效期内（{{ as_of|date }}至{{ valid_until|date }}），贵司每一笔订单"
        "均可在我司当期标准目录价基础上直接享受{{ discount_pct|discount }}优惠，"
        "折扣在报价单与发票中直接体现，无需另行申请。特价商品、促销活动商品及"
        "定制类商品另行报价，折扣不与其他优惠叠加使用。",
        "While this proposal is valid ({{ as_of|date }} to "
        "{{ valid_until|date }}), every order you place is priced at "
        "{{ discount_pct|discount }} our current standard list price. The "
        "discount appears directly on quotations and invoices; no separate "
        "application is needed. Special-price, promotional and custom-made "
        "products are quoted separately, and the discount cannot be combined "
        "with other offers."))
    add_tag(doc, "{%p else %}")
    doc.add_paragraph(tr(
        "在本方案有效期内（{{ as_of|date }}至{{ valid_until|date }}），贵司订单按我司"
        "当期标准目录价执行。随着合作规模的扩大，我司将在下一期方案中重新评估"
        "并为贵司争取专属折扣。",
        "While this proposal is valid ({{ as_of|date }} to "
        "{{ valid_until|date }}), your orders are priced at our current "
        "standard list price. As our business together grows, we will review "
        "your terms in the next proposal with a view to offering you an "
        "exclusive discount."))
    add_tag(doc, "{%p endif %}")


def add_credit(doc, tr: Lang) -> None:
    add_heading(doc, tr("四、结算与信用", "4. Settlement and Credit"))
    status = tr.term("credit_status", CREDIT_STATUSES)
    key_value_table(doc, (
        (tr("结算方式", "Settlement terms"), tr.term("settlement", SETTLEMENTS)),
        (None, f"{{%tr if {ON_CREDIT} %}}"),
        (tr("信用额度", "Credit limit"),
         tr("{{ credit_limit|amount }}（大写：{{ credit_limit|daxie }}）",
            "{{ credit_limit|amount }}")),
        (tr("预警线", "Warning threshold"), "{{ credit_warn_at|amount }}"),
        (tr("冻结线", "Hold threshold"), "{{ credit_block_at|amount }}"),
        (None, "{%tr endif %}"),
        (tr("当前未结余额", "Outstanding balance"), "{{ outstanding|amount }}"),
        (tr("信用状态", "Credit status"), status),
    ), key_mm=tr.key_mm)
    spacer(doc)
    add_tag(doc, f"{{%p if {ON_CREDIT} %}}")
    doc.add_paragraph(tr(
        "贵司采用月结方式：当月已交付订单于次月统一对账结算。当未结余额超过预警线"
        "（{{ credit_warn_at|amount }}）时，我司客户经理将及时提醒贵司安排付款；"
        "当未结余额超过冻结线（{{ credit_block_at|amount }}）时，新订单将暂缓发货，"
        "待余额结清后自动恢复正常供货。",
        "You settle on monthly statement terms: orders delivered in one month "
        "are reconciled and settled together the following month. If your "
        "outstanding balance exceeds the warning threshold "
        "({{ credit_warn_at|amount }}), your account manager will remind you to "
        "arrange payment; if it exceeds the hold threshold "
        "({{ credit_block_at|amount }}), new orders are held back from shipping "
        "and normal supply resumes automatically once the balance is "
        "settled."))
    add_tag(doc, f"{{%p elif {MONTHLY} %}}")
    doc.add_paragraph(tr(
        "贵司采用月结方式：当月已交付订单于次月统一对账结算。信用额度由客户经理与贵司另行确认。",
        "You settle on monthly statement terms: orders delivered in one month "
        "are reconciled and settled together the following month. Your account "
        "manager will confirm your credit limit with you separately."))
    add_tag(doc, "{%p else %}")
    doc.add_paragraph(tr(
        "贵司采用现结方式：订单款项于发货前付清或货到付款。如贵司有调整为月结的需要，"
        "可联系客户经理提交申请，我司将根据合作情况予以评估。",
        "You settle on cash terms: orders are paid in advance or on delivery. "
        "If you would like to move to monthly statement terms, your account "
        "manager can submit a request for you, and we will assess it in the "
        "light of our business together."))
    add_tag(doc, "{%p endif %}")
    add_tag(doc, f"{{%p if {NOT_NORMAL} %}}")
    add_text(doc, tr(
        "特别提示：截至{{ as_of|date }}，"
        "{% if overdue_amount > 0 %}贵司逾期未付金额为{{ overdue_amount|amount }}，"
        "最长逾期{{ max_overdue_days }}天，"
        "{% else %}贵司未结余额为{{ outstanding|amount }}，{% endif %}"
        "当前信用状态为“{{ credit_status }}”。"
        f"{{% if {ON_HOLD} %}}新订单已暂缓发货，"
        "请尽快安排付款，结清后我司将立即恢复供货。"
        "{% else %}请尽快安排付款，以免影响后续订单的正常发货。{% endif %}",
        "Please note: as of {{ as_of|date }}, "
        "{% if overdue_amount > 0 %}{{ overdue_amount|amount }} of your balance "
        "is overdue, the oldest item by {{ max_overdue_days }} days, and "
        "{% else %}your outstanding balance is {{ outstanding|amount }} and "
        f"{{% endif %}}your credit status is “{status}”. "
        f"{{% if {ON_HOLD} %}}New orders are being held back from "
        "shipping; please arrange payment as soon as possible and we will "
        "resume supply immediately once the balance is settled."
        "{% else %}Please arrange payment as soon as possible so that future "
        "orders can ship without delay.{% endif %}"),
        bold=True, color=ALERT).paragraph_format.keep_together = True
    add_tag(doc, "{%p endif %}")


def add_service(doc, tr: Lang) -> None:
    add_heading(doc, tr("五、服务承诺", "5. Service Commitments"))
    lead_in(doc, tr("在本方案有效期内，我司向贵司作出以下服务承诺：",
                    "While this proposal is valid, we make you the following "
                    "commitments:"))
    key_value_table(doc, (
        (None, "{%tr if response_hours %}"),
        (tr("响应时效", "Response time"),
         tr("工作时间内{{ response_hours }}小时内响应贵司的咨询、订单与售后需求。",
            "We respond to your enquiries, orders and after-sales requests "
            "within {{ response_hours }} hours during business hours.")),
        (None, "{%tr endif %}"),
        (None, f"{{%tr if {PRIORITY} %}}"),
        (tr("优先交付", "Priority delivery"),
         tr("贵司订单享受优先排产、优先备货与优先发货。",
            "Your orders take priority in production scheduling, stock "
            "allocation and shipping.")),
        (None, "{%tr endif %}"),
        (tr("专属客户经理", "Account manager"),
         tr("由{{ manager }}担任贵司专属客户经理，统筹订单、交付、结算与售后事宜。",
            "{{ manager }} is your dedicated account manager, coordinating "
            "orders, delivery, settlement and after-sales service.")),
        (tr("先行赔付", "Compensation first"),
         tr("因我司产品或服务质量问题给贵司造成损失的，经双方确认后由我司先行赔付，"
            "不因内部追责流程延误贵司。",
            "If a quality problem with our products or services causes you a "
            "loss, we compensate you first once both sides have confirmed it, "
            "without making you wait for our internal review.")),
        (tr("季度业务回顾", "Quarterly review"),
         tr("每季度与贵司共同回顾采购、交付、结算与服务情况，并据此优化合作方案。",
            "Every quarter we review purchasing, delivery, settlement and "
            "service with you and refine our arrangements accordingly.")),
    ), key_mm=tr(40, 48), header=(tr("服务项目", "Service"),
                                  tr("承诺内容", "Our commitment")))


def add_visits(doc, tr: Lang) -> None:
    add_heading(doc, tr("六、拜访计划", "6. Visit Plan"))
    lead_in(doc, tr(
        "{% if visit_interval_days %}我司客户经理将每{{ visit_interval_days }}天对贵司"
        "进行一次例行拜访{% else %}我司客户经理将定期对贵司进行例行拜访{% endif %}"
        "{% if next_visit_date %}，下次拜访预计为{{ next_visit_date|date }}{% endif %}。"
        "具体拜访时间将由客户经理提前与贵司"
        "{% if contact %}联系人{{ contact }}{% else %}相关负责人{% endif %}确认。"
        "{% if upcoming_visits %}近期拜访安排如下：{% endif %}",
        "{% if visit_interval_days %}Your account manager will visit you every "
        "{{ visit_interval_days }} days{% else %}Your account manager will visit "
        "you regularly{% endif %}"
        "{% if next_visit_date %}; the next visit is planned for "
        "{{ next_visit_date|date }}{% endif %}. The exact time will be agreed in "
        "advance with {% if contact %}your contact, {{ contact }}{% else %}the "
        "person responsible at your company{% endif %}."
        "{% if upcoming_visits %} Upcoming visits:{% endif %}"))
    add_tag(doc, "{%p if upcoming_visits %}")
    visits_table(doc, tr)
    add_tag(doc, "{%p endif %}")


def add_contact(doc, tr: Lang) -> None:
    add_heading(doc, tr("七、联系方式", "7. Contact Us"))
    lead_in(doc, tr("如对本方案有任何疑问，欢迎随时与我们联系：",
                    "If you have any questions about this proposal, please "
                    "contact us at any time:"))
    rows = []
    for label, key in ((tr("公司名称", "Company"), "name"),
                       (tr("公司地址", "Address"), "address"),
                       (tr("联系电话", "Telephone"), "phone"),
                       (tr("电子邮箱", "Email"), "email"),
                       (tr("公司网址", "Website"), "website")):
        rows += [(None, f"{{%tr if company.{key} %}}"),
                 (label, f"{{{{ company.{key} }}}}"),
                 (None, "{%tr endif %}")]
    rows.append((tr("专属客户经理", "Account manager"), "{{ manager }}"))
    key_value_table(doc, rows, key_mm=tr.key_mm)
    spacer(doc)
    doc.add_paragraph(tr(
        "本方案自双方签字盖章之日起生效，有效期至{{ valid_until|date }}。"
        "本方案未尽事宜，以双方签订的购销合同为准。",
        "This proposal takes effect when signed and sealed by both parties "
        "and remains valid until {{ valid_until|date }}. Matters not covered "
        "here are governed by the sales contract between the parties."))


def add_signature(doc, tr: Lang) -> None:
    blank, date_blank = tr.signature_blank, tr.date_blank
    signature_block(doc, tr("双方确认", "Acceptance"), (
        (tr("甲方（客户）：{{ name }}", "Customer: {{ name }}"),
         tr("乙方（服务方）：", "Supplier: ") + "{{ company.name or '' }}"),
        (tr("授权代表：", "Representative: ") + blank,
         tr("授权代表：", "Representative: ")
         + f"{{% if company.signatory %}}{{{{ company.signatory }}}}{{% else %}}{blank}{{% endif %}}"),
        (tr("签字（盖章）：", "Signature and seal: ") + blank,
         tr("签字（盖章）：", "Signature and seal: ") + blank),
        (None, "{%tr if company.seal_text %}"),
        ("", tr("（盖章）", "(Seal) ") + "{{ company.seal_text }}", True),
        (None, "{%tr endif %}"),
        (tr("日期：", "Date: ") + date_blank, tr("日期：", "Date: ") + date_blank),
    ))


# --- account plan sections ------------------------------------------------

def number_with_unit(name: str, unit: str) -> str:
    """``{{ name|number }}`` followed by a unit, or just ``—`` when None."""
    return f"{{{{ {name}|number }}}}{{% if {name} is not none %}}{unit}{{% endif %}}"


def by_level(tr: Lang, name: str, high: str, medium: str, low: str) -> str:
    """One sentence chosen by a 高/中/低 decision value (or high/medium/low in English)."""
    return (f"{{% if {tr.eq(name, '高')} %}}{high}{{% elif {tr.eq(name, '中')} %}}{medium}"
            f"{{% elif {tr.eq(name, '低')} %}}{low}{{% endif %}}")


def add_plan_cover(doc, tr: Lang) -> None:
    add_cover(
        doc, tr,
        title=tr("大客户经营计划", "Key Account Plan"),
        subtitle=tr("KEY ACCOUNT BUSINESS PLAN", "INTERNAL · FOR THE ACCOUNT TEAM"),
        addressee="{{ name }}",
        rows=(
            (tr("客户编号", "Customer ID"), "{{ customer_id }}"),
            (tr("客户经理", "Account manager"), "{{ manager }}"),
            (tr("编制日期", "Prepared on"), "{{ as_of|date }}"),
            (tr("计划编号", "Reference"), "{{ doc_no }}"),
            (None, "{%tr if company.name %}"),
            (tr("编制单位", "Prepared by"), "{{ company.name }}"),
            (None, "{%tr endif %}"),
        ),
        note=tr("内部资料：仅供客户经营团队使用，请勿向客户或第三方披露。",
                "Internal document for the account team only. Do not share it "
                "with the customer or any third party."),
        key_mm=tr(35, 55))


def add_plan_overview(doc, tr: Lang) -> None:
    add_heading(doc, tr("一、客户概况", "1. Account Overview"), page_break=True)
    lead_in(doc, tr("客户基本信息与当前评级如下：",
                    "Customer profile and current rating:"))
    key_value_table(doc, (
        (tr("所属行业", "Industry"), "{{ industry or '—' }}"),
        (tr("所在地区", "Region"), "{{ region or '—' }}"),
        (tr("合作开始日期", "Customer since"), "{{ since|date if since else '—' }}"),
        (tr("结算方式", "Settlement terms"), tr.term("settlement", SETTLEMENTS)),
        (tr("客户联系人", "Contact person"), "{{ contact or '—' }}"),
        (tr("合同到期日", "Contract end date"),
         "{{ contract_end|date if contract_end else '—' }}"),
        (tr("客户等级", "Tier"), "{{ tier_label or '—' }}"),
        (tr("ABC分类", "ABC class"), "{{ abc_class or '—' }}"),
        (tr("RFM客户分群", "RFM segment"), "{{ rfm_segment_title or '—' }}"),
        (tr("大客户", "Key account"), "{{ key_account|yesno }}"),
    ), key_mm=tr.key_mm)


def add_plan_performance(doc, tr: Lang) -> None:
    add_heading(doc, tr("二、近12个月经营数据", "2. Performance, Last 12 Months"))
    lead_in(doc, tr("近12个月（截至{{ as_of|date }}）逐月销售额及同比变化如下：",
                    "Monthly revenue in the 12 months to {{ as_of|date }}, "
                    "compared with the same month a year earlier:"))
    widths = (34, 44, 44, 38)
    table = loop_table(
        doc, (tr("月份", "Month"), tr("销售额", "Revenue"),
              tr("去年同期", "Prior year"), tr("同比", "Change")),
        widths, "{%tr for m in monthly %}",
        ("{{ m.label }}", "{{ m.revenue|amount }}",
         "{{ m.revenue_prev_year|amount }}",
         "{{ m.growth|pct if m.growth is not none else '—' }}"),
        "{%tr endfor %}", center_cols=(0,), right_cols=(1, 2, 3),
        keep_together=True, padding=40)
    total = add_row(table, (
        tr("合计", "Total"), "{{ revenue_12m|amount }}",
        "{{ revenue_prev_12m|amount }}",
        "{{ revenue_growth|pct if revenue_growth is not none else '—' }}"),
        widths, bold=True)
    for cell in total.cells:
        shade(cell, KEY_FILL)
    align_cells(total, (0,), WD_ALIGN_PARAGRAPH.CENTER)
    align_cells(total, (1, 2, 3), WD_ALIGN_PARAGRAPH.RIGHT)
    row_flag(total, "cantSplit")

    # the same months drawn by the engine (a PNG 160 mm wide), right after the table
    # (a caption in the picture's own paragraph, so the two never part at a page break)
    add_tag(doc, "{%p if revenue_chart %}")
    chart = add_text(doc, tr("逐月销售额走势", "Monthly revenue, last 12 months"), bold=True,
                     size=9, color=GREY, align=WD_ALIGN_PARAGRAPH.LEFT)
    chart.paragraph_format.space_before = Pt(10)
    chart.paragraph_format.keep_together = True
    chart.add_run().add_break()
    chart.add_run("{{ revenue_chart }}")
    add_tag(doc, "{%p endif %}")

    spacer(doc)
    lead_in(doc, tr("主要经营指标：", "Key figures:"))
    key_value_grid(doc, (
        (tr("订单数", "Orders"), number_with_unit("orders_12m", tr(" 笔", ""))),
        (tr("平均订单金额", "Avg. order value"),
         "{{ avg_order_value_12m|amount }}"),
        (tr("毛利率", "Gross margin"), "{{ margin_pct_12m|pct }}"),
        (tr("毛利额", "Gross profit"), "{{ gross_margin_12m|amount }}"),
        (tr("距上次下单", "Since last order"),
         number_with_unit("recency_days", tr(" 天", " days"))),
        (tr("应收周转天数", "DSO"),
         number_with_unit("dso_days", tr(" 天", " days"))),
        (tr("按期回款率", "On-time payments"), "{{ on_time_rate_12m|pct }}"),
        (tr("客户满意度", "Satisfaction"),
         "{{ satisfaction|score }}"),
    ), widths=tr((35, 45, 35, 45), (42, 38, 42, 38)))


def add_plan_assessment(doc, tr: Lang) -> None:
    add_heading(doc, tr("三、客户评价", "3. Account Assessment"))
    widths = (tr(30, 38), 22, TEXT_W_MM - tr(30, 38) - 22)
    table = new_table(doc, widths)
    keep_rows_together([add_header_row(
        table, (tr("维度", "Dimension"), tr("评级", "Rating"),
                tr("评价", "Assessment")), widths)])
    rows = (
        (tr("客户价值", "Customer value"), "value_level", LEVELS, tr(
            ("销售额与毛利贡献突出，是我司利润的重要来源，应重点维护。",
             "销售额贡献较大，毛利水平仍有提升空间。",
             "当前销售额或毛利贡献较小，以标准化服务为主。"),
            ("Strong revenue and margin contribution; a key source of profit "
             "that deserves close attention.",
             "A significant share of revenue, with room to improve margin.",
             "Limited revenue or margin contribution for now; standard service "
             "is appropriate."))),
        (tr("发展潜力", "Growth potential"), "potential_level", LEVELS, tr(
            ("采购规模增长较快，应积极推介新品、扩大合作品类。",
             "采购规模基本稳定，应巩固现有业务并挖掘增量需求。",
             "近期增长动力不足，需了解客户业务变化与真实需求。"),
            ("Purchases are growing fast: introduce new products and widen the "
             "range we supply.",
             "Purchases are broadly stable: secure the existing business and "
             "look for additional needs.",
             "Little growth momentum: find out how the customer's business and "
             "needs are changing."))),
        (tr("合作忠诚度", "Loyalty"), "loyalty_level", LEVELS, tr(
            ("合作关系稳固，客户对我司认可度高。",
             "合作关系总体稳定，需关注服务体验与投诉处理。",
             "合作基础尚浅或存在服务问题，需加强沟通与跟进。"),
            ("A well-established relationship; the customer values working "
             "with us.",
             "A generally stable relationship; watch service quality and "
             "complaint handling.",
             "A young or strained relationship; step up contact and "
             "follow-up."))),
        (tr("流失风险", "Churn risk"), "churn_risk", LEVELS, tr(
            ("存在较高流失风险，应立即制定挽回方案。",
             "存在一定流失迹象，需密切关注下单与回款情况。",
             "暂无明显流失迹象，保持常规维护节奏。"),
            ("High risk of losing the customer: prepare a retention plan "
             "now.",
             "Some signs of churn: watch ordering and payments closely.",
             "No clear signs of churn; keep up the regular service "
             "rhythm."))),
    )
    for label, name, terms, sentences in rows:
        row = add_row(table, (label, tr.term(name, terms),
                              by_level(tr, name, *sentences)), widths)
        mark_key(row.cells[0])
        align_cells(row, (1,), WD_ALIGN_PARAGRAPH.CENTER)
        row_flag(row, "cantSplit")
    keep_rows_together(table.rows[:-1])


def add_plan_objectives(doc, tr: Lang) -> None:
    add_heading(doc, tr("四、经营目标", "4. Objectives"))
    lead_in(doc, tr("未来12个月的经营目标与商务条件如下：",
                    "Objectives and commercial terms for the next 12 months "
                    "(baseline: the last 12 months):"))
    key_value_table(doc, (
        (tr("近12个月销售额（基数）", "Baseline revenue"),
         "{{ revenue_12m|amount }}"),
        (tr("目标增长率", "Target growth"), "{{ target_growth|pct }}"),
        (tr("未来12个月目标销售额", "Target revenue"),
         tr("{{ target_revenue_12m|amount }}（大写：{{ target_revenue_12m|daxie }}）",
            "{{ target_revenue_12m|amount }}")),
        (tr("执行折扣", "Discount"), "{{ discount_pct|discount }}"),
        (tr("信用额度", "Credit limit"), "{{ credit_limit|amount }}"),
    ), key_mm=tr(50, tr.key_mm))


def add_plan_actions(doc, tr: Lang) -> None:
    add_heading(doc, tr("五、行动计划", "5. Action Plan"))
    add_subheading(doc, tr("（一）重点行动", "5.1 Key actions"), space_before=4)
    add_tag(doc, "{%p if actions %}")
    loop_table(
        doc, (tr("序号", "No."), tr("行动项", "Action"), tr("负责人", "Owner")),
        (20, TEXT_W_MM - 60, 40), "{%tr for a in actions %}",
        ("{{ loop.index }}", "{{ a }}", "{{ manager }}"), "{%tr endfor %}",
        center_cols=(0, 2))
    add_tag(doc, "{%p endif %}")
    add_tag(doc, "{%p if not actions %}")
    doc.add_paragraph(tr("暂无特别行动项，按常规节奏维护客户。",
                         "No specific actions for this period; maintain the "
                         "regular service rhythm."))
    add_tag(doc, "{%p endif %}")

    add_subheading(doc, tr("（二）拜访计划", "5.2 Visit plan"), space_before=12)
    lead_in(doc, tr(
        "客户经理每{{ visit_interval_days }}天拜访一次；上次拜访："
        "{{ last_visit_date|date if last_visit_date else '尚未拜访' }}，"
        "下次拜访：{{ next_visit_date|date }}。"
        "{% if upcoming_visits %}近期拜访安排如下：{% else %}暂无拜访安排。{% endif %}",
        "The account manager visits every {{ visit_interval_days }} days. "
        "Last visit: {{ last_visit_date|date if last_visit_date else 'none "
        "yet' }}; next visit: {{ next_visit_date|date }}. "
        "{% if upcoming_visits %}Upcoming visits:{% else %}No visits are "
        "scheduled.{% endif %}"))
    add_tag(doc, "{%p if upcoming_visits %}")
    visits_table(doc, tr)
    add_tag(doc, "{%p endif %}")


def add_plan_risks(doc, tr: Lang) -> None:
    add_heading(doc, tr("六、风险提示", "6. Risk Alerts"))
    status = tr.term("credit_status", CREDIT_STATUSES)
    risks = (
        ("overdue_amount > 0", tr("逾期应收：", "Overdue receivables: "), tr(
            "截至{{ as_of|date }}，逾期未付金额{{ overdue_amount|amount }}，"
            "最长逾期{{ max_overdue_days }}天（未结余额合计{{ outstanding|amount }}）。"
            "应尽快与客户约定回款计划。",
            "As of {{ as_of|date }}, {{ overdue_amount|amount }} is overdue, the "
            "oldest item by {{ max_overdue_days }} days (total outstanding "
            "{{ outstanding|amount }}). Agree a payment plan with the customer "
            "promptly.")),
        ("complaints_12m > 0", tr("客户投诉：", "Complaints: "), tr(
            "近12个月收到投诉{{ complaints_12m }}次，需确认问题均已闭环并回访客户满意度。",
            "{{ complaints_12m }} complaint{{ '' if complaints_12m == 1 else 's' }} "
            "in the last 12 months. Make sure every issue is closed and follow "
            "up on the customer's satisfaction.")),
        (tr.eq("churn_risk", "高"), tr("流失风险高：", "High churn risk: "), tr(
            "客户存在较高流失风险，应制定挽回方案并尽快安排上门拜访。",
            "Prepare a retention plan and visit the customer in person as soon "
            "as possible.")),
        (tr.ne("credit_status", "正常"), tr("信用状态异常：", "Credit status: "), tr(
            "当前信用状态为“{{ credit_status }}”"
            "{% if credit_status == '冻结' %}，新订单暂停赊销发货，需协商结清欠款"
            "{% else %}，需提醒客户及时付款{% endif %}"
            "（信用额度{{ credit_limit|amount }}，未结余额{{ outstanding|amount }}）。",
            f"the account is on “{status}” (credit limit "
            "{{ credit_limit|amount }}, outstanding {{ outstanding|amount }}). "
            f"{{% if {tr.eq('credit_status', '冻结')} %}}New orders do not ship on credit "
            "until the balance is settled.{% else %}Remind the customer to pay "
            "on time.{% endif %}")),
    )
    for condition, label, text in risks:
        add_tag(doc, f"{{%p if {condition} %}}")
        add_labelled(doc, label, text, color=ALERT)
        add_tag(doc, "{%p endif %}")
    any_risk = " or ".join(condition for condition, _, _ in risks)
    add_tag(doc, f"{{%p if not ({any_risk}) %}}")
    doc.add_paragraph(tr("当前无明显风险，按常规节奏维护。",
                         "No significant risks at present; maintain the "
                         "regular service rhythm."))
    add_tag(doc, "{%p endif %}")


def add_plan_basis(doc, tr: Lang) -> None:
    add_heading(doc, tr("七、决策依据", "7. Basis for Decisions"))
    lead_in(doc, tr("本计划中的各项评级、条件与目标依据以下规则确定：",
                    "The ratings, terms and objectives in this plan were set "
                    "by the following rules:"))
    reasons_table(doc, tr)


def add_plan_signoff(doc, tr: Lang) -> None:
    signature_block(doc, tr("负责人", "Sign-off"), (
        (tr("编制：客户经理 {{ manager }}",
            "Prepared by: {{ manager }}, account manager"),
         tr("审核：", "Reviewed by: ") + tr.signature_blank),
        (tr("日期：{{ as_of|date }}", "Date: {{ as_of|date }}"),
         tr("日期：", "Date: ") + tr.date_blank),
    ))


# --- build & write --------------------------------------------------------

def build_proposal(tr: Lang = ZH):
    doc = new_document(tr, tr("大客户服务方案", "Key Account Service Proposal"),
                       "Key account service proposal template", website=True)
    for section in (add_proposal_cover, add_overview, add_review,
                    add_discount, add_credit, add_service, add_visits,
                    add_contact, add_signature):
        section(doc, tr)
    return doc


def build_account_plan(tr: Lang = ZH):
    doc = new_document(tr, tr("大客户经营计划", "Key Account Plan"),
                       "Key account business plan template (internal)")
    for section in (add_plan_cover, add_plan_overview, add_plan_performance,
                    add_plan_assessment, add_plan_objectives,
                    add_plan_actions, add_plan_risks, add_plan_basis,
                    add_plan_signoff):
        section(doc, tr)
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
    "proposal.docx": partial(build_proposal, ZH),
    "proposal.en.docx": partial(build_proposal, EN),
    "account_plan.docx": partial(build_account_plan, ZH),
    "account_plan.en.docx": partial(build_account_plan, EN),
}


LOGO_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
              "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
              "C:/Windows/Fonts/msyhbd.ttc", "/System/Library/Fonts/PingFang.ttc")


def draw_logo(path: Path, text: str = "恒信", size: int = 512) -> None:
    """The sample company logo: ``text`` in white on the brand colour, a rounded square
    (needs Pillow and a bold CJK font; the file is small and palette-based)."""
    from PIL import Image, ImageDraw, ImageFont

    font_file = next((f for f in LOGO_FONTS if Path(f).exists()), None)
    if font_file is None:
        raise SystemExit("no CJK font found for the logo: " + ", ".join(LOGO_FONTS))
    scale = 4  # drawn large and scaled down, for smooth edges
    big = size * scale
    image = Image.new("RGBA", (big, big), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    brand = tuple(int(HEADER_FILL[i:i + 2], 16) for i in (0, 2, 4))
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 6, fill=(*brand, 255))
    font = ImageFont.truetype(font_file, int(big * 0.36), index=2)  # the SC face of the collection
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((big - (right - left)) / 2 - left, (big - (bottom - top)) / 2 - top), text,
              font=font, fill=(255, 255, 255, 255))
    small = image.resize((size, size), Image.LANCZOS)
    small.quantize(colors=32, method=Image.FASTOCTREE).save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR,
                        help="directory to write templates into "
                             f"(default: {DEFAULT_OUT_DIR})")
    parser.add_argument("--logo", action="store_true",
                        help="also draw the sample company logo, logo.png (needs Pillow "
                             "and a CJK font)")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.logo:
        draw_logo(args.out_dir / "logo.png")
        print(f"wrote {args.out_dir / 'logo.png'}")
    for filename, builder in TEMPLATES.items():
        path = args.out_dir / filename
        write_docx(builder(), path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
