"""Merging two cards that are both members of one program (customers.merging handler), and
undoing it, without rewriting the ledger.

The ledger is append-only, so a merge moves what the duplicate's membership holds by
appending transfers. For each entry whose points or tier qualification the duplicate
still holds, a `move_out` entry on its membership and a `move_in` entry on the
survivor's, both pointing at that entry (`origin`) and dated when it occurred. The
move_in gets a new lot with the points left in the old one and the old lot's dates
(available from, expires at), so points expire when they would have and the tier windows
count each purchase when it happened; the move_out draws the old lot to zero. The three
ledger invariants (`selectors.ledger_check`) hold after every step: the survivor's balance
grows by the duplicate's, the duplicate's membership stays behind with zero points.

Undo appends the reverse transfers, from the survivor back to the duplicate, for what the
survivor still holds of what the merge brought (points spent since stay spent). The
referrals the duplicate made and its expiry notices are plain rows, not the ledger: they
are re-pointed to the survivor's membership and back.

Merges recorded before transfers existed (their payload lists the entries they moved) are
undone the same way: the moved entries, now on the survivor's membership, go back by
transfer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from fideliza.customers.models import Customer

from .models import (
    CauseType,
    EntryKind,
    ExpiryNotice,
    LedgerEntry,
    LotAllocation,
    Member,
    PointLot,
    Referral,
    RewardRedemption,
)
from .services import _chunks
from .tiers import tiers_refresh

TRANSFERS = (EntryKind.MOVE_IN, EntryKind.MOVE_OUT)


@dataclass(frozen=True)
class _Holding:
    """One earlier entry whose points (in `lot`) or tier qualification a membership holds."""

    origin_id: int
    occurred_at: datetime
    qualifying_amount: Decimal
    qualifying_points: int
    lot: PointLot | None

    @property
    def points(self) -> int:
        return self.lot.points_remaining if self.lot is not None else 0


def _holdings(member_id: int, only: Collection[int] | None = None) -> list[_Holding]:
    """What the membership holds, entry by entry (restricted to the origins in `only`).

    An entry written for the member is held by it until a transfer moves it out; a
    transfer in makes its origin held again. Entries that carry nothing (spent bonuses,
    redemptions, expiries) are left out.
    """
    net: dict[int, int] = defaultdict(int)
    for pk, kind, origin in LedgerEntry.objects.filter(member_id=member_id).values_list("pk", "kind", "origin_id"):
        if kind == EntryKind.MOVE_IN:
            net[origin] += 1
        elif kind == EntryKind.MOVE_OUT:
            net[origin] -= 1
        else:
            net[pk] += 1
    held = {origin for origin, n in net.items() if n > 0 and (only is None or origin in only)}
    lots: dict[int, PointLot] = {}
    for lot in PointLot.objects.filter(member_id=member_id, points_remaining__gt=0).select_related("entry"):
        origin = lot.entry.origin_id or lot.entry_id
        if origin in held:
            lots[origin] = lot
    found = []
    for part in _chunks(sorted(held)):
        for pk, occurred, amount, points in LedgerEntry.objects.filter(pk__in=part).values_list(
                "pk", "occurred_at", "qualifying_amount", "qualifying_points"):
            if pk in lots or amount or points:
                found.append(_Holding(pk, occurred, amount, points, lots.get(pk)))
    return sorted(found, key=lambda h: (h.occurred_at, h.origin_id))


def _transfer(source: Member, target: Member, holdings: list[_Holding], *, cause_type: str,
              token: str) -> None:
    """Append a move_out on `source` and a move_in on `target` for each holding.

    Precondition: both membership rows are locked in this transaction and were read under
    the lock. Cause ids are "<token>:<origin entry id>", unique per membership.
    """
    out_note = _("Traspasado a la ficha %(id)s") % {"id": target.customer_id}
    in_note = _("Traspasado de la ficha %(id)s") % {"id": source.customer_id}
    outs, ins = [], []
    out_balance, in_balance = source.points_balance, target.points_balance
    for h in holdings:
        out_balance -= h.points
        in_balance += h.points
        common = {"cause_type": cause_type, "cause_id": f"{token}:{h.origin_id}"[:64], "origin_id": h.origin_id,
                  "occurred_at": h.occurred_at}
        outs.append(LedgerEntry(member=source, kind=EntryKind.MOVE_OUT, points=-h.points, balance_after=out_balance,
                                qualifying_amount=-h.qualifying_amount, qualifying_points=-h.qualifying_points,
                                note=out_note, **common))
        ins.append(LedgerEntry(member=target, kind=EntryKind.MOVE_IN, points=h.points, balance_after=in_balance,
                               qualifying_amount=h.qualifying_amount, qualifying_points=h.qualifying_points,
                               note=in_note, **common))
    LedgerEntry.objects.bulk_create(outs, batch_size=500)
    LedgerEntry.objects.bulk_create(ins, batch_size=500)
    drawn = [(h, out, entry) for h, out, entry in zip(holdings, outs, ins, strict=True) if h.lot is not None]
    LotAllocation.objects.bulk_create([LotAllocation(entry=out, lot=h.lot, points=h.points)
                                       for h, out, _in in drawn], batch_size=500)
    PointLot.objects.bulk_create([PointLot(member=target, entry=entry, points_initial=h.points,
                                           points_remaining=h.points, available_at=h.lot.available_at,
                                           expires_at=h.lot.expires_at)
                                  for h, _out, entry in drawn if h.lot is not None], batch_size=500)
    for h, _out, _in in drawn:
        assert h.lot is not None
        h.lot.points_remaining = 0
    PointLot.objects.bulk_update([h.lot for h, _out, _in in drawn if h.lot is not None], ["points_remaining"],
                                 batch_size=500)
    Member.objects.filter(pk=source.pk).update(points_balance=out_balance)
    Member.objects.filter(pk=target.pk).update(points_balance=in_balance)
    source.points_balance, target.points_balance = out_balance, in_balance


def _locked(*member_ids: int) -> dict[int, Member]:
    return {m.pk: m for m in Member.objects.select_for_update().filter(pk__in=member_ids).order_by("pk")}


def _merge_token(duplicate: Member, survivor: Member) -> str:
    """"<duplicate card>><survivor card>#<n>": the n-th merge of these two memberships."""
    base = f"{duplicate.customer_id}>{survivor.customer_id}#"
    earlier = {cause.split(":", 1)[0] for cause in LedgerEntry.objects.filter(
        member=duplicate, cause_type=CauseType.MERGE, kind=EntryKind.MOVE_OUT,
        cause_id__startswith=base).values_list("cause_id", flat=True)}
    return f"{base}{len(earlier) + 1}"


@transaction.atomic
def members_merge(survivor: Customer, duplicate: Customer, colliding: list[Any]) -> dict[str, Any]:
    """Fold each of the duplicate's colliding memberships into the survivor's; JSON payload."""
    done = []
    for dup_id, program_id in (Member.objects.filter(pk__in=colliding).order_by("pk")
                               .values_list("pk", "program_id")):
        keep_id = Member.objects.get(program_id=program_id, customer=survivor).pk
        members = _locked(dup_id, keep_id)
        dup, keep = members[dup_id], members[keep_id]
        token = _merge_token(dup, keep)
        holdings = _holdings(dup.pk)
        record: dict[str, Any] = {
            "duplicate_member": dup.pk, "survivor_member": keep.pk, "token": token,
            "origins": [h.origin_id for h in holdings],
            "balances": [keep.points_balance, dup.points_balance],
            "survivor_tier": [keep.tier_id, keep.tier_since.isoformat() if keep.tier_since else None],
        }
        _transfer(dup, keep, holdings, cause_type=CauseType.MERGE, token=token)
        # One notice per membership and day: the survivor's own stands.
        days = set(ExpiryNotice.objects.filter(member=keep).values_list("expires_on", flat=True))
        notices = list(ExpiryNotice.objects.filter(member=dup).exclude(expires_on__in=days)
                       .values_list("pk", flat=True))
        ExpiryNotice.objects.filter(pk__in=notices).update(member=keep)
        referrals = list(Referral.objects.filter(referrer=dup).values_list("pk", flat=True))
        Referral.objects.filter(pk__in=referrals).update(referrer=keep)
        record |= {"notices": notices, "referrals": referrals}
        # The combined history may qualify for a higher tier at once (upgrades are immediate).
        tiers_refresh(member_ids=[keep.pk])
        done.append(record)
    return {"members": done}


def _undo(payload: dict[str, Any]) -> None:
    for record in reversed(payload.get("members", [])):
        dup_id, keep_id = record["duplicate_member"], record["survivor_member"]
        members = _locked(dup_id, keep_id)
        dup, keep = members[dup_id], members[keep_id]
        if "entries" in record:
            # Recorded before transfers: the entries themselves were re-pointed to the
            # survivor's membership (and the reward redemptions with them).
            origins = record["entries"]
            token = f"{dup.customer_id}>{keep.customer_id}#0"
            RewardRedemption.objects.filter(pk__in=record["redemptions"]).update(member=dup)
        else:
            origins, token = record["origins"], record["token"]
        _transfer(keep, dup, _holdings(keep.pk, only=set(origins)), cause_type=CauseType.UNMERGE, token=token)
        ExpiryNotice.objects.filter(pk__in=record["notices"]).update(member=dup)
        Referral.objects.filter(pk__in=record["referrals"]).update(referrer=dup)
        tier_id, since = record["survivor_tier"]
        Member.objects.filter(pk=keep_id).update(
            tier_id=tier_id, tier_since=datetime.fromisoformat(since) if since else None)


members_merge.undo = _undo  # type: ignore[attr-defined]  # a function attribute (customers.merging.MergeHandler)
