"""Finding and resolving duplicate cards in the database (uses `customers.matching`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import polars as pl
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.services import Actor

from .matching import FIELDS, MatchConfig, match
from .merging import customer_merge
from .models import Customer, MatchCandidate, MatchStatus
from .names import LazyNameCounts, NameCounts

Progress = Callable[[int, int], None]


@dataclass
class DedupResult:
    cards: int = 0
    candidate_pairs: int = 0
    merged: int = 0
    queued: int = 0
    skipped: int = 0
    merge_ids: list[int] = field(default_factory=list)


def match_config() -> MatchConfig:
    overrides = getattr(settings, "FIDELIZA_MATCHING", {})
    return MatchConfig(phone_region=settings.FIDELIZA_PHONE_REGION, **overrides)


def cards_frame(ids: Iterable[int] | None = None) -> pl.DataFrame:
    """Active, unmerged cards as a Polars frame with the matching fields."""
    qs = Customer.objects.filter(merged_into__isnull=True, is_active=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    columns = ("id", *FIELDS, "acquisition_date")
    rows = list(qs.values_list(*columns))
    frame = pl.DataFrame(rows, schema=list(columns), orient="row", infer_schema_length=None)
    return frame.with_columns(pl.col("birth_date").cast(pl.String),
                              pl.col("acquisition_date").cast(pl.String))


def _survivor_first(a: Customer, b: Customer) -> tuple[Customer, Customer]:
    """The older card survives (first acquired, then lowest id): its history is longer."""
    key = lambda c: (c.acquisition_date or timezone.localdate(), c.pk)  # noqa: E731
    return (a, b) if key(a) <= key(b) else (b, a)


def duplicates_find(
    *,
    actor: Actor,
    new_ids: Iterable[int] | None = None,
    auto_merge: bool = True,
    config: MatchConfig | None = None,
    progress: Progress | None = None,
) -> DedupResult:
    """Match cards; merge the sure pairs and queue the grey zone for review.

    With `new_ids`, only pairs involving those cards are acted on (matching on import).
    Pairs already judged "not the same person" are never queued again. Each merge is its
    own transaction, so a failure on one pair does not undo the others.
    """
    config = config or match_config()
    frame = cards_frame()
    result = DedupResult(cards=len(frame))
    pairs = match(frame.drop("acquisition_date"), config).filter(pl.col("decision") != "no")
    if new_ids is not None:
        ids = list(new_ids)
        pairs = pairs.filter(pl.col("id_a").is_in(ids) | pl.col("id_b").is_in(ids))
    result.candidate_pairs = len(pairs)
    # How the base writes names (for the merged name), read from this frame if a merge needs it.
    names = LazyNameCounts(lambda: NameCounts.from_names(
        zip(frame["first_name"].to_list(), frame["last_name"].to_list(), strict=True)))
    distinct = set(MatchCandidate.objects.filter(status=MatchStatus.DISTINCT)
                   .values_list("customer_a_id", "customer_b_id"))
    total = len(pairs)
    for n, row in enumerate(pairs.iter_rows(named=True), start=1):
        a_id, b_id = sorted((row["id_a"], row["id_b"]))
        if (a_id, b_id) in distinct:
            result.skipped += 1
        elif auto_merge and row["decision"] == "auto":
            result.merged += _merge_pair(actor, a_id, b_id, row, result, names)
        else:
            _, created = MatchCandidate.objects.get_or_create(
                customer_a_id=a_id, customer_b_id=b_id,
                defaults={"score": row["score"], "reasons": row["reasons"][:500]},
            )
            result.queued += int(created)
        if progress and (n % 200 == 0 or n == total):
            progress(n, total)
    return result


def _merge_pair(actor: Actor, a_id: int, b_id: int, row: dict, result: DedupResult,
                names: LazyNameCounts | None = None) -> int:
    cards = {c.pk: c for c in Customer.objects.filter(pk__in=[a_id, b_id])}
    if len(cards) < 2:
        return 0
    # A card already merged in this run: follow it to its survivor.
    a, b = (_final(cards[a_id]), _final(cards[b_id]))
    if a.pk == b.pk:
        return 0
    survivor, duplicate = _survivor_first(a, b)
    try:
        with transaction.atomic():
            merge = customer_merge(actor=actor, survivor=survivor, duplicate=duplicate,
                                   automatic=True, score=row["score"], reasons=row["reasons"], names=names)
    except ValidationError:
        MatchCandidate.objects.get_or_create(
            customer_a_id=a_id, customer_b_id=b_id,
            defaults={"score": row["score"], "reasons": row["reasons"][:500]},
        )
        result.queued += 1
        return 0
    result.merge_ids.append(merge.pk)
    return 1


def _final(customer: Customer) -> Customer:
    seen = set()
    while customer.merged_into_id and customer.pk not in seen:
        seen.add(customer.pk)
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


@transaction.atomic
def match_candidate_decide(*, actor: Actor, candidate: MatchCandidate, same: bool,
                           survivor: Customer | None = None) -> MatchCandidate:
    """A person's verdict on a queued pair: merge them, or remember they are different."""
    candidate = MatchCandidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.status != MatchStatus.PENDING:
        raise ValidationError(_("Este par ya se revisó."))
    if same:
        a, b = candidate.customer_a, candidate.customer_b
        if survivor is not None and survivor.pk not in (a.pk, b.pk):
            raise ValidationError(_("La ficha que permanece debe ser una de las dos."))
        keep, drop = (survivor, b if survivor.pk == a.pk else a) if survivor else _survivor_first(a, b)
        merge = customer_merge(actor=actor, survivor=keep, duplicate=drop,
                               score=candidate.score, reasons=candidate.reasons)
        candidate.refresh_from_db()
        candidate.merge = merge
        candidate.status = MatchStatus.MERGED
    else:
        candidate.status = MatchStatus.DISTINCT
    candidate.decided_at = timezone.now()
    candidate.decided_by = actor.user
    candidate.save()
    return candidate


def pending_candidates():
    """Review queue, best first; pairs whose cards were merged since are left out."""
    return (MatchCandidate.objects.filter(status=MatchStatus.PENDING)
            .filter(Q(customer_a__merged_into__isnull=True) & Q(customer_b__merged_into__isnull=True))
            .select_related("customer_a", "customer_b"))
