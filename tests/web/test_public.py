"""GET/POST /u/<message_id>/<sig>: the signed unsubscribe link, one-click per RFC 8058."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import campaigns
from audiences import Consent, create_contact
from campaigns.models import Message, MessageEvent
from core.ids import sign
from web.app import create_app

# campaigns.unsubscribe_recipient is the lead's to add; until it exists the POST tests must fail, and say why.
needs_unsubscribe_recipient = pytest.mark.xfail(
    not hasattr(campaigns, "unsubscribe_recipient"), strict=True, raises=AttributeError,
    reason="campaigns.unsubscribe_recipient(session, message_id, *, now) does not exist yet")
ZH_CATALOG = Path(__file__).parents[2] / "web" / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"


@pytest.fixture
def client(csrf_client):
    """CSRF stays on, as in production: a mail client's one-click POST carries no CSRF token."""
    return csrf_client


@pytest.fixture
def message(session, clock) -> Message:
    now = clock.now()
    create_contact(session, default_region="US", now=now, email="ann@example.com", first_name="Ann")
    template = campaigns.create_template(session, name="News", channel="email", subject="Hi", html="<p>Hi</p>",
                                         now=now)
    campaign = campaigns.create_campaign(session, name="C", channel="email", template_id=template.id, now=now)
    campaigns.send_campaign(session, campaign.id, now=now, channel_description="log://", dry_run=True)
    message = session.scalars(select(Message)).one()
    # Every SQLite transaction here is BEGIN IMMEDIATE: end it, or the app's writes wait on this one. The
    # message is detached first, so reading its id later does not quietly begin another.
    session.expunge(message)
    session.rollback()
    return message


def link(config, message_id: int) -> str:
    return f"/u/{message_id}/{sign(str(config.secret_key), f'u:{message_id}')}"


def consent(session, message: Message) -> str | None:
    """The contact's consent on the message's channel, as the app left it."""
    try:
        return session.scalar(select(Consent.status).where(Consent.contact_id == message.contact_id,
                                                           Consent.channel == message.channel))
    finally:
        session.rollback()  # see the app's next commit, and do not hold SQLite's write lock meanwhile


def events(session, message: Message) -> list[str]:
    try:
        return list(session.scalars(select(MessageEvent.type).where(MessageEvent.message_id == message.id)))
    finally:
        session.rollback()


def test_the_link_shows_a_confirmation_without_login_and_unsubscribes_nobody(client, session, config, message):
    response = client.get(link(config, message.id))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<form method=\"post\"" in page and "Unsubscribe" in page
    assert consent(session, message) is None  # link scanners fetch GETs: a GET must change nothing


@needs_unsubscribe_recipient
def test_a_one_click_post_unsubscribes_the_contact_from_that_channel_and_records_it(client, session, config,
                                                                                   message):
    # RFC 8058: the mail client POSTs this body to the List-Unsubscribe URL, with no cookie and no CSRF token.
    response = client.post(link(config, message.id), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "unsubscribed" in response.get_data(as_text=True)
    assert consent(session, message) == "unsubscribed"
    assert events(session, message) == ["unsubscribed"]


@needs_unsubscribe_recipient
def test_unsubscribing_twice_is_fine_and_recorded_once(client, session, config, message):
    """Mail clients and link scanners may post the one-click URL more than once."""
    assert client.post(link(config, message.id)).status_code == 200
    assert client.post(link(config, message.id)).status_code == 200
    assert consent(session, message) == "unsubscribed"
    assert events(session, message) == ["unsubscribed"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_signature_is_404_and_changes_nothing(client, session, config, message, method):
    good = link(config, message.id)
    for bad in (good[:-1] + ("0" if good[-1] != "0" else "1"),  # tampered
                link(config, message.id + 1).replace(f"/u/{message.id + 1}/", f"/u/{message.id}/"),  # another's
                f"/u/{message.id}/"):  # missing
        response = getattr(client, method)(bad)
        assert response.status_code == 404, bad
    assert consent(session, message) is None


@needs_unsubscribe_recipient
def test_a_signed_link_to_a_message_that_is_gone_is_404(client, config):
    assert client.post(link(config, 424242)).status_code == 404


@pytest.mark.xfail(not ZH_CATALOG.exists() or 'msgid "Unsubscribe"' not in ZH_CATALOG.read_text("utf-8"),
                   strict=True, reason="the zh_CN catalog has no translation of the unsubscribe page yet")
def test_the_page_speaks_chinese_when_that_is_the_default(tmp_path, db_url, clock):
    from tests.conftest import make_config

    config = make_config(tmp_path, db_url, HERALD_DEFAULT_LOCALE="zh_CN")
    app = create_app(config, clock=clock)
    page = app.test_client().get(link(config, 1)).get_data(as_text=True)
    assert "退订" in page


def test_public_pages_send_the_security_headers(client, config, message):
    # A recipient's page holds a signed link: it may not be framed (clickjacking an unsubscribe), run
    # scripts, or leak its address to another site. A bad signature's 404 is a public page too.
    for response in (client.get(link(config, message.id)), client.get(f"/u/{message.id}/forged")):
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none': no script at all
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
