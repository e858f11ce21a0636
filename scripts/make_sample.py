"""Generate the bundled sample ledger ``inputs/大客户台账.xlsx``.

Usage: python scripts/make_sample.py [--out PATH]

The workbook is a fictional key-account ledger of a B2B supplier of packaging,
logistics and industrial consumables, covering 2024-11-01 .. 2026-10-31; the
bundled example is run "as of 2026-10-31".  Everything comes from
``random.Random(20261031)``, the core properties carry a fixed date and the zip
entries a fixed timestamp, so regenerating the file leaves git clean.

Sheets and what makes them realistic:

* ``客户档案`` - 331 data rows (330 customers plus one duplicate id) under a
  merged title row, a blank row and the header on row 3.  Customer ids follow
  onboarding order; names are city + trade name + industry suffix and the city
  matches the region.  About 10% of 合作开始日期 are text in Chinese styles
  (``2019年3月5日``, ``2020/1/3``, ``2018-01-05 星期五``); the rest are date
  cells.  About 60% settle 月结; some contracts end within 60 days of the
  as-of date.  One key customer is named ``A&B <国际> 贸易有限公司`` to test
  XML escaping.
* ``销售明细`` - about 20,000 order lines (1-4 lines per order number
  ``SOyyyymmNNNN``) from 12 products with margins of 10%-45%.  Revenue is
  heavily skewed: about 12 customers above 1.5M over the 24 months, 10 in
  1.0M-1.5M, 8 in 0.8M-1.0M, 20 in 0.5M-0.8M, 80 in 150k-500k, the rest
  below, and 6 customers without orders.  Two of the top 30 started less
  than a year ago; about 10 grow strongly (year 2 > 1.5x year 1) and 10
  decline (year 2 < 0.5x year 1), half of them with no orders in the last
  four months.  About 2% of 金额 cells are text such as ``¥12,345.60`` or
  ``1,234.50``.
* ``应收账款`` - one invoice per invoiced customer and month with orders in
  the last 12 months (月结 customers and some others), for that month's order
  total.  Most are paid on time; some late; about 25 customers carry unpaid
  or partly paid invoices 10-200 days past due, a few 月结 ones above 10,000
  and several between 5,000 and 10,000; October 2026 invoices are not yet due.
* ``投诉记录`` - about 150 complaints under a title row, concentrated on a few
  customers, including most of the declining ones.
* ``拜访记录`` - big customers visited about monthly, small ones rarely, some
  never; a few big customers have not been visited in the last four months.

* Churn and return (applied last, with a generator of its own): a quarter of the established
  mid-sized and small accounts (tiers E and F, started by mid-2025, at least four orders, not
  overdue, no complaints) stop buying from a month between 2025-03 and 2026-08, and a tenth
  pause for four to eight whole months and come back; their orders and invoices in those months
  are not in the ledger. So the predictive model sees real dropout (BG/NBD fits a spread of
  dropout probabilities as of 2026-10-31).

Planted bad rows (Excel row numbers, as the summary at the end prints them):

* ``客户档案`` row 331, column A 客户编号: C0143 again, with a different name.
* ``销售明细``, spread out between ordinary rows:
  rows 2951 and 13191, column B 客户编号 blank;
  rows 5203 and 16194, column F 金额 ``待确认``;
  rows 7815 and 18590, column B 客户编号 ``C9999`` (unknown customer);
  row 10997, column C 下单日期 ``2025-13-45``.
"""

from __future__ import annotations

import argparse
import calendar
import io
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from random import Random

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

SEED = 20261031
AS_OF = date(2026, 10, 31)
PERIOD_START = date(2024, 11, 1)
YEAR_TWO_START = date(2025, 11, 1)
QUIET_SINCE = date(2026, 7, 1)
FIXED_TIME = datetime(2026, 10, 31, 0, 0, 0)
ZIP_TIME = (2026, 10, 31, 0, 0, 0)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "inputs" / "大客户台账.xlsx"

DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"

CUSTOMER_COUNT = 330
ORDER_LINE_BUDGET = 22_000
TRICKY_NAME = "A&B <国际> 贸易有限公司"
UNKNOWN_CUSTOMER = "C9999"
BAD_DATE_TEXT = "2025-13-45"

# (tier, count, low, high); tier A is spread geometrically, the others log-uniformly.
REVENUE_TIERS = [
    ("A", 12, 1_650_000, 9_600_000),
    ("B", 10, 1_060_000, 1_440_000),
    ("C", 8, 830_000, 970_000),
    ("D", 20, 530_000, 770_000),
    ("E", 80, 165_000, 480_000),
]
SMALL_TIER = ("F", 8_000, 138_000)
NO_ORDER_COUNT = 6
BIG_TIERS = ("A", "B", "C")

REGION_CITIES = {
    "华东": ["上海", "苏州", "无锡", "常州", "南京", "杭州", "宁波", "温州", "绍兴", "合肥",
             "济南", "青岛", "烟台", "福州", "厦门", "泉州", "南昌", "嘉兴"],
    "华南": ["广州", "深圳", "东莞", "佛山", "中山", "珠海", "惠州", "南宁", "海口"],
    "华北": ["北京", "天津", "石家庄", "唐山", "保定", "太原", "呼和浩特"],
    "华中": ["武汉", "长沙", "郑州", "洛阳", "宜昌", "株洲"],
    "西南": ["成都", "重庆", "昆明", "贵阳", "绵阳"],
    "西北": ["西安", "兰州", "银川", "西宁", "乌鲁木齐"],
    "东北": ["沈阳", "大连", "长春", "哈尔滨", "鞍山"],
}
REGION_WEIGHTS = {"华东": 34, "华南": 22, "华北": 14, "华中": 12, "西南": 9, "西北": 4, "东北": 5}
REGION_MANAGERS = {
    "华东": ["王建国", "李晓燕"],
    "华南": ["张志强"],
    "华北": ["刘洋"],
    "华中": ["陈静"],
    "西南": ["杨帆"],
    "西北": ["赵磊"],
    "东北": ["周婷"],
}
MANAGERS = ["王建国", "李晓燕", "张志强", "刘洋", "陈静", "杨帆", "赵磊", "周婷"]

TRADE_NAMES = [
    "恒泰", "华信", "鑫源", "宏达", "金辉", "瑞丰", "永盛", "德润", "联创", "天成", "博远", "嘉禾",
    "汇通", "卓越", "盛达", "凯旋", "佳美", "同创", "立信", "安泰", "海纳", "中科", "远航", "新锐",
    "润泽", "华茂", "兴业", "顺发", "宏图", "泰和", "益丰", "万通", "鼎盛", "宝华", "恒昌", "广源",
    "聚力", "丰华", "正通", "明远", "启航", "国瑞", "信达", "长青", "百川", "合众",
]
INDUSTRY_SUFFIXES = {
    "制造业": ["精密机械有限公司", "机电设备有限公司", "五金制品有限公司", "塑胶制品有限公司"],
    "零售": ["商贸有限公司", "百货有限公司", "连锁超市有限公司", "贸易有限公司"],
    "医药": ["医药有限公司", "生物科技有限公司", "药业有限公司", "医疗器械有限公司"],
    "物流": ["物流有限公司", "供应链管理有限公司", "国际货运代理有限公司", "仓储服务有限公司"],
    "建筑工程": ["建设工程有限公司", "建筑安装工程有限公司", "装饰工程有限公司", "市政工程有限公司"],
    "电子科技": ["电子科技有限公司", "智能科技有限公司", "光电科技有限公司", "半导体有限公司"],
    "食品饮料": ["食品有限公司", "饮品有限公司", "粮油有限公司", "乳业有限公司"],
    "汽车配件": ["汽车零部件有限公司", "汽配有限公司", "车业有限公司", "汽车电子有限公司"],
}
INDUSTRY_WEIGHTS = {"制造业": 22, "零售": 12, "医药": 9, "物流": 12, "建筑工程": 8,
                    "电子科技": 15, "食品饮料": 12, "汽车配件": 10}
BIG_COMPANY_SUFFIXES = ["集团有限公司", "股份有限公司"]

SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢"
                "蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟")
GIVEN_NAMES = [
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "晓东", "春梅", "国庆",
    "文博", "子涵", "雨欣", "浩然", "俊杰", "丹", "鹏", "辉", "玲", "红梅", "建军", "晓峰", "丽华",
]
WEEKDAYS = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]


@dataclass(frozen=True)
class Product:
    name: str
    unit_price: float
    margin: float


PRODUCTS = [
    Product("五层瓦楞纸箱", 6.5, 0.12),
    Product("PE缠绕膜", 45.0, 0.15),
    Product("川字塑料托盘", 180.0, 0.22),
    Product("防静电周转箱", 68.0, 0.28),
    Product("不锈钢紧固件套装", 120.0, 0.32),
    Product("精密滚珠轴承", 85.0, 0.25),
    Product("工业润滑油18L", 560.0, 0.20),
    Product("冷链保温箱", 260.0, 0.35),
    Product("条码标签耗材", 38.0, 0.45),
    Product("工业清洁剂", 95.0, 0.40),
    Product("劳保防护手套", 150.0, 0.10),
    Product("重型仓储货架", 2400.0, 0.30),
]
INDUSTRY_PRODUCTS = {
    "制造业": ["精密滚珠轴承", "工业润滑油18L", "不锈钢紧固件套装", "劳保防护手套"],
    "零售": ["五层瓦楞纸箱", "条码标签耗材", "工业清洁剂", "PE缠绕膜"],
    "医药": ["冷链保温箱", "条码标签耗材", "五层瓦楞纸箱"],
    "物流": ["川字塑料托盘", "PE缠绕膜", "重型仓储货架", "五层瓦楞纸箱"],
    "建筑工程": ["劳保防护手套", "不锈钢紧固件套装", "工业清洁剂"],
    "电子科技": ["防静电周转箱", "条码标签耗材", "五层瓦楞纸箱"],
    "食品饮料": ["冷链保温箱", "五层瓦楞纸箱", "PE缠绕膜", "工业清洁剂"],
    "汽车配件": ["精密滚珠轴承", "不锈钢紧固件套装", "工业润滑油18L", "川字塑料托盘"],
}
MONTH_SEASONALITY = {1: 1.10, 2: 0.60, 3: 1.00, 4: 1.00, 5: 1.05, 6: 1.05,
                     7: 0.95, 8: 0.95, 9: 1.10, 10: 0.90, 11: 1.05, 12: 1.20}

COMPLAINT_CATEGORIES = {"质量": 30, "交期": 30, "服务": 15, "价格": 15, "发票": 10}
VISIT_MODES = {"上门拜访": 45, "电话": 25, "视频会议": 15, "客户来访": 15}
VISIT_NOTES = [
    "季度业务回顾", "沟通新品报价", "了解下季度采购计划", "年度合同续签洽谈", "对账确认",
    "陪同技术人员现场支持", "节日拜访", "介绍冷链新方案", "客户反馈交期偏慢", "讨论年度返利政策",
    "推荐仓储改造方案", "收集产品使用反馈", "确认新厂区供货安排", "协调样品测试",
]
OVERDUE_NOTE = "催收逾期货款"
COMPLAINT_NOTE = "回访投诉处理情况"
LAPSED_NOTES = ["客户暂停采购，了解原因", "客户表示部分订单转向竞争对手"]


@dataclass
class Customer:
    customer_id: str
    name: str
    industry: str
    region: str
    manager: str
    start: date
    start_text: str | None
    settlement: str
    contact: str
    contact_birthday: date
    contract_end: date
    tier: str
    target: float
    trend: str
    catalog: dict[str, float] = field(default_factory=dict)


@dataclass
class OrderLine:
    product: str
    quantity: int
    amount: float
    cost: float


@dataclass
class Order:
    customer_id: str | None
    order_date: date
    lines: list[OrderLine]
    number: str = ""
    date_text: str | None = None
    amount_text: str | None = None
    defect: str | None = None


@dataclass
class Invoice:
    customer_id: str
    issued: date
    due: date
    amount: float
    received: float | None = None
    received_on: date | None = None
    number: str = ""


@dataclass
class Complaint:
    customer_id: str
    raised: date
    category: str
    severity: str
    status: str
    number: str = ""


@dataclass
class Visit:
    customer_id: str
    visited: date
    mode: str
    manager: str
    note: str


@dataclass
class PlantedRow:
    sheet: str
    row: int
    column: str
    description: str


@dataclass
class Profile:
    tier: str
    target: float
    trend: str = "steady"
    recent_start: bool = False
    tricky: bool = False


# ---------------------------------------------------------------- calendar helpers

def month_starts(first: date, last: date) -> list[date]:
    months, current = [], date(first.year, first.month, 1)
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return months


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def random_date(rng: Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def random_workday(rng: Random, first: date, last: date) -> date:
    day = random_date(rng, first, last)
    for _ in range(3):
        if day.weekday() < 5:
            break
        day = random_date(rng, first, last)
    return day


def weighted_choice(rng: Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def log_uniform(rng: Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


# ---------------------------------------------------------------- customers

def build_profiles(rng: Random) -> list[Profile]:
    profiles: list[Profile] = []
    for tier, count, low, high in REVENUE_TIERS:
        if tier == "A":
            ratio = (low / high) ** (1 / (count - 1))
            targets = [high * ratio**i * rng.uniform(0.97, 1.03) for i in range(count)]
        else:
            targets = [log_uniform(rng, low, high) for _ in range(count)]
        profiles += [Profile(tier, round(t, 2)) for t in targets]
    tier, low, high = SMALL_TIER
    small_count = CUSTOMER_COUNT - len(profiles) - NO_ORDER_COUNT
    profiles += [Profile(tier, round(log_uniform(rng, low, high), 2)) for _ in range(small_count)]
    profiles += [Profile("Z", 0.0) for _ in range(NO_ORDER_COUNT)]
    mark_special_profiles(rng, profiles)
    return profiles


def mark_special_profiles(rng: Random, profiles: list[Profile]) -> None:
    by_tier: dict[str, list[Profile]] = {}
    for profile in profiles:
        by_tier.setdefault(profile.tier, []).append(profile)
    by_tier["A"][2].tricky = True
    by_tier["B"][rng.randrange(10)].recent_start = True
    by_tier["C"][rng.randrange(8)].recent_start = True
    pool = {t: [p for p in by_tier[t] if not p.recent_start] for t in ("B", "C", "D", "E")}
    growing = rng.sample(pool["B"], 1) + rng.sample(pool["D"], 2) + rng.sample(pool["E"], 7)
    for profile in growing:
        profile.trend = "growing"
    rest = {t: [p for p in pool[t] if p.trend == "steady"] for t in ("C", "D", "E")}
    declining = rng.sample(rest["C"], 1) + rng.sample(rest["D"], 2) + rng.sample(rest["E"], 7)
    for index, profile in enumerate(declining):
        profile.trend = "lapsed" if index % 2 else "declining"


def start_date_for(rng: Random, profile: Profile) -> date:
    if profile.recent_start:
        return random_date(rng, date(2025, 11, 20), date(2026, 3, 31))
    if profile.tier in BIG_TIERS or profile.trend != "steady":
        return random_date(rng, date(2012, 1, 1), date(2023, 10, 31))
    if profile.tier == "Z":
        if rng.random() < 0.5:
            return random_date(rng, date(2026, 8, 1), date(2026, 9, 28))
        return random_date(rng, date(2015, 1, 1), date(2022, 12, 31))
    if profile.tier in ("D", "E") and rng.random() < 0.9:
        return random_date(rng, date(2012, 1, 1), date(2025, 6, 30))
    if rng.random() < 0.35:
        return random_date(rng, date(2024, 11, 1), date(2026, 9, 15))
    return random_date(rng, date(2012, 1, 1), date(2024, 10, 31))


def person_name(rng: Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def company_name(rng: Random, city: str, industry: str, big: bool, taken: set[str]) -> str:
    while True:
        suffix = rng.choice(INDUSTRY_SUFFIXES[industry])
        if big and rng.random() < 0.3:
            suffix = suffix.removesuffix("有限公司") + rng.choice(BIG_COMPANY_SUFFIXES)
        name = city + rng.choice(TRADE_NAMES) + suffix
        if name not in taken:
            taken.add(name)
            return name


def start_date_text(start: date, style: int) -> str:
    if style == 0:
        return f"{start.year}年{start.month}月{start.day}日"
    if style == 1:
        return f"{start.year}/{start.month}/{start.day}"
    return f"{start.isoformat()} {WEEKDAYS[start.weekday()]}"


def contract_end_for(rng: Random) -> date:
    if rng.random() < 0.08:
        return random_date(rng, date(2026, 11, 1), AS_OF + timedelta(days=60))
    return random_date(rng, date(2027, 1, 1), date(2028, 6, 30))


def product_catalog(rng: Random, industry: str, big: bool) -> dict[str, float]:
    preferred = set(INDUSTRY_PRODUCTS[industry])
    weights = [5.0 if p.name in preferred else 1.0 for p in PRODUCTS]
    size = rng.randint(6, 9) if big else rng.randint(3, 6)
    chosen: list[Product] = []
    candidates = list(PRODUCTS)
    while len(chosen) < size:
        pick = rng.choices(range(len(candidates)), weights=weights)[0]
        chosen.append(candidates.pop(pick))
        weights.pop(pick)
    return {p.name: round(p.unit_price * rng.uniform(0.88, 1.05), 2) for p in chosen}


def build_customer(rng: Random, profile: Profile, start: date, taken: set[str]) -> Customer:
    big = profile.tier in BIG_TIERS
    if profile.tricky:
        region, city, industry = "华东", "上海", "零售"
        name = TRICKY_NAME
        taken.add(name)
    else:
        region = weighted_choice(rng, REGION_WEIGHTS)
        city = rng.choice(REGION_CITIES[region])
        industry = weighted_choice(rng, INDUSTRY_WEIGHTS)
        name = company_name(rng, city, industry, big, taken)
    manager = rng.choice(REGION_MANAGERS[region]) if rng.random() < 0.8 else rng.choice(MANAGERS)
    monthly_share = 0.75 if big or profile.tier == "D" else 0.57
    return Customer(
        customer_id="",
        name=name,
        industry=industry,
        region=region,
        manager=manager,
        start=start,
        start_text=None,
        settlement="月结" if rng.random() < monthly_share else "现结",
        contact=person_name(rng),
        contact_birthday=random_date(rng, date(1965, 1, 1), date(1996, 12, 31)),
        contract_end=contract_end_for(rng),
        tier=profile.tier,
        target=profile.target,
        trend=profile.trend,
        catalog=product_catalog(rng, industry, big),
    )


def build_customers(rng: Random) -> list[Customer]:
    profiles = build_profiles(rng)
    dated = [(start_date_for(rng, p), i, p) for i, p in enumerate(profiles)]
    dated.sort(key=lambda item: (item[0], item[1]))
    taken: set[str] = set()
    customers = [build_customer(rng, p, start, taken) for start, _, p in dated]
    for number, customer in enumerate(customers, start=1):
        customer.customer_id = f"C{number:04d}"
    mark_text_start_dates(rng, customers)
    return customers


def mark_text_start_dates(rng: Random, customers: list[Customer]) -> None:
    chosen = rng.sample(customers, round(len(customers) * 0.1))
    styles = [0] * 14 + [1] * 13 + [2] * 6
    for customer, style in zip(chosen, styles):
        customer.start_text = start_date_text(customer.start, style)


def duplicate_customer(rng: Random, customers: list[Customer]) -> Customer:
    middle = customers[len(customers) // 3: 2 * len(customers) // 3]
    original = rng.choice([c for c in middle if c.tier == "F"])
    taken = {c.name for c in customers}
    twin = build_customer(rng, Profile("F", 0.0), random_date(rng, date(2019, 1, 1), date(2024, 6, 30)), taken)
    twin.customer_id = original.customer_id
    return twin


# ---------------------------------------------------------------- sales

def month_weights(rng: Random, customer: Customer, months: list[date]) -> list[float]:
    weights = []
    last = len(months) - 1
    for index, month in enumerate(months):
        if month_end(month) < customer.start:
            weights.append(0.0)
            continue
        weight = MONTH_SEASONALITY[month.month] * rng.uniform(0.75, 1.25)
        if customer.trend == "growing":
            weight *= math.exp(math.log(4.5) * index / last)
        elif customer.trend in ("declining", "lapsed"):
            weight *= math.exp(-math.log(7.0) * index / last)
        if customer.trend == "lapsed" and month >= QUIET_SINCE:
            weight = 0.0
        if month <= customer.start:
            weight *= (month_end(month) - customer.start).days / month_end(month).day
        weights.append(weight)
    return weights


def order_count(customer: Customer, scale: float) -> int:
    return max(1, round(scale * customer.target**0.6 / 2.1))


def lines_per_order(rng: Random, customer: Customer) -> int:
    return min(len(customer.catalog), rng.choices([1, 2, 3, 4], weights=[40, 30, 18, 12])[0])


def order_date_in(rng: Random, month: date, customer: Customer) -> date:
    first = max(month, customer.start)
    last = min(month_end(month), AS_OF)
    return random_workday(rng, first, last)


def line_for(rng: Random, customer: Customer, amount: float, used: set[str]) -> OrderLine:
    catalog = [(name, price) for name, price in customer.catalog.items() if name not in used]
    fitting = [(n, p) for n, p in catalog if p * 3 <= amount] or [min(catalog, key=lambda item: item[1])]
    name, price = rng.choice(fitting)
    used.add(name)
    quantity = max(1, round(amount / price))
    value = round(quantity * price, 2)
    margin = next(p.margin for p in PRODUCTS if p.name == name)
    cost = round(value * (1 - margin) * rng.uniform(0.97, 1.03), 2)
    return OrderLine(name, quantity, value, cost)


def customer_orders(rng: Random, customer: Customer, months: list[date], scale: float) -> list[Order]:
    """Orders whose monthly revenue follows the month weights, so trends survive few orders."""
    weights = dict(zip(months, month_weights(rng, customer, months)))
    picked_months = sorted(rng.choices(months, weights=list(weights.values()), k=order_count(customer, scale)))
    shapes = [[rng.lognormvariate(0, 0.6) for _ in range(lines_per_order(rng, customer))] for _ in picked_months]
    ordered_weight = sum(weights[m] for m in set(picked_months))
    month_shape: dict[date, float] = {}
    for month, shape in zip(picked_months, shapes):
        month_shape[month] = month_shape.get(month, 0.0) + sum(shape)
    orders = []
    for month, shape in zip(picked_months, shapes):
        month_total = customer.target * weights[month] / ordered_weight
        used: set[str] = set()
        lines = [line_for(rng, customer, month_total * w / month_shape[month], used) for w in shape]
        orders.append(Order(customer.customer_id, order_date_in(rng, month, customer), lines))
    return orders


def build_orders(rng: Random, customers: list[Customer]) -> list[Order]:
    months = month_starts(PERIOD_START, AS_OF)
    ordering = [c for c in customers if c.target > 0]
    expected_lines = sum(order_count(c, 1.0) for c in ordering) * 2.1
    scale = ORDER_LINE_BUDGET / expected_lines
    orders: list[Order] = []
    for customer in ordering:
        orders += customer_orders(rng, customer, months, scale)
    return orders


def bad_order(rng: Random, customer: Customer | None, day: date, defect: str) -> Order:
    product = rng.choice(PRODUCTS[:6])
    quantity = rng.randint(20, 120)
    amount = round(quantity * product.unit_price, 2)
    line = OrderLine(product.name, quantity, amount, round(amount * (1 - product.margin), 2))
    order = Order(customer.customer_id if customer else None, day, [line], defect=defect)
    if defect == "blank_customer":
        order.customer_id = None
    elif defect == "unknown":
        order.customer_id = UNKNOWN_CUSTOMER
    elif defect == "pending_amount":
        order.amount_text = "待确认"
    elif defect == "bad_date":
        order.date_text = BAD_DATE_TEXT
    return order


def plant_sales_defects(rng: Random, orders: list[Order], customers: list[Customer]) -> None:
    hosts = [c for c in customers if c.tier == "F" and c.start < date(2024, 6, 1)]
    plan = [
        (date(2025, 2, 18), "blank_customer"),
        (date(2025, 5, 13), "pending_amount"),
        (date(2025, 8, 20), "unknown"),
        (date(2025, 12, 16), "bad_date"),
        (date(2026, 3, 11), "blank_customer"),
        (date(2026, 6, 17), "pending_amount"),
        (date(2026, 9, 9), "unknown"),
    ]
    for day, defect in plan:
        orders.append(bad_order(rng, rng.choice(hosts), day, defect))


def number_orders(rng: Random, orders: list[Order]) -> None:
    keyed = [(o.order_date, o.customer_id or "", rng.random(), i) for i, o in enumerate(orders)]
    keyed.sort()
    ordered = [orders[item[3]] for item in keyed]
    sequence: dict[tuple[int, int], int] = {}
    for order in ordered:
        key = (order.order_date.year, order.order_date.month)
        sequence[key] = sequence.get(key, 0) + 1
        order.number = f"SO{key[0]}{key[1]:02d}{sequence[key]:04d}"
    orders[:] = ordered


def money_text(rng: Random, amount: float) -> str:
    return f"¥{amount:,.2f}" if rng.random() < 0.5 else f"{amount:,.2f}"


def sales_rows(rng: Random, orders: list[Order]) -> tuple[list[list], list[PlantedRow]]:
    rows: list[list] = []
    planted: list[PlantedRow] = []
    for order in orders:
        for line in order.lines:
            excel_row = len(rows) + 2
            amount: object = line.amount
            if order.amount_text:
                amount = order.amount_text
            elif order.defect is None and rng.random() < 0.02:
                amount = money_text(rng, line.amount)
            day: object = order.date_text or order.order_date
            rows.append([order.number, order.customer_id, day, line.product, line.quantity, amount, line.cost])
            if order.defect:
                planted.append(sales_plant(order, excel_row))
    return rows, planted


def sales_plant(order: Order, excel_row: int) -> PlantedRow:
    described = {
        "blank_customer": ("B", "客户编号为空"),
        "pending_amount": ("F", "金额为文本“待确认”"),
        "unknown": ("B", f"未知客户 {UNKNOWN_CUSTOMER}"),
        "bad_date": ("C", f"下单日期为不存在的日期“{BAD_DATE_TEXT}”"),
    }
    column, text = described[order.defect]
    return PlantedRow("销售明细", excel_row, column, text)


def monthly_revenue(orders: list[Order]) -> dict[tuple[str, date], list[Order]]:
    grouped: dict[tuple[str, date], list[Order]] = {}
    for order in orders:
        if order.defect:
            continue
        month = date(order.order_date.year, order.order_date.month, 1)
        grouped.setdefault((order.customer_id, month), []).append(order)
    return grouped


# ---------------------------------------------------------------- receivables

def invoiced_customers(rng: Random, customers: list[Customer]) -> dict[str, Customer]:
    chosen = {}
    for customer in customers:
        if customer.settlement == "月结" or rng.random() < 0.25:
            chosen[customer.customer_id] = customer
    return chosen


def build_invoices(rng: Random, customers: list[Customer], orders: list[Order]) -> list[Invoice]:
    billed = invoiced_customers(rng, customers)
    terms = {cid: rng.choice([30, 60]) for cid in billed}
    invoices = []
    for (cid, month), month_orders in monthly_revenue(orders).items():
        if cid not in billed or month < YEAR_TWO_START:
            continue
        total = round(sum(line.amount for o in month_orders for line in o.lines), 2)
        if billed[cid].settlement == "月结":
            issued = month_end(month)
            due = issued + timedelta(days=30)
        else:
            issued = max(o.order_date for o in month_orders)
            due = issued + timedelta(days=terms[cid])
        invoices.append(Invoice(cid, issued, due, total))
    invoices.sort(key=lambda inv: (inv.issued, inv.customer_id))
    sequence: dict[tuple[int, int], int] = {}
    for invoice in invoices:
        key = (invoice.issued.year, invoice.issued.month)
        sequence[key] = sequence.get(key, 0) + 1
        invoice.number = f"FP{key[0]}{key[1]:02d}{sequence[key]:04d}"
    return invoices


def overdue_window(invoice: Invoice) -> bool:
    return AS_OF - timedelta(days=200) <= invoice.due <= AS_OF - timedelta(days=10)


def leave_unpaid(rng: Random, invoice: Invoice) -> None:
    invoice.received = 0.0 if rng.random() < 0.5 else None
    invoice.received_on = None


def leave_partly_paid(rng: Random, invoice: Invoice, remaining: float) -> None:
    invoice.received = round(invoice.amount - remaining, 2)
    invoice.received_on = random_date(rng, invoice.issued, min(invoice.due, AS_OF))


def pay_normally(rng: Random, invoice: Invoice) -> None:
    if invoice.due >= AS_OF:
        if rng.random() < 0.25:
            invoice.received = invoice.amount
            invoice.received_on = random_date(rng, invoice.issued, AS_OF)
        else:
            leave_unpaid(rng, invoice)
        return
    invoice.received = invoice.amount
    late = invoice.due + timedelta(days=rng.randint(3, 50))
    if rng.random() < 0.15 and late <= AS_OF:
        invoice.received_on = late
    else:
        earliest = max(invoice.issued, invoice.due - timedelta(days=25))
        invoice.received_on = random_date(rng, earliest, invoice.due)


def choose_overdue(rng: Random, customers: list[Customer], invoices: list[Invoice]) -> dict[str, str]:
    """Customer id -> overdue pattern: lapsed, large, medium or small."""
    by_id = {c.customer_id: c for c in customers}
    eligible: dict[str, list[Invoice]] = {}
    for invoice in invoices:
        if overdue_window(invoice):
            eligible.setdefault(invoice.customer_id, []).append(invoice)
    monthly = [cid for cid in eligible if by_id[cid].settlement == "月结"]
    patterns: dict[str, str] = {}
    lapsed = [cid for cid in eligible if by_id[cid].trend in ("lapsed", "declining")]
    for cid in rng.sample(lapsed, min(4, len(lapsed))):
        patterns[cid] = "lapsed"
    large = [cid for cid in monthly if cid not in patterns and max(i.amount for i in eligible[cid]) > 12_000
             and by_id[cid].tier in ("B", "C", "D", "E")]
    for cid in rng.sample(large, 5):
        patterns[cid] = "large"
    medium = [cid for cid in monthly if cid not in patterns and max(i.amount for i in eligible[cid]) >= 6_000]
    for cid in rng.sample(medium, 7):
        patterns[cid] = "medium"
    rest = [cid for cid in eligible if cid not in patterns]
    for cid in rng.sample(rest, 25 - len(patterns)):
        patterns[cid] = "small"
    return patterns


def settle_invoices(rng: Random, customers: list[Customer], invoices: list[Invoice]) -> dict[str, str]:
    patterns = choose_overdue(rng, customers, invoices)
    open_invoices = pick_open_invoices(rng, invoices, patterns)
    for invoice in invoices:
        plan = open_invoices.get(invoice.number)
        if plan is None:
            pay_normally(rng, invoice)
        elif plan == "unpaid":
            leave_unpaid(rng, invoice)
        else:
            leave_partly_paid(rng, invoice, plan)
    return patterns


def pick_open_invoices(rng: Random, invoices: list[Invoice], patterns: dict[str, str]) -> dict[str, object]:
    """Invoice number -> "unpaid" or the amount left open after a part payment."""
    eligible: dict[str, list[Invoice]] = {}
    for invoice in invoices:
        if invoice.customer_id in patterns and overdue_window(invoice):
            eligible.setdefault(invoice.customer_id, []).append(invoice)
    plans: dict[str, object] = {}
    for cid, pattern in patterns.items():
        candidates = eligible[cid]
        if pattern in ("lapsed", "large"):
            big = [i for i in candidates if i.amount > 12_000] if pattern == "large" else candidates
            for invoice in big[-rng.randint(1, 2):]:
                plans[invoice.number] = "unpaid"
        elif pattern == "medium":
            invoice = rng.choice([i for i in candidates if i.amount >= 6_000])
            if invoice.amount <= 10_000:
                plans[invoice.number] = "unpaid"
            else:
                plans[invoice.number] = round(rng.uniform(5_500, 9_500), 2)
        else:
            invoice = rng.choice(candidates)
            if invoice.amount < 5_000:
                plans[invoice.number] = "unpaid"
            else:
                plans[invoice.number] = round(rng.uniform(800, 4_500), 2)
    return plans


# ---------------------------------------------------------------- complaints and visits

def last_order_dates(orders: list[Order]) -> dict[str, date]:
    last: dict[str, date] = {}
    for order in orders:
        if order.defect is None and order.order_date > last.get(order.customer_id, date.min):
            last[order.customer_id] = order.order_date
    return last


def complaint_counts(rng: Random, customers: list[Customer], last: dict[str, date]) -> dict[str, int]:
    active = [c for c in customers if c.customer_id in last]
    counts: dict[str, int] = {}
    troubled = [c for c in active if c.trend in ("declining", "lapsed")]
    for customer in rng.sample(troubled, 7):
        counts[customer.customer_id] = rng.randint(5, 9)
    big = [c for c in active if c.tier in BIG_TIERS and c.customer_id not in counts]
    for customer in rng.sample(big, 10):
        counts[customer.customer_id] = rng.randint(2, 5)
    others = [c for c in active if c.customer_id not in counts]
    weights = [math.sqrt(c.target) for c in others]
    while sum(counts.values()) < 150:
        customer = rng.choices(others, weights=weights)[0]
        counts[customer.customer_id] = counts.get(customer.customer_id, 0) + 1
    return counts


def build_complaints(rng: Random, customers: list[Customer], orders: list[Order]) -> list[Complaint]:
    last = last_order_dates(orders)
    by_id = {c.customer_id: c for c in customers}
    complaints = []
    for cid, count in complaint_counts(rng, customers, last).items():
        customer = by_id[cid]
        first = max(customer.start, PERIOD_START)
        final = min(AS_OF, last[cid] + timedelta(days=30))
        troubled = customer.trend in ("declining", "lapsed")
        for _ in range(count):
            raised = random_workday(rng, first, final)
            severity = rng.choices(["高", "中", "低"], weights=[40, 40, 20] if troubled else [15, 45, 40])[0]
            recent = (AS_OF - raised).days <= 45
            status = "处理中" if rng.random() < (0.7 if recent else 0.04) else "已解决"
            complaints.append(Complaint(cid, raised, weighted_choice(rng, COMPLAINT_CATEGORIES), severity, status))
    complaints.sort(key=lambda c: (c.raised, c.customer_id))
    sequence: dict[int, int] = {}
    for complaint in complaints:
        sequence[complaint.raised.year] = sequence.get(complaint.raised.year, 0) + 1
        complaint.number = f"TS{complaint.raised.year}{sequence[complaint.raised.year]:04d}"
    return complaints


def visit_rate(rng: Random, customer: Customer) -> float:
    if customer.tier in BIG_TIERS:
        return 0.85
    if customer.tier == "D":
        return 0.45
    if customer.tier == "E":
        return 0.18
    return 0.0 if rng.random() < 0.3 else 0.06


def visit_note(rng: Random, customer: Customer, day: date, context: dict) -> str:
    if customer.customer_id in context["overdue"] and day >= date(2026, 5, 1) and rng.random() < 0.5:
        return OVERDUE_NOTE
    if customer.customer_id in context["complained"] and rng.random() < 0.15:
        return COMPLAINT_NOTE
    if customer.trend == "lapsed" and day >= QUIET_SINCE:
        return rng.choice(LAPSED_NOTES)
    return rng.choice(VISIT_NOTES)


def build_visits(rng: Random, customers: list[Customer], context: dict) -> tuple[list[Visit], list[str]]:
    months = month_starts(PERIOD_START, AS_OF)
    big = [c for c in customers if c.tier in BIG_TIERS and c.start < date(2024, 1, 1)]
    neglected = {c.customer_id for c in rng.sample(big, 3)}
    visits = []
    for customer in customers:
        rate = visit_rate(rng, customer)
        for month in months:
            if month_end(month) < customer.start or rng.random() >= rate:
                continue
            if customer.customer_id in neglected and month >= QUIET_SINCE:
                continue
            day = random_workday(rng, max(month, customer.start), min(month_end(month), AS_OF))
            manager = customer.manager if rng.random() < 0.9 else rng.choice(MANAGERS)
            visits.append(Visit(customer.customer_id, day, weighted_choice(rng, VISIT_MODES), manager,
                                visit_note(rng, customer, day, context)))
    visits.sort(key=lambda v: (v.visited, v.customer_id))
    return visits, sorted(neglected)


# ---------------------------------------------------------------- workbook

def write_table(ws, header: list[str], rows: list[list], header_row: int, formats: dict[int, str]) -> None:
    for column, title in enumerate(header, start=1):
        cell = ws.cell(header_row, column, title)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for offset, values in enumerate(rows, start=1):
        for column, value in enumerate(values, start=1):
            cell = ws.cell(header_row + offset, column, value)
            if column in formats and isinstance(value, (int, float, date)):
                cell.number_format = formats[column]
    ws.freeze_panes = ws.cell(header_row + 1, 1)


def write_title(ws, title: str, width: int, size: int) -> None:
    ws.cell(1, 1, title).font = Font(bold=True, size=size)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)


def set_widths(ws, widths: list[float]) -> None:
    for column, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(column)].width = width


def customer_row(customer: Customer) -> list:
    return [customer.customer_id, customer.name, customer.industry, customer.region, customer.manager,
            customer.start_text or customer.start, customer.settlement, customer.contact,
            customer.contact_birthday, customer.contract_end]


def write_customers(wb: Workbook, customers: list[Customer], twin: Customer) -> PlantedRow:
    ws = wb.active
    ws.title = "客户档案"
    header = ["客户编号", "客户名称", "行业", "地区", "客户经理", "合作开始日期", "结算方式",
              "联系人", "联系人生日", "合同到期日"]
    write_title(ws, "客户档案（截至2026年10月31日）", len(header), 16)
    rows = [customer_row(c) for c in customers]
    position = len(rows) - 3
    rows.insert(position, customer_row(twin))
    write_table(ws, header, rows, 3, {6: DATE_FORMAT, 9: DATE_FORMAT, 10: DATE_FORMAT})
    set_widths(ws, [10, 34, 10, 8, 10, 20, 10, 10, 12, 12])
    return PlantedRow("客户档案", 4 + position, "A", f"客户编号 {twin.customer_id} 重复（名称不同）")


def write_sales(wb: Workbook, rows: list[list]) -> None:
    ws = wb.create_sheet("销售明细")
    header = ["订单编号", "客户编号", "下单日期", "产品", "数量", "金额", "成本"]
    write_table(ws, header, rows, 1, {3: DATE_FORMAT, 6: MONEY_FORMAT, 7: MONEY_FORMAT})
    set_widths(ws, [16, 10, 12, 18, 8, 14, 14])


def write_invoices(wb: Workbook, invoices: list[Invoice]) -> None:
    ws = wb.create_sheet("应收账款")
    header = ["发票号", "客户编号", "开票日期", "到期日", "金额", "已收金额", "收款日期"]
    rows = [[i.number, i.customer_id, i.issued, i.due, i.amount, i.received, i.received_on] for i in invoices]
    formats = {3: DATE_FORMAT, 4: DATE_FORMAT, 5: MONEY_FORMAT, 6: MONEY_FORMAT, 7: DATE_FORMAT}
    write_table(ws, header, rows, 1, formats)
    set_widths(ws, [16, 10, 12, 12, 14, 14, 12])


def write_complaints(wb: Workbook, complaints: list[Complaint]) -> None:
    ws = wb.create_sheet("投诉记录")
    header = ["投诉编号", "客户编号", "投诉日期", "类别", "严重程度", "状态"]
    write_title(ws, "投诉记录", len(header), 14)
    rows = [[c.number, c.customer_id, c.raised, c.category, c.severity, c.status] for c in complaints]
    write_table(ws, header, rows, 2, {3: DATE_FORMAT})
    set_widths(ws, [12, 10, 12, 8, 10, 10])


def satisfaction_scores(visits: list[Visit], trends: dict[str, str]) -> list[int | None]:
    """满意度 1-5 after most visits (phone calls often unscored); unhappier for declining accounts.

    Drawn from its own seeded generator so adding the column left every other sheet unchanged.
    """
    rng = Random(f"{SEED}-satisfaction")
    scores = []
    for visit in visits:
        if visit.mode == "电话" and rng.random() < 0.6:
            scores.append(None)
            continue
        mean = 3.2 if trends.get(visit.customer_id) in ("declining", "lapsed") else 4.4
        scores.append(min(5, max(1, round(rng.gauss(mean, 0.7)))))
    return scores


def write_visits(wb: Workbook, visits: list[Visit], trends: dict[str, str]) -> None:
    ws = wb.create_sheet("拜访记录")
    header = ["客户编号", "拜访日期", "拜访方式", "客户经理", "备注", "满意度"]
    rows = [[v.customer_id, v.visited, v.mode, v.manager, v.note, score]
            for v, score in zip(visits, satisfaction_scores(visits, trends))]
    write_table(ws, header, rows, 1, {2: DATE_FORMAT})
    set_widths(ws, [10, 12, 12, 10, 30, 8])


def fix_properties(wb: Workbook) -> None:
    wb.properties.creator = "kamrules"
    wb.properties.lastModifiedBy = "kamrules"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME


def workbook_bytes(wb: Workbook) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
    return with_fixed_timestamps(raw.getvalue())


def with_fixed_timestamps(data: bytes) -> bytes:
    fixed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, source.read(info.filename))
    return fixed.getvalue()


def write_atomically(data: bytes, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=out.parent, prefix=".make_sample-", suffix=".xlsx")
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, out)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- summary

def revenue_by_customer(orders: list[Order]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for order in orders:
        if order.defect is None:
            totals[order.customer_id] = totals.get(order.customer_id, 0.0) + sum(l.amount for l in order.lines)
    return totals


def revenue_brackets(customers: list[Customer], totals: dict[str, float]) -> list[tuple[str, int]]:
    edges = [("≥150万", 1_500_000, math.inf), ("100万-150万", 1_000_000, 1_500_000),
             ("80万-100万", 800_000, 1_000_000), ("50万-80万", 500_000, 800_000),
             ("15万-50万", 150_000, 500_000), ("<15万", 0.01, 150_000)]
    counts = [(label, sum(1 for v in totals.values() if low <= v < high)) for label, low, high in edges]
    counts.append(("无订单", sum(1 for c in customers if c.customer_id not in totals)))
    return counts


def print_summary(out: Path, sheets: dict[str, int], brackets, planted: list[PlantedRow], notes: list[str]) -> None:
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    for name, count in sheets.items():
        print(f"  {name}: {count} data rows")
    print("  revenue brackets (24 months): " + ", ".join(f"{label} {n}" for label, n in brackets))
    for note in notes:
        print(f"  {note}")
    print("planted bad rows:")
    for plant in planted:
        print(f"  {plant.sheet} row {plant.row} column {plant.column}: {plant.description}")


def trend_notes(customers: list[Customer], orders: list[Order], patterns: dict[str, str],
                neglected: list[str]) -> list[str]:
    first: dict[str, float] = {}
    second: dict[str, float] = {}
    for order in orders:
        if order.defect is None:
            bucket = second if order.order_date >= YEAR_TWO_START else first
            bucket[order.customer_id] = bucket.get(order.customer_id, 0.0) + sum(l.amount for l in order.lines)
    notes = []
    for trend in ("growing", "declining", "lapsed", "churned", "returning"):
        ids = [c.customer_id for c in customers if c.trend == trend]
        ratios = ", ".join(f"{cid} {second.get(cid, 0.0) / first[cid]:.2f}" if first.get(cid) else f"{cid} -"
                           for cid in ids)
        notes.append(f"{trend} (year 2 / year 1): {ratios}")
    notes.append("overdue customers: " + ", ".join(f"{cid} {p}" for cid, p in patterns.items()))
    notes.append("big customers not visited since 2026-07-01: " + ", ".join(neglected))
    recent = [c.customer_id for c in customers if c.start > AS_OF - timedelta(days=365) and c.tier in BIG_TIERS]
    notes.append("top-30 customers that started within the last year: " + ", ".join(recent))
    return notes


# ---------------------------------------------------------------- churn and return

CHURN_SHARE, RETURN_SHARE = 0.25, 0.10
CHURN_TIERS = ("E", "F")  # small and mid-sized accounts; the big ones keep their trends
CHURN_FROM, CHURN_TO = date(2025, 3, 1), date(2026, 8, 31)


def churn_and_return(customers: list[Customer], orders: list[Order], rows: list[list], planted: list[PlantedRow],
                     invoices: list[Invoice], keep: set[str]) -> tuple[list[list], list[Invoice]]:
    """Small customers that stop buying (churned) or pause for four to eight months and come back
    (returning), as real small accounts do. Applied last, with a generator of its own, so the
    customers, the big accounts, the planted rows, the overdue invoices and the complaints stay as
    they were; the churned customers' later orders and invoices are taken out, and the planted
    rows' numbers follow. ``keep``: customers left alone (overdue, complained about)."""
    rng = Random(SEED + 1)
    by_customer: dict[str, list[Order]] = {}
    for order in orders:
        if order.defect is None:
            by_customer.setdefault(order.customer_id, []).append(order)
    candidates = [c for c in customers if c.tier in CHURN_TIERS and c.trend == "steady" and c.customer_id not in keep
                  and c.start <= date(2025, 6, 30) and len(by_customer.get(c.customer_id, [])) >= 4]
    rng.shuffle(candidates)
    churning = candidates[:round(len(candidates) * CHURN_SHARE)]
    returning = candidates[len(churning):len(churning) + round(len(candidates) * RETURN_SHARE)]
    dropped: set[str] = set()
    for customer in churning:
        days = sorted(o.order_date for o in by_customer[customer.customer_id])
        stop = add_months(max(random_date(rng, CHURN_FROM, CHURN_TO), days[1]).replace(day=1), 1)  # whole months
        dropped |= {o.number for o in by_customer[customer.customer_id] if o.order_date >= stop}
        customer.trend = "churned"
    for customer in returning:
        days = sorted(o.order_date for o in by_customer[customer.customer_id])
        if days[1] > date(2025, 12, 31):
            continue  # too new to pause and come back within the ledger
        gap_start = add_months(random_date(rng, max(days[1], date(2025, 1, 1)), date(2025, 12, 31)).replace(day=1), 1)
        gap_end = add_months(gap_start, rng.randint(4, 8))
        if not any(day >= gap_end for day in days):
            continue  # nothing to come back with: left as it was
        dropped |= {o.number for o in by_customer[customer.customer_id] if gap_start <= o.order_date < gap_end}
        customer.trend = "returning"
    kept_rows, moved_to = [], {}  # Excel row before -> after
    for excel_row, row in enumerate(rows, start=2):
        if row[0] not in dropped:
            moved_to[excel_row] = len(kept_rows) + 2
            kept_rows.append(row)
    for i, plant in enumerate(planted):
        if plant.sheet == "销售明细":
            planted[i] = PlantedRow(plant.sheet, moved_to[plant.row], plant.column, plant.description)
    orders[:] = [o for o in orders if o.number not in dropped]
    months = {(o.customer_id, o.order_date.year, o.order_date.month) for o in orders}
    changed = {c.customer_id for c in churning + returning}
    kept_invoices = [i for i in invoices if i.customer_id not in changed
                     or (i.customer_id, i.issued.year, i.issued.month) in months]
    return kept_rows, kept_invoices


# ---------------------------------------------------------------- main

def build_workbook(rng: Random) -> tuple[Workbook, dict]:
    customers = build_customers(rng)
    twin = duplicate_customer(rng, customers)
    orders = build_orders(rng, customers)
    plant_sales_defects(rng, orders, customers)
    number_orders(rng, orders)
    rows, sales_planted = sales_rows(rng, orders)
    invoices = build_invoices(rng, customers, orders)
    patterns = settle_invoices(rng, customers, invoices)
    complaints = build_complaints(rng, customers, orders)
    context = {"overdue": patterns, "complained": {c.customer_id for c in complaints}}
    visits, neglected = build_visits(rng, customers, context)
    rows, invoices = churn_and_return(customers, orders, rows, sales_planted, invoices,
                                      set(patterns) | context["complained"])

    wb = Workbook()
    planted = [write_customers(wb, customers, twin)] + sales_planted
    write_sales(wb, rows)
    write_invoices(wb, invoices)
    write_complaints(wb, complaints)
    write_visits(wb, visits, {c.customer_id: c.trend for c in customers})
    fix_properties(wb)
    report = {
        "sheets": {"客户档案": len(customers) + 1, "销售明细": len(rows), "应收账款": len(invoices),
                   "投诉记录": len(complaints), "拜访记录": len(visits)},
        "brackets": revenue_brackets(customers, revenue_by_customer(orders)),
        "planted": planted,
        "notes": trend_notes(customers, orders, patterns, neglected),
    }
    return wb, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output workbook (default: %(default)s)")
    args = parser.parse_args(argv)
    wb, report = build_workbook(Random(SEED))
    write_atomically(workbook_bytes(wb), args.out)
    print_summary(args.out, report["sheets"], report["brackets"], report["planted"], report["notes"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
