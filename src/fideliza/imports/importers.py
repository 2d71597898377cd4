"""One importer per kind of file: plan (validate everything, decide every write), then apply.

`plan()` never writes: it converts each mapped column as a whole (Polars), reports every
bad cell, resolves references with dict/join lookups and works out what would be created,
updated or left unchanged; a dry run stops there. `apply()` performs the planned writes
set-based and must run inside one transaction (the caller's `transaction.atomic`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record_bulk
from fideliza.catalog.models import Product
from fideliza.catalog.services import category_path_split, product_upsert_many
from fideliza.customers.models import (
    Channel,
    ConsentRecord,
    ConsentStatus,
    ContactTime,
    Customer,
    CustomerKind,
    CustomerSourceId,
    Gender,
    Tag,
)
from fideliza.customers.normalize import normalize_tax_id
from fideliza.customers.services import AUDIT_ENTITY, customer_clean_data
from fideliza.sales.ingest import insert_objects, orders_ingest
from fideliza.sales.models import Order, SalesChannel, Store

from . import convert
from .fields import CONSENT_FIELDS, FieldSpec, field_specs
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
                 progress: Progress | None = None) -> None:
        self.frame = table.frame
        self.columns = {fieldname: column for column, fieldname in mapping.items() if fieldname}
        self.options = options
        self.source = source
        self.actor = actor
        self.file_name = file_name
        self.run_id = run_id
        self.progress = progress
        self.report = convert.ErrorReport()
        self.specs = field_specs(self.kind)
        self.bad = pl.Series([False] * len(self.frame))
        self.counts = PlanCounts()
        self.time_zone = settings.TIME_ZONE
        self.created_ids: list[int] = []  # customer cards created by `apply` (matched after commit)

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

    def first_row_of_duplicates(self, keys: pl.Series, name: str, message: str) -> None:
        """Report every repeated key after its first occurrence."""
        frame = pl.DataFrame({"k": keys, "r": self.frame[ROW_COLUMN]})
        first = frame.filter(pl.col("k").is_not_null()).group_by("k").agg(pl.col("r").min().alias("first"))
        joined = frame.join(first, on="k", how="left", maintain_order="left")
        dup = joined["first"].is_not_null() & (joined["first"] != joined["r"])
        if dup.any():
            column = self.columns.get(name, str(self.specs[name].label))
            bad = self.frame.with_columns(keys.alias("__key__"), joined["first"].alias("__first__")).filter(dup)
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
        values: dict[str, pl.Series] = {}
        external_id = self.convert("external_id")
        for name in ("kind", "first_name", "last_name", "company_name", "employees", "gender",
                     "tax_id", "email", "address", "postal_code", "city", "region", "country",
                     "preferred_channel", "preferred_contact_time", "acquisition_channel", "notes"):
            if self.has(name):
                values[name] = self.convert(name)
        self.tick(0.2)
        for name in ("birth_date", "acquisition_date", "acquisition_cost", "wallet_potential"):
            if self.has(name):
                values[name] = self.convert(name)
        if "tax_id" in values:
            values["tax_id"] = convert.map_unique(values["tax_id"], normalize_tax_id, pl.String)
        if self.has("full_name"):
            first, last = self._split_full_name(self.convert("full_name"))
            values["first_name"] = pl.select(pl.coalesce([values.get("first_name", first), first])).to_series()
            values["last_name"] = pl.select(pl.coalesce([values.get("last_name", last), last])).to_series()
        self.tick(0.4)
        if self.has("phone"):
            values["phone"] = self._phones(self.convert("phone"), values.get("country"))
        interests = self.convert("interests") if self.has("interests") else None
        consents = {name: self.convert(name) for name in CONSENT_FIELDS if self.has(name)}
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
            column = self.columns.get("external_id") or self.columns.get("email") or self.frame.columns[0]
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
        by_key: dict[str, int] = {}
        for part in _chunks(sorted(set(keys))):
            by_key.update(CustomerSourceId.objects.filter(source=self.source, external_id__in=part)
                          .values_list("external_id", "customer_id"))
        by_email: dict[str, int] = {}
        unmatched_emails = sorted({e for k, e, x in zip(keys, email.to_list(), external_id.to_list(),
                                                        strict=True)
                                   if e and k not in by_key and x is None})
        for part in _chunks(unmatched_emails):
            for addr, pk in (Customer.objects.filter(source_ids__source=self.source, email__in=part)
                             .order_by("pk").values_list("email", "pk")):
                by_email.setdefault(addr, pk)
        matched = [by_key.get(k) or (by_email.get(e) if x is None else None)
                   for k, e, x in zip(keys, email.to_list(), external_id.to_list(), strict=True)]
        existing: dict[int, Customer] = {}
        for part in _chunks(sorted({m for m in matched if m})):
            existing.update((c.pk, c) for c in Customer.objects.filter(pk__in=part))
        current_tags: dict[int, list[str]] = defaultdict(list)
        current_consent: dict[tuple[int, str], bool] = {}
        if existing:
            through = Customer.interests.through
            for part in _chunks(sorted(existing)):
                for cid, name in through.objects.filter(customer_id__in=part).values_list(
                        "customer_id", "tag__name"):
                    current_tags[cid].append(name)
                if consents:
                    for cid, channel, status in (ConsentRecord.objects.filter(customer_id__in=part)
                                                 .order_by("customer_id", "channel", "-recorded_at", "-id")
                                                 .values_list("customer_id", "channel", "status")):
                        current_consent.setdefault((cid, channel), status == ConsentStatus.GRANTED)
        self.tick(0.8)

        columns = {name: s.to_list() for name, s in values.items()}
        for money_field in ("acquisition_cost", "wallet_potential"):
            if money_field in columns:
                columns[money_field] = [_cents_to_decimal(v) for v in columns[money_field]]
        tag_lists = interests.to_list() if interests is not None else None
        consent_lists = {CONSENT_FIELDS[name]: s.to_list() for name, s in consents.items()}
        rows_no = self.frame[ROW_COLUMN].to_list()
        ext_ids = external_id.to_list()
        today = timezone.localdate()

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
                if not any(data.get(f) for f in ("first_name", "last_name", "company_name", "email", "phone")):
                    self.report.add_one(row=rows_no[i], column=self.columns.get("first_name", ""), value="",
                                        message=_("Un cliente necesita al menos un nombre, una razón "
                                                  "social, un e-mail o un teléfono."))
                    continue
                card = Customer(**{f: v for f, v in data.items() if f in self.CARD_FIELDS})
                self.creates.append((keys[i], ext_ids[i], card, tags or [], wanted_consent))
                continue
            changes: dict[str, tuple[Any, Any]] = {}
            for f, v in data.items():
                old = getattr(customer, f)
                if old != v:
                    changes[f] = (old, v)
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
            else:
                self.counts.unchanged += 1
        self.counts.created = len(self.creates)
        self.counts.updated = len(self.updates)

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
        now = timezone.now()
        context = {"source": self.source, "file": self.file_name, "import_run": self.run_id}
        cards = [c for _k, _x, c, _t, _co in self.creates]
        insert_objects(Customer, cards)
        self.created_ids = [c.pk for c in cards]
        insert_objects(CustomerSourceId, [CustomerSourceId(customer_id=c.pk, source=self.source, external_id=k)
                                          for k, _x, c, _t, _co in self.creates])
        tag_rows: list[tuple[Customer, list[str]]] = [(c, t) for _k, _x, c, t, _co in self.creates if t]
        tag_rows += [(c, t) for c, _ch, t, _co in self.updates if t is not None]
        self._set_tags(tag_rows, replace_ids=[c.pk for c, _ch, t, _co in self.updates if t is not None])
        consent_source = f"import:{self.file_name}"[:100]
        wording = _("Según el archivo importado «%(file)s».") % {"file": self.file_name}
        consents = [
            ConsentRecord(customer=c, channel=ch, status=ConsentStatus.GRANTED if g else ConsentStatus.WITHDRAWN,
                          recorded_at=now, source=consent_source, wording=wording, recorded_by=self.actor.user)
            for c, consent in ([(c, co) for _k, _x, c, _t, co in self.creates]
                               + [(c, co) for c, _ch, _t, co in self.updates])
            for ch, g in consent.items()
        ]
        insert_objects(ConsentRecord, consents)
        updated_fields = sorted({f for _c, ch, _t, _co in self.updates for f in ch
                                 if f in self.CARD_FIELDS})
        for c, ch, _t, _co in self.updates:
            for f in ch:
                if f in self.CARD_FIELDS:
                    setattr(c, f, ch[f][1])
            c.updated_at = now
        if updated_fields:
            Customer.objects.bulk_update([c for c, ch, _t, _co in self.updates
                                          if any(f in self.CARD_FIELDS for f in ch)],
                                         [*updated_fields, "updated_at"], batch_size=500)
        audit_record_bulk(
            actor=self.actor, action=AuditAction.BULK_CREATE, entity=AUDIT_ENTITY,
            rows=[(c.pk, {**{f: (None, getattr(c, f)) for f in self.CARD_FIELDS
                             if getattr(c, f) not in ("", None)},
                          **({"interests": (None, ", ".join(t))} if t else {}),
                          **{f"consent_{ch}": (None, g) for ch, g in co.items()}})
                  for _k, _x, c, t, co in self.creates],
            context=context)
        audit_record_bulk(actor=self.actor, action=AuditAction.BULK_UPDATE, entity=AUDIT_ENTITY,
                          rows=[(c.pk, ch) for c, ch, _t, _co in self.updates], context=context)

    @staticmethod
    def _set_tags(rows: list[tuple[Customer, list[str]]], replace_ids: list[int]) -> None:
        if not rows:
            return
        names = sorted({name for _c, names in rows for name in names})
        tags = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
        missing = [Tag(name=name) for name in names if name not in tags]
        if missing:
            Tag.objects.bulk_create(missing, ignore_conflicts=True)
            tags = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
        through = Customer.interests.through
        for part in _chunks(replace_ids):
            through.objects.filter(customer_id__in=part).delete()
        insert_objects(through, [through(customer_id=c.pk, tag_id=tags[name])
                                 for c, names in rows for name in names])


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
            known.update(Product.objects.filter(sku__in=part).values_list("sku", flat=True))
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


class OrderImporter(Importer):
    """Orders, one row per line, grouped by order id; matched by (source, order id).

    An order that already exists is left as it is (its rows count as unchanged): orders are
    history, corrections come as returns. Customers are found by their id in the same
    source, else by e-mail. Unknown SKUs are errors unless `create_missing_products`;
    unknown store codes create stores unless `create_missing_stores` is off.
    """

    kind = "orders"

    def choice_options(self, name: str, s: pl.Series) -> tuple[dict[str, str], str]:
        return {k: str(v) for k, v in _CHANNELS.items()}, _('"%(value)s" no es un canal de venta (tienda, web, teléfono, '
                            'marketplace, comercial u otro).')

    def plan(self) -> None:
        if not (self.has("customer_id") or self.has("customer_email")):
            self.report.add_one(row=None, column="", value="", message=_(
                "Falta una columna de cliente: el id del cliente en el origen o su e-mail."))
            return
        f = pl.DataFrame({ROW_COLUMN: self.frame[ROW_COLUMN]})
        f = f.with_columns(self.convert("order_id").alias("order_id"),
                           self.convert("customer_id").alias("customer_id"),
                           self.convert("customer_email").alias("customer_email"))
        placed_raw = self.raw("placed_at")
        if self.has("placed_time"):
            time = self.raw("placed_time")
            placed_raw = pl.select(pl.when(time.is_not_null() & placed_raw.is_not_null())
                                   .then(placed_raw + " " + time).otherwise(placed_raw)).to_series()
        self.tick(0.1)
        f = f.with_columns(
            self.convert("placed_at", placed_raw).alias("placed_at"),
            self.convert("sku").alias("sku"),
            self.convert("description").alias("description"),
        )
        self.tick(0.25)
        f = f.with_columns(
            self.convert("quantity").alias("quantity"),
            self.convert("unit_price").alias("unit_price"),
            self.convert("unit_cost").alias("unit_cost"),
            self.convert("discount").fill_null(0).alias("discount"),
            self.convert("channel").alias("channel"),
            self.convert("store").alias("store"),
            self.convert("currency").str.to_uppercase()
            .fill_null(settings.FIDELIZA_DEFAULT_CURRENCY).alias("currency"),
        )
        self.tick(0.4)
        self.error_rows("currency", ~f["currency"].str.contains(r"^[A-Z]{3}$"),
                        _('"%(value)s" no es un código de moneda (p. ej. EUR).'))
        customer_required = f["customer_id"].is_null() & f["customer_email"].is_null()
        self.error_rows("customer_id" if self.has("customer_id") else "customer_email", customer_required,
                        _("Falta el cliente (id en el origen o e-mail)."))

        # Every line of an order must agree on the order's own data.
        f = f.with_columns(pl.coalesce("customer_id", "customer_email").alias("customer_key"))
        for name, col in (("customer_id", "customer_key"), ("placed_at", "placed_at"),
                          ("channel", "channel"), ("store", "store"), ("currency", "currency")):
            first = f.select(pl.col(col).first().over("order_id")).to_series()
            differs = f["order_id"].is_not_null() & f[col].ne_missing(first)
            if name == "customer_id" and not self.has("customer_id"):
                name = "customer_email"
            self.error_rows(name, differs, _(
                '"%(value)s" no coincide con la primera línea del mismo pedido: todas las líneas de '
                'un pedido deben tener el mismo cliente, fecha, canal, tienda y moneda.'))
        self.tick(0.5)

        # References, resolved with joins against small lookup frames.
        customers = self._customer_lookup(f)
        f = f.with_columns(customers.alias("customer_pk"))
        unresolved = f["customer_pk"].is_null() & ~customer_required
        self.error_rows("customer_id" if self.has("customer_id") else "customer_email", unresolved, _(
            'No hay ningún cliente "%(value)s" en este origen: importe antes los clientes.'))

        products = pl.DataFrame(
            [(sku, pk, None if cost is None else int(cost * 100))
             for sku, pk, cost in Product.objects.values_list("sku", "pk", "unit_cost")],
            schema={"sku": pl.String, "product_id": pl.Int64, "product_cost": pl.Int64}, orient="row")
        f = f.join(products, on="sku", how="left", maintain_order="left")
        unknown_sku = f["product_id"].is_null() & f["sku"].is_not_null()
        self.placeholder_products = pl.DataFrame()
        if unknown_sku.any():
            if self.options.create_missing_products:
                self.placeholder_products = (
                    f.filter(unknown_sku).group_by("sku", maintain_order=True)
                    .agg(pl.col("description").drop_nulls().first(), pl.col("unit_price").first())
                )
            else:
                self.error_rows("sku", unknown_sku, _(
                    '"%(value)s" no es un SKU del catálogo: importe antes los productos o elija '
                    '«crear los productos que falten».'))
        stores = dict(Store.objects.values_list("code", "pk"))
        unknown_store = f["store"].is_not_null() & ~f["store"].is_in(list(stores))
        self.missing_stores = sorted(set(f.filter(unknown_store)["store"].to_list()))
        if self.missing_stores and not self.options.create_missing_stores:
            self.error_rows("store", unknown_store, _('"%(value)s" no es el código de ninguna tienda.'))
        self.tick(0.6)

        # Money, exact in integer cents / thousandths (Int128 keeps quantity x price exact).
        qty = pl.col("quantity").cast(pl.Int128)
        f = f.with_columns(pl.coalesce("unit_cost", "product_cost").alias("unit_cost"))
        f = f.with_columns(
            ((qty * pl.col("unit_price") + 500) // 1000).cast(pl.Int64).alias("gross"),
            ((qty * pl.col("unit_cost") + 500) // 1000).cast(pl.Int64).alias("line_cost"),
        ).with_columns((pl.col("gross") - pl.col("discount")).alias("line_total"))
        self.error_rows("discount", f["line_total"] < 0, _(
            '"%(value)s": el descuento supera el importe de la línea.'))
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
        self.counts.summary = {"orders_created": len(self.orders),
                               "orders_unchanged": len(existing),
                               "stores_created": len(self.missing_stores),
                               "products_created": len(self.placeholder_products)}
        self.tick(0.8)

    def _existing_orders(self, order_ids: pl.Series) -> pl.Series:
        """The file's order ids that already exist for this source."""
        qs = Order.objects.filter(source=self.source)
        if len(order_ids) > 50_000:
            # A big file: one pass over the source's ids beats a hundred `IN (…)` queries.
            known = pl.Series(list(qs.values_list("external_id", flat=True).iterator(chunk_size=50_000)),
                              dtype=pl.String)
            return order_ids.filter(order_ids.is_in(known.implode()))
        found: list[str] = []
        for part in _chunks(sorted(order_ids.to_list())):
            found += qs.filter(external_id__in=part).values_list("external_id", flat=True)
        return pl.Series(found, dtype=pl.String)

    def _customer_lookup(self, f: pl.DataFrame) -> pl.Series:
        ids = sorted(set(f["customer_id"].drop_nulls().to_list()))
        by_id: list[tuple[str, int]] = []
        for part in _chunks(ids):
            by_id += CustomerSourceId.objects.filter(source=self.source, external_id__in=part).values_list(
                "external_id", "customer_id")
        id_frame = pl.DataFrame(by_id, schema={"customer_id": pl.String, "pk_by_id": pl.Int64}, orient="row")
        emails = sorted(set(f["customer_email"].drop_nulls().to_list())
                        | {v for v in ids if "@" in v})
        by_email: dict[str, int] = {}
        for part in _chunks(emails):
            for addr, pk in (Customer.objects.filter(email__in=part, merged_into__isnull=True)
                             .order_by("-pk").values_list("email", "pk")):
                by_email[addr] = pk  # ascending override: the oldest card wins
        email_frame = pl.DataFrame(list(by_email.items()), schema={"email": pl.String, "pk_by_email": pl.Int64},
                                   orient="row")
        email_key = pl.coalesce(pl.col("customer_email"),
                                pl.when(pl.col("customer_id").str.contains("@"))
                                .then(pl.col("customer_id").str.to_lowercase()))
        joined = (f.select("customer_id", email_key.alias("email"))
                  .join(id_frame, on="customer_id", how="left", maintain_order="left")
                  .join(email_frame, on="email", how="left", maintain_order="left"))
        return joined.select(pl.coalesce("pk_by_id", "pk_by_email")).to_series()

    def apply(self) -> None:
        if self.missing_stores:
            Store.objects.bulk_create([Store(code=code, name=code) for code in self.missing_stores])
        if len(self.placeholder_products):
            rows = [{"sku": sku, "name": desc or sku, "list_price": _cents_to_decimal(price)}
                    for sku, desc, price in self.placeholder_products.iter_rows()]
            product_upsert_many(rows=rows)
            ids = dict(Product.objects.filter(sku__in=[r["sku"] for r in rows]).values_list("sku", "pk"))
            self.lines = self.lines.with_columns(
                pl.coalesce(pl.col("product_id"),
                            pl.col("sku").replace_strict(ids, default=None, return_dtype=pl.Int64))
                .alias("product_id"))
        stores = pl.DataFrame(list(Store.objects.values_list("code", "pk")),
                              schema={"store": pl.String, "store_id": pl.Int64}, orient="row")
        orders = self.orders.join(stores, on="store", how="left", maintain_order="left")
        orders = orders.with_columns(
            pl.col("order_id").alias("key"), pl.col("order_id").alias("external_id"),
            pl.col("channel").fill_null(SalesChannel.STORE.value))
        lines = self.lines.with_columns(pl.col("order_id").alias("key"))
        orders_ingest(source=self.source, orders=orders, lines=lines, progress=self.progress)


IMPORTERS: dict[str, type[Importer]] = {
    "customers": CustomerImporter,
    "products": ProductImporter,
    "orders": OrderImporter,
}
