"""Building the sender from config: channel instances and a Dispatcher, and a run-to-idle loop.

Used by every executor — embedded threads (scheduler/embedded.py), Celery workers, and
`herald campaigns send --wait` — so all of them send through the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.audience.caps import FrequencyCap
from campaigns.delivery.breaker import BreakerSettings
from campaigns.delivery.dispatch import Dispatcher
from campaigns.delivery.pacing import check_lease_fits
from campaigns.lifecycle import get_campaign, send_campaign
from campaigns.models import Message, Run
from campaigns.responses.answers import AnswerChannel
from campaigns.schedules import ScheduleDefaults, send_now_timing
from channels import Channel, ChannelConfigError, RateLimiter, open_channel
from core.clock import Clock
from core.config import Config
from core.db import Database
from core.errors import HeraldError


class ChannelUnavailable(HeraldError):
    """The campaign's channel is misconfigured, so nothing was sent; the message says what to fix."""

    http_status = 503


def send_campaign_now(session: Session, campaign_id: int, *, config: Config, now: datetime,
                      user_id: int | None = None) -> Run:
    """Send a draft campaign through its configured channel (the UI's Send now, the API, the CLI).

    The run records the channel it goes through (secrets masked) and whether it is a dry run, so the
    channel is opened here only to describe itself; the senders open their own to send. Raises
    ChannelUnavailable for a channel URL that cannot be used, and what send_campaign raises.
    """
    campaign = get_campaign(session, campaign_id)
    description, dry_run = describe_channel(config, campaign.channel, sender=campaign.sender)
    return send_campaign(session, campaign_id, now=now, channel_description=description, dry_run=dry_run,
                         approval_required=config.approval_required_for(campaign.kind), user_id=user_id,
                         cap=FrequencyCap(config.cap_messages, config.cap_days),
                         timing=send_now_timing(campaign, ScheduleDefaults.from_config(config)))


def describe_channel(config: Config, channel_name: str, *, sender: str | None = None) -> tuple[str, bool]:
    """The configured channel's describe() (secrets masked) and whether it is a dry run (log://).

    `sender` names an email sender account ([channels.email.senders.NAME]) instead of the default.
    Opens the channel only to describe it; the senders open their own to send. Raises ChannelUnavailable.
    """
    settings = config.channels[channel_name]
    if sender and channel_name == "email":
        if sender not in config.email.senders:
            raise ChannelUnavailable(f'nothing was sent: the campaign\'s sender "{sender}" is not configured; add '
                                     f"[channels.email.senders.{sender}] to config.toml or choose another sender")
        settings = config.email.senders[sender]
    try:
        channel = open_channel(str(settings.url), from_address=settings.from_address, setting=channel_name)
    except ChannelConfigError as exc:
        raise ChannelUnavailable(f"nothing was sent: {exc}") from None
    try:
        return channel.describe(), channel.dry_run
    finally:
        channel.close()


def answer_channel(config: Config) -> AnswerChannel:
    """The SMS channel an Inbox answer goes through (campaigns/responses/answers.py): its describe(), its
    provider and whether it is a dry run. Raises ChannelUnavailable for an SMS channel URL that cannot be used."""
    settings = config.channels["sms"]
    try:
        channel = open_channel(str(settings.url), from_address=settings.from_address, setting="sms")
    except ChannelConfigError as exc:
        raise ChannelUnavailable(f"nothing was sent: {exc}") from None
    try:
        return AnswerChannel(channel.describe(), str(getattr(channel, "name", "")), channel.dry_run)
    finally:
        channel.close()


def channel_copier(config: Config) -> Callable[[str], Channel]:
    """Opens one more instance of a configured channel by its key ("sms", "email", "email:NAME"), for a
    Dispatcher that keeps several requests in flight (one instance per request in flight)."""
    def open_copy(key: str) -> Channel:
        kind, _, name = key.partition(":")
        settings = config.email.senders[name] if name else config.channels[kind]
        return open_channel(str(settings.url), from_address=settings.from_address)
    return open_copy


def concurrency_of(config: Config, channels: Mapping[str, Channel]) -> dict[str, int]:
    """{channel key: requests in flight at most}: [sender] smtp_concurrency for SMTP sessions, [sender]
    concurrency for the HTTP providers, one for log:// (nothing to wait for)."""
    return {key: 1 if channel.name == "log" else config.smtp_concurrency if channel.name == "smtp"
            else config.sender_concurrency for key, channel in channels.items()}


def open_configured_channels(config: Config) -> dict[str, Channel]:
    """One fresh instance of each configured channel, for one sender thread (a Channel is not shared)."""
    opened: dict[str, Channel] = {}
    try:
        for name, channel in config.channels.items():
            opened[name] = open_channel(str(channel.url), from_address=channel.from_address)
        for name, channel in config.email.senders.items():  # "email:NAME", as dispatch.group_by_channel keys them
            try:
                opened[f"email:{name}"] = open_channel(str(channel.url), from_address=channel.from_address,
                                                       setting=f"email.senders.{name}")
            except ChannelConfigError as exc:
                raise ChannelConfigError(f"email sender {name}: {exc}".replace(
                    f" or HERALD_CHANNELS_EMAIL.SENDERS.{name.upper()}_URL", "")) from None
    except Exception:
        for channel in opened.values():
            channel.close()
        raise
    return opened


def check_sender_settings(config: Config, channels: dict[str, Channel] | None = None) -> None:
    """Refuse at start-up a sender configuration that cannot hold: a [sender] lease_seconds too short for
    one message at a channel's rate (campaigns/delivery/pacing.py). Opens the configured channels to read their
    rates unless `channels` is given. Raises ConfigError naming the settings and the fix."""
    opened = channels if channels is not None else open_configured_channels(config)
    try:
        check_lease_fits(opened, lease_seconds=config.lease_seconds)
    finally:
        if channels is None:
            for channel in opened.values():
                channel.close()


def make_dispatcher(config: Config, database: Database, channels: dict[str, Channel], limiter: RateLimiter,
                    clock: Clock) -> Dispatcher:
    """The Dispatcher every executor sends through; raises ConfigError for settings that cannot hold."""
    check_sender_settings(config, channels)
    return Dispatcher(
        database,
        channels,
        limiter,
        clock,
        base_url=config.base_url,
        secret_key=str(config.secret_key),
        batch_size=config.batch_size,
        lease_seconds=config.lease_seconds,
        max_attempts=config.max_attempts,
        retry_base_seconds=config.retry_base_seconds,
        price={name: ch.price for name, ch in config.channels.items()},
        currency=config.currency,
        tracking=config.tracking,
        breaker=BreakerSettings(config.breaker_failures, config.breaker_cooldown_seconds),
        unsubscribe_mailbox=config.email.unsubscribe_mailbox,
        concurrency=concurrency_of(config, channels),
        open_copy=channel_copier(config),
    )


def send_until_idle(config: Config, database: Database, clock: Clock, *, limiter: RateLimiter | None = None) -> int:
    """Dispatch in this thread until nothing is due now; returns the number of rows handled.

    Messages waiting for a retry later are left for the running sender.
    """
    channels = open_configured_channels(config)
    try:
        dispatcher = make_dispatcher(config, database, channels, limiter or RateLimiter("memory://"), clock)
        total = 0
        try:
            while handled := dispatcher.dispatch_due():
                total += handled
        finally:
            dispatcher.close()
        return total
    finally:
        for channel in channels.values():
            channel.close()


def has_due_messages(session: Session, *, now: datetime) -> bool:
    """Is any message waiting to be sent now? One probe of the partial due-index (LIMIT 1)."""
    probe = select(Message.id).where(Message.status == "pending", Message.not_before <= now).limit(1)
    return session.scalar(probe) is not None
