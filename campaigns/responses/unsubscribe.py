"""Unsubscribe from a message's link or header: the recipient opts out of that message's channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from audiences import set_consent
from campaigns.models import Message, MessageEvent
from campaigns.responses.tracking import is_test_message
from core.errors import NotFound


def unsubscribe_recipient(session: Session, message_id: int, *, now: datetime) -> Message:
    """Record that the recipient of `message_id` unsubscribed from its channel, and commit.

    Idempotent: a second click records nothing new but still succeeds, because mail clients and
    link scanners may post the one-click URL more than once. Raises NotFound for an unknown message.
    """
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(f"message {message_id} does not exist (it may have been deleted with its campaign)")
    if is_test_message(session, message_id):  # the marketer tried the link of a test: the contact stays subscribed
        return message
    already = session.scalar(select(MessageEvent.id).where(MessageEvent.message_id == message_id,
                                                           MessageEvent.type == "unsubscribed").limit(1))
    # set_consent commits: the opt-out itself lands even if recording the event below were to fail.
    set_consent(session, message.contact_id, message.channel, "unsubscribed",
                source=f"unsubscribe link, campaign {message.campaign_id}", now=now)
    if not already:
        session.add(MessageEvent(message_id=message_id, type="unsubscribed", occurred_at=now,
                                 detail={"campaign_id": message.campaign_id}))
    session.commit()
    return message
