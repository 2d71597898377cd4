"""One importer per kind of file: plan (validate everything, decide every write), then apply.

`plan()` never writes: it converts each mapped column as a whole (Polars), reports every
bad cell, resolves references with dict/join lookups and works out what would be created,
updated or left unchanged; a dry run stops there. `apply()` performs the planned writes
set-based and must run inside one transaction (the caller's `transaction.atomic`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

import polars as pl
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from fideliza.accounts.services import Actor
from fideliza.catalog.selectors import product_costs_all, product_ids_by_sku, skus_known
from fideliza.catalog.services import category_path_split, product_upsert_many
from fideliza.customers.contacts import ContactRow, contact_clean_data, contacts_import_write
from fideliza.customers.importing import (
    card_ids_of_source_by_email,
    card_new,
    cards_by_id,
    cards_import_write,
    cards_minimal_write,
    consents_now,
    interests_of,
    names_in_use,
)
from fideliza.customers.models import (
    Channel,
    Contact,
    ContactTime,
    Customer,
    CustomerKind,
    Gender,
)
from fideliza.customers.names import NAME_GROUPS, LazyNameCounts, NameCounts, reimport_group
from fideliza.customers.normalize import normalize_tax_id, strip_accents
from fideliza.customers.selectors import (
    company_ids_among,
    contact_consents_current,
    contacts_for_cards,
    customer_ids_by_email,
    customer_ids_by_source,
    customer_names_of_source,
)
from fideliza.customers.services import (
    AUDIT_ENTITY,
    customer_clean_data,
    customer_executive_default,
)
from fideliza.sales.ingest import orders_ingest
from fideliza.sales.models import SalesChannel
from fideliza.sales.selectors import order_external_ids, store_ids_by_code
from fideliza.sales.services import stores_create_bare

from . import convert
from .fields import CONSENT_FIELDS, OPT_OUT_FIELDS, ORDER_LEVEL_FIELDS, FieldSpec, field_specs
from .reader import ROW_COLUMN, ImportOptions, Table

Progress = Callable[[int, int], None]
IN_CHUNK = 5000  # ids per `__in` query, under SQLite's bound-parameter limit

REQUIRED_MESSAGE = gettext_noop("Falta el valor (obligatorio).")


@dataclass
class PlanCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


def _chunks(values: list[Any], size: int = IN_CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _cents_to_decimal(value: int | None) -> Decimal | None:
    return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


class Importer:
    kind = ""
    choices: dict[str, tuple[dict[str, str], str]] = {}

    def __init__(self, *, table: Table, mapping: dict[str, str], options: ImportOptions,
                 source: str, actor: Actor, file_name: str, run_id: int | None,
                 progress: Progress | None = None,
                 alternates: dict[str, list[str]] | None = None) -> None:
        self.frame = table.frame
        self.columns = {fieldname: column for column, fieldname in mapping.items() if fieldname}
        # A field's other columns fill its empty cells (see fields.guess_alternates).
        for name, others in (alternates or {}).items():
            column = self.columns[name]
            self.frame = self.frame.with_columns(pl.coalesce([column, *others]).alias(column))
        self.cell_issues = [i for i in table.cell_issues if i.column in set(self.columns.values())]
        self.options = options
        self.source = source
        self.actor = actor
        self.file_name = file_name
        self.run_id = run_id
        self.progress = progress
        self.report = convert.ErrorReport()
        self.specs = field_specs(self.kind)
        self.bad = pl.Series([False] * len(self.frame), dtype=pl.Boolean)
        self.counts = PlanCounts()
        self.time_zone = settings.TIME_ZONE
        # Customer cards created (or first given a name/contact) by `apply`: matched against
        # the base for duplicates after the commit.
        self.created_ids: list[int] = []
        self.issue_masks: dict[str, pl.Series] = {}

    def report_cell_issues(self) -> None:
        """Cells the reader flagged (formulas without a stored result, error values) are row
        errors of their own; the converters then skip those cells (no second message)."""
        if not self.cell_issues:
            return
        rows = self.frame[ROW_COLUMN]
        for issue in self.cell_issues:
            self.report.add_one(row=issue.row, column=issue.column, value=issue.value,
                                message=issue.message)
        by_column: dict[str, list[int]] = defaultdict(list)
        for issue in self.cell_issues:
            by_column[issue.column].append(issue.row)
        for column, bad_rows in by_column.items():
            mask = rows.is_in(bad_rows)
            self.issue_masks[column] = mask
            self.bad = self.bad | mask

    # -- helpers -------------------------------------------------------------------
    def tick(self, fraction: float) -> None:
        if self.progress:
            total = len(self.frame)
            self.progress(min(total, int(total * fraction)), total)

    def has(self, name: str) -> bool:
        return name in self.columns

    def raw(self, name: str) -> pl.Series:
        if name in self.columns:
            return self.frame[self.columns[name]]
        return pl.Series(name, [None] * len(self.frame), dtype=pl.String)

    def check(self, name: str, checks: convert.Checks) -> None:
        column = self.columns.get(name, str(self.specs[name].label))
        flagged = self.issue_masks.get(column)
        if flagged is not None:
            checks = [(mask & ~flagged, message) for mask, message in checks]
        self.bad = self.bad | convert.apply_checks(self.report, self._with(name), column, checks)

    def _with(self, name: str) -> pl.DataFrame:
        """The frame with the field's raw text under its column name (for error values)."""
        column = self.columns.get(name, str(self.specs[name].label))
        if column in self.frame.columns:
            return self.frame
        return self.frame.with_columns(self.raw(name).alias(column))

    def error_rows(self, name: str, mask: pl.Series, message: str) -> None:
        self.check(name, [(mask, message)])

    def convert(self, name: str, s: pl.Series | None = None) -> pl.Series:
        """Convert the mapped column of field `name` by its type, reporting bad cells."""
        spec: FieldSpec = self.specs[name]
        s = self.raw(name) if s is None else s
        if spec.required:
            self.check(name, [(s.is_null(), _(REQUIRED_MESSAGE))])
        if s.null_count() == len(s):
            dtype: Any = {"money": pl.Int64, "quantity": pl.Int64, "int": pl.Int64, "bool": pl.Boolean,
                     "date": pl.Date, "datetime": pl.Datetime("us", "UTC")}.get(spec.type, pl.String)
            return pl.Series(name, [None] * len(s), dtype=dtype)
        t = spec.type
        if t in ("text", "phone") and spec.truncate and spec.max_length:
            values = convert.text(s, max_length=None)[0]
            limit = spec.max_length
            return pl.select(pl.when(values.str.len_chars() > limit)
                             .then(values.str.slice(0, limit - 1) + "…")
                             .otherwise(values)).to_series().alias(name)
        if t in ("text", "phone"):
            values, checks = convert.text(s, max_length=spec.max_length, collapse=name != "notes")
        elif t == "email":
            values, checks = convert.email(s)
            checks += convert.text(values, max_length=spec.max_length)[1]
        elif t == "money":
            values, checks = convert.money(s, decimal=self.options.decimal)
        elif t == "quantity":
            values, checks = convert.quantity(s, decimal=self.options.decimal)
        elif t == "int":
            values, checks = convert.integer(s)
        elif t == "bool":
            values, checks = convert.boolean(s)
        elif t == "date":
            values, checks = convert.date(s, date_format=self.options.date_format)
        elif t == "datetime":
            values, checks = convert.datetime_(s, date_format=self.options.date_format,
                                               time_zone=self.time_zone)
        elif t == "country":
            values, checks = convert.country(s)
        elif t == "tags":
            return convert.tags(s)
        elif t == "category":
            return s.map_elements(category_path_split, return_dtype=pl.List(pl.String), skip_nulls=True)
        elif t == "choice":
            options, message = self.choice_options(name, s)
            values, checks = convert.choice(s, options, message)
        else:  # pragma: no cover - every FieldSpec type is handled above
            raise ValueError(t)
        self.check(name, checks)
        return values.alias(name)

    def choice_options(self, name: str, s: pl.Series) -> tuple[dict[str, str], str]:
        return self.choices[name]

    def first_row_of_duplicates(self, keys: pl.Series, name: str, message: str,
                                shown: pl.Series | None = None) -> None:
        """Report every repeated key after its first occurrence (as `shown`'s value if given:
        a key built from several columns is no value the user wrote)."""
        frame = pl.DataFrame({"k": keys, "r": self.frame[ROW_COLUMN]})
        first = frame.filter(pl.col("k").is_not_null()).group_by("k").agg(pl.col("r").min().alias("first"))
        joined = frame.join(first, on="k", how="left", maintain_order="left")
        dup = joined["first"].is_not_null() & (joined["first"] != joined["r"])
        if dup.any():
            column = self.columns.get(name, str(self.specs[name].label))
            bad = self.frame.with_columns((keys if shown is None else shown).alias("__key__"),
                                          joined["first"].alias("__first__")).filter(dup)
            for row, value, first_row in zip(bad[ROW_COLUMN], bad["__key__"], bad["__first__"], strict=True):
                self.report.add_one(row=row, column=column, value=value,
                                    message=message % {"value": value, "first": first_row})
            self.bad = self.bad | dup

    # -- interface -------------------------------------------------------------------
    def plan(self) -> None:
        raise NotImplementedError

    def apply(self) -> None:
        raise NotImplementedError


# ====================================================================== customers

_GENDER = {
    "mujer": Gender.FEMALE, "femenino": Gender.FEMALE, "female": Gender.FEMALE, "woman": Gender.FEMALE,
    "f": Gender.FEMALE, "hombre": Gender.MALE, "masculino": Gender.MALE, "male": Gender.MALE,
    "man": Gender.MALE, "h": Gender.MALE, "v": Gender.MALE, "varon": Gender.MALE,
    "otro": Gender.OTHER, "other": Gender.OTHER, "no binario": Gender.OTHER, "x": Gender.OTHER,
    "no consta": Gender.UNKNOWN, "sin indicar": Gender.UNKNOWN, "desconocido": Gender.UNKNOWN,
    "ns nc": Gender.UNKNOWN, "unknown": Gender.UNKNOWN,
}


# Card fields that belong to a name group (decided whole on a re-import).
NAME_FIELDS = frozenset(f for fields in NAME_GROUPS.values() for f in fields)
# The card fields that say who someone is: a card with none of them is «solo identificador».
IDENTIFYING_FIELDS = ("first_name", "last_name", "company_name", "email", "phone", "tax_id")


def is_identifier_only(card: Customer) -> bool:
    """A card that is nothing but an id in some source (created from a till's card number)."""
    return card.is_identifier_only


class CustomerImporter(Importer):
    """Customers matched by (source, id in the source).

    A row without an id is keyed by its e-mail (else its phone) within the source, stored
    as the source id "email:<address>" ("phone:<E.164>"), so re-importing a list without
    ids is recognised too; a row with none of the three is rejected. Empty cells never
    erase what the card already holds.
    """

    kind = "customers"
    choices = {
        "kind": ({"persona": CustomerKind.PERSON, "particular": CustomerKind.PERSON,
                  "person": CustomerKind.PERSON, "individual": CustomerKind.PERSON,
                  "persona fisica": CustomerKind.PERSON, "fisica": CustomerKind.PERSON,
                  "autonomo": CustomerKind.PERSON, "p": CustomerKind.PERSON,
                  "empresa": CustomerKind.COMPANY, "company": CustomerKind.COMPANY,
                  "sociedad": CustomerKind.COMPANY, "business": CustomerKind.COMPANY,
                  "persona juridica": CustomerKind.COMPANY, "juridica": CustomerKind.COMPANY,
                  "e": CustomerKind.COMPANY},
                 gettext_noop('"%(value)s" no es un tipo de cliente (persona o empresa).')),
        "preferred_channel": ({"email": Channel.EMAIL, "e mail": Channel.EMAIL, "correo": Channel.EMAIL,
                               "correo electronico": Channel.EMAIL, "mail": Channel.EMAIL,
                               "sms": Channel.SMS, "mensaje": Channel.SMS,
                               "telefono": Channel.PHONE, "llamada": Channel.PHONE, "phone": Channel.PHONE,
                               "tel": Channel.PHONE, "whatsapp": Channel.WHATSAPP, "wa": Channel.WHATSAPP,
                               "correo postal": Channel.POST, "carta": Channel.POST,
                               "post": Channel.POST, "postal": Channel.POST},
                              gettext_noop('"%(value)s" no es un canal (e-mail, SMS, teléfono, '
                                           'WhatsApp o correo postal).')),
        "preferred_contact_time": ({"manana": ContactTime.MORNING, "morning": ContactTime.MORNING,
                                    "tarde": ContactTime.AFTERNOON, "afternoon": ContactTime.AFTERNOON,
                                    "noche": ContactTime.EVENING, "evening": ContactTime.EVENING,
                                    "night": ContactTime.EVENING, "cualquiera": ContactTime.ANY,
                                    "indiferente": ContactTime.ANY, "any": ContactTime.ANY},
                                   gettext_noop('"%(value)s" no es un horario (mañana, tarde o noche).')),
    }

    def choice_options(self, name: str, s: pl.Series) -> tuple[dict[str, str], str]:
        if name == "gender":
            options: dict[str, str] = {k: str(v) for k, v in _GENDER.items()}
            # "M" is "mujer" in Spanish lists (H/M) but "male" in English ones (M/F).
            keys = set(s.drop_nulls().str.to_lowercase().unique().to_list())
            options["m"] = Gender.MALE.value if ("f" in keys and "h" not in keys) else Gender.FEMALE.value
            return options, _('"%(value)s" no es un género reconocido (mujer, hombre, otro).')
        options, message = self.choices[name]
        return options, _(message)

    CARD_FIELDS = ("kind", "first_name", "last_name", "company_name", "employees", "gender",
                   "birth_date", "tax_id", "email", "phone", "address", "postal_code", "city",
                   "region", "country", "preferred_channel", "preferred_contact_time",
                   "acquisition_date", "acquisition_channel", "acquisition_cost",
                   "wallet_potential", "notes")

    def plan(self) -> None:
        n = len(self.frame)
        self.report_cell_issues()
        values: dict[str, pl.Series] = {}
        external_id = self.convert("external_id")
        for name in ("kind", "first_name", "last_name", "company_name", "employees", "gender",
                     "tax_id", "email", "address", "postal_code", "city", "region", "country",
                     "preferred_channel", "preferred_contact_time", "acquisition_channel", "notes"):
            if self.has(name):
                values[name] = self.convert(name)
        if self.has("is_company"):
            is_company = self.convert("is_company")
            as_kind = pl.select(pl.when(is_company).then(pl.lit(CustomerKind.COMPANY.value))
                                .when(~is_company).then(pl.lit(CustomerKind.PERSON.value))
                                .otherwise(None)).to_series()
            values["kind"] = pl.select(pl.coalesce([values.get("kind", as_kind), as_kind])).to_series()
        self.tick(0.2)
        for name in ("birth_date", "acquisition_date", "acquisition_cost", "wallet_potential"):
            if self.has(name):
                values[name] = self.convert(name)
        for name in ("birth_date", "country"):
            if name in values:
                self._card_field_checks(name, values[name])
        if "tax_id" in values:
            values["tax_id"] = convert.map_unique(values["tax_id"], normalize_tax_id, pl.String)
        if self.has("full_name"):
            full = self.convert("full_name")
            first, last = self._split_full_name(full)
            # A company's name (Odoo's "Is a Company", a "Tipo" of empresa) is its legal name,
            # not a first name and surnames.
            company = values["kind"] == CustomerKind.COMPANY.value if "kind" in values else None
            if company is not None:
                company = company.fill_null(False)
                company_name = pl.select(pl.when(company).then(full)).to_series()
                values["company_name"] = pl.select(
                    pl.coalesce([values.get("company_name", company_name), company_name])).to_series()
                first = pl.select(pl.when(~company).then(first)).to_series()
                last = pl.select(pl.when(~company).then(last)).to_series()
            values["first_name"] = pl.select(pl.coalesce([values.get("first_name", first), first])).to_series()
            values["last_name"] = pl.select(pl.coalesce([values.get("last_name", last), last])).to_series()
        self.tick(0.4)
        if self.has("phone"):
            values["phone"] = self._phones(self.convert("phone"), values.get("country"))
        interests = self.convert("interests") if self.has("interests") else None
        consents = {CONSENT_FIELDS[name]: self.convert(name) for name in CONSENT_FIELDS if self.has(name)}
        for name, channel in OPT_OUT_FIELDS.items():
            if self.has(name):
                granted = ~self.convert(name)  # "opted out: yes" is consent withdrawn
                consents[channel] = pl.select(pl.coalesce([consents.get(channel, granted), granted])).to_series()
        self.tick(0.6)

        email = values.get("email", pl.Series([None] * n, dtype=pl.String))
        phone = values.get("phone", pl.Series([None] * n, dtype=pl.String))
        key = pl.select(pl.coalesce([
            external_id,
            pl.when(email.is_not_null()).then(pl.lit("email:") + email),
            pl.when(phone.is_not_null()).then(pl.lit("phone:") + phone),
        ])).to_series()
        no_key = key.is_null() & ~self.bad
        if no_key.any():
            column = (self.columns.get("external_id") or self.columns.get("email")
                      or self.columns.get("phone") or "")
            rows = self.frame.filter(no_key)[ROW_COLUMN].to_list()
            for row in rows:
                self.report.add_one(row=row, column=column, value="", message=_(
                    "Falta el id de cliente, el e-mail o el teléfono: sin ninguno de ellos no se "
                    "puede reconocer al cliente al volver a importar."))
            self.bad = self.bad | no_key
        self.first_row_of_duplicates(
            key, "external_id",
            _('El cliente "%(value)s" está repetido (ya aparece en la fila %(first)s).'))
        if self.report:
            return

        # Resolve existing cards: by source id (or e-mail/phone key), else by e-mail among
        # the cards that already belong to this source.
        keys = key.to_list()
        by_key = customer_ids_by_source(self.source, keys)
        unmatched_emails = sorted({e for k, e, x in zip(keys, email.to_list(), external_id.to_list(),
                                                        strict=True)
                                   if e and k not in by_key and x is None})
        by_email = card_ids_of_source_by_email(self.source, unmatched_emails)
        matched = [by_key.get(k) or (by_email.get(e) if x is None else None)
                   for k, e, x in zip(keys, email.to_list(), external_id.to_list(), strict=True)]
        existing = cards_by_id(m for m in matched if m)
        current_tags: dict[int, list[str]] = defaultdict(list)
        current_consent: dict[tuple[int, str], bool] = {}
        if existing:
            current_tags.update(interests_of(existing))
            if consents:
                current_consent = consents_now(existing)
        self.tick(0.8)

        columns = {name: s.to_list() for name, s in values.items()}
        for money_field in ("acquisition_cost", "wallet_potential"):
            if money_field in columns:
                columns[money_field] = [_cents_to_decimal(v) for v in columns[money_field]]
        tag_lists = interests.to_list() if interests is not None else None
        consent_lists = {channel: s.to_list() for channel, s in consents.items()}
        ext_ids = external_id.to_list()
        today = timezone.localdate()

        identifier_only = 0
        filled: list[int] = []
        self.creates: list[tuple[str, str | None, Customer, list[str], dict[str, bool]]] = []
        self.updates: list[tuple[Customer, dict[str, tuple[Any, Any]], list[str] | None, dict[str, bool]]] = []
        for i in range(n):
            data = {name: col[i] for name, col in columns.items() if col[i] is not None}
            tags = tag_lists[i] if tag_lists is not None and tag_lists[i] is not None else None
            wanted_consent = {ch: bool(vals[i]) for ch, vals in consent_lists.items() if vals[i] is not None}
            match = matched[i]
            customer = existing.get(match) if match is not None else None
            if customer is None:
                if "kind" not in data:
                    data["kind"] = (CustomerKind.COMPANY if data.get("company_name")
                                    and not (data.get("first_name") or data.get("last_name"))
                                    else CustomerKind.PERSON)
                data.setdefault("acquisition_date", today)
                card = card_new(**{f: v for f, v in data.items() if f in self.CARD_FIELDS},
                                account_executive=customer_executive_default(self.actor))
                if is_identifier_only(card):
                    # A list of ids alone (a till's card numbers): the card exists so that
                    # orders can point at it; a later file with names fills it.
                    identifier_only += 1
                self.creates.append((keys[i], ext_ids[i], card, tags or [], wanted_consent))
                continue
            changes: dict[str, tuple[Any, Any]] = {}
            for f, v in data.items():
                old = getattr(customer, f)
                if f not in NAME_FIELDS and old != v:
                    changes[f] = (old, v)
            self._name_changes(customer, data, columns, changes)
            new_tags = None
            if tags is not None and sorted(tags) != sorted(current_tags.get(customer.pk, [])):
                new_tags = tags
                changes["interests"] = (", ".join(sorted(current_tags.get(customer.pk, []))),
                                        ", ".join(sorted(tags)))
            consent_changes = {ch: g for ch, g in wanted_consent.items()
                               if current_consent.get((customer.pk, ch)) is not g}
            for ch, g in consent_changes.items():
                changes[f"consent_{ch}"] = (current_consent.get((customer.pk, ch)), g)
            if changes:
                self.updates.append((customer, changes, new_tags, consent_changes))
                if is_identifier_only(customer) and any(
                        f in changes for f in IDENTIFYING_FIELDS):
                    filled.append(customer.pk)
            else:
                self.counts.unchanged += 1
        self.counts.created = len(self.creates)
        self.counts.updated = len(self.updates)
        self.filled_ids = filled
        self.counts.summary = {"identifier_only": identifier_only,
                               "identifier_only_filled": len(filled)}

    def _card_field_checks(self, name: str, values: pl.Series) -> None:
        """The card's own field validators (customers.validators: a birth date after today, a
        country that is not ISO 3166-1), run once per distinct converted value; every row with
        a refused value is a row error, as the API and the form refuse it."""
        field = Customer._meta.get_field(name)
        assert isinstance(field, models.Field)
        validators = field.validators
        for value in values.drop_nulls().unique().to_list():
            for validator in validators:
                try:
                    validator(value)
                except ValidationError as exc:
                    message = exc.error_list[0]
                    self.error_rows(name, values == value, str(message.message))
                    break

    def _name_changes(self, customer: Customer, data: dict[str, Any], columns: dict[str, list[Any]],
                      changes: dict[str, tuple[Any, Any]]) -> None:
        """The card's name groups as the file leaves them, each decided whole
        (`names.reimport_group`): the same name written worse (or less complete) never
        replaces the card's, which may be a merge's choice; a different name replaces it
        whole."""
        for group, fields in NAME_GROUPS.items():
            if not any(f in columns for f in fields):
                continue  # the file says nothing about this name
            current = tuple(getattr(customer, f) or "" for f in fields)
            incoming = tuple(data.get(f) or "" for f in fields)
            written = reimport_group(current, incoming, group=group, counts=self.name_counts)
            for f, old, new in zip(fields, current, written, strict=True):
                if old != new:
                    changes[f] = (getattr(customer, f), new)

    @cached_property
    def name_counts(self) -> LazyNameCounts:
        """How the base writes names (for swapped fields and slips), read only if needed."""
        return LazyNameCounts(lambda: NameCounts.from_names(names_in_use()))

    @staticmethod
    def _split_full_name(s: pl.Series) -> tuple[pl.Series, pl.Series]:
        """'Ana María García López' -> ('Ana María', 'García López'): Spanish names carry
        two surnames, so with three or more words the last two are the surnames."""
        firsts: list[str | None] = []
        lasts: list[str | None] = []
        for value in s.to_list():
            words = (value or "").split()
            if not words:
                firsts.append(None)
                lasts.append(None)
            elif len(words) == 1:
                firsts.append(words[0])
                lasts.append(None)
            elif len(words) == 2:
                firsts.append(words[0])
                lasts.append(words[1])
            else:
                firsts.append(" ".join(words[:-2]))
                lasts.append(" ".join(words[-2:]))
        return pl.Series(firsts, dtype=pl.String), pl.Series(lasts, dtype=pl.String)

    def _phones(self, phones: pl.Series, countries: pl.Series | None) -> pl.Series:
        """E.164 through `customer_clean_data` (the same rule as every other writer), once per
        distinct (phone, country)."""
        countries = countries if countries is not None else pl.Series([None] * len(phones), dtype=pl.String)
        cache: dict[tuple[str, str], str | None] = {}
        out: list[str | None] = []
        for phone, country in zip(phones.to_list(), countries.to_list(), strict=True):
            if phone is None:
                out.append(None)
                continue
            pair = (phone, country or "")
            if pair not in cache:
                try:
                    cache[pair] = customer_clean_data({"phone": phone, "country": country or ""})["phone"]
                except ValidationError:
                    cache[pair] = None
            out.append(cache[pair])
        result = pl.Series("phone", out, dtype=pl.String)
        self.check("phone", [(result.is_null() & phones.is_not_null(),
                              _('"%(value)s" no es un número de teléfono válido.'))])
        return result

    def apply(self) -> None:
        cards_import_write(
            actor=self.actor, source=self.source, creates=self.creates, updates=self.updates,
            card_fields=self.CARD_FIELDS, consent_source=f"import:{self.file_name}"[:100],
            consent_wording=_("Según el archivo importado «%(file)s».") % {"file": self.file_name},
            audit_entity=AUDIT_ENTITY,
            audit_context={"source": self.source, "file": self.file_name, "import_run": self.run_id},
            now=timezone.now())
        # Cards that only had an id and now have a name or a contact are as good as new for
        # the duplicate finder: they may be someone another source already knows.
        self.created_ids = [c.pk for _k, _x, c, _t, _co in self.creates] + self.filled_ids


# ====================================================================== contacts

class ContactImporter(Importer):
    """Contact persons of companies, each row linked by its company's id in this source (the
    customers file of the same source brought the companies). A row is matched to a contact
    the company already has by e-mail, else phone, else name, so re-importing the file
    changes nothing; empty cells never erase what a contact holds. Consents are appended
    only where they change."""

    kind = "contacts"

    def _phones(self, phones: pl.Series) -> pl.Series:
        cache: dict[str, str | None] = {}
        out: list[str | None] = []
        for phone in phones.to_list():
            if phone is not None and phone not in cache:
                try:
                    cache[phone] = contact_clean_data({"phone": phone})["phone"] or None
                except ValidationError:
                    cache[phone] = None
            out.append(None if phone is None else cache[phone])
        result = pl.Series("phone", out, dtype=pl.String)
        self.check("phone", [(result.is_null() & phones.is_not_null(),
                              _('"%(value)s" no es un número de teléfono válido.'))])
        return result

    def plan(self) -> None:
        self.report_cell_issues()
        company = self.convert("company_id")
        values: dict[str, pl.Series] = {"name": self.convert("name")}
        for name in ("role", "email", "notes", "is_primary", "is_active"):
            if self.has(name):
                values[name] = self.convert(name)
        if self.has("phone"):
            values["phone"] = self._phones(self.convert("phone"))
        consents = {CONSENT_FIELDS[name]: self.convert(name) for name in CONSENT_FIELDS if self.has(name)}
        self.tick(0.3)

        by_source = customer_ids_by_source(self.source, [c for c in company.unique().to_list() if c])
        companies = company_ids_among(by_source.values())
        card = company.replace_strict(by_source, default=None, return_dtype=pl.Int64)
        self.error_rows("company_id", company.is_not_null() & card.is_null(),
                        _('No hay ninguna empresa con el id "%(value)s" en este origen: importe antes su '
                          'archivo de clientes.'))
        self.error_rows("company_id", card.is_not_null() & ~card.is_in(sorted(companies)),
                        _('El cliente "%(value)s" es una persona, no una empresa.'))
        # One row per person of a company: by e-mail, else phone, else name.
        email = values.get("email", pl.Series([None] * len(company), dtype=pl.String))
        phone = values.get("phone", pl.Series([None] * len(company), dtype=pl.String))
        who = pl.select(pl.coalesce(["e:" + email, "t:" + phone, "n:" + values["name"].str.to_lowercase()])
                        ).to_series()
        self.first_row_of_duplicates(company + "|" + who, "name",
                                     _('"%(value)s" ya aparece en la fila %(first)s para la misma empresa.'),
                                     shown=values["name"])
        if "is_primary" in values:
            primary_key = pl.select(pl.when(values["is_primary"].fill_null(False)).then(company)).to_series()
            self.first_row_of_duplicates(
                primary_key, "is_primary",
                _('La empresa "%(value)s" ya tiene otro contacto principal en la fila %(first)s.'), shown=company)
        if self.report:
            return
        self.tick(0.6)

        existing: dict[int, list[Contact]] = defaultdict(list)
        for contact in contacts_for_cards(sorted(set(by_source.values()))):
            existing[contact.customer_id].append(contact)
        current = contact_consents_current(c.pk for cs in existing.values() for c in cs)
        columns = {name: s.to_list() for name, s in values.items()}
        consent_lists = {channel: s.to_list() for channel, s in consents.items()}
        self.rows: list[ContactRow] = []
        for i, customer_id in enumerate(card.to_list()):
            fields = {name: col[i] for name, col in columns.items() if col[i] is not None}
            wanted = {ch: bool(vals[i]) for ch, vals in consent_lists.items() if vals[i] is not None}
            match = _contact_match(existing[customer_id], fields)
            if match is None:
                self.counts.created += 1
                self.rows.append((customer_id, fields, wanted, None))
                continue
            changes = {f: v for f, v in fields.items() if f != "is_primary" and getattr(match, f) != v}
            primary = bool(fields.get("is_primary")) and not match.is_primary
            wanted = {ch: g for ch, g in wanted.items() if current.get(match.pk, {}).get(ch) is not g}
            if changes or primary or wanted:
                self.counts.updated += 1
                self.rows.append((customer_id, {**changes, "is_primary": primary}, wanted, match))
            else:
                self.counts.unchanged += 1
        self.tick(0.9)

    def apply(self) -> None:
        contacts_import_write(
            actor=self.actor, rows=self.rows, consent_source=f"import:{self.file_name}"[:100],
            consent_wording=_("Según el archivo importado «%(file)s».") % {"file": self.file_name},
            now=timezone.now())


def _contact_match(contacts: list[Contact], fields: dict[str, Any]) -> Contact | None:
    """The company's contact a file row describes: same e-mail, else phone, else name."""
    if fields.get("email"):
        return next((c for c in contacts if c.email.lower() == fields["email"]), None)
    if fields.get("phone"):
        return next((c for c in contacts if c.phone == fields["phone"]), None)
    name = str(fields.get("name", "")).casefold()
    return next((c for c in contacts if c.name.casefold() == name), None)


# ====================================================================== products

class ProductImporter(Importer):
    """Products matched by SKU (the catalog is shared by every source)."""

    kind = "products"
    choices = {
        "path_level": ({"entrada": "entry", "entry": "entry", "basico": "entry", "inicial": "entry",
                        "valor": "value", "value": "value", "principal": "main", "main": "main",
                        "core": "main", "premium": "premium", "alta": "premium", "top": "premium"},
                       gettext_noop('"%(value)s" no es un nivel (entrada, valor, principal o premium).')),
    }

    def choice_options(self, name: str, s: pl.Series) -> tuple[dict[str, str], str]:
        options, message = self.choices[name]
        return options, _(message)

    def plan(self) -> None:
        values = {"sku": self.convert("sku")}
        for name in ("name", "category", "list_price", "unit_cost", "currency", "is_active", "path_level"):
            if self.has(name):
                values[name] = self.convert(name)
        self.tick(0.5)
        if "currency" in values:
            values["currency"] = values["currency"].str.to_uppercase()
            self.error_rows("currency", values["currency"].is_not_null()
                            & ~values["currency"].str.contains(r"^[A-Z]{3}$"),
                            _('"%(value)s" no es un código de moneda (p. ej. EUR).'))
        self.first_row_of_duplicates(values["sku"], "sku",
                                     _('El SKU "%(value)s" está repetido (ya aparece en la fila %(first)s).'))
        skus = values["sku"].to_list()
        known: set[str] = set()
        for part in _chunks(sorted({s for s in skus if s})):
            known.update(skus_known(part))
        new_without_name = values["sku"].is_not_null() & ~values["sku"].is_in(list(known))
        if "name" in values:
            new_without_name = new_without_name & values["name"].is_null()
        self.error_rows("name", new_without_name,
                        _("Falta el nombre (obligatorio para un producto nuevo)."))
        if self.report:
            return
        columns = {name: s.to_list() for name, s in values.items()}
        rows: list[dict[str, Any]] = []
        for i in range(len(self.frame)):
            row: dict[str, Any] = {"sku": columns["sku"][i]}
            for name, col in columns.items():
                value = col[i]
                if name == "sku" or value is None:
                    continue
                if name in ("list_price", "unit_cost"):
                    value = _cents_to_decimal(value)
                row[name] = value
            rows.append(row)
        self.rows = rows
        result = product_upsert_many(rows=rows, dry_run=True)
        self.counts.created, self.counts.updated = len(result.created), len(result.updated)
        self.counts.unchanged = len(result.unchanged)
        self.tick(0.9)

    def apply(self) -> None:
        result = product_upsert_many(rows=self.rows)
        self.counts.summary["categories_created"] = result.categories_created


# ====================================================================== orders

_CHANNELS = {
    "tienda": SalesChannel.STORE, "store": SalesChannel.STORE, "tienda fisica": SalesChannel.STORE,
    "fisica": SalesChannel.STORE, "local": SalesChannel.STORE, "pos": SalesChannel.STORE,
    "tpv": SalesChannel.STORE, "caja": SalesChannel.STORE, "mostrador": SalesChannel.STORE,
    "web": SalesChannel.WEB, "online": SalesChannel.WEB, "tienda online": SalesChannel.WEB,
    "ecommerce": SalesChannel.WEB, "e commerce": SalesChannel.WEB, "internet": SalesChannel.WEB,
    "telefono": SalesChannel.PHONE, "phone": SalesChannel.PHONE,
    "marketplace": SalesChannel.MARKETPLACE, "amazon": SalesChannel.MARKETPLACE,
    "comercial": SalesChannel.SALES_REP, "representante": SalesChannel.SALES_REP,
    "sales rep": SalesChannel.SALES_REP, "otro": SalesChannel.OTHER, "other": SalesChannel.OTHER,
}


# Order statuses in shop and ERP exports (WooCommerce, Shopify's financial status, Odoo's
# state, in their labels and codes): a sale is imported, the rest is not a sale (yet).
_SALE_STATUSES = (
    "completed", "complete", "completado", "completada", "processing", "procesando", "en proceso",
    "paid", "pagado", "pagada", "partially paid", "parcialmente pagado", "partially refunded",
    "parcialmente reembolsado", "sale", "sales order", "pedido venta", "pedido de venta", "done",
    "locked", "bloqueado", "hecho", "fulfilled", "shipped", "enviado", "entregado", "delivered",
    "closed", "cerrado", "confirmed", "confirmado", "facturado", "invoiced", "cobrado", "ok",
    "vendido", "sold", "finalizado", "terminado",
)
_NOT_SALE_STATUSES = (
    "cancelled", "canceled", "cancel", "cancelado", "cancelada", "anulado", "anulada", "failed",
    "fallido", "refunded", "reembolsado", "devuelto", "voided", "pending", "pendiente",
    "pending payment", "pendiente de pago", "pendiente pago", "on hold", "en espera", "draft",
    "borrador", "quotation", "presupuesto", "quotation sent", "presupuesto enviado", "sent",
    "trash", "papelera", "checkout draft", "authorized", "autorizado", "expired", "abandoned",
    "abandonado",
)
_STATUSES = {**dict.fromkeys(_SALE_STATUSES, "sale"), **dict.fromkeys(_NOT_SALE_STATUSES, "skip")}
_STATUSES.update({f"wc {k}": v for k, v in list(_STATUSES.items())})  # WooCommerce's "wc-completed"
# A customer "id" that means "no customer" (WooCommerce writes 0 for a guest checkout).
_NO_CUSTOMER = ("0", "guest", "invitado", "-")


def fold_name(value: str) -> str:
    """'  María  LÓPEZ ' -> 'maria lopez': how customer names are compared."""
    return " ".join(strip_accents(value).lower().split())


class OrderImporter(Importer):
    """Orders, one row per line, grouped by order id; matched by (source, order id).

    An order that already exists is left as it is (its rows count as unchanged): orders are
    history, corrections come as returns. Customers are found by their id in the same
    source, else by e-mail, else by name among the source's cards; with
    `create_missing_customers` an unknown one gets a minimal card (only its id: «solo
    identificador») that a later customers file of the same source fills. Unknown SKUs are
    errors unless `create_missing_products`; unknown store codes create stores unless
    `create_missing_stores` is off.

    Shop exports write an order over several rows: the order's own fields (customer, date,
    status…) only on its first row (Shopify), or not even the order id on the following
    rows (Odoo). Empty order fields take the order's value, and a row with no order id, no
    customer and no date continues the order above it. Orders whose status says they are
    not a sale (cancelled, failed, refunded, pending payment, a quotation) are left out and
    counted.
    """

    kind = "orders"

    def choice_options(self, name: str, s: pl.Series) -> tuple[dict[str, str], str]:
        if name == "status":
            return _STATUSES, _('"%(value)s" no es un estado de pedido conocido (completado, pagado, '
                                'anulado, pendiente, reembolsado…).')
        return {k: str(v) for k, v in _CHANNELS.items()}, _(
            '"%(value)s" no es un canal de venta (tienda, web, teléfono, marketplace, comercial u otro).')

    # -- steps shared with the tickets ------------------------------------------------
    def _needs_customer_column(self) -> bool:
        if self.has("customer_id") or self.has("customer_email") or self.has("customer_name"):
            return False
        self.report.add_one(row=None, column="", value="", message=_(
            "Falta una columna de cliente: el id del cliente en el origen, su e-mail o su nombre."))
        return True

    def _prepare(self, *, continuation: bool) -> None:
        """Fill the order fields of continuation rows, drop the orders that are not sales."""
        frame = self.frame
        level = [self.columns[n] for n in ORDER_LEVEL_FIELDS if self.has(n)]
        oid = self.columns.get("order_id")
        if oid is not None:
            if continuation and frame[oid].null_count():
                empty = pl.col(oid).is_null()
                for header in level:
                    empty = empty & pl.col(header).is_null()
                frame = frame.with_columns(
                    pl.when(empty).then(pl.col(oid).forward_fill()).otherwise(pl.col(oid)).alias(oid))
            gaps = [h for h in level if frame[h].null_count()]  # most files have none
            if gaps:
                frame = frame.with_columns([
                    pl.when(pl.col(oid).is_not_null())
                    .then(pl.col(h).fill_null(pl.col(h).drop_nulls().first().over(oid)))
                    .otherwise(pl.col(h)).alias(h)
                    for h in gaps])
        if self.has("customer_id"):
            cid = self.columns["customer_id"]
            frame = frame.with_columns(
                pl.when(pl.col(cid).str.to_lowercase().is_in(list(_NO_CUSTOMER))).then(None)
                .otherwise(pl.col(cid)).alias(cid))
        self.frame = frame
        skip = pl.Series([False] * len(frame), dtype=pl.Boolean)
        if self.has("status"):
            skip = skip | (self.convert("status") == "skip").fill_null(False)
        if self.has("cancelled_at"):
            skip = skip | self.raw("cancelled_at").is_not_null()
        self.rows_skipped = int(skip.sum())
        self.orders_skipped = 0
        if self.rows_skipped:
            skipped = frame.filter(skip)
            self.orders_skipped = (skipped[oid].n_unique() if oid is not None
                                   and skipped[oid].null_count() == 0 else len(skipped))
            self.frame = frame.filter(~skip)
            self.bad = self.bad.filter(~skip)
        kept_rows = set(self.frame[ROW_COLUMN].to_list()) if self.rows_skipped else None
        if kept_rows is not None:
            self.cell_issues = [i for i in self.cell_issues if i.row in kept_rows]

    def _customer_columns(self) -> list[pl.Series]:
        return [self.convert("customer_id").alias("customer_id"),
                self.convert("customer_email").alias("customer_email"),
                self.convert("customer_name").alias("customer_name")]

    def _customer_missing(self, f: pl.DataFrame) -> pl.Series:
        missing = f["customer_id"].is_null() & f["customer_email"].is_null() & f["customer_name"].is_null()
        self.error_rows(self._customer_field(), missing, _("Falta el cliente (id en el origen, e-mail o nombre)."))
        return missing

    def _customer_field(self) -> str:
        return next((n for n in ("customer_id", "customer_email", "customer_name") if self.has(n)),
                    "customer_id")

    @staticmethod
    def _customer_ref() -> pl.Expr:
        """What identifies a row's customer, as text (the key of a card created for it)."""
        return pl.coalesce(
            pl.col("customer_id"),
            pl.when(pl.col("customer_email").is_not_null()).then(pl.lit("email:") + pl.col("customer_email")),
            pl.when(pl.col("customer_name").is_not_null()).then(pl.lit("name:") + pl.col("customer_name_key")),
        )

    def _resolve_customers(self, f: pl.DataFrame, missing: pl.Series) -> pl.DataFrame:
        """Adds `customer_pk` (an existing card) and `new_customer` (the key of a card to create)."""
        f = f.with_columns(
            convert.map_unique(f["customer_name"], fold_name, pl.String).alias("customer_name_key"))
        f = f.with_columns(self._customer_lookup(f).alias("customer_pk"))
        unresolved = f["customer_pk"].is_null() & ~missing
        if self.has("customer_name") and unresolved.any():
            by_name, ambiguous = self._customers_by_name(
                f.filter(unresolved)["customer_name_key"].drop_nulls().unique().to_list())
            f = f.with_columns(pl.coalesce(
                "customer_pk",
                pl.col("customer_name_key").replace_strict(by_name, default=None, return_dtype=pl.Int64),
            ).alias("customer_pk"))
            unresolved = f["customer_pk"].is_null() & ~missing
            if ambiguous:
                column = self.columns["customer_name"]
                for row, name, key in f.filter(unresolved & f["customer_name_key"].is_in(list(ambiguous))
                                               & f["customer_id"].is_null() & f["customer_email"].is_null()
                                               ).select(ROW_COLUMN, "customer_name", "customer_name_key").iter_rows():
                    self.report.add_one(row=row, column=column, value=name, message=_(
                        'Hay %(n)s fichas con el nombre "%(value)s" en este origen: identifique al '
                        "cliente por su id o su e-mail.") % {"n": ambiguous[key], "value": "%(value)s"})
                unresolved = unresolved & ~f["customer_name_key"].is_in(list(ambiguous))
        f = f.with_columns(pl.when(unresolved).then(self._customer_ref()).otherwise(None).alias("new_customer"))
        self.new_customers = pl.DataFrame()
        if not unresolved.any():
            return f
        if self.options.create_missing_customers:
            self.new_customers = (
                f.filter(unresolved).group_by("new_customer", maintain_order=True)
                .agg(pl.col("customer_email").drop_nulls().first(),
                     pl.col("customer_name").drop_nulls().first(),
                     pl.col("placed_at").min()))
            return f
        hint = _("importe antes los clientes o marque «Crear fichas para los clientes que falten».")
        id_rows = unresolved & f["customer_id"].is_not_null()
        email_rows = unresolved & f["customer_id"].is_null() & f["customer_email"].is_not_null()
        name_rows = unresolved & ~id_rows & ~email_rows
        self.error_rows("customer_id", id_rows, _('No hay ningún cliente "%(value)s" en este origen: ') + hint)
        self.error_rows("customer_email", email_rows,
                        _('No hay ningún cliente con el e-mail "%(value)s": ') + hint)
        self.error_rows("customer_name", name_rows,
                        _('No hay ningún cliente llamado "%(value)s" en este origen: ') + hint)
        return f

    def _customers_by_name(self, keys: list[str]) -> tuple[dict[str, int], dict[str, int]]:
        """({folded name: card}, {folded name: how many cards}) among this source's cards.

        A card created for a name by an earlier import has the source id "name:<name>"; any
        other card of the source matches by its name, its company name, or "Company, Name"
        (Odoo's display name of a company's contact). Several cards with one name are
        ambiguous and match none.
        """
        wanted = set(keys)
        found: dict[str, set[int]] = defaultdict(set)
        for ext, pk in customer_ids_by_source(self.source, (f"name:{k}" for k in wanted)).items():
            found[ext[5:]].add(pk)
        rest = wanted - set(found)
        if rest:
            for pk, kind, first, last, company in customer_names_of_source(self.source):
                person = fold_name(f"{first} {last}")
                firm = fold_name(company)
                # A person's company name is where they work, not their name.
                names = {person, f"{firm}, {person}" if firm and person else ""}
                if kind == CustomerKind.COMPANY or not person:
                    names.add(firm)
                for variant in names:
                    if variant and variant in rest:
                        found[variant].add(pk)
        unique = {k: next(iter(v)) for k, v in found.items() if len(v) == 1}
        ambiguous = {k: len(v) for k, v in found.items() if len(v) > 1}
        return unique, ambiguous

    def _customer_lookup(self, f: pl.DataFrame) -> pl.Series:
        ids = sorted(set(f["customer_id"].drop_nulls().to_list()))
        by_id = list(customer_ids_by_source(self.source, ids).items())
        id_frame = pl.DataFrame(by_id, schema={"customer_id": pl.String, "pk_by_id": pl.Int64}, orient="row")
        emails = sorted(set(f["customer_email"].drop_nulls().to_list())
                        | {v.lower() for v in ids if "@" in v})
        by_email: dict[str, int] = {}
        for part in _chunks(emails):
            by_email.update(customer_ids_by_email(part))
        email_frame = pl.DataFrame(list(by_email.items()), schema={"email": pl.String, "pk_by_email": pl.Int64},
                                   orient="row")
        email_key = pl.coalesce(pl.col("customer_email"),
                                pl.when(pl.col("customer_id").str.contains("@"))
                                .then(pl.col("customer_id").str.to_lowercase()))
        joined = (f.select("customer_id", email_key.alias("email"))
                  .join(id_frame, on="customer_id", how="left", maintain_order="left")
                  .join(email_frame, on="email", how="left", maintain_order="left"))
        return joined.select(pl.coalesce("pk_by_id", "pk_by_email")).to_series()

    def _resolve_stores(self, f: pl.DataFrame) -> None:
        stores = store_ids_by_code()
        unknown_store = f["store"].is_not_null() & ~f["store"].is_in(list(stores))
        self.missing_stores = sorted(set(f.filter(unknown_store)["store"].to_list()))
        if self.missing_stores and not self.options.create_missing_stores:
            self.error_rows("store", unknown_store, _('"%(value)s" no es el código de ninguna tienda.'))

    def _placed_at(self) -> pl.Series:
        placed_raw = self.raw("placed_at")
        if self.has("placed_time"):
            time = self.raw("placed_time")
            placed_raw = pl.select(pl.when(time.is_not_null() & placed_raw.is_not_null())
                                   .then(placed_raw + " " + time).otherwise(placed_raw)).to_series()
        return self.convert("placed_at", placed_raw)

    def _currency(self) -> pl.Series:
        currency = (self.convert("currency").str.to_uppercase()
                    .fill_null(settings.FIDELIZA_DEFAULT_CURRENCY).alias("currency"))
        self.error_rows("currency", ~currency.str.contains(r"^[A-Z]{3}$"),
                        _('"%(value)s" no es un código de moneda (p. ej. EUR).'))
        return currency

    def _summary(self, orders: int, unchanged: int) -> dict[str, Any]:
        new = self.new_customers
        identifier_only = (int((new["customer_email"].is_null() & new["customer_name"].is_null()).sum())
                           if len(new) else 0)
        return {"orders_created": orders, "orders_unchanged": unchanged,
                "orders_skipped": self.orders_skipped, "stores_created": len(self.missing_stores),
                "customers_created": len(new), "identifier_only": identifier_only}

    # -- orders, one row per line ---------------------------------------------------------
    def plan(self) -> None:
        if self._needs_customer_column():
            return
        self._prepare(continuation=True)
        self.report_cell_issues()
        f = pl.DataFrame({ROW_COLUMN: self.frame[ROW_COLUMN]})
        f = f.with_columns(self.convert("order_id").alias("order_id"), *self._customer_columns())
        self.tick(0.1)
        sku = self.convert("sku")
        description = self.convert("description")
        # Odoo writes a product as "[REF] Name": without a SKU column the reference is the SKU.
        parsed = description.str.extract_groups(r"^\[([^\]]{1,64})\]\s*(.*)$").struct.unnest()
        parsed.columns = ["ref", "name"]
        from_brackets = sku.is_null() & parsed["ref"].is_not_null()
        sku = pl.select(pl.when(from_brackets).then(parsed["ref"]).otherwise(sku)).to_series()
        description = pl.select(pl.when(from_brackets & (parsed["name"] != "")).then(parsed["name"])
                                .otherwise(description)).to_series()
        f = f.with_columns(self._placed_at().alias("placed_at"), sku.alias("sku"),
                           description.alias("description"))
        self.error_rows("sku" if self.has("sku") else "description",
                        f["sku"].is_null() & f["description"].is_null(),
                        _("Falta el SKU o la descripción del artículo."))
        self.tick(0.25)
        f = f.with_columns(
            self.convert("quantity").alias("quantity"),
            self.convert("unit_price").alias("unit_price"),
            self.convert("line_total").alias("line_total"),
            self.convert("unit_cost").alias("unit_cost"),
            self.convert("discount").alias("discount"),
            self.convert("discount_percent").alias("discount_percent"),
            self.convert("channel").alias("channel"),
            self.convert("store").alias("store"),
            self._currency(),
        )
        self.error_rows("unit_price" if self.has("unit_price") else "line_total",
                        f["unit_price"].is_null() & f["line_total"].is_null(),
                        _("Falta el precio unitario o el importe de la línea."))
        self.error_rows("discount_percent", f["discount_percent"] > 10000,
                        _('"%(value)s": un descuento no puede pasar del 100 %%.'))
        self.tick(0.4)
        missing = self._customer_missing(f)

        # Every line of an order must agree on the order's own data.
        f = f.with_columns(pl.coalesce("customer_id", "customer_email", "customer_name").alias("customer_key"))
        for name, col in (("customer_id", "customer_key"), ("placed_at", "placed_at"),
                          ("channel", "channel"), ("store", "store"), ("currency", "currency")):
            first = f.select(pl.col(col).first().over("order_id")).to_series()
            differs = f["order_id"].is_not_null() & f[col].ne_missing(first)
            if name == "customer_id":
                name = self._customer_field()
            self.error_rows(name, differs, _(
                '"%(value)s" no coincide con la primera línea del mismo pedido: todas las líneas de '
                'un pedido deben tener el mismo cliente, fecha, canal, tienda y moneda.'))
        self.tick(0.5)

        f = self._resolve_customers(f, missing)
        products = pl.DataFrame(
            [(sku, pk, None if cost is None else int(cost * 100))
             for sku, pk, cost in product_costs_all()],
            schema={"sku": pl.String, "product_id": pl.Int64, "product_cost": pl.Int64}, orient="row")
        f = f.join(products, on="sku", how="left", maintain_order="left")
        unknown_sku = f["product_id"].is_null() & f["sku"].is_not_null()
        if unknown_sku.any() and not self.options.create_missing_products:
            self.error_rows("sku", unknown_sku, _(
                '"%(value)s" no es un SKU del catálogo: importe antes los productos o elija '
                '«crear los productos que falten».'))
        self._resolve_stores(f)
        self.tick(0.6)

        # Money, exact in integer cents / thousandths (Int128 keeps quantity x price exact).
        # Given only what the line cost (WooCommerce's item_total, Odoo's subtotal), the unit
        # price is rounded up to the cent and the difference is a discount, so the line
        # total is exactly what was paid.
        qty = pl.col("quantity").cast(pl.Int128)
        line_given = pl.col("line_total").cast(pl.Int128)
        f = f.with_columns(
            pl.coalesce("unit_cost", "product_cost").alias("unit_cost"),
            pl.coalesce(pl.col("unit_price"),
                        ((line_given * 1000 + qty - 1) // qty).cast(pl.Int64)).alias("unit_price"),
        )
        f = f.with_columns(
            ((qty * pl.col("unit_price") + 500) // 1000).cast(pl.Int64).alias("gross"),
            ((qty * pl.col("unit_cost") + 500) // 1000).cast(pl.Int64).alias("line_cost"),
        )
        percent_discount = ((pl.col("gross").cast(pl.Int128) * pl.col("discount_percent") + 5000)
                            // 10000).cast(pl.Int64)
        f = f.with_columns(
            pl.when(pl.col("line_total").is_not_null()).then(pl.col("gross") - pl.col("line_total"))
            .otherwise(pl.coalesce(pl.col("discount"), percent_discount, pl.lit(0)))
            .alias("discount"))
        f = f.with_columns((pl.col("gross") - pl.col("discount")).alias("line_total"))
        self.error_rows("line_total", f["discount"] < 0, _(
            '"%(value)s": el importe de la línea supera la cantidad por el precio unitario.'))
        self.error_rows("discount" if self.has("discount") else "discount_percent",
                        f["line_total"] < 0, _('"%(value)s": el descuento supera el importe de la línea.'))
        self.placeholder_products = pl.DataFrame()
        if unknown_sku.any() and self.options.create_missing_products:
            # After the money: a price given only as the line's amount is known by now.
            self.placeholder_products = (
                f.filter(unknown_sku).group_by("sku", maintain_order=True)
                .agg(pl.col("description").drop_nulls().first(), pl.col("unit_price").first()))
        self.tick(0.7)

        if self.report:
            return
        existing = self._existing_orders(f["order_id"].drop_nulls().unique())
        is_new = ~f["order_id"].is_in(existing.implode())
        self.counts.unchanged = int((~is_new).sum())
        new = f.filter(is_new).with_columns(
            (pl.int_range(pl.len()).over("order_id") + 1).alias("line_no"))
        del f
        self.counts.created = len(new)
        self.lines = new.select("order_id", "line_no", "product_id", "sku", "description", "quantity",
                                "unit_price", "unit_cost", "discount", "line_total")
        self.orders = new.group_by("order_id", maintain_order=True).agg(
            pl.col("customer_pk").first().alias("customer_id"),
            pl.col("new_customer").first(),
            pl.col("placed_at").first(),
            pl.col("channel").first(),
            pl.col("store").first(),
            pl.col("currency").first(),
            pl.col("gross").sum().alias("subtotal"),
            pl.col("discount").sum().alias("discount_total"),
            pl.col("line_total").sum().alias("total"),
            pl.when(pl.col("line_cost").null_count() == 0).then(pl.col("line_cost").sum())
            .otherwise(None).alias("cost_total"),
        )
        self._keep_needed_customers()
        self.counts.summary = {**self._summary(len(self.orders), len(existing)),
                               "products_created": len(self.placeholder_products)}
        self.tick(0.8)

    def _keep_needed_customers(self) -> None:
        """Cards are created only for the customers of orders that are new."""
        if len(self.new_customers):
            needed = self.orders["new_customer"].drop_nulls().unique()
            self.new_customers = self.new_customers.filter(pl.col("new_customer").is_in(needed.implode()))

    def _existing_orders(self, order_ids: pl.Series) -> pl.Series:
        """The file's order ids that already exist for this source."""
        if len(order_ids) > 50_000:
            # A big file: one pass over the source's ids beats a hundred `IN (…)` queries.
            known = pl.Series(order_external_ids(self.source), dtype=pl.String)
            return order_ids.filter(order_ids.is_in(known.implode()))
        found: list[str] = []
        for part in _chunks(sorted(order_ids.to_list())):
            found += order_external_ids(self.source, part)
        return pl.Series(found, dtype=pl.String)

    def _create_customers(self) -> dict[str, int]:
        """Minimal cards for the customers the file names but the base does not have.

        Each card keeps the key the file used as its id in this source (the customer id, or
        "email:…", or "name:…"), so the same file or a customers file of the same source
        finds it again; a card with nothing but that id is «solo identificador».
        """
        if not len(self.new_customers):
            return {}
        new = self.new_customers.with_columns(
            pl.col("placed_at").dt.convert_time_zone(self.time_zone).dt.date().alias("since"))
        first, last = CustomerImporter._split_full_name(new["customer_name"])
        cards = [
            card_new(kind=CustomerKind.PERSON, first_name=(fn or "")[:100], last_name=(ln or "")[:150],
                     email=email or "", acquisition_date=since,
                     account_executive=customer_executive_default(self.actor))
            for email, fn, ln, since in zip(new["customer_email"].to_list(), first.to_list(),
                                            last.to_list(), new["since"].to_list(), strict=True)
        ]
        keys = new["new_customer"].to_list()
        cards_minimal_write(actor=self.actor, source=self.source, cards=cards, keys=keys, audit_entity=AUDIT_ENTITY,
                            audit_context={"source": self.source, "file": self.file_name,
                                           "import_run": self.run_id, "created_for": self.kind})
        self.created_ids += [c.pk for c in cards]
        return {k: c.pk for k, c in zip(keys, cards, strict=True)}

    def apply(self) -> None:
        created = self._create_customers()
        if created:
            self.orders = self.orders.with_columns(pl.coalesce(
                pl.col("customer_id"),
                pl.col("new_customer").replace_strict(created, default=None, return_dtype=pl.Int64),
            ).alias("customer_id"))
        if self.missing_stores:
            stores_create_bare(self.missing_stores)
        if len(self.placeholder_products):
            rows = [{"sku": sku, "name": desc or sku, "list_price": _cents_to_decimal(price)}
                    for sku, desc, price in self.placeholder_products.iter_rows()]
            product_upsert_many(rows=rows)
            ids = product_ids_by_sku([r["sku"] for r in rows])
            self.lines = self.lines.with_columns(
                pl.coalesce(pl.col("product_id"),
                            pl.col("sku").replace_strict(ids, default=None, return_dtype=pl.Int64))
                .alias("product_id"))
        stores = pl.DataFrame(list(store_ids_by_code().items()),
                              schema={"store": pl.String, "store_id": pl.Int64}, orient="row")
        orders = self.orders.join(stores, on="store", how="left", maintain_order="left")
        orders = orders.with_columns(
            pl.col("order_id").alias("key"), pl.col("order_id").alias("external_id"),
            pl.col("channel").fill_null(SalesChannel.STORE.value))
        lines = self.lines.with_columns(pl.col("order_id").alias("key"), pl.col("sku").fill_null(""))
        orders_ingest(source=self.source, orders=orders, lines=lines, progress=self.progress)


# ====================================================================== tickets

class TicketImporter(OrderImporter):
    """Tickets: one row per purchase with its customer, date and amount (a till's export).

    Each ticket becomes an order with one line that has no product: the SKU is empty, the
    description is the file's concept or «Ticket sin detalle de artículos», quantity 1 and
    the amount (plus any discount) as its price. It goes through the same bulk ingestion
    and order-recorded reactions (loyalty points, analytics) as any other order.

    Without a ticket number, the id is derived from the customer, the moment, the amount and
    the currency («auto-» and a hash; the second identical ticket of the same file gets
    «-2»), so importing the same file again adds nothing.
    """

    kind = "tickets"
    DERIVED_PREFIX = "auto-"

    def plan(self) -> None:
        if self._needs_customer_column():
            return
        self._prepare(continuation=False)
        self.report_cell_issues()
        f = pl.DataFrame({ROW_COLUMN: self.frame[ROW_COLUMN]})
        f = f.with_columns(self.convert("order_id").alias("order_id"), *self._customer_columns())
        self.tick(0.1)
        amount, checks = convert.money(self.raw("amount"), decimal=self.options.decimal, allow_negative=True)
        self.check("amount", [(self.raw("amount").is_null(), _(REQUIRED_MESSAGE)), *checks,
                              (amount < 0, _('"%(value)s": un importe negativo es una devolución; las '
                                             "devoluciones no se importan como tickets."))])
        f = f.with_columns(
            self._placed_at().alias("placed_at"),
            amount.alias("amount"),
            self.convert("discount").fill_null(0).alias("discount"),
            self.convert("cost").alias("cost"),
            self.convert("description").alias("description"),
            self.convert("channel").alias("channel"),
            self.convert("store").alias("store"),
            self._currency(),
        )
        self.tick(0.3)
        missing = self._customer_missing(f)
        self.first_row_of_duplicates(f["order_id"], "order_id", _(
            'El ticket "%(value)s" está repetido (ya aparece en la fila %(first)s).'))
        f = self._resolve_customers(f, missing)
        self._resolve_stores(f)
        self.tick(0.5)
        f = self._derive_ids(f)
        if self.report:
            return
        existing = self._existing_orders(f["order_id"].unique())
        is_new = ~f["order_id"].is_in(existing.implode())
        self.counts.unchanged = int((~is_new).sum())
        new = f.filter(is_new)
        self.counts.created = len(new)
        self.orders = new.select(
            "order_id", pl.col("customer_pk").alias("customer_id"), "new_customer", "placed_at",
            "channel", "store", "currency",
            (pl.col("amount") + pl.col("discount")).alias("subtotal"),
            pl.col("discount").alias("discount_total"),
            pl.col("amount").alias("total"),
            pl.col("cost").alias("cost_total"),
        )
        self.lines = new.select(
            "order_id", pl.lit(1).alias("line_no"), pl.lit(None, dtype=pl.Int64).alias("product_id"),
            pl.lit("").alias("sku"),
            pl.col("description").fill_null(_("Ticket sin detalle de artículos")),
            pl.lit(1000, dtype=pl.Int64).alias("quantity"),
            (pl.col("amount") + pl.col("discount")).alias("unit_price"),
            pl.col("cost").alias("unit_cost"),
            "discount",
            pl.col("amount").alias("line_total"),
        )
        self.placeholder_products = pl.DataFrame()
        self._keep_needed_customers()
        self.counts.summary = {**self._summary(len(self.orders), len(existing)),
                               "order_ids_derived": self.derived}
        self.tick(0.8)

    def _derive_ids(self, f: pl.DataFrame) -> pl.DataFrame:
        """Fill missing ticket numbers with a stable id (see the class docstring)."""
        need = f["order_id"].is_null()
        self.derived = int(need.sum())
        if not self.derived:
            return f
        base = f.select(pl.concat_str([
            self._customer_ref().fill_null(""),
            pl.col("placed_at").dt.strftime("%Y-%m-%dT%H:%M:%S").fill_null(""),
            pl.col("amount").cast(pl.String).fill_null(""),
            pl.col("currency").fill_null(""),
        ], separator="|").alias("base"))["base"]
        digest = convert.map_unique(
            base, lambda text: hashlib.sha256(text.encode()).hexdigest()[:20], pl.String)
        # The n-th identical ticket of the file (same customer, moment, amount): n > 1 gets "-n".
        nth = (pl.DataFrame({"b": base, "need": need})
               .select(pl.col("need").cast(pl.Int64).cum_sum().over("b").alias("n"))["n"])
        derived = pl.select(
            pl.lit(self.DERIVED_PREFIX) + digest
            + pl.when(nth > 1).then(pl.lit("-") + nth.cast(pl.String)).otherwise(pl.lit(""))
        ).to_series()
        return f.with_columns(pl.coalesce(pl.col("order_id"), derived).alias("order_id"))


IMPORTERS: dict[str, type[Importer]] = {
    "customers": CustomerImporter,
    "contacts": ContactImporter,
    "products": ProductImporter,
    "orders": OrderImporter,
    "tickets": TicketImporter,
}
