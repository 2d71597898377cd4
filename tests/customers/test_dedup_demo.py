"""The demo business's two overlapping lists (the till's and the web shop's), loaded through
the demo's own import, consolidated by the duplicate search: measured against the demo's
ground truth (`personas_verdad.csv`: who is who across the lists)."""

import datetime as dt
import time

import polars as pl
import pytest

from fideliza.accounts.services import Actor
from fideliza.customers.dedup import duplicates_find, match_candidate_decide, pending_candidates
from fideliza.customers.models import Customer, CustomerMerge, CustomerSourceId
from fideliza.demo.generator import TPV, WEB
from fideliza.demo.services import demo_populate

pytestmark = pytest.mark.django_db


def test_demo_lists_merge_into_one_base(owner, tmp_path):
    summary = demo_populate(customers=300, seed=5, years=2, today=dt.date(2026, 1, 1), out_dir=tmp_path)
    truth = pl.read_csv(tmp_path / "personas_verdad.csv", infer_schema_length=0)
    person_of_source = {}
    for row in truth.iter_rows(named=True):
        for source, column in ((TPV, "tpv_id"), (WEB, "web_id")):
            if row[column]:
                person_of_source[(source, row[column])] = row["person"]
    # Before matching every card is one row of one list: card → person.
    person = {c: person_of_source[(s, e)] for s, e, c in
              CustomerSourceId.objects.values_list("source", "external_id", "customer_id")}
    overlapping = summary.overlapping_people
    assert overlapping > 0 and Customer.objects.count() == len(person) == 300 + overlapping

    actor = Actor.of(owner)
    started = time.perf_counter()
    result = duplicates_find(actor=actor)
    seconds = time.perf_counter() - started
    merges = list(CustomerMerge.objects.values_list("survivor_id", "duplicate_id"))
    assert len(merges) == result.merged > 0
    wrong_merges = [m for m in merges if person[m[0]] != person[m[1]]]
    queued = [(c, person[c.customer_a_id] == person[c.customer_b_id]) for c in pending_candidates()]
    print(f"demo lists: {overlapping} people in both lists; {result.merged} merged automatically "
          f"({len(wrong_merges)} wrong), {len(queued)} queued for review "
          f"({sum(same for _c, same in queued)} true pairs) in {seconds:.1f} s")
    assert wrong_merges == []  # precision of the automatic merges: 1.0 on the demo

    # The reviewer merges the true pairs and rejects the rest.
    for candidate, same in queued:
        match_candidate_decide(actor=actor, candidate=candidate, same=same)
    found = result.merged + sum(same for _c, same in queued)
    recall = found / overlapping
    print(f"recall after review: {found}/{overlapping} = {recall:.2f}")
    assert recall >= 0.9
    assert Customer.objects.filter(merged_into__isnull=True).count() == 300 + overlapping - found
    # One card per person: no surviving card holds two people's rows.
    survivors = {}
    for s, e, c in CustomerSourceId.objects.values_list("source", "external_id", "customer_id"):
        survivors.setdefault(c, set()).add(person_of_source[(s, e)])
    assert all(len(people) == 1 for people in survivors.values())
