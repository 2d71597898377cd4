"""The loyalty rows of a customer's export read for what they hold, for tests that compare
a card before a merge and after its undo.

The ledger is append-only: a merge and its undo add transfers (`move_in`/`move_out`) and
a new lot for the points each transfer carries, and leave every earlier entry as it was.
So after an undo the entries are the entries before plus transfers that cancel out per
membership, and the points are held by new lots with the old lots' dates. This view keeps
every other row as it is, the entries that are not transfers row by row, the points held
per (membership, available from, expires at), and what the transfers add up to per
membership when that is not zero.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

TRANSFER_KINDS = ("move_in", "move_out")


def export_held(export: dict[str, Any]) -> dict[str, Any]:
    out = dict(export)
    entries = export.get("loyalty.LedgerEntry", [])
    transfers = {e["id"] for e in entries if e["kind"] in TRANSFER_KINDS}
    if entries:
        out["loyalty.LedgerEntry"] = [e for e in entries if e["id"] not in transfers]
    if "loyalty.LotAllocation" in export:
        kept = [a for a in export["loyalty.LotAllocation"] if a["entry_id"] not in transfers]
        if kept:
            out["loyalty.LotAllocation"] = kept
        else:  # an export leaves out tables without rows
            del out["loyalty.LotAllocation"]
    if "loyalty.PointLot" in export:
        held: dict[tuple, int] = defaultdict(int)
        for lot in export["loyalty.PointLot"]:
            if lot["points_remaining"]:
                held[(lot["member_id"], lot["available_at"], lot["expires_at"])] += lot["points_remaining"]
        out["loyalty.PointLot"] = sorted(held.items())
    net: dict[int, list] = defaultdict(lambda: [0, Decimal(0), 0])
    for e in entries:
        if e["id"] in transfers:
            total = net[e["member_id"]]
            total[0] += e["points"]
            total[1] += Decimal(e["qualifying_amount"])
            total[2] += e["qualifying_points"]
    moved = {mid: tuple(t) for mid, t in net.items() if any(t)}
    if moved:
        out["loyalty transfers (net)"] = moved
    return out
