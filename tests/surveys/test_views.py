"""The survey pages: the builder, results, export, the public answer pages (personal link,
till link with identification, testimonial) and the anonymity of anonymous surveys."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import reverse

from fideliza.accounts.services import Actor
from fideliza.campaigns.services import MessageContent, campaign_create, campaign_launch
from fideliza.customers.models import Customer
from fideliza.engagement.models import Message
from fideliza.surveys.models import Question, Response, Survey
from fideliza.surveys.models import Testimonial as Quote
from fideliza.surveys.services import survey_from_template, survey_save

from .conftest import NOW

pytestmark = pytest.mark.django_db

EMAIL = MessageContent(subject="Su opinión", body_text="Hola {{ nombre }}.\nBaja: %%unsubscribe_url%%",
                       body_html="<p>Hola {{ nombre }}</p>")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _send(owner, segment, survey) -> list[str]:
    campaign = campaign_create(user=owner, name="Encuesta", segment=segment, channels=["email"],
                               messages={"email": EMAIL}, holdout_share=Decimal(0), survey=survey)
    campaign_launch(campaign, now=NOW)
    bodies = Message.objects.filter(source=f"campaign:{campaign.pk}").order_by("customer_id")
    return [re.search(r"(/e/[^/?\"]+/)", m.body_text).group(1) for m in bodies]  # type: ignore[union-attr]


def test_owner_builds_a_survey_from_a_template_and_adds_a_conditional_question(owner, clock):
    client = _client(owner)
    response = client.post(reverse("surveys:create"), {"template": "csat_purchase", "name": ""})
    survey = Survey.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("surveys:edit", args=[survey.pk])
    csat = survey.questions.get(kind="csat")
    page = client.post(reverse("surveys:edit", args=[survey.pk]), {
        "part": "question", "kind": "multiple", "text": "¿Qué compró?", "choices": "Herramientas\nPintura",
        "scale_max": 5, "show_if": csat.pk, "show_if_max": 2})
    assert page.status_code == 302
    added = survey.questions.order_by("-position").first()
    assert added is not None and added.choices == ["Herramientas", "Pintura"] and added.show_if_id == csat.pk
    bad = client.post(reverse("surveys:edit", args=[survey.pk]), {
        "part": "question", "kind": "single", "text": "¿Cuál?", "choices": "Una", "scale_max": 5})
    assert bad.status_code == 200 and "al menos dos opciones" in bad.content.decode()
    assert "Enviar con una campaña" in client.get(reverse("surveys:edit", args=[survey.pk])).content.decode()


def test_a_representative_reads_results_but_does_not_build(rep, nps_survey):
    client = _client(rep)
    assert client.get(reverse("surveys:results", args=[nps_survey.pk])).status_code == 200
    assert client.get(reverse("surveys:edit", args=[nps_survey.pk])).status_code == 403
    assert client.post(reverse("surveys:create"), {"template": "nps"}).status_code == 403


def test_personal_link_pages_from_score_to_thanks(owner, shop, nps_survey):
    link = _send(owner, shop["segment"], nps_survey)[0]
    anonymous = Client()
    page = anonymous.get(link, {"nota": "3"})
    html = page.content.decode()
    assert page.status_code == 200 and 'data-autosave="1"' in html
    assert re.search(r'value="3" checked', html)
    nps_q, why_q, _best = Question.objects.filter(survey=nps_survey).order_by("position")
    saved = anonymous.post(link, {f"q{nps_q.pk}": "3", "action": "save"}, HTTP_X_REQUESTED_WITH="fetch")
    assert saved.status_code == 204
    assert Response.objects.get().nps == 3
    missing = anonymous.post(link, {f"q{nps_q.pk}": "", "action": "finish"})
    assert missing.status_code == 422 and "obligatoria" in missing.content.decode()
    done = anonymous.post(link, {f"q{nps_q.pk}": "3", f"q{why_q.pk}": "Más surtido", "action": "finish"})
    assert done.status_code == 200 and "survey-thanks" in done.content.decode()
    again = anonymous.get(link, {"nota": "10"})
    assert "ya está respondida" in again.content.decode()
    assert Response.objects.get().nps == 3
    forged = link[:-3] + "xx/"
    assert anonymous.get(forged).status_code == 404


def test_public_till_link_identifies_the_customer_and_rejects_bad_input(owner, shop, nps_survey):
    survey_save(actor=Actor.of(owner), survey=nps_survey, public_enabled=True, public_identify=True)
    url = reverse("surveys_public:public", args=[nps_survey.public_token])
    nps_q = nps_survey.questions.get(position=1)
    client = Client()
    assert 'name="contact"' in client.get(url).content.decode()
    bad = client.post(url, {f"q{nps_q.pk}": "doce"})
    assert bad.status_code == 422 and "Elija un valor de la escala" in bad.content.decode()
    assert client.post(url, {f"q{nps_q.pk}": "99"}).status_code == 422
    customer = shop["customers"][1]
    ok = client.post(url, {f"q{nps_q.pk}": "9", "contact": customer.email.upper()})
    assert ok.status_code == 200
    assert Response.objects.get().customer_id == customer.pk
    assert Client().get(reverse("surveys_public:public", args=["no-existe"])).status_code == 404
    qr = _client(owner).get(reverse("surveys:qr", args=[nps_survey.pk]))
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content


def test_results_page_counts_and_searches_verbatims(owner, shop, nps_survey):
    links = _send(owner, shop["segment"], nps_survey)
    nps_q, why_q, _best = Question.objects.filter(survey=nps_survey).order_by("position")
    for link, (score, text) in zip(links, (("2", "La entrega tardó mucho"), ("9", ""), ("10", "")), strict=True):
        Client().post(link, {f"q{nps_q.pk}": score, f"q{why_q.pk}": text, "action": "finish"})
    client = _client(owner)
    page = client.get(reverse("surveys:results", args=[nps_survey.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="kpi-nps"' in html and "+33" in html  # (2 promoters − 1 detractor) / 3
    assert "La entrega tardó mucho" in html
    found = client.get(reverse("surveys:results", args=[nps_survey.pk]), {"q": "surtido"}).content.decode()
    assert "La entrega tardó mucho" not in found
    words = client.get(reverse("surveys:results", args=[nps_survey.pk]), {"palabras": "1"}).content.decode()
    assert "entrega" in words and 'id="word-frequencies"' in words
    export = client.get(reverse("surveys:export", args=[nps_survey.pk, "csv"]))
    content = b"".join(export.streaming_content).decode() if export.streaming else export.content.decode()
    assert "La entrega tardó mucho" in content and shop["customers"][0].email in content


def test_card_timeline_shows_the_answers(owner, shop, nps_survey):
    link = _send(owner, shop["segment"], nps_survey)[0]
    nps_q = nps_survey.questions.get(position=1)
    Client().post(link, {f"q{nps_q.pk}": "7", "action": "finish"})
    customer = Response.objects.get().customer
    assert customer is not None
    html = _client(owner).get(reverse("customers:detail", args=[customer.pk]), {"ver": "encuestas"}).content.decode()
    assert "timeline-survey" in html and "NPS 7" in html and nps_q.text in html


def _customer_values(customer: Customer) -> set[str]:
    return {str(v).lower() for v in (customer.first_name, customer.last_name, customer.email) if v}


def test_anonymous_survey_stores_no_customer_anywhere(owner, shop, clock):
    survey = survey_from_template(actor=Actor.of(owner), template="seed")
    survey_save(actor=Actor.of(owner), survey=survey, is_anonymous=True, public_enabled=True, public_identify=True,
                promoter_referral=True)
    links = _send(owner, shop["segment"], survey)
    questions = list(survey.questions.order_by("position"))
    for link in links:
        Client().post(link, {f"q{questions[0].pk}": "Por el trato", f"q{questions[3].pk}": "2", "action": "save"})
        Client().post(link, {f"q{questions[3].pk}": "2", "action": "finish"})
    public = reverse("surveys_public:public", args=[survey.public_token])
    page = Client().get(public).content.decode()
    assert 'name="contact"' not in page  # an anonymous survey asks nobody who they are
    Client().post(public, {f"q{questions[3].pk}": "10", "contact": shop["customers"][0].email})
    assert Response.objects.filter(survey=survey, finished_at__isnull=False).count() == 4
    # Every column of every table of the app: no key to a customer, no customer id in a
    # column that could hold one, no name or e-mail in any text.
    ids = {c.pk for c in shop["customers"]}
    texts = set().union(*(_customer_values(c) for c in shop["customers"]))
    for model in apps.get_app_config("surveys").get_models():
        for field in model._meta.concrete_fields:
            values = list(model.objects.filter(**({"survey": survey} if hasattr(model, "survey") else {}))
                          .values_list(field.attname, flat=True)) if model is not Survey else \
                list(Survey.objects.filter(pk=survey.pk).values_list(field.attname, flat=True))
            if field.is_relation and field.related_model is Customer:
                assert values == [None] * len(values), (model, field.name)
            elif "customer" in field.name:
                assert not set(values) & ids, (model, field.name)
            elif isinstance(field, models.CharField | models.TextField | models.JSONField):
                joined = " ".join(str(v).lower() for v in values)
                assert not any(t in joined for t in texts), (model, field.name)
    assert not Quote.objects.exists()
    # No follow-up, no points, no promoter message for an anonymous answer.
    from fideliza.followups.models import FollowUp
    from fideliza.loyalty.models import LedgerEntry

    assert not FollowUp.objects.filter(origin_kind="survey").exists()
    assert not LedgerEntry.objects.filter(cause_type="survey").exists()
    assert not Message.objects.filter(source=f"survey:{survey.pk}").exists()


def test_testimonial_page_from_a_promoter(owner, shop, nps_survey, clock):
    survey_save(actor=Actor.of(owner), survey=nps_survey, promoter_referral=True)
    link = _send(owner, shop["segment"], nps_survey)[0]
    nps_q = nps_survey.questions.get(position=1)
    Client().post(link, {f"q{nps_q.pk}": "10", "action": "finish"})
    message = Message.objects.get(source=f"survey:{nps_survey.pk}")
    url = re.search(r"(/e/t/[^/]+/)", message.body_text).group(1)  # type: ignore[union-attr]
    client = Client()
    bad = client.post(url, {"text": "Excelente atención", "consent": "on"})
    assert bad.status_code == 422 and "dónde se puede publicar" in bad.content.decode()
    ok = client.post(url, {"text": "Excelente atención", "consent": "on", "consent_where": "web",
                           "consent_until": (NOW + timedelta(days=60)).date().isoformat()})
    assert ok.status_code == 200 and "testimonial-thanks" in ok.content.decode()
    row = Quote.objects.get()
    assert row.consent and row.customer_id == message.customer_id
    again = client.post(url, {"text": "Otra vez", "consent": "on", "consent_where": "web"})
    assert again.status_code == 200 and Quote.objects.count() == 1  # the link takes one testimonial
    listing = _client(owner).get(reverse("surveys:testimonials")).content.decode()
    assert "Excelente atención" in listing and "Publicable" in listing
    _client(owner).post(reverse("surveys:testimonial_revoke", args=[row.pk]))
    row.refresh_from_db()
    assert row.revoked_at is not None and not row.consent
    assert Client().get("/e/t/falso:firma/").status_code == 404


@pytest.mark.parametrize("posted", [
    {"qx": "1", "action": "finish"},
    {"q999999": "5", "action": "save"},
    {"action": "finish", "nota": "x" * 10000},
])
def test_public_pages_refuse_nonsense_without_a_500(owner, shop, nps_survey, posted):
    survey_save(actor=Actor.of(owner), survey=nps_survey, public_enabled=True)
    link = _send(owner, shop["segment"], nps_survey)[0]
    client = Client()
    for query in ({"nota": "abc"}, {"nota": "99999999999999999999"}, {"nota": "-3"}):
        assert client.get(link, query).status_code == 200
    nps_q, why_q, _best = Question.objects.filter(survey=nps_survey).order_by("position")
    for data in (posted, {f"q{nps_q.pk}": ["3", "4"], "action": "finish"},
                 {f"q{nps_q.pk}": "99999999999999999999", "action": "save"},
                 {f"q{nps_q.pk}": "5", f"q{why_q.pk}": "y" * 20000, "action": "save"}):
        for url in (link, reverse("surveys_public:public", args=[nps_survey.public_token])):
            response = client.post(url, data)
            assert response.status_code in (200, 204, 422), (url, data, response.status_code)
            if response.status_code == 422:
                assert "Elija" in response.content.decode() or "obligatoria" in response.content.decode()
