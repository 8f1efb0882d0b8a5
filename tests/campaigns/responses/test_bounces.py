"""Bounces, delays and complaints applied to messages and contacts (campaigns/responses/bounces.py), on both databases.

The reports are real RFC 3464 messages (tests/channels/dsn/*.eml) read by the real parser.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from audiences import Consent, is_suppressed
from campaigns import apply_email_feedback
from campaigns.models import Message, MessageEvent
from channels import open_channel
from channels.email_feedback import EmailFeedback, parse_dsn
from tests.campaigns.factories import make_contact, make_dispatcher, start_campaign
from tests.fakes.fake_smtp import FakeSmtp

DSN = Path(__file__).resolve().parent.parent.parent / "channels" / "dsn"


def dsn(name: str, message_id: int) -> bytes:
    return (DSN / f"{name}.eml").read_text().replace("{message_id}", str(message_id)).encode()


def sent_email(session, now, *addresses: str) -> dict[str, Message]:
    for address in addresses:
        make_contact(session, now=now, email=address, phone=None)
    _, run = start_campaign(session, now=now, channel="email")
    messages = {m.address: m for m in session.scalars(select(Message).where(Message.run_id == run.id))}
    for message in messages.values():
        message.status, message.sent_at, message.provider_id = "sent", now, f"<herald.{message.id}@herald.example>"
    session.commit()
    return messages


def consent(session, contact_id: int) -> str | None:
    session.expire_all()
    return session.scalar(select(Consent.status).where(Consent.contact_id == contact_id, Consent.channel == "email"))


def events(session, message_id: int) -> list[MessageEvent]:
    return list(session.scalars(select(MessageEvent).where(MessageEvent.message_id == message_id)
                                .order_by(MessageEvent.id)))


def test_a_5_1_1_dsn_fails_the_message_bounces_the_contact_and_suppresses_the_address(backend, session, clock):
    now = clock.now()
    messages = sent_email(session, now, "gone@example.com", "ann@example.com")
    gone = messages["gone@example.com"]

    applied = apply_email_feedback(session, parse_dsn(dsn("hard_5_1_1", gone.id)), now=now)

    assert (applied.events, applied.consent_changed, applied.unmatched) == (1, 1, 0)
    session.refresh(gone)
    assert (gone.status, gone.error_code) == ("failed", "5.1.1")
    assert "User unknown" in gone.error_reason
    assert consent(session, gone.contact_id) == "bounced"
    assert consent(session, messages["ann@example.com"].contact_id) is None  # nobody else touched
    assert is_suppressed(session, "email", "gone@example.com")
    [event] = events(session, gone.id)
    assert event.type == "bounced" and event.detail["hard"] is True and event.detail["status"] == "5.1.1"


def test_a_4_2_2_mailbox_full_delay_is_an_event_only(backend, session, clock):
    now = clock.now()
    full = sent_email(session, now, "full@example.com")["full@example.com"]

    applied = apply_email_feedback(session, parse_dsn(dsn("soft_4_2_2", full.id)), now=now)

    assert (applied.events, applied.consent_changed) == (1, 0)
    session.refresh(full)
    assert full.status == "sent"
    assert consent(session, full.contact_id) is None
    assert not is_suppressed(session, "email", "full@example.com")
    [event] = events(session, full.id)
    assert (event.type, event.detail["status"]) == ("delayed", "4.2.2")


def test_a_forged_report_cannot_bounce_someone_else_by_naming_their_message_id(backend, session, clock):
    now = clock.now()
    messages = sent_email(session, now, "ann@example.com", "gone@example.com")
    ann = messages["ann@example.com"]
    # The report says gone@example.com but quotes Ann's Message-ID: the id does not fit the address.
    apply_email_feedback(session, parse_dsn(dsn("hard_5_1_1", ann.id)), now=now)
    session.refresh(ann)
    assert ann.status == "sent" and consent(session, ann.contact_id) is None
    gone = messages["gone@example.com"]
    session.refresh(gone)
    assert gone.status == "failed"  # found by its address instead


def test_a_complaint_keeps_the_message_delivered_and_stops_pending_mail(backend, session, clock):
    now = clock.now()
    ann = sent_email(session, now, "ann@example.com")["ann@example.com"]
    _, second = start_campaign(session, now=now, channel="email")  # Ann's next campaign, not sent yet
    pending = session.scalars(select(Message).where(Message.run_id == second.id)).one()
    assert pending.status == "pending"

    applied = apply_email_feedback(session, [EmailFeedback(kind="complaint", address="Ann@Example.com",
                                                           message_id=ann.id, reason="abuse", source="ses")], now=now)
    applied_again = apply_email_feedback(session, [EmailFeedback(kind="complaint", address="ann@example.com",
                                                                 message_id=ann.id, source="ses")], now=now)

    assert (applied.suppressed, applied_again.suppressed) == (1, 0)
    session.expire_all()
    assert session.get(Message, ann.id).status == "sent"
    assert (session.get(Message, pending.id).status, session.get(Message, pending.id).error_code) == (
        "suppressed", "complained")
    assert consent(session, ann.contact_id) == "complained"
    assert [e.type for e in events(session, ann.id)] == ["complained", "complained"]  # a repeat is visible, harmless


def test_feedback_for_an_address_herald_never_mailed_still_protects_the_contact(backend, session, clock):
    now = clock.now()
    contact = make_contact(session, now=now, email="old@example.com", phone=None)
    applied = apply_email_feedback(session, [EmailFeedback(kind="bounce", hard=True, address="old@example.com",
                                                           status="5.1.1", source="sendgrid")], now=now)
    assert (applied.unmatched, applied.consent_changed) == (1, 1)
    assert consent(session, contact.id) == "bounced"


def test_a_550_5_1_1_at_send_time_over_smtp_bounces_the_contact(backend, session, clock, database):
    now = clock.now()
    gone = make_contact(session, now=now, email="gone@example.com", phone=None)
    busy = make_contact(session, now=now, email="busy@example.com", phone=None)
    start_campaign(session, now=now, channel="email")
    with FakeSmtp(refuse={"gone@example.com": (550, "5.1.1 <gone@example.com>: Recipient address rejected: "
                                                    "User unknown"),
                          "busy@example.com": (550, "5.7.1 Service unavailable; client host blocked")}) as fake:
        channel = open_channel(fake.url + "?from=news@shop.example")
        make_dispatcher(database, channel, clock).dispatch_due()
        channel.close()
    assert consent(session, gone.id) == "bounced"
    assert consent(session, busy.id) is None  # a policy block says nothing about the address
    assert is_suppressed(session, "email", "gone@example.com")
    assert not is_suppressed(session, "email", "busy@example.com")
    failed = {m.address: m.error_code for m in session.scalars(select(Message))}
    assert failed == {"gone@example.com": "550", "busy@example.com": "550"}
