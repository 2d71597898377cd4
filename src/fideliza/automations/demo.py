"""The demo business's standard automations (called by fideliza.demo)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fideliza.accounts.services import Actor

from .models import Automation, OfferKind, StepCondition, TriggerKind
from .services import automation_save

STANDARD: list[dict[str, Any]] = [
    {"data": {"name": "Bienvenida", "trigger_kind": TriggerKind.WELCOME, "topic": "",
              "description": "Tras la primera compra: gracias y cómo funciona el club; a la semana, consejos."},
     "steps": [
         {"position": 1, "email_subject": "¡Bienvenido/a, {{ nombre|default(\"cliente\") }}!",
          "email_text": "Hola {{ nombre|default(\"\") }}:\n\nGracias por tu primera compra. Ya tienes "
                        "{{ puntos|numero }} puntos en el club.\n\nCódigo para recomendar a un amigo: "
                        "{{ codigo_recomendacion }}",
          "sms_text": "Gracias por tu primera compra, {{ nombre }}. Ya tienes {{ puntos|numero }} puntos."},
         {"position": 2, "delay_days": 7, "condition": StepCondition.NONE,
          "email_subject": "Consejos para sacar partido a tu compra",
          "email_text": "Hola {{ nombre }}:\n\nAlgunos consejos de uso y mantenimiento. ¿Qué tal te va?",
          "sms_text": "{{ nombre }}, ¿qué tal tu compra? Respóndenos si necesitas ayuda."},
     ]},
    {"data": {"name": "Cumpleaños", "trigger_kind": TriggerKind.BIRTHDAY, "topic": "",
              "description": "El día del cumpleaños del cliente, en su zona horaria, con un regalo."},
     "steps": [
         {"position": 1, "offer_kind": OfferKind.PERCENT, "offer_value": Decimal(15), "offer_valid_days": 30,
          "email_subject": "¡Feliz cumpleaños, {{ nombre|default(\"\") }}!",
          "email_text": "Hoy es tu día. Te regalamos {{ cupon_descripcion }} con el código {{ cupon }}, "
                        "válido hasta el {{ cupon_caduca|fecha }}.",
          "sms_text": "¡Feliz cumpleaños, {{ nombre }}! Tu regalo: {{ cupon }} ({{ cupon_descripcion }})."},
     ]},
    {"data": {"name": "Inactividad y recuperación", "trigger_kind": TriggerKind.INACTIVITY,
              "trigger_params": {"factor": 1.5}, "topic": "",
              "description": "Cuando pasa 1,5 veces su intervalo habitual sin comprar, un recordatorio; "
                             "si sigue inactivo tres semanas después, una oferta para volver."},
     "steps": [
         {"position": 1, "email_subject": "{{ nombre|default(\"Hola\") }}, te echamos de menos",
          "email_text": "Hace {{ dias_sin_comprar }} días de tu última visita. Quizá te interese: "
                        "{{ producto_recomendado|default(\"nuestras novedades\") }}.",
          "sms_text": "{{ nombre }}, hace {{ dias_sin_comprar }} días que no te vemos. ¡Pásate!"},
         {"position": 2, "delay_days": 21, "condition": StepCondition.ONLY_IF_INACTIVE,
          "offer_kind": OfferKind.AMOUNT, "offer_value": Decimal(10), "offer_valid_days": 30,
          "offer_min_purchase": Decimal(40),
          "email_subject": "Un regalo para que vuelvas",
          "email_text": "{{ nombre }}, te regalamos {{ cupon_descripcion }} con el código {{ cupon }} "
                        "(hasta el {{ cupon_caduca|fecha }}).",
          "sms_text": "{{ nombre }}: {{ cupon_descripcion }} con el código {{ cupon }}."},
     ]},
    {"data": {"name": "Puntos a punto de caducar", "trigger_kind": TriggerKind.POINTS_EXPIRING, "topic": "",
              "description": "Un solo aviso cuando el club anota que caducarán puntos pronto, con todo lo que "
                             "caduca y cuándo."},
     "steps": [
         {"position": 1, "email_subject": "Tus {{ puntos_por_caducar|numero }} puntos caducan pronto",
          "email_text": "Hola {{ nombre }}: pronto caducan {{ puntos_por_caducar|numero }} de tus puntos: "
                        "{{ caducidades }}.\n\nTienes {{ puntos|numero }} puntos en total: úsalos antes del "
                        "{{ fecha_caducidad|fecha(\"largo\") }}.",
          "sms_text": "{{ nombre }}: {{ puntos_por_caducar|numero }} puntos caducan pronto, los primeros el "
                      "{{ fecha_caducidad|fecha }}."},
     ]},
]


def automations_demo_create(*, active: bool = True) -> list[Automation]:
    """Create the four standard automations (welcome, birthday, inactivity → win-back, points
    expiring) with a 10 % holdout, if no automation with that name exists. Idempotent.

    Active ones are switched on for new causes only: the demo's history (every customer
    already inactive, every point already about to expire) is not a reason to write to
    anyone; a purchase, a birthday or a lapse from now on is.
    """
    actor = Actor.system("demo")
    created = []
    for spec in STANDARD:
        if Automation.objects.filter(name=spec["data"]["name"]).exists():
            continue
        data = {"channels": ["email", "sms"], "holdout_share": Decimal("0.100"), "over_budget": "skip",
                "conversion_days": 14, "is_active": active, **spec["data"]}
        created.append(automation_save(actor=actor, data=data, steps=spec["steps"]))
    return created
