"""Canned replies: ready answers admins keep for the questions that come back, picked when answering.

Plain text, sent as written (a person reads it before sending and may change it in the answer box).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.responses.answers import ANSWER_LIMIT
from campaigns.responses.inbox_models import CannedReply
from core.errors import Invalid, NotFound

TITLE_LIMIT = 100


def list_canned_replies(session: Session) -> list[CannedReply]:
    """Every canned reply, by title."""
    return list(session.scalars(select(CannedReply).order_by(CannedReply.title)))


def get_canned_reply(session: Session, canned_id: int) -> CannedReply:
    canned = session.get(CannedReply, canned_id)
    if canned is None:
        raise NotFound(f"canned reply {canned_id} does not exist; see the list of canned replies")
    return canned


def save_canned_reply(session: Session, *, title: str, body: str, now: datetime,
                      canned_id: int | None = None) -> CannedReply:
    """Create a canned reply, or change the one `canned_id` names; commits. Raises Invalid naming the field
    (empty, too long, a title already taken) or NotFound."""
    title, body = title.strip(), body.strip()
    if not title:
        raise Invalid("Give the canned reply a short title staff will recognise, e.g. Opening hours.", field="title")
    if len(title) > TITLE_LIMIT:
        raise Invalid(f"the title is {len(title)} characters long; use at most {TITLE_LIMIT}", field="title")
    if not body:
        raise Invalid("Write the text of the canned reply.", field="body")
    if len(body) > ANSWER_LIMIT:
        raise Invalid(f"the text is {len(body):,} characters long; an SMS answer takes at most {ANSWER_LIMIT:,}",
                      field="body")
    taken = session.scalar(select(CannedReply.id).where(CannedReply.title == title))
    if taken is not None and taken != canned_id:
        raise Invalid(f'there is already a canned reply called "{title}"; pick another title or change that one',
                      field="title")
    canned = get_canned_reply(session, canned_id) if canned_id is not None else CannedReply(created_at=now)
    canned.title, canned.body, canned.updated_at = title, body, now
    session.add(canned)
    session.commit()
    return canned


def delete_canned_reply(session: Session, canned_id: int) -> None:
    """Delete a canned reply; answers already sent with it are unchanged. Commits; NotFound if unknown."""
    session.delete(get_canned_reply(session, canned_id))
    session.commit()
