"""Email sender accounts as the campaign form and the API offer them ([channels.email.senders.NAME]).

The names are checked against the configuration here, in web, because campaigns stores only the name:
a sender removed from config.toml later makes its messages fail with a reason saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from flask_babel import gettext as _

from channels import ChannelConfigError, open_channel
from channels.mailbox import open_mailbox
from core.config import Config
from core.errors import Invalid


def checked_sender(config: Config, sender: str | None) -> str | None:
    """`sender` if it is a configured sender name, None for empty (the default account); raises Invalid."""
    if not sender:
        return None
    if sender not in config.email.senders:
        known = ", ".join(sorted(config.email.senders)) or "none are configured"
        raise Invalid(f'sender "{sender}" is not configured; known senders: {known} — add '
                      f"[channels.email.senders.{sender}] to config.toml to use it", field="sender")
    return sender


def sender_options(config: Config) -> list[tuple[str, str]]:
    """(value, label) for the campaign form: the default account first, then each named one."""
    default = parseaddr(config.channels["email"].from_address)[1] or config.channels["email"].from_address
    options = [("", _("Default sender (%(address)s)", address=default))]
    for name, sender in sorted(config.email.senders.items()):
        address = parseaddr(sender.from_address)[1] or sender.from_address
        options.append((name, f"{sender.label or name} ({address})"))
    return options


@dataclass(frozen=True)
class SenderRow:
    name: str
    label: str
    from_address: str
    description: str  # the channel URL, secrets masked
    error: str = ""


@dataclass(frozen=True)
class FeedbackSource:
    label: str
    on: bool
    where: str  # the endpoint or mailbox, secrets masked
    setting: str  # the config key that turns it on


def email_overview(config: Config) -> tuple[list[SenderRow], list[FeedbackSource]]:
    """The settings page's view of the email senders and the bounce/complaint sources."""
    rows = []
    for name, sender in sorted(config.email.senders.items()):
        try:
            channel = open_channel(str(sender.url), from_address=sender.from_address)
        except ChannelConfigError as exc:
            rows.append(SenderRow(name, sender.label or name, sender.from_address, "", error=str(exc)))
            continue
        try:
            rows.append(SenderRow(name, sender.label or name, sender.from_address, channel.describe()))
        finally:
            channel.close()
    email = config.email
    base = config.base_url
    mailbox = ""
    if str(email.mailbox_url):
        try:
            mailbox = open_mailbox(str(email.mailbox_url)).description
        except ChannelConfigError as exc:
            mailbox = str(exc)
    sources = [
        FeedbackSource(_("SendGrid Event Webhook"), bool(email.sendgrid_public_key), f"{base}/webhooks/sendgrid/events",
                       "[bounces] sendgrid_public_key"),
        FeedbackSource(_("Amazon SES via SNS"), bool(email.ses_topic_arns), f"{base}/webhooks/ses",
                       "[bounces] ses_topic_arns"),
        FeedbackSource(_("Bounce messages posted by your mail server"), bool(str(email.post_token)),
                       f"{base}/webhooks/email/dsn", "[bounces] post_token"),
        FeedbackSource(_("Bounce mailbox (IMAP/POP3)"), bool(str(email.mailbox_url)),
                       _("%(mailbox)s, every %(minutes)s minutes", mailbox=mailbox, minutes=email.mailbox_minutes)
                       if mailbox else "", "[bounces] mailbox_url"),
    ]
    return rows, sources
