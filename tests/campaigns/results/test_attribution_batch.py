"""Attribution decided for a whole batch in one query agrees, purchase by purchase, with the rules written out
plainly in Python: many contacts, campaigns with different windows, touches exactly on (and a microsecond
past) a window's edge, scanner clicks, failed and pending messages, explicit codes — on both databases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from campaigns.models import Campaign, Message, MessageEvent
from campaigns.results.attribution import Attribution, Purchase, attribute
from tests.campaigns import engagement_factories as f

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def reference(session, purchase: Purchase, codes: dict[str, int]) -> Attribution:
    """The rules as DESIGN says them, one purchase at a time, over every row."""
    at = purchase.occurred_at
    if purchase.campaign_code:
        campaign_id = codes[purchase.campaign_code.upper()]
        sent = [(m.sent_at, m.id) for m in session.scalars(select(Message).where(
            Message.contact_id == purchase.contact_id, Message.campaign_id == campaign_id,
            Message.status.in_(("sent", "delivered"))))
            if m.sent_at is not None and m.sent_at <= at]
        return Attribution("code", campaign_id, max(sent)[1] if sent else None)
    windows = {c.id: timedelta(days=c.attribution_window_days) for c in session.scalars(select(Campaign))}
    messages = {m.id: m for m in session.scalars(select(Message).where(Message.contact_id == purchase.contact_id))}
    clicks = [(e.occurred_at, e.message_id) for e in session.scalars(select(MessageEvent).where(
        MessageEvent.message_id.in_(messages), MessageEvent.type == "clicked"))
        if not (e.detail or {}).get("machine")]
    receipts = [(m.delivered_at or m.sent_at, m.id) for m in messages.values() if m.status in ("sent", "delivered")]
    for rule, touches in (("click", clicks), ("receipt", receipts)):
        within = [(when, mid) for when, mid in touches
                  if when <= at and at - when <= windows[messages[mid].campaign_id]]
        if within:
            message_id = max(within)[1]
            return Attribution(rule, messages[message_id].campaign_id, message_id)
    return Attribution("none")


def test_a_batch_is_attributed_as_each_purchase_alone_would_be(session, backend):
    rng = random.Random(6)
    campaigns = [f.campaign(session, now=T0, window_days=days, code=f"C{days}") for days in (1, 3, 7, 30)]
    codes = {c.code: c.id for c in campaigns}
    contacts = [f.contact(session, now=T0) for _ in range(12)]
    purchases: list[Purchase] = []
    for contact in contacts:
        for _ in range(rng.randint(0, 4)):
            campaign = rng.choice(campaigns)
            sent = T0 + timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23), microseconds=rng.randint(0, 9))
            status = rng.choice(["delivered", "delivered", "sent", "failed"])
            delivered = sent + timedelta(minutes=rng.randint(1, 90)) if status == "delivered" else None
            message = f.message(session, contact, campaign, sent_at=sent, delivered_at=delivered, status=status)
            if rng.random() < 0.6:
                clicked = (delivered or sent) + timedelta(hours=rng.randint(0, 30), microseconds=rng.randint(0, 999))
                f.event(session, message, "clicked", clicked, machine=rng.random() < 0.25)
                window = timedelta(days=campaign.attribution_window_days)
                # Exactly at the window's end, a microsecond past it, and just before the click.
                purchases += [Purchase(len(purchases) + i, contact.id, when) for i, when in enumerate(
                    (clicked + window, clicked + window + timedelta(microseconds=1),
                     clicked - timedelta(microseconds=1)))]
            receipt_window_end = (delivered or sent) + timedelta(days=campaign.attribution_window_days)
            purchases.append(Purchase(len(purchases), contact.id, receipt_window_end))
        for _ in range(3):
            when = T0 + timedelta(days=rng.randint(0, 40), seconds=rng.randint(0, 86399))
            code = rng.choice([None, None, "c7", "C30"])
            purchases.append(Purchase(len(purchases), contact.id, when, code))

    decided = attribute(session, purchases)

    assert len(decided) == len(purchases) > 50
    wrong = {p.key: (decided[p.key], reference(session, p, codes)) for p in purchases
             if decided[p.key] != reference(session, p, codes)}
    assert wrong == {}
    assert {a.rule for a in decided.values()} == {"code", "click", "receipt", "none"}
