"""The dispatch loop: claim -> render -> send -> record, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, text

from campaigns import ChannelContractBroken, campaign_status
from campaigns.delivery.outbox import claim_due_messages
from campaigns.delivery.outgoing import unsubscribe_url
from campaigns.models import Campaign, Run
from channels import Accepted, Outgoing, Refused
from core.db import Database
from core.ids import verify
from tests.campaigns.factories import (
    ScriptedChannel,
    accept,
    events_of,
    make_contact,
    make_dispatcher,
    messages_of,
    refuse,
    start_campaign,
)


def test_due_messages_are_sent_and_recorded_with_provider_id_segments_and_estimated_cost(
        backend, session, database, clock, channel):
    contacts = [make_contact(session, now=clock.now(), first_name=name) for name in ("Ann", "Bob")]
    campaign, run = start_campaign(session, now=clock.now(), body="Hi {{ contact.first_name }} " + "x" * 160)
    clock.advance(seconds=5)
    handled = make_dispatcher(database, channel, clock).dispatch_due()
    assert handled == 2
    assert sorted(m.to for m in channel.sent) == sorted(c.phone for c in contacts)
    for message in messages_of(session, run.id):
        assert message.status == "sent"
        assert message.provider_id == f"P{message.id}"
        assert message.segments == 2  # counted from the rendered body: the provider did not say
        assert message.cost == Decimal("0.0158") and message.currency == "USD"
        assert message.sent_at == clock.now()
        assert message.attempts == 1
        assert message.lease_expires_at is None
        assert [e.type for e in events_of(session, message.id)] == ["sent"]
    session.expire_all()
    assert (session.get(Run, run.id).status, session.get(Run, run.id).finished_at) == ("completed", clock.now())
    assert session.get(Campaign, campaign.id).status == "completed"


def test_the_providers_cost_and_segments_win_over_the_estimate(backend, session, database, clock):
    contact = make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    channel = ScriptedChannel({contact.phone: lambda m: Accepted(m.message_id, "SM1", segments=3,
                                                                 cost=Decimal("0.0300"), currency="EUR")})
    make_dispatcher(database, channel, clock).dispatch_due()
    (message,) = messages_of(session, run.id)
    assert (message.segments, message.cost, message.currency) == (3, Decimal("0.03"), "EUR")


def test_an_email_carries_message_id_unsubscribe_headers_and_a_derived_text_part(backend, session, database, clock,
                                                                                 channel):
    contact = make_contact(session, now=clock.now(), first_name="Ann")
    _, run = start_campaign(session, now=clock.now(), channel="email",
                            html='<p>Hi {{ contact.first_name }}</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>')
    make_dispatcher(database, channel, clock).dispatch_due()
    (sent,) = channel.sent
    (message,) = messages_of(session, run.id)
    url = unsubscribe_url("https://herald.example.com", "test-secret", message.id)
    assert (sent.channel, sent.to, sent.subject) == ("email", contact.email, "Hello Ann")
    assert sent.body == f"Hi Ann\nUnsubscribe ({url})"
    assert sent.headers == {
        "Message-ID": f"<herald.{message.id}@herald.example.com>",
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert verify("test-secret", f"u:{message.id}", url.rsplit("/", 1)[1])
    assert message.cost == Decimal("0.001")


def test_an_sms_asks_for_status_callbacks_at_its_own_url(backend, session, database, clock, channel):
    make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    make_dispatcher(database, channel, clock).dispatch_due()
    (message,) = messages_of(session, run.id)
    assert channel.sent[0].status_callback_url == f"https://herald.example.com/webhooks/twilio/status/{message.id}"


def test_a_render_failure_fails_only_that_message(backend, session, database, clock, channel):
    make_contact(session, now=clock.now(), points="7")
    broken = make_contact(session, now=clock.now(), points="many")
    make_contact(session, now=clock.now(), points="3")
    _, run = start_campaign(session, now=clock.now(), body="{{ contact.points | int + 1 }} {{ contact.points * 2 }}")
    # "many" * 2 renders fine in Jinja; make the broken contact's data fail for real:
    broken.attributes = {"points": None}
    session.commit()
    make_dispatcher(database, channel, clock).dispatch_due()
    statuses = {m.contact_id: m for m in messages_of(session, run.id)}
    assert statuses[broken.id].status == "failed"
    assert statuses[broken.id].error_code == "template"
    assert statuses[broken.id].error_reason.startswith("body line 1: ")
    assert sorted(m.status for m in statuses.values()) == ["failed", "sent", "sent"]
    assert len(channel.sent) == 2


def test_a_permanent_refusal_fails_the_message_in_the_providers_words(backend, session, database, clock):
    contact = make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    channel = ScriptedChannel({contact.phone: refuse(permanent=True, code="21211",
                                                     reason="The 'To' number +1555 is not a valid phone number.")})
    make_dispatcher(database, channel, clock).dispatch_due()
    (message,) = messages_of(session, run.id)
    assert (message.status, message.error_code) == ("failed", "21211")
    assert message.error_reason == "The 'To' number +1555 is not a valid phone number."
    assert [e.type for e in events_of(session, message.id)] == ["failed"]
    # Its only message failed and nothing was sent: the campaign failed (issue 4, "Lifecycle and controls":
    # completed / cancelled / failed), it did not complete.
    assert campaign_status(session, message.campaign_id).status == "failed"


def test_a_transient_refusal_is_retried_after_exponential_backoff_then_fails_at_max_attempts(
        backend, session, database, clock):
    contact = make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    channel = ScriptedChannel({contact.phone: refuse(permanent=False, code="20429", reason="Too Many Requests")})
    dispatcher = make_dispatcher(database, channel, clock, max_attempts=3, retry_base_seconds=30)

    assert dispatcher.dispatch_due() == 1
    (message,) = messages_of(session, run.id)
    assert (message.status, message.attempts, message.error_code) == ("pending", 1, "20429")
    assert message.not_before == clock.now() + timedelta(seconds=30)
    assert dispatcher.dispatch_due() == 0  # not due yet

    clock.advance(seconds=30)
    assert dispatcher.dispatch_due() == 1
    (message,) = messages_of(session, run.id)
    assert (message.status, message.attempts) == ("pending", 2)
    assert message.not_before == clock.now() + timedelta(seconds=60)

    clock.advance(seconds=60)
    assert dispatcher.dispatch_due() == 1
    (message,) = messages_of(session, run.id)
    assert (message.status, message.attempts, message.error_reason) == ("failed", 3, "Too Many Requests")
    assert [e.type for e in events_of(session, message.id)] == ["retry", "retry", "failed"]
    assert len(channel.sent) == 3
    session.expire_all()
    assert session.get(Run, run.id).status == "failed"  # every message it tried failed: nothing was sent


def test_a_transient_refusal_waits_as_long_as_the_provider_asked(backend, session, database, clock):
    contact = make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    channel = ScriptedChannel({contact.phone: refuse(permanent=False, code="429", reason="slow down",
                                                     retry_after=7)})
    make_dispatcher(database, channel, clock).dispatch_due()
    (message,) = messages_of(session, run.id)
    assert message.not_before == clock.now() + timedelta(seconds=7)


def test_messages_of_a_run_that_is_not_running_are_not_claimed(backend, session, database, clock, channel):
    make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    session.get(Run, run.id).status = "paused"
    session.commit()
    assert make_dispatcher(database, channel, clock).dispatch_due() == 0
    assert channel.sent == []


def test_the_claim_is_committed_before_the_provider_is_called(backend, session, database, clock, config):
    make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    seen: list[str] = []

    def look_from_another_connection() -> None:
        other = Database(str(config.database_url))
        with other.session() as s:
            seen.append(s.execute(text("SELECT status FROM messages")).scalar_one())
        other.dispose()

    make_dispatcher(database, ScriptedChannel(on_send=look_from_another_connection), clock).dispatch_due()
    assert seen == ["sending"]


def test_a_result_for_a_message_not_in_the_batch_is_a_bug_and_the_rest_is_still_recorded(
        backend, session, database, clock):
    for _ in range(2):
        make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())

    first = messages_of(session, run.id)[0].id

    def answer(batch: list[Outgoing]):  # the second message is answered with a result for another one
        return [accept(batch[0]) if batch[0].message_id == first else Accepted(999999, "stray")]

    with pytest.raises(ChannelContractBroken, match="999999"):
        make_dispatcher(database, ScriptedChannel(answer_batch=answer), clock).dispatch_due()
    assert sorted(m.status for m in messages_of(session, run.id)) == ["sending", "sent"]


def test_batches_are_limited_and_sent_in_priority_then_due_order(backend, session, database, clock, channel):
    for _ in range(5):
        make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    rows = messages_of(session, run.id)
    rows[4].priority = 1
    session.commit()
    dispatcher = make_dispatcher(database, channel, clock, batch_size=2)
    assert [dispatcher.dispatch_due() for _ in range(4)] == [2, 2, 1, 0]
    sent = [m.message_id for m in channel.sent]
    assert (set(sent[:2]), set(sent[2:4]), sent[4:]) == ({rows[4].id, rows[0].id}, {rows[1].id, rows[2].id},
                                                         [rows[3].id])


def test_concurrent_senders_never_send_a_message_twice(backend, database, session, clock):
    for _ in range(60):
        make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    channels = [ScriptedChannel() for _ in range(4)]
    start = threading.Barrier(len(channels))
    errors: list[BaseException] = []

    def sender(channel: ScriptedChannel) -> None:
        dispatcher = make_dispatcher(database, channel, clock, batch_size=7)  # one Dispatcher per thread
        try:
            start.wait()
            while dispatcher.dispatch_due():
                pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(c,)) for c in channels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    sent = Counter(m.message_id for c in channels for m in c.sent)
    assert len(sent) == 60 and set(sent.values()) == {1}
    assert {m.status for m in messages_of(session, run.id)} == {"sent"}


def test_on_postgresql_a_claim_skips_rows_another_open_claim_holds(backend, database, session, clock):
    if backend != "postgres":
        pytest.skip("SQLite serialises write transactions (BEGIN IMMEDIATE): there is no row lock to skip")
    for _ in range(10):
        make_contact(session, now=clock.now())
    start_campaign(session, now=clock.now())
    with database.session() as first, database.session() as second:
        held = claim_due_messages(first, now=clock.now(), limit=4, lease_seconds=60)  # not committed: rows locked
        second.execute(text("SET LOCAL lock_timeout = '2s'"))  # without SKIP LOCKED this would wait, then fail
        other = claim_due_messages(second, now=clock.now(), limit=4, lease_seconds=60)
        assert len(held) == len(other) == 4
        assert not set(held) & set(other)
        first.commit()
        second.commit()


def test_the_claim_is_one_update_statement(backend, database, session, clock):
    for _ in range(3):
        make_contact(session, now=clock.now())
    start_campaign(session, now=clock.now())
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with database.session() as s:
        event.listen(database.engine, "before_cursor_execute", record)
        try:
            claimed = claim_due_messages(s, now=clock.now(), limit=10, lease_seconds=60)
        finally:
            event.remove(database.engine, "before_cursor_execute", record)
        s.commit()
    assert len(claimed) == 3
    claims = [st for st in statements if not st.upper().startswith("BEGIN")]
    assert len(claims) == 1
    assert "UPDATE MESSAGES" in claims[0].upper() and "RETURNING" in claims[0].upper()
    if backend == "postgres":
        assert "SKIP LOCKED" in claims[0].upper()


def test_an_unknown_row_whose_late_answer_arrives_becomes_sent(backend, session, database, clock):
    """The lease expired while the provider was still answering; the answer settles it."""
    make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())

    def slow_provider() -> None:
        clock.advance(seconds=301)
        with database.session() as s:
            from campaigns import release_expired_leases
            assert release_expired_leases(s, now=clock.now()) == 1

    make_dispatcher(database, ScriptedChannel(on_send=slow_provider), clock, lease_seconds=300).dispatch_due()
    (message,) = messages_of(session, run.id)
    assert message.status == "sent"
    assert [e.type for e in events_of(session, message.id)] == ["unknown", "sent"]


def test_prices_are_estimated_per_segment_for_sms_in_the_configured_currency(backend, session, database, clock,
                                                                             channel):
    make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now(), body="会员日全场8折" * 12)  # 84 UCS-2 units: 2 segments
    make_dispatcher(database, channel, clock, price={"sms": Decimal("0.05")}, currency="CNY").dispatch_due()
    (message,) = messages_of(session, run.id)
    assert (message.segments, message.cost, message.currency) == (2, Decimal("0.1"), "CNY")


def test_a_refusal_is_kept_per_message_in_a_mixed_batch(backend, session, database, clock):
    good, bad = make_contact(session, now=clock.now()), make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    channel = ScriptedChannel({bad.phone: lambda m: Refused(m.message_id, True, "21610", "Attempt to send to "
                                                            "unsubscribed recipient")})
    make_dispatcher(database, channel, clock).dispatch_due()
    by_contact = {m.contact_id: m for m in messages_of(session, run.id)}
    assert by_contact[good.id].status == "sent"
    assert (by_contact[bad.id].status, by_contact[bad.id].error_code) == ("failed", "21610")


def test_a_channel_that_raises_keeps_what_the_other_channel_said_and_leaves_its_rows_claimed(
        backend, session, database, clock):
    make_contact(session, now=clock.now())
    _, email_run = start_campaign(session, now=clock.now(), channel="email")  # lower ids: its batch goes first
    _, sms_run = start_campaign(session, now=clock.now())

    class Crashing(ScriptedChannel):
        def send(self, batch):
            raise RuntimeError("adapter bug")

    channels = {"sms": ScriptedChannel(), "email": Crashing()}
    with pytest.raises(RuntimeError, match="adapter bug"):
        make_dispatcher(database, channels, clock).dispatch_due()
    assert [m.status for m in messages_of(session, sms_run.id)] == ["sent"]
    assert [m.status for m in messages_of(session, email_run.id)] == ["sending"]  # settled when the lease expires


def test_the_rate_limit_is_taken_per_provider_and_channel_one_slot_right_before_each_message(
        backend, session, database, clock, channel):
    # Issue 12: tokens for a whole batch taken at once sent the batch as a burst the provider refused.
    for _ in range(3):
        make_contact(session, now=clock.now())
    start_campaign(session, now=clock.now())
    taken: list[tuple[str, float, int, int]] = []

    class CountingLimiter:
        def take(self, channel_key: str, rate: float, n: int = 1) -> float:
            taken.append((channel_key, rate, n, len(channel.sent)))
            return 0.0

        def backlog_seconds(self, channel_key: str) -> float:
            return 0.0

        def slowdowns(self, channel_key: str) -> int:
            return 0

        def note_accepted(self, channel_key: str) -> None:
            pass

        def seconds_since_accepted(self, channel_key: str) -> float | None:
            return None

    dispatcher = make_dispatcher(database, channel, clock)
    dispatcher.limiter = CountingLimiter()
    dispatcher.dispatch_due()
    # one slot per message, each taken before that message was sent
    assert taken == [("scripted:sms", 100000.0, 1, 0), ("scripted:sms", 100000.0, 1, 1),
                     ("scripted:sms", 100000.0, 1, 2)]
    assert len(channel.sent) == 3


def test_a_message_for_a_channel_that_is_not_configured_fails_saying_so(backend, session, database, clock, channel):
    make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now(), channel="email")
    make_dispatcher(database, {"sms": channel}, clock).dispatch_due()
    (message,) = messages_of(session, run.id)
    assert (message.status, message.error_code) == ("failed", "no_channel")
    assert "[channels.email] url" in message.error_reason
