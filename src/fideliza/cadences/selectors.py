"""Reads of contact cadences: who falls due under a rule, and the «Perdiendo contacto» list.

The clock of a customer under a rule (models' docstring) is evaluated in SQL, one query per
rule: a customer is due today when nothing reset the clock since `cutoff`, the start of the
local day `every_days - 1` days ago (their clock ran out at the latest yesterday at
midnight → due today). «Nothing reset it» is two NOT EXISTS over indexed columns: no
interaction of a counting kind since the cutoff (interactions' (customer, occurred_at)
index), and no follow-up of the rule still pending or closed since the cutoff (followups'
(origin kind, origin id) index and the one-pending-per-cadence unique index).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import DateTimeField, Exists, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest

from fideliza.accounts.models import User
from fideliza.customers.models import Customer
from fideliza.customers.selectors import customers_current, customers_visible_to
from fideliza.followups.models import FollowUpOrigin
from fideliza.followups.selectors import followups_of_origin, followups_pending_q
from fideliza.followups.services import business_zone, local_day_bounds, local_moment
from fideliza.insights.selectors import customers_value_at_risk, metrics_lookup
from fideliza.interactions.selectors import interactions_of_kinds
from fideliza.loyalty.selectors import tier_customers
from fideliza.segments.selectors import segment_customers

from .models import Audience, CadenceRule


def cadence_rules() -> QuerySet[CadenceRule]:
    return CadenceRule.objects.select_related("tier", "tier__program", "segment").order_by("name", "id")


def rule_audience(rule: CadenceRule) -> QuerySet[Customer]:
    """The active, current customers the rule is about (the tier's members now, or the
    segment's materialised members)."""
    if rule.audience == Audience.TIER and rule.tier_id is not None:
        qs = tier_customers(rule.tier_id)
    elif rule.audience == Audience.SEGMENT and rule.segment is not None:
        qs = segment_customers(rule.segment)
    else:
        return customers_current().none()
    return qs.filter(is_active=True)


def cutoff_for(rule: CadenceRule, today: date) -> datetime:
    """The instant a contact must be at or after for the customer not to be due `today`."""
    return local_day_bounds(today - timedelta(days=rule.every_days - 1))[0]


def rule_start(rule: CadenceRule) -> datetime:
    return local_moment(rule.starts_on, time(0))


def _contacts(rule: CadenceRule) -> QuerySet:
    return interactions_of_kinds(rule.kinds).filter(customer_id=OuterRef("pk"))


def _rule_followups(rule: CadenceRule) -> QuerySet:
    return followups_of_origin(kind=FollowUpOrigin.CADENCE, origin_id=rule.pk).filter(customer_id=OuterRef("pk"))


def with_clock(qs: QuerySet[Customer], rule: CadenceRule) -> QuerySet[Any]:
    """`qs` annotated with `last_contact` (latest counting interaction, or None),
    `last_closed` (when the rule's latest follow-up for them was closed, or None) and
    `clock` (the latest of those and the rule's start)."""
    start = Value(rule_start(rule), output_field=DateTimeField())
    return (qs.annotate(
        last_contact=Subquery(_contacts(rule).order_by("-occurred_at").values("occurred_at")[:1]),
        last_closed=Subquery(_rule_followups(rule).filter(closed_at__isnull=False)
                             .order_by("-closed_at").values("closed_at")[:1]))
        .annotate(clock=Greatest(Coalesce("last_contact", start), Coalesce("last_closed", start))))


def rule_due(rule: CadenceRule, today: date) -> QuerySet[Customer]:
    """The customers of `rule` who fall due `today` and have no pending follow-up of it."""
    cutoff = cutoff_for(rule, today)
    if not rule.kinds or rule_start(rule) >= cutoff:
        return customers_current().none()
    # Three NOT EXISTS rather than one with an OR: each matches an index on its own.
    return rule_audience(rule).filter(
        ~Exists(_contacts(rule).filter(occurred_at__gte=cutoff)),
        ~Exists(_rule_followups(rule).filter(followups_pending_q())),
        ~Exists(_rule_followups(rule).filter(closed_at__gte=cutoff)))


def rule_clocks(rule: CadenceRule, customer_ids: list[int]) -> list[tuple[int, datetime | None, datetime]]:
    """(customer, last counting contact or None, clock) of `customer_ids` under `rule`, in
    chunks: the due customers' clocks, asked apart from the evaluation so the planner
    answers «who is due» with anti-joins over the whole audience and computes the clock
    (two correlated subqueries) for the few found only."""
    out = []
    for start in range(0, len(customer_ids), 5000):
        chunk = customer_ids[start:start + 5000]
        out += list(with_clock(customers_current().filter(pk__in=chunk), rule).order_by()
                    .values_list("pk", "last_contact", "clock"))
    return out


def rule_past_due(rule: CadenceRule, today: date, *, user: User | None = None) -> QuerySet[Any]:
    """The customers past `rule`'s cadence `today` (whether or not a follow-up is pending),
    visible to `user`, with their clock (`with_clock`)."""
    cutoff = cutoff_for(rule, today)
    if not rule.kinds or rule_start(rule) >= cutoff:
        return customers_current().none()
    qs = rule_audience(rule)
    if user is not None:
        qs = qs.filter(Exists(customers_visible_to(user).filter(pk=OuterRef("pk"))))
    qs = qs.filter(~Exists(_contacts(rule).filter(occurred_at__gte=cutoff)),
                   ~Exists(_rule_followups(rule).filter(closed_at__gte=cutoff)))
    return with_clock(qs, rule)


def days_between(earlier: datetime, today: date) -> int:
    return (today - earlier.astimezone(business_zone()).date()).days


# --- «Perdiendo contacto» -----------------------------------------------------------------

SORTS = ("overdue", "value")
PAGE = 50


@dataclass
class LosingRow:
    rule: CadenceRule
    customer_id: int
    name: str
    executive_id: int | None
    last_contact: datetime | None
    clock: datetime
    days_overdue: int
    clv: Decimal | None
    revenue: Decimal | None
    pending_followup: int | None
    value_at_risk: Decimal | None = None
    executive: str = ""


@dataclass
class LosingTouch:
    rows: list[LosingRow]
    total: int
    page: int
    pages: int
    by_rule: list[tuple[CadenceRule, int]]


def losing_touch(*, user: User, today: date, rule_id: int | None = None, executive: str = "",
                 min_overdue: int = 0, sort: str = "overdue", page: int = 1,
                 page_size: int = PAGE) -> LosingTouch:
    """Customers past their cadence (visible to `user`), by days overdue (most first) or by
    value (predicted CLV, from the analytics snapshot, highest first); one row per customer
    and rule. `executive`: a user id, or "none" for customers without an account executive.
    """
    from fideliza.accounts.selectors import user_names
    from fideliza.customers.selectors import customer_names

    rules = [r for r in cadence_rules().filter(is_active=True) if rule_id is None or r.pk == rule_id]
    wanted = page * page_size
    found: list[LosingRow] = []
    by_rule: list[tuple[CadenceRule, int]] = []
    clv, revenue = metrics_lookup("clv_predicted"), metrics_lookup("revenue")
    for rule in rules:
        qs = rule_past_due(rule, today, user=user)
        if executive == "none":
            qs = qs.filter(account_executive__isnull=True)
        elif executive.isdigit():
            qs = qs.filter(account_executive_id=int(executive))
        if min_overdue > 0:  # the clock ran out at least `min_overdue` days before today
            qs = qs.filter(clock__lt=cutoff_for(rule, today - timedelta(days=min_overdue)))
        count = qs.count()
        by_rule.append((rule, count))
        if not count:
            continue
        pending = _rule_followups(rule).filter(followups_pending_q()).order_by("due_at").values("pk")[:1]
        order = (F("clock").asc(), "pk") if sort == "overdue" else (F(clv).desc(nulls_last=True), F("clock").asc(), "pk")
        for pk, executive_id, last_contact, clock, value, sales, pending_id in (
                qs.annotate(pending_followup=Subquery(pending))
                .order_by(*order).values_list("pk", "account_executive_id", "last_contact", "clock", clv, revenue,
                                              "pending_followup")[:wanted]):
            found.append(LosingRow(rule=rule, customer_id=pk, name="", executive_id=executive_id,
                                   last_contact=last_contact, clock=clock,
                                   days_overdue=days_between(clock, today) - rule.every_days, clv=value,
                                   revenue=sales, pending_followup=pending_id))
    if sort == "value":
        found.sort(key=lambda r: (r.clv is None, -(r.clv or 0), -r.days_overdue, r.customer_id, r.rule.pk))
    else:
        found.sort(key=lambda r: (-r.days_overdue, r.customer_id, r.rule.pk))
    total = sum(n for _rule, n in by_rule)
    rows = found[(page - 1) * page_size:wanted]
    names = customer_names(r.customer_id for r in rows)
    people = user_names(r.executive_id for r in rows if r.executive_id)
    risk = customers_value_at_risk(r.customer_id for r in rows)
    for r in rows:
        r.name = names.get(r.customer_id, str(r.customer_id))
        r.executive = people.get(r.executive_id, "") if r.executive_id else ""
        r.value_at_risk = risk.get(r.customer_id)
    return LosingTouch(rows=rows, total=total, page=page, pages=max(1, -(-total // page_size)), by_rule=by_rule)
