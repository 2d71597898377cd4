"""Deadlines in business days with each country's and region's public holidays, computed by
hand from the official calendars (the `holidays` package must agree with them)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from fideliza.complaints import rules as R

LIMA = ZoneInfo("America/Lima")
BOGOTA = ZoneInfo("America/Bogota")
MADRID = ZoneInfo("Europe/Madrid")
UTC = ZoneInfo("UTC")


def test_peru_15_business_days_across_fiestas_patrias():
    # Received Monday 20 July 2026 in Lima. Not counted: weekends, 23 July (Día de la Fuerza
    # Aérea), 28–29 July (Fiestas Patrias), 6 August (Batalla de Junín).
    # 21 22 24 27 30 31 | 3 4 5 7 10 11 12 13 14 August → the 15th is Friday 14 August.
    pe = R.rule_set("PE")
    received = datetime(2026, 7, 20, 10, 0, tzinfo=LIMA)
    assert R.due_day(received, 15, pe) == date(2026, 8, 14)
    # The term ends when 14 August ends in Lima (UTC−5): 15 August 05:00 UTC.
    assert R.due_at(received, 15, pe) == datetime(2026, 8, 15, 5, 0, tzinfo=UTC)
    assert not R.is_business_day(date(2026, 7, 28), pe) and not R.is_business_day(date(2026, 7, 29), pe)


def test_andalucia_10_business_days_across_semana_santa():
    # Received Monday 30 March 2026. Jueves Santo (2 April) and Viernes Santo (3 April) are
    # holidays in Andalucía: 31 Mar, 1 Apr, 6 7 8 9 10 13 14 15 April → Wednesday 15 April.
    es = R.rule_set("ES")
    received = datetime(2026, 3, 30, 9, 0, tzinfo=MADRID)
    assert R.due_day(received, 10, es, "AN") == date(2026, 4, 15)
    assert R.due_at(received, 10, es, "AN") == datetime(2026, 4, 16, 0, 0, tzinfo=MADRID)


def test_the_region_decides_andalucia_day_counts_only_in_andalucia():
    # Wednesday 26 February 2025; 28 February (Día de Andalucía) is a holiday there, not in Madrid.
    es = R.rule_set("ES")
    received = datetime(2025, 2, 26, 12, 0, tzinfo=MADRID)
    assert R.due_day(received, 10, es, "AN") == date(2025, 3, 13)
    assert R.due_day(received, 10, es, "MD") == date(2025, 3, 12)
    assert R.due_day(received, 10, es, "") == date(2025, 3, 12)  # national holidays only


def test_colombia_counts_a_festivo_moved_to_monday():
    # Received Wednesday 18 March 2026 in Bogotá. San José (19 March) moves to Monday 23
    # March (Ley Emiliani): Thursday 19 is a business day, Monday 23 is not; Jueves and
    # Viernes Santo (2–3 April) are holidays.
    # 19 20 24 25 26 27 30 31 | 1 6 7 8 9 10 13 April → the 15th is Monday 13 April.
    co = R.rule_set("CO")
    assert R.is_business_day(date(2026, 3, 19), co)
    assert not R.is_business_day(date(2026, 3, 23), co)
    received = datetime(2026, 3, 18, 15, 0, tzinfo=BOGOTA)
    assert R.due_day(received, 15, co) == date(2026, 4, 13)
    assert R.due_at(received, 15, co) == datetime(2026, 4, 14, 5, 0, tzinfo=UTC)


def test_the_day_is_the_rule_sets_own_not_the_servers():
    # 23:30 in Lima on Monday 20 July is already Tuesday in UTC and in Madrid: still
    # received on Monday in Peru, so the term ends on 14 August, not on 17 August.
    pe = R.rule_set("PE")
    late = datetime(2026, 7, 21, 4, 30, tzinfo=UTC)
    assert R.local_date(late, pe) == date(2026, 7, 20)
    assert R.due_day(late, 15, pe) == date(2026, 8, 14)


def test_the_end_of_the_day_is_local_across_the_clock_change():
    # Spain leaves summer time on Sunday 25 October 2026. Received Friday 23 October; 2
    # November is Andalucía's Monday after All Saints (1 November falls on a Sunday):
    # 26 27 28 29 30 Oct, 3 4 5 6 9 Nov → Monday 9 November, ending at midnight CET (UTC+1).
    es = R.rule_set("ES")
    received = datetime(2026, 10, 23, 12, 0, tzinfo=MADRID)
    assert R.due_at(received, 10, es, "AN") == datetime(2026, 11, 9, 23, 0, tzinfo=UTC)


def test_the_pause_keeps_the_business_days_that_were_left():
    pe = R.rule_set("PE")
    received = datetime(2026, 7, 20, 10, 0, tzinfo=LIMA)
    due = R.due_at(received, 15, pe)
    # Paused on Friday 24 July: 21, 22 and 24 July have run, 12 business days are left.
    paused = datetime(2026, 7, 24, 16, 0, tzinfo=LIMA)
    assert R.remaining_days(paused, due, pe) == 12
    # Resumed on Monday 3 August: 4 5 7 10 11 12 13 14 17 18 19 20 August → Thursday 20 August.
    resumed = datetime(2026, 8, 3, 9, 0, tzinfo=LIMA)
    assert R.resumed_due_at(12, resumed, pe) == datetime(2026, 8, 21, 5, 0, tzinfo=UTC)


def test_weekends_only_for_the_generic_set():
    gen = R.rule_set("GEN")
    friday = datetime(2026, 12, 24, 10, 0, tzinfo=MADRID)  # Thursday 24 December 2026
    # Christmas is no holiday of the generic set (no country): 25 28 29 30 31 Dec …
    assert R.add_business_days(friday.date(), 5, gen) == date(2026, 12, 31)


@pytest.mark.parametrize("code", sorted(R.RULE_SETS))
def test_every_rule_set_counts_forward_on_business_days_only(code):
    rules = R.rule_set(code)
    start = date(2026, 1, 1)
    day = R.add_business_days(start, rules.days, rules)
    assert day > start and R.is_business_day(day, rules)
    assert R.business_days_between(start, day, rules) == rules.days


def test_the_term_may_be_changed_per_set_and_region(settings):
    settings.FIDELIZA_COMPLAINT_DAYS = {"MX": 5, "ES-CT": 20}
    assert R.rule_set("MX").term_days() == 5
    assert R.rule_set("ES").term_days("CT") == 20
    assert R.rule_set("ES").term_days("AN") == 10
