"""The demo business's contact cadences (seed 004: more effort on the customers worth more):
Platino customers called every 30 days, Oro every 60, and a visit every 90 days for the
valuable Córdoba customers who stopped buying (a saved segment of the demo). The rules
start 90 days back, so the first daily run — done here — hands the customers nobody has
contacted to their account executive (else the owner), and «Mi día» and «Perdiendo
contacto» have content on the first `make run`. Deterministic; does nothing when rules exist."""

from __future__ import annotations

from datetime import date, timedelta

from fideliza.accounts.services import Actor
from fideliza.followups.models import FollowUpPriority
from fideliza.loyalty.selectors import tiers_all
from fideliza.segments.selectors import segments_active

from .models import CadenceRule
from .services import cadence_rule_save, cadences_run

CONTACT = ["call", "visit", "meeting", "meal"]
TIER_RULES = (
    ("Platino: llamar cada 30 días", "Platino", 30, CONTACT, FollowUpPriority.HIGH,
     "Llamar a {{ nombre_completo }} (Platino): {{ dias_sin_contacto }} días sin contacto"),
    ("Oro: contacto cada 60 días", "Oro", 60, [*CONTACT, "whatsapp", "email"], FollowUpPriority.NORMAL,
     "Contactar con {{ nombre_completo }} (Oro): {{ dias_sin_contacto }} días sin contacto"),
)
SEGMENT_RULE = ("Oro de Córdoba dormidos: visita cada 90 días", "Oro de Córdoba que no compran hace 90 días", 90,
                ["visit", "meeting"], FollowUpPriority.NORMAL, "Visitar a {{ nombre_completo }} en {{ ciudad }}")


def cadences_demo_create(*, today: date, actor: Actor) -> dict[str, int]:
    """The demo's rules and their first run; {"rules": n, "followups": n}."""
    if CadenceRule.objects.exists():
        return {"rules": 0, "followups": 0}
    tiers = {t.name: t for t in tiers_all()}
    segments = {s.name: s for s in segments_active()}
    starts = today - timedelta(days=90)
    rules = []
    for name, tier, every, kinds, priority, title in TIER_RULES:
        if tier in tiers:
            rules.append(cadence_rule_save(actor=actor, data={
                "name": name, "audience": "tier", "tier": tiers[tier], "every_days": every, "kinds": kinds,
                "priority": priority, "title_template": title, "starts_on": starts}))
    name, segment, every, kinds, priority, title = SEGMENT_RULE
    if segment in segments:
        rules.append(cadence_rule_save(actor=actor, data={
            "name": name, "audience": "segment", "segment": segments[segment], "every_days": every, "kinds": kinds,
            "priority": priority, "title_template": title, "starts_on": starts}))
    created = cadences_run(rule_ids=[r.pk for r in rules])
    return {"rules": len(rules), "followups": sum(created.values())}
