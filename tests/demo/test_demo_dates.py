"""The demo on any day: every generated local time exists, and the files give it back.

`make run` builds the demo with today's date, so the history it generates moves with the
calendar. A web order generated in the hour the spring change skips (02:00-03:00 on
2025-03-30 in Madrid) used to be written with an empty `created_at`, and the import then
refused the whole file: whether `make run` worked depended on the day. These tests run the
generator's date arithmetic for every `today` of two consecutive years (cheap: no people,
no orders, just the calendar and the times), and the real generator and files once on the
date that failed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from fideliza.demo.files import tpv_orders_export, web_orders_export, write_demo_files
from fideliza.demo.generator import (
    DemoSpec,
    build_calendar,
    generate,
    history_start,
    order_wall_times,
    return_wall_times,
    wall_times_resolve,
)
from fideliza.imports import convert

MADRID = "Europe/Madrid"
YEARS = 3
# Every `today` of 2025 and 2026.
TODAYS = [date(2025, 1, 1) + timedelta(days=i) for i in range((date(2027, 1, 1) - date(2025, 1, 1)).days)]
# The nights Madrid skips 02:00-03:00, and those it goes back from summer time (02:00-03:00
# happens twice).
SPRING_FORWARD = [date(2021, 3, 28), date(2022, 3, 27), date(2023, 3, 26), date(2024, 3, 31),
                  date(2025, 3, 30), date(2026, 3, 29)]
FALL_BACK = [date(2021, 10, 31), date(2022, 10, 30), date(2023, 10, 29), date(2024, 10, 27),
             date(2025, 10, 26), date(2026, 10, 25)]
HOURS = pl.DataFrame({"hour": pl.int_range(0, 24, eager=True, dtype=pl.Int64)})


def _grid(start: date, days: int) -> pl.DataFrame:
    """Every hour of every day of a history; minutes and seconds vary with the real date
    and the hour (not with the day index), so two histories agree on the days they share."""
    return pl.DataFrame({"day": pl.int_range(0, days, eager=True, dtype=pl.Int64)}).join(HOURS, how="cross") \
        .with_columns(ordinal=pl.col("day") + start.toordinal()) \
        .with_columns(minute=(pl.col("ordinal") * 7 + pl.col("hour") * 11) % 60,
                      second=(pl.col("ordinal") + pl.col("hour") * 13) % 60)


def _lines(placed: pl.Series) -> pl.DataFrame:
    """Order lines as the generator makes them (one per time), for both systems' exports."""
    n = len(placed)
    base = pl.DataFrame({
        "order_id": [f"X{i}" for i in range(n)], "placed_at": placed, "store": ["VLC"] * n,
        "customer_external_id": ["C000001"] * n, "sku": ["TOR-0001"] * n, "description": ["Tornillo"] * n,
        "quantity": [1] * n, "unit_price_c": [100] * n, "unit_cost_c": [50] * n, "discount_c": [0] * n,
    })
    return pl.concat([base.with_columns(source=pl.lit("tpv")),
                      base.with_columns(source=pl.lit("tienda_online"))])


def _pep495(naive: list[datetime], time_zone: str) -> list[datetime]:
    """The instant Python gives a local wall time (fold=0), independently of polars."""
    tz = ZoneInfo(time_zone)
    return [w.replace(tzinfo=tz).astimezone(UTC) for w in naive]


@pytest.fixture(scope="module")
def reference() -> dict[str, pl.Series]:
    """The times of the union of every history below, in Madrid, computed once."""
    first = history_start(DemoSpec(today=TODAYS[0], years=YEARS))
    days = (TODAYS[-1] - first).days
    grid = _grid(first, days)
    return {"first": first, "grid": grid,
            "placed": order_wall_times(first, grid["day"], grid["hour"], grid["minute"], grid["second"], MADRID)}


def test_every_today_of_two_years_gives_existing_local_times(reference):
    """For each of 730 run dates, every hour of every day of its 3-year history resolves to
    a real instant, and the same one whichever day the demo is built (the day index is
    relative to the history's start)."""
    placed_all = reference["placed"]
    for today in TODAYS:
        spec = DemoSpec(customers=20, years=YEARS, today=today, time_zone=MADRID)
        cal = build_calendar(spec)
        assert cal.start == history_start(spec) and cal.days == (today - cal.start).days
        grid = _grid(cal.start, cal.days)
        placed = order_wall_times(cal.start, grid["day"], grid["hour"], grid["minute"], grid["second"], MADRID)
        assert placed.dtype == pl.Datetime("us", MADRID)
        assert placed.null_count() == 0, today
        offset = (cal.start - reference["first"]).days * 24
        assert placed.equals(placed_all.slice(offset, len(placed))), today
        # Never after the history (a gap time moves forward an hour, not into tomorrow).
        assert placed.dt.date().max() < today
        # The skipped 02:xx of each spring change in the history moved to 03:xx; the
        # repeated 02:xx of each autumn change is taken in summer time (+02:00).
        springs = sum(cal.start <= d < today for d in SPRING_FORWARD)
        falls = sum(cal.start <= d < today for d in FALL_BACK)
        assert springs >= 2 and falls >= 2
        moved = placed.dt.hour() != grid["hour"]
        assert int(moved.sum()) == springs and (placed.filter(moved).dt.hour() == 3).all(), today
        repeated = grid["ordinal"].is_in([d.toordinal() for d in FALL_BACK]) & (grid["hour"] == 2)
        assert int(repeated.sum()) == falls, today
        assert (placed.filter(repeated).dt.dst_offset() == timedelta(hours=1)).all(), today


@pytest.mark.parametrize("time_zone", [MADRID, "Atlantic/Canary", "America/Santiago", "Australia/Lord_Howe"])
def test_wall_times_resolve_forward_in_gaps_and_to_the_first_of_a_repeated_hour(time_zone):
    """PEP 495 fold=0 for five years of every hour (gaps of 1 h, at midnight, of 30 min)."""
    start = date(2022, 1, 1)
    grid = _grid(start, (date(2027, 1, 1) - start).days)
    placed = order_wall_times(start, grid["day"], grid["hour"], grid["minute"], grid["second"], time_zone)
    assert placed.null_count() == 0
    naive = pl.select(pl.lit(start).cast(pl.Datetime("us")) + pl.duration(
        days=grid["day"], hours=grid["hour"], minutes=grid["minute"], seconds=grid["second"])).to_series()
    expected = _pep495(naive.to_list(), time_zone)
    assert placed.dt.convert_time_zone("UTC").to_list() == expected
    wall = placed.dt.replace_time_zone(None)
    moved = wall != naive
    # Only skipped wall times move, forward, by less than a day; the rest keep their wall time.
    assert moved.sum() > 0
    shift = (wall - naive).filter(moved)
    assert (shift > timedelta(0)).all() and (shift <= timedelta(hours=2)).all()
    skipped = naive.dt.replace_time_zone(time_zone, ambiguous="earliest", non_existent="null").is_null()
    assert moved.equals(skipped.alias(moved.name))


def test_exported_local_times_round_trip_through_the_importer(reference):
    """The web shop's ISO times with offset, and the till's dd/mm/yyyy + HH:MM in the
    business's zone, read by the importer's own parser give back the generated instants."""
    placed = reference["placed"]
    lines = _lines(placed)
    web = web_orders_export(lines)["created_at"]
    tpv = tpv_orders_export(lines)
    assert web.null_count() == 0 and (web != "").all()
    assert tpv["Fecha"].null_count() == 0 and tpv["Hora"].null_count() == 0
    utc = placed.dt.convert_time_zone("UTC")

    back, checks = convert.datetime_(web, date_format=None, time_zone=MADRID)
    assert not any(bool(mask.any()) for mask, _msg in checks)
    assert back.equals(utc.alias(back.name))

    till = tpv["Fecha"] + " " + tpv["Hora"]
    back, checks = convert.datetime_(till, date_format=None, time_zone=MADRID)
    assert not any(bool(mask.any()) for mask, _msg in checks)
    # The till writes to the minute; the wall time it writes exists and is read as the
    # first of a repeated hour, as it was generated.
    assert back.equals(utc.dt.truncate("1m").alias(back.name))


def test_returns_keep_the_local_time_of_day_and_exist(reference):
    placed = reference["placed"]
    days = pl.Series("days", (pl.int_range(0, len(placed), eager=True) % 30 + 1))
    returned = return_wall_times(placed, days, MADRID)
    assert returned.null_count() == 0 and returned.dtype == pl.Datetime("us", MADRID)
    naive = pl.select(placed.dt.replace_time_zone(None) + pl.duration(days=days)).to_series()
    assert returned.dt.convert_time_zone("UTC").to_list() == _pep495(naive.to_list(), MADRID)
    # As Python objects (what the returns service receives) they are aware and exact.
    sample = returned.head(5).to_list()
    assert all(r.tzinfo is not None for r in sample)


def test_resolve_keeps_nulls_and_names():
    s = pl.Series("t", [datetime(2025, 3, 30, 2, 30), None, datetime(2025, 10, 26, 2, 30)])
    out = wall_times_resolve(s, MADRID)
    assert out.name == "t" and out[1] is None
    assert out[0].isoformat() == "2025-03-30T03:30:00+02:00"
    assert out[2].isoformat() == "2025-10-26T02:30:00+02:00"  # the first 02:30 (summer time)


def test_the_demo_of_2026_12_07_writes_every_web_order_time(tmp_path):
    """What `make run` generated on 2026-12-07 (5,000 customers, seed 42): three web order
    lines at 02:19 on 2025-03-30 were written with an empty created_at."""
    data = generate(DemoSpec(customers=5000, seed=42, years=3, today=date(2026, 12, 7)))
    files = write_demo_files(data, tmp_path)
    web = pl.read_csv(files.web_orders, infer_schema_length=0)
    assert web.height > 0 and web["created_at"].null_count() == 0
    assert web.filter(pl.col("created_at").str.starts_with("2025-03-30T02:")).height == 0
    assert web.filter(pl.col("created_at").str.starts_with("2025-03-30T03:19:02+02:00")).height > 0
    tpv = pl.read_csv(files.tpv_orders, separator=";", encoding="latin-1", infer_schema_length=0)
    assert tpv["Fecha"].null_count() == 0 and tpv["Hora"].null_count() == 0
