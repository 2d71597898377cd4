"""The checks of the page crawl catch what issue 11 saw on the pages (so the crawl can fail)."""

from __future__ import annotations

import pytest

from .crawl import DataStrings, money_problems, number_problems, page_problems, read_page

NO_DATA = DataStrings()


@pytest.mark.parametrize(("language", "text"), [
    ("es", "Segmento RFM loyal · need_attention"),
    ("es", "Reglas: Banda de riesgo de abandono es high"),
    ("es", "Nivel de valor es uno de ['oro', 'platino']"),
    ("es", "Origen automation:4:step:1"),
    ("es", "Fila 6, columna __row__: falta el valor"),
    ("es", "Último error FIDELIZA_SMS_GATEWAY_URL is not set"),
    ("es", "Valor None"),
    ("en", "Rules: Value tier is Gold y City is Córdoba"),
    ("en", "Similarity 62 % · mismo código postal; dirección parecida"),
    ("en", "Compró el 0,0 % de quienes recibieron los mensajes"),
])
def test_codes_and_other_language_words_are_caught(language, text):
    assert page_problems(text, language, NO_DATA)


@pytest.mark.parametrize(("language", "text"), [
    ("es", "Cupón de 0.00 € de descuento"),
    ("es", "Vale 300.00 €"),
    ("es", "Pasivo de fidelización 18.486,62 puntos × 0,01 € por punto"),
    ("es", "CLV histórico 48,48 CLV previsto —"),
    ("en", "Incremental revenue 0,00 €"),
    ("en", "Revenue 0.00 Coupons used"),
])
def test_amounts_without_currency_or_with_the_wrong_mark_are_caught(language, text):
    assert money_problems(text, language)


def test_decimals_with_the_other_languages_mark_are_caught():
    assert number_problems("Coste de captación: 276.95", "es", NO_DATA)
    assert number_problems("lift 4,45", "en", NO_DATA)
    assert not number_problems("1.234 clientes · 3,09 pedidos", "es", NO_DATA)


def test_plain_pages_pass():
    assert page_problems("Nivel de valor es Oro o Platino y ciudad es Córdoba", "es", NO_DATA) == []
    assert page_problems("Value tier is Gold or Platinum and city is Córdoba", "en", NO_DATA) == []
    assert money_problems("Pasivo de fidelización 18.486,62 € · CLV histórico 48,48 €", "es") == []
    assert money_problems("Loyalty liability €18,486.62 · historical CLV €48.48", "en") == []


def test_data_shown_verbatim_is_not_prose():
    data = DataStrings()
    data.add(["María de la Fuente", "tienda_online"])
    problems = page_problems("Cliente María de la Fuente, origen tienda_online", "en", data)
    assert [p.split(" on ")[0] for p in problems] == ["«Cliente»"]  # the UI word, not the data
    text, links = read_page('<p>Variables: <code translate="no">{{ nombre_completo }}</code></p>'
                            '<a href="/clientes/">x</a><script>var a_b = 1</script>')
    assert text == "Variables: x" and links == ["/clientes/"]
