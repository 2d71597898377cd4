"""Writes of surveys: the builder, invitations and their signed links, answers, finishing a
response (points, the follow-up of a detractor, the promoter's invitation), testimonials.

Sending is never done here: a campaign or an automation step that carries a survey asks
`survey_content` for each recipient's link and the block to add to the message, and hands
the message to engagement's one gate and outbox as any other message.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction, Role
from fideliza.accounts.services import Actor, audit_record
from fideliza.analytics.feedback import nps_band
from fideliza.core.bulk import insert_constant
from fideliza.customers.models import Customer
from fideliza.followups.models import FollowUpOrigin, FollowUpPriority
from fideliza.followups.services import (
    business_zone,
    followup_create,
    followup_notes_append,
    local_moment,
)

from .models import (
    Answer,
    Invitation,
    Question,
    QuestionKind,
    Response,
    ResponseChannel,
    Survey,
    SurveySend,
    SurveyStatus,
    Testimonial,
    month_of,
)
from .templates_catalog import TEMPLATES

LINK_SALT = "fideliza.surveys.link"
ERASED = "[suprimido]"
BATCH = 5000


# --- the builder -------------------------------------------------------------------------

SURVEY_FIELDS = ("name", "intro", "thanks", "status", "is_anonymous", "link_valid_days", "reminder_days",
                 "public_enabled", "public_identify", "followup_days", "followup_role", "promoter_referral")


@transaction.atomic
def survey_save(*, actor: Actor, survey: Survey | None = None, **fields: Any) -> Survey:
    """Create or change a survey's settings (its questions: `question_save`)."""
    unknown = set(fields) - set(SURVEY_FIELDS)
    if unknown:
        raise TypeError(f"unknown survey fields: {sorted(unknown)}")
    creating = survey is None
    survey = survey or Survey(created_by=actor.user)
    if not creating and survey.is_anonymous != fields.get("is_anonymous", survey.is_anonymous) \
            and survey.responses.exists():
        raise ValidationError({"is_anonymous": _("No se puede cambiar el anonimato de una encuesta con respuestas.")})
    for key, value in fields.items():
        setattr(survey, key, value.strip() if isinstance(value, str) else value)
    survey.full_clean()
    survey.save()
    audit_record(actor=actor, action=AuditAction.CREATE if creating else AuditAction.UPDATE,
                 entity="surveys.survey", entity_id=survey.pk, changes={"name": (None, survey.name)})
    return survey


@transaction.atomic
def survey_from_template(*, actor: Actor, template: str, name: str = "") -> Survey:
    """A new survey with the questions of a ready-made questionnaire."""
    spec = TEMPLATES.get(template)
    if spec is None:
        raise ValidationError({"template": _("Plantilla desconocida.")})
    survey = survey_save(actor=actor, name=name or str(spec["name"]), intro=str(spec.get("intro", "")),
                         thanks=_("¡Gracias por responder!"))
    survey.template = template
    survey.save(update_fields=["template"])
    by_position: dict[int, Question] = {}
    for position, q in enumerate(spec["questions"], start=1):
        by_position[position] = question_save(
            survey=survey, kind=q["kind"], text=str(q["text"]), required=q.get("required", False),
            choices=q.get("choices", []), show_if=by_position.get(q.get("show_if", 0)),
            show_if_max=q.get("show_if_max"))
    return survey


def _clean_choices(kind: str, choices: Iterable[str]) -> list[str]:
    cleaned = [c.strip() for c in choices if c and c.strip()]
    if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        if len(cleaned) < 2:
            raise ValidationError({"choices": _("Escriba al menos dos opciones, una por línea.")})
        if len(set(cleaned)) != len(cleaned):
            raise ValidationError({"choices": _("Hay opciones repetidas.")})
        return cleaned
    return []


@transaction.atomic
def question_save(*, survey: Survey, kind: str, text: str, required: bool = False,
                  choices: Iterable[str] = (), scale_max: int = 5, show_if: Question | None = None,
                  show_if_max: int | None = None, question: Question | None = None) -> Question:
    """Add a question at the end (or change `question`). The condition "show only if
    question A ≤ value" needs a scored question A placed before this one."""
    if kind not in QuestionKind.values:
        raise ValidationError({"kind": _("Tipo de pregunta desconocido.")})
    if not text.strip():
        raise ValidationError({"text": _("Escriba la pregunta.")})
    errors: dict[str, list[str]] = {}
    if show_if is not None:
        if show_if.survey_id != survey.pk or (question is not None and show_if.position >= question.position):
            errors["show_if"] = [_("La condición debe referirse a una pregunta anterior de esta encuesta.")]
        elif show_if.range is None:
            errors["show_if"] = [_("La condición necesita una pregunta con puntuación (NPS, CSAT, CES, escala o sí/no).")]
        elif show_if_max is None:
            errors["show_if_max"] = [_("Indique el valor máximo para mostrar la pregunta.")]
    else:
        show_if_max = None
    if errors:
        raise ValidationError(errors)
    if question is None:
        last = survey.questions.order_by("-position").values_list("position", flat=True).first() or 0
        question = Question(survey=survey, position=last + 1)
    question.kind, question.text, question.required = kind, text.strip(), required
    question.choices = _clean_choices(kind, choices)
    question.scale_max = scale_max
    question.show_if, question.show_if_max = show_if, show_if_max
    question.full_clean()
    question.save()
    return question


@transaction.atomic
def question_delete(*, question: Question) -> None:
    """Remove a question (and its answers); later questions move up one place."""
    survey_id, position = question.survey_id, question.position
    Question.objects.filter(show_if=question).update(show_if=None, show_if_max=None)
    question.delete()
    for q in Question.objects.filter(survey_id=survey_id, position__gt=position).order_by("position"):
        Question.objects.filter(pk=q.pk).update(position=q.position - 1)


# --- distribution: which send carries which survey -----------------------------------------

@transaction.atomic
def survey_attach(*, source: str, survey: Survey | None) -> None:
    """Make the send `source` ("campaign:12", "automation:3:step:1") carry `survey` (None:
    no survey)."""
    SurveySend.objects.filter(source=source).delete()
    if survey is not None:
        if survey.status != SurveyStatus.ACTIVE:
            raise ValidationError({"survey": _("La encuesta no está abierta.")})
        SurveySend.objects.create(source=source, survey=survey)


@transaction.atomic
def survey_sends_replace(*, prefix: str, sends: Mapping[str, Survey]) -> None:
    """The surveys the sends whose source starts with `prefix` carry, all at once (an
    automation's steps: "automation:3:step:"): {source: survey}; the others carry none."""
    SurveySend.objects.filter(source__startswith=prefix).delete()
    for source, survey in sends.items():
        if not source.startswith(prefix):
            raise ValueError(f"{source!r} does not start with {prefix!r}")
        survey_attach(source=source, survey=survey)


def _nonce() -> str:
    return secrets.token_urlsafe(16)


def link_token(nonce: str) -> str:
    """The token of a personal link: the nonce signed with the secret key."""
    return signing.Signer(salt=LINK_SALT).sign(nonce)


def nonce_of(token: str) -> str | None:
    """The nonce of a well-signed token; None for a forged or damaged one."""
    try:
        return signing.Signer(salt=LINK_SALT).unsign(token)
    except signing.BadSignature:
        return None


def public_url(path: str) -> str:
    return settings.FIDELIZA_PUBLIC_URL.rstrip("/") + path


@dataclass(frozen=True)
class SurveyContent:
    """What a message carrying a survey adds for one recipient."""

    url: str
    text: str
    html: str


def _first_scored(survey: Survey) -> Question | None:
    first = survey.questions.order_by("position").first()
    return first if first is not None and first.kind in (QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES,
                                                         QuestionKind.RATING) else None


class _Blocks:
    """What a survey adds to each recipient's message, for many recipients: the URL pattern
    is reversed, the texts translated and the HTML built once, with a placeholder for the
    link; each recipient costs one signature and a few replacements."""

    PLACEHOLDER = "@@ENLACE@@"

    def __init__(self, survey: Survey, first: Question | None) -> None:
        self.base = public_url(reverse("surveys_public:answer", args=["TOKEN"]))
        self.signer = signing.Signer(salt=LINK_SALT)
        link = self.PLACEHOLDER
        if first is None:
            self.text = _("Responda la encuesta «%(name)s»: %(url)s") % {"name": survey.name, "url": link}
            self.html = f'<p><a href="{link}">{html.escape(_("Responder la encuesta"))}</a></p>'
            return
        low, high = first.range or (0, 10)
        cell = "display:block;padding:6px 8px;border:1px solid #888;text-decoration:none"  # inline: mail clients
        cells = "".join(
            f'<td><a href="{link}?nota={n}" style="{cell}" aria-label="{n}">{n}</a></td>'
            for n in range(low, high + 1))
        self.html = (f'<div class="survey-question"><p><strong>{html.escape(first.text)}</strong></p>'
                     f'<table role="presentation" cellpadding="2"><tr>{cells}</tr></table>'
                     f'<p><a href="{link}">{html.escape(_("Abrir la encuesta"))}</a></p></div>')
        self.text = f"{first.text}\n" + _("Responda aquí: %(url)s") % {"url": link}

    def url(self, nonce: str) -> str:
        return self.base.replace("TOKEN", self.signer.sign(nonce), 1)

    def content(self, nonce: str) -> SurveyContent:
        url = self.url(nonce)
        return SurveyContent(url, self.text.replace(self.PLACEHOLDER, url),
                             self.html.replace(self.PLACEHOLDER, html.escape(url)))


def _blocks(survey: Survey, first: Question | None, nonce: str) -> SurveyContent:
    return _Blocks(survey, first).content(nonce)


def survey_content(*, source: str, customer_ids: Sequence[int], now: datetime) -> dict[int, SurveyContent]:
    """For a send that carries a survey: one invitation per customer and what to add to each
    one's message ({} when `source` carries none). Set-based (bulk insert); called inside the
    sender's transaction, so the invitations exist only if the messages do."""
    attached = SurveySend.objects.select_related("survey").filter(source=source).first()
    if attached is None or not customer_ids:
        return {}
    survey = attached.survey
    first = _first_scored(survey)
    expires = now + timedelta(days=survey.link_valid_days)
    nonces = {cid: _nonce() for cid in dict.fromkeys(customer_ids)}
    rows = [(None if survey.is_anonymous else cid, nonce) for cid, nonce in nonces.items()]
    insert_constant(Invitation, {"survey": survey.pk, "source": source, "created_at": now, "expires_at": expires},
                    ["customer", "nonce"], rows)
    blocks = _Blocks(survey, first)
    return {cid: blocks.content(nonce) for cid, nonce in nonces.items()}


def survey_content_sample(source: str) -> SurveyContent | None:
    """The block a preview shows (a link that answers nothing)."""
    attached = SurveySend.objects.select_related("survey").filter(source=source).first()
    if attached is None:
        return None
    return _blocks(attached.survey, _first_scored(attached.survey), "vista-previa")


def invitations_unsent(*, source: str, customer_ids: Iterable[int]) -> int:
    """Drop the invitations of recipients whose message was not queued (skipped, duplicate):
    nobody can answer them and they must not lower the response rate. Anonymous surveys
    keep no customer: their unsent invitations are dropped by count, newest first."""
    ids = list(customer_ids)
    if not ids:
        return 0
    attached = SurveySend.objects.select_related("survey").filter(source=source).first()
    if attached is None:
        return 0
    qs = Invitation.objects.filter(source=source, answered_at__isnull=True)
    if attached.survey.is_anonymous:
        doomed = list(qs.filter(customer__isnull=True).order_by("-pk").values_list("pk", flat=True)[:len(ids)])
        return Invitation.objects.filter(pk__in=doomed).delete()[0]
    total = 0
    for start in range(0, len(ids), BATCH):
        total += qs.filter(customer_id__in=ids[start:start + BATCH]).delete()[0]
    return total


def message_with_survey(text: str, body_html: str, content: SurveyContent) -> tuple[str, str]:
    """The text and HTML parts of a message with the survey block added (before </body>)."""
    text = f"{text.rstrip()}\n\n{content.text}\n" if text else content.text
    if body_html:
        marker = body_html.lower().rfind("</body>")
        body_html = (body_html[:marker] + content.html + body_html[marker:]) if marker >= 0 \
            else body_html + content.html
    return text, body_html


# --- answering ---------------------------------------------------------------------------

class LinkClosed(Exception):
    """The link cannot be answered: `reason` is "expired", "finished" or "closed"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation of a personal link; None for a forged, damaged or unknown one."""
    nonce = nonce_of(token)
    if nonce is None:
        return None
    return Invitation.objects.select_related("survey").filter(nonce=nonce).first()


def _check_open(invitation: Invitation, now: datetime) -> None:
    if invitation.answered_at is not None:
        raise LinkClosed("finished")
    if invitation.survey.status != SurveyStatus.ACTIVE:
        raise LinkClosed("closed")
    if now >= invitation.expires_at:
        raise LinkClosed("expired")


def _snapshot_fields(customer: Customer | None) -> dict[str, str]:
    """The tier and ABC class of the customer when answering (blank when unknown)."""
    if customer is None:
        return {"tier": "", "abc_class": ""}
    from fideliza.insights.selectors import customer_insights_context
    from fideliza.loyalty.selectors import member_for

    member = member_for(customer)
    metrics = customer_insights_context(customer).get("insights")
    return {"tier": (member.tier.name if member is not None and member.tier is not None else "")[:60],
            "abc_class": (getattr(metrics, "abc_revenue", "") or "")[:2]}


@transaction.atomic
def response_for_invitation(*, invitation: Invitation, now: datetime | None = None) -> Response:
    """The response of a personal link: the partial one to resume, or a new one. Raises
    LinkClosed when the link is finished, expired or its survey closed."""
    now = now or timezone.now()
    invitation = Invitation.objects.select_for_update(of=("self",)).select_related("survey", "customer").get(pk=invitation.pk)
    _check_open(invitation, now)
    existing = Response.objects.filter(invitation=invitation).first()
    if existing is not None:
        return existing
    customer = None if invitation.survey.is_anonymous else invitation.customer
    return Response.objects.create(survey=invitation.survey, invitation=invitation, customer=customer,
                                   channel=ResponseChannel.LINK, started_at=now, month=month_of(now),
                                   **_snapshot_fields(customer))


@transaction.atomic
def response_public_start(*, survey: Survey, customer: Customer | None = None, store_id: int | None = None,
                          now: datetime | None = None) -> Response:
    """A response through the till's public link (identified or not)."""
    now = now or timezone.now()
    if survey.status != SurveyStatus.ACTIVE or not survey.public_enabled:
        raise LinkClosed("closed")
    if survey.is_anonymous:
        customer = None
    return Response.objects.create(survey=survey, customer=customer, channel=ResponseChannel.PUBLIC,
                                   store_id=store_id, started_at=now, month=month_of(now),
                                   **_snapshot_fields(customer))


def visible_questions(questions: Sequence[Question], numbers: Mapping[int, int | None]) -> list[Question]:
    """The questions shown given the numeric answers so far ({question id: value}): a
    conditional question only while its question is answered with at most its value."""
    shown = []
    for q in questions:
        if q.show_if_id is not None:
            value = numbers.get(q.show_if_id)
            if value is None or q.show_if_max is None or value > q.show_if_max:
                continue
        shown.append(q)
    return shown


def _parse(question: Question, raw: Any) -> tuple[int | None, str, list[str]] | None:
    """(number, text, options) of one raw answer, None when empty; ValidationError when bad."""
    kind = question.kind
    if kind == QuestionKind.TEXT:
        text = str(raw or "").strip()[:5000]
        return (None, text, []) if text else None
    if kind == QuestionKind.MULTIPLE:
        values = [raw] if isinstance(raw, str) else list(raw or [])
        values = [str(v) for v in values if str(v).strip()]
        if not values:
            return None
        if any(v not in question.choices for v in values):
            raise ValidationError({f"q{question.pk}": _("Elija entre las opciones ofrecidas.")})
        return None, "", values
    if kind == QuestionKind.SINGLE:
        value = str(raw or "").strip()
        if not value:
            return None
        if value not in question.choices:
            raise ValidationError({f"q{question.pk}": _("Elija entre las opciones ofrecidas.")})
        return None, "", [value]
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None
    if kind == QuestionKind.YES_NO and text in ("si", "sí", "yes"):
        text = "1"
    elif kind == QuestionKind.YES_NO and text == "no":
        text = "0"
    low, high = question.range or (0, 10)
    try:
        number = int(text)
    except ValueError:
        raise ValidationError({f"q{question.pk}": _("Elija un valor de la escala.")}) from None
    if not low <= number <= high:
        raise ValidationError({f"q{question.pk}": _("Elija un valor entre %(low)s y %(high)s.")
                               % {"low": low, "high": high}})
    return number, "", []


@dataclass
class Outcome:
    response: Response
    finished: bool
    followup_id: int | None = None
    points: int = 0


@transaction.atomic
def response_answer(*, response: Response, answers: Mapping[int, Any], finish: bool, actor: Actor | None = None,
                    now: datetime | None = None) -> Outcome:
    """Record answers ({question id: raw value}) of a partial response; with `finish`,
    check the required visible questions and close it.

    In the same transaction: the first NPS/CSAT/CES scores on the response, the follow-up
    of a detractor (NPS 0–6) or an unhappy customer (CSAT ≤ 2) as soon as that score is
    recorded (the free text joins its notes when the response is finished), and at the
    end the survey points (once per survey and customer) and the promoter's invitation.
    """
    now = now or timezone.now()
    response = Response.objects.select_for_update(of=("self",)).select_related("survey", "customer", "invitation").get(
        pk=response.pk)
    if response.finished_at is not None:
        raise LinkClosed("finished")
    if response.invitation is not None:
        _check_open(response.invitation, now)
    survey = response.survey
    questions = list(survey.questions.order_by("position"))
    by_id = {q.pk: q for q in questions}
    existing = {a.question_id: a for a in response.answers.all()}
    errors: dict[str, list[str]] = {}
    parsed: dict[int, tuple[int | None, str, list[str]] | None] = {}
    for qid, raw in answers.items():
        question = by_id.get(int(qid))
        if question is None:
            continue
        try:
            parsed[question.pk] = _parse(question, raw)
        except ValidationError as exc:
            for key, msgs in exc.message_dict.items():
                errors.setdefault(key, []).extend(msgs)
    numbers: dict[int, int | None] = {qid: a.number for qid, a in existing.items()}
    numbers.update({qid: (p[0] if p else None) for qid, p in parsed.items()})
    shown = visible_questions(questions, numbers)
    if finish:
        for q in shown:
            answered = bool(parsed[q.pk]) if q.pk in parsed else q.pk in existing
            if q.required and not answered:
                errors.setdefault(f"q{q.pk}", []).append(_("Esta pregunta es obligatoria."))
    if errors:
        raise ValidationError(errors)
    shown_ids = {q.pk for q in shown}
    for qid, value in parsed.items():
        if value is None or qid not in shown_ids:
            Answer.objects.filter(response=response, question_id=qid).delete()
            continue
        number, text, options = value
        Answer.objects.update_or_create(response=response, question_id=qid,
                                        defaults={"number": number, "text": text, "options": options})
    if finish:  # answers to questions hidden by a later change of score do not count
        Answer.objects.filter(response=response).exclude(question_id__in=shown_ids).delete()
    _denormalise(response, questions)
    outcome = Outcome(response=response, finished=finish)
    earlier_followup = response.followup_id  # created by an earlier answer: its notes lack the text
    outcome.followup_id = _close_the_loop(response, now)
    if finish:
        response.finished_at = now
        response.save(update_fields=["finished_at"])
        if response.invitation is not None:
            Invitation.objects.filter(pk=response.invitation.pk).update(answered_at=now)
        if earlier_followup is not None and response.verbatim:
            followup_notes_append(followup_id=earlier_followup,
                                  text=_("Comentarios: %(text)s") % {"text": response.verbatim})
        outcome.points = _award_points(response, now)
        _promoter_invite(response, now)
    return outcome


def _denormalise(response: Response, questions: Sequence[Question]) -> None:
    answers = {a.question_id: a for a in response.answers.all()}
    values: dict[str, Any] = {"nps": None, "csat": None, "ces": None}
    texts = []
    for q in questions:
        a = answers.get(q.pk)
        if a is None:
            continue
        if q.kind in values and values[q.kind] is None:
            values[q.kind] = a.number
        if q.kind == QuestionKind.TEXT and a.text:
            texts.append(a.text)
    for key, value in values.items():
        setattr(response, key, value)
    response.verbatim = "\n".join(texts)
    response.save(update_fields=["nps", "csat", "ces", "verbatim"])


def add_business_days(day: date, days: int) -> date:
    """`days` working days after `day` in the business's calendar (weekends and its public
    holidays skipped, `core.calendar`)."""
    from fideliza.core.calendar import add_business_days as add_days
    from fideliza.core.calendar import business_calendar

    return add_days(day, days, *business_calendar())


def _close_the_loop(response: Response, now: datetime) -> int | None:
    """The follow-up of a detractor or an unhappy customer, once per response."""
    if response.followup_id is not None or response.customer is None:
        return response.followup_id
    unhappy_nps = response.nps is not None and nps_band(response.nps) == "detractor"
    unhappy_csat = response.csat is not None and response.csat <= 2
    if not (unhappy_nps or unhappy_csat):
        return None
    survey = response.survey
    local_day = now.astimezone(business_zone()).date()
    due = local_moment(add_business_days(local_day, survey.followup_days), time(18))
    score = (_("NPS %(n)s") % {"n": response.nps}) if unhappy_nps else (_("CSAT %(n)s") % {"n": response.csat})
    # The configured role, else the account executive, else the owner: never no one, and
    # never a refusal that would lose the answer (an executive who left the business).
    role, assignee = survey.followup_role, None
    if not role:
        executive = response.customer.account_executive
        if executive is not None and executive.is_active:
            assignee = executive
        else:
            role = Role.OWNER
    followup = followup_create(
        actor=Actor.system(f"survey:{survey.pk}"), customer=response.customer,
        title=(_("Llamar: respondió %(score)s en «%(survey)s»") % {"score": score, "survey": survey.name})[:200],
        due_at=due, assignee=assignee, assignee_role=role, priority=FollowUpPriority.HIGH,
        notes=(_("Comentarios: %(text)s") % {"text": response.verbatim}) if response.verbatim else "",
        origin_kind=FollowUpOrigin.SURVEY, origin_id=response.pk)
    response.followup_id = followup.pk
    response.save(update_fields=["followup_id"])
    return followup.pk


def _award_points(response: Response, now: datetime) -> int:
    """Loyalty's `survey_points`, once per survey and customer (the ledger's cause key)."""
    if response.customer is None:
        return 0
    from fideliza.loyalty.models import CauseType
    from fideliza.loyalty.selectors import member_for
    from fideliza.loyalty.services import bonus_award

    member = member_for(response.customer)
    if member is None:
        return 0
    before = member.points_balance
    bonus_award(member=member, cause_type=CauseType.SURVEY, cause_id=f"survey:{response.survey_id}",
                actor=Actor.system(f"survey:{response.survey_id}"), occurred_at=now, note=response.survey.name[:200])
    after = member_for(response.customer)
    return (after.points_balance - before) if after is not None else 0  # 0: this survey was already rewarded


def _promoter_invite(response: Response, now: datetime) -> int | None:
    """A promoter (9–10) of a survey that asks for it receives their referral code and a
    request for a testimonial, through the outbox (consent and budget apply)."""
    survey = response.survey
    if not survey.promoter_referral or response.customer is None or response.nps is None or response.nps < 9:
        return None
    from fideliza.engagement.services import MessageRequest, channel_choose, messages_queue
    from fideliza.loyalty.selectors import member_for

    customer = response.customer
    channel = channel_choose([customer.pk], ["email"], kind="marketing").get(customer.pk)
    if channel is None:
        return None
    member = member_for(customer)
    code = member.referral_code if member is not None else ""
    url = public_url(reverse("surveys_public:testimonial", args=[link_token(f"t{response.pk}")]))
    lines = [_("¡Gracias por recomendarnos, %(name)s!") % {"name": customer.first_name or customer.company_name or ""}]
    if code:
        lines.append(_("Comparta su código de recomendación con sus amigos: %(code)s") % {"code": code})
    lines.append(_("¿Nos deja unas palabras que podamos publicar? %(url)s") % {"url": url})
    text = "\n\n".join(lines)
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines[:-1]) + (
        f'<p><a href="{html.escape(url)}">{html.escape(_("Escribir un testimonio"))}</a></p>')
    (decision,) = messages_queue([MessageRequest(
        customer_id=customer.pk, channel=channel, kind="marketing", source=f"survey:{survey.pk}",
        dedupe_key=f"survey:{survey.pk}:promoter:{customer.pk}", subject=_("Gracias por su opinión"),
        body_text=text, body_html=body, topic="")], now=now)
    return decision.message_id


def survey_for_template(template: str) -> Survey | None:
    """The newest open, named (not anonymous) survey made from `template`: the one a
    service sends by itself (the CSAT after a complaint)."""
    return (Survey.objects.filter(template=template, status=SurveyStatus.ACTIVE, is_anonymous=False)
            .order_by("-pk").first())


def survey_invite(*, survey: Survey, customer_id: int, source: str, subject: str, intro: str,
                  now: datetime | None = None) -> int | None:
    """Invite one customer to `survey` by e-mail, through the outbox's gate (consent,
    contact budget, quiet hours; once per `source` and customer): the message's id, or None
    when the gate held it back (the unused invitation is dropped) or the customer was
    already invited by `source`."""
    from fideliza.engagement.services import MessageRequest, channel_choose, messages_queue

    now = now or timezone.now()
    if survey.status != SurveyStatus.ACTIVE or Invitation.objects.filter(source=source, customer_id=customer_id).exists():
        return None  # closed, or already invited by this send (its link stays valid)
    channel = channel_choose([customer_id], ["email"], kind="marketing").get(customer_id)
    if channel is None:
        return None
    survey_attach(source=source, survey=survey)
    content = survey_content(source=source, customer_ids=[customer_id], now=now)[customer_id]
    text, body = message_with_survey(intro, f"<p>{html.escape(intro)}</p>", content)
    (decision,) = messages_queue([MessageRequest(
        customer_id=customer_id, channel=channel, kind="marketing", source=source,
        dedupe_key=f"{source}:{customer_id}", subject=subject, body_text=text, body_html=body, topic="")], now=now)
    if decision.message_id is None:
        invitations_unsent(source=source, customer_ids=[customer_id])
    return decision.message_id


def response_for_testimonial_token(token: str) -> Response | None:
    nonce = nonce_of(token)
    if nonce is None or not nonce.startswith("t") or not nonce[1:].isdigit():
        return None
    return Response.objects.select_related("customer").filter(pk=int(nonce[1:]), customer__isnull=False).first()


# --- testimonials ------------------------------------------------------------------------

@transaction.atomic
def testimonial_record(*, customer: Customer, text: str, consent: bool, consent_where: str = "",
                       consent_until: date | None = None, media_url: str = "", response: Response | None = None,
                       now: datetime | None = None) -> Testimonial:
    """A testimonial; publishable only with consent, where and until when it says."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if not text.strip():
        errors["text"] = [_("Escriba el testimonio.")]
    if consent and not consent_where.strip():
        errors["consent_where"] = [_("Indique dónde se puede publicar.")]
    if consent_until is not None and consent_until <= now.astimezone(business_zone()).date():
        errors["consent_until"] = [_("La fecha debe ser futura.")]
    if errors:
        raise ValidationError(errors)
    row = Testimonial(customer=customer, response=response, text=text.strip(), media_url=media_url.strip(),
                      consent=consent, consent_where=consent_where.strip() if consent else "",
                      consent_until=consent_until if consent else None, consent_at=now if consent else None,
                      created_at=now)
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def testimonial_revoke(*, testimonial: Testimonial, now: datetime | None = None) -> Testimonial:
    """Withdraw the consent: the testimonial is hidden from every published list at once."""
    row = Testimonial.objects.select_for_update().get(pk=testimonial.pk)
    if row.revoked_at is None:
        row.revoked_at = now or timezone.now()
        row.consent = False
        row.save(update_fields=["revoked_at", "consent"])
    return row


# --- reminders ---------------------------------------------------------------------------

def reminders_send(*, now: datetime | None = None) -> int:
    """Remind, once, whoever has not answered `reminder_days` after the invitation, while the
    link is still valid, through the outbox (consent, budget and quiet hours apply). Anonymous
    surveys keep no customer, so they get no reminder."""
    from fideliza.engagement.services import MessageRequest, channel_choose, messages_queue

    now = now or timezone.now()
    queued = 0
    for survey in Survey.objects.filter(status=SurveyStatus.ACTIVE, reminder_days__isnull=False, is_anonymous=False):
        assert survey.reminder_days is not None
        due = (Invitation.objects.filter(survey=survey, answered_at__isnull=True, reminded_at__isnull=True,
                                         customer__isnull=False, expires_at__gt=now,
                                         created_at__lte=now - timedelta(days=survey.reminder_days))
               .order_by("pk"))
        blocks = _Blocks(survey, _first_scored(survey))
        while True:
            with transaction.atomic():
                batch = list(due.select_for_update()[:BATCH])
                if not batch:
                    break
                ids = [i.customer_id for i in batch if i.customer_id is not None]
                chosen = channel_choose(ids, ["email"], kind="marketing")
                requests = []
                for inv in batch:
                    if inv.customer_id is None or not chosen.get(inv.customer_id):
                        continue
                    block = blocks.content(inv.nonce)
                    intro = _("Hace unos días le pedimos su opinión. Todavía está a tiempo:")
                    text, body = message_with_survey(
                        intro, f"<html><body><p>{html.escape(intro)}</p></body></html>", block)
                    requests.append(MessageRequest(
                        customer_id=inv.customer_id, channel="email", kind="marketing",
                        source=f"survey:{survey.pk}:reminder", dedupe_key=f"survey-reminder:{inv.pk}",
                        subject=_("Recordatorio: %(name)s") % {"name": survey.name}, body_text=text, body_html=body))
                decisions = messages_queue(requests, now=now) if requests else []
                queued += sum(1 for d in decisions if d.status in ("queued", "deferred"))
                Invitation.objects.filter(pk__in=[i.pk for i in batch]).update(reminded_at=now)
    return queued


# --- erasure -----------------------------------------------------------------------------

def responses_erase(customer_ids: list[int], values: set[str]) -> int:
    """Erasure (customers.privacy): an erased card's responses keep their scores (the
    survey's figures stay right) but lose every free text."""
    rows = Response.objects.filter(customer_id__in=customer_ids)
    Answer.objects.filter(response__in=rows).exclude(text="").update(text=ERASED)
    return rows.update(verbatim="")


def testimonials_erase(customer_ids: list[int], values: set[str]) -> int:
    """Erasure: an erased person's testimonials are deleted (nothing left to publish)."""
    return Testimonial.objects.filter(customer_id__in=customer_ids).delete()[0]

