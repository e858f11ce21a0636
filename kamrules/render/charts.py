"""Pictures where people would rather look than read: a customer's monthly revenue as a PNG.

:func:`revenue_chart` draws the 12 months of ``monthly`` (what :func:`.context.monthly_revenue`
builds: ``month``, ``revenue``, ``revenue_prev_year``, ``growth``) as grouped bars: each month
last year's revenue (grey, left) beside this year's (the brand colour, right). Below the bars the
month labels the documents use (``2025年11月`` / ``Nov 2025``, :func:`chart_labels`, from
:func:`.context.month_label`); when they do not fit side by side (12 of them at 160 mm do not),
in two lines, the year only under the first month and each January (``11月`` / ``2025年``,
:func:`compact_labels`). Above the plot, left, the unit of the y axis; right, the legend
(本期 / 去年同期, This year / Last year). No title (the document's heading names the chart), a
light horizontal grid whose top line lies just above the highest bar, no frame but the base line
at 0, no value labels (the table beside it has the figures).

The unit of the y axis (:func:`axis_unit`) is what a finance reader expects of a table:
  - Chinese: ``元`` below 100,000 (ticks ``0``, ``20,000``, ``40,000``), ``万元`` from 100,000
    (ticks ``0``, ``50``, ``100``), ``亿元`` from 10亿; another currency is named the Chinese way
    (``万港元``, ``万美元``), as the ``wan`` filter names it.
  - English: the ISO code, ``CNY`` below 100,000, ``CNY thousands`` from 100,000, ``CNY millions``
    from 100 million, as an annual report labels its columns.
  Ticks always carry thousands separators and no needless decimals (``2.5``, never ``2.50``).

Values: None, NaN and what is not a number count as 0; ±∞ (and anything beyond 10^15, which no
monthly revenue reaches) is left out (drawn as no bar, ignored by the axis); negative months
(returns) are drawn below the base line. It never raises on data. Nothing to draw (no month
with revenue in either year) returns None: the template then shows only its table.

Fonts: Chinese needs a CJK font, looked up once (:func:`cjk_font`) among the fonts matplotlib
knows, in the order of :data:`CJK_FONTS`, then any font named ``…CJK…``. Without one the chart
is still drawn, never with tofu boxes: with ASCII labels only (months ``2025-11``, the English
legend and unit), and :attr:`Chart.fallback` says so.

Output: width ``width_mm`` (the document inserts it at that width, so the 7-point type prints at
7 points), height width / 2.2, 200 dpi: 160 mm → 1259 × 572 px. The same input gives the same
bytes (no software tag, no timestamp in the PNG). matplotlib is imported inside the function,
so ``import kamrules`` does not pay for it; the figure is drawn on its own Agg canvas (no pyplot
state), and the backend is set to Agg only when pyplot has not been loaded by someone else
(switching it then would close their figures).

Measured (this machine, Python 3, matplotlib 3.11, Noto Sans CJK SC, font cache built): ``import
kamrules`` 26 ms, unchanged (it does not import render); this module 3 ms beyond
:mod:`.context`, which it needs for the month labels; matplotlib's import on the first chart
0.29 s; then 0.11 s a chart (0.10–0.17 s, zh or en alike). The very first use of matplotlib on a
machine builds its font cache once (several seconds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import os
import sys
import time
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..files import write_replacing
from ..i18n import choose
from ..ledger.cache import ABANDONED_SECONDS, KEEP_DAYS
from .context import month_label

#: CJK fonts to prefer, best first; after them any font whose name contains "CJK".
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Microsoft YaHei", "SimHei",
             "PingFang SC", "WenQuanYi Zen Hei", "Noto Serif CJK SC")
LATIN_FONT = "DejaVu Sans"  # bundled with matplotlib: always there
GREY = "#B4B4B4"
GRID = "#E3E3E3"
INK = "#404040"
DPI = 200
ASPECT = 2.2  # width : height
FONT_SIZE = 7.0  # points, at the printed width
LARGEST = 1e15  # beyond this a monthly revenue is an error in the data: not drawn

WORDS = {
    "zh": {"this": "本期", "last": "去年同期"},
    "en": {"this": "This year", "last": "Last year"},
}


@dataclass(frozen=True)
class Chart:
    """A drawn chart: the PNG, the CJK font it used (None when none was needed or none was found)
    and whether Chinese labels were replaced by ASCII ones for lack of a font."""
    png: bytes
    font: str | None
    fallback: bool


def _lang(lang: str | None) -> str:
    return choose(lang or "zh")


def _value(value: Any) -> float | None:
    """A bar's height: None/NaN/not a number → 0; ±∞ and absurd sizes → None (not drawn)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return 0.0
    try:
        number = float(value)
    except (OverflowError, ValueError, ArithmeticError):  # a huge int, a signalling Decimal NaN
        return None if not isinstance(value, Decimal) or not value.is_nan() else 0.0
    if math.isnan(number):
        return 0.0
    return number if abs(number) <= LARGEST else None


def _series(monthly: list[dict], key: str) -> list[float | None]:
    return [_value(row.get(key)) if isinstance(row, dict) else 0.0 for row in monthly]


def chart_labels(monthly: list[dict], lang: str) -> list[str]:
    """The month under each pair of bars: ``2025年11月`` (zh), ``Nov 2025`` (en), ``2025-11``
    (``lang="ascii"``: the labels without a CJK font); a row without a date gets an empty label."""
    labels = []
    for row in monthly:
        month = _month(row)
        if month is None:
            labels.append("")
        elif lang == "ascii":
            labels.append(f"{month.year:04d}-{month.month:02d}")
        else:
            labels.append(month_label(month, "zh_CN" if _lang(lang) == "zh" else "en"))
    return labels


def _month(row: Any) -> dt.date | None:
    month = row.get("month") if isinstance(row, dict) else None
    if isinstance(month, dt.datetime):
        month = month.date()
    return month if isinstance(month, dt.date) else None


def compact_labels(monthly: list[dict], lang: str) -> list[str]:
    """The labels in two lines, for when :func:`chart_labels` do not fit side by side: the month
    (``11月``, ``Nov``, ``11``), and below it the year at the first month and at each January."""
    labels, year = [], None
    for row in monthly:
        month = _month(row)
        if month is None:
            labels.append("")
            continue
        if lang == "ascii":
            short, long = f"{month.month:02d}", f"{month.year:04d}"
        else:
            from babel.dates import format_skeleton
            locale = "zh_CN" if _lang(lang) == "zh" else "en"
            short, long = format_skeleton("MMM", month, locale=locale), format_skeleton("y", month, locale=locale)
        labels.append(short if month.year == year else f"{short}\n{long}")
        year = month.year
    return labels


def _currency_name(currency: str) -> str:
    """The currency in Chinese words: 元 for CNY, 港元, 美元 …; the code itself when babel does not know it."""
    if currency == "CNY":
        return "元"
    try:
        from babel.numbers import get_currency_name
        return get_currency_name(currency, locale="zh_CN")
    except Exception:  # an unknown or malformed code: name it as given
        return currency


def axis_unit(values, lang: str, currency: str = "CNY") -> tuple[float, str]:
    """``(divisor, label)`` of the y axis for these values: ticks show value / divisor.

    Chinese: ``(1, "元")`` below 100,000, ``(10_000, "万元")`` below 10亿, else ``(1e8, "亿元")``
    (other currencies in their Chinese name: ``万港元``). English: ``(1, "CNY")`` below 100,000,
    ``(1000, "CNY thousands")`` below 100 million, else ``(1e6, "CNY millions")``."""
    heights = [_value(v) for v in values]
    largest = max((abs(h) for h in heights if h is not None), default=0.0)
    code = str(currency or "CNY").strip().upper() or "CNY"
    if _lang(lang) == "zh":
        name = _currency_name(code)
        if largest >= 1e9:
            return 1e8, "亿" + name
        if largest >= 1e5:
            return 1e4, "万" + name
        return 1.0, name
    if largest >= 1e8:
        return 1e6, f"{code} millions"
    if largest >= 1e5:
        return 1e3, f"{code} thousands"
    return 1.0, code


def tick_text(value: float) -> str:
    """A tick: thousands separators, no needless decimals (``1,250``, ``2.5``, ``-50``)."""
    if abs(value - round(value)) < 1e-9 * max(1.0, abs(value)):
        whole = round(value)
        return f"{whole:,}" if whole else "0"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of the CJK font to draw Chinese with (see :data:`CJK_FONTS`), None when there is none."""
    from matplotlib import font_manager

    names = {entry.name for entry in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    others = sorted((name for name in names if "CJK" in name.upper()),
                    key=lambda name: ("SC" not in name, "MONO" in name.upper(), name))
    return others[0] if others else None


def _ascii(text: str) -> str:
    return "".join(char for char in text if char.isascii()).strip()


def revenue_chart(monthly: list[dict], lang: str, currency: str = "CNY", width_mm: float = 160,
                  brand_color: str = "1F4E79") -> Chart | None:
    """A PNG of the last 12 rows of ``monthly``: this year's revenue beside the same month a year
    earlier; None when no month has revenue in either year. See the module's notes."""
    rows = list(monthly or [])[-12:]
    this_year, last_year = _series(rows, "revenue"), _series(rows, "revenue_prev_year")
    if not any(h for h in this_year + last_year):  # all 0 or not drawable
        return None
    lang = _lang(lang)
    divisor, unit = axis_unit(this_year + last_year, lang, currency)
    words, labels, compact = WORDS[lang], chart_labels(rows, lang), compact_labels(rows, lang)
    font, fallback = None, False
    if not all(text.isascii() for text in (unit, *words.values(), *labels, *compact)):
        font = cjk_font()
        if font is None:
            fallback = True
            divisor, unit = axis_unit(this_year + last_year, "en", currency)
            unit = _ascii(unit) or "CNY"
            words, labels, compact = WORDS["en"], chart_labels(rows, "ascii"), compact_labels(rows, "ascii")
    png = _kept((tuple(this_year), tuple(last_year), (tuple(labels), tuple(compact)), tuple(words.items()), unit,
                 divisor, font, _color(brand_color), _width_mm(width_mm)))
    return Chart(png=png, font=font, fallback=fallback)


#: A folder where drawn charts are kept across runs (the run sets the project's ``.kamrules/charts``):
#: a run after a rule change draws none of the charts again, their data being the same.
CHART_STORE: ContextVar[Path | None] = ContextVar("chart_store", default=None)


def _kept(drawing: tuple) -> bytes:
    """The chart of ``drawing`` (:func:`_drawn`'s arguments), read back from :data:`CHART_STORE` when
    it was drawn before. A kept chart is named by the SHA-256 of its arguments, the drawing code
    and matplotlib's version, and begins with the SHA-256 of its PNG: a damaged one is drawn again."""
    folder = CHART_STORE.get()
    if folder is None:
        return _drawn(*drawing)
    path = folder / f"{_chart_key(drawing)}.chart"
    try:
        stored = path.read_bytes()
        if hashlib.sha256(stored[32:]).digest() == stored[:32]:
            os.utime(path)
            return stored[32:]
    except OSError:
        pass
    png = _drawn(*drawing)
    try:
        write_replacing(path, hashlib.sha256(png).digest() + png)
    except OSError:  # not kept: drawn again next time
        pass
    return png


@lru_cache(maxsize=1)
def _drawing_code() -> str:
    from importlib.metadata import version

    return hashlib.sha256(Path(__file__).read_bytes() + version("matplotlib").encode()).hexdigest()


def _chart_key(drawing: tuple) -> str:
    return hashlib.sha256(f"{_drawing_code()}:{drawing!r}".encode()).hexdigest()[:40]


def prune_charts(folder: Path, now: float | None = None) -> int:
    """Remove kept charts no run has used for :data:`KEEP_DAYS`; how many were removed."""
    now = time.time() if now is None else now
    removed = 0
    try:
        kept = list(folder.iterdir())
    except OSError:
        return 0
    for path in kept:
        try:
            old = now - path.stat().st_mtime > (KEEP_DAYS * 86400 if path.suffix == ".chart" else ABANDONED_SECONDS)
            if old and path.is_file():
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


@lru_cache(maxsize=512)
def _drawn(this_year: tuple, last_year: tuple, labels: tuple, words: tuple, unit: str, divisor: float,
           font: str | None, color: str, width_mm: float) -> bytes:
    """:func:`_draw`, once per figure: a customer's proposal and account plan show the same chart."""
    return _draw(list(this_year), list(last_year), (list(labels[0]), list(labels[1])), dict(words), unit, divisor,
                 font, color, width_mm)


def _color(brand_color: str) -> str:
    text = str(brand_color or "").strip().lstrip("#")
    return "#" + text.upper() if len(text) == 6 and all(c in "0123456789abcdefABCDEF" for c in text) else "#1F4E79"


def _width_mm(width_mm: Any) -> float:
    """The width asked for, within 40 mm to 400 mm (160 mm for what is not a number)."""
    value = _value(width_mm)
    return min(max(value, 40.0), 400.0) if value else 160.0


def _draw(this_year: list[float | None], last_year: list[float | None], labels: tuple[list[str], list[str]],
          words: dict[str, str], unit: str, divisor: float, font: str | None, color: str, width_mm: float) -> bytes:
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    prop = FontProperties(family=[font, LATIN_FONT] if font else [LATIN_FONT], size=FONT_SIZE)
    width_in = width_mm / 25.4
    figure = Figure(figsize=(width_in, width_in / ASPECT), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()

    last = [h / divisor if h is not None else 0.0 for h in last_year]
    this = [h / divisor if h is not None else 0.0 for h in this_year]
    positions = list(range(len(this)))
    bar = 0.38
    if any(last):  # a customer without a year before: one series, no empty "last year" in the legend
        axes.bar([p - bar / 2 for p in positions], last, bar, color=GREY, label=words["last"], zorder=2, linewidth=0)
        axes.bar([p + bar / 2 for p in positions], this, bar, color=color, label=words["this"], zorder=2, linewidth=0)
    else:
        axes.bar(positions, this, bar * 1.4, color=color, label=words["this"], zorder=2, linewidth=0)
    axes.axhline(0, color=INK, linewidth=0.6, zorder=3)
    axes.set_xlim(-0.6, len(positions) - 0.4)

    # y: ticks at 1, 2, 2.5 or 5 × 10^n; the top at the first tick above the highest bar (so the
    # highest bar sits under a grid line), the bottom at 0 unless a month is negative
    locator = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10])
    low, high = min(0.0, *last, *this), max(0.0, *last, *this)
    ticks = locator.tick_values(low, high if high > low else low + 1)
    top = next((t for t in ticks if t >= high), high) if high > 0 else 0.0
    bottom = low - 0.04 * (top - low) if low < 0 else 0.0
    axes.set_ylim(bottom, top if top > bottom else bottom + 1)
    axes.yaxis.set_major_locator(locator)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: tick_text(value)))
    axes.tick_params(axis="y", length=0, pad=3, labelsize=FONT_SIZE, labelcolor=INK)
    axes.grid(axis="y", color=GRID, linewidth=0.5, zorder=0)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left", "bottom"):
        axes.spines[side].set_visible(False)

    axes.set_xticks(positions)
    axes.set_xticklabels(_fitting(labels, prop, canvas.get_renderer(), figure.bbox.width * 0.92 / max(1, len(positions))),
                         fontproperties=prop, color=INK, linespacing=1.3)
    axes.tick_params(axis="x", length=0, pad=3)
    for text in axes.get_yticklabels():
        text.set_fontproperties(prop)

    axes.set_title(unit, loc="left", fontproperties=prop, color=INK, pad=4)  # the unit, not a title
    handles, names = axes.get_legend_handles_labels()
    legend = axes.legend(handles[::-1], names[::-1], loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2,
                         frameon=False, prop=prop, borderaxespad=0.2, handlelength=1.0, handleheight=0.8,
                         columnspacing=1.2, handletextpad=0.4)
    for text in legend.get_texts():
        text.set_color(INK)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _fitting(labels: tuple[list[str], list[str]], prop, renderer, slot: float) -> list[str]:
    """The full labels when the widest fits in its slot (with a gap), else the two-line ones."""
    full, compact = labels
    widest = max((renderer.get_text_width_height_descent(label, prop, ismath=False)[0] for label in full if label),
                 default=0.0)
    return full if widest <= slot * 0.85 else compact
