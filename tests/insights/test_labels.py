"""Analytics codes and the core's Spanish sentences, in the reader's language."""

from __future__ import annotations

import pytest
from django.utils import translation

from fideliza.analytics import churn
from fideliza.analytics.labels import NEXT_BEST_REASONS
from fideliza.insights.labels import (
    choices_of,
    churn_reason_text,
    is_run_note,
    label_of,
    next_reason_text,
    run_warning_text,
)


@pytest.mark.parametrize(("vocabulary", "code", "spanish", "english"), [
    ("rfm_segment", "need_attention", "Necesitan atención", "Need attention"),
    ("value_tier", "platino", "Platino", "Platinum"),
    ("churn_band", "high", "alto", "high"),
    ("churn_band", "critical", "muy alto", "very high"),
    ("abc_revenue", "A", "A (clientes clave)", "A (key customers)"),
])
def test_label_of(vocabulary, code, spanish, english):
    with translation.override("es"):
        assert label_of(vocabulary, code) == spanish
    with translation.override("en"):
        assert label_of(vocabulary, code) == english
    assert label_of(vocabulary, "") == "" and label_of(vocabulary, "inventado") == "inventado"


def test_choices_follow_the_language():
    with translation.override("en"):
        assert ("high", "high") in choices_of("churn_band") and ("oro", "Gold") in choices_of("value_tier")


@pytest.mark.parametrize(("facts", "spanish", "english"), [
    ((0, 137, None), "una sola compra, hace 137 días", "a single purchase, 137 days ago"),
    ((3, 400, 145.2), "no compra desde hace 400 días; suele comprar cada 145 días",
     "last purchase 400 days ago; usually buys every 145 days"),
    ((3, 1, 30.0), "compró hace 1 día; suele comprar cada 30 días", "bought 1 day ago; usually buys every 30 days"),
])
def test_churn_reasons_written_by_the_core_read_in_both_languages(facts, spanish, english):
    stored = churn.churn_reason(*facts)  # what the snapshot stores
    with translation.override("es"):
        assert churn_reason_text(stored) == spanish
    with translation.override("en"):
        assert churn_reason_text(stored) == english


def test_next_best_reasons_in_the_readers_language_and_number_format():
    stored = NEXT_BEST_REASONS["rule"]["es"].format(antecedent="Taladro 18 V", consequent="Brocas (pack 10)",
                                                    confidence=0.3, lift=4.4512)
    with translation.override("es"):
        assert next_reason_text(stored) == ("Quienes compran Taladro 18 V también compran Brocas (pack 10) (el 30 % "
                                            "de las veces; 4,45 veces más que el resto de clientes).")
    with translation.override("en"):
        assert next_reason_text(stored) == ("Customers who buy Taladro 18 V also buy Brocas (pack 10) (30% of the "
                                            "time; 4.45 times more than other customers).")
    popular = NEXT_BEST_REASONS["popular"]["es"].format(consequent="Guantes")
    with translation.override("en"):
        assert next_reason_text(popular) == "Guantes is among the most bought and this customer does not have it yet."


@pytest.mark.parametrize(("stored", "english"), [
    ("Gamma-Gamma: pocos clientes o ajuste inestable: ajuste regularizado (fewer than 200 customers)",
     "Gamma-Gamma: few customers or an unstable fit: regularised fit (fewer than 200 customers)"),
    ("sin costes de producto: el CLV previsto se expresa en ventas, no en margen",
     "No product costs: the predicted CLV is in sales, not margin"),
    ("pocos clientes con compras repetidas (12): sin modelos predictivos (probabilidad de actividad, riesgo de "
     "abandono, CLV previsto)",
     "Few customers with repeat purchases (12): no predictive models (probability of being active, churn risk, "
     "predicted CLV)"),
])
def test_run_warnings(stored, english):
    with translation.override("en"):
        assert run_warning_text(stored) == english
    with translation.override("es"):
        spanish = run_warning_text(stored)
    assert "customers" not in spanish and spanish[0].isupper()


def test_run_warnings_are_stored_as_msgids_and_worded_for_each_reader():
    """A run stores its warnings as msgid + parameters (problems as msgids too), so a reader
    in either language gets a whole sentence in their language, figures in their format."""
    from fideliza.insights.compute import _fit_warnings

    models = {"paretonbd": {"convergence": {"penalizer_coef": 0.01,
                                            "penalty_reason": "shape parameter ran away"}},
              "next_purchase": {"beyond_horizon": 1234}}
    stored = _fit_warnings(models)
    assert all(isinstance(w, dict) and "msgid" in w for w in stored)
    # Customers beyond the forecast horizon are a normal state: a note, not a warning.
    assert [is_run_note(w) for w in stored] == [False, True]
    with translation.override("es"):
        spanish = [run_warning_text(w) for w in stored]
    with translation.override("en"):
        english = [run_warning_text(w) for w in stored]
    assert spanish == ["Pareto/NBD: ajuste regularizado (resultados algo más prudentes): un "
                       "parámetro se disparaba: los datos no lo determinan",
                       "1.234 clientes sin próxima compra esperada: más allá del horizonte de previsión"]
    assert english == ["Pareto/NBD: regularised fit (somewhat more cautious results): a parameter "
                       "ran away: the data do not determine it",
                       "1,234 customers without an expected next purchase: beyond the forecast horizon"]
