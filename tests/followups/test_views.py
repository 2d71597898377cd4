"""«Mi día», the home's «Hoy» block and the follow-up actions, as the owner and as a sales
representative (who never sees another representative's customers)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.test import Client

from fideliza.accounts.services import Actor
from fideliza.followups.models import FollowUp, FollowUpStatus
from fideliza.followups.services import followup_create, local_moment

from .conftest import NOW

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def work(people, owner):
    """A follow-up due today on each customer, and an overdue one on the representative's."""
    actor = Actor.of(owner)
    due = local_moment(NOW.date(), time(17))
    return {
        "mine": followup_create(actor=actor, customer=people["mine"], title="Llamar a Lucía", due_at=due),
        "theirs": followup_create(actor=actor, customer=people["theirs"], title="Llamar a Tomás", due_at=due),
        "nobody": followup_create(actor=actor, customer=people["nobody"], title="Llamar a Elena", due_at=due),
        "overdue": followup_create(actor=actor, customer=people["mine"], title="Devolver la llamada",
                                   due_at=due - timedelta(days=2)),
    }


def test_my_day_shows_the_representatives_own_follow_ups_only(work, rep):
    page = _client(rep).get("/mi-dia/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Llamar a Lucía" in text and "Devolver la llamada" in text
    assert "Llamar a Tomás" not in text and "Llamar a Elena" not in text and "Tomás" not in text
    assert "Orden: primero la prioridad" in text


def test_my_day_of_the_owner_has_her_own_and_reads_in_english(work, owner):
    text = _client(owner).get("/en/mi-dia/").content.decode()
    assert "Llamar a Elena" in text and "Llamar a Lucía" not in text
    assert "My day" in text and "For today" in text and "Value at risk" in text


def test_the_home_page_shows_todays_block(work, owner, rep):
    rep_home = _client(rep).get("/").content.decode()
    assert 'id="hoy"' in rep_home and "Llamar a Lucía" in rep_home and "Tomás" not in rep_home
    owner_home = _client(owner).get("/").content.decode()
    # The owner's team: the representative's overdue follow-up, counted under his name.
    assert "Javier: <strong>1</strong>" in owner_home


def test_complete_snooze_and_cancel_from_my_day(work, rep):
    client = _client(rep)
    response = client.post(f"/mi-dia/{work['mine'].pk}/hecho/", {"outcome": "Pasa el jueves", "next": "/mi-dia/"})
    assert response.status_code == 302 and response["Location"] == "/mi-dia/"
    work["mine"].refresh_from_db()
    assert (work["mine"].status, work["mine"].outcome, work["mine"].closed_by) == ("done", "Pasa el jueves", rep)
    client.post(f"/mi-dia/{work['overdue'].pk}/aplazar/", {"days": "3", "note": "De vacaciones"})
    work["overdue"].refresh_from_db()
    assert (work["overdue"].status, work["overdue"].status_reason) == (FollowUpStatus.SNOOZED, "De vacaciones")
    assert work["overdue"].snoozed_until == local_moment(NOW.date() + timedelta(days=3), NOW.time())
    # The page's one form sends its text as "note", whichever button is pressed.
    response = client.post(f"/mi-dia/{work['overdue'].pk}/cancelar/", {"note": "", "days": "1"}, follow=True)
    assert "escriba el motivo" in response.content.decode()
    assert FollowUp.objects.get(pk=work["overdue"].pk).status == FollowUpStatus.SNOOZED


def test_a_representative_cannot_touch_another_representatives_follow_up(work, rep):
    client = _client(rep)
    for action in ("hecho", "aplazar", "cancelar"):
        assert client.post(f"/mi-dia/{work['theirs'].pk}/{action}/", {"reason": "x", "days": "1"}).status_code == 404
    assert FollowUp.objects.get(pk=work["theirs"].pk).status == FollowUpStatus.OPEN


def test_next_must_stay_on_this_site(work, rep):
    response = _client(rep).post(f"/mi-dia/{work['mine'].pk}/hecho/", {"next": "https://evil.example/"})
    assert response["Location"] == "/mi-dia/"


def test_the_owner_may_open_a_representatives_day_and_a_representative_only_his_own(work, owner, rep, rep2):
    text = _client(owner).get(f"/mi-dia/?de={rep.pk}").content.decode()
    assert "El día de Javier" in text and "Llamar a Lucía" in text and "Llamar a Elena" not in text
    # A representative asking for another one's day gets his own.
    text = _client(rep).get(f"/mi-dia/?de={rep2.pk}").content.decode()
    assert "Llamar a Lucía" in text and "Llamar a Tomás" not in text and 'id="day-of"' not in text
