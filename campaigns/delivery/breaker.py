"""The circuit breaker per channel: stop hammering a provider that keeps failing, and resume by itself.

After `failures` transient refusals in a row (timeouts, 5xx, 429, dead connections — each message
tried counts once; messages a batch did not try do not), the channel opens: nobody claims that
channel's messages until `next_try_at`, so they stay pending and lose no attempt. Then exactly one
sender wins the probe (a conditional UPDATE) and sends a batch; any answer from the provider — an
acceptance or a permanent refusal, which proves it is up — closes the breaker; another transient
failure opens it for another cool-down. The state is a row per channel in the database, so every
sender process and the web UI see the same breaker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaigns.responses.inbox_models import ChannelHealth, provider_label
from channels import Accepted, SendResult, mask_url
from channels.base import was_not_tried

log = logging.getLogger("herald.breaker")


@dataclass(frozen=True)
class BreakerSettings:
    failures: int = 5  # transient failures in a row that open the breaker
    cooldown_seconds: int = 60


@dataclass(frozen=True)
class PausedChannel:
    """What the UI says about an open breaker."""

    channel: str
    provider: str
    last_error: str
    opened_at: datetime | None
    next_try_at: datetime | None


def channels_to_skip(session: Session, *, now: datetime, settings: BreakerSettings) -> set[str]:
    """The channels this sender must not claim for now. Does not commit (the claim that follows does).

    An open channel whose cool-down is over is probed by exactly one sender: the one whose conditional
    UPDATE moves next_try_at on first. Every other sender keeps skipping it until the probe's answer.
    """
    due = list(session.scalars(select(ChannelHealth.channel).where(
        ChannelHealth.state == "open", ChannelHealth.next_try_at <= now)))
    skip = set(session.scalars(select(ChannelHealth.channel).where(
        ChannelHealth.state == "open", ChannelHealth.next_try_at > now)))
    for channel in due:
        won = session.execute(
            update(ChannelHealth).execution_options(synchronize_session=False)
            .where(ChannelHealth.channel == channel, ChannelHealth.state == "open", ChannelHealth.next_try_at <= now)
            .values(next_try_at=now + timedelta(seconds=settings.cooldown_seconds), updated_at=now)
        ).rowcount
        if won:
            log.info("event=breaker_probe channel=%s", channel)
        else:
            skip.add(channel)
    return skip


def note_answers(session: Session, channel: str, provider: str, results: Sequence[SendResult], *, now: datetime,
                 settings: BreakerSettings) -> datetime | None:
    """Count one channel's answers for a batch; does not commit. Returns when it may be tried again if
    the breaker is (now) open, else None.

    The provider answered (anything accepted, refused for good, or throttled: "slow down" is an answer, and
    throttle.py holds the channel for exactly its Retry-After) -> closed, count reset. Only transient
    refusals -> count them; at `failures` the breaker opens for a cool-down.
    """
    tried = [r for r in results if not was_not_tried(r)]
    if not tried:
        return None
    transient = [r for r in tried if not isinstance(r, Accepted) and not r.permanent and not r.throttled]
    if len(transient) < len(tried):
        _close(session, channel, now=now)
        return None
    last = transient[-1]
    error = f"{last.code}: {last.reason}"[:2000]
    next_try = now + timedelta(seconds=settings.cooldown_seconds)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(ChannelHealth).values(channel=channel, provider=provider_label(provider), state="closed",
                                             consecutive_failures=len(transient), last_error=error, updated_at=now)
    # One statement, so two senders counting failures at once add up instead of overwriting each other.
    session.execute(statement.on_conflict_do_update(index_elements=[ChannelHealth.channel], set_={
        "consecutive_failures": ChannelHealth.consecutive_failures + statement.excluded.consecutive_failures,
        "provider": statement.excluded.provider, "last_error": statement.excluded.last_error, "updated_at": now,
    }))
    opened = session.execute(
        update(ChannelHealth).execution_options(synchronize_session=False)
        .where(ChannelHealth.channel == channel, ChannelHealth.consecutive_failures >= settings.failures)
        .values(opened_at=case((ChannelHealth.state == "open", ChannelHealth.opened_at), else_=now),
                state="open", next_try_at=next_try)
    ).rowcount
    if not opened:
        return None
    log.warning("event=breaker_open channel=%s provider=%s next_try_at=%s last_error=%r", channel, provider,
                next_try.isoformat(), error)
    return next_try


def _close(session: Session, channel: str, *, now: datetime) -> None:
    closed = session.execute(
        update(ChannelHealth).execution_options(synchronize_session=False)
        .where(ChannelHealth.channel == channel,
               (ChannelHealth.state == "open") | (ChannelHealth.consecutive_failures > 0))
        .values(state="closed", consecutive_failures=0, opened_at=None, next_try_at=None, updated_at=now)
    ).rowcount
    if closed:
        log.info("event=breaker_closed channel=%s", channel)


def paused_channels(session: Session) -> list[PausedChannel]:
    """Channels whose breaker is open, for the dashboard and campaign banners. One query."""
    return [PausedChannel(h.channel, mask_url(h.provider), h.last_error, h.opened_at, h.next_try_at)
            for h in session.scalars(select(ChannelHealth).where(ChannelHealth.state == "open")
                                     .order_by(ChannelHealth.channel))]
