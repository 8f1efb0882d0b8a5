"""A provider's "slow down" (429) is retried without counting an attempt and holds its channel back; other
transient failures (5xx) still count and end `failed` with the last reason. Against the fake Twilio over
real HTTP, with the clock advanced by hand and the circuit breaker out of the way."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from campaigns.delivery.breaker import BreakerSettings
from campaigns.delivery.throttle import (
    DECREASE_FACTOR,
    FIRST_HOLD_SECONDS,
    LONGEST_HOLD_SECONDS,
    QUIET_SECONDS,
    RECOVER_SHARE,
    hold_seconds,
    note_throttles,
    send_rates,
)
from campaigns.responses.inbox_models import ChannelHealth
from channels import Accepted, Refused
from tests.campaigns.factories import (
    ScriptedChannel,
    events_of,
    make_contact,
    make_dispatcher,
    messages_of,
    refuse,
    start_campaign,
)

# The breaker would also hold the messages back during a storm; set so high it never opens, so what is
# tested is the throttle handling alone.
NO_BREAKER = {"max_attempts": 3, "breaker": BreakerSettings(failures=1_000_000, cooldown_seconds=60)}


def _audience(session, clock, n: int) -> None:
    for i in range(n):
        make_contact(session, now=clock.now(), phone=f"+1201555{i:04d}")


def _drain(dispatcher, clock, *, seconds: int, rounds: int, during=None) -> None:
    for i in range(rounds):
        if during is not None:
            during(i)
        while dispatcher.dispatch_due():
            pass
        clock.advance(seconds=seconds)


def _health(session, channel: str = "sms") -> ChannelHealth | None:
    """The channel's row, read and let go of (on SQLite an open transaction would hold the write lock)."""
    session.expire_all()
    row = session.scalar(select(ChannelHealth).where(ChannelHealth.channel == channel))
    if row is not None:
        session.expunge(row)
    session.commit()
    return row


def test_a_429_storm_longer_than_max_attempts_delivers_everyone_exactly_once(backend, session, database, clock, fake,
                                                                            twilio):
    _audience(session, clock, 20)
    _, run = start_campaign(session, now=clock.now())
    dispatcher = make_dispatcher(database, {"sms": twilio}, clock, batch_size=5, **NO_BREAKER)
    fake.start_outage(429)
    _drain(dispatcher, clock, seconds=10, rounds=40)  # 400 s of nothing but 429s
    throttled_tries = len(fake.requests)
    assert throttled_tries > NO_BREAKER["max_attempts"]  # far more 429s than a message has attempts
    rows = messages_of(session, run.id)
    assert Counter(m.status for m in rows) == {"pending": 20}  # none failed, none skipped
    assert {m.attempts for m in rows} == {0}  # every attempt was given back
    assert {m.error_code for m in rows} <= {"20429", None}
    fake.end_outage()
    _drain(dispatcher, clock, seconds=10, rounds=40)
    rows = messages_of(session, run.id)
    assert Counter(m.status for m in rows) == {"sent": 20}
    assert {m.attempts for m in rows} == {1}
    per_number = Counter(m["to"] for m in fake.messages)
    assert len(per_number) == 20 and set(per_number.values()) == {1}
    assert _health(session).state == "closed"  # the first accepted batch ended the throttling


def test_a_5xx_storm_still_fails_each_message_after_max_attempts_with_the_last_reason(backend, session, database,
                                                                                      clock, fake, twilio):
    _audience(session, clock, 4)
    _, run = start_campaign(session, now=clock.now())
    dispatcher = make_dispatcher(database, {"sms": twilio}, clock, retry_base_seconds=10, **NO_BREAKER)
    fake.start_outage(503)
    _drain(dispatcher, clock, seconds=10, rounds=20)
    rows = messages_of(session, run.id)
    assert {(m.status, m.attempts, m.error_code) for m in rows} == {("failed", 3, "20503")}
    assert all(m.error_reason for m in rows)
    assert [e.type for e in events_of(session, rows[0].id)] == ["retry", "retry", "failed"]
    assert fake.messages == []
    assert _health(session) is None or _health(session).state != "throttled"  # a 5xx is no slow-down


def test_a_throttle_holds_the_whole_channel_and_the_hold_grows_while_it_lasts(session, database, clock, fake, twilio):
    _audience(session, clock, 3)
    _, run = start_campaign(session, now=clock.now())
    dispatcher = make_dispatcher(database, {"sms": twilio}, clock, batch_size=1, **NO_BREAKER)
    fake.start_outage(429)
    started = clock.now()
    assert dispatcher.dispatch_due() == 1
    health = _health(session)
    assert (health.state, health.opened_at) == ("throttled", started)
    assert health.next_try_at == started + timedelta(seconds=FIRST_HOLD_SECONDS)
    # The other two recipients were never tried, but the channel is held: nobody claims them.
    assert dispatcher.dispatch_due() == 0
    assert len(fake.requests) == 1
    holds = []
    for _ in range(8):
        clock.advance(seconds=(_health(session).next_try_at - clock.now()).total_seconds())
        assert dispatcher.dispatch_due() == 1
        health = _health(session)
        holds.append((health.next_try_at - clock.now()).total_seconds())
    assert holds == sorted(holds) and holds[-1] > 4 * FIRST_HOLD_SECONDS  # it backs off more and more
    assert max(holds) <= LONGEST_HOLD_SECONDS
    rows = messages_of(session, run.id)
    assert {m.status for m in rows} == {"pending"} and {m.attempts for m in rows} == {0}


def test_a_throttle_waits_as_long_as_the_provider_asks_and_gives_the_attempt_back(session, database, clock):
    contact = make_contact(session, now=clock.now())
    _, run = start_campaign(session, now=clock.now())
    throttled = refuse(permanent=False, code="429", reason="slow down", retry_after=90)
    channel = ScriptedChannel({contact.phone: lambda m: _as_throttle(throttled(m))})
    dispatcher = make_dispatcher(database, channel, clock, **NO_BREAKER)
    dispatcher.dispatch_due()
    (row,) = messages_of(session, run.id)
    assert (row.status, row.attempts, row.error_code) == ("pending", 0, "429")
    assert row.not_before == clock.now() + timedelta(seconds=90)
    assert _health(session).next_try_at == clock.now() + timedelta(seconds=90)
    (event,) = events_of(session, row.id)
    assert (event.type, event.detail["throttled"], event.detail["attempt"]) == ("retry", True, 0)


def _as_throttle(result):
    return replace(result, throttled=True)


@pytest.mark.parametrize(("streak", "asked", "hold"), [
    (0, None, FIRST_HOLD_SECONDS),
    (40, None, 40),
    (10_000, None, LONGEST_HOLD_SECONDS),
    (0, 120, 120),
    (200, 30, 30),  # Retry-After is honoured for exactly as long as it says, however long the streak (issue 12)
])
def test_hold_seconds(streak, asked, hold):
    assert hold_seconds(streak_seconds=streak, retry_after=asked) == hold


def _rate(session, channel: str = "sms") -> float | None:
    health = _health(session, channel)
    return health.send_rate if health is not None else None


def test_a_throttle_lowers_the_channels_rate_once_per_rate_and_quiet_sending_probes_it_back_up(backend, session,
                                                                                              clock):
    # AIMD (issue 12): a channel configured above what its provider allows settles just under it.
    throttled = [Refused(1, permanent=False, code="20429", reason="Too Many Requests", throttled=True)]
    accepted = [Accepted(2, provider_id="SM2")]

    def note(results, rate_used=None):
        note_throttles(session, "sms", "twilio://…", results, now=clock.now(), configured_rate=30.0,
                       rate_used=rate_used)
        session.commit()

    note(throttled, rate_used=30.0)
    assert _rate(session) == pytest.approx(30 * DECREASE_FACTOR)
    note(throttled, rate_used=30.0)  # another sender's request, sent before the rate was lowered
    assert _rate(session) == pytest.approx(30 * DECREASE_FACTOR)
    note(throttled, rate_used=30 * DECREASE_FACTOR)  # still too fast at the lowered rate
    lowered = 30 * DECREASE_FACTOR ** 2
    assert _rate(session) == pytest.approx(lowered)
    note(accepted)
    assert _rate(session) == pytest.approx(lowered)  # not quiet for long enough yet
    clock.advance(seconds=QUIET_SECONDS)
    note(accepted)
    # half way back to just under the rate that was refused (30 * DECREASE_FACTOR) ...
    ceiling = 30 * DECREASE_FACTOR * RECOVER_SHARE
    recovered = lowered + (ceiling - lowered) / 2
    assert _rate(session) == pytest.approx(recovered)
    note(accepted)
    assert _rate(session) == pytest.approx(recovered)  # once per quiet while
    for _ in range(6):
        clock.advance(seconds=QUIET_SECONDS)
        note(accepted)
    assert ceiling * 0.99 < _rate(session) < 30 * DECREASE_FACTOR  # ... then probing slowly past it
    for _ in range(40):
        clock.advance(seconds=QUIET_SECONDS)
        note(accepted)
    assert _rate(session) is None  # back at the configured rate
    assert send_rates(session, {"sms": 30.0, "email": 10.0}) == {"sms": 30.0, "email": 10.0}
    session.commit()
