"""Every file export is formula-safe and speaks the user's language (issue 12, "safe files out").

The export URLs are found in the URL configuration (views marked with
``fideliza.core.exports.export_view`` and any URL named ``*export*``), not listed by hand:
a new export that is not in EXPORT_ARGS below fails `test_every_export_is_known`, and then
gets the hostile-customer download of `test_no_export_cell_is_a_formula` like the others.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation
from openpyxl import load_workbook

from fideliza.core.exports import (
    FORMULA_TRIGGERS,
    Sheet,
    neutralise,
    starts_like_formula,
    xlsx_bytes,
)
from fideliza.customers.models import ConsentRecord, Customer
from fideliza.insights.models import CustomerMetrics, SnapshotRun
from fideliza.segments.models import Segment, SegmentMember

HOSTILE = [
    '=HYPERLINK("http://evil.example/x","Pulse aquí")',
    "+SUM(1+1)",
    "@cmd",
    "-2+3",
    "\t=1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
]
SPREADSHEET_TYPES = ("text/csv", "spreadsheetml")
SRC = Path(__file__).resolve().parents[2] / "src" / "fideliza"


# --- the rule itself -------------------------------------------------------------------

@pytest.mark.parametrize("text", [*HOSTILE, "-foo", "+34 600", "@", "=", "-"])
def test_text_starting_like_a_formula_is_neutralised(text):
    assert starts_like_formula(text)
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["Ana", "", "+34600123456", "-12,50", "-3.5", "1+1", " =1", "O'Neill"])
def test_plain_text_and_signed_numbers_are_left_alone(text):
    assert neutralise(text) == text


def test_xlsx_never_writes_a_formula_and_keeps_numbers():
    data = xlsx_bytes([Sheet(title="a/b:c*?", header=["=cabecera"], rows=[
        [h] for h in HOSTILE] + [[Decimal("-12.50")], [-3], [date(2026, 3, 29)], ["ctrl\x07char"]])])
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "a b c"
    cells = [row[0] for row in sheet.iter_rows()]
    # (XML reads a carriage return back as a line feed)
    assert [c.value for c in cells[1:1 + len(HOSTILE)]] == [h.replace("\r", "\n") for h in HOSTILE]
    for c in cells[: 1 + len(HOSTILE)]:
        assert c.data_type == "s" and c.quotePrefix
    assert cells[-4].value == Decimal("-12.50") and cells[-4].data_type == "n"
    assert cells[-3].value == -3 and cells[-3].data_type == "n"
    assert cells[-2].is_date and cells[-2].value.date() == date(2026, 3, 29)
    assert cells[-1].value == "ctrlchar"


# --- every export, found in the URL configuration ------------------------------------------

def _walk(patterns, prefix: str = "") -> Iterator[tuple[str, Callable]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            yield from _walk(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{prefix}{p.name}", p.callback


def export_urls() -> dict[str, tuple[str, ...]]:
    """{url name: formats} of every export in the URL configuration."""
    found: dict[str, tuple[str, ...]] = {}
    for name, callback in _walk(get_resolver().url_patterns):
        formats = getattr(callback, "export_formats", None)
        if formats is None and re.search(r"export|descarga|download", name):
            formats = ()  # named like an export but not marked: reported by the test below
        if formats is not None:
            found[name] = formats
    return found


def _losing_touch(shop: dict) -> dict:
    """A contact cadence over the hostile segment, its clock long run out: every hostile
    customer is on «Perdiendo contacto» (and in its export)."""
    from fideliza.accounts.services import Actor
    from fideliza.cadences.models import CadenceRule
    from fideliza.cadences.services import cadence_rule_save

    if not CadenceRule.objects.exists():
        cadence_rule_save(actor=Actor.system("tests"), data={
            "name": "Todos cada 30 días", "audience": "segment", "segment": shop["segment"], "every_days": 30,
            "kinds": ["call"], "starts_on": date(2000, 1, 1)})
    return {}


# How to reach each export for the hostile shop below. A new export must be added here.
EXPORT_ARGS: dict[str, Callable[[dict], dict]] = {
    "segments:export": lambda shop: {"pk": shop["segment"].pk},
    "privacy:export": lambda shop: {"customer_id": shop["customers"][0].pk},
    "cadences:losing_touch_export": _losing_touch,
    "surveys:export": lambda shop: {"pk": shop["survey"].pk},
}


def test_every_export_is_known():
    found = export_urls()
    unmarked = [name for name, formats in found.items() if not formats]
    assert not unmarked, f"mark these views with fideliza.core.exports.export_view: {unmarked}"
    assert set(found) == set(EXPORT_ARGS), (
        "an export was added or removed: list it in EXPORT_ARGS so the hostile-customer test "
        f"downloads it (found {sorted(found)})")
    assert set(found["segments:export"]) >= {"csv", "xlsx"}
    assert "xlsx" in found["privacy:export"]


def test_no_other_module_writes_a_spreadsheet():
    """CSV/XLSX writing lives in core/exports.py only, so every export gets its rules.

    Allowed elsewhere: the demo writes its *input* files (the till's and web shop's lists it
    then imports); the analytics command-line tool (no Django by design) writes a results
    file from the analyst's own transactions file.
    """
    allowed = {"core/exports.py", "demo/files.py", "analytics/cli.py"}
    writer = re.compile(r"csv\.writer\(|DictWriter\(|Workbook\(|xlsxwriter|write_csv\(|write_excel\(|"
                        r"text/csv|spreadsheetml\.sheet")
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel not in allowed and writer.search(path.read_text(encoding="utf-8")):
            offenders.append(rel)
    assert not offenders, f"write CSV/XLSX through fideliza.core.exports: {offenders}"


@pytest.fixture(autouse=True)
def _spanish_after():
    """Requests to /en/ leave English active in this thread; the next test starts in Spanish."""
    yield
    translation.activate("es")


@pytest.fixture
def hostile_shop(db, owner):
    run = SnapshotRun.objects.create(status="done", as_of=date(2026, 6, 15))
    customers = []
    for i, text in enumerate(HOSTILE):
        h = HOSTILE[i:] + HOSTILE[:i]  # customer 0 alone carries the first four in its card
        c = Customer.objects.create(first_name=h[0], last_name=h[1], company_name=h[2], city=h[3],
                                    address=h[4], region="@SUM(A1)", postal_code="-1",
                                    email=f"c{i}@example.com", phone="+34600123456",
                                    birth_date=date(1980, 1, 2), notes=text)
        ConsentRecord.objects.create(customer=c, channel="email", status="granted",
                                     recorded_at="2026-01-01T10:00:00+01:00", source=text, wording=text)
        CustomerMetrics.objects.create(
            customer=c, run=run, first_purchase=date(2025, 1, 1), last_purchase=date(2026, 1, 1),
            orders=2, revenue=Decimal("-12.50"), average_order_value=Decimal("10"), frequency=1,
            recency=10, age=20, monetary_value=Decimal("10"), r_score=3, f_score=3, m_score=3,
            rfm_segment="at_risk", abc_revenue="A", value_tier="oro", activity_state="active",
            days_since_last=5, churn_risk=0.25, clv_historic=Decimal("10"),
            clv_predicted=Decimal("-3.20"))
        customers.append(c)
    segment = Segment.objects.create(name='=HYPERLINK("http://evil.example")', kind="static")
    SegmentMember.objects.bulk_create(SegmentMember(segment=segment, customer=c) for c in customers)
    client = Client()
    client.force_login(owner)
    return {"customers": customers, "segment": segment, "client": client, "survey": _hostile_survey(customers)}


def _hostile_survey(customers: list[Customer]) -> object:
    """A survey each hostile customer answered with every hostile text as a comment."""
    from fideliza.surveys.models import Answer, Question, Response, Survey

    survey = Survey.objects.create(name=HOSTILE[0])
    questions = [Question.objects.create(survey=survey, position=i + 1, kind="text", text=text)
                 for i, text in enumerate(HOSTILE)]
    nps = Question.objects.create(survey=survey, position=len(HOSTILE) + 1, kind="nps", text="NPS")
    for c in customers:
        response = Response.objects.create(survey=survey, customer=c, channel="link", started_at=datetime(2026, 6, 1, 10, tzinfo=UTC),
                                           nps=3, tier=HOSTILE[1], abc_class="A")
        Answer.objects.bulk_create([Answer(response=response, question=q, text=HOSTILE[i])
                                    for i, q in enumerate(questions)] + [Answer(response=response, question=nps, number=3)])
    return survey


def _csv_cells(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    delimiter = ";" if text.splitlines()[0].count(";") else ","
    return list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=delimiter))


def _download(client: Client, name: str, kwargs: dict, fmt: str, language: str = "es"):
    with translation.override(language):
        url = reverse(name, kwargs={**kwargs, "fmt": fmt})
    response = client.get(url)
    assert response.status_code == 200, (name, fmt, response.status_code)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response["Content-Type"], content


def _spreadsheet_cells(content_type: str, content: bytes) -> list[list[object]]:
    """Every cell as its value; asserts on the way that no XLSX cell is a formula."""
    if "text/csv" in content_type:
        return _csv_cells(content)
    book = load_workbook(io.BytesIO(content))
    rows = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value[:1] in FORMULA_TRIGGERS:
                    assert cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
            rows.append([cell.value for cell in row])
    return rows


def test_no_export_cell_is_a_formula(hostile_shop):
    """A hostile customer through every export in every format: no cell a spreadsheet runs."""
    found = export_urls()
    checked = 0
    for name, formats in found.items():
        kwargs = EXPORT_ARGS[name](hostile_shop)
        for fmt in formats:
            content_type, content = _download(hostile_shop["client"], name, kwargs, fmt)
            if not any(t in content_type for t in SPREADSHEET_TYPES):
                assert fmt in ("json", "html"), (name, fmt, content_type)
                if fmt == "json":
                    json.loads(content)  # data, not a spreadsheet: kept exactly as stored
                    assert HOSTILE[0].encode() in content.replace(b'\\"', b'"')
                continue
            cells = _spreadsheet_cells(content_type, content)
            values = [v for row in cells for v in row]
            if "text/csv" in content_type:
                for value in values:
                    assert not starts_like_formula(value), (name, fmt, value)
                # The names are all there, made inert; phones and negative amounts unchanged.
                for text in HOSTILE[:4]:
                    assert "'" + text in values, (name, fmt, text)
                assert "+34600123456" in values
                if name == "segments:export":  # the one export with amounts
                    assert "-12,50" in values and "-3,20" in values
            else:
                for text in HOSTILE[:4]:
                    assert text in values, (name, fmt, text)
                assert "+34600123456" in values
                if name == "segments:export":
                    assert -12.5 in values and -3.2 in values, values[:60]
            checked += 1
    assert checked >= 3  # segments CSV and XLSX, the data-subject XLSX


FIELD_NAME = re.compile(r"^[a-z]+(_[a-z]+)+$|^(id|email|kind|city|phone)$")


@pytest.mark.parametrize("language", ["es", "en"])
def test_export_headers_are_in_the_users_language(hostile_shop, language):
    for name, formats in export_urls().items():
        kwargs = EXPORT_ARGS[name](hostile_shop)
        for fmt in formats:
            content_type, content = _download(hostile_shop["client"], name, kwargs, fmt, language)
            if not any(t in content_type for t in SPREADSHEET_TYPES):
                continue
            header = [str(v) for v in _spreadsheet_cells(content_type, content)[0]]
            assert not [h for h in header if FIELD_NAME.match(h)], (name, fmt, header)
            if name == "segments:export":
                expected = ("Nº de cliente", "Nombre", "Ciudad") if language == "es" else (
                    "Customer no.", "Name", "City")
                assert all(e in header for e in expected), header
                assert ("Ventas netas (EUR)" if language == "es" else "Net sales (EUR)") in header
    # Values in the language too (codes shown by their label).
    _ct, content = _download(hostile_shop["client"], "segments:export",
                             {"pk": hostile_shop["segment"].pk}, "csv", language)
    values = {v for row in _csv_cells(content) for v in row}
    assert ("En riesgo" if language == "es" else "At risk") in values
    assert "at_risk" not in values


def test_unknown_export_format_is_a_404(hostile_shop):
    client = hostile_shop["client"]
    assert client.get(reverse("segments:export", args=[hostile_shop["segment"].pk, "pdf"])).status_code == 404
    customer = hostile_shop["customers"][0]
    assert client.get(reverse("privacy:export", args=[customer.pk, "csvx"])).status_code == 404


def test_datetimes_are_written_in_local_time_across_the_spring_change():
    """Europe/Madrid moves from 02:00 CET to 03:00 CEST on 2026-03-29: the exported times
    are the local wall-clock times on both sides of the change."""
    from datetime import UTC, datetime

    from fideliza.core.exports import csv_lines

    before, after = datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    sheet = Sheet(title="t", header=["Cuándo"], rows=[[before], [after]])
    with translation.override("es"):
        lines = list(csv_lines(sheet))
    assert lines[1:] == ["2026-03-29 01:30:00\r\n", "2026-03-29 03:30:00\r\n"]
    cells = [row[0].value for row in load_workbook(io.BytesIO(xlsx_bytes([sheet]))).active.iter_rows(min_row=2)]
    assert cells == [datetime(2026, 3, 29, 1, 30), datetime(2026, 3, 29, 3, 30)]


def test_a_sales_rep_exports_only_their_own_customers(hostile_shop, django_user_model):
    """Every export in every format, downloaded by a sales representative: refused, or holding
    only the customers assigned to them (never another representative's)."""
    mine, other = hostile_shop["customers"][:2], hostile_shop["customers"][2:]
    rep = django_user_model.objects.create_user(username="rep1", password="x", role="sales_rep")
    rival = django_user_model.objects.create_user(username="rep2", password="x", role="sales_rep")
    Customer.objects.filter(pk__in=[c.pk for c in mine]).update(account_executive=rep)
    Customer.objects.filter(pk__in=[c.pk for c in other]).update(account_executive=rival)
    client = Client()
    client.force_login(rep)
    shop = {**hostile_shop, "customers": other}  # ask for the rival's customer where a URL names one
    for name, formats in export_urls().items():
        kwargs = EXPORT_ARGS[name](shop)
        for fmt in formats:
            with translation.override("es"):
                url = reverse(name, kwargs={**kwargs, "fmt": fmt})
            response = client.get(url)
            if response.status_code in (403, 404):
                continue
            assert response.status_code == 200, (name, fmt, response.status_code)
            content = b"".join(response.streaming_content) if response.streaming else response.content
            text = content.decode("utf-8", "replace") if fmt != "xlsx" else " ".join(
                str(v) for row in _spreadsheet_cells("xlsx", content) for v in row)
            for customer in other:
                assert customer.email not in text, (name, fmt, customer.email)
            assert any(c.email in text for c in mine), (name, fmt)
