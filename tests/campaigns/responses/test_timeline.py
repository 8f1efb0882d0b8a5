"""A contact's timeline: messages, their events and purchases, newest first, from three queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from campaigns import contact_timeline
from campaigns.models import Conversion, Message, MessageEvent
from tests.campaigns.factories import make_contact, start_campaign


def test_messages_events_and_conversions_merge_newest_first(backend, session, clock):
    t0 = clock.now()
    ann = make_contact(session, now=t0, email=None, phone="+12015550101")
    make_contact(session, now=t0, email=None, phone="+12015550102")  # someone else's history stays out
    campaign, run = start_campaign(session, now=t0, channel="sms")
    message = session.scalar(select(Message).where(Message.contact_id == ann.id))
    message.status, message.sent_at = "delivered", t0 + timedelta(minutes=1)
    session.add_all([
        MessageEvent(message_id=message.id, type="sent", occurred_at=t0 + timedelta(minutes=1), detail={}),
        MessageEvent(message_id=message.id, type="delivered", occurred_at=t0 + timedelta(minutes=2),
                     detail={"code": "DELIVRD"}),
        Conversion(contact_id=ann.id, order_id="A-1", amount=Decimal("99.00"), currency="CNY",
                   amount_base=Decimal("99.00"), occurred_at=t0 + timedelta(days=1), product="Tea",
                   campaign_id=campaign.id, message_id=message.id, attribution="receipt", created_at=t0),
    ])
    session.commit()

    entries = contact_timeline(session, ann.id)
    assert [(e.kind, e.status) for e in entries] == [
        ("conversion", "receipt"), ("event", "delivered"), ("event", "sent"), ("message", "delivered")]
    assert entries[0].title == "order A-1: 99.00 CNY" and "credited to Spring sale" in entries[0].detail
    assert entries[1].detail == "DELIVRD" and entries[1].title == "Spring sale"
    assert entries[3].channel == "sms" and entries[3].detail == "to +12015550101"
    assert [e.kind for e in contact_timeline(session, ann.id, limit=2)] == ["conversion", "event"]
    assert contact_timeline(session, 999) == []
