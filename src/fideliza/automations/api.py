"""REST endpoints for automations: list, dry run, report (reads; editing is in the web UI)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from fideliza.accounts.auth import request_user
from fideliza.api_support import ERRORS_READ, DbId

from .models import Automation
from .selectors import (
    automation_report,
    automations_dry_run,
    automations_overview,
    dry_run_visible_to,
)

router = Router(tags=["automations"])


class AutomationOut(Schema):
    id: int
    name: str
    trigger_kind: str
    trigger_params: dict[str, Any]
    channels: list[str]
    holdout_share: Decimal
    over_budget: str
    conversion_days: int
    is_active: bool
    activated_at: datetime | None
    activation_scope: str
    treated: int
    holdout: int
    statuses: dict[str, int]
    last_run_at: datetime | None
    last_run_stats: dict[str, Any]


class AutomationDryRunOut(Schema):
    automation_id: int
    automation: str
    customer_id: int
    customer: str
    step: int
    due_at: datetime
    group: str
    action: str
    reason: str
    channel: str | None
    new_enrollment: bool


class AutomationReportOut(Schema):
    id: int
    name: str
    treated: int
    holdout: int
    open_windows: int
    treated_conversions: int
    holdout_conversions: int
    treated_revenue: Decimal
    holdout_revenue: Decimal
    statuses: dict[str, int]
    uplift: dict[str, Any] | None


@router.get("", response={200: list[AutomationOut], **ERRORS_READ}, summary="Automations with their figures")
def list_automations(request: HttpRequest) -> list[dict[str, Any]]:
    out = []
    for row in automations_overview():
        a = row["automation"]
        out.append({**{f: getattr(a, f) for f in ("id", "name", "trigger_kind", "trigger_params", "channels",
                                                  "holdout_share", "over_budget", "conversion_days", "is_active",
                                                  "activated_at", "activation_scope", "last_run_at",
                                                  "last_run_stats")},
                    "treated": row["treated"], "holdout": row["holdout"], "statuses": row["statuses"]})
    return out


@router.get("/dry-run", response={200: list[AutomationDryRunOut], **ERRORS_READ},
            summary="Who would receive which step today (writes nothing)")
def dry_run(request: HttpRequest, automation: DbId | None = None) -> list[dict[str, Any]]:
    rows = dry_run_visible_to(automations_dry_run(automation_ids=[automation] if automation else None,
                                                  include_inactive=automation is not None), request_user(request))
    return [{"automation_id": r.automation_id, "automation": r.automation, "customer_id": r.customer_id,
             "customer": r.customer, "step": r.position, "due_at": r.due_at, "group": r.group, "action": r.action,
             "reason": r.reason, "channel": r.channel, "new_enrollment": r.new} for r in rows]


@router.get("/{automation_id}/report", response={200: AutomationReportOut, **ERRORS_READ},
            summary="Conversion and revenue of the treated against the holdout, with intervals")
def report(request: HttpRequest, automation_id: DbId) -> dict[str, Any]:
    automation = get_object_or_404(Automation, pk=automation_id)
    r = automation_report(automation)
    return {"id": automation.pk, "name": automation.name,
            **{k: r[k] for k in ("treated", "holdout", "open_windows", "treated_conversions", "holdout_conversions",
                                 "treated_revenue", "holdout_revenue", "statuses")},
            "uplift": r["uplift"].to_dict() if r["uplift"] is not None else None}
