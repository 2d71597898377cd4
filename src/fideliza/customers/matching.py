"""Finding the same customer in several lists: blocking, pairwise scoring, thresholds.

Pure Polars + rapidfuzz + phonenumbers (no Django), so it can be tested and benchmarked
alone; `customers.services` feeds it the cards and acts on its pairs.

Method (record linkage in the Fellegi–Sunter tradition, Fellegi & Sunter 1969):

1. **Normalise** each card: names lower-cased without accents, e-mail lower-cased, phone in
   E.164, tax id alphanumeric, birth date, postal code.
2. **Block**: only pairs that share at least one blocking key are compared (exact e-mail,
   phone, tax id; the sorted name tokens — catches swapped first/last names and missing
   accents; surname prefix + birth date; first-name prefix + surname prefix + postal code or
   city). Keys shared by too many cards (a shop's generic e-mail, "María García" in Madrid)
   are skipped as blocks: they would cost quadratic work and carry little evidence.
3. **Score**: every agreement or disagreement adds a log-odds weight (the `m/u` ratio of the
   field, set by hand so each is explainable); the sum goes through a logistic to a 0–1
   score. Each pair keeps its reasons as codes (`customers.wording` words them in the
   reader's language for the review queue).
4. **Decide**: score ≥ `auto_merge` merges automatically, ≥ `review` goes to the review
   queue, below is ignored.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import phonenumbers
import polars as pl
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler

FIELDS = (
    "first_name", "last_name", "company_name", "email", "phone", "tax_id", "birth_date",
    "postal_code", "city", "address",
)

# Log-odds weights (natural log). Positive: evidence for "same customer".
PRIOR = -8.0
W_EMAIL_EQ, W_EMAIL_DIFF = 6.5, -0.5  # old e-mails are common: a differing one is weak evidence
W_PHONE_EQ, W_PHONE_DIFF = 5.5, -1.0
W_TAX_EQ, W_TAX_DIFF = 7.0, -7.0
W_BIRTH_EQ, W_BIRTH_DIFF = 4.0, -5.0
W_POSTAL_EQ, W_CITY_EQ = 1.0, 0.5
W_ADDRESS_SIM = 2.5
# Name agreement by similarity band (token-sorted, accent-free).
NAME_BANDS = ((0.97, 5.0), (0.90, 3.5), (0.80, 1.5), (0.65, -1.5))
W_NAME_FAR = -6.0
W_FIRST_NAME_DIFF = -3.5  # same surname, clearly another first name: a relative, not a duplicate


@dataclass(frozen=True)
class MatchConfig:
    auto_merge: float = 0.97
    review: float = 0.50
    max_block_size: int = 30
    phone_region: str = "ES"


def _fold(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch if ch.isalnum() else " " for ch in text if not unicodedata.combining(ch))
    return " ".join(text.split())


def _phone(raw: str | None, region: str) -> str:
    if not raw:
        return ""
    if raw.startswith("+") and raw[1:].isdigit():
        return raw  # already E.164
    try:
        number = phonenumbers.parse(raw.replace("00", "+", 1) if raw.startswith("00") else raw, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_COMPANY_WORDS = {"sl", "sa", "slu", "sll", "scp", "cb", "sociedad", "limitada", "anonima", "y", "de", "del", "la", "los", "las"}


def prepare(cards: pl.DataFrame, config: MatchConfig | None = None) -> pl.DataFrame:
    """Normalised matching columns for a frame of cards with an `id` column and any of FIELDS."""
    config = config or MatchConfig()
    frame = cards.with_columns(
        [pl.lit(None, dtype=pl.String).alias(f) for f in FIELDS if f not in cards.columns]
    ).with_columns(pl.col("birth_date").cast(pl.String))
    first = [_fold(v) for v in frame["first_name"].to_list()]
    last = [_fold(v) for v in frame["last_name"].to_list()]
    company = [" ".join(t for t in _fold(v).split() if t not in _COMPANY_WORDS)
               for v in frame["company_name"].to_list()]
    full = [" ".join(sorted(f"{a} {b}".split())) or c for a, b, c in zip(first, last, company, strict=True)]
    surname = [b.split()[0] if b else (c.split()[-1] if c else "") for b, c in zip(last, company, strict=True)]
    phones = [_phone(v, config.phone_region) for v in frame["phone"].to_list()]
    return pl.DataFrame(
        {
            "id": frame["id"],
            "first": first,
            "last": last,
            "company": company,
            "full": full,
            "surname": surname,
            "email": frame["email"].str.strip_chars().str.to_lowercase().fill_null(""),
            "phone": phones,
            "tax": frame["tax_id"].str.to_uppercase().str.replace_all(r"[^0-9A-Z]", "").fill_null(""),
            "birth": frame["birth_date"].fill_null(""),
            "postal": frame["postal_code"].str.strip_chars().fill_null(""),
            "city": pl.Series([_fold(v) for v in frame["city"].to_list()], dtype=pl.String),
            "address": pl.Series([_fold(v) for v in frame["address"].to_list()], dtype=pl.String),
        }
    )


def _block_keys(p: pl.DataFrame) -> list[pl.Expr]:
    nonempty = lambda c: pl.when(pl.col(c) != "").then(pl.col(c))  # noqa: E731
    first3 = pl.col("first").str.slice(0, 3)
    sur4 = pl.col("surname").str.slice(0, 4)
    return [
        nonempty("email").alias("k"),
        nonempty("phone").alias("k"),
        nonempty("tax").alias("k"),
        nonempty("full").alias("k"),
        pl.when((pl.col("birth") != "") & (pl.col("surname") != ""))
        .then(pl.concat_str([sur4, pl.col("birth")], separator="|")).alias("k"),
        pl.when((pl.col("birth") != "") & (pl.col("first") != ""))
        .then(pl.concat_str([first3, pl.col("birth")], separator="|")).alias("k"),
        pl.when((pl.col("postal") != "") & (pl.col("surname") != ""))
        .then(pl.concat_str([first3, sur4, pl.col("postal")], separator="|")).alias("k"),
        pl.when((pl.col("city") != "") & (pl.col("surname") != ""))
        .then(pl.concat_str([first3, sur4, pl.col("city")], separator="|")).alias("k"),
        # Swapped names with a typo elsewhere: the two name tokens' prefixes, sorted.
        pl.when(pl.col("first") != "").then(
            pl.concat_str([pl.min_horizontal(first3, sur4), pl.max_horizontal(first3, sur4),
                           pl.col("postal")], separator="|")).alias("k"),
    ]


def candidate_pairs(prepared: pl.DataFrame, config: MatchConfig | None = None) -> pl.DataFrame:
    """Distinct (id_a, id_b) with id_a < id_b sharing a blocking key in a block small enough."""
    config = config or MatchConfig()
    blocks = []
    for n, key in enumerate(_block_keys(prepared)):
        keyed = prepared.select("id", key.alias("k")).drop_nulls("k")
        keyed = keyed.filter(pl.len().over("k") <= config.max_block_size)
        keyed = keyed.filter(pl.len().over("k") >= 2).with_columns(pl.lit(n, dtype=pl.Int8).alias("b"))
        blocks.append(keyed)
    keyed = pl.concat(blocks).with_columns(pl.concat_str([pl.col("b").cast(pl.String), pl.col("k")]).alias("k"))
    pairs = (
        keyed.join(keyed, on="k", suffix="_b")
        .filter(pl.col("id") < pl.col("id_b"))
        .select(pl.col("id").alias("id_a"), pl.col("id_b"))
        .unique()
        .sort("id_a", "id_b")
    )
    return pairs


def _sim(a: list[str], b: list[str], scorer) -> np.ndarray:
    if not a:
        return np.zeros(0)
    return process.cpdist(a, b, scorer=scorer, workers=1, dtype=np.float32) / 100.0


def score_pairs(prepared: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Score each candidate pair: columns id_a, id_b, score (0–1), log_odds, reasons."""
    left = pairs.join(prepared, left_on="id_a", right_on="id", how="left")
    both = left.join(prepared, left_on="id_b", right_on="id", how="left", suffix="_b")
    cols = {c: (both[c].to_list(), both[f"{c}_b"].to_list()) for c in
            ("first", "last", "company", "full", "email", "phone", "tax", "birth", "postal", "city", "address")}

    def present(c: str) -> np.ndarray:
        a, b = both[c], both[f"{c}_b"]
        return ((a != "") & (b != "")).to_numpy()

    def equal(c: str) -> np.ndarray:
        return (present(c) & (both[c] == both[f"{c}_b"]).to_numpy())

    name_sim = _sim(*cols["full"], scorer=fuzz.token_sort_ratio)
    company_sim = _sim(*cols["company"], scorer=fuzz.token_set_ratio)
    first_sim = process.cpdist(cols["first"][0], cols["first"][1], scorer=JaroWinkler.normalized_similarity,
                               workers=1, dtype=np.float32) if len(both) else np.zeros(0)
    last_sim = process.cpdist(cols["last"][0], cols["last"][1], scorer=JaroWinkler.normalized_similarity,
                              workers=1, dtype=np.float32) if len(both) else np.zeros(0)
    address_sim = _sim(*cols["address"], scorer=fuzz.token_set_ratio)
    # A person card against a company card: compare the person's surname with the company name.
    person_vs_company = _sim(cols["full"][0], cols["company"][1], scorer=fuzz.partial_token_set_ratio)
    company_vs_person = _sim(cols["company"][0], cols["full"][1], scorer=fuzz.partial_token_set_ratio)

    n = len(both)
    score = np.full(n, PRIOR, dtype=np.float64)
    reasons: list[list[str]] = [[] for _ in range(n)]

    def add(mask: np.ndarray, weight: float, text: str) -> None:
        nonlocal score
        score = score + np.where(mask, weight, 0.0)
        for i in np.flatnonzero(mask):
            reasons[i].append(text)

    add(equal("email"), W_EMAIL_EQ, "email_same")
    add(present("email") & ~equal("email"), W_EMAIL_DIFF, "email_differs")
    add(equal("phone"), W_PHONE_EQ, "phone_same")
    add(present("phone") & ~equal("phone"), W_PHONE_DIFF, "phone_differs")
    add(equal("tax"), W_TAX_EQ, "tax_id_same")
    add(present("tax") & ~equal("tax"), W_TAX_DIFF, "tax_id_differs")
    add(equal("birth"), W_BIRTH_EQ, "birth_date_same")
    add(present("birth") & ~equal("birth"), W_BIRTH_DIFF, "birth_date_differs")
    add(equal("postal"), W_POSTAL_EQ, "postal_code_same")
    add(equal("city") & ~equal("postal"), W_CITY_EQ, "city_same")
    add(present("address") & (address_sim >= 0.9), W_ADDRESS_SIM, "address_similar")

    has_full = present("full")
    both_person = present("first")
    # Names: the best of person-person and company-person similarity.
    cross = np.maximum(person_vs_company, company_vs_person)
    sim = np.where(has_full, name_sim, 0.0)
    sim = np.maximum(sim, np.where(present("company"), company_sim, 0.0))
    cross_only = (sim < 0.8) & (cross >= 0.9)
    sim = np.where(cross_only, 0.85, sim)  # "Reformas García SL" ~ "Juan García": some evidence
    # Spanish cards often drop the second surname ("Clara Sanz" / "Clara Sanz Castro"): the
    # same first name and the shorter surname list leading the longer one agree like a name
    # with one typo, not like a different name.
    surnames_a = [v.split() for v in cols["last"][0]]
    surnames_b = [v.split() for v in cols["last"][1]]
    dropped = np.array([
        len(a) != len(b) and min(len(a), len(b)) >= 1
        and (a[:len(b)] == b if len(a) > len(b) else b[:len(a)] == a)
        for a, b in zip(surnames_a, surnames_b, strict=True)], dtype=bool) if n else np.zeros(0, bool)
    second_dropped = both_person & dropped & (first_sim >= 0.9) & (sim < 0.9)
    sim = np.where(second_dropped, 0.92, sim)
    for i in np.flatnonzero(second_dropped):
        reasons[i].append("second_surname_missing")
    banded = np.zeros(n, dtype=bool)
    for threshold, weight in NAME_BANDS:
        mask = ~banded & (sim >= threshold)
        add(mask, weight, f"name_{'same' if threshold >= 0.97 else 'similar'}:{round(threshold * 100)}")
        banded |= mask
    # A company card against a person card: names are not comparable, so no penalty.
    person_a = ((both["first"] != "") | (both["last"] != "")).to_numpy()
    person_b = ((both["first_b"] != "") | (both["last_b"] != "")).to_numpy()
    company_a = (both["company"] != "").to_numpy() & ~person_a
    company_b = (both["company_b"] != "").to_numpy() & ~person_b
    mixed = (company_a & person_b) | (company_b & person_a)
    add(~banded & (sim > 0) & ~mixed, W_NAME_FAR, "name_differs")
    # Same surnames, clearly another first name: a relative (not applied to swapped cards).
    add(both_person & (last_sim >= 0.9) & (first_sim < 0.75) & (sim >= 0.65), W_FIRST_NAME_DIFF,
        "first_name_differs")

    prob = 1.0 / (1.0 + np.exp(-score))
    return pl.DataFrame(
        {
            "id_a": both["id_a"],
            "id_b": both["id_b"],
            "score": prob,
            "log_odds": score,
            "reasons": ["; ".join(r) for r in reasons],
        }
    )


def match(cards: pl.DataFrame, config: MatchConfig | None = None) -> pl.DataFrame:
    """Candidate pairs scored and labelled `auto`, `review` or `no`, best first."""
    config = config or MatchConfig()
    prepared = prepare(cards, config)
    scored = score_pairs(prepared, candidate_pairs(prepared, config))
    return scored.with_columns(
        pl.when(pl.col("score") >= config.auto_merge).then(pl.lit("auto"))
        .when(pl.col("score") >= config.review).then(pl.lit("review"))
        .otherwise(pl.lit("no")).alias("decision")
    ).sort("score", descending=True)


def match_new_against_base(new_ids: list[int], cards: pl.DataFrame,
                           config: MatchConfig | None = None) -> pl.DataFrame:
    """Pairs involving at least one of `new_ids` (matching on import)."""
    result = match(cards, config)
    return result.filter(pl.col("id_a").is_in(new_ids) | pl.col("id_b").is_in(new_ids))


def evaluate(pairs: pl.DataFrame, truth_entity: pl.DataFrame) -> dict[str, float]:
    """Pairwise precision and recall against a labelled set (`id`, `entity`).

    A true pair is two records of the same entity. Reports the auto-merge decisions alone
    and auto-merge + review together.
    """
    ent = dict(zip(truth_entity["id"].to_list(), truth_entity["entity"].to_list(), strict=True))
    groups: dict[object, int] = {}
    for e in ent.values():
        groups[e] = groups.get(e, 0) + 1
    true_pairs = sum(k * (k - 1) // 2 for k in groups.values())
    out: dict[str, float] = {"true_pairs": float(true_pairs)}
    for name, decisions in (("auto", ("auto",)), ("auto+review", ("auto", "review"))):
        sel = pairs.filter(pl.col("decision").is_in(decisions))
        same = sum(ent[a] == ent[b] for a, b in zip(sel["id_a"].to_list(), sel["id_b"].to_list(), strict=True))
        out[f"{name}_pairs"] = float(len(sel))
        out[f"{name}_precision"] = same / len(sel) if len(sel) else 1.0
        out[f"{name}_recall"] = same / true_pairs if true_pairs else 1.0
    return out
