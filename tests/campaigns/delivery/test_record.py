"""Recording a batch: a few statements whatever its size, and a callback's word still stands."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import event

from campaigns import apply_channel_events
from campaigns.delivery.outbox import SentMessage, claim_due_messages, mark_messages_sent
from channels import ChannelEvent
from tests.campaigns.factories import (
    ScriptedChannel,
    events_of,
    make_contact,
    make_dispatcher,
    messages_of,
    refuse,
    start_campaign,
)


def test_a_delivered_callback_that_beat_the_record_keeps_its_status_and_gets_the_provider_id(
        backend, session, database, clock):
    contacts = [make_contact(session, now=clock.now()) for _ in range(3)]
    _, run = start_campaign(session, now=clock.now())
    fast = contacts[1].phone

    def callbacks_arrive_while_sending() -> None:
        if len(channel.sent) != 1:  # once, while the batch is with the provider (it is sent one by one)
            return
        (mid,) = [m.id for m in messages_of(session, run.id) if m.address == fast]
        with database.session() as s:
            apply_channel_events(s, [ChannelEvent("delivered", message_id=mid, provider_status="delivered")],
                                 now=clock.now())

    clock.advance(seconds=2)
    channel = ScriptedChannel(on_send=callbacks_arrive_while_sending)
    make_dispatcher(database, channel, clock).dispatch_due()
    rows = {m.address: m for m in messages_of(session, run.id)}
    assert {address: m.status for address, m in rows.items()} == {
        contacts[0].phone: "sent", fast: "delivered", contacts[2].phone: "sent"}
    delivered = rows[fast]
    assert delivered.provider_id == f"P{delivered.id}"
    assert (delivered.cost, delivered.currency, delivered.segments) == (Decimal("0.0079"), "USD", 1)
    assert delivered.sent_at == clock.now() and delivered.lease_expires_at is None
    assert [e.type for e in events_of(session, delivered.id)] == ["delivered", "sent"]


def test_mark_messages_sent_counts_only_the_rows_it_moved_and_fills_in_but_never_overwrites(
        backend, session, database, clock, channel):
    for _ in range(2):
        make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    make_dispatcher(database, channel, clock).dispatch_due()
    first, second = messages_of(session, run.id)
    apply_channel_events(session, [ChannelEvent("delivered", message_id=first.id, provider_status="delivered")],
                         now=clock.now())
    with database.session() as s:
        # Both rows were recorded already: a repeated answer moves nothing and changes no provider id.
        moved = mark_messages_sent(s, [SentMessage(first.id, "OTHER", 5, Decimal("9"), "EUR"),
                                       SentMessage(second.id, "OTHER", 5, Decimal("9"), "EUR")], now=clock.now())
        s.commit()
    assert moved == 0
    assert [(m.status, m.provider_id, m.currency) for m in messages_of(session, run.id)] == [
        ("delivered", f"P{first.id}", "USD"), ("sent", f"P{second.id}", "USD")]


def test_recording_a_batch_takes_the_same_statements_for_3_messages_as_for_60(backend, session, database, clock):
    def statements_to_record(size: int) -> list[str]:
        contacts = [make_contact(session, now=clock.now()) for _ in range(size)]
        bad = {contacts[0].phone: refuse(permanent=True), contacts[1].phone: refuse(permanent=False)}
        start_campaign(session, now=clock.now())
        seen: list[str] = []

        def note(conn, cursor, statement, parameters, context, executemany):
            words = statement.split()
            # A lease renewed while the batch is sent (campaigns/delivery/pacing.py, once a second) is not
            # recording: on a loaded machine the 60-message batch can outlast a second, the 3-message one not.
            renewal = words[:3] == ["UPDATE", "messages", "SET"] and words[3].startswith("lease_expires_at=")
            if words[0].upper() in ("UPDATE", "INSERT") and "messages" in statement and not renewal:
                seen.append(" ".join(words[:3]))

        # One group of answers (record_every): a group is recorded set-based, whatever its size; how many
        # groups a batch makes is the kill bound's business (tests/campaigns/delivery/test_record_as_answered.py).
        dispatcher = make_dispatcher(database, ScriptedChannel(bad), clock, batch_size=1000, record_every=1000,
                                     record_seconds=3600.0)
        dispatcher.claim = _recording_only(dispatcher.claim, database, note)
        dispatcher.dispatch_due()
        event.remove(database.engine, "before_cursor_execute", note)
        return seen

    small = statements_to_record(3)
    large = statements_to_record(60)
    assert small == large
    assert len(large) <= 5  # sent, failed, retry, the events, the run's completion check


def _recording_only(claim, database, note):
    """Start listening after the claim, so only the statements that record the answers are seen."""
    def claim_then_listen(session):
        claimed = claim(session)
        event.listen(database.engine, "before_cursor_execute", note)
        return claimed
    return claim_then_listen


def test_mark_messages_sent_returns_how_many_rows_moved_in_the_whole_batch(backend, session, database, clock):
    for _ in range(4):
        make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    with database.session() as s:
        claimed = claim_due_messages(s, now=clock.now(), limit=10, lease_seconds=60)
        s.commit()
    with database.session() as s:
        moved = mark_messages_sent(s, [SentMessage(mid, f"P{mid}", None, Decimal("0.001"), "USD")
                                       for mid in claimed[:3]], now=clock.now())
        s.commit()
    assert moved == 3
    assert [m.status for m in messages_of(session, run.id)] == ["sent", "sent", "sent", "sending"]


def test_a_callback_and_the_send_record_commute(backend, session, database, clock):
    """Whichever lands first — a `sent` callback or the dispatcher's record — the row ends the same."""
    for _ in range(2):
        make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    first_id, second_id = (m.id for m in messages_of(session, run.id))

    def callback(message_id: int) -> None:
        with database.session() as s:
            apply_channel_events(s, [ChannelEvent("sent", message_id=message_id, provider_id=f"P{message_id}",
                                                  provider_status="sent")], now=clock.now())

    def first_callback_beats_the_record() -> None:
        if len(channel.sent) != 2:  # once the batch (sent one by one) is with the provider
            return
        callback(first_id)
        clock.advance(seconds=1)  # the record lands a second after the callback

    channel = ScriptedChannel(on_send=first_callback_beats_the_record)
    make_dispatcher(database, channel, clock).dispatch_due()
    clock.advance(seconds=1)
    callback(second_id)  # the usual order: the record, then the callback
    first, second = messages_of(session, run.id)

    def facts(m):
        return m.status, m.provider_id[:1], m.segments, m.cost, m.currency, m.lease_expires_at

    assert facts(first) == facts(second) == ("sent", "P", 1, Decimal("0.0079"), "USD", None)
    # sent_at is the earliest moment the message is known to have gone, whoever said so first
    assert first.sent_at == clock.now() - timedelta(seconds=2) and second.sent_at == clock.now() - timedelta(seconds=1)
