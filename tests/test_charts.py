"""The monthly revenue chart (kamrules/render/charts.py): a PNG of the right size in the brand
colour, the same bytes for the same input, None when there is nothing to draw, month labels and
axis units in the document's language, and ASCII labels (never tofu) without a CJK font."""

from __future__ import annotations

import datetime as dt
import io
import math
import subprocess
import sys
from decimal import Decimal
from types import SimpleNamespace

import pytest
from PIL import Image

from kamrules.render import charts
from kamrules.render.charts import Chart, axis_unit, chart_labels, compact_labels, revenue_chart, tick_text


def months(revenue, previous=None, start=dt.date(2024, 12, 1)) -> list[dict]:
    """Rows as context.monthly_revenue builds them, from ``start`` on, one per value."""
    previous = previous if previous is not None else [v * 0.9 if isinstance(v, float) else v for v in revenue]
    rows, index = [], start.year * 12 + start.month - 1
    for offset, (now, before) in enumerate(zip(revenue, previous)):
        month = dt.date((index + offset) // 12, (index + offset) % 12 + 1, 1)
        rows.append({"month": month, "revenue": now, "revenue_prev_year": before, "growth": None})
    return rows


YEAR = months([float(v) for v in (420_000, 515_000, 380_000, 610_000, 720_000, 505_000,
                                  640_000, 580_000, 830_000, 760_000, 690_000, 910_000)])


def image(chart: Chart) -> Image.Image:
    assert chart.png.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(chart.png)).convert("RGB")


def colours(picture: Image.Image) -> set[tuple[int, int, int]]:
    return {colour for _, colour in picture.getcolors(maxcolors=picture.width * picture.height)}


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (0, 2, 4))


@pytest.fixture
def no_cjk_font(monkeypatch):
    monkeypatch.setattr(charts, "cjk_font", lambda: None)


def needs_cjk_font():
    if charts.cjk_font() is None:
        pytest.skip("no CJK font installed (fonts-noto-cjk)")


# --- the picture ---------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_size_follows_the_width_at_200_dpi_and_an_aspect_of_2_2(lang):
    assert image(revenue_chart(YEAR, lang)).size == (1259, 572)  # 160 mm = 6.30 in × 200 dpi
    assert image(revenue_chart(YEAR, lang, width_mm=100)).size == (787, 357)


def test_bars_are_in_the_brand_colour_and_last_year_in_grey():
    seen = colours(image(revenue_chart(YEAR, "zh")))
    assert rgb("1F4E79") in seen and rgb(charts.GREY[1:]) in seen
    seen = colours(image(revenue_chart(YEAR, "en", brand_color="#c0392b")))
    assert rgb("C0392B") in seen and rgb("1F4E79") not in seen


def test_a_brand_colour_that_is_not_one_falls_back_to_the_default():
    assert rgb("1F4E79") in colours(image(revenue_chart(YEAR, "en", brand_color="red; drop")))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_same_input_gives_the_same_bytes_without_a_software_tag(lang):
    first, second = revenue_chart(YEAR, lang), revenue_chart([dict(row) for row in YEAR], lang)
    assert first.png == second.png
    assert "Software" not in Image.open(io.BytesIO(first.png)).info
    assert revenue_chart(YEAR, lang, brand_color="C0392B").png != first.png


def test_chinese_uses_a_cjk_font_and_english_needs_none():
    needs_cjk_font()
    chinese, english = revenue_chart(YEAR, "zh"), revenue_chart(YEAR, "en")
    assert chinese.font == charts.cjk_font() and not chinese.fallback
    assert english.font is None and not english.fallback


@pytest.mark.parametrize("installed, expected", [
    (["DejaVu Sans", "Noto Serif CJK SC", "SimHei", "Noto Sans CJK SC"], "Noto Sans CJK SC"),
    (["DejaVu Sans", "Noto Serif CJK SC", "SimHei"], "SimHei"),
    (["WenQuanYi Zen Hei", "Noto Serif CJK SC"], "WenQuanYi Zen Hei"),
    (["Noto Sans Mono CJK SC", "Noto Sans CJK KR", "Noto Sans CJK JP"], "Noto Sans Mono CJK SC"),
    (["Noto Sans Mono CJK JP", "Noto Sans CJK KR", "Noto Sans CJK JP"], "Noto Sans CJK JP"),
    (["DejaVu Sans", "Liberation Serif"], None),
])
def test_the_font_lookup_order(monkeypatch, installed, expected):
    from matplotlib import font_manager
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [SimpleNamespace(name=name) for name in installed])
    assert charts.cjk_font.__wrapped__() == expected


def test_the_font_lookup_is_cached():
    charts.cjk_font()
    hits = charts.cjk_font.cache_info().hits
    charts.cjk_font()
    assert charts.cjk_font.cache_info().hits == hits + 1


# --- nothing to draw -------------------------------------------------------------------------

@pytest.mark.parametrize("rows", [
    [],
    months([0.0] * 12, [0.0] * 12),
    months([None] * 12, [math.nan] * 12),
    months([math.inf] * 6 + [0.0] * 6, [-math.inf] * 12),
    [{"month": dt.date(2025, 1, 1)}],
], ids=["empty", "zeros", "none-nan", "infinite", "no-values"])
def test_nothing_to_draw_is_none(rows):
    assert revenue_chart(rows, "zh") is None
    assert revenue_chart(rows, "en") is None


def test_one_month_of_last_year_alone_is_drawn():
    rows = months([0.0] * 12, [0.0] * 11 + [1234.5])
    assert isinstance(revenue_chart(rows, "zh"), Chart)


# --- values that are not plain numbers -------------------------------------------------------

def test_missing_infinite_negative_and_odd_values_never_raise():
    rows = months([None, math.nan, math.inf, -math.inf, -25_000.0, Decimal("12345.6"), "88", True, 10 ** 400,
                   Decimal("NaN"), 1e300, 300_000.0],
                  [50_000.0, None, 1.0, math.nan, 60_000.0, -1.0, 7, False, 0, Decimal("sNaN"), 5.0, 280_000.0])
    rows.append("not a row")
    rows.insert(0, {"revenue": 100.0})  # no month
    for lang in ("zh", "en"):
        chart = revenue_chart(rows, lang)
        assert image(chart).size == (1259, 572)
    # ±∞ and absurd sizes leave the axis alone: 万元 from the 300,000, not from 10^300
    assert axis_unit([math.inf, 1e300, 10 ** 400, 300_000.0, None, math.nan], "zh") == (1e4, "万元")


def test_negative_months_are_drawn_and_count_for_the_unit():
    assert isinstance(revenue_chart(months([-500_000.0] + [0.0] * 11, [0.0] * 12), "zh"), Chart)
    assert axis_unit([-500_000.0, 20.0], "en") == (1e3, "CNY thousands")


def test_an_odd_width_is_brought_within_bounds():
    assert image(revenue_chart(YEAR, "en", width_mm=math.nan)).size == (1259, 572)
    assert image(revenue_chart(YEAR, "en", width_mm=-5)).width == 314  # 40 mm


def test_more_than_twelve_months_draws_the_last_twelve():
    rows = months([float(v) for v in range(1, 25)], start=dt.date(2024, 1, 1))
    assert revenue_chart(rows, "en").png == revenue_chart(rows[-12:], "en").png


# --- words -----------------------------------------------------------------------------------

def test_month_labels_in_the_language():
    rows = months([1.0] * 3, start=dt.date(2025, 11, 1))
    assert chart_labels(rows, "zh") == ["2025年11月", "2025年12月", "2026年1月"]
    assert chart_labels(rows, "zh_CN") == chart_labels(rows, "zh")
    assert chart_labels(rows, "en") == ["Nov 2025", "Dec 2025", "Jan 2026"]
    assert chart_labels(rows, "en_GB") == chart_labels(rows, "en")
    assert chart_labels(rows, "ascii") == ["2025-11", "2025-12", "2026-01"]
    assert chart_labels([{"month": None}, {}, "x", {"month": dt.datetime(2025, 3, 4, 5)}], "en") == \
        ["", "", "", "Mar 2025"]


def test_compact_labels_name_the_year_at_the_start_and_at_each_january():
    rows = months([1.0] * 3, start=dt.date(2025, 11, 1))
    assert compact_labels(rows, "zh") == ["11月\n2025年", "12月", "1月\n2026年"]
    assert compact_labels(rows, "en") == ["Nov\n2025", "Dec", "Jan\n2026"]
    assert compact_labels(rows, "ascii") == ["11\n2025", "12", "01\n2026"]


@pytest.mark.parametrize("values, lang, currency, expected", [
    ([500_000, 1_000_000], "zh", "CNY", (1e4, "万元")),
    ([99_999.0, 5_000.0], "zh", "CNY", (1.0, "元")),
    ([100_000.0], "zh", "CNY", (1e4, "万元")),
    ([2.5e9], "zh", "CNY", (1e8, "亿元")),
    ([500_000.0], "zh", "HKD", (1e4, "万港元")),
    ([500.0], "zh", "USD", (1.0, "美元")),
    ([500_000.0], "zh", "XYZ", (1e4, "万XYZ")),
    ([500_000, 1_000_000], "en", "CNY", (1e3, "CNY thousands")),
    ([99_999.0], "en", "CNY", (1.0, "CNY")),
    ([250_000_000.0], "en", "CNY", (1e6, "CNY millions")),
    ([750_000.0], "en", "gbp", (1e3, "GBP thousands")),
    ([], "zh", "CNY", (1.0, "元")),
])
def test_axis_unit(values, lang, currency, expected):
    assert axis_unit(values, lang, currency) == expected


@pytest.mark.parametrize("value, text", [
    (0.0, "0"), (-0.0, "0"), (50.0, "50"), (1250.0, "1,250"), (2.5, "2.5"), (100_000.0, "100,000"),
    (-50.0, "-50"), (0.25, "0.25"), (1e-12, "0"),
])
def test_ticks_have_thousands_separators_and_no_needless_decimals(value, text):
    assert tick_text(value) == text


# --- without a CJK font ----------------------------------------------------------------------

def test_without_a_cjk_font_chinese_falls_back_to_ascii_and_says_so(no_cjk_font):
    chart = revenue_chart(YEAR, "zh")
    assert chart.fallback and chart.font is None
    assert image(chart).size == (1259, 572)
    assert rgb("1F4E79") in colours(image(chart))
    # the ASCII chart: the English words and ISO months, whatever lang asked for
    assert chart.png == revenue_chart(YEAR, "zh").png


def test_without_a_cjk_font_english_is_unaffected(no_cjk_font):
    chart = revenue_chart(YEAR, "en")
    assert not chart.fallback and chart.font is None


def test_the_fallback_draws_no_chinese(monkeypatch, no_cjk_font):
    drawn = {}
    original = charts._draw

    def spy(this_year, last_year, labels, words, unit, *rest):
        drawn["texts"] = [*labels[0], *labels[1], *words.values(), unit]
        return original(this_year, last_year, labels, words, unit, *rest)

    monkeypatch.setattr(charts, "_draw", spy)
    charts._drawn.cache_clear()
    revenue_chart(YEAR, "zh")
    assert all(text.isascii() for text in drawn["texts"])
    assert "2024-12" in drawn["texts"] and "This year" in drawn["texts"] and "CNY thousands" in drawn["texts"]


# --- cost ------------------------------------------------------------------------------------

def test_a_customers_chart_is_drawn_once_for_both_documents(monkeypatch):
    """The proposal and the account plan of a customer show the same figure: drawn once."""
    calls = []
    original = charts._draw

    def counting(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(charts, "_draw", counting)
    charts._drawn.cache_clear()
    first, second = revenue_chart(YEAR, "zh"), revenue_chart(YEAR, "zh")
    assert first.png == second.png and len(calls) == 1
    other = [dict(row, revenue=row["revenue"] * 2) for row in YEAR]
    assert revenue_chart(other, "zh").png != first.png and len(calls) == 2


def test_importing_the_module_does_not_import_matplotlib():
    code = "import sys, kamrules.render.charts; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
