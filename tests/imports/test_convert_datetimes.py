"""Local times across daylight-saving changes, and times written with their offset.

A wall-clock time inside a spring-forward gap is read with the offset in force before the
change (zoneinfo's fold=0), so it moves forward by the zone's own gap: one hour in Madrid,
thirty minutes at Lord Howe. Columns written with an offset are parsed as such first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from fideliza.imports import convert


def _utc(texts: list[str | None], zone: str) -> list[datetime | None]:
    values, checks = convert.datetime_(pl.Series("fecha", texts, dtype=pl.String), date_format=None,
                                       time_zone=zone)
    assert not any(mask.fill_null(False).any() for mask, _message in checks)
    return values.to_list()


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("zone", "text", "expected", "local_after"), [
    # Madrid, 30 March 2025: 02:00 CET -> 03:00 CEST (a one-hour gap).
    ("Europe/Madrid", "30/03/2025 01:59", _at(2025, 3, 30, 0, 59), "01:59"),
    ("Europe/Madrid", "30/03/2025 02:30", _at(2025, 3, 30, 1, 30), "03:30"),
    ("Europe/Madrid", "30/03/2025 03:00", _at(2025, 3, 30, 1, 0), "03:00"),
    # Lord Howe, 5 October 2025: 02:00 +10:30 -> 02:30 +11:00 (a thirty-minute gap).
    ("Australia/Lord_Howe", "05/10/2025 01:59", _at(2025, 10, 4, 15, 29), "01:59"),
    ("Australia/Lord_Howe", "05/10/2025 02:00", _at(2025, 10, 4, 15, 30), "02:30"),
    ("Australia/Lord_Howe", "05/10/2025 02:15", _at(2025, 10, 4, 15, 45), "02:45"),
    ("Australia/Lord_Howe", "2025-10-05 02:29:59", _at(2025, 10, 4, 15, 59, 59), "02:59"),
    ("Australia/Lord_Howe", "05/10/2025 02:30", _at(2025, 10, 4, 15, 30), "02:30"),
])
def test_a_time_in_the_spring_gap_moves_forward_by_the_zones_own_gap(zone, text, expected, local_after):
    [value] = _utc([text], zone)
    assert value == expected
    assert value.astimezone(ZoneInfo(zone)).strftime("%H:%M") == local_after
    # What zoneinfo says for the same wall-clock time (fold=0).
    naive = datetime.strptime(text, "%d/%m/%Y %H:%M" if "/" in text else "%Y-%m-%d %H:%M:%S")
    assert value == naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize(("zone", "text", "expected"), [
    # The autumn hour that happens twice is the earlier one.
    ("Europe/Madrid", "26/10/2025 02:30", _at(2025, 10, 26, 0, 30)),
    ("Australia/Lord_Howe", "06/04/2025 01:45", _at(2025, 4, 5, 14, 45)),
])
def test_an_ambiguous_time_is_the_earlier_one(zone, text, expected):
    assert _utc([text], zone) == [expected]


def test_times_written_with_their_offset():
    texts = ["2025-03-30T03:15:00+02:00", "2025-03-30T02:15:00+01:00", "2025-03-30T01:15:00Z",
             "2025-03-30T03:15:00.250+02:00", "2025-03-30 03:15:00+0200", None]
    expected = [_at(2025, 3, 30, 1, 15)] * 3 + [datetime(2025, 3, 30, 1, 15, 0, 250000, tzinfo=UTC),
                                                _at(2025, 3, 30, 1, 15), None]
    assert _utc(texts, "Europe/Madrid") == expected
    # A column mixing both kinds, whichever comes first.
    assert _utc(["30/03/2025 03:15", "2025-03-30T03:15:00+02:00"], "Europe/Madrid") == [_at(2025, 3, 30, 1, 15)] * 2
    assert _utc(["2025-03-30T03:15:00+02:00", "30/03/2025 02:15"], "Europe/Madrid") == [_at(2025, 3, 30, 1, 15)] * 2


def test_a_column_of_offsets_is_not_tried_with_every_plain_format(monkeypatch):
    """The offsets are parsed first: the plain formats are never tried on those cells."""
    tried: list[int] = []
    real = convert._local_to_utc

    def spy(s, **kwargs):
        tried.append(len(s))
        return real(s, **kwargs)

    monkeypatch.setattr(convert, "_local_to_utc", spy)
    texts = [f"2025-03-{day:02d}T10:00:00+01:00" for day in range(1, 29)] + ["29/03/2025 10:00"]
    values = _utc(texts, "Europe/Madrid")
    assert values[0] == _at(2025, 3, 1, 9) and values[-1] == _at(2025, 3, 29, 9)
    assert tried == [1]


def test_a_bad_time_is_still_reported():
    values, checks = convert.datetime_(pl.Series("fecha", ["2025-03-30T03:15:00+02:00", "ayer"]),
                                       date_format=None, time_zone="Europe/Madrid")
    assert values.to_list()[1] is None
    assert checks[0][0].to_list() == [False, True]
