"""Email sender accounts as the campaign form and the API offer them ([channels.email.senders.NAME]).

The names are checked against the configuration here, in web, because campaigns stores only the name:
a sender removed from config.toml later makes its messages fail with a reason saying so.
"""

from __future__ import annotations

from email.utils import parseaddr

from flask_babel import gettext as _

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
