"""A sender that dies mid-batch leaves only what was in flight unrecorded (issue 12, item 4).

The answers are recorded in small groups while the batch is still being sent, so when the process
dies (here: the sender thread is stopped dead by an exception nothing catches, right after the
provider answered a message — as a SIGKILL would) the rows the provider took are already `sent`,
bar the answers of the one group not yet committed. Before, the whole claimed batch stayed `sending`
and its at-most-once rows all became `unknown` when the lease ran out, most of them in fact sent.
The process-level kill tests are tests/e2e/test_sender_killed.py and test_celery_worker_killed.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from campaigns.delivery.answer_groups import RECORD_EVERY, AnswerGroups
from channels import Accepted, Outgoing, ResultListener, SendResult, open_channel
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign
from tests.fakes.fake_twilio import FakeTwilio


class Killed(BaseException):
    """Stands for SIGKILL: nothing in Herald catches it, so nothing after it runs."""


class DiesAfter:
    """A real Twilio channel whose process dies right after the provider's `n`-th answer."""

    reports_each_result = True

    def __init__(self, channel, n: int) -> None:
        self.channel, self.n = channel, n
        self.name, self.dry_run, self.rate, self.max_length = channel.name, False, channel.rate, channel.max_length
        self.heard = 0  # answers across calls: the paced dispatcher hands over one message per call

    def send(self, batch: Sequence[Outgoing], on_result: ResultListener | None = None) -> list[SendResult]:
        def listen(result: SendResult) -> None:
            self.heard += 1
            if on_result is not None:
                on_result(result)
            if self.heard == self.n:
                raise Killed

        return self.channel.send(batch, on_result=listen)

    def close(self) -> None:
        self.channel.close()

    def describe(self) -> str:
        return self.channel.describe()


@pytest.mark.parametrize(("grouping", "delay_seconds", "recipients", "killed_after"), [
    ({"record_every": 5, "record_seconds": 3600.0}, 0.0, 40, 28),  # groups of 5 answers
    ({}, 0.06, 30, 8),  # the defaults (groups of 20), with a provider slower than the commit interval
])
def test_a_sender_killed_mid_batch_leaves_at_most_one_group_unknown_and_the_rest_is_sent_once(
        backend, session, database, clock, grouping, delay_seconds, recipients, killed_after):
    phones = [f"+1202555{n:04d}" for n in range(recipients)]
    for phone in phones:
        make_contact(session, now=clock.now(), phone=phone)
    _, run = start_campaign(session, now=clock.now(), guarantee="at_most_once")
    group = grouping.get("record_every", RECORD_EVERY)
    with FakeTwilio(delay_seconds=delay_seconds) as fake:
        channel = DiesAfter(open_channel(fake.channel_url()), killed_after)
        with pytest.raises(Killed):
            make_dispatcher(database, {"sms": channel}, clock, batch_size=recipients, **grouping).dispatch_due()
        reached = {m["to"] for m in fake.messages}
        assert len(reached) == killed_after

        clock.advance(seconds=3600)  # the dead sender's lease runs out; a new sender takes over
        restarted = open_channel(fake.channel_url())
        try:
            while make_dispatcher(database, {"sms": restarted}, clock, batch_size=recipients).dispatch_due():
                pass
        finally:
            restarted.close()
            channel.close()
        received = [m["to"] for m in fake.messages]

    rows = messages_of(session, run.id)
    unknown = {m.address for m in rows if m.status == "unknown"}
    sent = {m.address for m in rows if m.status == "sent"}
    assert unknown | sent == set(phones)
    assert len(received) == len(set(received)), "a recipient got two messages"
    assert sent <= set(received)  # a row says sent only if the provider has it
    # What the kill cost: one window of messages (the one in flight and the answers not yet committed),
    # not the claimed batch; of those, fewer than a group had in fact reached the provider.
    assert len(unknown) <= group, f"{len(unknown)} rows unknown after one kill"
    assert len(unknown & reached) < group, f"{len(unknown & reached)} sent messages are counted unknown"
    # The rows the dead sender never handed over were sent by the next one, once.
    assert set(received) == reached | (set(phones) - unknown)


@pytest.mark.parametrize("seconds", [3600.0, 0.0])  # groups filled by count, or each answer committed at once
def test_every_message_is_opened_by_a_commit_before_it_leaves_and_at_most_one_window_is_open(seconds):
    order = list(range(1, 48))
    opened: list[int] = []
    recorded: list[int] = []

    def record(answers, opening):
        recorded.extend(a.message_id for a in answers)
        opened.extend(opening)

    groups = AnswerGroups(record, order, every=5, seconds=seconds, monotonic=lambda: 0.0)
    for message_id in order:  # as a channel that reports each result does, one message at a time
        groups.open_window()
        assert message_id in opened, f"message {message_id} would leave before a commit opened it"
        # What a kill now would leave unknown: opened, not recorded — one window at most.
        assert len(set(opened) - set(recorded)) <= 5
        groups.add(Accepted(message_id, f"P{message_id}"))
    groups.flush()
    assert recorded == order and opened == order
