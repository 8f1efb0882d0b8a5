"""Unknown is not the end (issue 12, item 5): the reconciler asks Twilio (the fake, through the real SDK's
list of messages by To and DateSent) what became of each `unknown` row, and settles it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from campaigns import apply_channel_events, release_expired_leases
from campaigns.delivery.outbox import claim_due_messages
from campaigns.delivery.reconcile import NOT_RECEIVED, reconcile_unknown
from campaigns.models import MessageEvent, Run
from channels import ChannelEvent, Outgoing, open_channel
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign
from tests.fakes.fake_twilio import FakeTwilio

SETTLED = 600  # seconds after which a row is asked about


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


def send_all(dispatcher, clock) -> None:
    for _ in range(10):
        while dispatcher.dispatch_due():
            pass
        clock.advance(seconds=3600)  # past every backoff


def reconciled_events(session) -> list[dict]:
    session.expire_all()
    details = [e.detail for e in session.scalars(select(MessageEvent).where(MessageEvent.type == "reconciled")
                                                 .order_by(MessageEvent.message_id))]
    session.commit()
    return details


def test_unknown_sms_are_settled_by_asking_twilio_sent_with_its_id_or_never_received_and_nothing_is_doubled(
        backend, session, database, clock, twilio):
    phones = [f"+1203555{n:04d}" for n in range(5)]
    for phone in phones:
        make_contact(session, now=clock.now(), phone=phone)
    _, run = start_campaign(session, now=clock.now(), guarantee="at_most_once")
    # A sender claims the first two and dies before handing them over (as a sender of the previous
    # version would leave them: possibly sent), so they become unknown when the lease runs out.
    with database.session() as s:
        died_with = claim_due_messages(s, now=clock.now(), limit=2, lease_seconds=60)
        s.commit()
    clock.advance(seconds=61)
    release_expired_leases(session, now=clock.now())
    # The next sender sends the rest; Twilio keeps the first of them but its answer is lost.
    twilio.lose_answers(1, "drop")
    channel = open_channel(twilio.channel_url())
    dispatcher = make_dispatcher(database, {"sms": channel}, clock)
    try:
        send_all(dispatcher, clock)
        before = {m.address: m.status for m in messages_of(session, run.id)}
        assert sorted(before.values()) == ["sent", "sent", "unknown", "unknown", "unknown"]
        kept = next(m for m in twilio.messages if before[m["to"]] == "unknown")

        too_soon = reconcile_unknown(session, dispatcher, now=clock.now(), settled_seconds=SETTLED + 20 * 3600)
        assert too_soon.resolved == too_soon.unresolved == 0  # rows are not asked about before they settle
        clock.advance(seconds=SETTLED)
        result = reconcile_unknown(session, dispatcher, now=clock.now(), settled_seconds=SETTLED)
    finally:
        channel.close()

    assert (result.sent, result.not_received, result.unresolved, result.cannot_ask) == (1, 2, 0, 0)
    rows = {m.address: m for m in messages_of(session, run.id)}
    found = rows[kept["to"]]
    assert (found.status, found.provider_id) == ("sent", kept["sid"])
    never = [rows[a] for a in phones if rows[a].id in died_with]
    assert [(m.status, m.error_code) for m in never] == [("failed", NOT_RECEIVED)] * 2
    assert all("the provider never received it" in m.error_reason for m in never)
    assert [twilio.sent_to(phone) for phone in phones].count(1) == 3  # nothing resent, nothing doubled
    assert max(twilio.sent_to(phone) for phone in phones) == 1
    assert [d["outcome"] for d in reconciled_events(session)] == [NOT_RECEIVED, NOT_RECEIVED, "sent"]
    session.expire_all()
    notes = session.get(Run, run.id).notes
    session.commit()
    assert "1 found at the provider (now sent), 2 never received by it (failed, not resent)" in notes

    # With its provider id on the row, Twilio's status callbacks now apply to it.
    apply_channel_events(session, [ChannelEvent(status="delivered", provider_id=kept["sid"])], now=clock.now())
    assert {m.address: m.status for m in messages_of(session, run.id)}[kept["to"]] == "delivered"

    # Asked again, nothing is left to settle.
    again = reconcile_unknown(session, dispatcher, now=clock.now(), settled_seconds=SETTLED)
    assert again.resolved == 0 and again.unresolved == 0


def test_a_row_whose_number_got_another_text_since_stays_unknown(backend, session, database, clock, twilio):
    make_contact(session, now=clock.now(), phone="+12035550100")
    _, run = start_campaign(session, now=clock.now(), guarantee="at_most_once")
    with database.session() as s:
        claim_due_messages(s, now=clock.now(), limit=1, lease_seconds=60)
        s.commit()
    clock.advance(seconds=61)
    release_expired_leases(session, now=clock.now())
    channel = open_channel(twilio.channel_url())
    try:
        # Something else went to the number meanwhile (another tool on the same account): it cannot be told
        # from a lost copy of this message with other words, so the row is not declared never received.
        channel.send([Outgoing(999, "sms", "+12035550100", body="Your code is 1234")])
        clock.advance(seconds=SETTLED)
        result = reconcile_unknown(session, make_dispatcher(database, {"sms": channel}, clock), now=clock.now(),
                                   settled_seconds=SETTLED)
    finally:
        channel.close()
    assert (result.resolved, result.unresolved) == (0, 1)
    assert [m.status for m in messages_of(session, run.id)] == ["unknown"]


def test_a_channel_that_cannot_be_asked_leaves_unknown_rows_as_they_are(backend, session, database, clock, channel):
    make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now(), guarantee="at_most_once")
    with database.session() as s:
        claim_due_messages(s, now=clock.now(), limit=1, lease_seconds=60)
        s.commit()
    clock.advance(seconds=61 + SETTLED)
    release_expired_leases(session, now=clock.now() - timedelta(seconds=SETTLED))
    result = reconcile_unknown(session, make_dispatcher(database, channel, clock), now=clock.now(),
                               settled_seconds=SETTLED)
    assert (result.resolved, result.cannot_ask) == (0, 1)
    assert [m.status for m in messages_of(session, run.id)] == ["unknown"]
