"""Deterministic ledgers of any size for the benchmarks (generated on demand, never committed).

    python -m benchmarks.generate OUT_DIR --customers 50000 --lines 1000000

Writes a project folder: the bundled ``rules/`` and ``templates/`` plus
``inputs/台账.xlsx`` with 客户档案, 销售明细, 应收账款 and 拜访记录 sheets shaped like the
bundled sample (Chinese headers, a title row above the customer header, skewed revenue).
Order dates and amounts are text cells, as ERP exports often are, and 2% of them are
written by hand (``2025年1月3日``, ``¥2727.13``), so the full parsers are exercised too.
A folder generated with the same parameters and generator is reused (``generated.json``).
Uses Polars' xlsxwriter-based ``write_excel`` (``pip install xlsxwriter``), which is much
faster than openpyxl for a million rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np  # noqa: F401  (polars' random helpers need it; fails early with a clear message)
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
START, END = dt.date(2024, 11, 1), dt.date(2026, 10, 31)
INDUSTRIES = ["制造业", "零售", "医药", "物流", "建筑工程", "电子科技", "食品饮料", "汽车配件"]
REGIONS = ["华东", "华南", "华北", "华中", "西南", "西北", "东北"]
MANAGERS = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏"]
MESSY = 0.02  # share of order lines typed by hand: 2025年1月3日 and ¥1234.5 as text, as in real ledgers
PRODUCTS = ["钢材", "铝型材", "五金配件", "电子元件", "包装材料", "化工原料", "润滑油", "轴承", "电缆", "阀门"]


def customers(n: int, rng: np.random.Generator) -> pl.DataFrame:
    ids = [f"C{i:06d}" for i in range(1, n + 1)]
    days = (END - START).days
    since = [START - dt.timedelta(days=int(d)) for d in rng.integers(-days, 3650, n)]
    return pl.DataFrame({
        "客户编号": ids,
        "客户名称": [f"{REGIONS[i % 7]}客户{i:06d}有限公司" for i in range(1, n + 1)],
        "行业": rng.choice(INDUSTRIES, n), "地区": rng.choice(REGIONS, n), "客户经理": rng.choice(MANAGERS, n),
        "合作开始日期": since,
        "结算方式": rng.choice(["月结", "现结"], n, p=[0.6, 0.4]),
        "联系人": rng.choice(MANAGERS, n),
        "联系人生日": [dt.date(1970 + int(y), int(m), 1) for y, m in zip(rng.integers(0, 30, n), rng.integers(1, 13, n))],
        "合同到期日": [END + dt.timedelta(days=int(d)) for d in rng.integers(1, 600, n)],
    })


def orders(n_customers: int, n_lines: int, rng: np.random.Generator, start: dt.date = START, end: dt.date = END,
           prefix: str = "SO") -> pl.DataFrame:
    """Order lines dated from ``start`` to ``end``; order numbers ``<prefix>00000001`` on."""
    weights = rng.pareto(1.2, n_customers) + 0.05  # a few customers carry most of the revenue
    weights /= weights.sum()
    who = rng.choice(n_customers, n_lines, p=weights) + 1
    days = rng.integers(0, (end - start).days + 1, n_lines)
    amount = np.round(rng.lognormal(8, 1.0, n_lines), 2)
    dates = pl.select(pl.lit(start) + pl.duration(days=pl.Series(days))).to_series()
    messy = pl.Series(rng.random(n_lines) < MESSY)
    return pl.DataFrame({
        "订单编号": [f"{prefix}{i:08d}" for i in range(1, n_lines + 1)],
        "客户编号": [f"C{c:06d}" for c in who],
        "下单日期": pl.select(pl.when(messy).then(dates.dt.strftime("%Y年%-m月%-d日"))
                              .otherwise(dates.dt.strftime("%Y-%m-%d"))).to_series(),
        "产品": rng.choice(PRODUCTS, n_lines),
        "数量": rng.integers(1, 50, n_lines),
        "金额": pl.select(pl.when(messy).then(pl.format("¥{}", pl.Series(amount).round(2)))
                          .otherwise(pl.Series(amount).cast(pl.String))).to_series(),
        "成本": np.round(amount * rng.uniform(0.55, 0.9, n_lines), 2),
    })


def receivables(n_customers: int, rng: np.random.Generator) -> pl.DataFrame:
    n = n_customers * 3
    issued = [END - dt.timedelta(days=int(d)) for d in rng.integers(0, 365, n)]
    amount = np.round(rng.lognormal(9, 1.0, n), 2)
    paid = rng.random(n) < 0.8
    return pl.DataFrame({
        "发票号": [f"FP{i:08d}" for i in range(1, n + 1)],
        "客户编号": [f"C{c:06d}" for c in rng.integers(1, n_customers + 1, n)],
        "开票日期": issued, "到期日": [d + dt.timedelta(days=30) for d in issued], "金额": amount,
        "已收金额": np.where(paid, amount, 0.0),
        "收款日期": [d + dt.timedelta(days=25) if p else None for d, p in zip(issued, paid)],
    })


def visits(n_customers: int, rng: np.random.Generator) -> pl.DataFrame:
    n = n_customers * 2
    return pl.DataFrame({
        "客户编号": [f"C{c:06d}" for c in rng.integers(1, n_customers + 1, n)],
        "拜访日期": [END - dt.timedelta(days=int(d)) for d in rng.integers(0, 365, n)],
        "拜访方式": rng.choice(["上门拜访", "电话", "视频会议"], n),
        "客户经理": rng.choice(MANAGERS, n),
        "满意度": rng.integers(3, 6, n),
    })


def generate(out: Path, n_customers: int, n_lines: int, seed: int = 20261031) -> Path:
    """A complete project folder at ``out`` (replaced if it exists and was made otherwise)."""
    stamp = {"customers": n_customers, "lines": n_lines, "seed": seed,
             "generator": hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}
    marker = out / "generated.json"
    if marker.is_file() and json.loads(marker.read_text()) == stamp:
        for name in ("outputs", "rules", "templates"):
            shutil.rmtree(out / name, ignore_errors=True)
        _copy_project_files(out)  # the current rules, even when the ledger is reused
        return out
    rng = np.random.default_rng(seed)
    if out.exists():
        shutil.rmtree(out)
    _copy_project_files(out)
    (out / "inputs").mkdir(parents=True)
    book = out / "inputs" / "台账.xlsx"
    import xlsxwriter

    with xlsxwriter.Workbook(str(book), {"constant_memory": False}) as workbook:
        customers(n_customers, rng).write_excel(workbook, worksheet="客户档案", position="A3",
                                                table_style=None, autofit=False)
        workbook.get_worksheet_by_name("客户档案").write("A1", "客户档案（基准测试）")
        for name, frame in (("销售明细", orders(n_customers, n_lines, rng)), ("应收账款", receivables(n_customers, rng)),
                            ("拜访记录", visits(n_customers, rng))):
            frame.write_excel(workbook, worksheet=name, table_style=None, autofit=False)
    marker.write_text(json.dumps(stamp))
    return out


def _copy_project_files(out: Path) -> None:
    for name in ("rules", "templates"):
        shutil.copytree(ROOT / name, out / name, ignore=shutil.ignore_patterns("tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    print(generate(args.out, args.customers, args.lines))


if __name__ == "__main__":
    main()
