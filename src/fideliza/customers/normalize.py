"""Normalising what people type: phones to E.164, e-mails, tax ids, names."""

from __future__ import annotations

import unicodedata

import phonenumbers


def normalize_phone(raw: str, region: str) -> str | None:
    """E.164 form of `raw` (e.g. '+34612345678'), or None when it is not a valid number.

    `region` (ISO 3166-1 alpha-2) is used for numbers written without a country code.
    Empty input returns ''.
    """
    raw = (raw or "").strip()
    if not raw:
        return ""
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    return (raw or "").strip().lower()


def normalize_tax_id(raw: str) -> str:
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())


def strip_accents(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text or "") if not unicodedata.combining(ch)
    )
