import re

import pytest
from django.test import Client
from django.urls import reverse

from fideliza.accounts.services import Actor
from fideliza.customers.models import Customer, CustomerMerge, MatchCandidate
from fideliza.customers.services import customer_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_user(username="sop", password="x", role="support")
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def cards(owner):
    actor = Actor.of(owner)
    sure = [customer_create(actor=actor, data={"first_name": n, "last_name": "Martínez Ruiz",
                                               "phone": "612345678", "email": "jm@gmail.com"})
            for n in ("José", "Jose")]
    grey = [customer_create(actor=actor, data={"first_name": "Pilar", "last_name": ln, "postal_code": "33752",
                                               "address": "Calle Mayor 3", **extra})
            for ln, extra in (("Álvarez Molina", {}), ("Alvarez Molina", {"birth_date": "1971-03-09"}))]
    return sure, grey


def test_search_merge_review_and_undo_in_the_ui(staff, cards, django_capture_on_commit_callbacks):
    _user, client = staff
    sure, grey = cards
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dedup:run"))
    queue = client.get(reverse("dedup:queue"))
    assert queue.status_code == 200 and b"dedup-queue" in queue.content
    assert Customer.objects.get(pk=sure[1].pk).merged_into_id == sure[0].pk
    candidate = MatchCandidate.objects.get()
    pair = client.get(reverse("dedup:pair", args=[candidate.pk]))
    assert "Álvarez Molina".encode() in pair.content and b"Alvarez Molina" in pair.content
    # The name is one row, with what stays either way; every other field has its row.
    rows = {r["label"]: r for r in pair.context["rows"]}
    assert rows["Nombre y apellidos"]["keep_a"] == rows["Nombre y apellidos"]["keep_b"] == "Pilar Álvarez Molina"
    assert {"Dirección", "Código postal"} <= set(rows) and "Nombre" not in rows
    # Dates as the reader writes them, in the cards and in what stays; every row as wide as the head.
    birth = rows["Fecha de nacimiento"]
    assert birth["b"] == birth["keep_a"] == birth["keep_b"] == "09/03/1971" and birth["a"] is None
    html = pair.content.decode()
    assert "1971-03-09" not in html
    table = html[html.index('id="pair-table"'):html.index("</table>")]
    widths = {row.count("<th") + row.count("<td") + sum(int(n) - 1 for n in re.findall(r'colspan="(\d+)"', row))
              for row in re.findall(r"<tr.*?</tr>", table, re.S)}
    assert widths == {5}
    client.post(reverse("dedup:decide", args=[candidate.pk]), {"verdict": "keep_b"})
    assert Customer.objects.get(pk=grey[0].pk).merged_into_id == grey[1].pk
    history = client.get(reverse("dedup:merges"))
    assert history.content.count(b"Deshacer") == 2
    merge = CustomerMerge.objects.get(survivor=grey[1])
    client.post(reverse("dedup:undo", args=[merge.pk]))
    assert Customer.objects.get(pk=grey[0].pk).merged_into_id is None


def test_sales_reps_cannot_merge(django_user_model, cards):
    rep = django_user_model.objects.create_user(username="rep", password="x", role="sales_rep")
    client = Client()
    client.force_login(rep)
    assert client.get(reverse("dedup:queue")).status_code == 403
    assert client.post(reverse("dedup:run")).status_code == 403
