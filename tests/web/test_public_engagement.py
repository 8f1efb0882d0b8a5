"""The preference page (channels and topics) behind /u/…, the tracked link /l/… and the open pixel /o/…."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from audiences import Consent, ContactList, ListMember
from campaigns.models import Link, MessageEvent
from campaigns.responses.tracking import PIXEL_GIF, click_token, open_token
from core.ids import sign
from tests.campaigns import engagement_factories as f

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5"


@pytest.fixture
def client(csrf_client):
    """CSRF on, as in production: the recipient's browser has no session with Herald."""
    return csrf_client


@pytest.fixture
def sent(session, clock):
    contact = f.contact(session, now=clock.now())
    campaign = f.campaign(session, now=clock.now(), utm_source="herald")
    message = f.message(session, contact, campaign, sent_at=clock.now() - timedelta(hours=1))
    news = ContactList(name="Newsletter", description="Once a month", is_topic=True, created_at=clock.now())
    offers = ContactList(name="Offers", is_topic=True, created_at=clock.now())
    staff = ContactList(name="Staff only", created_at=clock.now())
    session.add_all([news, offers, staff])
    session.flush()
    session.add_all([ListMember(list_id=news.id, contact_id=contact.id), ListMember(list_id=staff.id,
                                                                                   contact_id=contact.id)])
    link = Link(campaign_id=campaign.id, url="https://shop.example/sale", url_hash="a" * 64, created_at=clock.now())
    session.add(link)
    session.commit()
    ids = dict(message=message.id, contact=contact.id, news=news.id, offers=offers.id, staff=staff.id, link=link.id)
    session.rollback()
    return ids


def page_url(config, message_id):
    return f"/u/{message_id}/{sign(str(config.secret_key), f'u:{message_id}')}"


def test_the_page_shows_channels_and_topics_and_changes_nothing(client, config, session, sent):
    page = client.get(page_url(config, sent["message"])).get_data(as_text=True)
    assert 'name="List-Unsubscribe"' in page  # the one-click form stays first
    assert 'value="email" checked' in page and 'value="sms" checked' in page
    assert f'value="{sent["news"]}" checked' in page and f'value="{sent["offers"]}" >' in page
    assert "Staff only" not in page  # not a topic: not the recipient's to change
    assert session.scalar(select(Consent)) is None


def test_saving_choices_changes_only_what_changed(client, config, session, sent):
    response = client.post(page_url(config, sent["message"]), data={
        "preferences": "1", "channel": ["email"], "topic": [str(sent["offers"]), str(sent["staff"])]})
    assert response.status_code == 200 and "Your choices are saved." in response.get_data(as_text=True)
    consents = {c.channel: c.status for c in session.scalars(select(Consent))}
    assert consents == {"sms": "unsubscribed"}  # email was already on: nothing written for it
    lists = set(session.scalars(select(ListMember.list_id).where(ListMember.contact_id == sent["contact"])))
    assert lists == {sent["offers"], sent["staff"]}  # left Newsletter, joined Offers; Staff untouched
    events = session.scalars(select(MessageEvent)).all()
    assert [(e.type, e.detail["channel"]) for e in events] == [("unsubscribed", "sms")]
    session.rollback()


def test_a_click_redirects_to_the_stored_url_only(client, config, session, sent):
    token = click_token(str(config.secret_key), sent["message"], sent["link"])
    response = client.get(f"/l/{token}?next=https://evil.example/", headers={"User-Agent": BROWSER})
    assert response.status_code == 302
    assert response.headers["Location"] == "https://shop.example/sale?utm_source=herald"
    assert response.headers["Referrer-Policy"] == "no-referrer" and response.headers["X-Frame-Options"] == "DENY"
    forged = client.get(f"/l/{token[:-2]}xx", headers={"User-Agent": BROWSER})
    assert forged.status_code == 404 and "Location" not in forged.headers
    assert client.get("/l/not-a-token").status_code == 404
    head = client.head(f"/l/{token}", headers={"User-Agent": BROWSER})
    assert head.status_code == 302
    events = session.scalars(select(MessageEvent).order_by(MessageEvent.id)).all()
    assert [(e.type, e.detail["machine"], e.detail.get("machine_reason")) for e in events] == [
        ("clicked", False, None), ("clicked", True, "head_request")]
    session.rollback()


def test_the_pixel_is_a_gif_and_records_an_open(client, config, session, sent):
    response = client.get(f"/o/{open_token(str(config.secret_key), sent['message'])}.gif",
                          headers={"User-Agent": "Mozilla/5.0", "X-Forwarded-For": "17.57.1.1"})
    assert (response.status_code, response.mimetype, response.data) == (200, "image/gif", PIXEL_GIF)
    assert response.headers["Cache-Control"].startswith("no-store")
    assert client.get("/o/zz.bad.gif").status_code == 404
    [event] = session.scalars(select(MessageEvent)).all()
    assert (event.type, event.detail["machine"], event.detail["machine_reason"]) == (
        "opened", True, "apple_privacy_proxy")
    session.rollback()
