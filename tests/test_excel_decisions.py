"""Decision tables kept in Excel, used by check, run and explain; errors point at the cell."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from kamrules.cli import app

TIER_TABLE = [
    ["累计消费", "tier", "等级名称", "说明"],
    [">= 150万", "A", "A级（战略客户）", "累计消费150万元及以上"],
    ["[100万..150万)", "B", "B级（核心客户）", None],
    ["[80万..100万)", "C", "C级（重点客户）", None],
    ["[50万..80万)", "D", "D级（成长客户）", None],
    ["[15万..50万)", "E", "E级（一般客户）", None],
    ["< 15万", "普通", "普通客户", "累计消费不足15万元"],
]


def invoke(*args: str, lang: str | None = "en"):
    """The CLI with English messages unless ``lang`` says otherwise."""
    return CliRunner().invoke(app, [*args, "--lang", lang] if lang else list(args))


def use_excel_tier_table(project: Path, rows: list[list]) -> Path:
    tables = project / "rules" / "tables"
    tables.mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "客户等级"
    for row in rows:
        ws.append(row)
    wb.save(tables / "tiers.xlsx")
    policy = project / "rules" / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    start = text.index("    table:\n      inputs: [累计消费]")
    end = text.index("  value_level:")
    text = text[:start] + "    table: {file: tables/tiers.xlsx, sheet: 客户等级}\n\n" + text[end:]
    policy.write_text(text, encoding="utf-8")
    return tables / "tiers.xlsx"


def test_excel_table_drives_the_run_and_the_trace(project):
    use_excel_tier_table(project, TIER_TABLE)
    assert invoke("check", "-p", str(project)).exit_code == 0
    assert invoke("run", "-p", str(project), "--as-of", "2026-10-31", "-q").exit_code == 0
    result = invoke("explain", "C001", "-p", str(project))
    assert "  ✓ tier#1: 累计消费[2,000,000] >= 1500000 → tier = A, tier_label = A级（战略客户） — 累计消费150万元及以上" \
        in result.output.splitlines()
    run = next(p for p in (project / "outputs").iterdir() if p.is_dir())
    manifest = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert "rules/tables/tiers.xlsx" in manifest["rulebook"]["files"]
    assert (run / "rules" / "tables" / "tiers.xlsx").exists()


def test_a_bad_cell_is_reported_at_its_address(project):
    rows = [list(r) for r in TIER_TABLE]
    rows[3][0] = "[80万..100万"  # missing the closing bracket
    use_excel_tier_table(project, rows)
    result = invoke("check", "-p", str(project))
    assert result.exit_code == 1
    assert result.output.splitlines()[1].startswith("  rules/tables/tiers.xlsx › 客户等级 › A4 [tier#3]: ")


def test_overlapping_rows_in_an_excel_unique_table(project):
    rows = [list(r) for r in TIER_TABLE]
    rows[2][0] = "[100万..150万]"
    use_excel_tier_table(project, rows)
    result = invoke("check", "-p", str(project))
    assert result.output.splitlines()[:2] == [
        "check found 1 problem:",
        "  rules/tables/tiers.xlsx › 客户等级 › A3 [tier#2]: rows tier#1 and tier#2 can both match "
        "(e.g. 累计消费 = 1500000); hit policy unique allows only one"]


def test_missing_output_column_and_escaping_paths(project):
    rows = [[c for i, c in enumerate(r) if i != 2] for r in TIER_TABLE]
    use_excel_tier_table(project, rows)
    result = invoke("check", "-p", str(project))
    assert result.exit_code == 1
    assert "rules/tables/tiers.xlsx › 客户等级 › A1 [tier]: no column for output 'tier_label'" in result.output
    policy = project / "rules" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("file: tables/tiers.xlsx", "file: ../inputs/x.xlsx"),
                      encoding="utf-8")
    result = invoke("check", "-p", str(project))
    assert "[tier]: a table file must be inside the rules/ folder" in result.output
