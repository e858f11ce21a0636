"""Shared fixtures: real .xlsx files built with openpyxl, and small complete projects."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import openpyxl
import pytest

# Compiled modules are kept even where PYTHONDONTWRITEBYTECODE is set (it is on our build machines):
# otherwise every xdist worker and every CLI subprocess compiles kamrules and the test modules
# again, about a quarter of the suite's time on two cores. Subprocesses read what is kept.
sys.dont_write_bytecode = False

REPO = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 10, 31)


def write_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    """Write rows (lists of cell values; None = empty) to a real .xlsx, one sheet per key."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


CUSTOMER_HEADER = ["客户编号", "客户名称", "行业", "地区", "客户经理", "合作开始日期", "结算方式",
                   "联系人", "联系人生日", "合同到期日"]
ORDER_HEADER = ["订单编号", "客户编号", "下单日期", "产品", "数量", "金额", "成本"]


def small_ledger() -> dict[str, list[list]]:
    """Three customers whose every metric and decision is worked out by hand in the tests."""
    d = dt.datetime
    return {
        "客户档案": [
            ["客户档案（截至2026年10月31日）"],
            [],
            list(CUSTOMER_HEADER),  # a copy: tests change headers in place
            ["C001", "A&B <Co> 贸易有限公司", "制造业", "华东", "张伟", d(2020, 1, 15), "月结", "李娜", d(1980, 5, 6), d(2027, 3, 31)],
            ["C002", "二号商贸有限公司", "零售", "华南", "王芳", "2025年6月1日", "现结", "赵强", None, None],
            ["C003", "三号物流有限公司", "物流", "华北", "张伟", "2018/5/1", "月结", "钱多", None, None],
        ],
        "销售明细": [
            list(ORDER_HEADER),
            ["SO1", "C001", d(2026, 10, 1), "钢材", 10, 1_000_000, 700_000],
            ["SO2", "C001", d(2026, 3, 15), "钢材", 6, 600_000, 420_000],
            ["SO3", "C001", d(2025, 8, 20), "钢材", 4, 400_000, 300_000],
            ["SO4", "C002", "2026-09-30", "五金", 1, "¥120,000.00", 100_000],
            ["SO5", "C002", d(2026, 9, 1), "五金", 1, "待确认", 10],
            ["SO6", "C999", d(2026, 9, 1), "五金", 1, 5000, 10],
            ["SO7", None, d(2026, 9, 1), "五金", 1, 5000, 10],
            ["SO8", "C001", d(2026, 11, 5), "钢材", 1, 99_999, 1],
        ],
        "应收账款": [
            ["发票号", "客户编号", "开票日期", "到期日", "金额", "已收金额", "收款日期"],
            ["FP1", "C001", d(2026, 8, 16), d(2026, 9, 15), 50_000, 20_000, d(2026, 9, 20)],
            ["FP2", "C001", d(2026, 10, 31), d(2026, 11, 30), 8_000, None, None],
            ["FP3", "C001", d(2026, 5, 1), d(2026, 6, 1), 10_000, 10_000, d(2026, 11, 2)],
        ],
        "投诉记录": [
            ["投诉编号", "客户编号", "投诉日期", "类别", "严重程度", "状态"],
            ["TS1", "C002", d(2026, 5, 1), "质量", "中", "已解决"],
        ],
        "拜访记录": [
            ["客户编号", "拜访日期", "拜访方式", "客户经理", "备注"],
            ["C001", d(2026, 10, 20), "上门拜访", "张伟", "季度回顾"],
            ["C001", d(2026, 6, 2), "电话", "张伟", ""],
        ],
    }


def make_project(root: Path, sheets: dict[str, list[list]] | None = None) -> Path:
    """A project folder with the bundled rules and templates and the given ledger."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "rules", root / "rules")
    shutil.copytree(REPO / "templates", root / "templates")
    write_workbook(root / "inputs" / "台账.xlsx", sheets if sheets is not None else small_ledger())
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


BY_FILE = {"客户.xlsx": ["客户档案"], "订单.xlsx": ["销售明细"], "其他.xlsx": ["应收账款", "投诉记录", "拜访记录"]}


@pytest.fixture
def split(tmp_path: Path) -> Path:
    """The small ledger in three files: customers, orders, and the rest."""
    project = make_project(tmp_path / "proj")
    (project / "inputs" / "台账.xlsx").unlink()
    sheets = small_ledger()
    for name, wanted in BY_FILE.items():
        write_workbook(project / "inputs" / name, {s: sheets[s] for s in wanted})
    return project


@pytest.fixture(scope="session")
def bundled_run(tmp_path_factory):
    """The bundled example run once per language for the whole test session (``kamrules run
    --as-of 2026-10-31 --workers 1 [--lang <lang>]``; None: no --lang, the rules' locale decides):
    ``get(lang)`` gives (CLI output, run folder). The xdist workers share it (the first to need
    it runs it under a lock, the others read what it wrote). Tests only read what it wrote."""
    import fcntl
    import os
    import re

    from typer.testing import CliRunner

    from kamrules.cli import app

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    done: dict[str | None, tuple[str, Path]] = {}

    def run(project: Path, lang: str | None) -> str:
        for name in ("inputs", "rules", "templates"):
            shutil.copytree(REPO / name, project / name)
        chosen = ["--lang", lang] if lang else []
        result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "--workers", "1",
                                          *chosen], env={"KAMRULES_LANG": ""})
        assert result.exit_code == 0, result.output
        return result.output

    def get(lang: str | None) -> tuple[str, Path]:
        if lang not in done:
            project, output = shared / f"bundled-{lang or 'locale'}", shared / f"bundled-{lang or 'locale'}.out"
            with open(shared / f"bundled-{lang or 'locale'}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not output.exists():
                    shutil.rmtree(project, ignore_errors=True)  # a run that failed half-way
                    text = run(project, lang)
                    output.write_text(text, encoding="utf-8")
                text = output.read_text(encoding="utf-8")
            done[lang] = text, Path(re.split(r": |：", text.strip().splitlines()[-1], maxsplit=1)[-1])
        return done[lang]

    return get
