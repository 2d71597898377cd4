"""Campaign pages: list, editor with a live preview, the send confirmation, results, and the
saved message templates. Thin: parse, call one service or selector, render."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import number_format
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.core.csp import email_preview_csp
from fideliza.core.money import money_format
from fideliza.customers.models import Customer
from fideliza.customers.selectors import customers_visible_to
from fideliza.engagement.models import DecisionReason
from fideliza.engagement.templating import FILTERS, VARIABLES, TemplateError
from fideliza.engagement.wording import uplift_explanation
from fideliza.segments.models import Segment
from fideliza.segments.selectors import segment_customers, segment_get

from .forms import CampaignForm, TemplateForm
from .models import Campaign, CampaignStatus, MessageTemplate, RecipientStatus, TemplateChannel
from .permissions import can_edit_campaigns
from .selectors import campaign_results, campaigns_list
from .services import (
    LaunchSummary,
    campaign_cancel,
    campaign_create,
    campaign_messages,
    campaign_preview,
    campaign_reach,
    campaign_send,
    campaign_update,
    template_save,
)

PREVIEW_CHOICES = 50


def _editor(request: AuthedRequest) -> None:
    if not can_edit_campaigns(request.user):
        raise PermissionDenied


def _form_errors(form: CampaignForm | TemplateForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            field = key if key in form.fields else None
            if key == "holdout_share":
                field = "holdout_percent"
            for message in errors:
                form.add_error(field, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def _preview_customers(request: AuthedRequest, segment: Segment | None) -> list[Customer]:
    if segment is None:
        return []
    return list(segment_customers(segment, user=request.user).order_by("pk")[:PREVIEW_CHOICES])


# In a help text: template syntax ({{ x|numero }}, |fecha("largo")) and what a message will
# literally contain (→ 3 de diciembre, «120 puntos»), in the messages' own language.
_VERBATIM = re.compile(r'\{\{.*?\}\}|\|\w+\("[^"]*"\)|→ [^;]+|«[^»]*»|“[^”]*”')


def _help_html(text: str) -> str:
    """`text` escaped, its verbatim parts in <code translate="no"> (not prose to translate)."""
    parts, last = [], 0
    for m in _VERBATIM.finditer(text):
        parts.append(escape(text[last:m.start()]))
        parts.append(format_html('<code translate="no">{}</code>', m.group()))
        last = m.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # every part escaped above


def _variables() -> dict[str, list[dict[str, str]]]:
    """The editor's help panel: every variable and filter a template may use."""
    return {"names": [{"name": name, "help": _help_html(_(description))} for name, description in VARIABLES],
            "filters": [{"name": name, "help": _help_html(_(description))} for name, description in FILTERS]}


@login_required
def campaign_list(request: AuthedRequest) -> HttpResponse:
    return render(request, "campaigns/list.html", {
        "campaigns": campaigns_list(), "can_edit": can_edit_campaigns(request.user)})


@login_required
@email_preview_csp  # the page shows the e-mail's HTML in a sandboxed srcdoc iframe
def campaign_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    _editor(request)
    campaign = get_object_or_404(Campaign, pk=pk) if pk else None
    if campaign is not None and not campaign.is_editable:
        messages.error(request, _("Una campaña enviada o cancelada ya no se puede modificar."))
        return redirect("campaigns:detail", pk=campaign.pk)
    if request.method == "POST":
        form = CampaignForm(request.POST)
        if form.is_valid():
            try:
                if campaign is None:
                    campaign = campaign_create(user=request.user, name=form.cleaned_data["name"],
                                               segment=form.cleaned_data["segment"],
                                               channels=form.cleaned_data["channels"], messages=form.messages(),
                                               survey=form.cleaned_data.get("survey"), **form.campaign_fields())
                else:
                    campaign = campaign_update(campaign=campaign, user=request.user, name=form.cleaned_data["name"],
                                               segment=form.cleaned_data["segment"],
                                               channels=form.cleaned_data["channels"], messages=form.messages(),
                                               survey=form.cleaned_data.get("survey"), **form.campaign_fields())
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Campaña «%(name)s» guardada.") % {"name": campaign.name})
                return redirect("campaigns:detail", pk=campaign.pk)
        segment = form.cleaned_data.get("segment") if hasattr(form, "cleaned_data") else None
    else:
        initial = CampaignForm.initial_for(campaign) if campaign else {}
        preset = request.GET.get("segment", "")
        segment = campaign.segment if campaign else (segment_get(int(preset)) if preset.isdigit() else None)
        if campaign is None and segment is not None:  # «preparar una campaña» from a list (plan)
            initial["segment"] = segment.pk
        if campaign is None and request.GET.get("encuesta", "").isdigit():  # «Enviar con una campaña»
            initial["survey"] = int(request.GET["encuesta"])
        form = CampaignForm(initial=initial)
    return render(request, "campaigns/edit.html", {
        "form": form, "campaign": campaign, "variables": _variables(),
        "preview_customers": _preview_customers(request, segment),
        "saved_templates": MessageTemplate.objects.filter(is_reusable=True),
    })


@login_required
def preview_customers(request: AuthedRequest) -> HttpResponse:
    """The <option>s of the preview's customer picker for the chosen segment (htmx)."""
    segment_id = request.GET.get("segment", "")
    segment = segment_get(int(segment_id)) if segment_id.isdigit() else None
    return render(request, "campaigns/_customer_options.html",
                  {"preview_customers": _preview_customers(request, segment)})


@login_required
@require_POST
def campaign_preview_form(request: AuthedRequest) -> HttpResponse:
    """The live preview beside the editor: the unsaved form rendered for one customer (htmx)."""
    form = CampaignForm(request.POST)
    form.is_valid()  # the preview renders whatever parts are valid so far
    customer_id = request.POST.get("preview_customer", "")
    customer = (customers_visible_to(request.user).filter(pk=int(customer_id)).first()
                if customer_id.isdigit() else None)
    if customer is None:
        return render(request, "campaigns/_preview.html", {"empty": True})
    data = form.cleaned_data
    channel = request.POST.get("preview_channel") or (data.get("channels") or [TemplateChannel.EMAIL])[0]
    draft = Campaign(name=data.get("name", ""), **_safe_fields(form))
    try:
        rendered = campaign_preview(draft, customer, channel=channel, messages=form.messages())
    except TemplateError as exc:
        return render(request, "campaigns/_preview.html", {"error": str(exc)})
    return render(request, "campaigns/_preview.html", {"preview": rendered, "customer": customer})


def _safe_fields(form: CampaignForm) -> dict:
    """The offer fields of a possibly invalid form, with defaults where a value is missing."""
    data = form.cleaned_data
    defaults = Campaign()
    return {"offer_kind": data.get("offer_kind") or "",
            "offer_value": data.get("offer_value") or defaults.offer_value,
            "offer_valid_days": data.get("offer_valid_days") or defaults.offer_valid_days,
            "offer_min_purchase": data.get("offer_min_purchase") or defaults.offer_min_purchase,
            "offer_description": data.get("offer_description") or ""}


@login_required
def template_load(request: AuthedRequest) -> HttpResponse:
    """A saved template's content into the editor's fields for its channel (htmx)."""
    template = get_object_or_404(MessageTemplate, pk=request.GET.get("template") or 0, is_reusable=True)
    return render(request, "campaigns/_channel_fields.html", {"template": template})


@login_required
@email_preview_csp  # the page shows the e-mail's HTML in a sandboxed srcdoc iframe
def campaign_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("segment", "email_template", "sms_template"),
                                 pk=pk)
    customers = _preview_customers(request, campaign.segment)
    chosen = request.GET.get("cliente", "")
    customer = next((c for c in customers if str(c.pk) == chosen), customers[0] if customers else None)
    channel = request.GET.get("canal") or (campaign.channels or [TemplateChannel.EMAIL])[0]
    rendered, error = None, ""
    if customer is not None and campaign.channels:
        try:
            rendered = campaign_preview(campaign, customer, channel=channel)
        except TemplateError as exc:
            error = str(exc)
    context = {"campaign": campaign, "messages_by_channel": campaign_messages(campaign),
               "preview_customers": customers, "customer": customer, "channel": channel,
               "preview": rendered, "error": error, "can_edit": can_edit_campaigns(request.user)}
    if request.htmx:
        return render(request, "campaigns/_preview.html", context)
    return render(request, "campaigns/detail.html", context)


@login_required
def campaign_send_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """GET: what a send would do (reach, holdout, unreachable); POST: send or schedule it."""
    _editor(request)
    campaign = get_object_or_404(Campaign.objects.select_related("segment"), pk=pk)
    if campaign.status not in (CampaignStatus.DRAFT,):
        return redirect("campaigns:results" if campaign.launched_at else "campaigns:detail", pk=pk)
    if request.method == "POST":
        try:
            outcome = campaign_send(campaign=campaign, user=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("campaigns:detail", pk=pk)
        if isinstance(outcome, LaunchSummary):
            messages.success(request, _("Campaña enviada: %(n)s mensajes en cola.")
                             % {"n": outcome.counts.get("queued", 0) + outcome.counts.get("deferred", 0)})
            return redirect("campaigns:results", pk=pk)
        messages.success(request, _("Campaña programada."))
        return redirect("campaigns:detail", pk=pk)
    return render(request, "campaigns/send.html", {"campaign": campaign, "reach": campaign_reach(campaign)})


@login_required
@require_POST
def campaign_cancel_view(request: AuthedRequest, pk: int) -> HttpResponse:
    _editor(request)
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        campaign_cancel(campaign=campaign, user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Campaña cancelada."))
    return redirect("campaigns:detail", pk=pk)


@login_required
def campaign_results_view(request: AuthedRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("segment"), pk=pk)
    r = campaign_results(campaign)
    reasons = [{"status_label": RecipientStatus(row["status"]).label,
                "reason_label": (DecisionReason(row["reason"]).label if row["reason"] in DecisionReason.values
                                 else row["reason"] or _("Sin consentimiento o sin dirección en sus canales")),
                "n": row["n"]} for row in r["skip_reasons"]]
    return render(request, "campaigns/results.html", {"campaign": campaign, "r": r, "reasons": reasons,
                                                      "display": _uplift_display(r)})


def _pct(fraction: float | None) -> str:
    return "—" if fraction is None else _("%(v)s %%") % {"v": number_format(round(fraction * 100, 1), 1)}


def _uplift_display(r: dict) -> dict[str, str]:
    """The uplift's numbers as the page prints them (percentage points, money), in the
    reader's language."""
    u = r["uplift"]
    out = {"treated_rate": _pct(r["treated_outcome"].rate), "holdout_rate": _pct(r["holdout_outcome"].rate),
           "explanation": uplift_explanation(u) if u is not None else ""}
    if u is None or u.status != "ok":
        return out
    points = _("%(v)s puntos")
    low, high = u.conversion_diff_ci
    out.update(diff=points % {"v": number_format(round(u.conversion_diff * 100, 1), 1)},
               diff_low=points % {"v": number_format(round(low * 100, 1), 1)},
               diff_high=points % {"v": number_format(round(high * 100, 1), 1)})
    if u.incremental_revenue is not None:
        out["revenue"] = money_format(round(u.incremental_revenue, 2))
        if u.incremental_revenue_ci is not None:
            out["revenue_low"], out["revenue_high"] = (money_format(round(v, 2)) for v in u.incremental_revenue_ci)
    return out


@login_required
def template_list(request: AuthedRequest) -> HttpResponse:
    return render(request, "campaigns/templates.html", {
        "templates": MessageTemplate.objects.filter(is_reusable=True),
        "can_edit": can_edit_campaigns(request.user)})


@login_required
def template_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    _editor(request)
    template = get_object_or_404(MessageTemplate, pk=pk, is_reusable=True) if pk else None
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                template = template_save(user=request.user, name=form.cleaned_data["name"],
                                         channel=form.cleaned_data["channel"], content=form.content(),
                                         template=template)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Plantilla «%(name)s» guardada.") % {"name": template.name})
                return redirect("campaigns:templates")
    else:
        form = TemplateForm(initial=TemplateForm.initial_for(template) if template else {})
    return render(request, "campaigns/template_edit.html", {"form": form, "template": template,
                                                            "variables": _variables()})
