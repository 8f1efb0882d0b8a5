"""The preference page behind every message's unsubscribe link: which channels and which topics a contact wants.

Reached from the signed /u/<message>/<sig> link, so the message says who the contact is. Channels are
the ones the contact has an address for; topics are the lists marked as topics (audiences/topics.py).
Turning a channel off is an unsubscribe caused by this message's campaign, recorded as an
"unsubscribed" event on the message like the one-click unsubscribe, so reports count it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import audiences
from campaigns.models import Message, MessageEvent
from core.errors import NotFound

CHANNEL_ADDRESS = {"email": "email", "sms": "phone"}


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
    member_of = audiences.contact_topic_ids(session, contact.id)
    topics = [Topic(t.id, t.name, t.description or "", t.id in member_of) for t in audiences.topic_lists(session)]
    session.rollback()  # a read: end it, so SQLite's write lock is not held while the page renders
    return Preferences(message.channel, channels, topics)


def save_preferences(session: Session, message_id: int, *, channels: Mapping[str, bool], topic_ids: Collection[int],
                     now: datetime) -> Preferences:
    """Apply what the recipient chose on the page; commits. Only changes are written, each with its history.

    `channels` maps a channel to wanted (True) or not; channels left out are unchanged. `topic_ids` is the
    complete set of topics wanted. Raises NotFound for an unknown message.
    """
    message = _message(session, message_id)
    current = contact_preferences(session, message_id)
    source = f"preference page, campaign {message.campaign_id}"
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
