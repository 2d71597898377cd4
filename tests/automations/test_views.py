"""Pages and API: roles, the editor with steps, dry run and report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from fideliza.accounts.models import AuditLog
from fideliza.automations.models import Automation, Enrollment
from tests.clock import MIDSUMMER

from .conftest import make_automation, make_customer, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """Wednesday noon, outside the quiet hours: the welcome step of a purchase an hour ago goes out."""
    time_machine.move_to(MIDSUMMER, tick=False)


def _login(django_user_model, username, role):
    user = django_user_model.objects.create_user(username=username, password="clave-segura-1", role=role)
    client = Client()
    client.force_login(user)
    return client


def _form(**overrides):
    data = {"name": "Bienvenida", "description": "", "trigger_kind": "welcome", "trigger_params": "",
            "channels": ["email"], "topic": "", "holdout_share": "0.100", "over_budget": "skip",
            "conversion_days": "14", "is_active": "on",
            "steps-TOTAL_FORMS": "2", "steps-INITIAL_FORMS": "0", "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000"}
    step = {"position": "1", "delay_days": "0", "delay_hours": "0", "condition": "",
            "email_subject": "Hola {{ nombre }}", "email_text": "Gracias por tu compra.", "email_html": "",
            "sms_text": "", "offer_kind": "", "offer_value": "0", "offer_valid_days": "30",
            "offer_min_purchase": "0"}
    data |= {f"steps-0-{k}": v for k, v in step.items()}
    data |= {f"steps-1-{k}": v for k, v in (step | {"position": "2", "delay_days": "7",
                                                    "condition": "stop_if_purchased"}).items()}
    data |= overrides
    return data


def test_marketing_creates_an_automation_with_steps(django_user_model):
    client = _login(django_user_model, "mk", "marketing")
    assert client.get(reverse("automations:create")).status_code == 200
    response = client.post(reverse("automations:create"), _form())
    automation = Automation.objects.get()
    # Saved; switching it on asks first whether the customers who already match enter too.
    assert response.status_code == 302 and response.url == reverse("automations:toggle", args=[automation.pk])
    assert [(s.position, s.delay_days, s.condition) for s in automation.steps.all()] == \
        [(1, 0, ""), (2, 7, "stop_if_purchased")]
    assert automation.trigger_params == {"lookback_days": 2} and not automation.is_active
    client.post(reverse("automations:toggle", args=[automation.pk]), {"scope": "new"})
    automation.refresh_from_db()
    assert automation.is_active
    assert AuditLog.objects.filter(entity="automations.automation", entity_id=str(automation.pk)).exists()
    page = client.get(reverse("automations:edit", args=[automation.pk]))
    assert page.status_code == 200 and "Hola {{ nombre }}" in page.content.decode()
    listing = client.get(reverse("automations:list")).content.decode()
    assert "Bienvenida" in listing and reverse("automations:list") in listing  # nav entry


def test_bad_templates_and_params_are_shown_not_saved(django_user_model):
    client = _login(django_user_model, "mk", "marketing")
    response = client.post(reverse("automations:create"), _form(**{
        "steps-0-email_subject": "Hola {{ cliente.nombre }}", "trigger_params": '{"days_after": 3}'}))
    assert response.status_code == 200 and not Automation.objects.exists()
    text = response.content.decode()
    assert "atributos" in text and "days_after" in text


def test_other_roles_read_but_do_not_edit(django_user_model):
    automation = make_automation("welcome")
    client = _login(django_user_model, "sop", "support")
    assert client.get(reverse("automations:list")).status_code == 200
    assert client.get(reverse("automations:report", args=[automation.pk])).status_code == 200
    assert client.get(reverse("automations:create")).status_code == 403
    assert client.post(reverse("automations:toggle", args=[automation.pk])).status_code == 403
    automation.refresh_from_db()
    assert automation.is_active


def test_toggle_dry_run_and_report_pages(django_user_model):
    buyer = make_customer(first_name="Marta")
    make_order(buyer, MIDSUMMER - timedelta(hours=1))
    automation = make_automation("welcome", active=False)
    client = _login(django_user_model, "dueña", "owner")
    client.post(reverse("automations:toggle", args=[automation.pk]), {"scope": "existing"})
    automation.refresh_from_db()
    assert automation.is_active
    page = client.get(reverse("automations:dry_run"), {"run": "1"})
    assert page.status_code == 200 and "Marta" in page.content.decode()
    partial = client.get(reverse("automations:dry_run"), {"automation": automation.pk}, HTTP_HX_REQUEST="true")
    assert "Marta" in partial.content.decode() and "<html" not in partial.content.decode()
    assert not Enrollment.objects.exists()
    report = client.get(reverse("automations:report", args=[automation.pk]))
    assert report.status_code == 200 and "grupo de control" in report.content.decode()


def test_api_list_dry_run_and_report(django_user_model):
    buyer = make_customer()
    make_order(buyer, MIDSUMMER - timedelta(hours=1))
    automation = make_automation("welcome")
    client = _login(django_user_model, "mk", "marketing")
    listing = client.get("/api/v1/automations")
    assert listing.status_code == 200 and listing.json()[0]["trigger_kind"] == "welcome"
    dry = client.get("/api/v1/automations/dry-run")
    assert dry.status_code == 200 and [r["customer_id"] for r in dry.json()] == [buyer.pk]
    report = client.get(f"/api/v1/automations/{automation.pk}/report")
    assert report.status_code == 200 and report.json()["treated"] == 0
    assert client.get("/api/v1/automations/999999/report").status_code == 404


def test_sales_reps_see_only_their_customers_in_the_dry_run(django_user_model):
    rep = django_user_model.objects.create_user(username="rep", password="clave-segura-1", role="sales_rep")
    mine = make_customer(first_name="Mía", account_executive=rep)
    other = make_customer(first_name="Otra")
    for c in (mine, other):
        make_order(c, MIDSUMMER - timedelta(hours=1))
    make_automation("welcome")
    client = Client()
    client.force_login(rep)
    page = client.get(reverse("automations:dry_run"), {"run": "1"}).content.decode()
    assert "Mía" in page and "Otra" not in page
    api = client.get("/api/v1/automations/dry-run").json()
    assert [r["customer_id"] for r in api] == [mine.pk]


def test_report_page_explains_skips_in_words(django_user_model):
    from fideliza.automations.services import automations_run

    silent = make_customer(consent=False, first_name="Callada")
    make_order(silent, MIDSUMMER - timedelta(hours=1))
    automation = make_automation("welcome")
    automations_run()
    client = _login(django_user_model, "mk", "marketing")
    page = client.get(reverse("automations:report", args=[automation.pk])).content.decode()
    assert "Sin canal con consentimiento" in page and "Callada" in page
