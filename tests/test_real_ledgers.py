"""Two ledgers shaped like real public ones, mapped the way a new user maps them: ``kamrules
init``, drop the export in ``inputs/``, run, read what the run says, edit ``rules/ledger.yaml``,
run again. Every figure the run gives — revenue, orders, recency, the derived customers'
attributes, and the rows read, used, rejected and skipped — is checked against a computation
written here in plain Python over the same generated rows.

- A UK online retailer's export (CSV, English headers such as ``InvoiceNo`` and ``Customer.ID``,
  US dates): returns are lines with a negative quantity on an invoice starting with "C", guest
  sales have no customer id, and there is no customer sheet — customers are derived from the
  orders, their region the country most of their lines give.
- A Beijing pharmacy's half year of sales (xlsx, Chinese headers under a title row): text dates
  with a weekday (``2018-01-01 星期五``, the weekday as the source wrote it, not always right),
  masked social-security card numbers as customer ids (``001616****28``), no order numbers, two
  monthly exports pasted one under the other (the header repeated), a totals row, and one
  impossible date (``2018-02-29 星期四``).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from kamrules.cli import app

pytestmark = pytest.mark.xdist_group("real_ledgers")

FEN = Decimal("0.01")


def invoke(*args) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def new_project(root: Path, lang: str) -> Path:
    """``kamrules init`` and an empty inputs/ (the sample ledger removed, as a user would)."""
    assert invoke("init", root, "--lang", lang).exit_code == 0
    for path in (root / "inputs").iterdir():
        path.unlink()
    return root


def edit_ledger(project: Path, change) -> None:
    path = project / "rules" / "ledger.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def run(project: Path, as_of: dt.date, lang: str):
    result = invoke("run", "-p", project, "--as-of", as_of.isoformat(), "--workers", "1", "--lang", lang)
    run_dir = project / "outputs" / sorted(p.name for p in (project / "outputs").iterdir()
                                           if p.is_dir() and not p.name.startswith("."))[-1]
    return result, run_dir


def money(text) -> Decimal:
    return Decimal(str(text)).quantize(FEN, rounding=ROUND_HALF_UP)


def minus_12_months(day: dt.date) -> dt.date:
    return day.replace(year=day.year - 1)  # the as_of dates below are not 29 February


# ---------------------------------------------------------------------------------------------
# A UK online retailer's export

UK_HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "Customer.ID", "Country"]
PRODUCTS = [("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "2.55"), ("71053", "WHITE METAL LANTERN", "3.39"),
            ("84406B", "CREAM CUPID HEARTS COAT HANGER", "2.75"), ("22752", "SET 7 BABUSHKA NESTING BOXES", "7.65"),
            ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", "4.25"), ("22633", "HAND WARMER UNION JACK", "1.85"),
            ("84879", "ASSORTED COLOUR BIRD ORNAMENT", "1.69"), ("22745", "POPPY'S PLAYHOUSE BEDROOM", "2.10"),
            ("21754", "HOME BUILDING BLOCK WORD", "5.95"), ("POST", "POSTAGE", "18.00")]
COUNTRIES = ["United Kingdom"] * 6 + ["France", "Germany", "EIRE", "Netherlands"]
UK_AS_OF = dt.date(2011, 12, 9)


def uk_retail_rows(seed: int = 2011) -> list[list[str]]:
    """Header and lines, invoices in time order; dates as the US-format CSV has them (12/1/2010 8:26)."""
    rng = random.Random(seed)
    first, last = dt.datetime(2010, 12, 1, 8, 26), dt.datetime(2011, 12, 9, 12, 50)
    span = int((last - first).total_seconds() // 60)
    ids = [str(12346 + 7 * i) for i in range(30)]
    invoices = []
    for customer in ids:
        home = rng.choice(COUNTRIES)
        for _ in range(rng.randint(1, 9)):
            country = home if rng.random() > 0.2 else rng.choice(COUNTRIES)
            invoices.append((first + dt.timedelta(minutes=rng.randrange(span)), customer, country))
    invoices += [(dt.datetime(2010, 12, 9, 17, 0), ids[0], "United Kingdom"),  # as_of − 12 months: outside
                 (dt.datetime(2010, 12, 10, 9, 0), ids[1], "United Kingdom"),  # the day after: inside
                 (dt.datetime(2011, 12, 9, 12, 50), ids[2], "France")]  # as_of itself: inside
    invoices += [(first + dt.timedelta(minutes=rng.randrange(span)), "", "United Kingdom") for _ in range(6)]
    invoices.sort()
    rows, number = [UK_HEADER], 536365
    for when, customer, country in invoices:
        lines = []
        for _ in range(rng.randint(1, 4)):
            code, name, price = rng.choice(PRODUCTS)
            quantity = rng.choice([1, 2, 3, 4, 6, 12, 24])
            lines.append([str(number), code, name, str(quantity), _us(when), price, customer, country])
        rows += lines
        if customer and rng.random() < 0.15:  # a return a few days later: invoice C…, negative quantity
            number += 1
            back = min(when + dt.timedelta(days=rng.randint(1, 20)), last)
            line = lines[0]
            rows.append(["C" + str(number), line[1], line[2], "-" + line[3], _us(back), line[5], customer, country])
        number += 1
    return rows


def _us(when: dt.datetime) -> str:
    return f"{when.month}/{when.day}/{when.year} {when.hour}:{when.minute:02d}"


def uk_expected(rows: list[list[str]], as_of: dt.date) -> tuple[dict, dict]:
    """Per customer: revenue (net of returns) in the 12 months up to as_of and in all, orders
    (distinct invoice numbers of purchases in the window: a return is not an order), the last
    purchase date, recency from it, and region (the country on most lines; a tie goes to the latest
    line's). And the row accounting: guest lines are skipped by the filter, nothing is rejected."""
    start = minus_12_months(as_of)
    lines = []
    for index, (invoice, _, _, quantity, when, price, customer, country) in enumerate(rows[1:]):
        month, day, rest = when.split("/")
        date = dt.date(int(rest.split()[0]), int(month), int(day))
        lines.append((customer, invoice, date, money(Decimal(quantity) * Decimal(price)), country, index))
    used = [line for line in lines if line[0]]
    found: dict[str, dict] = {}
    by_customer = defaultdict(list)
    for line in used:
        by_customer[line[0]].append(line)
    for customer, own in by_customer.items():
        window = [line for line in own if start < line[2] <= as_of]
        counts = Counter(line[4] for line in own)
        top = max(counts.values())
        latest = max((line for line in own if counts[line[4]] == top), key=lambda line: (line[2], line[5]))
        last = max(line[2] for line in own if line[3] >= 0)
        found[customer] = {"revenue_12m": sum((line[3] for line in window), Decimal(0)),
                           "revenue_total": sum((line[3] for line in own), Decimal(0)),
                           "orders_12m": len({line[1] for line in window if line[3] >= 0}),
                           "last_order_date": last, "recency_days": (as_of - last).days, "region": latest[4]}
    counts = {"rows_read": len(lines), "rows_used": len(used), "rows_rejected": 0,
              "rows_skipped": len(lines) - len(used)}
    return found, counts


def map_uk_export(data: dict) -> None:
    """What the user adds to the English rules/ledger.yaml after the first run named the headers."""
    data["ledger"]["date_order"] = "mdy"  # 12/1/2010 is 1 December
    customers = data["datasets"]["customers"]
    customers["derive"] = {"from": "orders", "columns": {"region": "most_frequent(country)"}}
    orders = data["datasets"]["orders"]
    orders["where"] = "not is_null(customer_id)"  # guest sales: skipped, listed, not rejected
    columns = orders["columns"]
    columns["order_id"]["aliases"].append("InvoiceNo")
    columns["order_date"]["aliases"].append("InvoiceDate")
    columns["unit_price"] = {"aliases": ["UnitPrice"], "type": "money"}
    columns["amount"] = {"expr": "quantity * unit_price", "type": "money", "required": True}
    columns["country"] = ["Country"]


@pytest.fixture(scope="module")
def uk_project(tmp_path_factory) -> tuple[Path, list[list[str]]]:
    project = new_project(tmp_path_factory.mktemp("uk") / "retail", "en")
    rows = uk_retail_rows()
    with (project / "inputs" / "online_retail.csv").open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(rows)
    return project, rows


def test_uk_export_first_run_names_the_headers_to_map(uk_project):
    project, _ = uk_project
    result = invoke("run", "-p", project, "--as-of", UK_AS_OF.isoformat(), "--workers", "1")
    assert result.exit_code == 1
    assert result.output.replace("\n  hint", " hint") == (
        "error: inputs: no sheet found for the required dataset 'orders' (Orders). Sheets seen: "
        "inputs/online_retail.csv, sheet online_retail (not used) has the headers InvoiceNo, StockCode, Description, "
        "Quantity, InvoiceDate, UnitPrice, Customer.ID, Country, and no column for order_date "
        "(closest header: 'InvoiceDate') and amount (no header like it) hint: if those are the columns, add them as "
        "aliases under datasets.orders.columns in rules/ledger.yaml: order_date: [InvoiceDate]\n")


def test_uk_export_mapped(uk_project):
    project, rows = uk_project
    edit_ledger(project, map_uk_export)
    assert invoke("check", "-p", project).exit_code == 0
    result, run_dir = run(project, UK_AS_OF, "en")
    assert result.exit_code == 0, result.output
    expected, counts = uk_expected(rows, UK_AS_OF)

    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["datasets"]["orders"] == counts
    assert counts["rows_skipped"] > 0 and manifest["issues"]["by_code"]["filtered"] == counts["rows_skipped"]
    lines = result.output.splitlines()
    assert f"  Customers    {len(expected):>8,} derived from Orders" in lines
    assert (f"  Orders       {counts['rows_used']:>8,} rows used, {counts['rows_skipped']:,} skipped") in lines

    frame = pl.read_parquet(run_dir / "decisions.parquet")
    assert sorted(frame["customer_id"].to_list()) == sorted(expected)
    for row in frame.iter_rows(named=True):
        want = expected[row["customer_id"]]
        assert money(row["revenue_12m"]) == want["revenue_12m"], row["customer_id"]
        assert money(row["revenue_total"]) == want["revenue_total"], row["customer_id"]
        assert (row["orders_12m"], row["last_order_date"], row["recency_days"], row["region"]) == (
            want["orders_12m"], want["last_order_date"], want["recency_days"], want["region"]), row["customer_id"]
        assert row["name"] == row["customer_id"]  # the export has no names: the id stands in
    # the boundary days of the window, and a return netted off
    assert any(r[0].startswith("C") for r in rows[1:])
    assert sum(e["revenue_12m"] for e in expected.values()) == money(sum(frame["revenue_12m"].to_list()))

    wb = openpyxl.load_workbook(run_dir / "portfolio.xlsx", read_only=True)
    issues = list(wb["Data issues"].iter_rows(min_row=2, values_only=True))
    guests = [r for r in issues if r[8] == "filtered"]
    assert len(guests) == counts["rows_skipped"]
    first_guest = next(i for i, r in enumerate(rows[1:]) if not r[6])
    assert guests[0][:10] == ("Skipped", "inputs/online_retail.csv", "online_retail", first_guest + 2, "InvoiceNo",
                              rows[first_guest + 1][0], "skipped by the filter where: not is_null(customer_id) "
                              "(Customer.ID is empty)", None, "filtered", "Skipped by the filter")


# ---------------------------------------------------------------------------------------------
# A Beijing pharmacy's sales

PHARMACY_HEADER = ["购药时间", "社保卡号", "商品编码", "商品名称", "销售数量", "应收金额", "实收金额"]
MEDICINES = [("236701", "强力VC银翘片", 28), ("236702", "清热解毒口服液", 35.5), ("861464", "复方利血平片", 6.3),
             ("861405", "苯磺酸氨氯地平片(络活喜)", 111.5), ("866634", "硝苯地平控释片", 34.3),
             ("2367011", "开博通", 28), ("861456", "酒石酸美托洛尔片(倍他乐克)", 12.5)]
WEEKDAYS = "一二三四五六日"
PHARMACY_AS_OF = dt.date(2018, 7, 1)


def pharmacy_rows(seed: int = 2018) -> list[list]:
    """Title, header, January–March, the header again, April–June, a totals row. Amounts are
    numbers; 实收金额 is 应收金额 less the card's discount. One row has 2018-02-29, and one the
    weekday the real export writes for 1 January (星期五; it was a Monday)."""
    rng = random.Random(seed)
    cards = set()
    while len(cards) < 40:
        cards.add(f"00{rng.randint(1000, 9999)}****{rng.randint(10, 99)}")
    cards = sorted(cards)
    days = [dt.date(2018, 1, 1) + dt.timedelta(days=n) for n in range(181)]
    lines = []
    for card in cards:
        discount = Decimal(rng.choice(["1", "0.9", "0.88"]))
        for day in sorted(rng.sample(days, rng.randint(1, 10))):
            for code, name, price in rng.sample(MEDICINES, rng.randint(1, 3)):
                quantity = rng.randint(1, 6)
                due = money(Decimal(str(price)) * quantity)
                lines.append([day, card, code, name, quantity, float(due), float(money(due * discount))])
    lines.sort(key=lambda line: (line[0], line[1]))
    text = []
    for day, *rest in lines:
        text.append([f"{day.isoformat()} 星期{WEEKDAYS[day.weekday()]}", *rest])
    text[0][0] = "2018-01-01 星期五"
    impossible = next(i for i, row in enumerate(text) if row[0] >= "2018-03")
    text.insert(impossible, ["2018-02-29 星期四", cards[1], "861464", "复方利血平片", 2, 12.6, 12.6])
    april = next(i for i, row in enumerate(text) if row[0] >= "2018-04")
    totals = ["合计", None, None, None, sum(r[4] for r in text), None, float(sum(money(r[6]) for r in text))]
    return [["朝阳医院2018年销售数据"], PHARMACY_HEADER, *text[:april], PHARMACY_HEADER, *text[april:], totals]


def pharmacy_expected(rows: list[list], as_of: dt.date) -> tuple[dict, dict, int]:
    """Per card: revenue (实收金额), orders (days with purchases: the export has no order numbers),
    last purchase, recency. Rows: the repeated header and the totals row skipped, 2018-02-29
    rejected. Also the Excel row of the impossible date."""
    start = minus_12_months(as_of)
    found, read, skipped, rejected, bad_row = defaultdict(list), 0, 0, 0, None
    for excel_row, row in enumerate(rows, start=1):
        if excel_row <= 2:
            continue  # the title and the header
        read += 1
        if row[0] in ("购药时间", "合计"):
            skipped += 1
            continue
        try:
            day = dt.date.fromisoformat(row[0][:10])
        except ValueError:
            rejected, bad_row = rejected + 1, excel_row
            continue
        found[row[1]].append((day, money(row[6])))
    expected = {}
    for card, own in found.items():
        window = [(day, amount) for day, amount in own if start < day <= as_of]
        last = max(day for day, _ in own)
        expected[card] = {"revenue_12m": sum((a for _, a in window), Decimal(0)),
                          "orders_12m": len({day for day, _ in window}), "last_order_date": last,
                          "recency_days": (as_of - last).days}
    counts = {"rows_read": read, "rows_used": read - skipped - rejected, "rows_rejected": rejected,
              "rows_skipped": skipped}
    return expected, counts, bad_row


def map_pharmacy_export(data: dict) -> None:
    columns = data["datasets"]["orders"]["columns"]
    columns["customer_id"]["aliases"].append("社保卡号")
    columns["order_date"]["aliases"].append("购药时间")
    columns["amount"]["aliases"].append("实收金额")
    columns["quantity"]["aliases"].append("销售数量")
    columns["product"]["aliases"].append("商品名称")
    columns["amount_due"] = {"aliases": ["应收金额"], "type": "money"}


@pytest.fixture(scope="module")
def pharmacy_project(tmp_path_factory) -> tuple[Path, list[list]]:
    project = new_project(tmp_path_factory.mktemp("pharmacy") / "药店", "zh")
    rows = pharmacy_rows()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for row in rows:
        ws.append(row)
    wb.save(project / "inputs" / "朝阳医院2018年销售数据.xlsx")
    edit_ledger(project, map_pharmacy_export)
    return project, rows


def test_pharmacy_export_mapped(pharmacy_project):
    project, rows = pharmacy_project
    assert invoke("check", "-p", project).exit_code == 0
    result, run_dir = run(project, PHARMACY_AS_OF, "zh")
    assert result.exit_code == 0, result.output
    expected, counts, bad_row = pharmacy_expected(rows, PHARMACY_AS_OF)
    assert (counts["rows_rejected"], counts["rows_skipped"]) == (1, 2)

    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["datasets"]["orders"] == counts
    assert manifest["issues"]["errors"] == counts["rows_rejected"]
    lines = result.output.splitlines()
    assert f"  销售明细     使用 {counts['rows_used']:>8,} 行，拒绝 1 行，跳过 2 行" in lines
    assert f"  客户档案     生成 {len(expected):>8,} 行（按销售明细）" in lines
    assert "1 行数据被拒绝（见 portfolio.xlsx 的“数据问题”页和 issues.xlsx）：" in lines
    assert (f"  inputs/朝阳医院2018年销售数据.xlsx · Sheet1 · 第 {bad_row} 行 · 购药时间 = '2018-02-29 星期四'："
            "日期不存在：2018年2月只有28天 — 请在源文件中核对这一天（可能是录入错误）") in lines
    assert "跳过：重复的表头行 (repeated_header) ×1, 合计行 (totals_row) ×1" in lines

    frame = pl.read_parquet(run_dir / "decisions.parquet")
    assert sorted(frame["customer_id"].to_list()) == sorted(expected)
    assert all("****" in c for c in frame["customer_id"].to_list())  # masked ids kept as written, leading 00 too
    for row in frame.iter_rows(named=True):
        want = expected[row["customer_id"]]
        assert money(row["revenue_12m"]) == want["revenue_12m"], row["customer_id"]
        assert (row["orders_12m"], row["last_order_date"], row["recency_days"]) == (
            want["orders_12m"], want["last_order_date"], want["recency_days"]), row["customer_id"]

    wb = openpyxl.load_workbook(run_dir / "portfolio.xlsx")
    summary = {r[0]: r[1] for r in wb["概览"].iter_rows(values_only=True) if r and r[0]}
    assert summary["被拒绝的数据行"] == counts["rows_rejected"]
    issues = list(wb["数据问题"].iter_rows(min_row=2, values_only=True))
    by_level = Counter(r[0] for r in issues if r[10] == "orders")
    assert by_level["错误（未使用）"] == counts["rows_rejected"] and by_level["跳过"] == counts["rows_skipped"]
    [bad] = [r for r in issues if r[0] == "错误（未使用）"]
    assert bad[3:10] == (bad_row, "购药时间", "2018-02-29 星期四", "日期不存在：2018年2月只有28天",
                         "请在源文件中核对这一天（可能是录入错误）", "bad_date", "日期无效")
    not_used = list(openpyxl.load_workbook(run_dir / "issues.xlsx")["数据问题"].iter_rows(min_row=2, values_only=True))
    assert Counter(r[0] for r in not_used) == {"错误（未使用）": 1, "跳过": 2}
