"""The circuit breaker against the fake Twilio: a 5xx storm pauses the channel, nothing is lost, and
sending resumes by itself once the provider answers. Also: refusals that mean "opted out" or "dead
number" become the contact's consent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from audiences import Consent
from campaigns import BreakerSettings, paused_channels
from campaigns.delivery.breaker import channels_to_skip, note_answers
from channels import Accepted, Refused
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign
from tests.fakes.fake_twilio import FakeTwilio

SETTINGS = BreakerSettings(failures=3, cooldown_seconds=60)


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(opted_out_numbers={"+12015550177"}, landline_numbers={"+12015550178"}) as fake:
        yield fake


def paused(session):
    try:
        return paused_channels(session)
    finally:
        session.commit()  # on SQLite every transaction holds the write lock the sender needs


def statuses(session, run_id: int) -> list[str]:
    return sorted(m.status for m in messages_of(session, run_id))


def test_a_5xx_storm_opens_the_breaker_then_a_probe_resumes_sending_and_no_message_is_lost(
        backend, session, database, clock, fake, twilio):
    for n in range(6):
        make_contact(session, now=clock.now(), phone=f"+1201555{n:04d}")
    _, run = start_campaign(session, now=clock.now())
    dispatcher = make_dispatcher(database, {"sms": twilio}, clock, batch_size=2, max_attempts=2, breaker=SETTINGS)
    fake.start_outage(500)

    assert dispatcher.dispatch_due() == 2  # 2 failures in a row: still closed
    assert paused(session) == []
    clock.advance(seconds=3600)  # past every backoff: only the breaker can hold messages back now
    assert dispatcher.dispatch_due() == 2  # 4 >= 3: open
    (breaker,) = paused(session)
    assert breaker.channel == "sms" and breaker.provider.startswith("twilio://")
    assert "20500" in breaker.last_error
    assert breaker.next_try_at == clock.now() + timedelta(seconds=SETTINGS.cooldown_seconds)
    tried = len(fake.requests)

    assert dispatcher.dispatch_due() == 0  # paused: nothing claimed, nothing sent
    assert len(fake.requests) == tried
    assert "failed" not in statuses(session, run.id)

    clock.advance(seconds=61)  # cool-down over: one probe, which fails again -> another cool-down
    assert dispatcher.dispatch_due() == 2
    assert dispatcher.dispatch_due() == 0
    assert len(paused(session)) == 1
    # Attempts ran past max_attempts while the provider was down, yet nothing was given up on.
    assert "failed" not in statuses(session, run.id)

    fake.end_outage()
    clock.advance(seconds=3600)
    while dispatcher.dispatch_due():
        clock.advance(seconds=3600)
    assert paused(session) == []
    assert statuses(session, run.id) == ["sent"] * 6
    assert sorted(m["to"] for m in fake.messages) == [f"+1201555{n:04d}" for n in range(6)]  # once each


def test_only_one_sender_probes_a_paused_channel(session, clock):
    refused = [Refused(i, False, "20500", "Internal Server Error") for i in range(3)]
    assert note_answers(session, "sms", "twilio://AC…", refused, now=clock.now(), settings=SETTINGS)
    session.commit()
    assert channels_to_skip(session, now=clock.now(), settings=SETTINGS) == {"sms"}
    clock.advance(seconds=60)
    assert channels_to_skip(session, now=clock.now(), settings=SETTINGS) == set()  # this sender probes
    session.commit()
    assert channels_to_skip(session, now=clock.now(), settings=SETTINGS) == {"sms"}  # every other one waits
    note_answers(session, "sms", "twilio://AC…", [Accepted(9, "SM9")], now=clock.now(), settings=SETTINGS)
    session.commit()
    assert channels_to_skip(session, now=clock.now(), settings=SETTINGS) == set()
    assert paused_channels(session) == []


def test_messages_a_stopped_batch_did_not_try_do_not_count_and_a_permanent_refusal_closes(session, clock):
    not_tried = [Refused(i, False, "timeout", "not sent, an earlier message in the batch got: slow")
                 for i in range(10)]
    assert note_answers(session, "sms", "x", [Refused(0, False, "timeout", "slow"), *not_tried], now=clock.now(),
                        settings=SETTINGS) is None
    assert note_answers(session, "sms", "x", [Refused(1, False, "timeout", "slow")], now=clock.now(),
                        settings=SETTINGS) is None
    # The provider answered "no such number": it is up, so the count starts again.
    note_answers(session, "sms", "x", [Refused(2, True, "21211", "invalid")], now=clock.now(), settings=SETTINGS)
    assert note_answers(session, "sms", "x", [Refused(3, False, "timeout", "slow")] * 2, now=clock.now(),
                        settings=SETTINGS) is None
    session.commit()


def test_twilio_21610_unsubscribes_and_21614_marks_the_number_so_it_is_not_retried(
        backend, session, database, clock, twilio):
    opted_out = make_contact(session, now=clock.now(), phone="+12015550177")
    landline = make_contact(session, now=clock.now(), phone="+12015550178")
    fine = make_contact(session, now=clock.now(), phone="+12015550179")
    _, run = start_campaign(session, now=clock.now())
    make_dispatcher(database, {"sms": twilio}, clock).dispatch_due()

    by_contact = {m.contact_id: m for m in messages_of(session, run.id)}
    assert (by_contact[opted_out.id].status, by_contact[opted_out.id].error_code) == ("failed", "21610")
    assert (by_contact[landline.id].status, by_contact[landline.id].error_code) == ("failed", "21614")
    consents = dict(session.execute(select(Consent.contact_id, Consent.status).where(Consent.channel == "sms")).all())
    sources = set(session.scalars(select(Consent.source)))
    session.commit()
    assert consents == {opted_out.id: "unsubscribed", landline.id: "bounced"}
    assert sources == {"provider code 21610", "provider code 21614"}

    _, second = start_campaign(session, now=clock.advance(seconds=60))
    by_contact = {m.contact_id: m for m in messages_of(session, second.id)}
    assert [by_contact[c.id].status for c in (opted_out, landline, fine)] == ["suppressed", "suppressed", "pending"]



def test_a_provider_that_throttles_is_up_so_429s_never_open_the_breaker(session, clock):
    """A 429 / Twilio 20429 is the provider answering "slow down" (campaigns/delivery/throttle.py holds the
    channel for its Retry-After); counting it as a failure opened the breaker for its whole cool-down after five
    429s in a row, whatever the Retry-After said (seen by bench/soak.py)."""
    throttled = [Refused(i, False, "20429", "Too Many Requests", retry_after=1.0, throttled=True) for i in range(10)]
    for _ in range(3):
        assert note_answers(session, "sms", "twilio://AC…", throttled, now=clock.now(), settings=SETTINGS) is None
    session.commit()
    assert channels_to_skip(session, now=clock.now(), settings=SETTINGS) == set()
    # Failures before the throttling do not add up across it either: the provider answered in between.
    refused = [Refused(i, False, "20500", "Internal Server Error") for i in range(2)]
    note_answers(session, "sms", "twilio://AC…", refused, now=clock.now(), settings=SETTINGS)
    note_answers(session, "sms", "twilio://AC…", throttled[:1], now=clock.now(), settings=SETTINGS)
    note_answers(session, "sms", "twilio://AC…", refused, now=clock.now(), settings=SETTINGS)
    session.commit()
    assert channels_to_skip(session, now=clock.now(), settings=SETTINGS) == set()
