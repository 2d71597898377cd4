"""A segment's rules read as a sentence in the reader's language: labels, not codes."""

from __future__ import annotations

import pytest
from django.utils import translation

from fideliza.segments.rules import describe

pytestmark = pytest.mark.django_db

AT_RISK = {"op": "and", "rules": [
    {"field": "value_tier", "cmp": "in", "value": ["oro", "platino"]},
    {"field": "churn_band", "cmp": "eq", "value": "high"},
    {"field": "clv_predicted", "cmp": "gte", "value": "200"},
    {"field": "consent", "cmp": "is_true", "value": "email"},
]}


def test_rules_in_spanish_name_labels_and_money():
    with translation.override("es"):
        text = describe(AT_RISK)
    assert text == ("Nivel de valor es Oro o Platino y banda de riesgo de abandono es alto y "
                    "CLV previsto ≥ 200,00\xa0€ y acepta comunicaciones por E-mail")


def test_rules_in_english_have_no_spanish_word():
    with translation.override("en"):
        text = describe(AT_RISK)
    assert text == ("Value tier is Gold or Platinum and churn risk band is high and "
                    "predicted CLV ≥ €200.00 and accepts communications by E-mail")


@pytest.mark.parametrize(("rules", "spanish", "english"), [
    ({"field": "rfm_segment", "cmp": "not_in", "value": ["loyal", "need_attention", "champions"]},
     "Segmento RFM no es Leales, Necesitan atención ni Campeones",
     "RFM segment is not Loyal, Need attention or Champions"),
    ({"field": "activity_state", "cmp": "eq", "value": "at_risk", "negate": True},
     "No (estado de actividad es En riesgo)", "Not (activity state is At risk)"),
    ({"field": "birthday_within_days", "cmp": "lte", "value": 30},
     "Cumple años en los próximos 30 días", "Has a birthday in the next 30 days"),
    ({"field": "bought_product", "cmp": "is_false", "value": "TAL-18V"},
     "No ha comprado el producto (SKU) TAL-18V", "Has not bought the product (SKU) TAL-18V"),
    ({"op": "or", "rules": [{"field": "city", "cmp": "eq", "value": "Córdoba"},
                            {"op": "and", "rules": [{"field": "orders_count", "cmp": "gte", "value": 3},
                                                    {"field": "city", "cmp": "empty"}]}]},
     "Ciudad es Córdoba o (número de pedidos ≥ 3 y ciudad está vacío)",
     "City is Córdoba or (number of orders ≥ 3 and city is empty)"),
])
def test_each_kind_of_rule(rules, spanish, english):
    with translation.override("es"):
        assert describe(rules) == spanish
    with translation.override("en"):
        assert describe(rules) == english
