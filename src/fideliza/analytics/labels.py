"""Display names of the codes the descriptive analytics return.

The analytics core returns stable English code keys (``champions``, ``at_risk``,
``platino``, ``A`` …); these plain dictionaries give their Spanish and English display
names and a one-line description. The Django side wraps them for translation; the CLI
uses them directly. Every mapping is ``code -> {"es": ..., "en": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping

Labels = Mapping[str, Mapping[str, str]]

RFM_SEGMENTS: Labels = {
    "champions": {"es": "Campeones", "en": "Champions"},
    "loyal": {"es": "Leales", "en": "Loyal"},
    "potential_loyal": {"es": "Potencialmente leales", "en": "Potential loyalists"},
    "new": {"es": "Nuevos", "en": "New customers"},
    "promising": {"es": "Prometedores", "en": "Promising"},
    "need_attention": {"es": "Necesitan atención", "en": "Need attention"},
    "about_to_sleep": {"es": "A punto de dormirse", "en": "About to sleep"},
    "at_risk": {"es": "En riesgo", "en": "At risk"},
    "cannot_lose": {"es": "No se pueden perder", "en": "Can't lose them"},
    "hibernating": {"es": "Hibernando", "en": "Hibernating"},
    "lost": {"es": "Perdidos", "en": "Lost"},
    "none": {"es": "Sin compras", "en": "No purchases yet"},
}

RFM_SEGMENT_DESCRIPTIONS: Labels = {
    "champions": {
        "es": "Compraron hace muy poco, compran seguido y gastan mucho.",
        "en": "Bought very recently, buy often and spend the most.",
    },
    "loyal": {
        "es": "Compran con frecuencia y buen importe; responden a promociones.",
        "en": "Buy often and spend well; responsive to promotions.",
    },
    "potential_loyal": {
        "es": "Clientes recientes con frecuencia o gasto medio.",
        "en": "Recent customers with average frequency or spend.",
    },
    "new": {
        "es": "Compraron hace muy poco, pero pocas veces.",
        "en": "Bought very recently, but only a few times.",
    },
    "promising": {
        "es": "Compradores recientes que todavía gastan poco.",
        "en": "Recent shoppers who have not spent much yet.",
    },
    "need_attention": {
        "es": "Frecuencia y gasto medios, y empiezan a espaciar sus compras.",
        "en": "Average frequency and spend, starting to buy less recently.",
    },
    "about_to_sleep": {
        "es": "Recencia, frecuencia y gasto por debajo de la media.",
        "en": "Below-average recency, frequency and spend.",
    },
    "at_risk": {
        "es": "Compraban seguido y bien, pero hace tiempo que no vuelven.",
        "en": "Used to buy often and well, but not for a long time.",
    },
    "cannot_lose": {
        "es": "Fueron de los mejores clientes y hace mucho que no compran.",
        "en": "Were among the best customers and have not bought for long.",
    },
    "hibernating": {
        "es": "Última compra lejana, pocas compras y bajo gasto.",
        "en": "Last purchase long ago, few orders and low spend.",
    },
    "lost": {
        "es": "Los de menor recencia, frecuencia y gasto.",
        "en": "Lowest recency, frequency and spend.",
    },
    "none": {
        "es": "Todavía no habían comprado en esa fecha.",
        "en": "Had not bought yet at that date.",
    },
}

ACTIVITY_STATES: Labels = {
    "active": {"es": "Activo", "en": "Active"},
    "at_risk": {"es": "En riesgo", "en": "At risk"},
    "dormant": {"es": "Dormido", "en": "Dormant"},
    "lost": {"es": "Perdido", "en": "Lost"},
}

VALUE_TIERS: Labels = {
    "platino": {"es": "Platino", "en": "Platinum"},
    "oro": {"es": "Oro", "en": "Gold"},
    "plata": {"es": "Plata", "en": "Silver"},
    "bronce": {"es": "Bronce", "en": "Bronze"},
}

ABC_CLASSES: Labels = {
    "A": {"es": "A (clientes clave)", "en": "A (key customers)"},
    "B": {"es": "B (clientes intermedios)", "en": "B (middle customers)"},
    "C": {"es": "C (clientes menores)", "en": "C (small customers)"},
    "N": {"es": "Sin valor (cero o negativo)", "en": "No value (zero or negative)"},
    "absent": {"es": "Sin compras en el período", "en": "No purchases in the period"},
    "new": {"es": "Cliente nuevo", "en": "New customer"},
}

CUSTOMER_STATUSES: Labels = {
    "new": {"es": "Nuevo", "en": "New"},
    "retained": {"es": "Retenido", "en": "Retained"},
    "reactivated": {"es": "Reactivado", "en": "Reactivated"},
    "lost": {"es": "Perdido", "en": "Lost"},
}

PATH_LEVELS: Labels = {
    "entry": {"es": "Producto de entrada u oferta", "en": "Entry / offer product"},
    "value": {"es": "Producto de valor", "en": "Value product"},
    "main": {"es": "Producto principal", "en": "Main product"},
    "premium": {"es": "Producto premium", "en": "Premium product"},
}

NEXT_BEST_REASONS: Labels = {
    "rule": {
        "es": "Quienes compran {antecedent} también compran {consequent} "
        "({confidence:.0%} de las veces; lift {lift:.2f}).",
        "en": "Customers who buy {antecedent} also buy {consequent} "
        "({confidence:.0%} of the time; lift {lift:.2f}).",
    },
    "popular": {
        "es": "{consequent} es de lo más comprado y este cliente aún no lo tiene.",
        "en": "{consequent} is among the most bought and this customer lacks it.",
    },
}

REACTIVATION_BUCKETS: Labels = {
    "year": {"es": "{n} año(s) sin comprar", "en": "{n} year(s) without buying"},
    "month": {"es": "{n} mes(es) sin comprar", "en": "{n} month(s) without buying"},
}

P_ALIVE_MODELS: Labels = {
    "paretonbd": {"es": "modelo Pareto/NBD", "en": "Pareto/NBD model"},
    "bgnbd": {"es": "modelo BG/NBD", "en": "BG/NBD model"},
    "interval_rule": {
        "es": "regla del intervalo (una sola compra: de quienes llevan tanto tiempo sin "
        "volver, cuántos vuelven)",
        "en": "interval rule (one purchase: of those silent this long, how many come back)",
    },
    "learned": {
        "es": "modelo aprendido (probabilidad de volver a comprar en el horizonte, "
        "comprobada con el último horizonte)",
        "en": "learned model (probability of buying again within the horizon, checked "
        "against the last horizon)",
    },
}

NEXT_PURCHASE_NOTES: Labels = {
    "beyond_horizon": {
        "es": "más allá del horizonte de previsión",
        "en": "beyond the forecast horizon",
    },
}

CHURN_BANDS: Labels = {
    "low": {"es": "bajo", "en": "low"},
    "medium": {"es": "medio", "en": "medium"},
    "high": {"es": "alto", "en": "high"},
    "critical": {"es": "muy alto", "en": "very high"},
}

ALL_LABELS: Mapping[str, Labels] = {
    "p_alive_model": P_ALIVE_MODELS,
    "next_purchase_note": NEXT_PURCHASE_NOTES,
    "churn_band": CHURN_BANDS,
    "rfm_segment": RFM_SEGMENTS,
    "activity_state": ACTIVITY_STATES,
    "value_tier": VALUE_TIERS,
    "abc_class": ABC_CLASSES,
    "customer_status": CUSTOMER_STATUSES,
    "path_level": PATH_LEVELS,
}


def label(kind: str, code: str, lang: str = "es") -> str:
    """Return the display name of ``code`` in ``lang`` ("es" or "en").

    ``kind`` is a key of :data:`ALL_LABELS` (``"rfm_segment"``, ``"activity_state"``,
    ``"value_tier"``, ``"abc_class"``, ``"customer_status"``, ``"path_level"``,
    ``"p_alive_model"``, ``"next_purchase_note"``, ``"churn_band"``). An unknown
    code is returned unchanged, so user-defined segment names pass through.
    """
    entry = ALL_LABELS[kind].get(code)
    if entry is None:
        return code
    return entry.get(lang, entry["es"])
