"""The Django admin for staff: every model registered, history read-only, customers audited."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from fideliza.accounts.models import AuditLog
from fideliza.accounts.services import Actor, api_token_create
from fideliza.customers.models import Customer
from fideliza.customers.services import consent_record, customer_create

pytestmark = pytest.mark.django_db

APPS = ["core", "accounts", "customers", "catalog", "sales", "imports"]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(username="admin", password="x", email="a@example.com")


def test_every_model_of_the_domain_apps_is_registered():
    missing = [m.__name__ for label in APPS for m in apps.get_app_config(label).get_models()
               if not admin.site.is_registered(m)]
    assert missing == []


def test_every_changelist_and_add_page_answers(client, superuser):
    c = customer_create(actor=Actor.of(superuser), data={"first_name": "Ana", "phone": "612345678"})
    consent_record(customer=c, channel="email", granted=True, source="form")
    client.force_login(superuser)
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            meta = model._meta
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
            assert client.get(url).status_code == 200, url
    assert client.get(reverse("admin:customers_customer_change", args=[c.pk])).status_code == 200
    assert client.get(reverse("admin:customers_customer_add")).status_code == 200


@pytest.mark.parametrize("model", ["accounts_auditlog", "customers_consentrecord", "core_idempotencyrecord"])
def test_history_tables_are_read_only(client, superuser, model):
    client.force_login(superuser)
    assert client.get(reverse(f"admin:{model}_add")).status_code == 403
    model_admin = admin.site._registry[apps.get_model(*model.split("_", 1))]
    request = type("R", (), {"user": superuser})()
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def customer_post(**values):
    base = {"kind": "person", "gender": "", "preferred_contact_time": "",
            "source_ids-TOTAL_FORMS": "0", "source_ids-INITIAL_FORMS": "0",
            "consents-TOTAL_FORMS": "0", "consents-INITIAL_FORMS": "0"}
    base.update(values)
    return base


def test_admin_edit_goes_through_customer_update_and_is_audited(client, superuser):
    c = customer_create(actor=Actor.of(superuser), data={"first_name": "Ana", "city": "Sevilla"})
    client.force_login(superuser)
    response = client.post(reverse("admin:customers_customer_change", args=[c.pk]),
                           customer_post(first_name="Ana", city="Granada", phone="612 34 56 78",
                                         acquisition_date=c.acquisition_date.isoformat()))
    assert response.status_code == 302, response.context["adminform"].form.errors
    c.refresh_from_db()
    assert c.city == "Granada" and c.phone == "+34612345678"  # normalised by the service
    row = AuditLog.objects.get(entity_id=str(c.pk), action="update")
    assert row.changes == {"city": ["Sevilla", "Granada"], "phone": ["", "+34612345678"]}
    assert row.actor == superuser and row.actor_label == "admin via admin"


def test_admin_add_is_audited(client, superuser):
    client.force_login(superuser)
    response = client.post(reverse("admin:customers_customer_add"),
                           customer_post(first_name="Nuevo", email="NUEVO@example.com"))
    assert response.status_code == 302
    c = Customer.objects.get()
    assert c.email == "nuevo@example.com"
    assert AuditLog.objects.filter(entity_id=str(c.pk), action="create").exists()


def test_admin_invalid_phone_is_a_field_error(client, superuser):
    c = customer_create(actor=Actor.of(superuser), data={"first_name": "Ana"})
    client.force_login(superuser)
    response = client.post(reverse("admin:customers_customer_change", args=[c.pk]),
                           customer_post(first_name="Ana", phone="12"))
    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors
    assert not AuditLog.objects.filter(action="update").exists()


def test_admin_cannot_delete_customers_but_can_deactivate(client, superuser):
    c = customer_create(actor=Actor.of(superuser), data={"first_name": "Ana"})
    client.force_login(superuser)
    assert client.get(reverse("admin:customers_customer_delete", args=[c.pk])).status_code == 403
    changelist = reverse("admin:customers_customer_changelist")
    # First the reason is asked (a card never leaves without one); «otro» needs a text.
    asked = client.post(changelist, {"action": "deactivate", "_selected_action": [c.pk]})
    assert asked.status_code == 200 and "Motivo de la baja" in asked.content.decode()
    refused = client.post(changelist, {"action": "deactivate", "_selected_action": [c.pk], "exit_reason": "other"})
    assert refused.status_code == 200 and "Cuéntenos el motivo en pocas palabras." in refused.content.decode()
    c.refresh_from_db()
    assert c.is_active
    response = client.post(changelist, {"action": "deactivate", "_selected_action": [c.pk],
                                        "exit_reason": "competitor", "exit_text": "Se fue a la tienda nueva"})
    assert response.status_code == 302
    c.refresh_from_db()
    assert not c.is_active
    audit = AuditLog.objects.get(entity_id=str(c.pk), action="delete")
    assert audit.context == {"exit_reason": "competitor", "exit_text": "Se fue a la tienda nueva"}


def test_admin_revokes_api_tokens(client, superuser):
    token, _plain = api_token_create(user=superuser, name="TPV centro", created_by=superuser)
    client.force_login(superuser)
    client.post(reverse("admin:accounts_apitoken_changelist"),
                {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get(reverse("admin:accounts_apitoken_add")).status_code == 403
