"""The preference page behind every message's unsubscribe link: which channels and which topics a contact wants.

Reached from the signed /u/<message>/<sig> link, so the message says who the contact is. Channels are
the ones the contact has an address for; topics are the lists marked as topics (audiences/contacts/topics.py).
Turning a channel off is an unsubscribe caused by this message's campaign, recorded as an
"unsubscribed" event on the message like the one-click unsubscribe, so reports count it.

The page has no login — whoever holds the link (a forwarded email, an old message) can post it — so
it may withdraw consent on any channel but restore it only on the channel the message came by, and
only a withdrawal made by a link or this page. A STOP texted from the phone, a bounce or a complaint
is undone by the channel itself (START) or an admin, never here (audiences.undone_only_by_channel).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import audiences
from campaigns.models import Message, MessageEvent
from campaigns.responses.tracking import is_test_message
from core.errors import HeraldError, NotFound

CHANNEL_ADDRESS = {"email": "email", "sms": "phone"}
# Why the page cannot turn a channel back on; the page shows a sentence for each (public/preferences.html).
LOCKED_STOPPED = "stopped"  # STOP from the phone, or the provider's opt-out: START from that phone undoes it
LOCKED_BOUNCED = "bounced"
LOCKED_COMPLAINED = "complained"
LOCKED_OTHER_CHANNEL = "other_channel"  # reached from an email: SMS is restored from an SMS's link, and vice versa
LOCKED_BY_SENDER = "by_sender"  # withdrawn by the sender (by hand, an import, the API): ask them
# Sources of a withdrawal this page may undo: its own, and the one-click link's (campaigns/responses/unsubscribe.py).
PAGE_SOURCES = ("preference page", "unsubscribe link")


class PreferenceNotAllowed(HeraldError):
    """A preference POST asked for what the page may not do (restore a locked channel, an odd topic id)."""


@dataclass(frozen=True)
class Topic:
    list_id: int
    name: str
    description: str
    member: bool


@dataclass(frozen=True)
class Preferences:
    message_channel: str
    channels: dict[str, bool]  # channel -> subscribed, for the channels the contact has an address on
    topics: list[Topic]
    locked: dict[str, str]  # channel -> why this page cannot subscribe it again (LOCKED_*); absent: it can


def _message(session: Session, message_id: int) -> Message:
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(f"message {message_id} does not exist (it may have been deleted with its campaign)")
    return message


def contact_preferences(session: Session, message_id: int) -> Preferences:
    """What the recipient of `message_id` is subscribed to. Raises NotFound for an unknown message."""
    message = _message(session, message_id)
    contact = audiences.get_contact(session, message.contact_id)
    consents = audiences.current_consents(session, contact.id)
    channels = {channel: consents[channel].status == "subscribed" if channel in consents else True
                for channel, field in CHANNEL_ADDRESS.items() if getattr(contact, field)}
    locked = {channel: why for channel, subscribed in channels.items() if not subscribed
              and (why := _locked(consents[channel], reached_by=message.channel)) is not None}
    member_of = audiences.contact_topic_ids(session, contact.id)
    topics = [Topic(t.id, t.name, t.description or "", t.id in member_of) for t in audiences.topic_lists(session)]
    session.rollback()  # a read: end it, so SQLite's write lock is not held while the page renders
    return Preferences(message.channel, channels, topics, locked)


def _locked(consent: audiences.Consent, *, reached_by: str) -> str | None:
    """Why the page reached from a `reached_by` message may not subscribe this withdrawn channel again."""
    if consent.status in ("bounced", "complained"):
        return LOCKED_BOUNCED if consent.status == "bounced" else LOCKED_COMPLAINED
    if audiences.undone_only_by_channel(consent):
        return LOCKED_STOPPED
    if consent.channel != reached_by:
        return LOCKED_OTHER_CHANNEL
    if not consent.source.startswith(PAGE_SOURCES):
        return LOCKED_BY_SENDER
    return None


def save_preferences(session: Session, message_id: int, *, channels: Mapping[str, bool], topic_ids: Collection[int],
                     now: datetime) -> Preferences:
    """Apply what the recipient chose on the page; commits. Only changes are written, each with its history.

    `channels` maps a channel to wanted (True) or not; channels left out are unchanged. `topic_ids` is the
    complete set of topics wanted. Raises NotFound for an unknown message, PreferenceNotAllowed (nothing
    saved) when it would subscribe a channel this page may not restore (`Preferences.locked`).
    """
    message = _message(session, message_id)
    current = contact_preferences(session, message_id)
    if is_test_message(session, message_id):  # a test send's page changes nothing for the contact it showed
        return current
    refused = sorted(c for c, wanted in channels.items() if wanted and c in current.locked)
    if refused:
        raise PreferenceNotAllowed(
            f"message {message_id}: {', '.join(refused)} cannot be turned back on from this page "
            f"({', '.join(current.locked[c] for c in refused)}); nothing was changed")
    # The POST through this message's signed link, now, is the evidence for the change.
    source = f"preference page, message {message.id}, campaign {message.campaign_id}"
    for channel, wanted in channels.items():
        if channel not in current.channels or current.channels[channel] == wanted:
            continue
        audiences.set_consent(session, message.contact_id, channel, "subscribed" if wanted else "unsubscribed",
                              source=source, now=now)
        if not wanted:
            _record_unsubscribed(session, message, channel, now)
    audiences.set_contact_topics(session, message.contact_id, topic_ids, now=now)
    session.commit()
    return contact_preferences(session, message_id)


def _record_unsubscribed(session: Session, message: Message, channel: str, now: datetime) -> None:
    already = session.scalar(select(MessageEvent.id).where(MessageEvent.message_id == message.id,
                                                           MessageEvent.type == "unsubscribed").limit(1))
    if not already:
        session.add(MessageEvent(message_id=message.id, type="unsubscribed", occurred_at=now,
                                 detail={"campaign_id": message.campaign_id, "channel": channel,
                                         "source": "preferences"}))
        session.commit()
