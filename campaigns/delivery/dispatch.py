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
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from campaigns import content, queries
from campaigns.content import RenderFailed
from campaigns.delivery.answer_groups import RECORD_EVERY, RECORD_SECONDS, AnswerGroups
from campaigns.delivery.breaker import BreakerSettings, channels_to_skip, note_answers
from campaigns.delivery.costs import Unpriced, price_unpriced
from campaigns.delivery.pacing import BatchPace, claim_limits, wait_for_a_free_slot
from campaigns.delivery.throttle import held_channels, note_throttles, send_rates
from campaigns.provider_templates import is_bound, render_bound
from campaigns.queries import ClaimedMessage
from campaigns.responses.bounces import suppress_bounced_addresses
from campaigns.responses.optouts import opt_out_event, record_refusal_consent
from campaigns.responses.tracking import LinkBook, tracker_for
from channels import Accepted, Channel, Outgoing, RateLimiter, Refused, SendResult, count_sms, text_as_sent
from channels.ratelimit import per_second
from core.clock import Clock
from core.config import TrackingConfig
from core.db import Database
from core.ids import sign

log = logging.getLogger("herald.dispatch")

UNKNOWN_REASON = ("the sender stopped after claiming this message; it may or may not have been sent, so it is not "
                  "resent (at-most-once)")
ANSWER_LOST_REASON = ("the provider's answer was lost after it received the message, so it may or may not have been "
                      "sent; it is not resent (at-most-once)")
UNTRIED_REASON = ("the sender stopped after claiming this message and before handing it to the provider; it is "
                  "sent by the next sender")
RESEND_REASON = ("the sender stopped after claiming this message; it is sent again (at-least-once), so the "
                 "recipient may get it twice")


class ChannelContractBroken(RuntimeError):
    """A channel answered with a result for a message it was not given, or none for one it was: a bug.

    `results` holds the answers that could be matched and were not yet handed on, so they are
    recorded before this is raised (Dispatcher.send hands each matched answer on as it arrives).
    """

    def __init__(self, message: str, results: Sequence[SendResult] = ()) -> None:
        super().__init__(message)
        self.results = list(results)


def unsubscribe_url(base_url: str, secret_key: str, message_id: int) -> str:
    return f"{base_url}/u/{message_id}/{sign(secret_key, f'u:{message_id}')}"


def list_unsubscribe(url: str, mailbox: str, secret_key: str, message_id: int) -> str:
    """The List-Unsubscribe header (RFC 2369): the https link (one-click, RFC 8058) and, when an unsubscribe
    mailbox is configured, a mailto: whose subject carries the same signed token, so the mailbox reader
    (campaigns/responses/mailbox.py) can unsubscribe whoever sends it without trusting the sender's address."""
    if not mailbox:
        return f"<{url}>"
    token = f"{message_id}.{sign(secret_key, f'u:{message_id}')}"
    return f"<{url}>, <mailto:{mailbox}?subject=unsubscribe%20{token}>"


def status_callback_url(base_url: str, message_id: int) -> str:
    return f"{base_url}/webhooks/twilio/status/{message_id}"


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
                 record_every: int = RECORD_EVERY, record_seconds: float = RECORD_SECONDS) -> None:
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
        self.host = urlsplit(self.base_url).hostname or "localhost"
        self.breaker = breaker or BreakerSettings()
        self.tracking = tracking or TrackingConfig()
        self.links = LinkBook(database)  # numbers tracked links; remembers them for this thread
        self.unsubscribe_mailbox = unsubscribe_mailbox
        self.record_every = record_every  # answers recorded per commit while a batch is sending
        self.record_seconds = record_seconds
        # {channel key: messages a second}: the URL's rate=, and the rate to pace at (lower while a provider
        # pushes back; read from channel_health at each claim and while a batch is sent).
        self.configured_rates = {key: per_second(channel.rate) for key, channel in channels.items()}
        self.rates = dict(self.configured_rates)
        self.pace: BatchPace | None = None  # the batch being sent

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
            outgoing, refused = self.render(batch)
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
            ids = queries.claim_due_messages(session, now=now, limit=self.batch_size,
                                             lease_seconds=self.lease_seconds, skip_channels=skip)
        else:  # a slow channel's messages are claimed a few at a time, the others' as usual
            ids = []
            for kind, limit in limits.items():
                ids += queries.claim_due_messages(session, now=now, limit=limit, lease_seconds=self.lease_seconds,
                                                  skip_channels=skip | (limits.keys() - {kind}))
            # Messages of a channel not configured here: claimed to be refused with the reason.
            ids += queries.claim_due_messages(session, now=now, limit=self.batch_size,
                                              lease_seconds=self.lease_seconds, skip_channels=skip | limits.keys())
        # None of them is with a provider yet; AnswerGroups opens them a few at a time as it records.
        queries.mark_handed_over(session, ids, handed_over=False)
        claimed = queries.load_claimed(session, ids)
        self.pace = BatchPace(self.database, self.limiter, self.clock, message_ids=ids,
                              lease_seconds=self.lease_seconds, rates=self.rates, configured=self.configured_rates)
        # Committed before any provider is called: other senders see the claim, and no transaction
        # stays open during the (slow) send — on SQLite an open transaction holds the write lock.
        session.commit()
        return claimed

    def render(self, batch: Sequence[ClaimedMessage]) -> tuple[dict[int, Outgoing], list[SendResult]]:
        """Render every message; one that fails becomes a permanent refusal on its own: "template" when it
        cannot be rendered, "too_long" when it renders over its channel's max_length."""
        outgoing: dict[int, Outgoing] = {}
        refused: list[SendResult] = []
        compiled: dict[tuple[int, str], Any] = {}  # a batch usually shares one template: compile it once
        with self.links.batch():  # new tracked links are numbered once for the whole batch
            for claimed in batch:
                if not claimed.message.address:  # materialise suppresses these; an address edited away since
                    refused.append(Refused(claimed.message.id, permanent=True, code="no_address",
                                           reason="the message has no address to send to"))
                    continue
                try:
                    outgoing[claimed.message.id] = self.render_message(claimed, compiled)
                except RenderFailed as exc:
                    refused.append(Refused(claimed.message.id, permanent=True, code="template", reason=exc.reason))
            outgoing = self.links.settle(outgoing, self.base_url, self.secret_key)
        for message_id, message in list(outgoing.items()):
            if (too_long := self.too_long(message)) is not None:
                refused.append(too_long)
                del outgoing[message_id]
        return outgoing, refused

    def too_long(self, message: Outgoing) -> Refused | None:
        """A permanent refusal for a text over its channel's max_length (a long custom field rendered into
        the template); None when it fits. Checked on the final text, short links included."""
        channel = self.channels.get(message.channel)
        limit = channel.max_length if channel is not None else None
        if limit is None or len(message.body) <= limit:
            return None
        return Refused(message.message_id, permanent=True, code="too_long",
                       reason=f"the message is {len(message.body):,} characters long once rendered; the "
                              f"{message.channel} channel ({channel.describe()}) takes at most {limit:,}, so it "
                              "was not sent — shorten the template or the contact field it shows")

    def render_message(self, claimed: ClaimedMessage, compiled: dict[tuple[int, str], Any] | None = None) -> Outgoing:
        """The Outgoing for one claimed message; raises RenderFailed with a marketer-readable reason."""
        message, template, campaign = claimed.message, claimed.template, claimed.campaign
        compiled = {} if compiled is None else compiled
        url = unsubscribe_url(self.base_url, self.secret_key, message.id)
        context = content.template_context(claimed.contact.as_template_context(), campaign_name=campaign.name,
                                           campaign_id=campaign.id, unsubscribe_url=url)

        def part(field: str) -> str:
            source = getattr(template, field) or ""
            if not source:
                return ""
            key = (template.id, field)
            if key not in compiled:
                try:
                    compiled[key] = content.compile_part(field, source)
                except content.TemplateInvalid as exc:  # saved before validation existed, or edited in SQL
                    raise RenderFailed(exc.message, field=field, line=exc.line) from None
            return content.render_part(field, compiled[key], context)

        tracker = tracker_for(campaign, message, settings=self.tracking, base_url=self.base_url,
                              secret=self.secret_key, links=self.links)
        if message.channel == "sms" and is_bound(template):
            # The provider sends its registered text with these parameters, not Herald's text: links are left
            # as written, since a short link in `body` would not be the link the recipient gets.
            body, params = render_bound(template, context, compiled)
            return Outgoing(message.id, "sms", message.address or "", body=body,
                            status_callback_url=status_callback_url(self.base_url, message.id),
                            idempotency_key=f"herald.{message.id}@{self.host}",
                            template_code=template.provider_template, template_params=params)
        if message.channel == "sms":
            body = part("body")
            body = tracker.text(body) if tracker.links is not None else body  # short links only when asked for
            return Outgoing(message.id, "sms", message.address or "", body=body,
                            status_callback_url=status_callback_url(self.base_url, message.id),
                            idempotency_key=f"herald.{message.id}@{self.host}")
        html = tracker.html(part("html"))  # links -> /l/…, the open pixel when the campaign tracks opens
        text = tracker.text(part("text")) or (content.html_to_text(html) if html else "")
        headers = {
            # The same on every try: a resend after a lost answer (at-least-once) can be dropped as a copy.
            "Message-ID": f"<herald.{message.id}@{self.host}>",
            "List-Unsubscribe": list_unsubscribe(url, self.unsubscribe_mailbox, self.secret_key, message.id),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        return Outgoing(message.id, "email", message.address or "", body=text, subject=part("subject"), html=html,
                        headers=headers, sender=campaign.sender or "",
                        idempotency_key=f"herald.{message.id}@{self.host}")

    def record_answers(self, session: Session, batch: Sequence[ClaimedMessage], outgoing: Mapping[int, Outgoing],
                       answers: Sequence[SendResult], opening: Sequence[int] = ()) -> None:
        """Record one group of a batch's answers (breaker, throttle, rows, events), and mark `opening` as
        messages the sender may hand over before it records again (AnswerGroups); commits."""
        queries.mark_handed_over(session, opening, handed_over=True)
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
        for key, results in _answers_by_channel(outgoing, answers).items():
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
        for key, results in _answers_by_channel(outgoing, answers).items():
            channel = self.channels.get(key)
            rate_used = self.pace.rate_used.get(key) if self.pace is not None else None
            if channel is not None and (until := note_throttles(session, key, channel.describe(), results,
                                                                now=self.clock.now(),
                                                                configured_rate=self.configured_rates.get(key),
                                                                rate_used=rate_used)):
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
        large the batch; each row's UPDATE stays conditional (see queries.mark_messages_sent).
        """
        now = self.clock.now()
        by_id = {c.message.id: c for c in batch}
        sent: list[queries.SentMessage] = []
        failed: list[queries.RefusedMessage] = []
        retried: list[queries.RefusedMessage] = []
        unknown: list[queries.RefusedMessage] = []
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
        queries.mark_messages_sent(session, sent, now=now)
        queries.mark_messages_failed(session, failed, now=now)
        queries.mark_messages_unknown(session, unknown, now=now)
        queries.requeue_messages(session, retried, now=now)
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

    def _record_accepted(self, sent: list[queries.SentMessage], claimed: ClaimedMessage, result: Accepted,
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
        sent.append(queries.SentMessage(message.id, result.provider_id, segments, cost, currency))
        log.info("event=sent message_id=%d campaign_id=%d run_id=%d channel=%s provider_id=%s", message.id,
                 message.campaign_id, message.run_id, message.channel, result.provider_id)
        return _event(message.id, "sent", now, provider_id=result.provider_id, segments=segments,
                      cost=str(cost), currency=currency, estimated=result.cost is None)

    def _record_unknown(self, unknown: list[queries.RefusedMessage], claimed: ClaimedMessage, result: Refused,
                        now: datetime) -> dict[str, Any]:
        message = claimed.message
        reason = f"{result.reason} — {ANSWER_LOST_REASON}"
        unknown.append(queries.RefusedMessage(message.id, result.code, reason))
        log.warning("event=unknown message_id=%d campaign_id=%d run_id=%d channel=%s code=%s reason=%r", message.id,
                    message.campaign_id, message.run_id, message.channel, result.code, result.reason)
        return _event(message.id, "unknown", now, code=result.code, reason=reason, attempt=message.attempts)

    def _record_refused(self, failed: list[queries.RefusedMessage], retried: list[queries.RefusedMessage],
                        claimed: ClaimedMessage, result: Refused, now: datetime,
                        paused_until: datetime | None = None, held_until: datetime | None = None) -> dict[str, Any]:
        message = claimed.message
        detail = {"code": result.code, "reason": result.reason, "attempt": message.attempts}
        if result.throttled and not result.permanent:
            # Not the message's fault and not a failure: the attempt taken at claim is given back.
            retry_at = max(now + timedelta(seconds=result.retry_after or 0), held_until or now, paused_until or now)
            retried.append(queries.RefusedMessage(message.id, result.code, result.reason, not_before=retry_at,
                                                  attempt_given_back=True))
            log.info("event=throttled_retry message_id=%d campaign_id=%d run_id=%d channel=%s code=%s retry_at=%s",
                     message.id, message.campaign_id, message.run_id, message.channel, result.code,
                     retry_at.isoformat())
            return _event(message.id, "retry", now, code=result.code, reason=result.reason,
                          attempt=message.attempts - 1, throttled=True, retry_at=retry_at.isoformat())
        if not result.permanent and (message.attempts < self.max_attempts or paused_until is not None):
            delay = result.retry_after if result.retry_after is not None else (
                self.retry_base_seconds * 2 ** (min(message.attempts, self.max_attempts) - 1))
            retry_at = max(now + timedelta(seconds=delay), paused_until or now)
            retried.append(queries.RefusedMessage(message.id, result.code, result.reason, not_before=retry_at))
            log.info("event=retry message_id=%d campaign_id=%d run_id=%d channel=%s code=%s attempt=%d retry_in=%.0fs",
                     message.id, message.campaign_id, message.run_id, message.channel, result.code, message.attempts,
                     delay)
            return _event(message.id, "retry", now, **detail, retry_at=retry_at.isoformat())
        failed.append(queries.RefusedMessage(message.id, result.code, result.reason))
        log.warning("event=failed message_id=%d campaign_id=%d run_id=%d channel=%s code=%s permanent=%s reason=%r",
                    message.id, message.campaign_id, message.run_id, message.channel, result.code, result.permanent,
                    result.reason)
        if not result.permanent:
            detail["gave_up_after_attempts"] = message.attempts
        return _event(message.id, "failed", now, **detail)


def _hand_on(results: list[SendResult], answers: AnswerGroups | None) -> list[SendResult]:
    if answers is not None:
        answers.add_together(results)
    return results


def _answers_by_channel(outgoing: Mapping[int, Outgoing], answers: Sequence[SendResult]) -> dict[str, list[SendResult]]:
    """The answers to messages in `outgoing`, by the message's channel ("email", "sms")."""
    by_channel: dict[str, list[SendResult]] = defaultdict(list)
    for answer in answers:
        if answer.message_id in outgoing:
            by_channel[outgoing[answer.message_id].channel].append(answer)
    return by_channel


def group_by_channel(outgoing: Mapping[int, Outgoing]) -> dict[str, list[Outgoing]]:
    """{"email": [...], "email:offers": [...], "sms": [...]} in message id order: a named email sender
    (campaign.sender) is a channel of its own, "email:NAME" (campaigns/delivery/sender.py opens it)."""
    groups: dict[str, list[Outgoing]] = defaultdict(list)
    for message_id in sorted(outgoing):
        message = outgoing[message_id]
        groups[f"{message.channel}:{message.sender}" if message.sender else message.channel].append(message)
    return dict(groups)


def release_expired_leases(session: Session, *, now: datetime) -> int:
    """Settle messages whose sender stopped after claiming them (lease expired); commits. Returns rows.

    Rows it had not handed to the provider yet (Message.handed_over false): pending, due now, whatever
    the guarantee, the attempt given back (event "retry"). The others: at_most_once campaigns -> unknown,
    never resent (event "unknown" saying why); at_least_once -> pending, due now (event "retry").
    Set-based: one UPDATE per kind, one INSERT of events.
    Runs left with nothing to send are completed.
    """
    # First the rows the dead sender had not handed over yet (Message.handed_over): nobody has seen them.
    untried = queries.release_untried_leases(session, now=now)
    unknown = queries.settle_expired_leases(session, now=now, guarantee="at_most_once", reason=UNKNOWN_REASON)
    resend = queries.settle_expired_leases(session, now=now, guarantee="at_least_once", reason=RESEND_REASON)
    if not untried and not unknown and not resend:
        session.rollback()  # end the (empty) transaction: on SQLite it holds the write lock
        return 0
    queries.add_events(session, [_event(mid, "retry", now, reason=UNTRIED_REASON) for mid, _ in untried]
                       + [_event(mid, "unknown", now, reason=UNKNOWN_REASON) for mid, _ in unknown]
                       + [_event(mid, "retry", now, reason=RESEND_REASON) for mid, _ in resend])
    queries.finish_idle_runs(session, {run_id for _, run_id in unknown}, now=now)
    session.commit()
    log.warning("event=leases_expired untried=%d unknown=%d resend=%d", len(untried), len(unknown), len(resend))
    return len(untried) + len(unknown) + len(resend)


def _event(message_id: int, type_: str, at: datetime, **detail: Any) -> dict[str, Any]:
    return {"message_id": message_id, "type": type_, "occurred_at": at,
            "detail": {k: v for k, v in detail.items() if v is not None}}
