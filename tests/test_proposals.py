"""Proposals as the client reads them (issue 21): a proposal for EVERY customer of the bundled
sample, in Chinese and in English, scanned for internal words and for promises that contradict
each other; then the three customers the issue names, read sentence by sentence."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from docx import Document
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.init import init_project
from kamrules.plan.workdays import WorkingCalendar
from kamrules.rules.plan_config import WorkingDaysSpec
from kamrules.rules.rulebook_compiler import load_rulebook

from conftest import REPO

pytestmark = pytest.mark.xdist_group("proposals")  # one worker renders both languages once

AS_OF = "2026-10-31"
MONTHS_EN = "January|February|March|April|May|June|July|August|September|October|November|December"


def document_text(path: Path) -> str:
    """Every paragraph of the body, its tables and its headers and footers, one per line."""
    doc = Document(path)
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    for section in doc.sections:
        lines += [p.text for p in section.header.paragraphs] + [p.text for p in section.footer.paragraphs]
    return "\n".join(lines)


def every_customer_project(root: Path, lang: str) -> Path:
    """The bundled example (Chinese rules, or their English translation) with a proposal for every customer."""
    if lang == "zh":
        root.mkdir(parents=True)
        for name in ("inputs", "rules", "templates"):
            shutil.copytree(REPO / name, root / name)
    else:
        init_project(root, "en")
        documents = root / "rules" / "documents.yaml"
        bundled = (REPO / "examples" / "en" / "rules" / "documents.yaml").read_text(encoding="utf-8")
        documents.write_text(bundled, encoding="utf-8")  # the sample company's details, not init's placeholders
    documents = root / "rules" / "documents.yaml"
    text = documents.read_text(encoding="utf-8")
    text = re.sub(r"(template: proposal\.docx[^\n]*\n(?:    [^\n]*\n)*?)    for: key_account",
                  lambda m: m.group(1) + '    for: "true"', text, count=1)
    assert 'for: "true"' in text
    documents.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def proposals(tmp_path_factory):
    """lang → (run folder, decided frame, {customer id: proposal text}), rendered once per module."""
    done = {}

    def get(lang: str):
        if lang not in done:
            project = every_customer_project(tmp_path_factory.mktemp(f"every-{lang}") / "proj", lang)
            result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", AS_OF, "-q"],
                                        env={"KAMRULES_LANG": ""})
            assert result.exit_code == 0, result.output
            run = Path(result.output.strip().splitlines()[-1])
            frame = pl.read_parquet(run / "decisions.parquet")
            texts = {}
            for path in (run / "proposals").glob("*.docx"):
                texts[path.name.split("_")[0]] = document_text(path)
            assert len(texts) == frame.height == 330
            done[lang] = run, frame, texts, load_rulebook(project)
        return done[lang]

    return get


WORDS = {
    "zh": {"frozen": "冻结", "cash": "现结", "priority": r"优先(排产|发货|生产)", "credit_lines": r"信用额度|预警线|冻结线|授信额度",
           "long": r"长期", "internal": r"未命中任何规则|流失风险|目标增长|发展潜力|合作稳定性|采购价值|方案依据|默认值",
           "date": r"(\d{4})年(\d{1,2})月(\d{1,2})日"},
    "en": {"frozen": "hold", "cash": "cash", "priority": r"(?i)priority (in )?(production|shipping|delivery)",
           "credit_lines": r"(?i)credit (limit|line)|warning (line|threshold)|hold (line|threshold)",
           "long": r"(?i)long[- ](standing|term)", "internal": r"(?i)no rule matched|churn|growth target|potential|stability|basis of this proposal|default",
           "date": rf"({MONTHS_EN}) (\d{{1,2}}), (\d{{4}})"},
}


def visit_dates(text: str, lang: str) -> list[dt.date]:
    """The dates of the visits the proposal promises: the visit table's rows (number | date | purpose)."""
    found = []
    for line in text.splitlines():
        cells = line.split(" | ")
        if len(cells) == 3 and cells[0].strip().isdigit():
            match = re.fullmatch(WORDS[lang]["date"], cells[1].strip())
            if match:
                found.append(_date(match, lang))
    return found


def _date(match: re.Match, lang: str) -> dt.date:
    if lang == "zh":
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return dt.date(int(match.group(3)), MONTHS_EN.split("|").index(match.group(1)) + 1, int(match.group(2)))


def contradictions(row: dict, text: str, lang: str, rule_ids: set[str], working) -> list[str]:
    words, found = WORDS[lang], []
    if row["credit_status"] == words["frozen"] and re.search(words["priority"], text):
        found.append("credit frozen, yet priority promised")
    if row["settlement"] == words["cash"] and re.search(words["credit_lines"], text):
        found.append("a cash customer shown credit lines")
    if (row["tenure_years"] is None or row["tenure_years"] < 1) and re.search(words["long"], text):
        found.append("a customer of less than a year thanked for a long relationship")
    for day in visit_dates(text, lang):
        if not working(day):
            found.append(f"a visit promised on {day} ({day:%A}), not a working day")
    leaked = sorted(i for i in rule_ids if re.search(rf"(?<![\w#-]){re.escape(i)}(?![\w#-])", text))
    if leaked:
        found.append(f"rule ids: {leaked}")
    internal = re.findall(words["internal"], text)
    if internal:
        found.append(f"internal words: {sorted(set(internal))}")
    return found


def problems_in(frame: pl.DataFrame, texts: dict[str, str], lang: str, rulebook) -> dict[str, list[str]]:
    """customer id → what is wrong with its proposal (:func:`contradictions`), for every row of ``frame``."""
    rule_ids = {r.id for d in rulebook.decisions for r in d.rules if len(r.id) > 3} | {"margin-floor"}
    calendar = WorkingCalendar(WorkingDaysSpec(), dt.date(2026, 10, 31), dt.date(2028, 12, 31))
    problems = {}
    for row in frame.iter_rows(named=True):
        found = contradictions(row, texts[row["customer_id"]], lang, rule_ids, calendar.is_working)
        if found:
            problems[row["customer_id"]] = found
    return problems


EVERY_CUSTOMER = pytest.mark.slow  # 330 proposals per language rendered and read: CI's second step


@EVERY_CUSTOMER
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_proposal_leaks_policy_or_contradicts_itself(proposals, lang):
    run, frame, texts, rulebook = proposals(lang)
    assert problems_in(frame, texts, lang, rulebook) == {}
    assert sum(len(visit_dates(t, lang)) for t in texts.values()) > 300  # the scan did see the visit tables


def test_the_bundled_key_accounts_proposals_neither_leak_nor_contradict(bundled_run):
    """The fast suite's share of the scan above: the 20 proposals of the bundled run (C0002 among
    them), read as the client reads them."""
    _, run = bundled_run(None)
    frame = pl.read_parquet(run / "decisions.parquet")
    texts = {path.name.split("_")[0]: document_text(path) for path in (run / "proposals").glob("*.docx")}
    assert len(texts) == frame.filter(pl.col("key_account")).height == 20 and "C0002" in texts
    assert problems_in(frame.filter(pl.col("customer_id").is_in(list(texts))), texts, "zh", load_rulebook(REPO)) == {}
    assert "新订单已暂缓发货" in texts["C0002"] and not re.search(r"优先(排产|发货)", texts["C0002"])
    assert sum(len(visit_dates(t, "zh")) for t in texts.values()) > 20


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！；\n])", text) if s.strip()]


@EVERY_CUSTOMER
def test_c0002_frozen_a_tier_is_told_orders_are_held_and_promised_no_priority(proposals):
    _, frame, texts, _ = proposals("zh")
    row = frame.filter(pl.col("customer_id") == "C0002").row(0, named=True)
    assert (row["tier"], row["credit_status"], row["priority_delivery"]) == ("A", "冻结", False)
    text = texts["C0002"]
    assert "新订单已暂缓发货" in text
    assert not re.search(r"优先(排产|发货)", text)


@EVERY_CUSTOMER
def test_a_cash_customer_reads_no_credit_lines(proposals):
    _, frame, texts, _ = proposals("zh")
    cash = frame.filter((pl.col("settlement") == "现结") & pl.col("key_account")).get_column("customer_id")
    assert len(cash) >= 1
    for customer in cash:
        text = texts[customer]
        assert not re.search(r"信用额度|预警线|冻结线", text), customer
        assert "发货前付清或货到付款" in text, customer


@EVERY_CUSTOMER
def test_a_customer_of_less_than_a_year_is_thanked_for_choosing_us(proposals):
    _, frame, texts, _ = proposals("zh")
    new = frame.filter(pl.col("tenure_years") < 1).get_column("customer_id").to_list()
    assert len(new) == 36
    for customer in new:
        assert "长期" not in texts[customer], customer
    old = frame.filter(pl.col("tenure_years") >= 3).get_column("customer_id").to_list()
    assert all("长期" in texts[c] for c in old[:20])


# --- what the client's PDF says (LibreOffice) -------------------------------------------------------

def _office():
    from kamrules.render.pdf import find_office

    return find_office() if shutil.which("pdftotext") and shutil.which("pdfinfo") else None


@pytest.mark.slow  # about 40 PDFs through LibreOffice
@pytest.mark.skipif(_office() is None, reason="LibreOffice and poppler-utils are not installed")
def test_the_key_accounts_pdfs_read_as_a_client_should(tmp_path):
    """The bundled run's proposals in both languages, as PDF: no rule id or internal word, no
    contradiction, a sensible page count; the account plans (internal) keep the basis."""
    import subprocess

    checked = {}
    for lang in ("zh", "en"):
        project = tmp_path / lang
        project.mkdir()
        for name in ("inputs", "templates"):
            shutil.copytree(REPO / name, project / name)
        shutil.copytree(REPO / "rules" if lang == "zh" else REPO / "examples" / "en" / "rules", project / "rules")
        result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", AS_OF, "-q"], env={"KAMRULES_LANG": ""})
        assert result.exit_code == 0, result.output
        run = Path(result.output.strip().splitlines()[-1])
        proposals = sorted((run / "proposals").glob("*.docx"))
        plans = sorted((run / "plans").glob("*.docx"))[:2]
        subprocess.run([_office(), "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path / f"pdf-{lang}"),
                        *map(str, proposals + plans)], check=True, capture_output=True, timeout=600)
        frame = pl.read_parquet(run / "decisions.parquet")
        rulebook = load_rulebook(project)
        rule_ids = {r.id for d in rulebook.decisions for r in d.rules if len(r.id) > 3}
        calendar = WorkingCalendar(WorkingDaysSpec(), dt.date(2026, 10, 31), dt.date(2028, 12, 31))
        for path in proposals:
            pdf = tmp_path / f"pdf-{lang}" / (path.stem + ".pdf")
            text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
            pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True,
                                                                    text=True).stdout).group(1))
            row = frame.filter(pl.col("customer_id") == path.name.split("_")[0]).row(0, named=True)
            flat = re.sub(r"\s+", " ", text)
            problems = contradictions(row, flat, lang, rule_ids, calendar.is_working)
            assert problems == [] and 4 <= pages <= 7, (path.name, pages, problems)
            checked[(lang, row["customer_id"])] = pages
        for path in plans:
            text = subprocess.run(["pdftotext", str(tmp_path / f"pdf-{lang}" / (path.stem + ".pdf")), "-"],
                                  capture_output=True, text=True).stdout
            assert ("决策依据" if lang == "zh" else "Basis") in text  # the internal plan keeps the rule basis
    assert len(checked) == 40
