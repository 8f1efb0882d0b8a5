"""With [tracking] sms_short_links on, an SMS goes out with its links replaced by short links on the public base
URL. The pre-send estimate and the template editor's segment count must count those links, not the ones the
marketer wrote: a short written link (t.cn/…) becomes a longer /l/<token> one and can add a segment."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from campaigns import create_campaign, create_template, estimate_campaign, preview_template, send_campaign
from campaigns.responses.tracking import sms_as_sent
from channels import count_sms
from core.config import load_config
from tests.campaigns.factories import make_contact, make_dispatcher

BASE_URL = "https://herald.example.com"  # make_dispatcher's base_url: the sender and the estimate agree on it
TRACKING = load_config("/dev/null", {}).tracking  # the shipped defaults: clicks on, SMS links left alone
SHORT = replace(TRACKING, sms_short_links=True)
# 145 GSM-7 characters as written (one segment); the short link makes it longer than 160 (two).
BODY = "x" * 130 + " https://t.cn/a"


def _estimate(session, clock, campaign_id, tracking):
    return estimate_campaign(session, campaign_id, now=clock.now(), price=Decimal("0.05"), currency="CNY",
                             rate="10/second", tracking=tracking, base_url=BASE_URL)


def test_the_estimate_counts_segments_of_the_message_as_it_is_sent(session, database, channel, clock, backend):
    for _ in range(3):
        make_contact(session, now=clock.now())
    template = create_template(session, name="Sale", channel="sms", body=BODY, now=clock.now())
    campaign = create_campaign(session, name="Sale", channel="sms", template_id=template.id, now=clock.now())
    assert count_sms(BODY).segments == 1

    written = _estimate(session, clock, campaign.id, TRACKING)
    shortened = _estimate(session, clock, campaign.id, SHORT)
    assert (written.segments_per_message, written.segments, written.cost) == (Decimal("1.00"), 3, Decimal("0.15"))
    assert (shortened.segments_per_message, shortened.segments, shortened.cost) == (Decimal("2.00"), 6,
                                                                                     Decimal("0.30"))

    send_campaign(session, campaign.id, now=clock.now(), channel_description="scripted://test", dry_run=False)
    make_dispatcher(database, channel, clock, tracking=SHORT).dispatch_due()
    sent = [message.body for message in channel.sent]
    assert len(sent) == 3 and all(f"{BASE_URL}/l/" in body for body in sent)
    assert sum(count_sms(body).segments for body in sent) == shortened.segments


def test_a_campaign_that_does_not_track_clicks_is_estimated_as_written(session, clock):
    make_contact(session, now=clock.now())
    template = create_template(session, name="Sale", channel="sms", body=BODY, now=clock.now())
    campaign = create_campaign(session, name="Sale", channel="sms", template_id=template.id, now=clock.now())
    campaign.track_clicks = False
    session.commit()
    assert _estimate(session, clock, campaign.id, SHORT).segments == 1
    assert _estimate(session, clock, campaign.id, replace(SHORT, clicks=False)).segments == 1


def test_the_editor_counts_links_as_short_links_when_they_will_be(session, clock):
    make_contact(session, now=clock.now())
    written = preview_template(session, channel="sms", body=BODY, contact_id=None, base_url=BASE_URL,
                               tracking=TRACKING)
    shortened = preview_template(session, channel="sms", body=BODY, contact_id=None, base_url=BASE_URL + "/",
                                 tracking=SHORT)
    assert (written.sms.segments, written.short_links) == (1, False)
    assert (shortened.sms.segments, shortened.short_links) == (2, True)
    assert shortened.body == BODY  # the preview shows what was written; only the count uses the short link
    assert shortened.sms.characters == len(sms_as_sent(BODY, base_url=BASE_URL, message_id=1, link_id=1))
    assert shortened.to_dict()["short_links"] is True


def test_herald_own_links_are_not_shortened(session):
    body = f"Stop: {BASE_URL}/u/12/abc and https://shop.example/a"
    sent = sms_as_sent(body, base_url=BASE_URL, message_id=1_000_000, link_id=40)
    assert sent.startswith(f"Stop: {BASE_URL}/u/12/abc and {BASE_URL}/l/lfls.14.")
    assert len(sent.rsplit(".", 1)[1]) == 12  # the signature
