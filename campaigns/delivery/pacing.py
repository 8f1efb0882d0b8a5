"""Pacing a claimed batch: one message per send slot at its channel's current rate, the batch's leases kept
alive while it is sent, and claims no bigger than the rate can send well within the lease (issue 12).

Why one message at a time: a batch's tokens taken at once went out as a burst, and a provider that
allows R requests a second refused most of it. The dispatcher hands the channel one message per slot
of the shared limiter (channels/ratelimit.py), so every sender of the channel, in every process,
queues on one evenly spaced schedule. The rate is the channel's current one: the URL's rate=, or lower
while its provider pushes back (campaigns/delivery/throttle.py keeps it in channel_health and every sender
reads it again each RENEW_SECONDS).

Why leases are renewed: a claimed row whose lease expires is settled by whichever sender looks next —
resent (at least once) or turned `unknown` (at most once) — even if this sender is still working
through its batch. Claims are sized to take at most LEASE_SHARE of the lease at the channel's rate,
but several senders share one rate and a provider can slow everything down, so while a batch is
being sent its rows still `sending` get a fresh lease every RENEW_SECONDS (or a fifth of the lease,
if shorter): a row expires only when its sender has really stopped.
"""

from __future__ import annotations

import logging
import math
import queue
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

from campaigns.delivery import outbox
from campaigns.delivery.throttle import DECREASE_FACTOR, RECOVER_SHARE, raise_rate, send_rates
from channels import Accepted, Channel, Outgoing, RateLimiter, Refused, SendResult
from channels.base import NOT_TRIED, stops_the_batch
from channels.ratelimit import per_second
from core.clock import Clock
from core.config import ConfigError
from core.db import Database

log = logging.getLogger("herald.pacing")

LEASE_SHARE = 0.5
RENEW_SECONDS = 1.0


def kind_of(key: str) -> str:
    """The messages.channel a channel key sends: "email:offers" -> "email"."""
    return key.partition(":")[0]


def claim_limits(rates: Mapping[str, float], *, batch_size: int, lease_seconds: int) -> dict[str, int]:
    """How many messages of each kind ("email", "sms") one claim may take: what the kind's slowest channel
    (rates: {channel key: messages a second}) sends in LEASE_SHARE of the lease, at most `batch_size`,
    at least one."""
    slowest: dict[str, float] = {}
    for key, rate in rates.items():
        slowest[kind_of(key)] = min(rate, slowest.get(kind_of(key), rate))
    return {kind: max(1, min(batch_size, math.floor(rate * lease_seconds * LEASE_SHARE)))
            for kind, rate in slowest.items()}


def check_lease_fits(channels: Mapping[str, Channel], *, lease_seconds: int) -> None:
    """Refuse a sender configuration whose lease cannot hold one message at a channel's rate: the row
    would expire before its slot came. Raises ConfigError naming both settings and the fix."""
    for key, channel in channels.items():
        interval = 1 / per_second(channel.rate)
        if interval > lease_seconds * LEASE_SHARE:
            raise ConfigError(
                f"[sender] lease_seconds = {lease_seconds} is too short for the {key} channel's rate "
                f'"{channel.rate}" ({channel.describe()}): one message every {interval:g} s needs a lease of at '
                f"least {math.ceil(interval / LEASE_SHARE)} s; raise [sender] lease_seconds "
                f"(HERALD_SENDER_LEASE_SECONDS) or the channel URL's rate=")


class BatchPace:
    """Sends one claimed batch through its channels at their rates and keeps the batch's leases alive.

    `message_ids` are the rows claimed; `rates` ({channel key: messages a second}) the rates read at
    claim time, refreshed from channel_health as the batch goes. One per dispatch_due() call.
    """

    def __init__(self, database: Database, limiter: RateLimiter, clock: Clock, *, message_ids: Collection[int],
                 lease_seconds: int, rates: Mapping[str, float], configured: Mapping[str, float]) -> None:
        self.database = database
        self.limiter = limiter
        self.clock = clock
        self.message_ids = sorted(message_ids)
        self.lease_seconds = lease_seconds
        self.rates = dict(rates)
        self.configured = dict(configured)
        self.rate_used: dict[str, float] = {}  # the rate each channel's last message was paced at
        # {channel key: the provider's own rate, estimated at its last throttle answer} (provider_rate_estimate)
        self.provider_rates: dict[str, float] = {}
        self._taking: set[str] = set()  # channels whose provider took messages since the last renewal
        self.renew_every = min(RENEW_SECONDS, lease_seconds / 5)
        self._renewed_at = time.monotonic()

    def send(self, key: str, channel: Channel, messages: Sequence[Outgoing],
             on_result: Callable[[SendResult], None] | None = None) -> list[SendResult]:
        """Send `messages` through `channel` one per slot; the answers, one per message, in order.

        Each answer also goes to `on_result` as soon as it is back, before the next message leaves, so
        it can be recorded while the batch is still being sent (campaigns/delivery/answer_groups.py).
        An answer that stops the batch (a throttle, an answer lost, the provider unreachable: see
        channels.base.stops_the_batch) leaves the rest untried, each with the same transient refusal,
        so they are requeued rather than fed to a provider that just pushed back.
        """
        results: list[SendResult] = []
        slot_key = f"{channel.name}:{key}"
        for index, message in enumerate(messages):
            rate = self.wait_for_slot(key, slot_key, channel)
            answer = channel.send([message])
            results.extend(answer)
            if any(isinstance(r, Accepted) for r in answer):
                self._taking.add(key)
                self.limiter.note_accepted(slot_key)
            stop = next((r for r in answer if stops_the_batch(r)), None)
            if isinstance(stop, Refused) and stop.throttled:
                # Every sender of the channel waits out the Retry-After and slows down now, not after
                # each has been refused once; campaigns/delivery/throttle.py keeps the lowered rate for good.
                lowered = rate * DECREASE_FACTOR
                estimate = provider_rate_estimate(self.limiter.seconds_since_accepted(slot_key), stop.retry_after)
                if estimate is not None and estimate < rate:
                    self.provider_rates[key] = estimate
                    lowered = min(lowered, estimate * RECOVER_SHARE)
                self.limiter.slow_down(slot_key, lowered, hold_seconds=stop.retry_after or 0.0,
                                       for_seconds=RENEW_SECONDS * 2)
            # Handed on after the estimate above: recording a throttle answer lowers the channel's rate with it.
            for result in answer if on_result is not None else ():
                on_result(result)
            if isinstance(stop, Refused):
                untried = [replace(stop, message_id=m.message_id, reason=NOT_TRIED + stop.reason,
                                   outcome_unknown=False) for m in messages[index + 1:]]
                results.extend(untried)
                for result in untried if on_result is not None else ():
                    on_result(result)
                break
            self.keep_leases()
        return results

    def send_concurrently(self, key: str, channels: Sequence[Channel], messages: Sequence[Outgoing],
                          on_result: Callable[[SendResult], None] | None = None,
                          may_hand_over: Callable[[int, bool], bool] | None = None) -> list[SendResult]:
        """Like send(), with up to len(channels) requests in flight at once, one per channel instance (a
        Channel serves one request at a time); the answers, one per message, in message order.

        Why: a provider 200 ms away answers one request at a time five times a second, so one at a time
        a sender thread sends threads ÷ latency whatever the rate allows (issue 14). Each message still
        takes its own slot of the shared limiter before it leaves, so the pace is the one send() keeps;
        only the waits for answers overlap. Every answer is handled on this thread as it comes back —
        `on_result`, the throttle's slow-down, the limiter's note — so recording stays single-threaded.
        `may_hand_over(message_id, nothing_in_flight)` says whether a message may leave now (AnswerGroups
        .open_ahead, which bounds what a kill can leave unknown); while it says no, this waits for answers.
        An answer that stops the batch stops handing over; the requests already in flight keep their own
        answers, the rest are untried, as in send(). What a channel raises is raised once those in flight
        have answered and been handed on."""
        if len(channels) <= 1 or len(messages) <= 1:
            return self.send(key, channels[0], messages, on_result)
        slot_key = f"{channels[0].name}:{key}"
        answers: queue.Queue[tuple[Channel, float, list[SendResult] | BaseException]] = queue.Queue()
        free = list(channels)
        by_id: dict[int, list[SendResult]] = {}
        stop: list[Refused] = []
        raised: list[BaseException] = []
        in_flight = 0

        def request(channel: Channel, message: Outgoing, rate: float) -> None:
            try:
                answers.put((channel, rate, channel.send([message])))
            except BaseException as exc:  # noqa: BLE001 - handed to the sending thread, raised there
                answers.put((channel, rate, exc))

        def take_answer(block: bool) -> bool:
            nonlocal in_flight
            try:
                channel, rate, answer = answers.get(block=block)
            except queue.Empty:
                return False
            in_flight -= 1
            free.append(channel)
            if isinstance(answer, BaseException):
                raised.append(answer)
                return True
            for result in answer:
                by_id.setdefault(result.message_id, []).append(result)
            self._note_answer(key, slot_key, rate, answer, on_result, stop)
            return True

        with ThreadPoolExecutor(max_workers=len(channels), thread_name_prefix=f"herald-{key}") as pool:
            sent_upto = 0
            for index, message in enumerate(messages):
                while not (stop or raised) and (not free or (may_hand_over is not None and not may_hand_over(
                        message.message_id, in_flight == 0))):
                    take_answer(block=True)
                if stop or raised:
                    break
                rate = self.wait_for_slot(key, slot_key, free[-1])
                while take_answer(block=False):  # what came back during the wait, before another leaves
                    pass
                if stop or raised:
                    break
                pool.submit(request, free.pop(), message, rate)
                in_flight += 1
                sent_upto = index + 1
                self.keep_leases()
            while in_flight:
                take_answer(block=True)
        untried: list[SendResult] = []
        if stop:
            untried = [replace(stop[0], message_id=m.message_id, reason=NOT_TRIED + stop[0].reason,
                               outcome_unknown=False) for m in messages[sent_upto:]]
            for result in untried if on_result is not None else ():
                on_result(result)
        if raised:
            raise raised[0]
        results = [r for m in messages[:sent_upto] for r in by_id.pop(m.message_id, [])]
        # Anything a channel answered for a message it was not given stays in the list: Dispatcher.send names it.
        return results + [r for rs in by_id.values() for r in rs] + untried

    def _note_answer(self, key: str, slot_key: str, rate: float, answer: Sequence[SendResult],
                     on_result: Callable[[SendResult], None] | None, stop: list[Refused]) -> None:
        """One request's answer, as send() handles it: the limiter's note, a throttle's slow-down, then on_result;
        the first answer that stops the batch goes into `stop`."""
        if any(isinstance(r, Accepted) for r in answer):
            self._taking.add(key)
            self.limiter.note_accepted(slot_key)
        stopper = next((r for r in answer if stops_the_batch(r)), None)
        if isinstance(stopper, Refused) and stopper.throttled:
            lowered = rate * DECREASE_FACTOR
            estimate = provider_rate_estimate(self.limiter.seconds_since_accepted(slot_key), stopper.retry_after)
            if estimate is not None and estimate < rate:
                self.provider_rates[key] = estimate
                lowered = min(lowered, estimate * RECOVER_SHARE)
            self.limiter.slow_down(slot_key, lowered, hold_seconds=stopper.retry_after or 0.0,
                                   for_seconds=RENEW_SECONDS * 2)
        for result in answer if on_result is not None else ():
            on_result(result)
        if isinstance(stopper, Refused) and not stop:
            stop.append(stopper)

    def wait_for_slot(self, key: str, slot_key: str, channel: Channel) -> float:
        """Take the channel's next send slot and sleep until it; again if the provider pushed back on
        another sender meanwhile (the slot was spaced for a rate it refuses). Returns the rate paced at."""
        while True:
            slowdowns = self.limiter.slowdowns(slot_key)
            rate = self.rates.get(key) or per_second(channel.rate)
            self.rate_used[key] = rate
            self.sleep(self.limiter.take(slot_key, rate))
            if self.limiter.slowdowns(slot_key) == slowdowns:
                return rate

    def sleep(self, seconds: float) -> None:
        """Sleep, renewing the batch's leases on the way if it is a long sleep (a slow rate)."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            time.sleep(min(left, self.renew_every))
            self.keep_leases()

    def keep_leases(self) -> None:
        """Every `renew_every` seconds: give the batch's rows still `sending` a fresh lease and read the
        channels' current rates again (another sender may have met a 429), after raising those a provider
        kept taking messages at (campaigns/delivery/throttle.py decides whether it is time). Commits its own session."""
        if time.monotonic() - self._renewed_at < self.renew_every:
            return
        self._renewed_at = time.monotonic()
        with self.database.session() as session:
            renewed = outbox.renew_leases(session, self.message_ids,
                                           lease_expires_at=self.clock.now() + timedelta(seconds=self.lease_seconds))
            for key in self._taking & self.configured.keys():
                raise_rate(session, key, configured_rate=self.configured[key], now=self.clock.now())
            self._taking.clear()
            self.rates = send_rates(session, self.configured)
            session.commit()
        log.debug("event=leases_renewed messages=%d", renewed)


def provider_rate_estimate(seconds_since_accepted: float | None, retry_after: float | None) -> float | None:
    """The provider's own rate (requests a second), from a throttle answer: None when it cannot be told.

    A provider that allows R a second keeps a bucket refilled at R; it refused this request because the
    bucket had not refilled since the last request it took, `seconds_since_accepted` ago, and its Retry-After
    says the next token comes `retry_after` from now. From the last request taken to the next one it will
    take is then about one token's time, 1/R (a little less when the bucket was not quite empty): R is
    about 1 / (seconds_since_accepted + retry_after). Halving blindly instead took several refusals to get
    from a rate set too high down to the provider's (issue 12: 17 % of requests refused at R = 1/s).
    Without a Retry-After (Twilio's 429 has none) nothing tells the provider's rate: the caller lowers by
    DECREASE_FACTOR."""
    if seconds_since_accepted is None or retry_after is None:
        return None
    interval = seconds_since_accepted + retry_after
    return 1 / interval if interval > 0 else None


def wait_for_a_free_slot(limiter: RateLimiter, channels: Mapping[str, Channel], rates: Mapping[str, float], *,
                         longest: float) -> None:
    """Before claiming, sleep until some channel's next send slot is about due (at most `longest`): a
    claim made while other senders hold the slots for a while would only sit in its lease."""
    waits = [limiter.backlog_seconds(f"{channel.name}:{key}") - 1 / (rates.get(key) or per_second(channel.rate))
             for key, channel in channels.items()]
    if waits and (wait := min(min(waits), longest)) > 0:
        time.sleep(wait)
