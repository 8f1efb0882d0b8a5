"""A provider that says "slow down" (HTTP 429, Twilio 20429, SMTP 421/451 "too many …") holds its channel back.

A throttle answer is not a failure: the provider is up and the message is fine, it only came too
fast. So a throttled message is requeued without counting an attempt (campaigns/dispatch.py gives
the attempt taken at claim back) and is never failed for it, however long the throttling lasts —
and the whole channel stops claiming for a while, so every sender slows down instead of feeding the
provider more messages to refuse. The hold lasts as long as the provider asked (Retry-After), and
otherwise grows with the length of the throttling streak: FIRST_HOLD_SECONDS, then as long as the
streak has lasted so far (so it roughly doubles), at most LONGEST_HOLD_SECONDS. The first batch the
provider takes without a throttle answer ends the streak.

The hold is kept in the channel's channel_health row (state "throttled", opened_at = when the streak
began, next_try_at = the end of the hold), the row the circuit breaker (campaigns/breaker.py) keeps,
so every sender process sees it. An open breaker is the stronger pause and is left as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaigns.inbox_models import ChannelHealth
from channels import Accepted, Refused, SendResult

log = logging.getLogger("herald.throttle")

FIRST_HOLD_SECONDS = 5
LONGEST_HOLD_SECONDS = 300
THROTTLED = "throttled"


def held_channels(session: Session, *, now: datetime) -> set[str]:
    """The channels whose provider asked to slow down and whose hold is not over: claim none of their
    messages. Does not commit."""
    return set(session.scalars(select(ChannelHealth.channel).where(
        ChannelHealth.state == THROTTLED, ChannelHealth.next_try_at > now)))


def hold_seconds(*, streak_seconds: float, retry_after: float | None) -> float:
    """How long a channel waits after a throttle answer: what the provider asked for if it said, else the
    streak's length so far, kept between FIRST_HOLD_SECONDS and LONGEST_HOLD_SECONDS."""
    grown = min(LONGEST_HOLD_SECONDS, max(FIRST_HOLD_SECONDS, streak_seconds))
    return max(retry_after or 0.0, grown)


def note_throttles(session: Session, channel: str, provider: str, results: Sequence[SendResult], *,
                   now: datetime) -> datetime | None:
    """Hold `channel` back if the provider throttled any of `results` (one channel's answers for a batch);
    end its throttling streak if it took messages without a throttle answer. Does not commit.

    Returns until when the channel is held (None if it is not throttled): throttled messages are due
    again no earlier than that.
    """
    throttled = [r for r in results if isinstance(r, Refused) and r.throttled]
    if not throttled:
        # One conditional UPDATE, no read first: this runs for every batch the provider takes.
        if any(isinstance(r, Accepted) for r in results) and session.execute(
                update(ChannelHealth).execution_options(synchronize_session=False)
                .where(ChannelHealth.channel == channel, ChannelHealth.state == THROTTLED)
                .values(state="closed", opened_at=None, next_try_at=None, updated_at=now)).rowcount:
            log.info("event=throttle_ended channel=%s", channel)
        return None
    row = session.execute(select(ChannelHealth.state, ChannelHealth.opened_at, ChannelHealth.next_try_at)
                          .where(ChannelHealth.channel == channel)).first()
    asked = max((r.retry_after for r in throttled if r.retry_after is not None), default=None)
    if row is not None and row.state == "open":  # the breaker already holds the channel longer
        return max(row.next_try_at or now, now + timedelta(seconds=hold_seconds(streak_seconds=0,
                                                                                 retry_after=asked)))
    since = row.opened_at if row is not None and row.state == THROTTLED and row.opened_at else now
    until = now + timedelta(seconds=hold_seconds(streak_seconds=(now - since).total_seconds(), retry_after=asked))
    if row is not None and row.state == THROTTLED and row.next_try_at is not None:
        until = max(until, row.next_try_at)  # another sender's hold may already reach further
    last = throttled[-1]
    error = f"{last.code}: {last.reason}"[:2000]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(ChannelHealth).values(channel=channel, provider=provider, state=THROTTLED,
                                             consecutive_failures=0, last_error=error, opened_at=since,
                                             next_try_at=until, updated_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=[ChannelHealth.channel],
        where=ChannelHealth.state != "open",  # never turn an open breaker into a shorter hold
        set_={"state": THROTTLED, "provider": provider, "last_error": error, "opened_at": since,
              "next_try_at": until, "updated_at": now}))
    log.warning("event=throttled channel=%s provider=%s messages=%d hold_until=%s reason=%r", channel, provider,
                len(throttled), until.isoformat(), error)
    return until
