"""How many queries one POS order costs, accrual included: pinned, so that a change that adds
a query per order (the till's hot path, issue 14) is a conscious one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def test_queries_of_one_order_with_accrual(api, program, tiers, catalog, customer):
    body = {"source": "tpv", "customer_id": customer.pk, "placed_at": "2025-03-30T11:00:00+02:00",
            "lines": [{"sku": "TAL-1", "quantity": 1}, {"sku": "PIN-1", "quantity": 2}]}
    api.post("/api/v1/orders", {**body, "external_id": "warm-up"}, **{"Idempotency-Key": "w"})  # joins the club
    with CaptureQueriesContext(connection) as queries:
        r = api.post("/api/v1/orders", {**body, "external_id": "T-1"}, **{"Idempotency-Key": "k-1"})
    assert r.status_code == 201, r.content
    listing = "\n".join(q["sql"][:160] for q in queries.captured_queries)
    assert len(queries.captured_queries) == QUERIES[connection.vendor], listing


# Token; idempotency lock and record; customer; products; the (source, id) check; order,
# lines, audit row; analytics marked stale; the loyalty program, rules, tiers and category
# tree (read per order: a per-process cache would save these four); the accrual (member,
# earlier earnings of the order, ledger entry, point lot, balance, tier); referrals; the
# response (order, lines, returns). The backends differ in how bulk inserts with ids get
# them (on SQLite core.bulk reads MAX(id) and the sequence: two queries per insert).
QUERIES = {"sqlite": 38, "postgresql": 35}
