"""Business days from the `holidays` package: the one calendar of the complaints book's legal
terms and of the other «N días hábiles» (a detractor's follow-up)."""

from __future__ import annotations

from datetime import date

import pytest

from fideliza.core.calendar import (
    add_business_days,
    business_calendar,
    holidays_of,
    is_business_day,
)


def test_spain_skips_the_weekend_and_the_immaculate_conception():
    assert date(2026, 12, 8) in holidays_of("ES", "", 2026)  # Tuesday, national holiday
    friday = date(2026, 12, 4)
    assert add_business_days(friday, 1, "ES") == date(2026, 12, 7)
    assert add_business_days(friday, 2, "ES") == date(2026, 12, 9)  # the 8th does not count
    assert add_business_days(friday, 2, None) == date(2026, 12, 8)  # weekends only
    assert add_business_days(friday, 0, "ES") == friday


def test_a_regional_holiday_counts_only_in_its_region():
    andalusia_day, madrid_day = date(2025, 2, 28), date(2025, 5, 2)  # both Fridays in 2025
    assert not is_business_day(andalusia_day, "ES", "AN") and is_business_day(andalusia_day, "ES", "MD")
    assert not is_business_day(madrid_day, "ES", "MD") and is_business_day(madrid_day, "ES", "AN")
    assert add_business_days(date(2025, 2, 27), 1, "ES", "AN") == date(2025, 3, 3)


@pytest.mark.parametrize(("country", "region", "expected"), [("ES", "", ("ES", "")), ("", "", (None, "")),
                                                             ("PE", "", ("PE", ""))])
def test_the_business_calendar_comes_from_the_settings(settings, country, region, expected):
    settings.FIDELIZA_HOLIDAYS_COUNTRY = country
    settings.FIDELIZA_HOLIDAYS_REGION = region
    assert business_calendar() == expected
