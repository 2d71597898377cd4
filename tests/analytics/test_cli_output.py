"""``fideliza analyze``'s files say numbers that agree, in the chosen language, and its
input reads decimal commas and explains bad values (issue 11, problems 5 and 6).

On the CDNOW master log the old ``customers.csv`` had 12,054 customers with
``p_alive`` = 1.0 beside a «critical» churn band (BG/NBD deems every one-time buyer alive),
next purchases up to 2145, floats such as 27.140000000000004, Spanish labels beside
English codes, and Gamma-Gamma reported as converged with the message «ABNORMAL: ».
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fideliza.analytics.churn import interval_rule_p_alive
from fideliza.analytics.cli import main
from fideliza.analytics.models import ParetoNBDFitter
from fideliza.analytics.transactions import read_cdnow

DATA = Path(__file__).parent / "data"
OBSERVATION_END = dt.date(1998, 6, 30)


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    read_cdnow(DATA / "CDNOW_sample.txt").select(
        "customer_id", pl.col("ts").dt.strftime("%Y-%m-%d").alias("date"), "amount"
    ).write_csv(path)
    return path


def _run(cdnow_csv: Path, out: Path, *extra: str) -> tuple[pl.DataFrame, dict, str]:
    assert main([str(cdnow_csv), "--date-col", "date", "--out", str(out), *extra]) == 0
    text = (out / "customers.csv").read_text()
    customers = pl.read_csv(out / "customers.csv", infer_schema_length=None)
    return customers, json.loads((out / "models.json").read_text()), text


@pytest.fixture(scope="module")
def spanish(cdnow_csv, tmp_path_factory):
    return _run(cdnow_csv, tmp_path_factory.mktemp("es"), "--lang", "es")


@pytest.fixture(scope="module")
def without_pareto(cdnow_csv, tmp_path_factory):
    return _run(cdnow_csv, tmp_path_factory.mktemp("bg"), "--no-paretonbd", "--lang", "en")


def _contradictions(customers: pl.DataFrame) -> pl.DataFrame:
    return customers.filter((pl.col("p_alive") >= 0.9) & (pl.col("churn_band") == "critical"))


def test_one_time_buyers_get_p_alive_from_pareto_nbd(spanish):
    customers, models, _ = spanish
    assert _contradictions(customers).is_empty()
    one_time = customers.filter(pl.col("frequency") == 0)
    # Silent for 17 months or more: not "certainly alive".
    assert one_time["p_alive"].max() < 0.5
    assert (customers["p_alive_model"] == "paretonbd").all()
    assert (customers["p_alive_model_label"] == "modelo Pareto/NBD").all()
    assert models["p_alive"]["model"] == "paretonbd"
    assert models["p_alive"]["one_time_buyers"] == "paretonbd"
    # The churn risk is 1 - P(alive) of the same model, to the file's 4 decimals.
    assert ((customers["p_alive"] + customers["churn_risk"]) - 1).abs().max() <= 1e-4
    # BG/NBD's own P(alive) (1 for every one-time buyer) is not written.
    assert "p_alive_bgnbd" not in customers.columns


def test_without_pareto_one_time_buyers_use_the_interval_rule(without_pareto):
    customers, models, _ = without_pareto
    assert _contradictions(customers).is_empty()
    one_time = customers.filter(pl.col("frequency") == 0)
    assert (one_time["p_alive_model"] == "interval_rule").all()
    assert one_time["p_alive"].max() < 0.5
    assert one_time["p_alive_model_label"][0].startswith("interval rule")
    repeat = customers.filter(pl.col("frequency") > 0)
    assert (repeat["p_alive_model"] == "bgnbd").all()
    assert models["p_alive"] == {
        "model": "bgnbd",
        "one_time_buyers": "interval_rule",
        "note": models["p_alive"]["note"],
    }
    assert "Kaplan-Meier" in models["p_alive"]["note"]


def test_interval_rule_by_hand():
    """Repeat customers' usual intervals 10, 5 and 20 days (events); one-time buyers
    silent for 1, 15, 100 and 25 days (censored). Kaplan-Meier: S(5) = 5/6,
    S(10) = 5/6 * 4/5, S(20) = 5/6 * 4/5 * 2/3 = 4/9 = S_inf."""
    x = np.array([0, 0, 0, 1, 2, 3, 0])
    tx = np.array([0, 0, 0, 10, 10, 60, 0.0])
    t = np.array([1, 15, 100, 30, 30, 70, 25.0])
    p = interval_rule_p_alive(x, tx, t)
    np.testing.assert_allclose(p[[0, 1, 2, 6]], [1 - 4 / 9, 1 - (4 / 9) / (4 / 6), 0.0, 0.0])
    assert np.isnan(p[3:6]).all()
    # Weights stand for repeated rows.
    doubled = interval_rule_p_alive(np.r_[x, x[:2]], np.r_[tx, tx[:2]], np.r_[t, t[:2]])
    weighted = interval_rule_p_alive(x, tx, t, weights=[2, 2, 1, 1, 1, 1, 1])
    np.testing.assert_allclose(weighted, doubled[:7])


def test_next_purchase_beyond_the_horizon_is_empty_with_the_reason(spanish):
    customers, models, _ = spanish
    dates = customers["expected_next_purchase"].drop_nulls().str.to_date()
    assert dates.max() <= OBSERVATION_END + dt.timedelta(days=365)
    empty = customers.filter(pl.col("expected_next_purchase").is_null())
    assert empty.height == models["next_purchase"]["beyond_horizon"] > 0
    assert (empty["next_purchase_note"] == "beyond_horizon").all()
    assert (empty["next_purchase_note_label"] == "más allá del horizonte de previsión").all()
    dated = customers.filter(pl.col("expected_next_purchase").is_not_null())
    assert (dated["next_purchase_note"].fill_null("") == "").all()


def test_pareto_next_purchase_in_closed_form():
    model = ParetoNBDFitter()
    for params in ([0.55, 10.6, 0.6, 11.7], [0.55, 10.6, 1.6, 11.7], [0.55, 10.6, 1.0, 11.7]):
        model._params = np.array(params)
        x, tx, t = np.array([0.0, 2, 5, 10]), np.array([0.0, 20, 30, 38]), np.full(4, 39.0)
        wait = model.expected_time_to_next_purchase(x, tx, t)
        for i in np.flatnonzero(np.isfinite(wait)):
            expected = model.conditional_expected_number_of_purchases_up_to_time(
                wait[i], x[i], tx[i], t[i])
            assert expected == pytest.approx(1.0, rel=1e-9)
        # s > 1 bounds the expectation: who cannot reach one purchase waits for ever.
        if params[2] > 1:
            assert np.isinf(wait[0])


def test_money_to_cents_and_probabilities_to_four_decimals(spanish):
    customers, _, text = spanish
    header = text.splitlines()[0].split(",")
    money = {"monetary_value", "total_amount", "expected_spend", "clv"}
    rows = pl.read_csv(text.encode(), infer_schema=False)
    for name in header:
        values = rows[name].drop_nulls()
        if name in money:
            assert values.str.contains(r"^-?\d+(\.\d{1,2})?$").all(), name
        elif customers.schema[name] == pl.Float64:
            assert values.str.contains(r"^-?\d+(\.\d{1,4})?$").all(), name
    assert not re.search(r"\d\.\d{5,}", text)


def test_codes_stay_english_and_labels_follow_the_language(spanish, without_pareto, cdnow_csv,
                                                           tmp_path, monkeypatch):
    es, _, _ = spanish
    en, _, _ = without_pareto
    for customers in (es, en):
        assert set(customers["churn_band"].unique()) <= {"low", "medium", "high", "critical"}
        assert set(customers["rfm_segment"].unique()) <= {
            "champions", "loyal", "potential_loyal", "new", "promising", "need_attention",
            "about_to_sleep", "at_risk", "cannot_lose", "hibernating", "lost"}
        for code in ("churn_band", "rfm_segment", "activity_state", "tier", "abc_revenue",
                     "p_alive_model", "next_purchase_note"):
            assert customers.columns.index(f"{code}_label") == customers.columns.index(code) + 1
    assert set(es["churn_band_label"].unique()) <= {"bajo", "medio", "alto", "muy alto"}
    assert set(en["churn_band_label"].unique()) <= {"low", "medium", "high", "very high"}
    assert "Hibernando" in es["rfm_segment_label"].to_list()
    assert "Hibernating" in en["rfm_segment_label"].to_list()
    assert es.filter(pl.col("frequency") == 0)["churn_reason"][0].startswith("una sola compra")
    assert en.filter(pl.col("frequency") == 0)["churn_reason"][0].startswith("one purchase only")
    # Without --lang, LANGUAGE_CODE decides.
    monkeypatch.setenv("LANGUAGE_CODE", "en")
    by_env, models, _ = _run(cdnow_csv, tmp_path / "env", "--no-next-purchase")
    assert models["output"]["lang"] == "en"
    assert set(by_env["activity_state_label"].unique()) <= {"Active", "At risk", "Dormant", "Lost"}


def test_convergence_is_reported_honestly(spanish):
    _, models, _ = spanish
    for name in ("bgnbd", "paretonbd", "gammagamma"):
        info = models[name]["convergence"]
        assert info["message"].startswith("converged" if info["success"] else "not converged")
        assert not info["message"].startswith("ABNORMAL")
        if info["success"]:
            assert info["gradient_norm"] <= 1e-6 and info["hessian_condition"] < 1e10


# -- reading the file: decimal commas and bad values in plain words ---------------------------
ROWS = [("1", "05/01/2024", "12,50"), ("1", "05/02/2024", "1.234,56"), ("2", "07/01/2024", "3,5"),
        ("2", "01/03/2024", "7"), ("3", "01/03/2024", "4,00")]


def _write(path: Path, rows, sep: str = ";", header=("cliente", "fecha", "importe")) -> Path:
    path.write_text(sep.join(header) + "\n" + "".join(sep.join(r) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def _analyze(path: Path, out: Path, *extra: str) -> int:
    return main([str(path), "--customer-col", "cliente", "--date-col", "fecha",
                 "--amount-col", "importe", "--date-format", "%d/%m/%Y", "--out", str(out),
                 "--no-next-purchase", *extra])


def test_decimal_commas_are_detected(tmp_path):
    """A semicolon file from a Spanish spreadsheet: separator and decimal mark detected."""
    path = _write(tmp_path / "ventas.csv", ROWS)
    assert _analyze(path, tmp_path / "out") == 0
    totals = pl.read_csv(tmp_path / "out" / "customers.csv").sort("customer_id")
    assert totals["total_amount"].to_list() == pytest.approx([1247.06, 10.5, 4.0])


def test_decimal_comma_option(tmp_path):
    """Forced with --decimal-comma (here the only comma-decimal value comes late)."""
    rows = [("1", "05/01/2024", "12"), ("1", "05/02/2024", "1.234"), ("2", "07/01/2024", "3,5")]
    path = _write(tmp_path / "ventas.tsv", rows, sep="\t")
    assert _analyze(path, tmp_path / "out", "--decimal-comma", "--separator", "\t") == 0
    totals = pl.read_csv(tmp_path / "out" / "customers.csv").sort("customer_id")
    assert totals["total_amount"].to_list() == pytest.approx([1246.0, 3.5])


@pytest.mark.parametrize(
    ("rows", "lang", "expected"),
    [
        ([*ROWS[:2], ("2", "31/02/2024", "3,5")], "es",
         "línea 4 del archivo, columna «fecha»: «31/02/2024» no es una fecha válida."),
        ([*ROWS[:2], ("2", "31/02/2024", "3,5")], "en",
         "line 4 of the file, column 'fecha': '31/02/2024' is not a valid date."),
        ([*ROWS[:3], ("2", "01/03/2024", "7 €"), ("3", "01/03/2024", "n/d")], "es",
         "línea 5 del archivo, columna «importe»: «7 €» no es un importe. Y 1 fila(s) más "
         "con el mismo problema."),
        ([*ROWS[:3], ("", "01/03/2024", "7")], "es",
         "línea 5 del archivo, columna «cliente»: está vacía (obligatoria)."),
    ],
)
def test_bad_values_are_explained_in_plain_words(tmp_path, capsys, rows, lang, expected):
    path = _write(tmp_path / "ventas.csv", rows)
    assert _analyze(path, tmp_path / "out", "--lang", lang) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "polars" not in err.lower() and "Error:" not in err and "conversion" not in err


def test_a_comma_value_after_thousands_of_plain_numbers(tmp_path, capsys):
    """Type inference sees 10,000 numbers, then "12,5": a plain error on that line, not
    a Polars error and not a silent 125."""
    rows = [(str(i % 50), "2024-01-01", "12.50") for i in range(12_000)]
    rows.append(("7", "2024-02-01", '"12,5"'))
    path = _write(tmp_path / "ventas.csv", rows, sep=",", header=("customer_id", "ts", "amount"))
    assert main([str(path), "--out", str(tmp_path / "out"), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "line 12002 of the file, column 'amount': '12,5' is not an amount." in err


def test_a_line_with_more_fields_than_the_header(tmp_path, capsys):
    rows = [("1", "2024-01-01", "12.50"), ("1", "2024-01-05", "12,5"), ("2", "2024-01-07", "3")]
    path = _write(tmp_path / "ventas.csv", rows, sep=",", header=("customer_id", "ts", "amount"))
    assert main([str(path), "--out", str(tmp_path / "out"), "--lang", "es"]) == 2
    err = capsys.readouterr().err
    assert "línea 3 del archivo tiene 4 campos y la cabecera 3." in err
    assert "polars" not in err.lower()
