"""A sender that dies after claiming: expired leases settle by the campaign's delivery guarantee."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns import release_expired_leases
from campaigns.delivery.outbox import claim_due_messages
from campaigns.models import Run
from tests.campaigns.factories import events_of, make_contact, make_dispatcher, messages_of, start_campaign


def claim_and_die(database, clock, *, lease_seconds: int = 300) -> list[int]:
    """What a sender leaves behind when it is killed between the claim and the record."""
    with database.session() as s:
        ids = claim_due_messages(s, now=clock.now(), limit=100, lease_seconds=lease_seconds)
        s.commit()
    return ids


def test_an_expired_lease_of_an_at_most_once_campaign_becomes_unknown_and_is_never_resent(
        backend, session, database, clock, channel):
    make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    (claimed,) = claim_and_die(database, clock)

    clock.advance(seconds=299)
    assert release_expired_leases(session, now=clock.now()) == 0
    assert messages_of(session, run.id)[0].status == "sending"

    clock.advance(seconds=1)
    assert release_expired_leases(session, now=clock.now()) == 1
    (message,) = messages_of(session, run.id)
    assert (message.status, message.error_code, message.lease_expires_at) == ("unknown", "unknown", None)
    assert "may or may not have been sent, so it is not resent (at-most-once)" in message.error_reason
    (event,) = events_of(session, claimed)
    assert event.type == "unknown" and "at-most-once" in event.detail["reason"]

    assert make_dispatcher(database, channel, clock).dispatch_due() == 0
    assert channel.sent == []
    session.expire_all()
    assert session.get(Run, run.id).status == "completed"  # nothing left to send
    session.commit()


def test_an_expired_lease_of_an_at_least_once_campaign_is_sent_again(backend, session, database, clock, channel):
    make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now(), guarantee="at_least_once")
    (claimed,) = claim_and_die(database, clock, lease_seconds=60)
    clock.advance(seconds=61)
    assert make_dispatcher(database, channel, clock).dispatch_due() == 1  # releases, then claims it again
    (message,) = messages_of(session, run.id)
    assert (message.status, message.attempts) == ("sent", 2)
    assert [e.type for e in events_of(session, claimed)] == ["retry", "sent"]
    assert [m.message_id for m in channel.sent] == [claimed]


@pytest.mark.parametrize("guarantee", ["at_most_once", "at_least_once"])
def test_releasing_is_set_based_and_touches_only_expired_sending_rows(backend, session, database, clock, guarantee):
    for _ in range(3):
        make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now(), guarantee=guarantee)
    with database.session() as s:
        claim_due_messages(s, now=clock.now(), limit=2, lease_seconds=60)
        s.commit()
    clock.advance(seconds=30)
    with database.session() as s:
        claim_due_messages(s, now=clock.now(), limit=1, lease_seconds=60)  # a live sender's lease
        s.commit()
    clock.advance(seconds=31)
    assert release_expired_leases(session, now=clock.now()) == 2
    statuses = sorted(m.status for m in messages_of(session, run.id))
    settled = "unknown" if guarantee == "at_most_once" else "pending"
    assert statuses == sorted([settled, settled, "sending"])
    assert all(m.not_before <= clock.now() for m in messages_of(session, run.id))
    assert release_expired_leases(session, now=clock.now() + timedelta(seconds=1)) == 0
