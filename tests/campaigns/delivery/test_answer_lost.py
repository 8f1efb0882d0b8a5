"""The provider took the message and its answer was lost (issue 12, item 1), through the real dispatch loop.

A Twilio request that times out after the provider kept the message, or whose connection dies before
the answer, and an SMTP session dropped (or too slow) after the whole DATA: at most once, the message
becomes `unknown` and is never sent again; at least once, it is sent again with the same Message-ID /
Idempotency-Key, so the receiving side can drop the copy. The rest of the batch goes out once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from campaigns.models import MessageEvent
from channels import open_channel
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign
from tests.fakes.fake_smtp import FakeSmtp
from tests.fakes.fake_twilio import FakeTwilio

TIMEOUT = "0.3"  # seconds the channel waits for an answer; the fakes answer "late" after 1 s


@pytest.fixture
def twilio_fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(honour_idempotency_key=True) as fake:
        yield fake


def send_everything(dispatcher, clock) -> None:
    """Run the dispatch loop until nothing is due, past every backoff."""
    for _ in range(20):
        if not dispatcher.dispatch_due():
            clock.advance(seconds=3600)
            if not dispatcher.dispatch_due():
                return
        clock.advance(seconds=3600)
    raise AssertionError("the dispatch loop never ran out of messages")


def event_types(session, message_id: int) -> list[str]:
    session.expire_all()
    types = list(session.scalars(select(MessageEvent.type).where(MessageEvent.message_id == message_id)
                                 .order_by(MessageEvent.id)))
    session.commit()
    return types


@pytest.mark.parametrize("how", ["late", "drop"])
def test_at_most_once_an_sms_whose_answer_was_lost_is_unknown_and_never_sent_twice(
        backend, session, database, clock, twilio_fake, how):
    phones = [f"+1201555{n:04d}" for n in range(4)]
    for phone in phones:
        make_contact(session, now=clock.now(), phone=phone)
    _, run = start_campaign(session, now=clock.now(), guarantee="at_most_once")
    twilio_fake.honour_idempotency_key = False  # a provider that ignores the key: only Herald can avoid the copy
    twilio_fake.lose_answers(1, how)
    channel = open_channel(twilio_fake.channel_url(timeout=TIMEOUT))
    try:
        send_everything(make_dispatcher(database, {"sms": channel}, clock), clock)
    finally:
        channel.close()

    assert [twilio_fake.sent_to(phone) for phone in phones] == [1, 1, 1, 1]  # 0 duplicates
    rows = messages_of(session, run.id)
    assert sorted(m.status for m in rows) == ["sent", "sent", "sent", "unknown"]
    (lost,) = [m for m in rows if m.status == "unknown"]
    assert lost.address == phones[0] and lost.attempts == 1
    assert "may or may not have been sent" in lost.error_reason
    assert event_types(session, lost.id) == ["unknown"]


@pytest.mark.parametrize("how", ["late", "drop"])
def test_at_least_once_an_sms_whose_answer_was_lost_is_resent_with_the_same_idempotency_key(
        backend, session, database, clock, twilio_fake, how):
    phones = [f"+1201555{n:04d}" for n in range(3)]
    for phone in phones:
        make_contact(session, now=clock.now(), phone=phone)
    _, run = start_campaign(session, now=clock.now(), guarantee="at_least_once")
    twilio_fake.lose_answers(1, how)
    channel = open_channel(twilio_fake.channel_url(timeout=TIMEOUT))
    try:
        send_everything(make_dispatcher(database, {"sms": channel}, clock), clock)
    finally:
        channel.close()

    rows = messages_of(session, run.id)
    assert [m.status for m in rows] == ["sent"] * 3  # 0 losses
    tries = [r for r in twilio_fake.requests if r["To"] == phones[0]]
    assert len(tries) == 2
    assert tries[0]["IdempotencyKey"] == tries[1]["IdempotencyKey"] == f"herald.{rows[0].id}@herald.example.com"
    assert tries[0]["StatusCallback"] == tries[1]["StatusCallback"]
    assert tries[0]["sid"] == tries[1]["sid"] == rows[0].provider_id  # the provider collapsed the resend
    assert [twilio_fake.sent_to(phone) for phone in phones] == [1, 1, 1]


def smtp_channel(fake: FakeSmtp):
    return open_channel(f"{fake.url}?from=news@shop.example&timeout={TIMEOUT}")


@pytest.mark.parametrize("step", ["drop-after-data", "late-after-data"])
def test_at_most_once_an_email_whose_answer_was_lost_after_data_is_unknown_and_never_sent_twice(
        backend, session, database, clock, step):
    contacts = [make_contact(session, now=clock.now()) for _ in range(3)]
    _, run = start_campaign(session, now=clock.now(), channel="email", guarantee="at_most_once")
    with FakeSmtp(script={contacts[0].email: [step]}) as fake:
        channel = smtp_channel(fake)
        try:
            send_everything(make_dispatcher(database, {"email": channel}, clock), clock)
        finally:
            channel.close()

    assert [fake.accepted_for(c.email) for c in contacts] == [1, 1, 1]  # 0 duplicates
    rows = messages_of(session, run.id)
    assert [m.status for m in rows] == ["unknown", "sent", "sent"]
    assert "may or may not have been sent" in rows[0].error_reason
    assert event_types(session, rows[0].id) == ["unknown"]


@pytest.mark.parametrize("step", ["drop-after-data", "late-after-data"])
def test_at_least_once_an_email_whose_answer_was_lost_is_resent_with_the_same_message_id(
        backend, session, database, clock, step):
    contacts = [make_contact(session, now=clock.now()) for _ in range(3)]
    _, run = start_campaign(session, now=clock.now(), channel="email", guarantee="at_least_once")
    with FakeSmtp(script={contacts[0].email: [step]}) as fake:
        channel = smtp_channel(fake)
        try:
            send_everything(make_dispatcher(database, {"email": channel}, clock), clock)
        finally:
            channel.close()

    rows = messages_of(session, run.id)
    assert [m.status for m in rows] == ["sent"] * 3  # 0 losses
    expected = f"<herald.{rows[0].id}@herald.example.com>"
    assert fake.message_ids_for(contacts[0].email) == [expected, expected]  # the copy can be dropped
    assert [fake.accepted_for(c.email) for c in contacts[1:]] == [1, 1]
