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
from django.db.models import Exists, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.customers.models import Customer
from fideliza.insights.models import AnalyticsState, CustomerMetrics
from fideliza.loyalty.models import ExpiryNotice, Member, Referral, ReferralStatus
from fideliza.sales.models import Order

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
    return Customer.objects.filter(is_active=True, merged_into__isnull=True)


# --- purchases ---------------------------------------------------------------------------

def welcome_hits(automation: Automation, now: datetime) -> list[Hit]:
    """Customers whose FIRST order falls in the look-back window."""
    since = now - timedelta(days=_params(automation)["lookback_days"])
    earlier = Order.objects.filter(customer_id=OuterRef("customer_id"), placed_at__lte=since)
    rows = (Order.objects.filter(placed_at__gt=since, placed_at__lte=now, customer__in=_customers())
            .filter(~Exists(earlier)).values("customer_id").annotate(order=Max("id")))
    return [Hit(r["customer_id"], "first_purchase", {"order_id": r["order"]}) for r in rows]


def post_purchase_hits(automation: Automation, now: datetime) -> list[Hit]:
    """The latest order of each customer placed `days_after` days ago (within the look-back)."""
    p = _params(automation)
    end = now - timedelta(days=p["days_after"])
    rows = (Order.objects.filter(placed_at__gt=end - timedelta(days=p["lookback_days"]), placed_at__lte=end,
                                 total__gte=Decimal(p["min_total"]), customer__in=_customers())
            .values("customer_id").annotate(order=Max("id")))
    return [Hit(r["customer_id"], f"order:{r['order']}", {"order_id": r["order"]}) for r in rows]


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

def _snapshot(now: datetime) -> tuple[Any, date | None]:
    """Current snapshot rows, minus customers who bought after it was computed (they are
    active again whatever the snapshot says), and the date the snapshot is as of."""
    state = AnalyticsState.objects.select_related("current_run").filter(pk=1).first()
    as_of = state.current_run.as_of if state and state.current_run else None
    rows = CustomerMetrics.objects.filter(customer__in=_customers())
    if as_of is not None:
        start = datetime.combine(as_of + timedelta(days=1), datetime.min.time(),
                                 tzinfo=ZoneInfo(settings.TIME_ZONE))
        rows = rows.exclude(Exists(Order.objects.filter(customer_id=OuterRef("customer_id"), placed_at__gte=start,
                                                         placed_at__lte=now)))
    return rows, as_of


def inactivity_hits(automation: Automation, now: datetime) -> list[Hit]:
    """Customers whose days without buying exceed `factor` × THEIR OWN usual interval.

    Both come from the snapshot (`days_since_last`, `usual_interval_days`, the latter only
    for customers with an interval of their own); days since the snapshot's date are added
    so a snapshot from last night still counts today. One-time buyers have no interval of
    their own and never fire here (the win-back trigger covers them through their state).
    """
    factor = _params(automation)["factor"]
    rows, as_of = _snapshot(now)
    offset = max(0, (timezone.localdate(now) - as_of).days) if as_of else 0
    rows = (rows.filter(usual_interval_days__isnull=False)
            .annotate(days=F("days_since_last") + offset)
            .filter(days__gt=F("usual_interval_days") * factor))
    return [Hit(cid, f"inactive:{last.isoformat()}", {"days_since_last": days, "usual_interval_days": round(gap, 1)})
            for cid, last, days, gap in rows.values_list("customer_id", "last_purchase", "days",
                                                         "usual_interval_days")]


def winback_hits(automation: Automation, now: datetime) -> list[Hit]:
    """Customers in one of the chosen activity states (default: dormant), once per lapse."""
    rows, _as_of = _snapshot(now)
    rows = rows.filter(activity_state__in=_params(automation)["states"])
    return [Hit(cid, f"lapsed:{last.isoformat()}", {"activity_state": state, "days_since_last": days})
            for cid, last, state, days in rows.values_list("customer_id", "last_purchase", "activity_state",
                                                           "days_since_last")]


# --- loyalty -----------------------------------------------------------------------------

def points_expiring_hits(automation: Automation, now: datetime) -> list[Hit]:
    """Members with an expiry notice (loyalty's `expiry_notices_create`) written recently."""
    p = _params(automation)
    rows = (ExpiryNotice.objects.filter(created_at__gt=now - timedelta(days=p["lookback_days"]),
                                        created_at__lte=now, expires_on__gte=timezone.localdate(now),
                                        points__gte=p["min_points"], member__customer__in=_customers())
            .values_list("member__customer_id", "expires_on", "points"))
    return [Hit(cid, f"expiry:{day.isoformat()}", {"points": points, "expires_on": day.isoformat()})
            for cid, day, points in rows]


def pending_expiry_hits(automation: Automation, now: datetime) -> list[Hit]:
    """The hits loyalty's next expiry notices would bring: points already inside their
    program's notice period (as `expiry_notices_create` selects them), per member and local
    expiry day, with the same keys as `points_expiring_hits`.

    Used when switching the automation on: such points already "match" even if the nightly
    job has not written their notice yet (a new program, the demo's first start).
    """
    from fideliza.loyalty.models import PointLot, Program

    min_points = _params(automation)["min_points"]
    zone = timezone.get_current_timezone()
    totals: dict[tuple[int, date], int] = {}
    for program in Program.objects.filter(is_active=True, expiry_days__isnull=False):
        lots = (PointLot.objects.filter(member__program=program, points_remaining__gt=0, expires_at__gt=now,
                                        expires_at__lte=now + timedelta(days=program.expiry_notice_days),
                                        member__customer__in=_customers())
                .values_list("member__customer_id", "expires_at", "points_remaining"))
        for cid, at, points in lots:
            if at is not None:  # always, given the filter; for the type checker
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
    seen = TierSeen.objects.filter(member=OuterRef("pk")).values("rank")[:1]
    rows = (Member.objects.filter(customer__in=_customers())
            .annotate(seen=Subquery(seen), current=Coalesce(F("tier__rank"), -1))
            .filter(Q(seen__isnull=True, tier__isnull=False, tier_since__gt=now - timedelta(days=lookback_days))
                    | (Q(seen__isnull=False) & ~Q(seen=F("current"))))
            .values_list("pk", "customer_id", "seen", "current", "tier__name", "tier_since"))
    return [TierChange(mid, cid, -1 if seen is None else seen, current, name or "", since)
            for mid, cid, seen, current, name, since in rows]


def tier_seen_update(changes: list[TierChange], now: datetime) -> None:
    """Remember the current tier of the changed members and of members not seen yet."""
    for change in changes:
        TierSeen.objects.update_or_create(member_id=change.member_id,
                                          defaults={"rank": change.new_rank, "observed_at": now})
    missing = (Member.objects.filter(~Exists(TierSeen.objects.filter(member=OuterRef("pk"))))
               .annotate(current=Coalesce(F("tier__rank"), -1)).values_list("pk", "current"))
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
    rows = (Referral.objects.filter(status__in=[ReferralStatus.QUALIFIED, ReferralStatus.REWARDED],
                                    referrer__isnull=False, qualifying_order__placed_at__gt=since,
                                    qualifying_order__placed_at__lte=now,
                                    referrer__customer__in=_customers())
            .values_list("pk", "referrer__customer_id", "referred__first_name"))
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
