"""One keyset paginator (`core.pagination`) for the web lists and the API, each with the
cursor format it has always emitted, so links and clients holding a cursor keep working."""

from __future__ import annotations

import base64
import re

import pytest
from django.db.models.functions import Lower

from fideliza.core.pagination import (
    InvalidCursor,
    SortKey,
    _encode,
    api_cursor_pattern,
    cursor_page,
    keyset_page,
)
from fideliza.customers.models import Customer
from tests.factories.customers import customer_make

pytestmark = pytest.mark.django_db

NAMES = ["Ana", "beatriz", "Carla", "ana", "Dora", "Elsa", "carla"]


@pytest.fixture
def cards():
    return [customer_make(first_name=n, last_name="Prueba", email=f"{i}@example.com", city=n[:1].upper())
            for i, n in enumerate(NAMES)]


def _walk_api(sort: SortKey, limit: int) -> list[int]:
    seen, cursor = [], None
    while True:
        page = cursor_page(Customer.objects.all(), sort=sort, cursor=cursor, limit=limit)
        seen += [c.pk for c in page["items"]]
        if page["next"] is None:
            return seen
        cursor = page["next"]


@pytest.mark.parametrize("sort", [
    SortKey.on("id", "id"), SortKey.on("-id", "id", descending=True), SortKey.on("city", "city", kind="str"),
    SortKey.on("-city", "city", descending=True, kind="str")])
def test_api_pages_cover_every_row_once_in_order(cards, sort):
    expected = list(Customer.objects.order_by(*(f"-{e}" if sort.descending else e for e in sort.expressions))
                    .values_list("pk", flat=True))
    assert _walk_api(sort, limit=2) == expected


def test_the_api_cursor_is_the_documented_readable_position(cards):
    sort = SortKey.on("city", "city", kind="str")
    page = cursor_page(Customer.objects.all(), sort=sort, cursor=None, limit=2)
    last = page["items"][-1]
    city = base64.urlsafe_b64encode(last.city.encode()).decode().rstrip("=")
    assert page["next"] == f"city.{last.pk}.{city}"
    assert re.fullmatch(api_cursor_pattern(sort), page["next"])
    by_id = cursor_page(Customer.objects.all(), sort=SortKey.on("id", "id"), cursor=None, limit=2)
    assert by_id["next"] == f"id.{by_id['items'][-1].pk}"


def test_a_cursor_continues_the_ordering_it_names(cards):
    by_city = SortKey.on("city", "city", kind="str")
    by_id = SortKey.on("id", "id")
    first = cursor_page(Customer.objects.all(), sort=by_city, cursor=None, limit=2)
    rest = cursor_page(Customer.objects.all(), sort=by_id, cursor=first["next"], limit=100, sorts=(by_city, by_id))
    expected = list(Customer.objects.order_by("city", "id").values_list("pk", flat=True))
    assert [c.pk for c in first["items"] + rest["items"]] == expected


@pytest.mark.parametrize("cursor", ["not a cursor!", "sku.1.QQ", "city.x.QQ", "city.1", "city.1.A", "id.1.2"])
def test_a_foreign_or_broken_api_cursor_is_refused(cards, cursor):
    with pytest.raises(InvalidCursor):
        cursor_page(Customer.objects.all(), sort=SortKey.on("city", "city", kind="str"), cursor=cursor, limit=2)


def test_web_pages_walk_both_ways_and_take_the_signed_cursors_of_before(cards):
    sort = SortKey([Lower("first_name"), "id"])
    expected = [c.pk for c in sorted(cards, key=lambda c: (c.first_name.lower(), c.pk))]
    seen, cursor, pages = [], None, []
    while True:
        page = keyset_page(Customer.objects.all(), sort=sort, cursor=cursor, size=3)
        pages.append(page)
        seen += [c.pk for c in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected
    back = keyset_page(Customer.objects.all(), sort=sort, cursor=pages[-1].prev_cursor, size=3)
    assert [c.pk for c in back.rows] == [c.pk for c in pages[-2].rows]
    # A cursor as the web has always signed it: the sort-key values of the last row shown.
    third = sorted(cards, key=lambda c: (c.first_name.lower(), c.pk))[2]
    after = keyset_page(Customer.objects.all(), sort=sort, cursor=_encode([third.first_name.lower(), third.pk], "next"),
                        size=3)
    assert [c.pk for c in after.rows] == expected[3:6]
    assert keyset_page(Customer.objects.all(), sort=sort, cursor="tampered", size=3).rows == pages[0].rows
