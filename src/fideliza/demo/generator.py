"""The demo business as data: a Spanish hardware chain's customers, catalog and sales.

Pure functions of (customers, seed, years, today, time zone): no database, no global
random state, no clock. Every random draw comes from generators derived from the seed, one per phase,
so the same arguments give byte-identical frames and files on every machine.

The shape of the data is chosen so that the analytics find real structure:

* each person follows their own purchase process - a Poisson rate drawn per customer
  (gamma heterogeneity, as in the NBD family of models) acting inside the windows in
  which the customer is "alive" - and the behaviour segments (loyal, occasional,
  one-time, churned, returning, new, key accounts) only set those rates and windows;
* seasonality acts twice: on when orders happen (August dip, Christmas peak, Saturdays
  busy, stores closed on Sundays and holidays) and on what is bought (garden in spring,
  fans in summer, heating in autumn);
* people registered in the till ("tpv") and in the web shop ("tienda_online") appear in
  both lists with the differences real lists have: typos, missing accents, names in the
  wrong column, other phone formats, an old e-mail.

Times are generated as local wall-clock times of the business (stores open 9:00-20:30, the
web shop at any hour) and turned into instants once, here, by `wall_times_resolve`: a
wall time the spring change skips moves forward by the gap, and one the autumn change
repeats is its first occurrence. Every time in the frames is therefore a real instant in
`DemoSpec.time_zone`, whatever the date of the run, and the files only format it.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sized
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from . import data as ref

TPV = "tpv"
WEB = "tienda_online"
ProgressFn = Callable[[str], None]

# Behaviour segments: share of persons, (mean orders per year, gamma shape).
PERSON_SEGMENTS: dict[str, tuple[float, tuple[float, float]]] = {
    "loyal": (0.12, (6.0, 3.0)),
    "occasional": (0.32, (2.0, 2.0)),
    "one_time": (0.22, (0.0, 1.0)),
    "churned": (0.13, (4.5, 2.0)),
    "returning": (0.07, (4.0, 2.5)),
    "new": (0.10, (5.0, 2.0)),
    "never": (0.04, (0.0, 1.0)),
}
COMPANY_SEGMENTS: dict[str, tuple[float, tuple[float, float]]] = {
    "key_account": (0.35, (12.0, 3.0)),
    "loyal": (0.35, (9.0, 2.5)),
    "churned": (0.15, (8.0, 2.0)),
    "occasional": (0.15, (3.0, 2.0)),
}
COMPANY_SHARE = 0.03

# Overall traffic by month (Jan…Dec): January sales, the August holidays, Christmas.
MONTH_TRAFFIC = np.array([0.95, 0.88, 1.02, 1.08, 1.10, 1.02, 0.92, 0.55, 1.00, 1.04, 1.10, 1.30])
# Monday…Sunday. Stores close on Sundays; the web shop peaks on Sunday evenings.
STORE_WEEKDAY = np.array([0.95, 0.88, 0.92, 0.97, 1.15, 1.65, 0.0])
WEB_WEEKDAY = np.array([1.10, 1.02, 1.00, 0.98, 0.92, 0.85, 1.15])
STORE_HOURS = {9: 0.07, 10: 0.13, 11: 0.15, 12: 0.14, 13: 0.10, 17: 0.10, 18: 0.12, 19: 0.13, 20: 0.06}
WEB_HOURS = np.array([0.012, 0.006, 0.004, 0.003, 0.003, 0.005, 0.012, 0.025, 0.040, 0.055, 0.060,
                      0.062, 0.060, 0.055, 0.045, 0.045, 0.048, 0.052, 0.058, 0.065, 0.074, 0.078,
                      0.066, 0.032])
ANNUAL_GROWTH = 1.06        # the business grows a little every year
WEB_EXTRA_GROWTH = 1.12     # and the web shop grows faster than the stores
PRICE_INFLATION = 1.035     # list prices go up every 1st of January

LEVEL_WEIGHT = {"entry": 3.0, "value": 2.6, "main": 1.2, "premium": 0.5, "": 1.5}
# What a customer buys shifts along the relationship path as they come back (seed 002 §6).
EARLY_SHIFT = {"entry": 1.6, "value": 1.2, "main": 0.8, "premium": 0.4, "": 1.0}
LATE_SHIFT = {"entry": 0.8, "value": 1.0, "main": 1.25, "premium": 1.7, "": 1.0}

INTEREST_WEIGHTS = {
    "bricolaje": 0.22, "jardinería": 0.14, "pintura": 0.11, "fontanería": 0.08,
    "electricidad": 0.09, "carpintería": 0.06, "huerto": 0.06, "climatización": 0.04,
    "decoración": 0.08, "cocina": 0.05, "seguridad del hogar": 0.04, "piscina": 0.03,
}
PREFERRED_CHANNELS = (("email", 0.42), ("whatsapp", 0.25), ("phone", 0.15), ("sms", 0.12), ("post", 0.06))
CONTACT_TIMES = (("", 0.40), ("morning", 0.25), ("afternoon", 0.22), ("evening", 0.13))
CHANNEL_LABEL_TPV = {"email": "E-mail", "whatsapp": "WhatsApp", "phone": "Teléfono", "sms": "SMS",
                     "post": "Correo postal"}
CONTACT_TIME_LABEL = {"": "", "morning": "Mañana", "afternoon": "Tarde", "evening": "Noche"}
PERSON_NOTES = (
    "Pide factura con IVA desglosado.", "Avisar cuando llegue la pintura de exterior.",
    "Reformando la cocina; volverá a por grifería.", "Prefiere que le atienda Pepe.",
    "Tiene huerto en Alzira; compra semillas cada temporada.", "Llamar solo por la tarde.",
    "Cliente de toda la vida; conoce al dueño.", "Pidió presupuesto de cortacésped.",
)
COMPANY_NOTES = (
    "Factura mensual agrupada.", "Pago a 30 días por transferencia.", "Entregas en obra por la mañana.",
    "Solicita tarifa de profesional.", "Contacto de compras: administración.",
    "Pedido grande cada trimestre.", "Revisar condiciones de descuento en enero.",
)
NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
PROVINCE_CODE = {"VLC": 46, "ALC": 3, "MUR": 30}


@dataclass(frozen=True)
class DemoSpec:
    customers: int = 5000
    seed: int = 42
    years: int = 3
    today: date = date(2026, 1, 1)
    # The business's zone (settings.TIME_ZONE): local times are resolved in it.
    time_zone: str = "Europe/Madrid"

    def __post_init__(self) -> None:
        if self.customers < 20:
            raise ValueError("the demo needs at least 20 customers")
        if not 1 <= self.years <= 10:
            raise ValueError("years must be between 1 and 10")


@dataclass
class DemoData:
    """Everything the demo loads, as frames. Text frames are exactly what the files hold."""

    spec: DemoSpec
    stores: pl.DataFrame
    products: pl.DataFrame
    people: pl.DataFrame          # ground truth: one row per real person or company
    tpv_customers: pl.DataFrame   # the till's export, every cell already text
    web_customers: pl.DataFrame   # the web shop's export, every cell already text
    lines: pl.DataFrame           # every order line, typed (cents; placed_at aware, in spec.time_zone)
    returns: pl.DataFrame         # goods brought back: one row per returned line (returned_at aware)

    @property
    def start(self) -> date:
        return history_start(self.spec)


def _rng(spec: DemoSpec, phase: int) -> np.random.Generator:
    """One independent stream per phase: a change in one phase leaves the others alone."""
    return np.random.default_rng([spec.seed, phase])


def history_start(spec: DemoSpec) -> date:
    try:
        return spec.today.replace(year=spec.today.year - spec.years)
    except ValueError:  # 29 February
        return spec.today.replace(year=spec.today.year - spec.years, day=28)


def wall_times_resolve(naive: pl.Series, time_zone: str) -> pl.Series:
    """Local wall-clock times -> instants in `time_zone` (Datetime with that zone).

    The rule is Python's (PEP 495, `fold=0`), which is also how the importer reads local
    times: a time in the spring-forward gap (02:30 on the last Sunday of March in Madrid)
    is read with the offset in force before the change, i.e. it moves forward by the gap
    (03:30 CEST); a time the autumn change repeats is its first occurrence (summer time).
    No result is ever null, whatever the zone or the date.
    """
    local = naive.dt.replace_time_zone(time_zone, ambiguous="earliest", non_existent="null")
    gap = local.is_null() & naive.is_not_null()
    if gap.any():  # a handful of rows a year: zoneinfo gives the exact PEP 495 answer
        tz = ZoneInfo(time_zone)
        moved = [w.replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
                 for w in naive.filter(gap).to_list()]
        fixed = pl.Series(naive.name, moved, dtype=pl.Datetime("us")) \
            .dt.replace_time_zone("UTC").dt.convert_time_zone(time_zone)
        local = local.scatter(gap.arg_true(), fixed)
    return local


def order_wall_times(start: date, day: pl.Series, hour: pl.Series, minute: pl.Series,
                     second: pl.Series, time_zone: str) -> pl.Series:
    """When each order was placed: day index from `start` plus a local time of day."""
    parts = pl.DataFrame([day.alias("d"), hour.alias("h"), minute.alias("m"), second.alias("s")])
    naive = parts.select(
        placed_at=pl.lit(start).cast(pl.Datetime("us")) + pl.duration(days="d", hours="h", minutes="m", seconds="s")
    ).to_series()
    return wall_times_resolve(naive, time_zone)


def return_wall_times(placed_at: pl.Series, days: pl.Series, time_zone: str) -> pl.Series:
    """Goods come back `days` calendar days later at the same local time of day."""
    parts = pl.DataFrame([placed_at.dt.replace_time_zone(None).alias("p"), days.alias("d")])
    naive = parts.select(returned_at=pl.col("p") + pl.duration(days="d")).to_series()
    return wall_times_resolve(naive, time_zone)


def _zipf(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


@lru_cache(maxsize=65536)
def strip_accents(text: str) -> str:
    """'Muñoz, 3º' -> 'Munoz, 3º' (NFD keeps the ordinal signs old tills print)."""
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


def strip_vowel_accents(text: str) -> str:
    """How people type without accents: 'Muñoz Álvarez' -> 'Muñoz Alvarez' (ñ stays)."""
    out = []
    for ch in text:
        out.append(ch if ch in "ñÑ" else strip_accents(ch))
    return "".join(out)


def _slug(text: str) -> str:
    return "".join(ch for ch in strip_accents(text).lower() if ch.isalnum())


# ---------------------------------------------------------------- catalog

def generate_catalog(spec: DemoSpec) -> pl.DataFrame:
    rng = _rng(spec, 1)
    rows = []
    for cat_idx, (root, child, prefix, (m_lo, m_hi), *_rest) in enumerate(ref.CATEGORIES):
        path = f"{root} > {child}" if child else root
        for i, (name, price, level) in enumerate(ref.PRODUCTS[prefix]):
            margin = rng.uniform(m_lo, m_hi)
            price_c = round(price * 100)
            cost_c = round(price_c * (1 - margin))
            # A product in ten has no level yet: the owner has not placed it on the path.
            lvl = "" if rng.random() < 0.1 else level
            rows.append({
                "sku": f"{prefix}-{i + 1:04d}",
                "name": name,
                "category": path,
                "category_idx": cat_idx,
                "list_price_c": price_c,
                "unit_cost_c": cost_c,
                "path_level": lvl,
                "per_metre": "(metro)" in name,
                "popularity": LEVEL_WEIGHT[level] * float(rng.lognormal(0.0, 0.5)),
                "level_true": level,
            })
    return pl.DataFrame(rows)


# ---------------------------------------------------------------- calendar

@dataclass
class Calendar:
    start: date
    days: int
    month: np.ndarray      # 1…12
    weekday: np.ndarray    # 0 = Monday
    year: np.ndarray
    store_open: np.ndarray
    cum_store: np.ndarray  # cumulative normalised intensity, len days + 1
    cum_web: np.ndarray
    next_open: np.ndarray


def build_calendar(spec: DemoSpec) -> Calendar:
    start = history_start(spec)
    days = (spec.today - start).days
    d64 = np.datetime64(start, "D") + np.arange(days)
    month = d64.astype("datetime64[M]").astype(int) % 12 + 1
    year = d64.astype("datetime64[Y]").astype(int) + 1970
    dom = (d64 - d64.astype("datetime64[M]")).astype(int) + 1
    weekday = (d64.astype(int) + 3) % 7
    holiday = np.zeros(days, dtype=bool)
    for m, d in ref.CLOSED_HOLIDAYS:
        holiday |= (month == m) & (dom == d)
    t_years = np.arange(days) / 365.25
    base = MONTH_TRAFFIC[month - 1] * ANNUAL_GROWTH ** t_years
    christmas = (month == 12) & (dom >= 10) & (dom <= 24)
    # Black Friday: the day after the fourth Thursday of November, through Cyber Monday.
    black = np.zeros(days, dtype=bool)
    for y in np.unique(year):
        first = date(int(y), 11, 1)
        thursday4 = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
        bf = np.datetime64(thursday4 + timedelta(days=1), "D")
        black |= (d64 >= bf) & (d64 <= bf + 3)
    store_open = (weekday != 6) & ~holiday
    w_store = base * STORE_WEEKDAY[weekday] * np.where(christmas, 1.35, 1.0) \
        * np.where(black, 1.2, 1.0) * store_open
    w_web = base * WEB_WEEKDAY[weekday] * np.where(christmas, 1.25, 1.0) \
        * np.where(black, 1.8, 1.0) * (WEB_EXTRA_GROWTH ** t_years)
    w_store = w_store / w_store.mean()
    w_web = w_web / w_web.mean()
    idx = np.where(store_open, np.arange(days), days)
    next_open = np.minimum.accumulate(idx[::-1])[::-1]
    last_open = int(np.flatnonzero(store_open)[-1])
    next_open = np.where(next_open >= days, last_open, next_open)
    return Calendar(
        start=start, days=days, month=month, weekday=weekday, year=year, store_open=store_open,
        cum_store=np.concatenate([[0.0], np.cumsum(w_store)]),
        cum_web=np.concatenate([[0.0], np.cumsum(w_web)]),
        next_open=next_open,
    )


def _sample_days(rng: np.random.Generator, cum: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One day per (a, b) window, drawn in proportion to the daily intensity (inverse CDF)."""
    lo, hi = cum[a], cum[b]
    u = lo + rng.random(len(a)) * (hi - lo)
    day = np.searchsorted(cum, u, side="right") - 1
    return np.clip(day, a, b - 1)


# ---------------------------------------------------------------- people

def _pick(rng: np.random.Generator, options: Sized, weights: np.ndarray | list, n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(options), size=n, p=w / w.sum())


def _nif(number: int) -> str:
    return f"{number:08d}{NIF_LETTERS[number % 23]}"


def _cif(letter: str, province: int, number: int) -> str:
    digits = f"{province:02d}{number:05d}"
    even = sum(int(digits[i]) for i in (1, 3, 5))
    odd = sum(sum(divmod(int(digits[i]) * 2, 10)) for i in (0, 2, 4, 6))
    control = (10 - (even + odd) % 10) % 10
    tail = str(control) if letter in "ABEH" else "JABCDEFGHI"[control]
    return f"{letter}{digits}{tail}"


def generate_people(spec: DemoSpec, cal: Calendar) -> pl.DataFrame:
    """The true customer base: one row per person or company, before any list mangles it."""
    rng = _rng(spec, 2)
    n = spec.customers
    n_comp = max(3, round(n * COMPANY_SHARE))
    n_pers = n - n_comp
    is_company = np.zeros(n, dtype=bool)
    is_company[rng.choice(n, size=n_comp, replace=False)] = True

    seg_names = list(PERSON_SEGMENTS)
    comp_names = list(COMPANY_SEGMENTS)
    segment = np.empty(n, dtype=object)
    segment[~is_company] = np.array(seg_names, dtype=object)[
        _pick(rng, seg_names, [v[0] for v in PERSON_SEGMENTS.values()], n_pers)]
    segment[is_company] = np.array(comp_names, dtype=object)[
        _pick(rng, comp_names, [v[0] for v in COMPANY_SEGMENTS.values()], n_comp)]

    # Which lists the customer is in. Web registrations that never bought exist only online.
    lists = np.array(["tpv", "web", "both"], dtype=object)[_pick(rng, (0, 1, 2), [0.57, 0.24, 0.19], n)]
    lists[segment == "never"] = np.where(rng.random(int((segment == "never").sum())) < 0.8, "web", "both")
    comp_lists = np.where(rng.random(n) < 0.8, "tpv", "both")
    lists[is_company] = comp_lists[is_company]
    in_tpv = lists != "web"

    store_codes = list(ref.STORE_WEIGHTS)
    home_store = np.array(store_codes, dtype=object)[_pick(rng, store_codes, list(ref.STORE_WEIGHTS.values()), n)]

    # Where they live: near their store, or anywhere in Spain for the web shop.
    cities = ref.CITIES
    pop = np.array([c[4] for c in cities], dtype=float)
    province = np.array([c[1] for c in cities], dtype=object)
    city_idx = np.empty(n, dtype=int)
    web_w = pop * np.where(np.isin(province, ["Valencia", "Alicante", "Murcia"]), 3.0, 1.0)
    anywhere = _pick(rng, cities, pop, n)
    web_city = _pick(rng, cities, web_w, n)
    local_city = {code: _pick(rng, cities, pop * np.isin(province, ref.STORE_PROVINCES[code]), n)
                  for code in store_codes}
    near_home = rng.random(n) < 0.88
    for code in store_codes:
        sel = in_tpv & (home_store == code)
        city_idx[sel] = np.where(near_home[sel] | is_company[sel], local_city[code][sel], anywhere[sel])
    city_idx[~in_tpv] = web_city[~in_tpv]
    cp_off = rng.integers(0, 1_000_000, n)
    postal = [f"{cities[c][2] + cp_off[i] % cities[c][3]:05d}" for i, c in enumerate(city_idx)]

    female = rng.random(n) < 0.42
    f_idx = _pick(rng, ref.FEMALE_NAMES, _zipf(len(ref.FEMALE_NAMES), 0.8), n)
    m_idx = _pick(rng, ref.MALE_NAMES, _zipf(len(ref.MALE_NAMES), 0.8), n)
    sur_w = _zipf(len(ref.SURNAMES), 0.75)
    s1 = _pick(rng, ref.SURNAMES, sur_w, n)
    s2 = _pick(rng, ref.SURNAMES, sur_w, n)
    street = _pick(rng, ref.STREETS, np.ones(len(ref.STREETS)), n)
    number = rng.integers(1, 140, n)
    flat = rng.random(n) < 0.6
    floor_no = rng.integers(1, 9, n)
    door = np.array(list("ABCDEF"), dtype=object)[rng.integers(0, 6, n)]
    age = np.clip(rng.normal(49, 14, n), 19, 90)
    birth_off = (age * 365.25).astype(int)
    birth = [spec.today - timedelta(days=int(x)) for x in birth_off]

    interest_names = list(INTEREST_WEIGHTS)
    iw = np.array(list(INTEREST_WEIGHTS.values()))
    n_interests = np.where(rng.random(n) < 0.15, 0, rng.integers(1, 4, n))
    # k interests without replacement, weighted: the k largest of log(w) + Gumbel noise.
    ranked = np.argsort(-(np.log(iw)[None, :] - np.log(-np.log(rng.random((n, len(iw)))))), axis=1)
    interests = [sorted(interest_names[j] for j in ranked[i, :k]) for i, k in enumerate(n_interests.tolist())]
    pref = np.array([c for c, _ in PREFERRED_CHANNELS], dtype=object)[
        _pick(rng, PREFERRED_CHANNELS, [w for _, w in PREFERRED_CHANNELS], n)]
    ctime = np.array([c for c, _ in CONTACT_TIMES], dtype=object)[
        _pick(rng, CONTACT_TIMES, [w for _, w in CONTACT_TIMES], n)]

    # Purchase process parameters (orders per year, spend scale, share of web orders).
    lam = np.zeros(n)
    for name, (_, (mean, shape)) in PERSON_SEGMENTS.items():
        sel = ~is_company & (segment == name)
        if mean > 0:
            lam[sel] = rng.gamma(shape, mean / shape, int(sel.sum()))
    for name, (_, (mean, shape)) in COMPANY_SEGMENTS.items():
        sel = is_company & (segment == name)
        lam[sel] = rng.gamma(shape, mean / shape, int(sel.sum()))
    spend = np.where(is_company,
                     np.where(segment == "key_account", rng.uniform(1.8, 4.0, n), rng.uniform(1.2, 2.5, n)),
                     rng.lognormal(0.0, 0.4, n))
    web_share = np.select([lists == "tpv", lists == "web"], [0.0, 1.0], rng.beta(2.0, 2.0, n))

    # Windows (day indexes from the history start; negative = before the data begins).
    D = cal.days
    u = rng.random(n)
    acq = np.zeros(n, dtype=int)
    win1_a = np.zeros(n, dtype=int)
    win1_b = np.zeros(n, dtype=int)
    win2_a = np.zeros(n, dtype=int)
    win2_b = np.zeros(n, dtype=int)
    comeback = np.full(n, -1, dtype=int)

    def between(lo: float, hi: float, sel: np.ndarray) -> np.ndarray:
        return (lo + u[sel] * (hi - lo)).astype(int)

    sel = segment == "loyal"
    acq[sel] = between(-3 * 365, D - 240, sel)
    win1_b[sel] = D
    sel = segment == "key_account"
    acq[sel] = between(-5 * 365, D - 200, sel)
    win1_b[sel] = D
    sel = segment == "occasional"
    acq[sel] = between(-1.5 * 365, D - 120, sel)
    life = rng.exponential(6 * 365, n).astype(int)
    win1_b[sel] = np.clip(acq[sel] + life[sel], 1, D)
    sel = segment == "one_time"
    acq[sel] = between(0, D - 1, sel)
    sel = segment == "never"
    acq[sel] = between(D - 2 * 365, D - 1, sel)
    sel = segment == "churned"
    churn_day = (D - rng.uniform(365, 730, n)).astype(int)
    acq[sel] = (churn_day[sel] - 60 - u[sel] * 2 * 365).astype(int)
    win1_b[sel] = np.maximum(churn_day[sel], 1)
    sel = segment == "returning"
    gap_end = (D - rng.uniform(20, 200, n)).astype(int)
    gap_start = gap_end - rng.uniform(240, 480, n).astype(int)
    acq[sel] = (gap_start[sel] - 90 - u[sel] * 2 * 365).astype(int)
    win1_b[sel] = np.maximum(gap_start[sel], 1)
    win2_a[sel] = gap_end[sel] + 1
    win2_b[sel] = D
    comeback[sel] = gap_end[sel]
    sel = segment == "new"
    acq[sel] = between(D - 180, D - 1, sel)
    win1_b[sel] = D
    win1_a[:] = np.maximum(acq + 1, 0)
    win1_b[:] = np.maximum(win1_b, win1_a)
    # The first list a "both" customer joined; the other one later.
    acq_channel_idx = np.empty(n, dtype=int)
    ch = ref.ACQUISITION_CHANNELS  # tienda, web, recomendación, feria, redes sociales
    acq_channel_idx[lists == "tpv"] = _pick(rng, ch, [0.62, 0.0, 0.22, 0.06, 0.10], n)[lists == "tpv"]
    acq_channel_idx[lists == "web"] = _pick(rng, ch, [0.0, 0.58, 0.14, 0.0, 0.28], n)[lists == "web"]
    acq_channel_idx[lists == "both"] = _pick(rng, ch, [0.42, 0.25, 0.15, 0.04, 0.14], n)[lists == "both"]
    acq_channel_idx[is_company] = _pick(rng, ch, [0.35, 0.0, 0.35, 0.30, 0.0], n)[is_company]
    first_web = np.isin(acq_channel_idx, [1, 4]) & (lists != "tpv")
    second_join = np.minimum(acq + rng.integers(0, 600, n), D - 1)
    tpv_since = np.where(lists == "web", -10**6, np.where(first_web, second_join, acq))
    web_since = np.where(lists == "tpv", -10**6, np.where(first_web, acq, second_join))
    lo_c = np.array([ref.ACQUISITION_COST[c][0] for c in ch])[acq_channel_idx]
    hi_c = np.array([ref.ACQUISITION_COST[c][1] for c in ch])[acq_channel_idx]
    acq_cost_c = np.round((lo_c + rng.random(n) * (hi_c - lo_c)) * 100 * np.where(is_company, 3, 1)).astype(int)

    # Names, e-mails and phones (Python loops: string work, once per customer).
    used_emails: set[str] = set()
    used_phones: set[str] = set()
    domains = [d for d, _ in ref.EMAIL_DOMAINS]
    dom_idx = _pick(rng, domains, [w for _, w in ref.EMAIL_DOMAINS], n)
    email_pattern = rng.integers(0, 7, n)
    email_suffix = rng.integers(1, 99, n)
    phone_digits = rng.integers(0, 10**8, n)
    phone_prefix = np.where(rng.random(n) < 0.9, rng.integers(600, 700, n), rng.integers(710, 750, n))
    comp_kind = rng.integers(0, len(ref.COMPANY_KINDS), n)
    comp_contact = rng.random(n) < 0.6
    nif_num = rng.integers(10_000_000, 80_000_000, n)
    has_nif = rng.random(n) < 0.25
    cif_num = rng.integers(0, 100_000, n)
    employees_u = rng.random(n)
    consent_u = rng.random((n, 5))
    # What a sales rep estimates a company could spend a year with us (share of wallet).
    wallet_c = np.round(lam * spend * 7000 * rng.uniform(1.5, 4.0, n)).astype(np.int64).tolist()
    note_u = rng.random(n).tolist()
    note_idx = rng.integers(0, 1000, n).tolist()
    # Plain Python values for the per-customer string work (numpy scalars are slow there).
    (is_company_l, f_idx, m_idx, s1, s2, street, number, flat, floor_no, door, female, comp_kind,
     home_store_l, comp_contact, cif_num, employees_u, has_nif, in_tpv_l, nif_num, email_pattern,
     email_suffix, dom_idx, phone_prefix, phone_digits, city_idx_l, segment_l, lists_l, pref_l,
     ctime_l, acq_ch_l, consent_l) = (
        a.tolist() for a in (is_company, f_idx, m_idx, s1, s2, street, number, flat, floor_no, door,
                             female, comp_kind, home_store, comp_contact, cif_num, employees_u,
                             has_nif, in_tpv, nif_num, email_pattern, email_suffix, dom_idx,
                             phone_prefix, phone_digits, city_idx, segment, lists, pref, ctime,
                             acq_channel_idx, consent_u))
    columns: dict[str, list] = defaultdict(list)
    for i in range(n):
        is_company_i = is_company_l[i]
        first = ref.FEMALE_NAMES[f_idx[i]] if female[i] else ref.MALE_NAMES[m_idx[i]]
        last = f"{ref.SURNAMES[s1[i]]} {ref.SURNAMES[s2[i]]}"
        street_name = ref.STREETS[street[i]]
        address = f"{street_name}, {number[i]}" + (f", {floor_no[i]}º {door[i]}" if flat[i] else "")
        company_name = tax_id = ""
        employees = None
        interest = interests[i]
        if is_company_i:
            pattern, form, letter, e_lo, e_hi, c_interests = ref.COMPANY_KINDS[comp_kind[i]]
            company_name = pattern.format(s=ref.SURNAMES[s1[i]], s2=ref.SURNAMES[s2[i]],
                                          street=street_name, n=number[i])
            if form:
                company_name += f", {form}"
            tax_id = _cif(letter, PROVINCE_CODE[home_store_l[i]], cif_num[i])
            employees = int(e_lo + employees_u[i] * (e_hi - e_lo + 1))
            interest = sorted(set(c_interests))
            if not comp_contact[i]:
                first = last = ""
            if letter == "H":  # communities of owners write from their administrator's gmail
                email = f"cp.{_slug(street_name)}{number[i]}@gmail.com"
            else:
                words = [w for w in company_name.split(",")[0].split() if w.lower() not in ("e", "y", "de")]
                base = _slug("".join(words))[:30]
                local = ("info", "administracion", "compras", base)[email_pattern[i] % 4]
                email = f"{local}@{base}.es" if local != base else f"{base}@gmail.com"
            prefix = ref.STORE_LANDLINE_PREFIX[home_store_l[i]]
            phone = prefix + f"{phone_digits[i]:08d}"[: 9 - len(prefix)]
            if phone[2] == "0":  # 960…/9680… are not assigned ranges
                phone = phone[:2] + "3" + phone[3:]
        else:
            if has_nif[i] and in_tpv_l[i]:
                tax_id = _nif(nif_num[i])
            f_slug = _slug(first.split()[0])
            l1, l2 = _slug(ref.SURNAMES[s1[i]]), _slug(ref.SURNAMES[s2[i]])
            year = birth[i].year
            local = (f"{f_slug}.{l1}", f"{f_slug}{l1}{l2}", f"{f_slug}_{l1}{email_suffix[i]}",
                     f"{f_slug[0]}{l1}", f"{f_slug}.{l1}{year}", f"{l1}.{f_slug}",
                     f"{f_slug}{l1}{year % 100:02d}")[email_pattern[i]]
            email = f"{local}@{domains[dom_idx[i]]}"
            phone = f"{phone_prefix[i]}{phone_digits[i] % 1_000_000:06d}"
        k = 2
        while email in used_emails:
            at = email.index("@")
            email = f"{email[:at].rstrip('0123456789')}{k}{email[at:]}"
            k += 1
        used_emails.add(email)
        while phone in used_phones:
            phone = phone[:3] + f"{(int(phone[3:]) + 7919) % 10**6:06d}"
        used_phones.add(phone)
        city = cities[city_idx_l[i]]
        record = {
            "person": i,
            "kind": "company" if is_company_i else "person",
            "segment": segment_l[i],
            "lists": lists_l[i],
            "home_store": home_store_l[i],
            "first_name": first,
            "last_name": last if first else "",
            "company_name": company_name,
            "tax_id": tax_id,
            "employees": employees,
            "gender": "" if is_company_i else ("female" if female[i] else "male"),
            "birth_date": None if is_company_i else birth[i],
            "email": email,
            "phone": phone,
            "address": address,
            "postal_code": postal[i],
            "city": city[0],
            "region": city[1],
            "interests": ", ".join(interest),
            "preferred_channel": pref_l[i],
            "preferred_contact_time": ctime_l[i],
            "acquisition_channel": ch[acq_ch_l[i]],
            "wallet_potential_c": wallet_c[i] if is_company_i else None,
            "notes": (COMPANY_NOTES[note_idx[i] % len(COMPANY_NOTES)] if note_u[i] < 0.4 else "")
            if is_company_i else (PERSON_NOTES[note_idx[i] % len(PERSON_NOTES)] if note_u[i] < 0.06 else ""),
            "account_executive": ("comercial1" if home_store_l[i] == "VLC" else "comercial2")
            if is_company_i else "",
            "consent_email": bool(consent_l[i][0] < (0.62 if lists_l[i] != "tpv" else 0.38)),
            "consent_sms": bool(consent_l[i][1] < 0.28),
            "consent_whatsapp": bool(consent_l[i][2] < 0.24),
            "consent_phone": bool(consent_l[i][3] < 0.14),
            "consent_post": bool(consent_l[i][4] < 0.08),
        }
        # Column-wise: a list of 100,000 dicts would hold every key again for every row.
        for key, value in record.items():
            columns[key].append(value)
    people = pl.DataFrame(columns, strict=False)
    return people.with_columns(
        pl.Series("acquisition_day", acq, dtype=pl.Int64),
        pl.Series("acquisition_cost_c", acq_cost_c, dtype=pl.Int64),
        pl.Series("tpv_since_day", tpv_since, dtype=pl.Int64),
        pl.Series("web_since_day", web_since, dtype=pl.Int64),
        pl.Series("rate", lam, dtype=pl.Float64),
        pl.Series("spend", spend, dtype=pl.Float64),
        pl.Series("web_share", web_share, dtype=pl.Float64),
        pl.Series("win1_a", win1_a, dtype=pl.Int64), pl.Series("win1_b", win1_b, dtype=pl.Int64),
        pl.Series("win2_a", win2_a, dtype=pl.Int64), pl.Series("win2_b", win2_b, dtype=pl.Int64),
        pl.Series("comeback_day", comeback, dtype=pl.Int64),
    ).with_columns(
        acquisition_date=pl.lit(cal.start) + pl.duration(days="acquisition_day"),
    )


# ---------------------------------------------------------------- orders

def generate_orders(spec: DemoSpec, cal: Calendar, people: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """All order lines: per-customer Poisson processes inside their alive windows."""
    rng = _rng(spec, 3)
    D = cal.days
    n = people.height
    rate = people["rate"].to_numpy()
    web_share = people["web_share"].to_numpy()
    lists = people["lists"].to_numpy()
    segment = people["segment"].to_numpy()
    is_company = (people["kind"] == "company").to_numpy()
    acq = people["acquisition_day"].to_numpy()
    tpv_since = people["tpv_since_day"].to_numpy()
    web_since = people["web_since_day"].to_numpy()

    cust_parts, day_parts, web_parts = [], [], []

    def add(cust: np.ndarray, days: np.ndarray, web: np.ndarray) -> None:
        cust_parts.append(cust)
        day_parts.append(days)
        web_parts.append(web)

    # The first purchase is the acquisition itself, when it falls inside the history.
    buyers = (segment != "never") & (acq >= 0) & (acq < D)
    first_web = np.where(lists == "web", True, np.where(lists == "tpv", False, rng.random(n) < web_share))
    first_web &= web_since <= acq
    first_web |= lists == "web"
    c = np.flatnonzero(buyers)
    add(c, acq[c], first_web[c])
    # Returning customers come back on a definite day after their gap.
    c = np.flatnonzero(people["comeback_day"].to_numpy() >= 0)
    add(c, people["comeback_day"].to_numpy()[c], rng.random(len(c)) < web_share[c])

    for a_col, b_col in (("win1_a", "win1_b"), ("win2_a", "win2_b")):
        a_all = people[a_col].to_numpy()
        b_all = people[b_col].to_numpy()
        for is_web, cum, since, share in ((False, cal.cum_store, tpv_since, 1 - web_share),
                                       (True, cal.cum_web, web_since, web_share)):
            a = np.clip(np.maximum(a_all, since), 0, D)
            b = np.clip(b_all, 0, D)
            ok = (b > a) & (share > 0) & (rate > 0)
            expected = np.where(ok, rate * share * (cum[b] - cum[np.minimum(a, b)]) / 365.25, 0.0)
            # Customers known before the history starts must show up at least once in it.
            count = rng.poisson(expected)
            if a_col == "win1_a":
                pre = ok & (acq < 0) & (segment != "never") & ((share >= 0.5) | (lists != "both"))
                count = count + (pre & (count == 0))
            idx = np.repeat(np.arange(n), count)
            if len(idx):
                add(idx, _sample_days(rng, cum, a[idx], b[idx]), np.full(len(idx), is_web))

    cust = np.concatenate(cust_parts)
    day = np.concatenate(day_parts).astype(int)
    web = np.concatenate(web_parts).astype(bool)
    # Stores are closed on Sundays and holidays: a store purchase moves to the next open day.
    day = np.where(web, day, cal.next_open[np.clip(day, 0, D - 1)])

    n_orders = len(cust)
    hours_store = np.array(list(STORE_HOURS))
    h_store = hours_store[_pick(rng, hours_store, list(STORE_HOURS.values()), n_orders)]
    h_web = _pick(rng, WEB_HOURS, WEB_HOURS, n_orders)
    hour = np.where(web, h_web, h_store)
    minute = np.where(~web & (hour == 20), rng.integers(0, 30, n_orders), rng.integers(0, 60, n_orders))
    second = rng.integers(0, 60, n_orders)
    home = people["home_store"].to_numpy()
    stores = np.array(list(ref.STORE_WEIGHTS), dtype=object)
    elsewhere = stores[rng.integers(0, len(stores), n_orders)]
    store = np.where(web, "WEB", np.where(rng.random(n_orders) < 0.92, home[cust], elsewhere))

    orders = pl.DataFrame({
        "customer": cust.astype(np.int64), "day": day.astype(np.int64), "hour": hour.astype(np.int64),
        "minute": minute.astype(np.int64), "second": second.astype(np.int64), "web": web,
        "store": store.astype(str),
    }).sort(["day", "hour", "minute", "second", "customer", "web"])
    # The same customer at the same store on the same day is one visit, one ticket.
    orders = orders.unique(subset=["customer", "day", "web", "store"], keep="first", maintain_order=True)
    orders = orders.with_row_index("order_key").with_columns(
        pl.col("order_key").cast(pl.Int64),
        seq=pl.int_range(pl.len()).over("customer"),
    )
    n_orders = orders.height
    o_cust = orders["customer"].to_numpy()
    o_day = orders["day"].to_numpy()
    o_web = orders["web"].to_numpy()
    o_company = is_company[o_cust]
    o_seg = segment[o_cust]
    mu = np.where(o_company, np.where(o_seg == "key_account", 3.0, 2.0), np.where(o_web, 1.3, 0.9))
    n_lines = np.minimum(1 + rng.poisson(mu), 12)
    line_order = np.repeat(np.arange(n_orders), n_lines)
    n_total = len(line_order)

    # What is bought: category by month and interests (Gumbel-max), product by popularity.
    cats = ref.CATEGORIES
    n_cat = len(cats)
    season = np.array([c[6] for c in cats])            # (cat, 12)
    share = np.array([c[5] for c in cats])
    base_logit = np.log(share[None, :] * season.T)      # (12, cat)
    roots = [c[0] for c in cats]
    boost = np.zeros((n, n_cat), dtype=np.float32)
    tags = people["interests"].str.split(", ")
    for name, interest_roots in ref.INTERESTS.items():
        has = tags.list.contains(name).fill_null(False).to_numpy()
        for k, root in enumerate(roots):
            if root in interest_roots:
                boost[has, k] = 1.1
    line_cust = o_cust[line_order]
    line_month = cal.month[o_day[line_order]] - 1
    category = np.empty(n_total, dtype=np.int64)
    chunk = 200_000
    for lo in range(0, n_total, chunk):
        hi = min(lo + chunk, n_total)
        logits = base_logit[line_month[lo:hi]] + boost[line_cust[lo:hi]]
        gumbel = -np.log(-np.log(rng.random((hi - lo, n_cat))))
        category[lo:hi] = np.argmax(logits + gumbel, axis=1)

    prod_cat = products["category_idx"].to_numpy()
    pop = products["popularity"].to_numpy()
    level = products["level_true"].to_numpy()
    early = pop * np.array([EARLY_SHIFT[x] for x in level])
    late = pop * np.array([LATE_SHIFT[x] for x in level])

    def grid(weights: np.ndarray) -> np.ndarray:
        # Within each category, cumulative shares in (cat, cat + 1]: one searchsorted for all.
        out = np.empty(len(weights))
        for k in range(n_cat):
            sel = prod_cat == k
            w = weights[sel]
            out[sel] = k + np.cumsum(w) / w.sum()
        return out

    g_early, g_late = grid(early), grid(late)
    seq = orders["seq"].to_numpy()[line_order]
    u = rng.random(n_total)
    product = np.where(seq < 3, np.searchsorted(g_early, category + u), np.searchsorted(g_late, category + u))
    product = np.minimum(product, len(prod_cat) - 1)

    typical = np.array([c[4] for c in cats])[category]
    qty = 1 + rng.poisson(np.maximum(typical - 1, 0))
    spend = people["spend"].to_numpy()[line_cust]
    qty = np.maximum(1, np.round(qty * spend)).astype(np.int64)
    per_metre = products["per_metre"].to_numpy()[product]
    qty = np.where(per_metre, qty * rng.integers(5, 26, n_total), qty)

    # Prices rise every 1st of January; history shows the prices of its time.
    years_back = spec.today.year - cal.year[o_day[line_order]]
    factor = PRICE_INFLATION ** years_back.astype(float)
    price_c = np.round(products["list_price_c"].to_numpy()[product] / factor).astype(np.int64)
    cost_c = np.round(products["unit_cost_c"].to_numpy()[product] / factor).astype(np.int64)

    # Discounts: trade discount for companies, loyalty card, January and July sales,
    # Black Friday on the web, a welcome coupon on the first web order.
    month = cal.month[o_day[line_order]]
    l_web = o_web[line_order]
    l_seg = o_seg[line_order]
    l_comp = o_company[line_order]
    rate_pct = np.zeros(n_total)
    rate_pct = np.where(l_comp, np.where(l_seg == "key_account", 15.0, 10.0), rate_pct)
    order_u = rng.random(n_orders)[line_order]
    line_u = rng.random(n_total)
    loyal_card = ~l_comp & (l_seg == "loyal") & (order_u < 0.2)
    rate_pct = np.where(loyal_card, 5.0, rate_pct)
    sales = ~l_comp & np.isin(month, [1, 7]) & (line_u < 0.15)
    rate_pct = np.where(sales, 15.0, rate_pct)
    day_of = o_day[line_order]
    black = l_web & (cal.month[day_of] == 11) & (line_u < 0.5) & \
        ((cal.cum_web[day_of + 1] - cal.cum_web[day_of]) > 1.5)
    rate_pct = np.where(black & ~l_comp, 20.0, rate_pct)
    welcome = l_web & (seq == 0) & (order_u < 0.5) & ~l_comp
    rate_pct = np.where(welcome & (rate_pct == 0), 10.0, rate_pct)
    gross = qty * price_c
    discount_c = np.round(gross * rate_pct / 100).astype(np.int64)

    lines = pl.DataFrame({
        "order_key": line_order.astype(np.int64),
        "product": product.astype(np.int64),
        "quantity": qty,
        "unit_price_c": price_c,
        "unit_cost_c": cost_c,
        "discount_c": discount_c,
    })
    # A second line for a product already in the basket adds to that line.
    lines = (
        lines.group_by(["order_key", "product"], maintain_order=True)
        .agg(pl.col("quantity").sum(), pl.col("unit_price_c").first(), pl.col("unit_cost_c").first(),
             pl.col("discount_c").sum())
        .with_columns(line_no=pl.int_range(1, pl.len() + 1).over("order_key"))
    )
    lines = lines.with_columns(
        sku=products["sku"].gather(lines["product"]),
        description=products["name"].gather(lines["product"]),
        line_total_c=pl.col("quantity") * pl.col("unit_price_c") - pl.col("discount_c"),
    )
    orders = orders.with_columns(order_wall_times(
        cal.start, orders["day"], orders["hour"], orders["minute"], orders["second"], spec.time_zone))
    # Order numbers as each system would print them: per-store ticket counters, web order ids.
    orders = orders.with_columns(
        source=pl.when(pl.col("web")).then(pl.lit(WEB)).otherwise(pl.lit(TPV)),
        counter=pl.int_range(1, pl.len() + 1).over("store"),
    ).with_columns(
        order_id=pl.when(pl.col("web"))
        .then(pl.format("W{}", pl.col("counter") + 100_000))
        .otherwise(pl.format("{}-{}", pl.col("store"), pl.col("counter").cast(pl.String).str.zfill(7))),
        channel=pl.when(pl.col("web")).then(pl.lit("web")).otherwise(pl.lit("store")),
    )
    return lines.join(
        orders.select("order_key", "order_id", "source", "customer", "placed_at", "channel", "store", "seq"),
        on="order_key", how="left",
    ).sort(["order_key", "line_no"])


# ---------------------------------------------------------------- the two lists

PHONE_FORMATS_TPV = (("spaced", 0.50), ("plain", 0.35), ("dotted", 0.05), ("intl_spaced", 0.10))
PHONE_FORMATS_WEB = (("e164", 0.40), ("intl_groups", 0.20), ("zero_zero", 0.12), ("plain", 0.23),
                     ("paren", 0.05))


def format_phone(national: str, style: str) -> str:
    """A Spanish number (9 digits) the way a person or a system writes it."""
    d = national
    if style == "spaced":
        return f"{d[:3]} {d[3:5]} {d[5:7]} {d[7:]}"
    if style == "plain":
        return d
    if style == "dotted":
        return f"{d[:3]}.{d[3:5]}.{d[5:7]}.{d[7:]}"
    if style == "intl_spaced":
        return f"+34 {d[:3]} {d[3:5]} {d[5:7]} {d[7:]}"
    if style == "e164":
        return f"+34{d}"
    if style == "intl_groups":
        return f"+34 {d[:3]} {d[3:6]} {d[6:]}"
    if style == "zero_zero":
        return f"0034 {d[:3]}-{d[3:6]}-{d[6:]}"
    if style == "paren":
        return f"(+34) {d[:3]} {d[3:5]} {d[5:7]} {d[7:]}"
    raise ValueError(style)


_KEYBOARD = {"a": "s", "e": "r", "i": "o", "o": "i", "n": "m", "m": "n", "r": "t", "s": "a",
             "l": "k", "t": "r", "c": "v", "d": "s", "u": "y", "z": "x", "g": "h"}


def typo(text: str, rng: np.random.Generator) -> str:
    """One realistic slip: swapped, missing, doubled or neighbouring letter."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(letters) < 4:
        return text
    i = letters[int(rng.integers(1, len(letters) - 1))]
    kind = int(rng.integers(0, 4))
    if kind == 0 and i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == 1:
        return text[:i] + text[i + 1:]
    if kind == 2:
        return text[:i] + text[i] + text[i:]
    repl = _KEYBOARD.get(text[i].lower())
    if repl is None:
        return text[:i] + text[i + 1:]
    return text[:i] + (repl.upper() if text[i].isupper() else repl) + text[i + 1:]


def _abbreviate_address(address: str) -> str:
    return (address.replace("Calle ", "C/ ").replace("Avenida ", "Avda. ")
            .replace("Plaza ", "Pza. ").replace("Camino ", "Cno. "))


def _dmy(d: date | None) -> str:
    return "" if d is None else f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def _iso(d: date | None) -> str:
    return "" if d is None else d.isoformat()


def _cents(c: int | None, sep: str) -> str:
    if c is None:
        return ""
    sign = "-" if c < 0 else ""
    c = abs(int(c))
    return f"{sign}{c // 100}{sep}{c % 100:02d}"


def _append(columns: dict[str, list], record: dict) -> None:
    """Rows kept column-wise: a list of dicts repeats every key in every row."""
    for key, value in record.items():
        columns[key].append(value)


def generate_lists(spec: DemoSpec, cal: Calendar, people: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The till's and the web shop's customer exports, and the id each gave each person."""
    rng = _rng(spec, 4)
    start = cal.start
    legacy_day = cal.days - 2 * 365  # records older than this came from the old till, in capitals
    tpv_rows: dict[str, list] = defaultdict(list)
    web_rows: dict[str, list] = defaultdict(list)
    ids: dict[str, list] = defaultdict(list)
    tpv_people = people.filter(pl.col("lists") != "web").sort(["tpv_since_day", "person"])
    web_people = people.filter(pl.col("lists") != "tpv").sort(["web_since_day", "person"])
    tpv_id = {p: f"C{k + 1:06d}" for k, p in enumerate(tpv_people["person"].to_list())}
    web_id = {p: str(1000 + 7 * k + int(rng.integers(0, 7))) for k, p in enumerate(web_people["person"].to_list())}

    tpv_phone_style = [s for s, _ in PHONE_FORMATS_TPV]
    web_phone_style = [s for s, _ in PHONE_FORMATS_WEB]
    tpv_w = [w for _, w in PHONE_FORMATS_TPV]
    web_w = [w for _, w in PHONE_FORMATS_WEB]
    domains = [d for d, _ in ref.EMAIL_DOMAINS]
    n = people.height
    tpv_style = np.array(tpv_phone_style)[_pick(rng, tpv_phone_style, tpv_w, n)].tolist()
    web_style = np.array(web_phone_style)[_pick(rng, web_phone_style, web_w, n)].tolist()
    draws = rng.random((n, 27)).tolist()
    known_emails = set(people["email"].to_list())

    for row, rec in enumerate(people.iter_rows(named=True)):
        p = rec["person"]
        both = rec["lists"] == "both"
        company = rec["kind"] == "company"
        first, last = rec["first_name"], rec["last_name"]
        # The differences a real pair of lists shows, decided once per person.
        u = draws[row]
        typo_in = ("tpv" if u[0] < 0.5 else "web") if u[1] < 0.18 else ""
        swapped_in = ("tpv" if u[2] < 0.5 else "web") if u[3] < 0.06 else ""
        web_no_accents = u[4] < 0.30
        web_one_surname = u[5] < 0.30 and " " in last
        old_email = both and u[6] < 0.15
        email_upper_in = ("tpv" if u[7] < 0.5 else "web") if u[8] < 0.15 else ""
        tpv_no_phone = u[9] < (0.12 if both else 0.05)
        web_no_phone = u[10] < 0.30
        moved = both and u[11] < 0.05

        if rec["lists"] != "web":
            since = rec["tpv_since_day"]
            legacy = since < legacy_day
            t_first, t_last = first, last
            if typo_in == "tpv":
                t_last = typo(t_last, rng) if u[12] < 0.6 else t_last
                t_first = typo(t_first, rng) if t_last == last else t_first
            if t_first.startswith("María ") and u[13] < 0.3:
                t_first = "Mª " + t_first[6:]
            if swapped_in == "tpv":
                t_first, t_last = t_last, t_first
            company_name = rec["company_name"]
            email = rec["email"]
            if old_email:
                at = email.index("@")
                old = email
                while old in known_emails:
                    old = f"{email[:at]}{int(rng.integers(1, 99))}@{domains[int(rng.integers(0, 4))]}"
                known_emails.add(old)
                email = old
            if legacy:
                t_first, t_last = strip_accents(t_first).upper(), strip_accents(t_last).upper()
                company_name = strip_accents(company_name).upper()
            if email_upper_in == "tpv" or (legacy and u[14] < 0.5):
                email = email.upper()
            if u[15] < (0.25 if legacy else 0.10) and not old_email:
                email = ""
            phone = "" if tpv_no_phone else format_phone(rec["phone"], str(tpv_style[row]))
            if company and phone and phone.startswith("96"):
                phone = f"{rec['phone'][:2]} {rec['phone'][2:5]} {rec['phone'][5:7]} {rec['phone'][7:]}"
            address = _abbreviate_address(rec["address"]) if u[16] < 0.7 else rec["address"]
            if legacy:
                address = strip_accents(address).upper()
            birth = rec["birth_date"] if (not company and u[17] < 0.72) else None
            _append(tpv_rows, {
                "Código cliente": tpv_id[p],
                "Tipo": "Empresa" if company else "Particular",
                "Nombre": t_first,
                "Apellidos": t_last,
                "Razón social": company_name,
                "NIF/CIF": rec["tax_id"],
                "Nº empleados": "" if rec["employees"] is None else str(rec["employees"]),
                "Sexo": {"female": "M", "male": "H"}.get(rec["gender"], "") if u[18] < 0.8 else "",
                "Fecha de nacimiento": _dmy(birth),
                "Teléfono": phone,
                "E-mail": email,
                "Dirección": address,
                "C.P.": rec["postal_code"] if u[19] < 0.95 else "",
                "Población": strip_accents(rec["city"]).upper() if legacy else rec["city"],
                "Provincia": rec["region"],
                "Fecha de alta": _dmy(start + timedelta(days=since)),
                "Canal de captación": rec["acquisition_channel"] if rec["tpv_since_day"] == rec["acquisition_day"] else "tienda",
                "Coste captación": _cents(rec["acquisition_cost_c"], ",") if rec["tpv_since_day"] == rec["acquisition_day"] else "",
                "Intereses": rec["interests"],
                "Canal preferido": CHANNEL_LABEL_TPV[rec["preferred_channel"]],
                "Horario de contacto": CONTACT_TIME_LABEL[rec["preferred_contact_time"]],
                "Acepta e-mail": "Sí" if rec["consent_email"] else "No",
                "Acepta SMS": "Sí" if rec["consent_sms"] else "No",
                # The till always asked for e-mail and SMS; the other boxes were added later
                # and are only ticked when granted (blank = never asked, no consent).
                "Acepta WhatsApp": "Sí" if rec["consent_whatsapp"] else "",
                "Acepta llamadas": "Sí" if rec["consent_phone"] else "",
                "Acepta correo postal": "Sí" if rec["consent_post"] else "",
                "Gasto potencial anual": _cents(rec["wallet_potential_c"], ","),
                "Observaciones": rec["notes"],
                "Tienda": rec["home_store"],
                "Comercial": rec["account_executive"],
            })
            _append(ids, {"person": p, "source": TPV, "external_id": tpv_id[p]})

        if rec["lists"] != "tpv":
            since = rec["web_since_day"]
            w_first, w_last = first, last
            if web_one_surname:
                w_last = w_last.split(" ")[0]
            if web_no_accents:
                w_first, w_last = strip_vowel_accents(w_first), strip_vowel_accents(w_last)
            if typo_in == "web":
                w_last = typo(w_last, rng) if u[20] < 0.6 else w_last
                w_first = typo(w_first, rng) if w_last.startswith(last.split(" ")[0][:2]) and u[21] < 0.4 else w_first
            if swapped_in == "web":
                w_first, w_last = w_last, w_first
            if not web_no_accents and u[22] < 0.15:
                w_first, w_last = w_first.lower(), w_last.lower()
            email = rec["email"].upper() if email_upper_in == "web" else rec["email"]
            if email_upper_in != "web" and u[23] < 0.08:
                email = email[0].upper() + email[1:]
            phone = "" if web_no_phone else format_phone(rec["phone"], str(web_style[row]))
            address = rec["address"]
            postal = rec["postal_code"]
            city = rec["city"]
            region = rec["region"]
            if moved:
                address = f"{ref.STREETS[int(rng.integers(0, len(ref.STREETS)))]}, {int(rng.integers(1, 90))}"
            birth = rec["birth_date"] if (not company and u[24] < 0.5) else None
            if birth is not None and both and u[25] < 0.02 and birth.day <= 12:
                birth = birth.replace(day=birth.month, month=birth.day)
            same_channel = rec["web_since_day"] == rec["acquisition_day"]
            _append(web_rows, {
                "customer_id": web_id[p],
                "first_name": w_first,
                "last_name": w_last,
                "company": rec["company_name"],
                "vat_id": rec["tax_id"] if company else "",
                "email": email,
                "phone": phone,
                "birth_date": _iso(birth),
                "address": address,
                "postal_code": postal,
                "city": city,
                "province": region,
                "country": "ES",
                "registration_date": _iso(start + timedelta(days=since)),
                "acquisition_channel": rec["acquisition_channel"] if same_channel else "web",
                "acquisition_cost": _cents(rec["acquisition_cost_c"], ".") if same_channel else "",
                "interests": rec["interests"].replace(", ", "|"),
                "newsletter": "1" if (rec["consent_email"] if both else u[26] < 0.6) else "0",
                "sms_opt_in": "1" if rec["consent_sms"] else "0",
            })
            _append(ids, {"person": p, "source": WEB, "external_id": web_id[p]})

    str_frame = lambda rows: pl.DataFrame(rows).cast(pl.String)  # noqa: E731
    tpv = str_frame(tpv_rows).sort("Código cliente")
    web = str_frame(web_rows).with_columns(_k=pl.col("customer_id").cast(pl.Int64)).sort("_k").drop("_k")
    return tpv, web, pl.DataFrame(ids)


# ---------------------------------------------------------------- returns

RETURN_RATE = 0.008
# Returns are recorded one by one through the returns service (with its row lock and
# loyalty claw-back): cap them so a 100,000-customer demo does not spend minutes here.
MAX_RETURNS = 800
RETURN_REASONS = ("No era la medida", "Producto defectuoso", "Cambio de opinión",
                  "Comprado por duplicado", "No es compatible")


def generate_returns(spec: DemoSpec, cal: Calendar, lines: pl.DataFrame) -> pl.DataFrame:
    """About one order in 125 brings one line back within a month (never companies)."""
    rng = _rng(spec, 5)
    orders = lines.group_by("order_key", maintain_order=True).agg(
        pl.col("source").first(), pl.col("order_id").first(), pl.col("placed_at").first(),
        pl.col("channel").first(), pl.col("line_no"), pl.col("quantity"),
    )
    n = orders.height
    pick = rng.random(n) < RETURN_RATE
    which = rng.random(n)
    days = rng.integers(1, 31, n)
    partial = rng.random(n) < 0.3
    reason = rng.integers(0, len(RETURN_REASONS), n)
    sel = orders.with_columns(
        pick=pl.Series(pick), which=pl.Series(which), days=pl.Series(days),
        partial=pl.Series(partial), reason=pl.Series(reason),
    ).filter(pl.col("pick"))
    line_idx = (pl.col("which") * pl.col("line_no").list.len()).cast(pl.Int64)
    sel = sel.with_columns(
        line_no=pl.col("line_no").list.get(line_idx),
        bought=pl.col("quantity").list.get(line_idx),
    )
    sel = sel.with_columns(return_wall_times(sel["placed_at"], sel["days"], spec.time_zone)).with_columns(
        quantity=pl.when(pl.col("partial") & (pl.col("bought") > 1)).then(1).otherwise(pl.col("bought")),
        return_id=pl.format("DEV-{}", pl.col("order_id")),
        reason=pl.col("reason").replace_strict(dict(enumerate(RETURN_REASONS)), return_dtype=pl.String),
    )
    open_days = [cal.start + timedelta(days=int(d)) for d in np.flatnonzero(cal.store_open)]
    # Before today, in the business's calendar (a local date: no midnight to resolve).
    sel = sel.filter(pl.col("returned_at").dt.date() < spec.today).filter(
        (pl.col("channel") == "web") | pl.col("returned_at").dt.date().is_in(open_days)
    )
    return sel.head(MAX_RETURNS).select(
        "source", "order_id", "return_id", "line_no", "quantity", "returned_at", "reason")


# ---------------------------------------------------------------- assembly

def generate(spec: DemoSpec, progress: ProgressFn | None = None) -> DemoData:
    say = progress or (lambda _msg: None)
    say("catálogo")
    products = generate_catalog(spec)
    cal = build_calendar(spec)
    say("clientes")
    people = generate_people(spec, cal)
    say("listas de clientes (TPV y tienda online)")
    tpv, web, ids = generate_lists(spec, cal, people)
    say("pedidos")
    lines = generate_orders(spec, cal, people, products)
    id_map = ids.pivot(on="source", index="person", values="external_id")
    for col in (TPV, WEB):
        if col not in id_map.columns:
            id_map = id_map.with_columns(pl.lit(None, dtype=pl.String).alias(col))
    people = people.join(id_map.rename({TPV: "tpv_id", WEB: "web_id"}), on="person", how="left")
    lines = lines.join(people.select("person", "tpv_id", "web_id"), left_on="customer",
                       right_on="person", how="left").with_columns(
        customer_external_id=pl.when(pl.col("source") == WEB).then(pl.col("web_id")).otherwise(pl.col("tpv_id")),
    ).drop("tpv_id", "web_id").sort(["order_key", "line_no"])
    say("devoluciones")
    company_people = people.filter(pl.col("kind") == "company")["person"]
    returns = generate_returns(spec, cal, lines.filter(~pl.col("customer").is_in(company_people.implode())))
    stores = pl.DataFrame([
        {"code": code, "name": name, "city": city, "province": prov, "postal_code": cp, "is_online": online}
        for code, name, city, prov, cp, online in ref.STORES
    ])
    return DemoData(spec=spec, stores=stores, products=products, people=people,
                    tpv_customers=tpv, web_customers=web, lines=lines, returns=returns)
