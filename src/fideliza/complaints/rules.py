"""Per-country rule sets of the complaints book and the deadline calculator.

A rule set says which kinds a consumer may file, which fields the form asks, how many
business days the business has to answer and whose public holidays count (the maintained
`holidays` package: national plus the region's, e.g. Andalucía's 28 February). Only Peru
(Libro de Reclamaciones, 15 business days), Colombia (PQRS, 15 business days) and Spain's
Andalucía (hojas de quejas y reclamaciones, 10 business days) carry a statutory term here;
the other sets carry a business policy that `FIDELIZA_COMPLAINT_DAYS` may change
({"MX": 10, "ES-CT": 20}).

Deadlines are counted in the rule set's own zone: the day of receipt is day 0, the term
ends at the end of the N-th business day after it (stored as the first instant of the next
local day, so "overdue" is simply `now >= due_at`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fideliza.core import calendar

RECLAMO, QUEJA, PETICION, SUGERENCIA = "reclamo", "queja", "peticion", "sugerencia"

KIND_LABELS: dict[str, Promise] = {
    RECLAMO: _("Reclamo"),
    QUEJA: _("Queja"),
    PETICION: _("Petición"),
    SUGERENCIA: _("Sugerencia"),
}


TRACKING_LABEL = _("Código de seguimiento")


@dataclass(frozen=True)
class RuleSet:
    code: str                       # "PE", "CO", "ES", "MX", "AR", "GEN"
    name: Promise
    book: Promise                   # what the consumer calls it
    zone: str                       # IANA zone the days are counted in
    kinds: tuple[str, ...]
    days: int                       # business days to answer (resolution deadline)
    first_response_days: int = 2    # business days to a first answer (the business's own target)
    holiday_country: str | None = None
    subdivisions: tuple[tuple[str, Promise], ...] = ()
    subdivision_required: bool = False
    document_required: bool = False  # an identity document number
    address_required: bool = False
    amount_field: bool = False      # the amount claimed (Peru)
    statutory: bool = False         # the term is the law's, not a business policy
    tracking_label: Promise = TRACKING_LABEL
    tracking_prefix: str = "Q"
    kind_help: dict[str, Promise] = field(default_factory=dict)
    legal_note: Promise | str = ""

    def term_days(self, subdivision: str = "") -> int:
        """The configured term: `FIDELIZA_COMPLAINT_DAYS` may override per set or region."""
        overrides = getattr(settings, "FIDELIZA_COMPLAINT_DAYS", {}) or {}
        if subdivision and f"{self.code}-{subdivision}" in overrides:
            return int(overrides[f"{self.code}-{subdivision}"])
        return int(overrides.get(self.code, self.days))

    def kind_choices(self) -> list[tuple[str, Promise]]:
        return [(k, KIND_LABELS[k]) for k in self.kinds]


SPAIN_REGIONS: tuple[tuple[str, Promise], ...] = (
    ("AN", _("Andalucía")), ("AR", _("Aragón")), ("AS", _("Asturias")), ("IB", _("Illes Balears")),
    ("CN", _("Canarias")), ("CB", _("Cantabria")), ("CL", _("Castilla y León")),
    ("CM", _("Castilla-La Mancha")), ("CT", _("Cataluña")), ("EX", _("Extremadura")), ("GA", _("Galicia")),
    ("MD", _("Comunidad de Madrid")), ("MC", _("Región de Murcia")), ("NC", _("Navarra")),
    ("PV", _("País Vasco")), ("RI", _("La Rioja")), ("VC", _("Comunitat Valenciana")),
    ("CE", _("Ceuta")), ("ML", _("Melilla")),
)

RULE_SETS: dict[str, RuleSet] = {rs.code: rs for rs in (
    RuleSet(
        code="PE", name=_("Perú"), book=_("Libro de Reclamaciones"), zone="America/Lima",
        kinds=(RECLAMO, QUEJA), days=15, holiday_country="PE", document_required=True,
        address_required=True, amount_field=True, statutory=True,
        tracking_label=_("Código de la hoja de reclamación"), tracking_prefix="LR",
        kind_help={RECLAMO: _("Disconformidad con los productos o servicios adquiridos."),
                   QUEJA: _("Malestar o descontento con la atención al público, sin relación con "
                            "el producto o servicio.")},
        legal_note=_("El proveedor debe responder en un plazo no mayor de 15 días hábiles "
                     "(Código de Protección y Defensa del Consumidor, art. 24)."),
    ),
    RuleSet(
        code="CO", name=_("Colombia"), book=_("Peticiones, quejas, reclamos y sugerencias (PQRS)"),
        zone="America/Bogota", kinds=(PETICION, QUEJA, RECLAMO, SUGERENCIA), days=15, holiday_country="CO",
        document_required=True, statutory=True, tracking_label=_("Número de radicado"),
        tracking_prefix="RAD",
        legal_note=_("Se responde dentro de los 15 días hábiles siguientes a la recepción (Ley 1755 de 2015)."),
    ),
    RuleSet(
        code="ES", name=_("España"), book=_("Hojas de quejas y reclamaciones"), zone="Europe/Madrid",
        kinds=(QUEJA, RECLAMO, SUGERENCIA), days=10, holiday_country="ES", subdivisions=SPAIN_REGIONS,
        subdivision_required=True, document_required=True, address_required=True, statutory=True,
        tracking_label=_("Número de la hoja"), tracking_prefix="HR",
        legal_note=_("Plazo de respuesta: 10 días hábiles con los festivos de la comunidad autónoma "
                     "(Andalucía: Decreto 472/2019)."),
    ),
    RuleSet(
        code="MX", name=_("México"), book=_("Buzón de quejas"), zone="America/Mexico_City",
        kinds=(QUEJA, RECLAMO, SUGERENCIA), days=10, holiday_country="MX",
        tracking_label=_("Folio"), tracking_prefix="FOL",
        legal_note=_("Plazo fijado por la empresa; si no queda conforme puede acudir a PROFECO."),
    ),
    RuleSet(
        code="AR", name=_("Argentina"), book=_("Libro de Quejas"), zone="America/Argentina/Buenos_Aires",
        kinds=(QUEJA, RECLAMO, SUGERENCIA), days=10, holiday_country="AR", document_required=True,
        tracking_label=_("Número de queja"), tracking_prefix="LQ",
        legal_note=_("Plazo fijado por la empresa; puede además dirigirse a Defensa del Consumidor."),
    ),
    RuleSet(
        code="GEN", name=_("General"), book=_("Libro de quejas"), zone="",
        kinds=(RECLAMO, QUEJA, PETICION, SUGERENCIA), days=10,
        legal_note=_("Le responderemos dentro del plazo indicado, en días hábiles."),
    ),
)}

DEFAULT_RULES = "GEN"


def rule_set(code: str) -> RuleSet:
    return RULE_SETS.get((code or "").upper(), RULE_SETS[DEFAULT_RULES])


def rules_default() -> RuleSet:
    return rule_set(getattr(settings, "FIDELIZA_COMPLAINTS_RULES", DEFAULT_RULES))


def zone_of(rules: RuleSet) -> ZoneInfo:
    return ZoneInfo(rules.zone or settings.TIME_ZONE)


def is_business_day(day: date, rules: RuleSet, subdivision: str = "") -> bool:
    """Monday to Friday and not a public holiday of the country (and of the region)."""
    region = subdivision if any(code == subdivision for code, _label in rules.subdivisions) else ""
    return calendar.is_business_day(day, rules.holiday_country, region)


def add_business_days(start: date, days: int, rules: RuleSet, subdivision: str = "") -> date:
    """The `days`-th business day after `start` (`start` itself never counts; 0 → `start`)."""
    region = subdivision if any(code == subdivision for code, _label in rules.subdivisions) else ""
    return calendar.add_business_days(start, days, rules.holiday_country, region)


def business_days_between(after: date, until: date, rules: RuleSet, subdivision: str = "") -> int:
    """How many business days in (after, until]; 0 when `until` <= `after`."""
    n, current = 0, after
    while current < until:
        current += timedelta(days=1)
        if is_business_day(current, rules, subdivision):
            n += 1
    return n


def local_date(moment: datetime, rules: RuleSet) -> date:
    return moment.astimezone(zone_of(rules)).date()


def end_of_day(day: date, rules: RuleSet) -> datetime:
    """The first instant of the local day after `day` (the deadline's exclusive end), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone_of(rules)).astimezone(ZoneInfo("UTC"))


def due_day(received_at: datetime, days: int, rules: RuleSet, subdivision: str = "") -> date:
    """The last day of a term of `days` business days for something received at `received_at`."""
    return add_business_days(local_date(received_at, rules), days, rules, subdivision)


def due_at(received_at: datetime, days: int, rules: RuleSet, subdivision: str = "") -> datetime:
    return end_of_day(due_day(received_at, days, rules, subdivision), rules)


def remaining_days(now: datetime, deadline: datetime, rules: RuleSet, subdivision: str = "") -> int:
    """Business days left from `now`'s local day to the deadline's last day (0 on that day or past it)."""
    last = (deadline.astimezone(zone_of(rules)) - timedelta(microseconds=1)).date()
    return business_days_between(local_date(now, rules), last, rules, subdivision)


def resumed_due_at(paused_remaining: int, resumed_at: datetime, rules: RuleSet, subdivision: str = "") -> datetime:
    """The deadline after a pause: the business days that were left when the clock stopped,
    counted again from the day it restarts (the pause day itself counts as elapsed)."""
    return due_at(resumed_at, paused_remaining, rules, subdivision)
