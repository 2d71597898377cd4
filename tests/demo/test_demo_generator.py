"""The demo generator as pure functions: determinism, shape and the structure analytics needs."""

from __future__ import annotations

import re
from datetime import date, timedelta

import polars as pl
import pytest

from fideliza.customers.normalize import normalize_phone
from fideliza.demo.files import files_digest, write_demo_files
from fideliza.demo.generator import DemoSpec, _cif, _nif, generate, history_start

TODAY = date(2026, 11, 23)
SPEC = DemoSpec(customers=3000, seed=42, years=3, today=TODAY)


@pytest.fixture(scope="module")
def demo():
    return generate(SPEC)


@pytest.fixture(scope="module")
def orders(demo):
    return demo.lines.group_by("order_key").agg(
        pl.col("customer").first(), pl.col("placed_at").first(), pl.col("channel").first(),
        pl.col("store").first(), total=pl.col("line_total_c").sum(),
    )


def _frames(d):
    return {"products": d.products, "people": d.people, "tpv": d.tpv_customers,
            "web": d.web_customers, "lines": d.lines, "returns": d.returns}


# ---------------------------------------------------------------- determinism

def test_same_seed_and_date_give_identical_frames_and_files(tmp_path):
    spec = DemoSpec(customers=400, seed=7, years=2, today=TODAY)
    a, b = generate(spec), generate(spec)
    for name, frame in _frames(a).items():
        assert frame.equals(_frames(b)[name]), name
    da = files_digest(write_demo_files(a, tmp_path / "a"))
    db = files_digest(write_demo_files(b, tmp_path / "b"))
    assert da == db
    for pa, pb in zip(sorted((tmp_path / "a").iterdir()), sorted((tmp_path / "b").iterdir()), strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name


def test_another_seed_or_date_gives_other_data():
    base = generate(DemoSpec(customers=400, seed=7, years=2, today=TODAY))
    other_seed = generate(DemoSpec(customers=400, seed=8, years=2, today=TODAY))
    other_day = generate(DemoSpec(customers=400, seed=7, years=2, today=TODAY + timedelta(days=1)))
    assert not base.tpv_customers.equals(other_seed.tpv_customers)
    assert not base.lines.equals(other_seed.lines)
    assert not base.lines.equals(other_day.lines)
    # The catalog does not depend on the date, only on the seed.
    assert base.products.equals(other_day.products)


def test_generator_does_not_touch_the_global_random_state():
    import random

    import numpy as np

    random.seed(1)
    np.random.seed(1)
    expected = (random.random(), np.random.random())
    random.seed(1)
    np.random.seed(1)
    generate(DemoSpec(customers=100, seed=3, years=1, today=TODAY))
    assert (random.random(), np.random.random()) == expected


# ---------------------------------------------------------------- shape

def test_counts_and_both_sources(demo):
    people = demo.people
    assert people.height == 3000
    lists = dict(people["lists"].value_counts().iter_rows())
    assert demo.tpv_customers.height == lists["tpv"] + lists["both"]
    assert demo.web_customers.height == lists["web"] + lists["both"]
    assert demo.tpv_customers["Código cliente"].n_unique() == demo.tpv_customers.height
    assert demo.web_customers["customer_id"].n_unique() == demo.web_customers.height
    overlap = lists["both"] / people.height
    assert 0.15 <= overlap <= 0.25
    companies = people.filter(pl.col("kind") == "company")
    assert 0.02 <= companies.height / people.height <= 0.05
    assert set(demo.lines["source"].unique()) == {"tpv", "tienda_online"}


def test_catalog_hierarchy_margins_and_levels(demo):
    p = demo.products
    assert 150 <= p.height <= 300
    assert p["sku"].n_unique() == p.height
    assert p["category"].str.contains(" > ").mean() > 0.7
    roots = set(p["category"].str.split(" > ").list.first())
    assert {"Herramientas", "Jardín", "Fontanería", "Electricidad", "Pintura",
            "Tornillería y fijación", "Menaje"} <= roots
    margin = p.group_by("category").agg(
        m=1 - pl.col("unit_cost_c").sum() / pl.col("list_price_c").sum())
    assert margin["m"].min() >= 0.19 and margin["m"].max() <= 0.61
    assert (p["path_level"] != "").mean() >= 0.8
    assert set(p["path_level"].unique()) == {"", "entry", "value", "main", "premium"}


def test_phones_are_valid_and_written_in_several_formats(demo):
    phones = pl.concat([demo.tpv_customers["Teléfono"], demo.web_customers["phone"]]).drop_nulls()
    phones = phones.filter(phones != "")
    assert all(normalize_phone(p, "ES") for p in phones.to_list())
    shapes = {re.sub(r"\d", "9", p) for p in phones.to_list()}
    assert {"999 99 99 99", "999999999", "+99999999999", "9999 999-999-999"} <= shapes
    assert len(shapes) >= 6


def test_the_two_lists_differ_like_real_lists_but_stay_matchable(demo):
    both = demo.people.filter(pl.col("lists") == "both").select("tpv_id", "web_id")
    pairs = both.join(demo.tpv_customers, left_on="tpv_id", right_on="Código cliente").join(
        demo.web_customers, left_on="web_id", right_on="customer_id")
    assert pairs.height == both.height

    def norm_phone(s):
        return pl.Series([normalize_phone(x or "", "ES") or None for x in s.to_list()])

    same_phone = norm_phone(pairs["Teléfono"]) == norm_phone(pairs["phone"])
    same_email = pairs["E-mail"].str.to_lowercase() == pairs["email"].str.to_lowercase()
    matchable = (same_phone.fill_null(False) | same_email.fill_null(False)).mean()
    assert matchable >= 0.6
    same_name = (pairs["Nombre"] == pairs["first_name"]) & (pairs["Apellidos"] == pairs["last_name"])
    assert same_name.fill_null(False).mean() < 0.5           # names rarely written identically
    raw_same_phone = (pairs["Teléfono"] == pairs["phone"]).fill_null(False).mean()
    assert raw_same_phone < 0.3                               # formats differ between systems
    assert (pairs["E-mail"] != pairs["email"]).fill_null(True).mean() > 0.1   # case, old address
    accents = pairs["Apellidos"].str.contains("[áéíóúÁÉÍÓÚ]").fill_null(False) & \
        ~pairs["last_name"].str.contains("[áéíóúÁÉÍÓÚ]").fill_null(False)
    assert accents.sum() > 0


def test_tax_ids_birthdays_and_consent(demo):
    people = demo.people
    companies = people.filter(pl.col("kind") == "company")
    for cif in companies["tax_id"].to_list():
        assert cif == _cif(cif[0], int(cif[1:3]), int(cif[3:8]))
    assert companies["employees"].is_not_null().all()
    assert (companies["account_executive"].is_in(["comercial1", "comercial2"])).all()
    nifs = people.filter((pl.col("kind") == "person") & (pl.col("tax_id") != ""))["tax_id"]
    assert nifs.len() > 0 and all(n == _nif(int(n[:8])) for n in nifs.to_list())
    births = people.filter(pl.col("kind") == "person")["birth_date"]
    ages = births.map_elements(lambda b: (TODAY - b).days / 365.25, return_dtype=pl.Float64)
    assert ages.min() >= 18 and ages.max() <= 95
    assert 0.3 <= people["consent_email"].mean() <= 0.7
    assert people["consent_post"].mean() < people["consent_email"].mean()
    emails = people["email"]
    assert emails.n_unique() == emails.len()


def test_all_dates_inside_the_history(demo):
    start = history_start(SPEC)
    placed = demo.lines["placed_at"]
    assert placed.min().date() >= start and placed.max().date() < TODAY
    assert demo.returns["returned_at"].max().date() < TODAY
    assert demo.returns.height > 0


# ---------------------------------------------------------------- structure for analytics

def test_seasonality(demo, orders):
    lines = demo.lines.join(demo.products.select("sku", "category"), on="sku").with_columns(
        month=pl.col("placed_at").dt.month(), root=pl.col("category").str.split(" > ").list.first())
    by = lines.group_by("root", "month").agg(r=pl.col("line_total_c").sum())

    def revenue(root, months):
        return by.filter((pl.col("root") == root) & pl.col("month").is_in(months))["r"].sum()

    assert revenue("Jardín", [3, 4, 5]) > 2 * revenue("Jardín", [11, 12, 1])
    heating = lines.filter(pl.col("category") == "Climatización > Calefacción").group_by("month").agg(
        r=pl.col("line_total_c").sum())
    hr = dict(heating.iter_rows())
    assert hr[11] + hr[12] + hr[1] > 3 * (hr[5] + hr[6] + hr[7])
    by_month = dict(orders.group_by(pl.col("placed_at").dt.month()).len().iter_rows())
    assert by_month[12] > by_month[8] * 1.4                   # Christmas peak, August dip
    store = orders.filter(pl.col("channel") == "store")
    weekday = dict(store.group_by(pl.col("placed_at").dt.weekday()).len().iter_rows())
    assert 7 not in weekday                                   # stores closed on Sundays
    assert max(weekday, key=weekday.get) == 6                 # Saturday is the busiest day
    web = orders.filter(pl.col("channel") == "web")
    assert web.filter(pl.col("placed_at").dt.weekday() == 7).height > 0


def test_behaviour_mix_is_visible_in_the_transactions(demo, orders):
    per = orders.sort("placed_at").group_by("customer").agg(
        n=pl.len(), first=pl.col("placed_at").min(), last=pl.col("placed_at").max(),
        max_gap=pl.col("placed_at").diff().dt.total_days().max(),
    )
    n = demo.people.height
    today = pl.lit(TODAY).cast(pl.Datetime("us")).dt.replace_time_zone(SPEC.time_zone)
    days_since = (today - pl.col("last")).dt.total_days()
    one_time = per.filter(pl.col("n") == 1).height / n
    loyal = per.filter(pl.col("n") >= 12).height / n
    churned = per.filter((pl.col("n") >= 2) & (days_since >= 365)).height / n
    returning = per.filter((pl.col("max_gap") >= 240) & (days_since <= 200)).height / n
    new = per.filter((today - pl.col("first")).dt.total_days() <= 180).height / n
    assert 0.15 <= one_time <= 0.45
    assert loyal >= 0.05
    assert churned >= 0.05
    assert returning >= 0.02
    assert new >= 0.05
    never = n - per.height
    assert 0 < never / n <= 0.08


def test_revenue_is_concentrated_like_pareto(demo):
    rev = demo.lines.group_by("customer").agg(r=pl.col("line_total_c").sum())["r"].sort(descending=True)
    top = rev.head(int(0.2 * demo.people.height)).sum() / rev.sum()
    assert 0.65 <= top <= 0.85


def test_amounts_are_exact_cents(demo):
    lines = demo.lines
    assert lines["line_total_c"].dtype == pl.Int64
    assert (lines["line_total_c"] == lines["quantity"] * lines["unit_price_c"] - lines["discount_c"]).all()
    assert (lines["discount_c"] >= 0).all() and (lines["line_total_c"] > 0).all()
    assert lines.select(pl.struct("order_key", "line_no").n_unique()).item() == lines.height


def test_the_analytics_core_finds_the_behaviours(demo):
    """BG/NBD fitted on the demo's transactions tells churned customers from loyal ones."""
    from fideliza.analytics.models.bgnbd import BetaGeoFitter
    from fideliza.analytics.summary import summary_data_from_transaction_data

    tx = demo.lines.group_by("order_key").agg(
        customer_id=pl.col("customer").first(), ts=pl.col("placed_at").first(),
        amount=pl.col("line_total_c").sum() / 100)
    summary = summary_data_from_transaction_data(
        tx, period="day", freq_multiplier=7, observation_end=TODAY - timedelta(days=1))
    model = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    alive = summary.with_columns(p=pl.Series(model.conditional_probability_alive(
        summary["frequency"], summary["recency"], summary["T"]))).join(
        demo.people.select(pl.col("person").alias("customer_id"), "segment"), on="customer_id")
    p = dict(alive.filter(pl.col("frequency") > 0).group_by("segment").agg(pl.col("p").mean()).iter_rows())
    assert p["loyal"] > 0.8
    assert p["churned"] < p["occasional"] < p["loyal"]
    assert p["churned"] < 0.6


def test_files_are_written_the_way_each_system_exports(tmp_path):
    d = generate(DemoSpec(customers=200, seed=3, years=1, today=TODAY))
    files = write_demo_files(d, tmp_path)

    tpv = files.tpv_customers.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        tpv.decode("utf-8")
    text = tpv.decode("latin-1")
    assert text.splitlines()[0].startswith("Código cliente;Tipo;Nombre;Apellidos;Razón social")
    assert re.search(r";\d\d/\d\d/\d{4};", text)
    sales = files.tpv_orders.read_bytes().decode("latin-1")
    assert sales.splitlines()[0] == ("Ticket;Fecha;Hora;Tienda;Cliente;Referencia;Descripción;"
                                     "Cantidad;Precio;Coste;Dto")
    assert re.search(r"^[A-Z]{3}-\d{7};\d\d/\d\d/\d{4};\d\d:\d\d;", sales.splitlines()[1])
    assert re.search(r";\d+,\d\d;\d+,\d\d;\d+,\d\d\r?$", sales.splitlines()[1])

    web = files.web_customers.read_text("utf-8")
    assert web.startswith("customer_id,first_name,last_name,")
    assert re.search(r",\d{4}-\d\d-\d\d,", web)
    web_orders = files.web_orders.read_text("utf-8").splitlines()
    assert re.search(r"^W\d+,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d,", web_orders[1])
    assert re.search(r",\d+\.\d\d,\d+\.\d\d,\d+\.\d\d,web,WEB$", web_orders[1])

    products = files.products.read_bytes()
    assert products.startswith("\ufeff".encode())
    assert re.search(r";\d+,\d\d;\d+,\d\d;", products.decode("utf-8-sig"))

    truth = pl.read_csv(files.ground_truth, infer_schema_length=0)
    assert set(truth["tpv_id"].drop_nulls()) == set(d.tpv_customers["Código cliente"])
    assert set(truth["web_id"].drop_nulls()) == set(d.web_customers["customer_id"])
