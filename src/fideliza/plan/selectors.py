"""Reads of the six-moves plan: each move's live lines (counted for the viewer), the
customers behind a line, the plan items, and the home page's counts of the day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from fideliza.accounts.models import User
from fideliza.customers.models import Customer
from fideliza.customers.selectors import customers_visible_to
from fideliza.followups.models import FollowUpOrigin
from fideliza.followups.selectors import followups_from_origin_count
from fideliza.insights.selectors import metrics_lookup

from .lines import Line, LineContext, lines_all, lines_of
from .models import LineAction, PlanItem, PlanItemStatus

SHOWN_CUSTOMERS = 100


def week_start(day: date) -> date:
    """The Monday of `day`'s week: a line's actions are recorded per week."""
    return day - timedelta(days=day.weekday())


def line_context(user: User, now: datetime | None = None) -> LineContext:
    now = now or timezone.now()
    base = customers_visible_to(user).filter(is_active=True)
    return LineContext(user=user, now=now, today=timezone.localdate(now), base=base)


def line_customers(line: Line, ctx: LineContext) -> QuerySet[Customer]:
    """The customers behind `line` for the context's viewer, most valuable first (predicted
    CLV of the last snapshot; those without one last), then by id."""
    return line.customers(ctx).order_by(F(metrics_lookup("clv_predicted")).desc(nulls_last=True), "pk")


@dataclass
class LineRow:
    line: Line
    count: int
    text: str
    actions: dict[str, LineAction] = field(default_factory=dict)  # this week's, by kind
    followups: tuple[int, int] = (0, 0)  # (created by this week's action, still open)


def move_lines(*, move: str, user: User, now: datetime | None = None, only: str | None = None) -> list[LineRow]:
    """The live lines of `move` (or its line `only`) for `user`: one COUNT per line (plus
    what a provider reads once, such as the ABC ranking), never a query per customer."""
    ctx = line_context(user, now)
    lines = [line for line in lines_of(move) if only is None or line.key == only]
    rows = []
    for line in lines:
        n = line.customers(ctx).count()
        rows.append(LineRow(line=line, count=n, text=line.text(n)))
    actions = LineAction.objects.filter(line_key__in=[line.key for line in lines], week_start=week_start(ctx.today))
    by_key: dict[str, dict[str, LineAction]] = {}
    for action in actions:
        by_key.setdefault(action.line_key, {})[action.kind] = action
    counts = followups_from_origin_count(kind=FollowUpOrigin.PLAN, origin_ids=[a.pk for a in actions])
    for row in rows:
        row.actions = by_key.get(row.line.key, {})
        if "followups" in row.actions:
            row.followups = counts.get(row.actions["followups"].pk, (0, 0))
    return rows


def plan_items_visible_to(user: User) -> QuerySet[PlanItem]:
    """Every plan item for owner, marketing and support; a sales representative sees the
    items they own."""
    items = PlanItem.objects.select_related("owner")
    return items.filter(owner=user) if user.is_sales_rep else items


def move_items(*, move: str, user: User) -> list[PlanItem]:
    """The move's plan items: open ones by due date, then the closed ones of the last 90 days."""
    items = plan_items_visible_to(user).filter(move=move)
    open_items = list(items.filter(status__in=(PlanItemStatus.PENDING, PlanItemStatus.IN_PROGRESS))
                      .order_by("due_date", "id"))
    recent = timezone.now() - timedelta(days=90)
    closed = list(items.filter(status__in=(PlanItemStatus.DONE, PlanItemStatus.CANCELLED), updated_at__gte=recent)
                  .order_by("-updated_at", "-id")[:20])
    return open_items + closed


@dataclass
class PlanToday:
    due_today: int
    overdue: int
    lines: list[tuple[str, str, int]]  # (move slug, move title, customers on any of its lines)


def plan_today(*, user: User, now: datetime | None = None) -> PlanToday:
    """The home page's counts from the plan: the user's open plan items due today and
    overdue (all of them for owner and marketing), and how many customers each move's
    lists hold for the user this week."""
    from .models import Move

    now = now or timezone.now()
    today = timezone.localdate(now)
    items = plan_items_visible_to(user).filter(status__in=(PlanItemStatus.PENDING, PlanItemStatus.IN_PROGRESS))
    if user.role not in ("owner", "marketing") and not user.is_superuser:
        items = items.filter(owner=user)
    due = items.filter(Q(due_date=today)).count()
    overdue = items.filter(due_date__lt=today).count()
    ctx = line_context(user, now)
    by_move: dict[str, Q] = {}
    for line in lines_all():  # a customer on two lines of a move counts once
        by_move[line.move] = by_move.get(line.move, Q()) | Q(pk__in=line.customers(ctx).values("pk"))
    return PlanToday(due_today=due, overdue=overdue,
                     lines=[(m.value, str(m.label), ctx.base.filter(by_move[m.value]).count())
                            for m in Move if m.value in by_move])
