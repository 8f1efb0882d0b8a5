"""A provider that says "slow down" (HTTP 429, Twilio 20429, SMTP 421/451 "too many …") holds its channel back
and lowers the channel's send rate.

A throttle answer is not a failure: the provider is up and the message is fine, it only came too
fast. So a throttled message is requeued without counting an attempt (campaigns/delivery/dispatch.py gives
the attempt taken at claim back) and is never failed for it, however long the throttling lasts.

Two things slow the channel down, for every sender:
- The hold: nothing of the channel is claimed for a while. Exactly as long as the provider asked
  (Retry-After) when it said; otherwise FIRST_HOLD_SECONDS, growing with the length of a streak of
  throttle answers with nothing accepted in between (a provider answering only 429s), at most
  LONGEST_HOLD_SECONDS. Any accepted message ends the streak. (Issue 12: a hold that grew with
  every throttled batch and ended only after a whole batch without one nearly stopped sending.)
- The rate (AIMD, as TCP finds a link's capacity): each throttle answer multiplies the channel's send
  rate by DECREASE_FACTOR — or, when the answer tells the provider's own rate (a Retry-After, read with
  the time since the provider last took a request: campaigns/delivery/pacing.py), sets it to RECOVER_SHARE
  of that at once, and the rate that was refused is taken to be the provider's — once per rate: a
  sender that was pacing at a rate another sender already lowered does not lower it again — down to
  LOWEST_SHARE of the configured rate. After QUIET_SECONDS
  without one, and again every QUIET_SECONDS while the provider takes messages, it is raised: half way
  back to RECOVER_SHARE of the rate that was refused (throttled_rate) while below that, then — once
  PROBE_AFTER_SECONDS have passed without a throttle answer — by INCREASE_SHARE of itself, probing for
  more, up to the configured rate. So one 429 from jitter costs
  a few seconds at a slightly lower rate, not a long climb; and a channel configured above what its
  provider allows settles just under the provider's rate.

Both live in the channel's channel_health row (state "throttled", opened_at = when the streak began,
next_try_at = the end of the hold; send_rate, throttled_rate, rate_lowered_at, rate_raised_at), the row the circuit
breaker (campaigns/delivery/breaker.py) keeps, so every sender process sees them. An open breaker is the
stronger pause and is left as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaigns.responses.inbox_models import ChannelHealth, provider_label
from channels import Accepted, Refused, SendResult

log = logging.getLogger("herald.throttle")

FIRST_HOLD_SECONDS = 1
LONGEST_HOLD_SECONDS = 300
THROTTLED = "throttled"
DECREASE_FACTOR = 0.85
INCREASE_SHARE = 0.01
RECOVER_SHARE = 0.97
QUIET_SECONDS = 2
# Probing above RECOVER_SHARE of the refused rate waits this long after the last throttle answer: that rate
# is (near) the provider's, and probing at once cost a refusal every few seconds (at R = 1/s, one in five).
PROBE_AFTER_SECONDS = 10
LOWEST_SHARE = 0.05


def held_channels(session: Session, *, now: datetime) -> set[str]:
    """The channels whose provider asked to slow down and whose hold is not over: claim none of their
    messages. Does not commit."""
    return set(session.scalars(select(ChannelHealth.channel).where(
        ChannelHealth.state == THROTTLED, ChannelHealth.next_try_at > now)))


@dataclass(frozen=True)
class SlowedChannel:
    """What the UI says about a channel sending below its configured rate because its provider throttled."""

    channel: str
    provider: str
    send_rate: float  # messages a second
    last_error: str
    lowered_at: datetime | None


def slowed_channels(session: Session) -> list[SlowedChannel]:
    """Channels whose send rate a throttling provider lowered, for the dashboard and campaign banners. One query."""
    return [SlowedChannel(h.channel, h.provider, h.send_rate, h.last_error, h.rate_lowered_at)
            for h in session.scalars(select(ChannelHealth).where(ChannelHealth.send_rate.is_not(None))
                                     .order_by(ChannelHealth.channel))]


def send_rates(session: Session, configured: dict[str, float]) -> dict[str, float]:
    """The rate (messages a second) to pace each channel of `configured` ({channel: its URL's rate}) at:
    the lowered rate a throttling provider left in channel_health, else the configured one. One query;
    does not commit."""
    lowered = dict(session.execute(select(ChannelHealth.channel, ChannelHealth.send_rate).where(
        ChannelHealth.channel.in_(list(configured)), ChannelHealth.send_rate.is_not(None))).tuples().all())
    return {channel: min(rate, lowered.get(channel) or rate) for channel, rate in configured.items()}


def hold_seconds(*, streak_seconds: float, retry_after: float | None) -> float:
    """How long a channel waits after a throttle answer: exactly what the provider asked for if it said,
    else the streak's length so far, kept between FIRST_HOLD_SECONDS and LONGEST_HOLD_SECONDS."""
    if retry_after is not None:
        return retry_after
    return min(LONGEST_HOLD_SECONDS, max(FIRST_HOLD_SECONDS, streak_seconds))


def note_throttles(session: Session, channel: str, provider: str, results: Sequence[SendResult], *,
                   now: datetime, configured_rate: float | None = None, rate_used: float | None = None,
                   provider_rate: float | None = None) -> datetime | None:
    """Hold `channel` back and lower its send rate if the provider throttled any of `results` (one
    channel's answers for a batch, sent at `rate_used` messages a second; the channel URL's rate is
    `configured_rate`); end its throttling streak, and after a quiet while raise its rate, if it took
    messages without a throttle answer. Does not commit.

    `provider_rate` is the provider's own rate when its answer told it (Retry-After and the last request
    it took: campaigns/delivery/pacing.py provider_rate_estimate): the rate goes straight to RECOVER_SHARE
    of it, and recovering aims there, instead of stepping down by DECREASE_FACTOR one refusal at a time.

    Returns until when the channel is held (None if it is not throttled): throttled messages are due
    again no earlier than that.
    """
    throttled = [r for r in results if isinstance(r, Refused) and r.throttled]
    accepted = any(isinstance(r, Accepted) for r in results)
    if not throttled:
        # Conditional UPDATEs, no read first: this runs for every batch the provider takes.
        if accepted and session.execute(
                update(ChannelHealth).execution_options(synchronize_session=False)
                .where(ChannelHealth.channel == channel, ChannelHealth.state == THROTTLED)
                .values(state="closed", opened_at=None, next_try_at=None, updated_at=now)).rowcount:
            log.info("event=throttle_ended channel=%s", channel)
        if accepted and configured_rate is not None:
            raise_rate(session, channel, configured_rate=configured_rate, now=now)
        return None
    row = session.execute(select(ChannelHealth.state, ChannelHealth.opened_at, ChannelHealth.next_try_at)
                          .where(ChannelHealth.channel == channel)).first()
    asked = max((r.retry_after for r in throttled if r.retry_after is not None), default=None)
    if row is not None and row.state == "open":  # the breaker already holds the channel longer
        return max(row.next_try_at or now, now + timedelta(seconds=hold_seconds(streak_seconds=0,
                                                                                 retry_after=asked)))
    # The streak is of throttle answers with nothing accepted between them: a batch that got some
    # messages through before its 429 starts a new one, so pacing near the provider's rate holds briefly.
    streaking = row is not None and row.state == THROTTLED and row.opened_at and not accepted
    since = row.opened_at if streaking else now
    until = now + timedelta(seconds=hold_seconds(streak_seconds=(now - since).total_seconds(), retry_after=asked))
    if row is not None and row.state == THROTTLED and row.next_try_at is not None:
        until = max(until, row.next_try_at)  # another sender's hold may already reach further
    last = throttled[-1]
    error = f"{last.code}: {last.reason}"[:2000]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values: dict[str, object] = {"state": THROTTLED, "provider": provider_label(provider), "last_error": error,
                                 "opened_at": since, "next_try_at": until, "updated_at": now}
    rate_update: dict[str, object] = {}
    if configured_rate is not None and rate_used is not None:
        lowered = rate_used * DECREASE_FACTOR
        refused_at = rate_used
        if provider_rate is not None and provider_rate < rate_used:
            lowered, refused_at = min(lowered, provider_rate * RECOVER_SHARE), provider_rate
        lowered = max(lowered, configured_rate * LOWEST_SHARE)
        values |= {"send_rate": lowered, "throttled_rate": refused_at, "rate_lowered_at": now}
        # Lowered once per rate: a sender pacing at a rate another sender has already lowered (its 429s
        # were for requests sent before that) leaves the lower rate as it is.
        not_lowered_yet = func.coalesce(ChannelHealth.send_rate, configured_rate) >= rate_used * 0.999
        rate_update = {"send_rate": case((not_lowered_yet, lowered), else_=ChannelHealth.send_rate),
                       "throttled_rate": case((not_lowered_yet, refused_at), else_=ChannelHealth.throttled_rate),
                       "rate_lowered_at": case((not_lowered_yet, now), else_=ChannelHealth.rate_lowered_at)}
    statement = insert(ChannelHealth).values(channel=channel, consecutive_failures=0, **values)
    session.execute(statement.on_conflict_do_update(
        index_elements=[ChannelHealth.channel],
        where=ChannelHealth.state != "open",  # never turn an open breaker into a shorter hold
        set_={k: v for k, v in values.items() if k not in rate_update} | rate_update))
    log.warning("event=throttled channel=%s provider=%s messages=%d hold_until=%s rate_used=%s reason=%r", channel,
                provider, len(throttled), until.isoformat(), rate_used, error)
    return until


def raise_rate(session: Session, channel: str, *, configured_rate: float, now: datetime) -> None:
    """Raise a lowered send rate (see the module doc), at most once every QUIET_SECONDS and only
    QUIET_SECONDS after the last throttle answer; back to the configured rate (NULL) once it reaches it.
    Called after each batch the provider took, and every second while one is sent. Does not commit."""
    quiet_since = now - timedelta(seconds=QUIET_SECONDS)
    rate, refused_at = ChannelHealth.send_rate, func.coalesce(ChannelHealth.throttled_rate, configured_rate)
    may_probe = ChannelHealth.rate_lowered_at <= now - timedelta(seconds=PROBE_AFTER_SECONDS)
    recovered = rate + (refused_at * RECOVER_SHARE - rate) / 2
    probed = case((may_probe, rate * (1 + INCREASE_SHARE)), else_=rate)
    raised = case((recovered > probed, recovered), else_=probed)  # whichever goes further
    session.execute(
        update(ChannelHealth).execution_options(synchronize_session=False)
        .where(ChannelHealth.channel == channel, ChannelHealth.send_rate.is_not(None),
               ChannelHealth.rate_lowered_at <= quiet_since,
               (ChannelHealth.rate_raised_at.is_(None)) | (ChannelHealth.rate_raised_at <= quiet_since))
        .values(send_rate=case((raised >= configured_rate, None), else_=raised), rate_raised_at=now))
