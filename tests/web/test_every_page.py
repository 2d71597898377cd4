"""Every page of the navigation, in Spanish and in English, on a small demo business.

The demo is built once for the module (with a pinned clock) and given what a shop has after
a few weeks of use: a campaign sent, automations run, duplicates merged and queued, an
import with errors, a data-subject request. Each role crawls the app from its navigation
(links and htmx targets, GET only, a bounded depth) so that new pages are covered without
listing them here; every page must answer 200 and read as plain Spanish or plain English:
no snake_case codes, Python values or words of the other language, and amounts with their
currency and the locale's decimal mark.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client, override_settings

from fideliza.accounts.models import User
from fideliza.accounts.services import Actor
from fideliza.demo.services import demo_populate

from .crawl import DataStrings, crawl, money_problems, number_problems, page_problems

TZ = ZoneInfo("Europe/Madrid")
TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 11, 0, tzinfo=TZ)  # a weekday morning, outside quiet hours

# (model label, fields) whose values are business data typed or imported by the shop: names,
# addresses, product names, texts of messages. They may be in any language on any page.
DATA_FIELDS: dict[str, tuple[str, ...]] = {
    "accounts.User": ("username", "first_name", "last_name", "email"),
    "accounts.ApiToken": ("name",),
    "customers.Tag": ("name",),
    "customers.Customer": ("first_name", "last_name", "company_name", "tax_id", "email", "phone",
                           "address", "postal_code", "city", "region", "notes"),
    "customers.CustomerSourceId": ("source", "external_id"),
    "customers.ConsentRecord": ("source", "wording"),
    "customers.Contact": ("name", "role", "email", "phone", "notes"),
    "customers.ContactConsentRecord": ("source", "wording"),
    "customers.DataSubjectRequest": ("details", "resolution"),
    "catalog.Category": ("name",),
    "catalog.Product": ("sku", "name"),
    "sales.Store": ("code", "name", "city"),
    "sales.Order": ("source", "external_id"),
    "sales.OrderLine": ("sku", "description"),
    "sales.Return": ("source", "external_id", "reason"),
    "imports.ImportRun": ("source", "file_name"),
    "loyalty.Program": ("name",),
    "loyalty.EarningRule": ("name",),
    "loyalty.Tier": ("name", "benefits"),
    "loyalty.Member": ("referral_code",),
    "loyalty.LedgerEntry": ("note",),
    "loyalty.Reward": ("name", "description"),
    "loyalty.Coupon": ("code", "name"),
    "loyalty.Affiliate": ("name", "email", "code"),
    "segments.Segment": ("name", "description"),
    "engagement.Message": ("topic", "address", "subject", "body_text"),
    "engagement.Suppression": ("address", "note"),
    "engagement.TopicPreference": ("topic",),
    "campaigns.MessageTemplate": ("name", "subject", "body_text", "topic"),
    "campaigns.Campaign": ("name", "description", "offer_description"),
    "automations.Automation": ("name", "description", "topic"),
    "automations.AutomationStep": ("email_subject", "email_text", "sms_text", "followup_title", "followup_text"),
    "cadences.CadenceRule": ("name", "title_template"),
    "followups.FollowUp": ("title", "notes", "status_reason", "outcome"),
    "interactions.Interaction": ("contact_name", "text"),
    "goals.RetentionGoal": ("notes",),
    "plan.PlanItem": ("action", "when", "who", "how"),
    "complaints.ComplaintCategory": ("name",),
    "complaints.RootCause": ("name",),
    "complaints.CannedAnswer": ("title", "subject", "body"),
    "complaints.Complaint": ("tracking_code", "name", "document_number", "email", "phone", "address", "item",
                             "order_reference", "description", "request", "resolution"),
    "complaints.ComplaintEvent": ("text",),
    "complaints.RecoveryGesture": ("coupon_code", "note"),
    "complaints.ExitReasonRecord": ("text",),
    "events.Event": ("title", "description", "place", "city", "audience_city"),
    "surveys.Survey": ("name", "intro", "thanks"),
    "surveys.Question": ("text", "choices"),
    "surveys.Response": ("verbatim", "tier"),
    "surveys.Answer": ("text", "options"),
    "surveys.Testimonial": ("text", "media_url", "consent_where"),
}

ROLES = ("duena", "marketing", "comercial1", "soporte")
UPLOADED_HEADERS = ["Código cliente", "codigo", "nombre", "email", "fecha_alta"]
BAD_CUSTOMERS = (
    "codigo;nombre;email;fecha_alta\n"
    "X1;Ana;ana@example.com;2026-01-05\n"
    "X2;Luis;esto-no-es-un-email;2026-01-06\n"
    "X3;Marta;marta@example.com;31/02/2026\n"
)


def _data_strings() -> DataStrings:
    from django.apps import apps
    from django.conf import settings

    data = DataStrings()
    for label, fields in DATA_FIELDS.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        for row in model.objects.values_list(*fields):
            data.add(v for v in row if v)
    data.add([settings.FIDELIZA_BUSINESS_NAME])
    # Values before a change, which the card's history shows and no row holds any more
    # (a merge replaces the survivor's address with the duplicate's).
    from fideliza.accounts.models import AuditLog

    for changes in AuditLog.objects.exclude(changes=None).values_list("changes", flat=True):
        if isinstance(changes, dict):
            # Texts only: a bare number («5.75») taken out of a page would cut amounts in two.
            data.add(v for pair in changes.values() for v in (pair if isinstance(pair, list) else [pair])
                     if isinstance(v, str) and any(ch.isalpha() for ch in v))
    # The uploaded files' own headers (the mapping page lists them) and the cell values
    # quoted in import errors.
    data.add(UPLOADED_HEADERS)
    from fideliza.imports.models import ImportRun

    for errors in ImportRun.objects.values_list("errors", flat=True):
        data.add(str(e.get(k) or "") for e in errors or [] for k in ("column", "value")
                 if not str(e.get(k) or "").startswith("__"))
    return data


def _life_after_a_few_weeks(tmp) -> None:
    """What the crawl needs on top of the demo so that every list has a row to open."""
    from fideliza.automations.services import automations_run
    from fideliza.campaigns.services import MessageContent, campaign_create, campaign_launch
    from fideliza.customers.dedup import duplicates_find
    from fideliza.customers.models import Customer
    from fideliza.customers.privacy import dsr_open
    from fideliza.imports.services import import_file
    from fideliza.segments.models import Segment

    owner = User.objects.get(username="duena")
    marketing = User.objects.get(username="marketing")
    actor = Actor.of(owner)
    duplicates_find(actor=actor)
    segment = Segment.objects.filter(member_count__gt=0).order_by("-member_count").first()
    assert segment is not None, "the demo has no segment with members"
    email = MessageContent(subject="Hola {{ nombre }}, un regalo",
                           body_text="Hola {{ nombre }}. Tu código: {{ cupon }}", topic="ofertas")
    sms = MessageContent(body_text="{{ nombre }}: {{ cupon }}", topic="ofertas")
    campaign = campaign_create(user=marketing, name="Vuelta al cole", segment=segment,
                               channels=["email", "sms"], messages={"email": email, "sms": sms},
                               holdout_share=Decimal("0.100"), offer_kind="percent",
                               offer_value=Decimal(10), offer_valid_days=30)
    campaign_launch(campaign, now=NOW, user=marketing)
    campaign_create(user=marketing, name="Borrador de otoño", segment=segment, channels=["email"],
                    messages={"email": email}, offer_kind="amount", offer_value=Decimal(5),
                    offer_valid_days=30, offer_min_purchase=Decimal(40))
    automations_run(now=NOW)
    path = tmp / "clientes_hoja.csv"
    path.write_text(BAD_CUSTOMERS, encoding="utf-8")
    import_file(path=path, kind="customers", source="hoja", actor=actor)
    # A file uploaded and waiting at the column-mapping step (the list links to it).
    from django.core.files.uploadedfile import SimpleUploadedFile

    uploader = Client()
    uploader.force_login(owner)
    uploader.post("/importaciones/nueva/", {"kind": "customers", "source": "hoja", "file": SimpleUploadedFile(
        "pendiente.csv", BAD_CUSTOMERS.replace("codigo;", "Código cliente;").encode(), content_type="text/csv")})
    someone = Customer.objects.filter(merged_into__isnull=True, is_active=True).order_by("pk").first()
    dsr_open(actor=actor, customer=someone, kind="access", details="Pide copia de sus datos.")


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    with time_machine.travel(NOW, tick=True), django_db_blocker.unblock(), \
            override_settings(MEDIA_ROOT=tmp / "media"):
        try:
            demo_populate(customers=300, seed=11, years=2, today=TODAY, out_dir=tmp / "files")
            _life_after_a_few_weeks(tmp)
            yield _data_strings()
        finally:
            call_command("flush", interactive=False, verbosity=0)


def _client(username: str) -> Client:
    client = Client()
    # django-axes needs the request to authenticate; force_login skips the password check,
    # which the lockout tests cover.
    client.force_login(User.objects.get(username=username))
    return client


def _report(visits, data, language) -> list[str]:
    problems = []
    for v in visits:
        if v.status != 200:
            problems.append(f"{v.url}: HTTP {v.status}")
            continue
        for p in (page_problems(v.text, language, data) + money_problems(v.text, language)
                  + number_problems(v.text, language, data)):
            problems.append(f"{v.url}: {p}")
    if os.environ.get("CRAWL_REPORT"):
        with open(os.environ["CRAWL_REPORT"], "a") as out:
            out.write("".join(f"{language} {p}\n" for p in problems))
            out.write("".join(f"VISITED {language} {v.url} {v.status}\n{v.text}\n" for v in visits))
    return problems


def _pages_no_link_leads_to() -> list[str]:
    """Pages reached by a redirect after a form, not by a link: the column mapping of an upload."""
    from fideliza.imports.models import ImportRun, ImportStatus

    return [f"/importaciones/{pk}/columnas/" for pk in ImportRun.objects.filter(
        status=ImportStatus.PENDING).exclude(file="").values_list("pk", flat=True)]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["es", "en"])
def test_every_page_of_the_owner_reads_in_one_language(site, language):
    client = _client("duena")
    prefix = "/en" if language == "en" else ""
    starts = [f"{prefix}/"] + [prefix + url for url in _pages_no_link_leads_to()]
    assert len(starts) > 1
    visits = crawl(client, starts, language=language, max_depth=4)
    assert len(visits) > 40, [v.url for v in visits]
    problems = _report(visits, site, language)
    assert problems == [], f"{len(problems)} problems on {len(visits)} pages:\n" + "\n".join(problems)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize("username", [r for r in ROLES if r != "duena"])
def test_every_page_of_each_role_reads_in_one_language(site, username, language):
    start = "/en/" if language == "en" else "/"
    visits = crawl(_client(username), [start], language=language, max_depth=2, per_route=1)
    problems = _report(visits, site, language)
    assert problems == [], f"{len(problems)} problems on {len(visits)} pages:\n" + "\n".join(problems)
