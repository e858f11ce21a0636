"""Festivals for any year: Gregorian, lunar (computed) and solar-term festivals (kamrules/plan/festivals.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from lunardate import LunarDate
from pydantic import ValidationError

from kamrules.errors import KamrulesError, RulebookInvalid
from kamrules.i18n import localize
from kamrules.plan.festivals import (FestivalRangeError, festival_dates, lunar_dates, lunar_range, lunar_to_solar,
                                     solar_term_dates, yearly)
from kamrules.rules.calendar_config import CalendarSpec, FestivalSpec
from kamrules.rules.rulebook_compiler import load_rulebook

from conftest import REPO, make_project

D = dt.date


def festival(**fields) -> FestivalSpec:
    return FestivalSpec(name=fields.pop("name", "节"), **fields)


def every(spec: FestivalSpec, first_year: int, last_year: int) -> list[dt.date]:
    return festival_dates(spec, D(first_year, 1, 1), D(last_year, 12, 31))


@pytest.mark.parametrize("lunar, expected", [
    ("01-01", [D(2026, 2, 17), D(2027, 2, 6), D(2028, 1, 26)]),       # 春节
    ("01-15", [D(2026, 3, 3), D(2027, 2, 20), D(2028, 2, 9)]),        # 元宵节
    ("05-05", [D(2026, 6, 19), D(2027, 6, 9), D(2028, 5, 28)]),       # 端午节
    ("07-07", [D(2026, 8, 19), D(2027, 8, 8), D(2028, 8, 26)]),       # 七夕
    ("08-15", [D(2026, 9, 25), D(2027, 9, 15), D(2028, 10, 3)]),      # 中秋节
    ("09-09", [D(2026, 10, 18), D(2027, 10, 8), D(2028, 10, 26)]),    # 重阳节
])
def test_lunar_festivals_on_their_real_dates(lunar, expected):
    assert every(festival(lunar=lunar), 2026, 2028) == expected


def test_new_years_eve_is_the_last_day_of_the_twelfth_month():
    # the 12th month of lunar 2026 has 29 days: 除夕 is 12-29, the day before 春节 2027-02-06
    assert lunar_to_solar(2026, 12, 29) == D(2027, 2, 5)
    with pytest.raises(ValueError):
        LunarDate(2026, 12, 30).to_solar_date()
    chuxi = festival(name="除夕", lunar="12-30")
    assert festival_dates(chuxi, D(2027, 1, 1), D(2027, 12, 31)) == [D(2027, 2, 5)]
    # and always the day before 春节, whether the month is long or short
    for year in range(1950, 2060):
        new_year = lunar_to_solar(year + 1, 1, 1)
        assert lunar_to_solar(year, 12, 30) == new_year - dt.timedelta(days=1), year


def test_a_leap_month_is_never_used():
    # lunar 2025 has a leap 6th month (闰六月): 七夕 is in the ordinary 7th month after it
    assert every(festival(lunar="06-15"), 2025, 2025) == [D(2025, 7, 9)]
    assert every(festival(lunar="07-07"), 2025, 2025) == [D(2025, 8, 29)]


def test_qingming_is_a_solar_term():
    qingming = festival(name="清明节", solar_term="清明")
    assert every(qingming, 2026, 2028) == [D(2026, 4, 5), D(2027, 4, 5), D(2028, 4, 4)]
    assert every(festival(solar_term=" 冬至 "), 2026, 2026) == [D(2026, 12, 22)]
    assert solar_term_dates("清明", D(2027, 4, 6), D(2027, 12, 31)) == []


def test_a_range_across_the_year_end():
    start, end = D(2026, 12, 1), D(2027, 2, 28)
    assert festival_dates(festival(lunar="01-01"), start, end) == [D(2027, 2, 6)]
    assert festival_dates(festival(lunar="12-30"), start, end) == [D(2027, 2, 5)]
    assert festival_dates(festival(lunar="12-08"), start, end) == [D(2027, 1, 15)]  # 腊八, of lunar 2026
    assert festival_dates(festival(date="01-01"), start, end) == [D(2027, 1, 1)]
    assert festival_dates(festival(solar_term="冬至"), start, end) == [D(2026, 12, 22)]
    # lunar 2025's 12-08 falls on 2026-01-26, lunar 2026's on 2027-01-15: both in a two-year range
    assert festival_dates(festival(lunar="12-08"), D(2026, 1, 1), D(2027, 12, 31)) == [D(2026, 1, 26),
                                                                                       D(2027, 1, 15)]


def test_gregorian_festivals_keep_their_meaning():
    assert festival_dates(festival(date="2027-02-06"), D(2027, 1, 1), D(2027, 3, 1)) == [D(2027, 2, 6)]
    assert festival_dates(festival(date="2027-02-06"), D(2027, 2, 7), D(2028, 3, 1)) == []
    assert festival_dates(festival(date="10-01"), D(2026, 9, 1), D(2028, 9, 30)) == [D(2026, 10, 1), D(2027, 10, 1)]
    assert yearly(2, 29, D(2027, 1, 1), D(2028, 12, 31)) == [D(2027, 2, 28), D(2028, 2, 29)]
    assert festival_dates(festival(lunar="01-01"), D(2027, 3, 1), D(2027, 2, 1)) == []


def test_one_day_ranges_and_both_ends_inclusive():
    spring = festival(lunar="01-01")
    assert festival_dates(spring, D(2027, 2, 6), D(2027, 2, 6)) == [D(2027, 2, 6)]
    assert festival_dates(spring, D(2027, 2, 7), D(2028, 1, 25)) == []
    assert festival_dates(spring, dt.datetime(2027, 2, 6, 12), dt.datetime(2027, 2, 6, 13)) == [D(2027, 2, 6)]


def test_lunar_dates_past_1900_to_2099_are_refused_cleanly():
    first, last = lunar_range()
    assert (first, last) == (D(1900, 1, 31), D(2100, 2, 8))
    assert lunar_dates(1, 1, first, D(1900, 12, 31)) == [D(1900, 1, 31)]
    assert lunar_dates(12, 30, D(2100, 1, 1), last) == [D(2100, 2, 8)]
    for start, end in [(D(2099, 12, 1), D(2100, 3, 1)), (D(1899, 12, 1), D(1900, 3, 1)), (D(2500, 1, 1), D(2500, 12, 31))]:
        with pytest.raises(FestivalRangeError) as info:
            festival_dates(festival(name="春节", lunar="01-01"), start, end)
        assert isinstance(info.value, ValueError) and isinstance(info.value, KamrulesError)
        assert str(info.value.message) == (
            f"festival 春节: lunar dates can be computed from 1900-01-31 to 2100-02-08 only (Chinese years "
            f"1900-2099), and {start} to {end} goes beyond that")
        assert localize(info.value.message, "zh") == (
            f"节日 春节：农历日期只能计算 1900-01-31 至 2100-02-08（农历 1900–2099 年）之间的日子，"
            f"{start} 至 {end} 超出了这个范围")


def test_solar_terms_past_2100_are_refused_cleanly():
    with pytest.raises(FestivalRangeError) as info:
        festival_dates(festival(name="清明节", solar_term="清明"), D(2100, 12, 1), D(2101, 6, 1))
    assert str(info.value.message) == ("festival 清明节: solar terms can be computed for the years 1900 to 2100 "
                                       "only, and 2100-12-01 to 2101-06-01 goes beyond that")
    assert localize(info.value.message, "zh").startswith("节日 清明节：节气只能计算 1900 至 2100 年之间的日子")
    # a Gregorian festival has no such limit
    assert festival_dates(festival(date="10-01"), D(2500, 1, 1), D(2500, 12, 31)) == [D(2500, 10, 1)]


@pytest.mark.parametrize("fields, english", [
    ({"date": "2027-02-06", "lunar": "01-01"},
     "festival 春节 needs exactly one of date (Gregorian), lunar (Chinese lunar) or solar_term; got: date, lunar"),
    ({}, "festival 春节 needs exactly one of date (Gregorian), lunar (Chinese lunar) or solar_term; got: -"),
    ({"lunar": "13-01"}, "'13-01' is not a lunar date (a lunar date must be MM-DD (month 01-12, day 01-30"),
    ({"lunar": "01-31"}, "'01-31' is not a lunar date"),
    ({"lunar": "正月初一"}, "a lunar date must be MM-DD"),
    ({"lunar": dt.date(2027, 2, 6)}, "a lunar date must be MM-DD"),
    ({"solar_term": "清名"}, "'清名' is not one of the 24 solar terms (小寒、大寒"),
])
def test_bad_festivals_are_refused(fields, english):
    with pytest.raises(ValidationError) as info:
        FestivalSpec(name="春节", **fields)
    (error,) = info.value.errors()
    assert error["msg"].removeprefix("Value error, ").startswith(english)


def test_a_misspelt_solar_term_gets_did_you_mean_in_both_languages():
    with pytest.raises(ValidationError) as info:
        FestivalSpec(name="清明节", solar_term="清明节")  # the festival's name, not the term's
    message = info.value.errors()[0]["ctx"]["error"].args[0]
    assert str(message).endswith("; did you mean '清明'?")
    assert localize(message, "zh").startswith("'清明节' 不是二十四节气之一（小寒、大寒")
    assert localize(message, "zh").endswith("；您是否指 '清明'？")


def test_lunar_dates_are_normalised():
    spec = festival(lunar="1-5")
    assert (spec.lunar, spec.date, spec.solar_term, spec.month, spec.day, spec.year) == ("01-05", None, None, 1, 5, None)
    assert spec.when == "lunar 01-05"
    assert festival(solar_term="清明").when == "solar_term 清明"
    assert festival(date="10-01").when == "10-01"


def test_a_calendar_lists_festivals_of_every_form():
    spec = CalendarSpec(festivals=[{"name": "春节", "lunar": "01-01"}, {"name": "除夕", "lunar": "12-30"},
                                   {"name": "清明节", "solar_term": "清明"}, {"name": "国庆节", "date": "10-01"}])
    start, end = D(2026, 10, 31), D(2027, 4, 30)
    assert [(f.name, festival_dates(f, start, end)) for f in spec.festivals] == [
        ("春节", [D(2027, 2, 6)]), ("除夕", [D(2027, 2, 5)]), ("清明节", [D(2027, 4, 5)]), ("国庆节", [])]


def test_the_bundled_rulebook_computes_its_lunar_festivals():
    festivals = {f.name: f for f in load_rulebook(REPO).spec.calendar.festivals}
    assert {name: f.when for name, f in festivals.items()} == {
        "元旦": "01-01", "春节": "lunar 01-01", "元宵节": "lunar 01-15", "端午节": "lunar 05-05",
        "中秋节": "lunar 08-15", "国庆节": "10-01"}
    days = {name: festival_dates(f, D(2027, 1, 1), D(2027, 12, 31)) for name, f in festivals.items()}
    assert days == {"元旦": [D(2027, 1, 1)], "春节": [D(2027, 2, 6)], "元宵节": [D(2027, 2, 20)],
                    "端午节": [D(2027, 6, 9)], "中秋节": [D(2027, 9, 15)], "国庆节": [D(2027, 10, 1)]}


def _documents_with(tmp_path, old: str, new: str):
    project = make_project(tmp_path / "proj")
    path = project / "rules" / "documents.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    line = text[:text.index(new)].count("\n") + 1
    with pytest.raises(RulebookInvalid) as info:
        load_rulebook(project)
    return line, info.value.errors


def test_date_and_lunar_both_given_in_yaml_is_an_error_at_its_line(tmp_path):
    line, errors = _documents_with(tmp_path, "{name: 春节, lunar: 01-01}", "{name: 春节, lunar: 01-01, date: 2027-02-06}")
    (error,) = errors
    assert (error.file, error.line) == ("rules/documents.yaml", line)
    assert "festival 春节 needs exactly one of date (Gregorian), lunar (Chinese lunar) or solar_term; " \
           "got: date, lunar" in str(error.message)
    assert "节日 春节 必须写且只写 date（公历）、lunar（农历）、solar_term（节气）中的一个" in error.render("zh")
    assert error.render("en").startswith(f"rules/documents.yaml:{line}")


def test_a_bad_lunar_date_in_yaml_is_an_error_at_its_line(tmp_path):
    line, errors = _documents_with(tmp_path, "{name: 中秋节, lunar: 08-15}", "{name: 中秋节, lunar: 08-32}")
    (error,) = errors
    assert (error.file, error.line) == ("rules/documents.yaml", line)
    assert "'08-32' is not a lunar date" in str(error.message)
