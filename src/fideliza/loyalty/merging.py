"""Merging two cards that are both members of one program (customers.merging handler).

The duplicate's ledger entries, point lots, expiry notices, reward redemptions and the
referrals it made move to the survivor's membership, with their original dates, so that
expiry (FIFO lots) and tier qualification (rolling windows) stay exactly right, and the
three ledger invariants (`selectors.ledger_check`) keep holding: the survivor's balance
grows by the duplicate's, the duplicate's membership stays behind with zero points.

An entry whose cause the survivor already has (the welcome bonus both cards earned, a
birthday bonus of the same year) would break the one-entry-per-cause constraint; it moves
with its cause id suffixed by the duplicate membership's id, and undo restores the id. The
rows moved are recorded in the merge, so undo puts every one of them back.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from fideliza.customers.models import Customer

from .models import ExpiryNotice, LedgerEntry, Member, PointLot, Referral, RewardRedemption
from .tiers import tiers_refresh

_MOVED = (("entries", LedgerEntry, "member"), ("lots", PointLot, "member"),
          ("notices", ExpiryNotice, "member"), ("redemptions", RewardRedemption, "member"),
          ("referrals", Referral, "referrer"))


def _suffixed(cause_id: str, member_id: int) -> str:
    suffix = f"~m{member_id}"
    return cause_id[: 64 - len(suffix)] + suffix


@transaction.atomic
def members_merge(survivor: Customer, duplicate: Customer, colliding: list[Any]) -> dict[str, Any]:
    """Fold each of the duplicate's colliding memberships into the survivor's; JSON payload."""
    done = []
    for dup in Member.objects.select_for_update().filter(pk__in=colliding).order_by("pk"):
        keep = Member.objects.select_for_update().get(program_id=dup.program_id, customer=survivor)
        taken = set(LedgerEntry.objects.filter(member=keep).values_list("cause_type", "cause_id", "kind"))
        renamed = {}
        for pk, cause_type, cause_id, kind in LedgerEntry.objects.filter(member=dup).values_list(
                "pk", "cause_type", "cause_id", "kind"):
            if (cause_type, cause_id, kind) in taken:
                renamed[str(pk)] = cause_id
                LedgerEntry.objects.filter(pk=pk).update(cause_id=_suffixed(cause_id, dup.pk))
        record: dict[str, Any] = {
            "duplicate_member": dup.pk, "survivor_member": keep.pk, "renamed": renamed,
            "balances": [keep.points_balance, dup.points_balance],
            "survivor_tier": [keep.tier_id, keep.tier_since.isoformat() if keep.tier_since else None],
        }
        for name, model, field in _MOVED:
            ids = list(model.objects.filter(**{field: dup}).values_list("pk", flat=True))
            model.objects.filter(pk__in=ids).update(**{field: keep})
            record[name] = ids
        Member.objects.filter(pk=keep.pk).update(points_balance=keep.points_balance + dup.points_balance)
        Member.objects.filter(pk=dup.pk).update(points_balance=0)
        # The combined history may qualify for a higher tier at once (upgrades are immediate).
        tiers_refresh(member_ids=[keep.pk])
        done.append(record)
    return {"members": done}


def _undo(payload: dict[str, Any]) -> None:
    from datetime import datetime

    from django.db.models import Sum

    for record in reversed(payload.get("members", [])):
        dup_id, keep_id = record["duplicate_member"], record["survivor_member"]
        list(Member.objects.select_for_update().filter(pk__in=[dup_id, keep_id]))
        for name, model, field in _MOVED:
            model.objects.filter(pk__in=record[name]).update(**{f"{field}_id": dup_id})
        for pk, cause_id in record["renamed"].items():
            LedgerEntry.objects.filter(pk=int(pk)).update(cause_id=cause_id)
        # Each balance is again the sum of its own entries (what the survivor earned or
        # spent after the merge stays with the survivor).
        for member_id in (dup_id, keep_id):
            total = LedgerEntry.objects.filter(member_id=member_id).aggregate(s=Sum("points"))["s"] or 0
            Member.objects.filter(pk=member_id).update(points_balance=total)
        tier_id, since = record["survivor_tier"]
        Member.objects.filter(pk=keep_id).update(
            tier_id=tier_id, tier_since=datetime.fromisoformat(since) if since else None)


members_merge.undo = _undo  # type: ignore[attr-defined]
