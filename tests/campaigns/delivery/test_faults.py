"""The fault matrix (issue 12, "Keep it true"): channel × fault × guarantee through the real dispatch loop.

Each case sends one campaign of RECIPIENTS messages with campaigns.Dispatcher — claim, render, pace,
send, record, release expired leases, as the embedded senders and Celery workers do — through the real
channel (the official Twilio SDK, the http-sms adapter, smtplib) against its loopback fake, armed with
one fault. The clock is a FrozenClock moved past every backoff and hold between rounds; client timeouts
are 0.75 s and the fakes' "late" answers come after 2 s.

What every case asserts, from the provider's side (what the fake kept, per recipient) and the rows':
- at most once: no recipient got two copies; every row is `sent` or `unknown`, and exactly the messages
  whose answer never came are `unknown` (never resent); a `sent` row's recipient got exactly one.
- at least once: every row is `sent` and every recipient got it (no loss); every try of a message
  carried the same Message-ID / Idempotency-Key, so the recipient's side can drop the copy; only
  messages whose answer was lost arrived twice.
- both: no row is `failed` — every fault here is transient (throttled, refused for now, unanswered),
  and the retries it needs are within max_attempts or given back (throttles).

The single-fault tests these generalise stay where they are: test_answer_lost.py (lost answers, with
the event trail), test_throttle.py (holds and AIMD), test_pacing.py (threads and leases), test_breaker.py.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from channels import open_channel
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign
from tests.fakes.fake_http_sms import FakeHttpSms
from tests.fakes.fake_smtp import FakeSmtp
from tests.fakes.fake_twilio import FakeTwilio

RECIPIENTS = 10
# Seconds a channel waits for an answer; a "late" or hung fake answers after LOSE_SECONDS. Not shorter: on a
# loaded 2-core box an ordinary answer can take a few hundred ms, and would count as a lost one.
TIMEOUT = "0.75"
LOSE_SECONDS = 2.0
FAST = "1000/second"  # pacing is not what most cases test: the enforced-rate case sets its own
HOST = "herald.example.com"  # make_dispatcher's base_url: Message-IDs and idempotency keys are on it


# ---------------------------------------------------------------------------------------------- providers
@dataclass(frozen=True)
class Provider:
    """A channel and its fake: how to start it, point a channel at it, and read what it received."""

    kind: str  # the campaign's channel: "sms" or "email"
    start: Callable[[], Any]
    url: Callable[[Any, str], str]  # (fake, rate) -> channel URL
    kept: Callable[[Any], Counter[str]]  # copies the provider kept, per recipient address
    keys: Callable[[Any], dict[str, set[str]]]  # per address, the key every try the provider saw carried


def _twilio_keys(fake: FakeTwilio) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = defaultdict(set)
    for request in fake.requests:
        keys[request["To"]].add(request["IdempotencyKey"])
    return keys


def _http_sms_keys(fake: FakeHttpSms) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = defaultdict(set)
    for request in fake.requests:
        keys[request["fields"]["phone"]].add(request["headers"].get("Idempotency-Key"))
    return keys


def _smtp_keys(fake: FakeSmtp) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = defaultdict(set)
    for received in fake.messages:
        for address in received.rcpt_tos:
            keys[address].add(str(received.message["Message-ID"]))
    return keys


PROVIDERS = {
    "twilio": Provider(
        "sms", lambda: FakeTwilio(lose_seconds=LOSE_SECONDS),
        lambda fake, rate: fake.channel_url(timeout=TIMEOUT, rate=rate),
        lambda fake: Counter(m["to"] for m in fake.messages), _twilio_keys),
    "http-sms": Provider(
        "sms", lambda: FakeHttpSms(lose_seconds=LOSE_SECONDS),
        lambda fake, rate: fake.channel_url(timeout=TIMEOUT, rate=rate),
        lambda fake: Counter(m["phone"] for m in fake.messages), _http_sms_keys),
    "smtp": Provider(
        "email", lambda: FakeSmtp(lose_seconds=LOSE_SECONDS),
        lambda fake, rate: f"{fake.url}?from=news@shop.example&timeout={TIMEOUT}&rate={rate}",
        lambda fake: Counter(a for m in fake.messages for a in m.rcpt_tos), _smtp_keys),
}


# ------------------------------------------------------------------------------------------------- faults
@dataclass(frozen=True)
class Fault:
    """One way a provider misbehaves, armed on a started fake before the campaign is sent.

    `arm(fake, addresses)` injects it. `lost`: messages the provider kept whose answer never came (at most
    once: `unknown`; at least once: sent twice, same key). `unanswered`: messages it did not keep and never
    answered (at most once: `unknown` all the same, since Herald cannot tell; at least once: sent once).
    """

    arm: Callable[[Any, list[str]], None]
    lost: int = 0
    unanswered: int = 0
    rate: str = FAST


def _script(*steps: object, who: tuple[int, ...] = (2, 5)) -> Callable[[FakeSmtp, list[str]], None]:
    """SMTP: answer recipients `who` (indexes in the audience) with `steps`, one per try."""
    def arm(fake: FakeSmtp, addresses: list[str]) -> None:
        for index in who:
            fake.script[addresses[index]] = list(steps)
    return arm


def _slow(fake: FakeSmtp, addresses: list[str]) -> None:
    fake.delay_seconds = 0.1  # every answer to DATA slow, yet within the client's timeout


HTTP_FAULTS = {
    "lost answer, late": Fault(lambda fake, _: fake.lose_answers(2, "late"), lost=2),
    "lost answer, dropped": Fault(lambda fake, _: fake.lose_answers(2, "drop"), lost=2),
    "429 with Retry-After": Fault(lambda fake, _: fake.fail_next(3, 429, retry_after=0.2)),
    "429 without Retry-After": Fault(lambda fake, _: fake.fail_next(3, 429)),
    "enforced rate": Fault(lambda fake, _: fake.enforce_rate(40, burst=2, retry_after=False), rate="80/second"),
    "5xx burst": Fault(lambda fake, _: (fake.fail_next(3, 500), fake.fail_next(3, 503))),
    # Three first tries hang, one per round: the messages each hang stops are not tried and must not run
    # out of attempts for it (they did, before: at most once, the last 4 of 10 failed, never tried once).
    "hangs": Fault(lambda fake, addresses: fake.hang_first_try(addresses[1:6:2]), unanswered=3),
}
SMTP_FAULTS = {
    "421 at RCPT": Fault(_script((421, "4.3.2 Service shutting down"), (421, "4.3.2 Service shutting down"))),
    "421 too many, a throttle": Fault(_script((421, "4.7.0 Too many messages, slow down"))),
    "450 at RCPT": Fault(_script((450, "4.2.1 Mailbox busy, try later"))),
    "drop before MAIL": Fault(lambda fake, _: fake.fault_at_mail(3, "drop")),
    "hang at MAIL": Fault(lambda fake, _: fake.fault_at_mail(1, "hang")),
    "drop after DATA": Fault(_script("drop-after-data"), lost=2),
    "no answer to DATA in time": Fault(_script("late-after-data"), lost=2),
    "slow reply": Fault(_slow),
}
MATRIX = {"twilio": HTTP_FAULTS, "http-sms": HTTP_FAULTS, "smtp": SMTP_FAULTS}
GUARANTEES = ("at_most_once", "at_least_once")
CASES = [pytest.param(channel, fault, guarantee, id=f"{channel}-{fault}-{guarantee}".replace(" ", "_"))
         for channel, faults in MATRIX.items() for fault in faults for guarantee in GUARANTEES]
# The same loop on PostgreSQL (claims with FOR UPDATE SKIP LOCKED, another driver) for one case of each kind.
ON_POSTGRES = [pytest.param(channel, fault, guarantee, "postgres", id=f"{channel}-{fault}-{guarantee}-postgres"
                            .replace(" ", "_"))
               for channel, fault, guarantee in [("twilio", "lost answer, dropped", "at_most_once"),
                                                 ("http-sms", "429 without Retry-After", "at_least_once"),
                                                 ("smtp", "drop after DATA", "at_least_once")]]


# ---------------------------------------------------------------------------------------------- the loop
def send_until_settled(dispatcher, clock, session, run_id: int) -> None:
    """Run the dispatch loop until no row of the run is left to send, moving the clock past every backoff."""
    for _ in range(30):
        while dispatcher.dispatch_due():
            pass
        if not [m for m in messages_of(session, run_id) if m.status in ("pending", "sending")]:
            return
        clock.advance(seconds=3600)
    raise AssertionError("the dispatch loop never settled every row")


@contextmanager
def campaign_under_fault(channel_name: str, fault_name: str, guarantee: str, session, database,
                         clock) -> Iterator[tuple[Provider, Any, list[str], list]]:
    provider = PROVIDERS[channel_name]
    fault = MATRIX[channel_name][fault_name]
    contacts = [make_contact(session, now=clock.now(), phone=f"+1201555{i:04d}") for i in range(RECIPIENTS)]
    addresses = [c.phone if provider.kind == "sms" else c.email for c in contacts]
    _, run = start_campaign(session, now=clock.now(), channel=provider.kind, guarantee=guarantee)
    with provider.start() as fake:
        fault.arm(fake, addresses)
        channel = open_channel(provider.url(fake, fault.rate))
        try:
            send_until_settled(make_dispatcher(database, {provider.kind: channel}, clock), clock, session, run.id)
        finally:
            channel.close()
        yield provider, fake, addresses, messages_of(session, run.id)


def expected_key(provider: Provider, message_id: int) -> str:
    key = f"herald.{message_id}@{HOST}"
    return f"<{key}>" if provider.kind == "email" else key


# --------------------------------------------------------------------------------------------- the matrix
@pytest.mark.parametrize(("channel_name", "fault_name", "guarantee"), CASES)
def test_fault_matrix(session, database, clock, channel_name, fault_name, guarantee):
    check_case(session, database, clock, channel_name, fault_name, guarantee)


@pytest.mark.parametrize(("channel_name", "fault_name", "guarantee", "backend"), ON_POSTGRES)
def test_fault_matrix_on_postgres(backend, session, database, clock, channel_name, fault_name, guarantee):
    check_case(session, database, clock, channel_name, fault_name, guarantee)


def check_case(session, database, clock, channel_name: str, fault_name: str, guarantee: str) -> None:
    fault = MATRIX[channel_name][fault_name]
    with campaign_under_fault(channel_name, fault_name, guarantee, session, database, clock) as (
            provider, fake, addresses, rows):
        kept = provider.kept(fake)
        keys = provider.keys(fake)
    statuses = Counter(m.status for m in rows)
    assert "failed" not in statuses, [(m.address, m.error_code, m.error_reason) for m in rows if m.status == "failed"]
    assert len(rows) == RECIPIENTS

    if guarantee == "at_most_once":
        assert max(kept.values(), default=0) <= 1, f"sent twice: {[a for a, n in kept.items() if n > 1]}"
        unknown = fault.lost + fault.unanswered
        assert statuses == Counter({"sent": RECIPIENTS - unknown, "unknown": unknown} if unknown else
                                   {"sent": RECIPIENTS})
        assert all(kept[m.address] == 1 for m in rows if m.status == "sent")  # a sent row was received
        # Of the unknown rows, the provider kept exactly the lost answers' messages; none was tried again.
        assert sum(kept[m.address] for m in rows if m.status == "unknown") == fault.lost
        assert all(m.attempts == 1 for m in rows if m.status == "unknown")
    else:
        assert statuses == Counter({"sent": RECIPIENTS})
        assert all(kept[address] >= 1 for address in addresses), "a message was lost"
        assert sum(n - 1 for n in kept.values()) == fault.lost  # only a lost answer makes a copy
        for row in rows:  # every try of a message carried its one key
            assert keys[row.address] <= {expected_key(provider, row.id)}, (row.address, keys[row.address])
