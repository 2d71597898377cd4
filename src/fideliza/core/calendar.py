"""Business days: Monday to Friday, minus the public holidays of a country and, optionally,
one of its regions, from the maintained `holidays` package (never a hand-written calendar).

The complaints book counts its legal terms with it (per rule set and region); the other
apps that say «N días hábiles» (a detractor's follow-up) use the business's own calendar,
`FIDELIZA_HOLIDAYS_COUNTRY` / `FIDELIZA_HOLIDAYS_REGION` (empty country: weekends only).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays
from django.conf import settings


@cache
def holidays_of(country: str, subdivision: str, year: int) -> frozenset[date]:
    """The public holidays of `country` (and `subdivision`) in `year`."""
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year).keys())


def is_business_day(day: date, country: str | None, subdivision: str = "") -> bool:
    """Monday to Friday and not a public holiday of the country (and of the region)."""
    if day.weekday() >= 5:
        return False
    return not country or day not in holidays_of(country, subdivision, day.year)


def add_business_days(start: date, days: int, country: str | None, subdivision: str = "") -> date:
    """The `days`-th business day after `start` (`start` itself never counts; 0 → `start`)."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if is_business_day(current, country, subdivision):
            left -= 1
    return current


def business_calendar() -> tuple[str | None, str]:
    """(country, region) of the business's own calendar, from the settings."""
    country = getattr(settings, "FIDELIZA_HOLIDAYS_COUNTRY", "") or None
    return country, getattr(settings, "FIDELIZA_HOLIDAYS_REGION", "")
