"""A test send changes no figure: the campaign report, the overview, frequency caps, segment conditions,
attribution and the contact's timeline read the same before and after a test of the campaign was sent,
opened, clicked and unsubscribed from — while the test itself really went through the outbox."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from audiences import count_segment, current_consents
from campaigns import send_test_message
from campaigns.audience.caps import recently_sent
from campaigns.lifecycle import list_campaigns
from campaigns.models import Campaign, Conversion, Message, MessageEvent
from campaigns.responses.timeline import contact_timeline
from campaigns.responses.tracking import Fetch, parse_click_token, record_click, record_open
from campaigns.responses.unsubscribe import unsubscribe_recipient
from campaigns.results.conversions import record_conversion
from campaigns.results.report_campaign import campaign_report
from campaigns.results.report_overview import overview_report
from campaigns.results.report_settings import ReportSettings
from core.config import load_config
from tests.campaigns import engagement_factories as f
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign

TRACKING = load_config("/dev/null", {}).tracking
HTML = ('<p>Hi {{ contact.first_name }}, <a href="https://shop.example.com/autumn">our autumn menu</a>.</p>'
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>')
REPORT = ReportSettings("USD", dormant_days=180)


def figures(session, campaign_id, contact_id, clock):
    """Every figure a test send could touch, as plain values."""
    now = clock.now()
    report = campaign_report(session, campaign_id, REPORT).to_dict()
    overview = overview_report(session, start=now - timedelta(days=1), end=now + timedelta(days=1),
                               settings=REPORT).to_dict()
    cap = session.scalar(select(recently_sent(contact_id, channel="email", since=now - timedelta(days=7))))
    def matching(field):
        rule = {"field": field, "op": "in_last_days", "value": {"days": 7}}
        return count_segment(session, {"all": [rule]}, today=now.date())

    received, clicked = matching("message.received"), matching("message.clicked")
    # The conversion the contact makes below is theirs and belongs on their timeline; the rest must not move.
    timeline = [(e.kind, e.title) for e in contact_timeline(session, contact_id) if e.kind != "conversion"]
    session.commit()
    return {"report": report, "overview": overview, "cap": cap, "received": received, "clicked": clicked,
            "campaigns": [c.id for c in list_campaigns(session)], "timeline": timeline,
            "responses": session.scalar(select(func.count()).select_from(MessageEvent)
                                        .where(MessageEvent.type.in_(("clicked", "opened", "unsubscribed")))),
            "consent": current_consents(session, contact_id)["email"].status
            if "email" in current_consents(session, contact_id) else None}


def test_a_test_send_changes_no_figure(backend, session, database, config, clock, channel):
    buyer = make_contact(session, now=clock.now(), first_name="Ann", email="ann@example.com")
    campaign, run = start_campaign(session, now=clock.now(), channel="email", subject="Autumn menu", html=HTML)
    dispatcher = make_dispatcher(database, channel, clock, tracking=TRACKING)
    dispatcher.dispatch_due()
    clock.advance(minutes=5)
    before = figures(session, campaign.id, buyer.id, clock)
    assert before["report"]["counts"]["sent"] == 1 and before["cap"] == 1 and before["received"] == 1

    sent = send_test_message(session, config=config, now=clock.now(), campaign_id=campaign.id, contact_id=buyer.id,
                             addresses=["Me@Example.com"])
    assert sent.addresses == ("me@example.com",)
    dispatcher.dispatch_due()
    test = channel.sent[-1]
    # It went through the real rendering: the contact's data, a tracked link, the unsubscribe headers, marked.
    assert test.to == "me@example.com" and test.subject == "[Test] Autumn menu"
    assert test.headers["X-Herald-Test"] == "yes"
    assert "Hi Ann" in test.html and "/l/" in test.html and test.headers["List-Unsubscribe"].startswith("<https://")
    [row] = [m for m in messages_of(session) if m.id == sent.message_ids[0]]
    assert row.status == "sent" and row.contact_id == buyer.id and row.cost is not None

    # The marketer opens it, clicks it and tries its unsubscribe link; the contact then buys.
    at = clock.advance(minutes=1)
    token = re.search(r"/l/([^\"]+)", test.html).group(1)
    assert parse_click_token("test-secret", token) is not None
    fetch = Fetch(method="GET", user_agent="Mozilla/5.0 (Macintosh) Safari/605", ip="203.0.113.9", at=at)
    assert record_click(session, token, fetch, secret="test-secret", settings=TRACKING) == \
        "https://shop.example.com/autumn"
    open_token = re.search(r"/o/([^\"]+)\.gif", test.html)
    if open_token:
        record_open(session, open_token.group(1), fetch, secret="test-secret", settings=TRACKING)
    unsubscribe_recipient(session, row.id, now=at)
    conversion, _ = record_conversion(session, {"order_id": "A-1", "email": "ann@example.com", "amount": "30",
                                                "occurred_at": at.isoformat()}, f.SETTINGS, now=at)

    after = figures(session, campaign.id, buyer.id, clock)
    assert session.get(Conversion, conversion.id).campaign_id == campaign.id  # the real send, not the test
    # The conversion (of the real send) is the one new figure; everything a test could add reads as before.
    same = ("recipients", "sent", "delivered", "failed", "unknown", "cost", "counts")
    assert {k: after["report"][k] for k in same} == {k: before["report"][k] for k in same}
    assert after["report"]["attribution"]["receipt"]["conversions"] == 1
    unmoved = {k for k in before["report"]["summary"] if not re.search("conver|revenue|roi|value", k)}
    assert unmoved and {k: after["report"]["summary"][k] for k in unmoved} == \
        {k: before["report"]["summary"][k] for k in unmoved}
    assert after["overview"]["total"]["sent"] == before["overview"]["total"]["sent"] == 1
    assert after["overview"]["total"]["clicked"] == before["overview"]["total"]["clicked"] == 0
    assert {k: v for k, v in after.items() if k not in ("overview", "report")} == \
        {k: v for k, v in before.items() if k not in ("overview", "report")}
    assert [c["campaign_id"] for c in after["overview"]["campaigns"]] == [campaign.id]
    assert session.scalar(select(Campaign.kind).where(Campaign.id == sent.campaign_id)) == "test"
    assert session.scalar(select(Message.priority).where(Message.id == row.id)) < 100
