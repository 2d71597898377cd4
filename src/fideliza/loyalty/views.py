"""Loyalty pages: program, rules, tiers and rewards configuration, the simulator, the
rewards catalog, coupons, referrals and affiliates, and the member card's actions.
Thin: parse, call one service, render."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.models import Role
from fideliza.accounts.services import Actor
from fideliza.catalog.selectors import category_parents
from fideliza.customers.selectors import customers_visible_to

from .coupons import coupon_create, reward_redeem
from .earning import RuleSpec, category_descendants
from .forms import (
    AdjustForm,
    CouponForm,
    ProgramForm,
    RewardForm,
    RuleForm,
    SimulatorForm,
    TierForm,
)
from .models import (
    Affiliate,
    Coupon,
    EarningRule,
    Member,
    Program,
    Referral,
    ReferralStatus,
    Reward,
    Tier,
)
from .referrals import affiliate_payout_create, affiliates_report
from .selectors import loyalty_liability
from .services import (
    InsufficientPoints,
    default_program,
    loyalty_config_save,
    member_enroll,
    points_adjust,
)
from .simulator import simulate

CONFIG_ROLES = {Role.OWNER, Role.MARKETING}


def config_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Owner and marketing configure the program; everyone else reads the card only."""
    @wraps(view)
    @login_required
    def wrapped(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not (request.user.is_superuser or request.user.role in CONFIG_ROLES):
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return wrapped


def _actor(request: AuthedRequest) -> Actor:
    return Actor.of(request.user, via="web")


def _apply_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@config_required
def home(request: AuthedRequest) -> HttpResponse:
    programs = Program.objects.annotate(n_members=Count("members")).order_by("id")
    program = default_program()
    context: dict[str, Any] = {"programs": programs, "program": program}
    if program is not None:
        context["liability"] = loyalty_liability(program)
        context["tiers"] = (Tier.objects.filter(program=program)
                            .annotate(n=Count("members")).order_by("rank"))
        context["rules"] = EarningRule.objects.filter(program=program).select_related("category", "product", "store")
        context["no_tier"] = Member.objects.filter(program=program, tier__isnull=True).count()
    return render(request, "loyalty/home.html", context)


def _save_form(request: AuthedRequest, form: Any, *, obj: Any, done: str, title: str,
               template: str = "loyalty/form.html") -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            loyalty_config_save(obj=form.save(commit=False), actor=_actor(request))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Guardado."))
            return redirect(done)
    return render(request, template, {"form": form, "title": title, "obj": obj, "back": done})


@config_required
def program_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    program = get_object_or_404(Program, pk=pk) if pk else None
    form = ProgramForm(request.POST or None, instance=program)
    return _save_form(request, form, obj=program, done=reverse("loyalty:home"),
                      title=_("Programa") if program else _("Nuevo programa"))


@config_required
def rule_edit(request: AuthedRequest, program_pk: int, pk: int | None = None) -> HttpResponse:
    program = get_object_or_404(Program, pk=program_pk)
    rule = get_object_or_404(EarningRule, pk=pk, program=program) if pk else EarningRule(program=program)
    form = RuleForm(request.POST or None, instance=rule)
    return _save_form(request, form, obj=rule if pk else None, done=reverse("loyalty:home"),
                      title=_("Regla de acumulación"))


@config_required
def tier_edit(request: AuthedRequest, program_pk: int, pk: int | None = None) -> HttpResponse:
    program = get_object_or_404(Program, pk=program_pk)
    tier = get_object_or_404(Tier, pk=pk, program=program) if pk else Tier(program=program)
    form = TierForm(request.POST or None, instance=tier)
    return _save_form(request, form, obj=tier if pk else None, done=reverse("loyalty:home"), title=_("Nivel"))


@login_required
def reward_list(request: AuthedRequest) -> HttpResponse:
    program = default_program()
    rewards = (Reward.objects.filter(program=program).select_related("min_tier", "product")
               .annotate(n=Count("redemptions")) if program else Reward.objects.none())
    can_edit = request.user.is_superuser or request.user.role in CONFIG_ROLES
    return render(request, "loyalty/rewards.html", {"rewards": rewards, "program": program, "can_edit": can_edit})


@config_required
def reward_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    program = default_program()
    if program is None:
        messages.error(request, _("Cree antes un programa de fidelización."))
        return redirect("loyalty:home")
    reward = get_object_or_404(Reward, pk=pk) if pk else Reward(program=program)
    form = RewardForm(request.POST or None, instance=reward, program=reward.program)
    return _save_form(request, form, obj=reward if pk else None, done=reverse("loyalty:rewards"),
                      title=_("Recompensa"))


@config_required
def coupon_list(request: AuthedRequest) -> HttpResponse:
    form = CouponForm(request.POST or None)
    created: list[Coupon] = []
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        quantity = data.pop("quantity")
        try:
            created = [coupon_create(actor=_actor(request), **data) for _i in range(quantity)]
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("%(n)s cupones creados.") % {"n": len(created)})
            form = CouponForm()
    q = (request.GET.get("q") or "").strip()
    coupons = Coupon.objects.select_related("customer", "reward").order_by("-id")
    if q:
        coupons = coupons.filter(Q(code__icontains=q) | Q(name__icontains=q))
    return render(request, "loyalty/coupons.html", {"form": form, "coupons": coupons[:200], "created": created,
                                                    "q": q, "now": timezone.now()})


@config_required
def simulator(request: AuthedRequest) -> HttpResponse:
    program = default_program()
    form = SimulatorForm(request.GET or None, initial=SimulatorForm.last_year())
    result = None
    if program is not None and form.is_valid():
        data = form.cleaned_data
        extra = None
        if data["kind"]:
            parents = category_parents()
            cat = data["category"]
            extra = RuleSpec(
                id=0, name=_("Regla simulada"), kind=data["kind"], points=data["points"] or Decimal(0),
                multiplier=data["multiplier"] or Decimal(1),
                category_ids=category_descendants(parents).get(cat.pk) if cat else None, product_id=None,
                channel="", store_id=None, min_purchase=data["min_purchase"], starts_on=None, ends_on=None)
        result = simulate(program=program, start=data["start"], end=data["end"], extra=extra)
    return render(request, "loyalty/simulator.html", {"form": form, "result": result, "program": program})


@config_required
def referrals(request: AuthedRequest) -> HttpResponse:
    today = timezone.localdate()
    start = today.replace(month=1, day=1)
    refs = Referral.objects.select_related("referrer__customer", "affiliate", "referred").order_by("-first_contact_at")
    counts = dict(Referral.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return render(request, "loyalty/referrals.html", {
        "referrals": refs[:200], "counts": [(s.label, counts.get(s.value, 0)) for s in ReferralStatus],
        "report": affiliates_report(start=start, end=today), "start": start, "end": today,
        "affiliates": Affiliate.objects.order_by("name"),
    })


@config_required
@require_POST
def affiliate_payout(request: AuthedRequest, pk: int) -> HttpResponse:
    affiliate = get_object_or_404(Affiliate, pk=pk)
    try:
        payout = affiliate_payout_create(affiliate=affiliate, period_end=timezone.localdate(), actor=_actor(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Pago de %(amount)s registrado para %(name)s.")
                         % {"amount": payout.amount, "name": affiliate.name})
    return redirect("loyalty:referrals")


def _card_customer(request: AuthedRequest, customer_pk: int):
    return get_object_or_404(customers_visible_to(request.user), pk=customer_pk)


@login_required
@require_POST
def member_redeem_reward(request: AuthedRequest, customer_pk: int) -> HttpResponse:
    """From the customer card: spend points on a reward and issue its coupon."""
    customer = _card_customer(request, customer_pk)
    reward = get_object_or_404(Reward, pk=request.POST.get("reward"), is_active=True)
    member = Member.objects.filter(program=reward.program, customer=customer).first()
    key = (request.POST.get("idempotency_key") or "").strip()
    try:
        if member is None:
            member = member_enroll(program=reward.program, customer=customer, actor=_actor(request))
        done = reward_redeem(member=member, reward=reward, idempotency_key=key, actor=_actor(request))
    except InsufficientPoints as exc:
        messages.error(request, " ".join(exc.messages))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Canjeada «%(reward)s»: cupón %(code)s.")
                         % {"reward": reward.name, "code": done.coupon.code})
    return redirect(reverse("customers:detail", args=[customer.pk]) + "#fidelizacion")


@config_required
@require_POST
def member_adjust(request: AuthedRequest, customer_pk: int) -> HttpResponse:
    customer = _card_customer(request, customer_pk)
    program = default_program()
    form = AdjustForm(request.POST)
    if program is None or not form.is_valid():
        messages.error(request, _("Indique los puntos y el motivo del ajuste."))
    else:
        try:
            member = member_enroll(program=program, customer=customer, actor=_actor(request))
            points_adjust(member=member, points=form.cleaned_data["points"], reason=form.cleaned_data["reason"],
                          actor=_actor(request), idempotency_key=request.POST.get("idempotency_key"))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Ajuste registrado."))
    return redirect(reverse("customers:detail", args=[customer.pk]) + "#fidelizacion")
