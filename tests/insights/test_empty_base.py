"""A fresh install without the demo: the scheduler's first recompute finishes with an empty
snapshot, and the panel says there is nothing to analyse yet."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from fideliza.customers.models import Customer
from fideliza.insights.models import CustomerMetrics, RunStatus, SnapshotRun
from fideliza.insights.tasks import nightly_recompute

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _language_reset(settings):
    """The English request leaves English active in the thread: put the site's back."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def test_the_first_recompute_on_an_empty_base_finishes_empty(client, owner):
    Customer.objects.create(first_name="Ana")  # a card without sales is still nothing to analyse
    assert nightly_recompute.call() == 0
    run = SnapshotRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.customers == 0 and run.error == ""
    assert not CustomerMetrics.objects.exists()

    client.force_login(owner)
    html = client.get(reverse("insights:dashboard")).content.decode()
    assert 'id="nothing-to-analyse"' in html and "Todavía no hay nada que analizar" in html
    assert "El último cálculo falló" not in html
    owner.language = "en"
    owner.save()
    with translation.override("en"):
        url = reverse("insights:dashboard")
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "There is nothing to analyse yet" in html
