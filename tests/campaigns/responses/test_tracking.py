"""Tracked links and the open pixel: tokens that cannot be forged, links rewritten at render time, UTM, and the
machine-open heuristics checked against a table of recorded requests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from campaigns.models import Link, MessageEvent
from campaigns.responses.tracking import (
    Fetch,
    click_token,
    machine_reason,
    open_token,
    parse_click_token,
    parse_open_token,
    record_click,
    record_open,
    with_utm,
)
from core.config import TrackingConfig, load_config
from tests.campaigns import engagement_factories as f
from tests.campaigns.factories import make_dispatcher, messages_of

SECRET = "test-secret"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = load_config("/dev/null", {}).tracking  # the shipped defaults
BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
           "Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Mobile/15E148")


# ---------------------------------------------------------------- tokens
def test_click_tokens_round_trip_and_are_short():
    token = click_token(SECRET, 1_000_000, 3)
    assert parse_click_token(SECRET, token) == (1_000_000, 3)
    assert len(token) <= 24  # "lfls.3." + 12 signature characters: fits in an SMS


@pytest.mark.parametrize("tamper", [
    lambda t: t.replace(t.split(".")[0], "lflt", 1),  # another message
    lambda t: t.replace(".3.", ".4."),  # another link
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
    lambda t: t.rsplit(".", 1)[0],  # signature dropped
    lambda t: "0" + t,  # the same number spelt differently
    lambda t: t + ".x",
    lambda t: "",
])
def test_tampered_click_tokens_are_rejected(tamper):
    token = click_token(SECRET, 1_000_000, 3)
    assert parse_click_token(SECRET, tamper(token)) is None
    assert parse_click_token("another-secret", token) is None


def test_open_tokens_are_not_click_tokens():
    assert parse_open_token(SECRET, open_token(SECRET, 42)) == 42
    assert parse_click_token(SECRET, open_token(SECRET, 42)) is None
    assert parse_open_token(SECRET, click_token(SECRET, 42, 1)) is None


# ---------------------------------------------------------------- UTM
def test_utm_parameters_are_added_without_overriding_the_links_own():
    utm = {"utm_source": "herald", "utm_medium": "email", "utm_campaign": "spring"}
    assert with_utm("https://shop.example/p?id=7#top", utm) == (
        "https://shop.example/p?id=7&utm_source=herald&utm_medium=email&utm_campaign=spring#top")
    assert with_utm("https://shop.example/?utm_source=poster", utm) == (
        "https://shop.example/?utm_source=poster&utm_medium=email&utm_campaign=spring")
    assert with_utm("https://shop.example/", {}) == "https://shop.example/"


# ---------------------------------------------------------------- rendering
HTML = ('<p>Hi</p><a href="https://shop.example/sale?a=1&amp;b=2">Sale</a> <a href=\'https://shop.example/\'>Shop'
        '</a> <a href="mailto:help@shop.example">mail</a> <a href="{{ unsubscribe_url }}">Unsubscribe</a>')


def _sent_email(session, database, channel, clock, *, tracking=SETTINGS, **campaign_fields):
    buyer = f.contact(session, now=clock.now())
    campaign = f.campaign(session, now=clock.now(), **campaign_fields)
    template = campaign_template(session, campaign)
    template.html = HTML
    template.text = ""
    session.commit()
    message = f.message(session, buyer, campaign, sent_at=None, due=clock.now())
    make_dispatcher(database, channel, clock, tracking=tracking).dispatch_due()
    return campaign, message, channel.sent[-1]


def campaign_template(session, campaign):
    from campaigns.models import Template

    return session.get(Template, campaign.template_id)


def test_email_links_become_signed_redirects_except_herald_own_and_mailto(session, database, channel, clock, backend):
    campaign, message, sent = _sent_email(session, database, channel, clock)
    links = {link.url: link.id for link in session.scalars(select(Link).where(Link.campaign_id == campaign.id))}
    assert set(links) == {"https://shop.example/sale?a=1&b=2", "https://shop.example/"}
    for url, link_id in links.items():
        assert f'https://herald.example.com/l/{click_token("test-secret", message.id, link_id)}' in sent.html
        assert url not in sent.html
    assert 'href="mailto:help@shop.example"' in sent.html
    assert f"https://herald.example.com/u/{message.id}/" in sent.html  # unsubscribe is never rewritten
    assert "/l/" in sent.body  # the derived text part carries the tracked links too
    assert "/o/" not in sent.html  # no pixel: off by default


def test_links_are_numbered_once_per_campaign(session, database, channel, clock, backend):
    campaign, _, _ = _sent_email(session, database, channel, clock)
    second = f.message(session, f.contact(session, now=clock.now()), campaign, sent_at=None, due=clock.now())
    make_dispatcher(database, channel, clock, tracking=SETTINGS).dispatch_due()
    assert session.query(Link).filter(Link.campaign_id == campaign.id).count() == 2
    assert messages_of(session)[-1].id == second.id and messages_of(session)[-1].status == "sent"


def test_untracked_campaign_keeps_links_but_adds_utm(session, database, channel, clock):
    _, _, sent = _sent_email(session, database, channel, clock, track_clicks=False, utm_source="herald",
                             utm_campaign="spring")
    assert 'href="https://shop.example/sale?a=1&amp;b=2&amp;utm_source=herald&amp;utm_campaign=spring"' in sent.html
    assert "/l/" not in sent.html


def test_pixel_needs_the_workspace_and_the_campaign(session, database, channel, clock):
    allowed = replace(SETTINGS, opens=True)
    _, message, sent = _sent_email(session, database, channel, clock, tracking=allowed, track_opens=True)
    assert f'/o/{open_token("test-secret", message.id)}.gif' in sent.html
    _, _, sent = _sent_email(session, database, channel, clock, tracking=SETTINGS, track_opens=True)
    assert "/o/" not in sent.html
    _, _, sent = _sent_email(session, database, channel, clock, tracking=allowed, track_opens=False)
    assert "/o/" not in sent.html


def test_sms_links_are_shortened_only_when_configured(session, database, channel, clock):
    buyer = f.contact(session, now=clock.now())
    campaign = f.campaign(session, now=clock.now(), channel="sms")
    template = campaign_template(session, campaign)
    template.body = "Sale today: https://shop.example/sale?id=1. Reply STOP to opt out"
    session.commit()
    f.message(session, buyer, campaign, sent_at=None, due=clock.now())
    make_dispatcher(database, channel, clock, tracking=SETTINGS).dispatch_due()
    assert "https://shop.example/sale?id=1." in channel.sent[-1].body
    f.message(session, buyer, campaign, sent_at=None, due=clock.now())
    make_dispatcher(database, channel, clock, tracking=replace(SETTINGS, sms_short_links=True)).dispatch_due()
    body = channel.sent[-1].body
    assert body.startswith("Sale today: https://herald.example.com/l/") and body.endswith(". Reply STOP to opt out")


# ---------------------------------------------------------------- recording
def _fetch(at, method="GET", agent=BROWSER, ip="203.0.113.9"):
    return Fetch(method=method, user_agent=agent, ip=ip, at=at)


def test_a_click_is_recorded_and_redirects_to_the_stored_url_with_utm(session, backend):
    buyer = f.contact(session, now=T0)
    campaign = f.campaign(session, now=T0, utm_source="herald", utm_medium="email")
    message = f.message(session, buyer, campaign, sent_at=T0, delivered_at=T0)
    link = Link(campaign_id=campaign.id, url="https://shop.example/p?id=7", url_hash="x" * 64, created_at=T0)
    session.add(link)
    session.commit()
    token = click_token(SECRET, message.id, link.id)
    target = record_click(session, token, _fetch(T0 + timedelta(hours=1)), secret=SECRET, settings=SETTINGS)
    assert target == "https://shop.example/p?id=7&utm_source=herald&utm_medium=email"
    event = session.scalar(select(MessageEvent).where(MessageEvent.type == "clicked"))
    assert event.message_id == message.id
    assert event.detail["url"] == "https://shop.example/p?id=7" and event.detail["machine"] is False


def test_a_genuine_token_for_another_campaigns_link_redirects_nowhere(session):
    buyer = f.contact(session, now=T0)
    mine, other = f.campaign(session, now=T0), f.campaign(session, now=T0)
    message = f.message(session, buyer, mine, sent_at=T0)
    foreign = Link(campaign_id=other.id, url="https://evil.example/", url_hash="y" * 64, created_at=T0)
    session.add(foreign)
    session.commit()
    token = click_token(SECRET, message.id, foreign.id)  # signed, but the pair was never in any message
    assert record_click(session, token, _fetch(T0), secret=SECRET, settings=SETTINGS) is None
    assert record_click(session, click_token(SECRET, 999, 1), _fetch(T0), secret=SECRET, settings=SETTINGS) is None
    assert session.scalar(select(MessageEvent)) is None


def test_an_open_is_recorded_with_its_machine_flag(session):
    buyer = f.contact(session, now=T0)
    message = f.message(session, buyer, f.campaign(session, now=T0), sent_at=T0, delivered_at=T0)
    assert record_open(session, open_token(SECRET, message.id), _fetch(T0 + timedelta(seconds=2)), secret=SECRET,
                       settings=SETTINGS)
    assert record_open(session, open_token(SECRET, message.id), _fetch(T0 + timedelta(hours=2)), secret=SECRET,
                       settings=SETTINGS)
    assert not record_open(session, open_token("other", message.id), _fetch(T0), secret=SECRET, settings=SETTINGS)
    events = session.scalars(select(MessageEvent).order_by(MessageEvent.id)).all()
    assert [(e.type, e.detail["machine"], e.detail.get("machine_reason")) for e in events] == [
        ("opened", True, "too_soon"), ("opened", False, None)]


# Recorded requests (user agents and addresses as they reach a tracking endpoint), with what they are.
RECORDED = [
    # (method, user agent, ip, seconds after sending, expected reason)
    ("GET", BROWSER, "203.0.113.9", 3600, None),
    ("GET", IPHONE, "198.51.100.20", 600, None),
    ("GET", "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
     "66.249.84.1", 900, None),  # Gmail's proxy fetches when the reader opens: a person
    ("GET", "Mozilla/5.0", "17.58.100.3", 40, "apple_privacy_proxy"),  # Apple MPP preloading
    ("GET", IPHONE, "17.123.4.5", 7200, "apple_privacy_proxy"),
    ("GET", "Mozilla/5.0", "2001:db8::1", 7200, "apple_privacy_proxy"),  # the bare agent, whatever the address
    ("HEAD", BROWSER, "203.0.113.9", 3600, "head_request"),
    ("GET", "Mozilla/5.0 (compatible; Barracuda Sentinel)", "64.235.144.1", 3600, "scanner_user_agent"),
    ("GET", "Mimecast-URL-Protect/1.0", "205.139.110.1", 4000, "scanner_user_agent"),
    ("GET", "python-requests/2.31.0", "192.0.2.7", 5000, "scanner_user_agent"),
    ("GET", "", "192.0.2.7", 5000, "scanner_user_agent"),
    # iMessage previews an SMS link as it arrives, with this agent, before anyone taps it
    ("GET", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 "
     "Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0", "203.0.113.50", 45, "scanner_user_agent"),
    ("GET", "WhatsApp/2.23.20.0 A", "157.240.1.1", 90, "scanner_user_agent"),
    ("GET", BROWSER, "40.94.1.1", 2, "too_soon"),  # Defender Safe Links with a browser's agent, on arrival
    ("GET", BROWSER, "40.94.1.1", 10, "too_soon"),  # the edge: exactly machine_seconds
    ("GET", BROWSER, "40.94.1.1", 11, None),
]


@pytest.mark.parametrize(("method", "agent", "ip", "after", "expected"), RECORDED)
def test_machine_heuristics_on_recorded_requests(method, agent, ip, after, expected):
    fetch = Fetch(method=method, user_agent=agent, ip=ip, at=T0 + timedelta(seconds=after))
    assert machine_reason(fetch, sent_at=T0, delivered_at=None, settings=SETTINGS) == expected


def test_too_soon_counts_from_delivery_as_well():
    late_delivery = T0 + timedelta(minutes=30)
    fetch = Fetch(method="GET", user_agent=BROWSER, ip="40.94.1.1", at=late_delivery + timedelta(seconds=4))
    assert machine_reason(fetch, sent_at=T0, delivered_at=late_delivery, settings=SETTINGS) == "too_soon"
    assert machine_reason(fetch, sent_at=T0, delivered_at=None, settings=SETTINGS) is None
    # A text message is tapped by a person who was waiting for it; no gateway scans SMS in between.
    assert machine_reason(fetch, sent_at=T0, delivered_at=late_delivery, settings=SETTINGS, channel="sms") is None
    custom = TrackingConfig(machine_seconds=0, apple_proxy_networks=(), scanner_user_agents=("acme-scan",))
    scanner = replace(fetch, user_agent="ACME-Scan/2")
    assert machine_reason(scanner, sent_at=T0, delivered_at=None, settings=custom) == "scanner_user_agent"


def test_personalised_links_are_numbered_once_per_batch_and_fill_every_message(session, database, channel, clock,
                                                                                backend):
    campaign = f.campaign(session, now=clock.now())
    template = campaign_template(session, campaign)
    template.html = '<a href="https://shop.example/c?who={{ contact.external_id }}">Your coupon</a>'
    template.text = ""
    session.commit()
    buyers = [f.contact(session, now=clock.now()) for _ in range(5)]
    messages = [f.message(session, buyer, campaign, sent_at=None, due=clock.now()) for buyer in buyers]
    make_dispatcher(database, channel, clock, tracking=SETTINGS).dispatch_due()
    links = {link.url: link.id for link in session.scalars(select(Link).where(Link.campaign_id == campaign.id))}
    session.commit()
    assert set(links) == {f"https://shop.example/c?who={b.external_id}" for b in buyers}
    sent = {o.message_id: o for o in channel.sent}
    for buyer, message in zip(buyers, messages, strict=True):
        token = click_token("test-secret", message.id, links[f"https://shop.example/c?who={buyer.external_id}"])
        assert f"https://herald.example.com/l/{token}" in sent[message.id].html
        assert f"https://herald.example.com/l/{token}" in sent[message.id].body
        assert "\x00" not in sent[message.id].html + sent[message.id].body


def test_a_text_only_email_gets_no_pixel_and_its_links_are_tracked(session, database, channel, clock):
    campaign = f.campaign(session, now=clock.now(), track_opens=True)
    template = campaign_template(session, campaign)
    template.html, template.text = "", "See https://shop.example/new (new arrivals)."
    session.commit()
    f.message(session, f.contact(session, now=clock.now()), campaign, sent_at=None, due=clock.now())
    make_dispatcher(database, channel, clock, tracking=replace(SETTINGS, opens=True)).dispatch_due()
    [sent] = channel.sent
    assert sent.html == ""
    assert sent.body.startswith("See https://herald.example.com/l/") and sent.body.endswith(" (new arrivals).")
