"""A campaign is "sent" once the outbox has dealt with every one of its messages — as soon as
the worker sends the last one, not at the next periodic tick — and its results page shows
each figure apart from its label."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.urls import reverse

from fideliza.campaigns.models import CampaignStatus
from fideliza.campaigns.services import campaign_launch
from fideliza.engagement.models import ContactBudget, Message, MessageStatus
from fideliza.engagement.tasks import outbox_sweep

from .conftest import LAUNCH

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_quiet_hours(settings):
    settings.FIDELIZA_QUIET_HOURS_START = ""
    settings.FIDELIZA_QUIET_HOURS_END = ""


def test_sent_when_the_worker_sends_the_last_message(segment, make_campaign, mailoutbox,
                                                     django_capture_on_commit_callbacks):
    campaign = make_campaign(segment)
    with time_machine.travel(LAUNCH, tick=False), django_capture_on_commit_callbacks(execute=True):
        campaign_launch(campaign, now=LAUNCH)  # the worker (immediate backend) sends on commit
    assert not Message.objects.filter(source=f"campaign:{campaign.pk}").exclude(status=MessageStatus.SENT).exists()
    assert len(mailoutbox) == 36
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT  # no tick needed


def test_sending_while_messages_wait_then_sent_when_they_leave(segment, make_campaign, mailoutbox,
                                                              django_capture_on_commit_callbacks):
    # Quiet hours until 12:00: every message waits in the outbox.
    ContactBudget.objects.create(scope="global", quiet_start="10:00", quiet_end="12:00", max_messages=10,
                                 window_days=7)
    campaign = make_campaign(segment)
    with time_machine.travel(LAUNCH, tick=False), django_capture_on_commit_callbacks(execute=True):
        campaign_launch(campaign, now=LAUNCH)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING and not mailoutbox
    with time_machine.travel(LAUNCH + timedelta(hours=1, minutes=5), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        outbox_sweep.call()
    assert len(mailoutbox) == 36
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_nothing_to_send_is_sent_at_once(make_campaign):
    from .conftest import customer_make, segment_make

    nobody_reachable = segment_make("Sin consentimiento", [customer_make(i, consent=False) for i in range(5)])
    campaign = make_campaign(nobody_reachable)
    campaign_launch(campaign, now=LAUNCH)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


class _Cards(HTMLParser):
    """(label, value) of each KPI card, and whether each part is its own block element."""

    BLOCKS = {"p", "div", "dt", "dd", "h2", "h3", "li"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[tuple[str, str, str]] = []  # (class, tag, text)
        self._open: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        kind = next((c for c in cls.split() if c in ("kpi-label", "kpi-value")), "")
        self._open.append((tag, kind))
        if kind:
            self.parts.append((kind, tag, ""))

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        if self._open and self._open[-1][1] and self.parts:
            kind, tag, text = self.parts[-1]
            self.parts[-1] = (kind, tag, text + data)


def test_result_cards_show_label_and_number_apart(client, marketing, segment, make_campaign,
                                                  django_capture_on_commit_callbacks):
    campaign = make_campaign(segment)
    with time_machine.travel(LAUNCH, tick=False), django_capture_on_commit_callbacks(execute=True):
        campaign_launch(campaign, now=LAUNCH)
    client.force_login(marketing)
    cards = _Cards()
    cards.feed(client.get(reverse("campaigns:results", args=[campaign.pk])).content.decode())
    assert ("kpi-label", "p", "Enviados") in cards.parts and ("kpi-value", "p", "36") in cards.parts
    # Every label and value is a block of its own: never read as «ENVIADOS36».
    assert cards.parts and all(tag in _Cards.BLOCKS for _kind, tag, _text in cards.parts)


@pytest.mark.parametrize(("treated", "holdout"), [
    ((400, 60, 9000.0, 300000.0), (100, 5, 400.0, 9000.0)),   # significant, with revenue
    ((40, 3, 0.0, 0.0), (10, 1, 0.0, 0.0)),                  # not significant, small holdout
    ((40, 3, 0.0, 0.0), (0, 0, 0.0, 0.0)),                   # no holdout
])
def test_results_paragraph_in_spanish_matches_the_core_and_english_has_no_spanish(treated, holdout):
    from django.utils import translation

    from fideliza.analytics.uplift import GroupStats, uplift_from_stats
    from fideliza.engagement.wording import uplift_explanation

    result = uplift_from_stats(GroupStats(*treated), GroupStats(*holdout))
    with translation.override("es"):
        assert uplift_explanation(result) == result.explanation.replace(" €", "\xa0€")
    with translation.override("en"):
        english = uplift_explanation(result)
    assert english and not ({"de", "del", "con", "los", "grupo", "compras"} & set(english.replace(".", " ").split()))
