"""Several requests in flight per sender thread (issue 14, item 1), through the real dispatch loop.

A provider that takes 200 ms to answer, sent to one request at a time, gets 5 messages a second from
a sender thread. With `concurrency` the Dispatcher keeps up to that many requests in flight, each on
its own copy of the channel, still one slot of the rate per message, and still records every answer
as it comes back — with the delivery guarantees of one request at a time: a lost answer is `unknown`
and never resent at most once, a throttle hands nothing more over and gives untried messages their
attempt back, and rows handed over and not recorded never exceed the sliding window.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from campaigns.delivery.answer_groups import AnswerGroups
from channels import Accepted, open_channel
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign
from tests.fakes.fake_twilio import FakeTwilio

LATENCY = 0.2


@pytest.fixture
def slow_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(delay_seconds=LATENCY) as fake:
        yield fake


def concurrent_dispatcher(database, fake: FakeTwilio, clock, concurrency: int, **options: str):
    url = fake.channel_url(rate="1000/second", **options)
    opened = []

    def open_copy(key: str):
        opened.append(open_channel(url))
        return opened[-1]

    channel = open_channel(url)
    dispatcher = make_dispatcher(database, {"sms": channel}, clock, concurrency={"sms": concurrency},
                                 open_copy=open_copy)
    return dispatcher, channel, opened


def send_all(dispatcher, clock) -> None:
    for _ in range(10):
        if not dispatcher.dispatch_due():
            clock.advance(seconds=3600)
            if not dispatcher.dispatch_due():
                return
        clock.advance(seconds=3600)
    raise AssertionError("the dispatch loop never ran out of messages")


def contacts(session, clock, n: int) -> list[str]:
    phones = [f"+1201555{i:04d}" for i in range(n)]
    for phone in phones:
        make_contact(session, now=clock.now(), phone=phone)
    return phones


def test_requests_overlap_at_provider_latency_and_each_message_goes_once(
        backend, session, database, clock, slow_twilio):
    phones = contacts(session, clock, 40)
    _, run = start_campaign(session, now=clock.now(), guarantee="at_most_once")
    dispatcher, channel, copies = concurrent_dispatcher(database, slow_twilio, clock, 16)
    started = time.monotonic()
    try:
        send_all(dispatcher, clock)
    finally:
        dispatcher.close()
        channel.close()
    elapsed = time.monotonic() - started

    # One at a time: 40 x 0.2 s = 8 s. Sixteen in flight: three rounds of answers, well under that.
    assert elapsed < 40 * LATENCY / 3, elapsed
    assert len(copies) == 15  # the channel given plus 15 copies: 16 requests in flight at most
    assert [slow_twilio.sent_to(phone) for phone in phones] == [1] * 40
    assert [m.status for m in messages_of(session, run.id)] == ["sent"] * 40


@pytest.mark.parametrize("how", ["late", "drop"])
def test_at_most_once_lost_answers_in_flight_are_unknown_and_never_resent(
        backend, session, database, clock, how):
    with FakeTwilio(delay_seconds=0.05) as fake:
        phones = contacts(session, clock, 12)
        _, run = start_campaign(session, now=clock.now(), guarantee="at_most_once")
        fake.lose_answers(2, how)
        dispatcher, channel, _ = concurrent_dispatcher(database, fake, clock, 4, timeout="0.3")
        try:
            send_all(dispatcher, clock)
        finally:
            dispatcher.close()
            channel.close()
        assert [fake.sent_to(phone) for phone in phones] == [1] * 12  # 0 copies
    statuses = [m.status for m in messages_of(session, run.id)]
    assert sorted(set(statuses)) == ["sent", "unknown"] and statuses.count("unknown") == 2
    assert "failed" not in statuses


def test_a_throttle_stops_handing_over_and_untried_messages_keep_their_attempt(
        backend, session, database, clock, slow_twilio):
    phones = contacts(session, clock, 30)
    _, run = start_campaign(session, now=clock.now(), guarantee="at_least_once")
    slow_twilio.fail_next(1, 429)
    dispatcher, channel, _ = concurrent_dispatcher(database, slow_twilio, clock, 8)
    try:
        assert dispatcher.dispatch_due() == 30
        after_first_round = messages_of(session, run.id)
        send_all(dispatcher, clock)
    finally:
        dispatcher.close()
        channel.close()

    # The 429 came back first: at most the other 7 in flight were taken, the rest waits (pending again).
    taken = [m for m in after_first_round if m.status == "sent"]
    assert len(taken) <= 7
    assert all(m.attempts == 0 for m in after_first_round if m.status == "pending")
    assert [slow_twilio.sent_to(phone) for phone in phones] == [1] * 30  # 0 losses, 0 copies
    assert [m.status for m in messages_of(session, run.id)] == ["sent"] * 30


def test_the_sliding_window_bounds_what_is_handed_over_and_not_recorded():
    recorded: list[int] = []
    opened: list[int] = []

    def record(answers, opening):
        recorded.extend(a.message_id for a in answers)
        opened.extend(opening)

    order = list(range(1, 101))
    groups = AnswerGroups(record, order, every=8, seconds=3600)
    window = 16
    in_flight: list[int] = []
    for message_id in order:
        while not groups.open_ahead(message_id, window, force=not in_flight):
            groups.add(Accepted(in_flight.pop(0), provider_id="x"))  # the oldest request answers
        in_flight.append(message_id)
        # Handed over (opened) and not recorded: never more than the window.
        assert len(opened) - len(recorded) <= window
        assert message_id in opened
    while in_flight:
        groups.add(Accepted(in_flight.pop(0), provider_id="x"))
    groups.flush()
    assert sorted(recorded) == order and opened == order
    # Opened half a window at a time or more, not one commit per message.
    assert groups.groups <= 2 * len(order) // (window // 2) + 2
