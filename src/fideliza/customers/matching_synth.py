"""A labelled set of customer cards with known duplicates, to measure matching.

Each duplicate is a second card for an existing person or company with the variations
that real lists show: typos, missing accents, swapped first/last names, phones in other
formats, an old e-mail, a company card for a self-employed person, missing fields. Hard
negatives are included on purpose: relatives sharing a surname, address and landline, and
namesakes (same common name, another person).
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date, timedelta
from typing import overload

import polars as pl

FIRST = ("María", "José", "Antonio", "Carmen", "Manuel", "Ana", "Francisco", "Laura", "David",
         "Lucía", "Javier", "Marta", "Daniel", "Elena", "Carlos", "Sara", "Jesús", "Paula",
         "Alejandro", "Cristina", "Miguel", "Isabel", "Rafael", "Pilar", "Pablo", "Raquel",
         "Ángel", "Sofía", "Sergio", "Nuria", "Fernando", "Irene", "Jorge", "Beatriz", "Luis",
         "Rocío", "Alberto", "Silvia", "Álvaro", "Inés", "Adrián", "Julia", "Diego", "Noelia",
         "Rubén", "Lorena", "Iván", "Mónica", "Óscar", "Ainhoa", "Andrés", "Begoña", "Ramón",
         "Consuelo", "Joaquín", "Remedios", "Íñigo", "Amparo", "Tomás", "Rosario")
LAST = ("García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez",
        "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
        "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos",
        "Gil", "Ramírez", "Serrano", "Blanco", "Molina", "Morales", "Suárez", "Ortega", "Delgado",
        "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Núñez", "Iglesias", "Medina", "Garrido",
        "Cortés", "Castillo", "Santos", "Lozano", "Guerrero", "Cano", "Prieto", "Méndez", "Cruz",
        "Calvo", "Gallego", "Vidal", "León", "Márquez", "Herrera", "Peña", "Flores", "Cabrera",
        "Campos", "Vega", "Fuentes", "Carrasco", "Diez", "Caballero", "Reyes", "Nieto", "Aguilar")
CITIES = (("Madrid", "28"), ("Barcelona", "08"), ("Valencia", "46"), ("Sevilla", "41"),
          ("Zaragoza", "50"), ("Málaga", "29"), ("Murcia", "30"), ("Palma", "07"),
          ("Bilbao", "48"), ("Córdoba", "14"), ("Valladolid", "47"), ("Alicante", "03"),
          ("Vigo", "36"), ("Gijón", "33"), ("Granada", "18"), ("Oviedo", "33"))
STREETS = ("Calle Mayor", "Avenida de la Constitución", "Calle Real", "Plaza de España",
           "Calle del Carmen", "Avenida de Andalucía", "Calle San Juan", "Paseo de la Castellana",
           "Calle Nueva", "Calle de la Iglesia", "Ronda Norte", "Calle del Sol")
TRADES = ("Reformas", "Construcciones", "Fontanería", "Electricidad", "Carpintería", "Pinturas",
          "Instalaciones", "Talleres")
DOMAINS = ("gmail.com", "hotmail.com", "yahoo.es", "outlook.es", "telefonica.net")
NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


@overload
def _plain(text: str) -> str: ...


@overload
def _plain(text: None) -> None: ...


def _plain(text: str | None) -> str | None:
    if text is None:
        return None
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _nif(rng: random.Random) -> str:
    number = rng.randrange(10_000_000, 99_999_999)
    return f"{number}{NIF_LETTERS[number % 23]}"


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(("swap", "drop", "double", "replace"))
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == "drop":
        return word[:i] + word[i + 1:]
    if op == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiourlnst") + word[i + 1:]


def _phone_formats(rng: random.Random, e164: str) -> str:
    national = e164[3:]
    return rng.choice((
        e164,
        f"{national[:3]} {national[3:5]} {national[5:7]} {national[7:]}",
        f"0034 {national[:3]}-{national[3:6]}-{national[6:]}",
        f"+34 {national}",
        national,
    ))


def _person(rng: random.Random, entity: int) -> dict:
    first = rng.choice(FIRST)
    last = f"{rng.choice(LAST)} {rng.choice(LAST)}"
    city, prefix = rng.choice(CITIES)
    slug = _plain(f"{first}.{last.split()[0]}").lower()
    return {
        "entity": entity,
        "first_name": first,
        "last_name": last,
        "company_name": None,
        "email": f"{slug}{rng.randrange(1, 999)}@{rng.choice(DOMAINS)}" if rng.random() < 0.85 else None,
        "phone": f"+346{rng.randrange(10_000_000, 99_999_999)}" if rng.random() < 0.85 else None,
        "tax_id": _nif(rng) if rng.random() < 0.35 else None,
        "birth_date": (date(1940, 1, 1) + timedelta(days=rng.randrange(0, 23_000))).isoformat()
        if rng.random() < 0.6 else None,
        "postal_code": f"{prefix}{rng.randrange(0, 999):03d}",
        "city": city,
        "address": f"{rng.choice(STREETS)} {rng.randrange(1, 200)}",
    }


def _duplicate(rng: random.Random, base: dict) -> dict:
    """Another card for the same customer, with 1–3 realistic differences."""
    dup = dict(base)
    kinds = rng.sample(("typo", "accents", "swap", "phone_format", "old_email", "missing",
                        "company", "case"), k=rng.choice((1, 2, 2, 3)))
    kinds.sort(key=lambda k: k == "company")  # the company card replaces the person's names last
    for kind in kinds:
        if kind == "typo":
            field = rng.choice(("first_name", "last_name"))
            words = dup[field].split()
            j = rng.randrange(len(words))
            words[j] = _typo(rng, words[j])
            dup[field] = " ".join(words)
        elif kind == "accents":
            dup["first_name"], dup["last_name"] = _plain(dup["first_name"]), _plain(dup["last_name"])
            dup["city"] = _plain(dup["city"])
        elif kind == "swap":
            dup["first_name"], dup["last_name"] = dup["last_name"], dup["first_name"]
        elif kind == "phone_format" and dup["phone"]:
            dup["phone"] = _phone_formats(rng, dup["phone"])
        elif kind == "old_email" and dup["email"]:
            local = _plain(base["first_name"].split()[0]).lower() + str(rng.randrange(10, 99))
            dup["email"] = f"{local}@{rng.choice(DOMAINS)}"
        elif kind == "missing":
            for field in rng.sample(("email", "phone", "birth_date", "address"), k=2):
                dup[field] = None
        elif kind == "company" and dup["tax_id"]:
            # A self-employed customer registered again as their business, same tax id.
            dup["company_name"] = f"{rng.choice(TRADES)} {dup['last_name'].split()[0]} S.L."
            dup["first_name"] = dup["last_name"] = None
        elif kind == "case" and dup["email"]:
            dup["email"] = dup["email"].upper()
            dup["first_name"] = (dup["first_name"] or "").upper() or None
    return dup


def _relative(rng: random.Random, base: dict, entity: int) -> dict:
    """A relative at the same address and landline: a different customer."""
    rel = dict(base)
    rel["entity"] = entity
    others = [f for f in FIRST if f != base["first_name"]]
    rel["first_name"] = rng.choice(others)
    rel["email"] = None if rng.random() < 0.5 else (
        f"{_plain(rel['first_name']).lower()}{rng.randrange(1, 999)}@{rng.choice(DOMAINS)}")
    rel["tax_id"] = _nif(rng) if base["tax_id"] else None
    rel["birth_date"] = (date(1940, 1, 1) + timedelta(days=rng.randrange(0, 23_000))).isoformat() \
        if base["birth_date"] else None
    return rel


def labelled_cards(n: int = 10_000, duplicate_share: float = 0.15, seed: int = 7,
                   relative_share: float = 0.04, namesake_share: float = 0.02) -> pl.DataFrame:
    """`n` cards (`id`, `entity` and the card fields); `duplicate_share` of them duplicate another."""
    rng = random.Random(seed)
    n_dup = round(n * duplicate_share)
    n_rel = round(n * relative_share)
    n_name = round(n * namesake_share)
    n_base = n - n_dup - n_rel - n_name
    rows = [_person(rng, e) for e in range(n_base)]
    next_entity = n_base
    for _ in range(n_rel):
        rows.append(_relative(rng, rng.choice(rows[:n_base]), next_entity))
        next_entity += 1
    for _ in range(n_name):
        twin = _person(rng, next_entity)
        source = rng.choice(rows[:n_base])
        twin["first_name"], twin["last_name"] = source["first_name"], source["last_name"]
        if rng.random() < 0.5:
            twin["city"], twin["postal_code"] = source["city"], source["postal_code"]
        rows.append(twin)
        next_entity += 1
    for _ in range(n_dup):
        rows.append(_duplicate(rng, rng.choice(rows[:n_base])))
    rng.shuffle(rows)
    frame = pl.DataFrame(rows, schema={
        "entity": pl.Int64, "first_name": pl.String, "last_name": pl.String,
        "company_name": pl.String, "email": pl.String, "phone": pl.String, "tax_id": pl.String,
        "birth_date": pl.String, "postal_code": pl.String, "city": pl.String, "address": pl.String,
    })
    return frame.with_row_index("id", offset=1).with_columns(pl.col("id").cast(pl.Int64))
