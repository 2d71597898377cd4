import io
import json

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from fideliza.accounts.models import AuditLog
from fideliza.customers.models import Customer
from fideliza.segments.models import Segment, SegmentMember

pytestmark = pytest.mark.django_db
RULES = {"op": "and", "rules": [{"field": "city", "cmp": "eq", "value": "Córdoba"},
                                {"field": "orders_count", "cmp": "gte", "value": 1}]}


def _login(django_user_model, username, role):
    user = django_user_model.objects.create_user(username=username, password="clave-segura-1", role=role)
    client = Client()
    client.force_login(user)
    return user, client


def test_build_preview_save_and_open(shop, django_user_model):
    _user, client = _login(django_user_model, "mk", "marketing")
    page = client.get(reverse("segments:create"))
    assert page.status_code == 200 and b"segment-fields" in page.content
    expected = Customer.objects.filter(city="Córdoba", orders__isnull=False).distinct().count()
    preview = client.post(reverse("segments:preview"), {"rules": json.dumps(RULES)})
    assert f'data-count="{expected}"'.encode() in preview.content
    bad = client.post(reverse("segments:preview"), {"rules": json.dumps(
        {"op": "and", "rules": [{"field": "orders_count", "cmp": "gte", "value": "x"}]})})
    assert b"field-error" in bad.content
    saved = client.post(reverse("segments:create"), {"name": "Cordobeses", "kind": "dynamic",
                                                     "rules": json.dumps(RULES)})
    segment = Segment.objects.get(name="Cordobeses")
    assert saved.status_code == 302 and saved["Location"] == reverse("segments:detail", args=[segment.pk])
    assert segment.member_count == expected
    detail = client.get(reverse("segments:detail", args=[segment.pk]))
    assert detail.status_code == 200 and b"Cordobeses" in detail.content


def test_duplicate_name_and_empty_rules_show_errors(shop, django_user_model):
    _user, client = _login(django_user_model, "mk", "marketing")
    client.post(reverse("segments:create"), {"name": "A", "kind": "dynamic", "rules": json.dumps(RULES)})
    again = client.post(reverse("segments:create"), {"name": "a", "kind": "dynamic", "rules": json.dumps(RULES)})
    assert again.status_code == 200 and b"Ya existe" in again.content
    empty = client.post(reverse("segments:create"), {"name": "B", "kind": "dynamic",
                                                     "rules": json.dumps({"op": "and", "rules": []})})
    assert b"al menos una regla" in empty.content
    assert Segment.objects.count() == 1


def test_export_respects_roles_and_is_audited(shop, django_user_model):
    _owner, client = _login(django_user_model, "jefa", "owner")
    client.post(reverse("segments:create"), {"name": "Todos", "kind": "dynamic", "rules": json.dumps(
        {"op": "and", "rules": [{"field": "orders_count", "cmp": "gte", "value": 0}]})})
    segment = Segment.objects.get()
    rep, rep_client = _login(django_user_model, "rep", "sales_rep")
    mine = [c.pk for c in shop["customers"][:3]]
    Customer.objects.filter(pk__in=mine).update(account_executive=rep)
    streamed = rep_client.get(reverse("segments:export", args=[segment.pk, "csv"])).streaming_content
    lines = b"".join(streamed).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + 3 and lines[0].startswith("Nº de cliente;")
    xlsx = client.get(reverse("segments:export", args=[segment.pk, "xlsx"]))
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 1 + len(shop["customers"])
    assert AuditLog.objects.filter(action="export", entity="segments.segment").count() == 2


def test_support_cannot_build_segments(shop, django_user_model):
    _user, client = _login(django_user_model, "sop", "support")
    assert client.get(reverse("segments:create")).status_code == 403
    assert client.get(reverse("segments:list")).status_code == 200


def test_static_list_from_csv_reports_unknown_rows(shop, django_user_model):
    _user, client = _login(django_user_model, "mk", "marketing")
    segment = Segment.objects.create(name="Feria", kind="static")
    first, second = shop["customers"][:2]
    Customer.objects.filter(pk=first.pk).update(email="feria@ejemplo.es")
    data = f"email;id\nFERIA@ejemplo.es;\n;{second.pk}\nnadie@ejemplo.es;\n".encode()
    upload = io.BytesIO(data)
    upload.name = "feria.csv"
    response = client.post(reverse("segments:static_upload", args=[segment.pk]), {"file": upload}, follow=True)
    assert set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True)) == {
        first.pk, second.pk}
    assert b"Fila 4" in response.content


def test_compare_page(shop, django_user_model):
    _user, client = _login(django_user_model, "mk", "marketing")
    client.post(reverse("segments:create"), {"name": "Cordobeses", "kind": "dynamic", "rules": json.dumps(RULES)})
    seg = Segment.objects.get()
    page = client.get(reverse("segments:compare"), {"ids": [seg.pk]})
    assert page.status_code == 200 and b"segment-comparison" in page.content
