"""What every page view takes from the app and shows the same way: the clock, the config, status names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import pgettext
from flask_login import current_user

from campaigns.content.checks import CheckSettings, missing_opt_out
from channels import ChannelConfigError, open_channel, text_as_sent
from core.clock import Clock
from core.config import Config
from web.auth import role_label


def now() -> datetime:
    """The current time from the app's clock (tests give the app a FrozenClock)."""
    clock: Clock = current_app.extensions["herald.clock"]
    return clock.now()


def config() -> Config:
    return current_app.extensions["herald.config"]


@dataclass(frozen=True)
class ChannelInfo:
    name: str  # "sms" or "email"
    description: str  # the URL with secrets masked
    dry_run: bool
    outbox: str  # where a dry-run channel writes its files; "" otherwise
    rate: str
    error: str  # why the channel cannot be opened; "" when it can
    provider: str = ""  # the provider's name, which provider-specific rate plans name
    # The text as the channel will send it (an http-sms signature added): what the estimate and the
    # template preview count segments on, as the sender does. None: the channel adds nothing, or cannot open.
    as_sent: Callable[[str], str] | None = None
    max_length: int | None = None  # the most characters one message may have (Channel.max_length)


def channel_info(name: str) -> ChannelInfo:
    """What a configured channel is, for the settings page, the dry-run banner and Send now.

    Opened once per app and closed at once: the configuration cannot change while the app runs.
    """
    cache: dict[str, ChannelInfo] = current_app.extensions.setdefault("herald.channel_info", {})
    if name not in cache:
        settings = config().channels[name]
        try:
            channel = open_channel(str(settings.url), from_address=settings.from_address, setting=name)
        except ChannelConfigError as exc:
            cache[name] = ChannelInfo(name, "", False, "", "", str(exc))
            return cache[name]
        try:
            outbox = str(getattr(channel, "directory", "")) if channel.dry_run else ""
            cache[name] = ChannelInfo(name, channel.describe(), channel.dry_run, outbox,
                                      str(getattr(channel, "rate", "")), "", str(getattr(channel, "name", "")),
                                      as_sent=partial(text_as_sent, channel), max_length=channel.max_length)
        finally:
            channel.close()
    return cache[name]


def sms_as_sent(channel: object) -> Callable[[str], str] | None:
    """What the SMS channel adds to a text, for previews of `channel` ("sms"; None for any other channel)."""
    return channel_info("sms").as_sent if channel == "sms" and "sms" in config().channels else None


def check_settings() -> CheckSettings:
    """What the pre-send checks take from the configuration: stop keywords, the SMS segment price, the currency."""
    return CheckSettings(stop_keywords=tuple(config().replies.stop_keywords), sms_price=config().channels["sms"].price,
                         currency=config().currency)


def sms_max_length() -> int | None:
    """The most characters the configured SMS channel takes in one message (None: no limit)."""
    return channel_info("sms").max_length


def status_label(status: str) -> str:
    """A campaign, message or consent status in the reader's language."""
    return all_status_labels().get(status, status)


def all_status_labels() -> dict[str, str]:
    return {
        "draft": _("Draft"),
        "pending_approval": _("Waiting for approval"),
        "scheduled": _("Scheduled"),
        "approved": _("Approved, ready to send"),
        "running": _("Sending"),
        "paused": _("Paused"),
        "completed": _("Completed"),
        "cancelled": _("Cancelled"),
        "missed": _("Missed"),
        "pending": _("Pending"),
        "sending": _("In progress"),
        "sent": _("Sent"),
        "delivered": _("Delivered"),
        "failed": _("Failed"),
        "unknown": _("Unknown"),
        "reconciled": _("Checked with the provider"),  # a message event: campaigns/delivery/reconcile.py
        "suppressed": _("Suppressed"),
        "capped": _("Capped"),
        "duplicate": _("Duplicate address"),
        "subscribed": _("Subscribed"),
        "unsubscribed": _("Unsubscribed"),
        "bounced": _("Bounced"),
        "complained": _("Complained"),
        "replied": _("Replied"),
    }


def campaign_badge_status(campaign: Any) -> str:
    """The status a campaign's badge shows: an approved campaign sent by hand (no schedule) is "approved",
    ready for Send now — "Scheduled" made marketers wait for a time that was never set."""
    if campaign.status == "scheduled" and not campaign.schedule and campaign.next_fire_at is None:
        return "approved"
    return str(campaign.status)


def waiting_words(seconds: float) -> str:
    """How long until something happens, in the reader's language: "9 h 44 min", "3 min", "under a minute"."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return _("under a minute")
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)


def sending_starts_text(starts: Any, at: datetime, *, quiet_end: str | None) -> str:
    """Why a running campaign sends nothing yet, and when it will: "Held by quiet hours: sending starts at
    08:00 recipients' time, in 9 h 44 min (2 messages waiting)." `quiet_end`: when quiet hours end ("08:00")."""
    values = {"time": starts.local_time, "wait": waiting_words((starts.at - at).total_seconds()),
              "count": f"{starts.waiting:,}"}
    if quiet_end == starts.local_time:
        return _("Held by quiet hours: sending starts at %(time)s recipients' time, in %(wait)s (%(count)s messages "
                 "waiting).", **values)
    return _("Waiting for the recipients' send time: sending starts at %(time)s recipients' time, in %(wait)s "
             "(%(count)s messages waiting).", **values)


def opt_out_warning(channel: str, parts: Any) -> str:
    """The warning for a message a marketing recipient could not opt out of ("" when it has a way out):
    an SMS without 回复TD退订 / Reply STOP wording, an email without the unsubscribe link."""
    get = parts.get if hasattr(parts, "get") else lambda name, default="": getattr(parts, name, default) or default
    missing = missing_opt_out(channel, body=get("body", ""), html=get("html", ""), text=get("text", ""),
                              stop_keywords=config().replies.stop_keywords)
    if missing is None:
        return ""
    if missing.channel == "sms":
        return _("This SMS tells readers no way to opt out. A marketing SMS must, e.g. “回复TD退订” or “Reply STOP to "
                 "opt out” (any of: %(keywords)s); event notices may leave it out.",
                 keywords=", ".join(missing.keywords))
    return _("This email has no unsubscribe link. Add {{ unsubscribe_url }} (in the footer, say) before sending it "
             "as marketing; event notices may leave it out.")


def channel_label(channel: str) -> str:
    # A context, because "Email" the channel (邮件) and "Email" the address (邮箱) differ in Chinese.
    return {"sms": pgettext("channel", "SMS"), "email": pgettext("channel", "Email")}.get(channel, channel)


def page_helpers() -> dict[str, Any]:
    """Functions and flags every template may use."""

    def nav_active(*prefixes: str) -> str:
        endpoint = request.endpoint or ""
        return "active" if any(endpoint.startswith(p) for p in prefixes) else ""

    return {
        "nav_active": nav_active,
        "status_label": status_label,
        "campaign_badge_status": campaign_badge_status,
        "channel_label": channel_label,
        "role_label": role_label,
        "can_write": bool(current_user and current_user.is_authenticated and current_user.can("write")),
    }
