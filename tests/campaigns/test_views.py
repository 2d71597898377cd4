"""Campaign pages and API: who may write, the editor's live preview, the send confirmation
and the results; API create/launch/results with Decimal money as strings."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from fideliza.accounts.services import api_token_create
from fideliza.campaigns.models import Campaign, CampaignStatus
from fideliza.engagement.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_quiet_hours(settings):
    # Sends in these tests happen "now", which may fall in the default quiet hours.
    settings.FIDELIZA_QUIET_HOURS_START = ""
    settings.FIDELIZA_QUIET_HOURS_END = ""


FORM = {
    "name": "Otoño", "description": "", "channels": ["email"],
    "email_subject": "{{ nombre }}, vuelve", "email_body_text": "Hola {{ nombre }}, tu cupón: {{ cupon }}",
    "email_body_html": "", "sms_body_text": "", "topic": "ofertas", "scheduled_at": "",
    "offer_kind": "amount", "offer_value": "5", "offer_valid_days": "30", "offer_min_purchase": "",
    "offer_description": "", "holdout_percent": "10", "over_budget": "skip", "conversion_days": "14",
}


def test_support_reads_but_cannot_write(client, support, segment, make_campaign):
    campaign = make_campaign(segment)
    client.force_login(support)
    assert client.get(reverse("campaigns:list")).status_code == 200
    assert client.get(reverse("campaigns:detail", args=[campaign.pk])).status_code == 200
    assert client.get(reverse("campaigns:results", args=[campaign.pk])).status_code == 200
    assert client.get(reverse("campaigns:create")).status_code == 403
    assert client.post(reverse("campaigns:send", args=[campaign.pk])).status_code == 403
    assert not Message.objects.exists()


def test_marketing_creates_previews_sends_and_reads_results(client, marketing, segment, customers):
    client.force_login(marketing)
    page = client.get(reverse("campaigns:create"))
    assert page.status_code == 200 and "cupon" in page.content.decode()  # the variables panel
    preview = client.post(reverse("campaigns:preview_form"),
                          {**FORM, "segment": segment.pk, "preview_customer": customers[2].pk})
    body = preview.content.decode()
    assert "Nombre2, vuelve" in body and "CUPON-EJEMPLO" in body
    response = client.post(reverse("campaigns:create"), {**FORM, "segment": segment.pk})
    campaign = Campaign.objects.get(name="Otoño")
    assert response.status_code == 302 and response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    confirm = client.get(reverse("campaigns:send", args=[campaign.pk]))
    assert confirm.context["reach"] == {"segment": 40, "holdout": 4, "treated": 36, "reachable": 36,
                                        "no_channel": 0, "by_channel": {"email": 36}}
    sent = client.post(reverse("campaigns:send", args=[campaign.pk]))
    assert sent["Location"] == reverse("campaigns:results", args=[campaign.pk])
    assert Message.objects.filter(source=f"campaign:{campaign.pk}").count() == 36
    results = client.get(sent["Location"])
    assert results.status_code == 200 and results.context["r"]["treated"] == 36


def test_form_shows_template_errors_on_the_field(client, marketing, segment):
    client.force_login(marketing)
    response = client.post(reverse("campaigns:create"),
                           {**FORM, "segment": segment.pk, "email_body_text": "Hola {{ nombre.upper() }}"})
    assert response.status_code == 200
    assert response.context["form"].errors["email_body_text"]
    assert not Campaign.objects.exists()


def api_client(client, user):
    _token, plain = api_token_create(user=user, name="t", created_by=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def test_api_create_launch_results(client, marketing, support, segment):
    headers = api_client(client, marketing)
    payload = {"name": "API", "segment_id": segment.pk, "channels": ["email"],
               "messages": {"email": {"subject": "Hola {{ nombre }}", "body_text": "Código {{ cupon }}"}},
               "offer": {"kind": "percent", "value": "12.5", "min_purchase": 20}, "holdout_share": "0.25"}
    created = client.post("/api/v1/campaigns", json.dumps(payload), content_type="application/json", **headers)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["offer"]["value"] == "12.50" and data["offer"]["min_purchase"] == "20.00"
    assert data["status"] == "draft" and data["messages"]["email"]["subject"] == "Hola {{ nombre }}"
    bad = client.post("/api/v1/campaigns", json.dumps({**payload, "messages": {"email": {"subject": "{{ x",
                                                                                       "body_text": "a"}}}),
                      content_type="application/json", **headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "email_subject"]
    denied = client.post(f"/api/v1/campaigns/{data['id']}/launch", **api_client(client, support))
    assert denied.status_code == 403
    launched = client.post(f"/api/v1/campaigns/{data['id']}/launch", **headers)
    assert launched.status_code == 200
    assert launched.json()["recipients"] == {"holdout": 10, "queued": 30}
    again = client.post(f"/api/v1/campaigns/{data['id']}/launch", **headers)
    assert again.json()["launched"] is False and Message.objects.count() == 30
    results = client.get(f"/api/v1/campaigns/{data['id']}/results", **headers).json()
    assert results["treated"] == 30 and results["holdout"] == 10 and results["revenue"] == "0.00"
    assert results["uplift"]["status"] == "ok" and results["coupons_issued"] == 30
    listed = client.get("/api/v1/campaigns?status=sending", **headers).json()
    assert [c["id"] for c in listed] == [data["id"]]
    assert Campaign.objects.get(pk=data["id"]).status == CampaignStatus.SENDING


def test_results_page_explains_decisions_and_uplift(client, support, make_campaign):
    from datetime import timedelta

    from fideliza.campaigns.services import campaign_launch
    from fideliza.engagement.models import ContactBudget

    from .conftest import LAUNCH, customer_make, segment_make

    ContactBudget.objects.create(scope="global", max_messages=1, window_days=7)
    people = [customer_make(i) for i in range(20)] + [customer_make(99, consent=False)]
    segment = segment_make("Veinte", people)
    campaign_launch(make_campaign(segment, name="Antes", holdout="0"), now=LAUNCH)
    campaign = make_campaign(segment, name="Después", holdout="0.5")
    campaign_launch(campaign, now=LAUNCH + timedelta(hours=1))
    client.force_login(support)
    page = client.get(reverse("campaigns:results", args=[campaign.pk])).content.decode()
    assert "Límite de contactos alcanzado" in page
    assert "puntos" in page and "grupo de control" in page


def test_saved_template_is_created_and_loaded_into_the_editor(client, marketing):
    from fideliza.campaigns.models import MessageTemplate

    client.force_login(marketing)
    bad = client.post(reverse("campaigns:template_create"), {
        "name": "Rota", "channel": "email", "language": "es", "topic": "", "subject": "Hola",
        "body_text": "{% for x in y %}{% endfor %}", "body_html": ""})
    assert bad.status_code == 200 and bad.context["form"].errors["body_text"]
    response = client.post(reverse("campaigns:template_create"), {
        "name": "Bienvenida", "channel": "email", "language": "es", "topic": "novedades",
        "subject": "Bienvenida, {{ nombre }}", "body_text": "Hola {{ nombre }}", "body_html": ""})
    assert response.status_code == 302
    template = MessageTemplate.objects.get(name="Bienvenida", is_reusable=True)
    loaded = client.get(reverse("campaigns:template_load"), {"template": template.pk})
    assert 'value="Bienvenida, {{ nombre }}"' in loaded.content.decode()
    assert "Bienvenida" in client.get(reverse("campaigns:templates")).content.decode()


def test_edit_page_shows_and_saves_the_campaign(client, marketing, segment, make_campaign):
    campaign = make_campaign(segment, offer=True)
    client.force_login(marketing)
    page = client.get(reverse("campaigns:edit", args=[campaign.pk]))
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["holdout_percent"] == 10 and form.initial["offer_kind"] == "percent"
    assert "Hola {{ nombre }}, una oferta para ti" in page.content.decode()
    response = client.post(reverse("campaigns:edit", args=[campaign.pk]),
                           {**FORM, "segment": segment.pk, "name": "Primavera 2"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Primavera 2" and campaign.offer_kind == "amount"
    assert campaign.email_template.subject == "{{ nombre }}, vuelve"
    detail = client.get(reverse("campaigns:detail", args=[campaign.pk]), {"cliente": segment.members.first().customer_id})
    assert detail.status_code == 200 and detail.context["preview"]["subject"].endswith(", vuelve")


def test_the_pages_with_an_email_preview_allow_its_inline_styles_and_only_they(client, marketing, segment,
                                                                               make_campaign):
    campaign = make_campaign(segment)
    client.force_login(marketing)

    def style_src(url: str) -> str:
        policy = client.get(url)["Content-Security-Policy"]
        return next(d for d in policy.split(";") if d.strip().startswith("style-src"))

    assert "'unsafe-inline'" in style_src(reverse("campaigns:detail", args=[campaign.pk]))
    assert "'unsafe-inline'" in style_src(reverse("campaigns:edit", args=[campaign.pk]))
    assert "'unsafe-inline'" not in style_src(reverse("campaigns:results", args=[campaign.pk]))
