"""Issue 4's "the demo business's two overlapping lists merge into one base in the UI": load the
demo (the till's and the web shop's customer lists, through the demo's own import), run the
duplicate search from the page, see the automatic merges, merge a pair from the review queue
side by side, reject another, see the customer count drop, and undo the merge from the
history."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from fideliza.customers.models import Customer, CustomerMerge, MatchCandidate
from fideliza.demo.services import DEMO_PASSWORD, demo_populate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db, tmp_path):
    summary = demo_populate(customers=300, seed=5, years=2, today=dt.date(2026, 1, 1), out_dir=tmp_path / "demo")
    # Besides the demo's own grey-zone pairs, one more that matching surely sends to review
    # (same phone, one-letter typo in the surname, other e-mail), so the test does not hang
    # on how many grey pairs the demo's seed happens to leave.
    Customer.objects.create(first_name="Ramón", last_name="Ibarra", phone="+34600123456",
                            email="ramon.ibarra@example.com", city="Jaén")
    Customer.objects.create(first_name="Ramon", last_name="Ibarre", phone="+34600123456",
                            email="ribarra@example.net")
    return summary


def _customer_count(page) -> int:
    page.goto("/clientes/")
    text = page.locator("#result-count").inner_text()
    return int(re.sub(r"\D", "", text))


def test_two_demo_lists_merge_into_one_base(page, log_in, demo):
    cards = 300 + demo.overlapping_people + 2  # one card per row of each list, and the extra pair
    assert demo.overlapping_people > 0
    log_in("duena", DEMO_PASSWORD)
    assert _customer_count(page) == cards

    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Duplicados").click()
    expect(page.get_by_role("heading", name="Posibles duplicados", level=1)).to_be_visible()
    expect(page.get_by_text("No hay pares pendientes de revisar.")).to_be_visible()

    # The search runs as a background job (at once in the tests) and reports its result.
    # In the tests the job runs inside the request (ImmediateBackend): up to ~50 merges, each
    # its own transaction, can outlast the default timeout on a busy machine.
    page.get_by_role("button", name="Buscar duplicados ahora").click(timeout=120_000)
    status = page.locator("#dedup-job")
    expect(status).to_contain_text(f"{cards} fichas revisadas")
    merged = CustomerMerge.objects.filter(automatic=True).count()
    assert merged > 0
    expect(status).to_contain_text(f"{merged} fusiones automáticas")
    expect(page.locator("#merged-count")).to_have_text(str(merged))
    queue = page.locator("#dedup-queue tbody tr")
    pending = queue.count()
    assert pending >= 2  # the extra pair and the demo's own grey-zone pairs
    expect(page.locator("#pending-count")).to_have_text(str(pending))
    after_auto = cards - merged
    assert _customer_count(page) == after_auto

    # Review the first pair: both cards side by side, then merge keeping A.
    page.goto("/duplicados/")
    id_a, id_b = _pair_ids(page)
    name_a, name_b = (Customer.objects.get(pk=pk).display_name for pk in (id_a, id_b))
    queue.first.get_by_role("link", name="Revisar").click()
    expect(page.get_by_role("heading", name="¿Son la misma persona?")).to_be_visible()
    table = page.locator("#pair-table")
    expect(table.get_by_role("columnheader", name=re.compile("Ficha A"))).to_contain_text(name_a)
    expect(table.get_by_role("columnheader", name=re.compile("Ficha B"))).to_contain_text(name_b)
    page.get_by_role("button", name="Fusionar y conservar A").click()
    expect(page.get_by_text(f"Fichas fusionadas en «{name_a}».")).to_be_visible()
    expect(page.locator("#pending-count")).to_have_text(str(pending - 1))
    expect(page.locator("#merged-count")).to_have_text(str(merged + 1))
    assert _customer_count(page) == after_auto - 1

    # The next pair is judged "not the same person": it leaves the queue, nothing merges.
    page.goto("/duplicados/")
    queue.first.get_by_role("link", name="Revisar").click()
    page.get_by_role("button", name="No son la misma persona").click()
    expect(page.get_by_text("Anotado: no son la misma persona.")).to_be_visible()
    expect(page.locator("#pending-count")).to_have_text(str(pending - 2))
    assert _customer_count(page) == after_auto - 1

    # Undo the manual merge from the history: the two cards are back.
    page.goto("/duplicados/")
    page.get_by_role("link", name="Historial de fusiones").click()
    history = page.locator("#merge-history tbody tr")
    expect(history).to_have_count(merged + 1)
    manual = history.filter(has_not_text="automática")
    expect(manual).to_have_count(1)
    manual.get_by_role("button", name="Deshacer").click()
    expect(page.get_by_text("Fusión deshecha")).to_be_visible()
    expect(page.locator("#merge-history tbody tr").filter(has_text="deshecha")).to_have_count(1)
    assert _customer_count(page) == after_auto


def _pair_ids(page) -> tuple[int, int]:
    """The card ids of the first queued pair (from its review link)."""
    href = page.locator("#dedup-queue tbody tr").first.get_by_role("link", name="Revisar").get_attribute("href")
    candidate = MatchCandidate.objects.get(pk=int(re.search(r"/par/(\d+)/", href).group(1)))
    return candidate.customer_a_id, candidate.customer_b_id
