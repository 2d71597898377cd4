"""Triggers: set-based queries answering "who enters this automation now, and for which
occurrence?".

Each trigger returns `Hit`s (customer id, trigger key, context). The key names the
occurrence ("birthday:2026", "order:123"), so evaluating a trigger every 15 minutes over
a look-back window enrols each occurrence once (the enrolment is unique per key); the
look-back only bounds how far back a newly activated automation reaches. Reads only: the
one write (remembering tiers, see `tier_seen_update`) is the runner's.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.customers.selectors import customers_reachable
from fideliza.insights.selectors import customers_in_activity_states, customers_overdue
from fideliza.loyalty.selectors import (
    expiry_notices_recent,
    members_current_rank,
    members_tier_changed,
    points_in_notice_period,
    referrals_recently_qualified,
)
from fideliza.sales.selectors import customers_first_ordering, customers_latest_order

from .models import Automation, TierSeen, TriggerKind

ACTIVITY_STATES = ("at_risk", "dormant", "lost")  # fideliza.analytics.activity.STATES minus "active"


@dataclass(frozen=True)
class Hit:
    customer_id: int
    trigger_key: str
    context: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Param:
    kind: type
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    many: bool = False  # a list of choices


PARAMS: dict[str, dict[str, Param]] = {
    TriggerKind.WELCOME: {"lookback_days": Param(int, 2, 1, 60)},
    TriggerKind.POST_PURCHASE: {"days_after": Param(int, 7, 0, 365), "lookback_days": Param(int, 2, 1, 60),
                                "min_total": Param(Decimal, Decimal(0), 0, None)},
    TriggerKind.BIRTHDAY: {},
    TriggerKind.INACTIVITY: {"factor": Param(float, 1.0, 0.5, 20)},
    TriggerKind.WINBACK: {"states": Param(str, ["dormant"], choices=ACTIVITY_STATES, many=True)},
    TriggerKind.POINTS_EXPIRING: {"min_points": Param(int, 1, 1, None), "lookback_days": Param(int, 2, 1, 60)},
    TriggerKind.TIER_CHANGE: {"direction": Param(str, "up", choices=("up", "down", "any")),
                              "lookback_days": Param(int, 2, 1, 60)},
    TriggerKind.REFERRAL_THANKS: {"lookback_days": Param(int, 7, 1, 60)},
}


def trigger_params_clean(kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The params of `kind` with defaults filled in, in JSON-friendly types; raises a
    ValidationError on `trigger_params` for unknown names or values out of range."""
    if kind not in PARAMS:
        raise ValidationError({"trigger_kind": _("Disparador desconocido.")})
    spec = PARAMS[kind]
    params = params or {}
    if not isinstance(params, dict):
        raise ValidationError({"trigger_params": _("Los parámetros deben ser un objeto JSON.")})
    errors = []
    unknown = sorted(set(params) - set(spec))
    if unknown:
        errors.append(_("Parámetros desconocidos para este disparador: %(names)s.") % {"names": ", ".join(unknown)})
    clean: dict[str, Any] = {}
    for name, p in spec.items():
        raw = params.get(name, p.default)
        try:
            if p.many:
                values = [str(v) for v in (raw if isinstance(raw, list) else [raw])]
                if not values or any(v not in (p.choices or ()) for v in values):
                    raise ValueError
                clean[name] = values
                continue
            if p.kind is str:
                value = str(raw)
                if p.choices and value not in p.choices:
                    raise ValueError
                clean[name] = value
                continue
            if isinstance(raw, bool):
                raise ValueError
            number = p.kind(str(raw)) if p.kind is Decimal else p.kind(raw)
            if p.kind is int and number != float(raw):
                raise ValueError
            if (p.minimum is not None and number < p.minimum) or (p.maximum is not None and number > p.maximum):
                raise ValueError
            clean[name] = str(number) if p.kind is Decimal else number
        except (TypeError, ValueError, InvalidOperation):
            allowed = (", ".join(p.choices) if p.choices
                       else f"{p.minimum if p.minimum is not None else '…'} – {p.maximum if p.maximum is not None else '…'}")
            errors.append(_("«%(name)s» no es válido (admitido: %(allowed)s).") % {"name": name, "allowed": allowed})
    if errors:
        raise ValidationError({"trigger_params": errors})
    return clean


def _params(automation: Automation) -> dict[str, Any]:
    return trigger_params_clean(automation.trigger_kind, automation.trigger_params)


def _customers() -> Any:
    """Cards that may enter an automation: active and not merged into another card."""
    return customers_reachable()


# --- purchases ---------------------------------------------------------------------------

def welcome_hits(automation: Automation, now: datetime) -> list[Hit]:
    """Customers whose FIRST order falls in the look-back window."""
    since = now - timedelta(days=_params(automation)["lookback_days"])
    return [Hit(cid, "first_purchase", {"order_id": order})
            for cid, order in customers_first_ordering(since=since, until=now, customers=_customers())]


def post_purchase_hits(automation: Automation, now: datetime) -> list[Hit]:
    """The latest order of each customer placed `days_after` days ago (within the look-back)."""
    p = _params(automation)
    end = now - timedelta(days=p["days_after"])
    rows = customers_latest_order(since=end - timedelta(days=p["lookback_days"]), until=end,
                                  min_total=Decimal(p["min_total"]), customers=_customers())
    return [Hit(cid, f"order:{order}", {"order_id": order}) for cid, order in rows]


# --- birthdays ---------------------------------------------------------------------------

def _zone(name: str, fallback: ZoneInfo) -> ZoneInfo:
    if not name:
        return fallback
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def birthday_matches(birth: date, local_day: date) -> bool:
    """Whether `local_day` is the birthday of someone born on `birth` (29 February is
    celebrated on 28 February in non-leap years)."""
    if (birth.month, birth.day) == (local_day.month, local_day.day):
        return True
    return (birth.month, birth.day) == (2, 29) and (local_day.month, local_day.day) == (2, 28) \
        and not calendar.isleap(local_day.year)


def birthday_hits(automation: Automation, now: datetime) -> list[Hit]:
    """Customers whose birthday is today IN THEIR OWN time zone.

    At one instant the local dates on Earth span at most three calendar days (UTC-12 to
    UTC+14), so one query fetches the candidates born on any of them and each candidate's
    local date is then checked in Python. Comparing against the server's or UTC's date is
    what sends greetings a day early or late (mautic#9040). The key is the local year, so
    the greeting goes once a year however many runs see the day.
    """
    utc = now.astimezone(ZoneInfo("UTC"))
    days = {(utc + timedelta(hours=h)).date() for h in range(-12, 15)}
    conditions = Q()
    for d in days:
        conditions |= Q(birth_date__month=d.month, birth_date__day=d.day)
        if (d.month, d.day) == (2, 28) and not calendar.isleap(d.year):
            conditions |= Q(birth_date__month=2, birth_date__day=29)
    business = ZoneInfo(settings.TIME_ZONE)
    hits = []
    for cid, birth, tz in _customers().filter(conditions).values_list("pk", "birth_date", "timezone"):
        local_day = now.astimezone(_zone(tz, business)).date()
        if birthday_matches(birth, local_day):
            hits.append(Hit(cid, f"birthday:{local_day.year}", {"local_date": local_day.isoformat()}))
    return hits


# --- activity (from the analytics snapshot) ----------------------------------------------

def inactivity_hits(automation: Automation, now: datetime) -> list[Hit]:
    """Customers whose days without buying exceed `factor` × THEIR OWN usual interval.

    Both come from the snapshot (`days_since_last`, `usual_interval_days`, the latter only
    for customers with an interval of their own); days since the snapshot's date are added
    so a snapshot from last night still counts today. One-time buyers have no interval of
    their own and never fire here (the win-back trigger covers them through their state).
    """
    rows = customers_overdue(customers=_customers(), now=now, factor=_params(automation)["factor"])
    return [Hit(cid, f"inactive:{last.isoformat()}", {"days_since_last": days, "usual_interval_days": round(gap, 1)})
            for cid, last, days, gap in rows]


def winback_hits(automation: Automation, now: datetime) -> list[Hit]:
    """Customers in one of the chosen activity states (default: dormant), once per lapse."""
    rows = customers_in_activity_states(customers=_customers(), now=now, states=_params(automation)["states"])
    return [Hit(cid, f"lapsed:{last.isoformat()}", {"activity_state": state, "days_since_last": days})
            for cid, last, state, days in rows]


# --- loyalty -----------------------------------------------------------------------------

def points_expiring_hits(automation: Automation, now: datetime) -> list[Hit]:
    """Members with an expiry notice (loyalty's `expiry_notices_create`) written recently."""
    p = _params(automation)
    rows = expiry_notices_recent(since=now - timedelta(days=p["lookback_days"]), until=now,
                                 min_points=p["min_points"], customers=_customers())
    return [Hit(cid, f"expiry:{day.isoformat()}", {"points": points, "expires_on": day.isoformat()})
            for cid, day, points in rows]


def pending_expiry_hits(automation: Automation, now: datetime) -> list[Hit]:
    """The hits loyalty's next expiry notices would bring: points already inside their
    program's notice period (as `expiry_notices_create` selects them), per member and local
    expiry day, with the same keys as `points_expiring_hits`.

    Used when switching the automation on: such points already "match" even if the nightly
    job has not written their notice yet (a new program, the demo's first start).
    """
    min_points = _params(automation)["min_points"]
    zone = timezone.get_current_timezone()
    totals: dict[tuple[int, date], int] = {}
    for cid, at, points in points_in_notice_period(now=now, customers=_customers()):
        key = (cid, at.astimezone(zone).date())
        totals[key] = totals.get(key, 0) + points
    return [Hit(cid, f"expiry:{day.isoformat()}", {"points": points, "expires_on": day.isoformat()})
            for (cid, day), points in sorted(totals.items()) if points >= min_points]


@dataclass(frozen=True)
class TierChange:
    member_id: int
    customer_id: int
    old_rank: int
    new_rank: int
    tier_name: str
    since: datetime | None


def tier_changes(now: datetime, lookback_days: int = 2) -> list[TierChange]:
    """Members whose tier differs from the one `TierSeen` remembers.

    A member never seen before counts as a change from "no tier" only if they reached the
    tier within the look-back (otherwise switching the automation on would greet every
    existing gold member).
    """
    rows = members_tier_changed(customers=_customers(),
                                seen_rank=TierSeen.objects.filter(member=OuterRef("pk")).values("rank")[:1],
                                reached_since=now - timedelta(days=lookback_days))
    return [TierChange(mid, cid, -1 if seen is None else seen, current, name or "", since)
            for mid, cid, seen, current, name, since in rows]


def tier_seen_update(changes: list[TierChange], now: datetime) -> None:
    """Remember the current tier of the changed members and of members not seen yet."""
    for change in changes:
        TierSeen.objects.update_or_create(member_id=change.member_id,
                                          defaults={"rank": change.new_rank, "observed_at": now})
    missing = members_current_rank(unless=Exists(TierSeen.objects.filter(member=OuterRef("pk"))))
    TierSeen.objects.bulk_create([TierSeen(member_id=mid, rank=rank, observed_at=now) for mid, rank in missing],
                                 batch_size=2000, ignore_conflicts=True)


def tier_change_hits(automation: Automation, now: datetime, changes: list[TierChange] | None = None) -> list[Hit]:
    direction = _params(automation)["direction"]
    if changes is None:
        changes = tier_changes(now, _params(automation)["lookback_days"])
    hits = []
    for c in changes:
        up = c.new_rank > c.old_rank
        if direction == "any" or (direction == "up") == up:
            stamp = (c.since or now).strftime("%Y%m%dT%H%M")
            hits.append(Hit(c.customer_id, f"tier:{c.new_rank}:{stamp}",
                            {"tier": c.tier_name, "direction": "up" if up else "down",
                             "previous_rank": c.old_rank, "rank": c.new_rank}))
    return hits


def referral_thanks_hits(automation: Automation, now: datetime) -> list[Hit]:
    """Referrers whose friend made the qualifying purchase recently."""
    since = now - timedelta(days=_params(automation)["lookback_days"])
    rows = referrals_recently_qualified(since=since, until=now, customers=_customers())
    return [Hit(cid, f"referral:{rid}", {"friend": friend}) for rid, cid, friend in rows]


TRIGGERS: dict[str, Callable[[Automation, datetime], list[Hit]]] = {
    TriggerKind.WELCOME: welcome_hits,
    TriggerKind.POST_PURCHASE: post_purchase_hits,
    TriggerKind.BIRTHDAY: birthday_hits,
    TriggerKind.INACTIVITY: inactivity_hits,
    TriggerKind.WINBACK: winback_hits,
    TriggerKind.POINTS_EXPIRING: points_expiring_hits,
    TriggerKind.TIER_CHANGE: tier_change_hits,
    TriggerKind.REFERRAL_THANKS: referral_thanks_hits,
}


def trigger_hits(automation: Automation, now: datetime, *,
                 tier_changes_now: list[TierChange] | None = None) -> list[Hit]:
    """Who enters `automation` at `now`, one hit per (customer, key)."""
    if automation.trigger_kind == TriggerKind.TIER_CHANGE:
        hits = tier_change_hits(automation, now, tier_changes_now)
    else:
        hits = TRIGGERS[automation.trigger_kind](automation, now)
    unique: dict[tuple[int, str], Hit] = {}
    for hit in hits:
        unique.setdefault((hit.customer_id, hit.trigger_key), hit)
    return list(unique.values())
