"""The dispatch loop: claim due messages -> render -> wait for the rate -> send -> record.

Embedded threads and Celery workers both call Dispatcher.dispatch_due(); only who calls it and when
differs (DESIGN §4). The row is the truth: a claim is committed before any provider is called, and
every claimed row ends sent, failed, pending again (transient refusal) or — if this process dies
before recording — settled by release_expired_leases according to the campaign's guarantee.
Answers are recorded in small groups while the batch is still being sent (campaigns/delivery/answer_groups.py),
so a process that dies leaves only the messages truly in flight to release_expired_leases.

Threads and processes: dispatch_due() opens its own session for each call, so one Dispatcher per
thread is safe and several processes on PostgreSQL take disjoint rows (FOR UPDATE SKIP LOCKED in
the claim). A Channel instance holds a connection (an SMTP session, an HTTP pool) and belongs to
one thread: give each thread its own channels and therefore its own Dispatcher. The rate limiter
is the one object shared by all of them, so a channel's rate holds however many senders run.

Requests in flight: with `concurrency` ({channel key: n}) and `open_copy`, a channel's messages go out with
up to n requests in flight (BatchPace.send_concurrently), each through its own copy of the channel, opened
when first needed and kept by this Dispatcher until close(). Answers are still handled on the calling
thread, and the window of messages handed over and not recorded slides (AnswerGroups.open_ahead) over
max(record_every, 2 × n) messages: that, per sender thread, is what a kill can leave unknown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from campaigns import queries
from campaigns.delivery import outbox
from campaigns.delivery.answer_groups import RECORD_EVERY, RECORD_SECONDS, AnswerGroups
from campaigns.delivery.breaker import BreakerSettings, channels_to_skip, note_answers
from campaigns.delivery.channel_copies import ChannelCopies
from campaigns.delivery.costs import Unpriced, price_unpriced
from campaigns.delivery.leases import ANSWER_LOST_REASON, message_event, release_expired_leases
from campaigns.delivery.outbox import ClaimedMessage
from campaigns.delivery.outgoing import Composer, answers_by_channel, group_by_channel
from campaigns.delivery.pacing import BatchPace, claim_limits, wait_for_a_free_slot
from campaigns.delivery.throttle import held_channels, note_throttles, send_rates
from campaigns.responses.bounces import suppress_bounced_addresses
from campaigns.responses.optouts import opt_out_event, record_refusal_consent
from channels import Accepted, Channel, Outgoing, RateLimiter, Refused, SendResult, count_sms, text_as_sent
from channels.base import was_not_tried
from channels.ratelimit import per_second
from core.clock import Clock
from core.config import TrackingConfig
from core.db import Database

log = logging.getLogger("herald.dispatch")

class ChannelContractBroken(RuntimeError):
    """A channel answered with a result for a message it was not given, or none for one it was: a bug.

    `results` holds the answers that could be matched and were not yet handed on, so they are
    recorded before this is raised (Dispatcher.send hands each matched answer on as it arrives).
    """

    def __init__(self, message: str, results: Sequence[SendResult] = ()) -> None:
        super().__init__(message)
        self.results = list(results)


class Dispatcher:
    """Sends due messages through `channels` ({"email": Channel, "sms": Channel}); see the module doc.

    `price` is the estimate used when the provider does not say what it charged: per message for
    "email", per segment for "sms", in `currency`. One Dispatcher per thread (it holds the thread's
    channels); it keeps no other state between calls.
    """

    def __init__(self, database: Database, channels: Mapping[str, Channel], limiter: RateLimiter, clock: Clock, *,
                 base_url: str, secret_key: str, batch_size: int = 100, lease_seconds: int = 300,
                 max_attempts: int = 5, retry_base_seconds: int = 30, price: Mapping[str, Decimal] | None = None,
                 currency: str = "USD", breaker: BreakerSettings | None = None,
                 tracking: TrackingConfig | None = None, unsubscribe_mailbox: str = "",
                 record_every: int = RECORD_EVERY, record_seconds: float = RECORD_SECONDS,
                 concurrency: Mapping[str, int] | None = None,
                 open_copy: Callable[[str], Channel] | None = None) -> None:
        self.database = database
        self.channels = channels
        self.limiter = limiter
        self.clock = clock
        self.base_url = base_url.rstrip("/")
        self.secret_key = secret_key
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.price = dict(price or {})
        self.currency = currency
        self.breaker = breaker or BreakerSettings()
        # renders each claimed message into what its channel sends; holds this thread's tracked links
        self.composer = Composer(database, channels, base_url=self.base_url, secret_key=secret_key,
                                      tracking=tracking or TrackingConfig(), unsubscribe_mailbox=unsubscribe_mailbox)
        self.record_every = record_every  # answers recorded per commit while a batch is sending
        self.record_seconds = record_seconds
        # {channel key: messages a second}: the URL's rate=, and the rate to pace at (lower while a provider
        # pushes back; read from channel_health at each claim and while a batch is sent).
        self.configured_rates = {key: per_second(channel.rate) for key, channel in channels.items()}
        self.rates = dict(self.configured_rates)
        self.pace: BatchPace | None = None  # the batch being sent
        self.in_flight = ChannelCopies(concurrency, open_copy)  # requests in flight per channel, on copies

    def close(self) -> None:
        """Close the channel copies this Dispatcher opened (the caller closes the channels it gave)."""
        self.in_flight.close()

    def dispatch_due(self) -> int:
        """Claim due messages, send them, record what the providers said. Returns how many were handled.

        Answers are recorded as they arrive, a small group per commit (campaigns/delivery/answer_groups.py).
        Raises ChannelContractBroken if a channel breaks the one-result-per-message contract, or what a
        channel raised (a bug: send() never raises for the provider's sake) — always after sending through
        the other channel and recording every result that could be matched. The unanswered rows stay
        claimed and are settled when their lease expires.
        """
        wait_for_a_free_slot(self.limiter, self.channels, self.rates, longest=self.lease_seconds / 4)
        with self.database.session() as session:
            release_expired_leases(session, now=self.clock.now())
            batch = self.claim(session)
            if not batch:
                return 0
            outgoing, refused = self.composer.render(batch)
            order = [m.message_id for messages in group_by_channel(outgoing).values() for m in messages]
            groups = AnswerGroups(
                lambda answers, opening: self.record_answers(session, batch, outgoing, answers, opening), order,
                every=self.record_every, seconds=self.record_seconds)
            groups.start(refused)
            _, errors = self.send_by_channel(outgoing, answers=groups)
            groups.flush()
            if errors:
                raise errors[0]  # its rows stay claimed and are settled when their lease expires
            return len(batch)

    # Each step is a method that can be tested alone; dispatch_due() is the order they run in.
    def claim(self, session: Session) -> list[ClaimedMessage]:
        """Claim due messages: per kind (email, sms) no more than its channels' current rate sends in half
        the lease (campaigns/delivery/pacing.py), up to batch_size; commits."""
        now = self.clock.now()
        skip = channels_to_skip(session, now=now, settings=self.breaker) | held_channels(session, now=now)
        self.rates = send_rates(session, self.configured_rates)
        limits = claim_limits(self.rates, batch_size=self.batch_size, lease_seconds=self.lease_seconds)
        if all(limit >= self.batch_size for limit in limits.values()):  # the usual case: one claim for all
            ids = outbox.claim_due_messages(session, now=now, limit=self.batch_size,
                                             lease_seconds=self.lease_seconds, skip_channels=skip)
        else:  # a slow channel's messages are claimed a few at a time, the others' as usual
            ids = []
            for kind, limit in limits.items():
                ids += outbox.claim_due_messages(session, now=now, limit=limit, lease_seconds=self.lease_seconds,
                                                  skip_channels=skip | (limits.keys() - {kind}))
            # Messages of a channel not configured here: claimed to be refused with the reason.
            ids += outbox.claim_due_messages(session, now=now, limit=self.batch_size,
                                              lease_seconds=self.lease_seconds, skip_channels=skip | limits.keys())
        # None of them is with a provider yet; AnswerGroups opens them a few at a time as it records.
        outbox.mark_handed_over(session, ids, handed_over=False)
        claimed = outbox.load_claimed(session, ids)
        self.pace = BatchPace(self.database, self.limiter, self.clock, message_ids=ids,
                              lease_seconds=self.lease_seconds, rates=self.rates, configured=self.configured_rates)
        # Committed before any provider is called: other senders see the claim, and no transaction
        # stays open during the (slow) send — on SQLite an open transaction holds the write lock.
        session.commit()
        return claimed

    def record_answers(self, session: Session, batch: Sequence[ClaimedMessage], outgoing: Mapping[int, Outgoing],
                       answers: Sequence[SendResult], opening: Sequence[int] = ()) -> None:
        """Record one group of a batch's answers (breaker, throttle, rows, events), and mark `opening` as
        messages the sender may hand over before it records again (AnswerGroups); commits."""
        outbox.mark_handed_over(session, opening, handed_over=True)
        if not answers:
            session.commit()
            return
        paused = self.note_provider_health(session, outgoing, answers)
        held = self.note_throttles(session, outgoing, answers)
        self.record(session, batch, outgoing, answers, paused=paused, held=held)

    def send_by_channel(self, outgoing: Mapping[int, Outgoing], *, answers: AnswerGroups | None = None
                        ) -> tuple[list[SendResult], list[Exception]]:
        """Send each channel's group; what one channel raises is kept, not allowed to stop the other.

        With `answers`, each answer to a message given goes there as soon as the channel reports it,
        to be recorded while the rest is sending; without, the caller records what is returned."""
        results: list[SendResult] = []
        errors: list[Exception] = []
        for key, messages in group_by_channel(outgoing).items():
            try:
                results.extend(self.send(key, messages, answers=answers))
            except ChannelContractBroken as exc:
                results.extend(exc.results)
                errors.append(exc)
            except Exception as exc:  # noqa: BLE001 - an adapter's bug must not strand the other channel's rows
                log.exception("event=channel_raised channel=%s messages=%d", key, len(messages))
                errors.append(exc)
        return results, errors

    def send(self, key: str, messages: Sequence[Outgoing], *, answers: AnswerGroups | None = None
             ) -> list[SendResult]:
        """Send one message per slot of the channel's rate (campaigns/delivery/pacing.py), and check the answers
        name exactly the messages given.

        With `answers`, each answer to a message given goes there once, as it comes back (one message per
        call, so every channel reports each result). An answer for a message not given, or a second one
        for a message, is named in the ChannelContractBroken raised once the batch is sent, and never
        recorded.
        """
        channel = self.channels.get(key)
        if channel is None and key.startswith("email:"):
            name = key.partition(":")[2]
            reason = (f'the campaign\'s sender "{name}" is not configured; add [channels.email.senders.{name}] to '
                      "config.toml or choose another sender on the campaign")
            return _hand_on([Refused(m.message_id, permanent=True, code="no_sender", reason=reason)
                             for m in messages], answers)
        if channel is None:
            reason = f"no {key} channel is configured; set [channels.{key}] url in config.toml"
            return _hand_on([Refused(m.message_id, permanent=True, code="no_channel", reason=reason)
                             for m in messages], answers)
        if self.pace is None:  # send() called on its own, outside dispatch_due()
            self.pace = BatchPace(self.database, self.limiter, self.clock, message_ids=[m.message_id for m in messages],
                                  lease_seconds=self.lease_seconds, rates=self.rates,
                                  configured=self.configured_rates)
        given = {m.message_id for m in messages}
        handed_on: set[int] = set()

        def hand_on(result: SendResult) -> None:
            if answers is not None and result.message_id in given and result.message_id not in handed_on:
                handed_on.add(result.message_id)
                answers.add(result)

        if self.in_flight.limit(key) > 1 and len(messages) > 1:
            window = max(self.record_every, 2 * self.in_flight.limit(key))
            results = self.pace.send_concurrently(
                key, self.in_flight.pool(key, channel), messages, on_result=hand_on,
                may_hand_over=None if answers is None else (
                    lambda message_id, idle: answers.open_ahead(message_id, window, force=idle)))
        else:
            if answers is not None:
                answers.open_window()
            results = self.pace.send(key, channel, messages, on_result=hand_on)
        answered = [r.message_id for r in results]
        stray = set(answered) - given
        missing = given - set(answered)
        duplicated = {mid for mid in answered if answered.count(mid) > 1}
        matched = [r for r in results if r.message_id in given and r.message_id not in duplicated
                   and r.message_id not in handed_on]
        if answers is not None:
            answers.add_together(matched)
            matched = []
        if stray or missing or duplicated:
            raise ChannelContractBroken(
                f"channel {channel.describe()} answered a batch of {len(messages)} with results for messages "
                f"not in it {sorted(stray)}, none for {sorted(missing)}, several for {sorted(duplicated)}; "
                "the unanswered messages stay claimed until their lease expires",
                matched,
            )
        return results

    def note_provider_health(self, session: Session, outgoing: Mapping[int, Outgoing],
                             answers: Sequence[SendResult]) -> dict[str, datetime]:
        """Feed each channel's answers to its circuit breaker (campaigns/delivery/breaker.py); does not commit.
        Returns {channel: when it may be tried again} for the channels whose breaker is open."""
        paused: dict[str, datetime] = {}
        for key, results in answers_by_channel(outgoing, answers).items():
            channel = self.channels.get(key)
            if channel is not None and (until := note_answers(session, key, channel.describe(), results,
                                                              now=self.clock.now(), settings=self.breaker)):
                paused[key] = until
        return paused

    def note_throttles(self, session: Session, outgoing: Mapping[int, Outgoing],
                       answers: Sequence[SendResult]) -> dict[str, datetime]:
        """Hold back each channel whose provider said "slow down" (campaigns/delivery/throttle.py); does not commit.
        Returns {channel: end of its hold} for the channels held."""
        held: dict[str, datetime] = {}
        for key, results in answers_by_channel(outgoing, answers).items():
            channel = self.channels.get(key)
            rate_used = self.pace.rate_used.get(key) if self.pace is not None else None
            provider_rate = self.pace.provider_rates.get(key) if self.pace is not None else None
            if channel is not None and (until := note_throttles(session, key, channel.describe(), results,
                                                                now=self.clock.now(),
                                                                configured_rate=self.configured_rates.get(key),
                                                                rate_used=rate_used, provider_rate=provider_rate)):
                held[key] = until
        return held

    def record(self, session: Session, batch: Sequence[ClaimedMessage], outgoing: Mapping[int, Outgoing],
               results: Sequence[SendResult], *, paused: Mapping[str, datetime] | None = None,
               held: Mapping[str, datetime] | None = None) -> None:
        """Record these results (a batch's, or one group of it) in one transaction, then finish the runs with
        nothing left to send.

        A transient refusal on a channel in `paused` (its breaker is open) waits for the breaker and is
        never given up on: the provider is down, not the message wrong. A throttled refusal (the provider
        said "slow down") is requeued without counting the attempt, due no earlier than the end of its
        channel's hold in `held`, and is never given up on either.

        A transient refusal whose outcome is unknown (the provider got the message, its answer was lost)
        is never resent for an at-most-once campaign: the row becomes `unknown`, as after a crash. For
        at-least-once it is retried like any transient refusal, with the same Message-ID / idempotency key.

        One executemany per kind of answer (sent, failed, retry, unknown) and one INSERT of the events, however
        large the batch; each row's UPDATE stays conditional (see outbox.mark_messages_sent).
        """
        now = self.clock.now()
        by_id = {c.message.id: c for c in batch}
        sent: list[outbox.SentMessage] = []
        failed: list[outbox.RefusedMessage] = []
        retried: list[outbox.RefusedMessage] = []
        unknown: list[outbox.RefusedMessage] = []
        events: list[dict[str, Any]] = []
        plan_prices = self._plan_prices(session, by_id, outgoing, results, now)
        for result in results:
            claimed = by_id.get(result.message_id)
            if claimed is None:
                raise ChannelContractBroken(f"a result for message {result.message_id}, which is not in this batch")
            if isinstance(result, Accepted):
                events.append(self._record_accepted(sent, claimed, result, outgoing.get(result.message_id), now,
                                                    plan_prices.get(result.message_id)))
            elif result.outcome_unknown and claimed.campaign.guarantee == "at_most_once":
                events.append(self._record_unknown(unknown, claimed, result, now))
            else:
                channel = claimed.message.channel
                events.append(self._record_refused(failed, retried, claimed, result, now, (paused or {}).get(channel),
                                                   (held or {}).get(channel)))
                if result.consent == "unsubscribed":  # refused because they opted out (Twilio 21610)
                    events.append(opt_out_event(result.message_id, via="provider", at=now, code=result.code))
        outbox.mark_messages_sent(session, sent, now=now)
        outbox.mark_messages_failed(session, failed, now=now)
        outbox.mark_messages_unknown(session, unknown, now=now)
        outbox.requeue_messages(session, retried, now=now)
        queries.add_events(session, events)
        queries.finish_idle_runs(session, {c.message.run_id for c in batch}, now=now)
        session.commit()
        record_refusal_consent(session, [(by_id[r.message_id].message.contact_id, by_id[r.message_id].message.channel,
                                          r.consent, r.code) for r in results if isinstance(r, Refused) and r.consent],
                               now=now)
        # An address that bounced at send time (550 5.1.1) goes on the suppression list too.
        suppress_bounced_addresses(session, [by_id[r.message_id].message for r in results if isinstance(r, Refused)
                                             and r.consent == "bounced" and by_id[r.message_id].message.channel
                                             == "email"], now=now)

    def _plan_prices(self, session: Session, by_id: Mapping[int, ClaimedMessage], outgoing: Mapping[int, Outgoing],
                     results: Sequence[SendResult], now: datetime) -> dict[int, tuple[Decimal, str]]:
        """Prices from the rate plans (campaigns/delivery/costs.py) for the accepted messages the provider did not
        price."""
        unpriced = []
        for result in results:
            claimed = by_id.get(result.message_id)
            if not isinstance(result, Accepted) or result.cost is not None or claimed is None:
                continue
            message = claimed.message
            channel = self.channels.get(message.channel)
            units = result.segments or (count_sms(text_as_sent(channel, outgoing[message.id].body)).segments
                                        if message.channel == "sms" and message.id in outgoing else 1)
            unpriced.append(Unpriced(message.id, message.channel, getattr(channel, "name", ""), message.address or "",
                                     units))
        return price_unpriced(session, unpriced, now=now)

    def _record_accepted(self, sent: list[outbox.SentMessage], claimed: ClaimedMessage, result: Accepted,
                         outgoing: Outgoing | None, now: datetime,
                         plan_price: tuple[Decimal, str] | None = None) -> dict[str, Any]:
        message = claimed.message
        segments = result.segments
        if segments is None and message.channel == "sms" and outgoing is not None:
            segments = count_sms(text_as_sent(self.channels.get(message.channel), outgoing.body)).segments
        if result.cost is not None:
            cost, currency = result.cost, result.currency or self.currency
        elif plan_price is not None:  # the rate plan in force, after the month's free quota
            cost, currency = plan_price
        else:
            unit = self.price.get(message.channel, Decimal("0"))
            cost = unit * (segments or 1) if message.channel == "sms" else unit
            currency = self.currency
        sent.append(outbox.SentMessage(message.id, result.provider_id, segments, cost, currency))
        log.info("event=sent message_id=%d campaign_id=%d run_id=%d channel=%s provider_id=%s", message.id,
                 message.campaign_id, message.run_id, message.channel, result.provider_id)
        return message_event(message.id, "sent", now, provider_id=result.provider_id, segments=segments,
                      cost=str(cost), currency=currency, estimated=result.cost is None)

    def _record_unknown(self, unknown: list[outbox.RefusedMessage], claimed: ClaimedMessage, result: Refused,
                        now: datetime) -> dict[str, Any]:
        message = claimed.message
        reason = f"{result.reason} — {ANSWER_LOST_REASON}"
        unknown.append(outbox.RefusedMessage(message.id, result.code, reason))
        log.warning("event=unknown message_id=%d campaign_id=%d run_id=%d channel=%s code=%s reason=%r", message.id,
                    message.campaign_id, message.run_id, message.channel, result.code, result.reason)
        return message_event(message.id, "unknown", now, code=result.code, reason=reason, attempt=message.attempts)

    def _record_refused(self, failed: list[outbox.RefusedMessage], retried: list[outbox.RefusedMessage],
                        claimed: ClaimedMessage, result: Refused, now: datetime,
                        paused_until: datetime | None = None, held_until: datetime | None = None) -> dict[str, Any]:
        message = claimed.message
        detail = {"code": result.code, "reason": result.reason, "attempt": message.attempts}
        if result.throttled and not result.permanent:
            # Not the message's fault and not a failure: the attempt taken at claim is given back.
            retry_at = max(now + timedelta(seconds=result.retry_after or 0), held_until or now, paused_until or now)
            retried.append(outbox.RefusedMessage(message.id, result.code, result.reason, not_before=retry_at,
                                                  attempt_given_back=True))
            log.info("event=throttled_retry message_id=%d campaign_id=%d run_id=%d channel=%s code=%s retry_at=%s",
                     message.id, message.campaign_id, message.run_id, message.channel, result.code,
                     retry_at.isoformat())
            return message_event(message.id, "retry", now, code=result.code, reason=result.reason,
                          attempt=message.attempts - 1, throttled=True, retry_at=retry_at.isoformat())
        if not result.permanent and was_not_tried(result):
            # Never handed to the provider (an earlier message of the batch met a timeout or a dead connection):
            # the attempt taken at claim is given back, or a few such rounds would fail messages never tried.
            retry_at = max(now + timedelta(seconds=result.retry_after or self.retry_base_seconds),
                           held_until or now, paused_until or now)
            retried.append(outbox.RefusedMessage(message.id, result.code, result.reason, not_before=retry_at,
                                                  attempt_given_back=True))
            return message_event(message.id, "retry", now, code=result.code, reason=result.reason,
                                 attempt=message.attempts - 1, not_tried=True, retry_at=retry_at.isoformat())
        if not result.permanent and (message.attempts < self.max_attempts or paused_until is not None):
            delay = result.retry_after if result.retry_after is not None else (
                self.retry_base_seconds * 2 ** (min(message.attempts, self.max_attempts) - 1))
            retry_at = max(now + timedelta(seconds=delay), paused_until or now)
            retried.append(outbox.RefusedMessage(message.id, result.code, result.reason, not_before=retry_at))
            log.info("event=retry message_id=%d campaign_id=%d run_id=%d channel=%s code=%s attempt=%d retry_in=%.0fs",
                     message.id, message.campaign_id, message.run_id, message.channel, result.code, message.attempts,
                     delay)
            return message_event(message.id, "retry", now, **detail, retry_at=retry_at.isoformat())
        failed.append(outbox.RefusedMessage(message.id, result.code, result.reason))
        log.warning("event=failed message_id=%d campaign_id=%d run_id=%d channel=%s code=%s permanent=%s reason=%r",
                    message.id, message.campaign_id, message.run_id, message.channel, result.code, result.permanent,
                    result.reason)
        if not result.permanent:
            detail["gave_up_after_attempts"] = message.attempts
        return message_event(message.id, "failed", now, **detail)


def _hand_on(results: list[SendResult], answers: AnswerGroups | None) -> list[SendResult]:
    if answers is not None:
        answers.add_together(results)
    return results
