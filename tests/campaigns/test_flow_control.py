"""Sending under pressure, against the fake Twilio over real HTTP with the clock advanced by hand: a 429 storm,
the provider down for a minute, and a pause or cancel arriving while a batch is with the provider.
Every recipient ends with exactly one message (or a recorded reason), never a silent drop."""

from __future__ import annotations

from collections import Counter

from campaigns import cancel_campaign, get_campaign, pause_campaign, resume_campaign
from campaigns.delivery.breaker import BreakerSettings
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher, messages_of, start_campaign
from tests.fakes.fake_twilio import FakeTwilio

# As configured by default ([sender] breaker_failures, breaker_cooldown_seconds, max_attempts).
PRODUCTION = {"max_attempts": 5, "breaker": BreakerSettings(failures=5, cooldown_seconds=60)}


def _audience(session, clock, n: int) -> None:
    for i in range(n):
        make_contact(session, now=clock.now(), phone=f"+1201555{i:04d}")


def _drain(dispatcher, clock, *, seconds: int = 10, rounds: int = 200, during=None) -> None:
    """Dispatch until nothing is due, advancing the clock `seconds` between rounds (backoffs, cooldowns)."""
    for i in range(rounds):
        if during is not None:
            during(i)
        while dispatcher.dispatch_due():
            pass
        clock.advance(seconds=seconds)


def _accepted_once(fake: FakeTwilio, n: int) -> None:
    per_number = Counter(m["to"] for m in fake.messages)
    assert len(per_number) == n, f"{n - len(per_number)} recipients got nothing"
    assert set(per_number.values()) == {1}, "a recipient got the message twice"


def test_a_429_storm_is_retried_later_and_nothing_is_dropped(backend, session, database, clock, fake, twilio):
    _audience(session, clock, 30)
    _, run = start_campaign(session, now=clock.now())
    dispatcher = make_dispatcher(database, {"sms": twilio}, clock, batch_size=10, **PRODUCTION)
    fake.start_outage(429)  # every send is throttled for five minutes: far more than max_attempts rounds
    _drain(dispatcher, clock, rounds=60, during=lambda i: fake.end_outage() if i == 30 else None)
    rows = messages_of(session, run.id)
    assert Counter(m.status for m in rows) == {"sent": 30}
    # Five minutes of 429s is more rounds than max_attempts: the breaker held the messages instead of failing them.
    assert len(fake.requests) > 30
    _accepted_once(fake, 30)


def test_a_throttled_message_waits_as_long_as_the_provider_asks(session, database, clock, fake, twilio):
    _audience(session, clock, 1)
    _, run = start_campaign(session, now=clock.now())
    dispatcher = make_dispatcher(database, {"sms": twilio}, clock, **PRODUCTION)
    fake.fail_next(1, 429, retry_after=120)
    dispatcher.dispatch_due()
    (row,) = messages_of(session, run.id)
    assert (row.status, row.error_code) == ("pending", "20429")
    assert (row.not_before - clock.now()).total_seconds() == 120
    clock.advance(seconds=119)
    assert dispatcher.dispatch_due() == 0
    clock.advance(seconds=1)
    assert dispatcher.dispatch_due() == 1
    _accepted_once(fake, 1)


def test_the_provider_down_for_a_minute_then_back_delivers_everyone_once(backend, session, database, clock, fake,
                                                                        twilio):
    _audience(session, clock, 25)
    _, run = start_campaign(session, now=clock.now(), guarantee="at_least_once")
    dispatcher = make_dispatcher(database, {"sms": twilio}, clock, batch_size=5, **PRODUCTION)
    started = clock.now()

    def outage(_round: int) -> None:
        if (clock.now() - started).total_seconds() >= 60:
            fake.end_outage()

    fake.start_outage(503)
    _drain(dispatcher, clock, seconds=10, rounds=60, during=outage)
    assert Counter(m.status for m in messages_of(session, run.id)) == {"sent": 25}
    _accepted_once(fake, 25)


def test_pause_while_a_batch_is_with_the_provider_stops_claims_and_resume_finishes_without_duplicates(
        backend, session, database, clock):
    _audience(session, clock, 12)
    campaign, run = start_campaign(session, now=clock.now())

    def on_send() -> None:  # the marketer presses Pause while the second batch is with the provider
        if len(channel.sent) == 5:  # its first message (a batch is handed over one message at a time)
            with database.session() as other:
                pause_campaign(other, campaign.id, user_id=None, now=clock.now())

    channel = ScriptedChannel(on_send=on_send)
    dispatcher = make_dispatcher(database, channel, clock, batch_size=4)
    while dispatcher.dispatch_due():
        pass
    assert len(channel.sent) == 8  # the batch in flight finished; nothing was claimed after the pause
    assert Counter(m.status for m in messages_of(session, run.id)) == {"sent": 8, "pending": 4}
    assert get_campaign(session, campaign.id).status == "paused"
    session.commit()
    clock.advance(minutes=30)
    assert dispatcher.dispatch_due() == 0  # still paused, however long it waits
    resume_campaign(session, campaign.id, user_id=None, now=clock.now())
    while dispatcher.dispatch_due():
        pass
    assert Counter(m.status for m in messages_of(session, run.id)) == {"sent": 12}
    assert len(channel.sent) == len({m.to for m in channel.sent}) == 12
    assert get_campaign(session, campaign.id).status == "completed"


def test_cancel_while_a_batch_is_with_the_provider_cancels_the_rest(backend, session, database, clock):
    _audience(session, clock, 10)
    campaign, run = start_campaign(session, now=clock.now())

    def on_send() -> None:
        if len(channel.sent) == 3:
            with database.session() as other:
                assert cancel_campaign(other, campaign.id, now=clock.now()) == 7

    channel = ScriptedChannel(on_send=on_send)
    dispatcher = make_dispatcher(database, channel, clock, batch_size=3)
    while dispatcher.dispatch_due():
        pass
    rows = messages_of(session, run.id)
    assert Counter(m.status for m in rows) == {"sent": 3, "cancelled": 7}  # the batch in flight is recorded
    assert len(channel.sent) == 3
    assert get_campaign(session, campaign.id).status == "cancelled"
