"""Consent: one current status per contact and channel (no row means subscribed: opt-out model), and the
history of every change (consent_changes), so "why may I not text her?" has a dated answer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from audiences.contacts import get_contact
from audiences.models import CONSENT_STATUSES, Consent, ConsentChange
from audiences.queries import check_channel
from core.errors import Invalid

SOURCE_LIMIT = 100


def set_consent(session: Session, contact_id: int, channel: str, status: str, *, source: str, now: datetime,
                changed_by: int | None = None) -> None:
    """Record a contact's consent on a channel ("email" or "sms"), replacing the current one and adding
    an entry to its history. Commits.

    `status` is one of subscribed, unsubscribed, bounced, complained; `source` says where it came from
    (e.g. "unsubscribe link", "import", "twilio STOP"); `changed_by` is the Herald user who changed it by
    hand, if any. Raises Invalid for an unknown status or channel, NotFound for an unknown contact.
    """
    check_channel(channel)
    if status not in CONSENT_STATUSES:
        raise Invalid(
            f'consent status "{status}" is not known; known statuses: {", ".join(CONSENT_STATUSES)}', field="status"
        )
    get_contact(session, contact_id)
    values = {
        "contact_id": contact_id,
        "channel": channel,
        "status": status,
        "source": source[:SOURCE_LIMIT],
        "changed_at": now,
    }
    # One upsert statement rather than read-then-write: two webhooks for the same contact (an unsubscribe
    # click and a complaint) can arrive together, and the second must not fail on the unique constraint.
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = upsert(Consent).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[Consent.contact_id, Consent.channel],
        set_={
            "status": statement.excluded.status,
            "source": statement.excluded.source,
            "changed_at": statement.excluded.changed_at,
        },
    )
    session.execute(statement)
    # Every call is kept, even one repeating the current status: a second bounce is news too.
    session.execute(insert(ConsentChange).values(**values, changed_by=changed_by))
    session.commit()


def consent_history(session: Session, contact_id: int, *, limit: int = 200) -> list[ConsentChange]:
    """A contact's consent changes on every channel, newest first, in one query."""
    query = (select(ConsentChange).where(ConsentChange.contact_id == contact_id)
             .order_by(ConsentChange.changed_at.desc(), ConsentChange.id.desc()).limit(limit))
    return list(session.scalars(query))


def current_consents(session: Session, contact_id: int) -> dict[str, Consent]:
    """{channel: Consent} for the channels with a recorded status; a missing channel means subscribed."""
    return {c.channel: c for c in session.scalars(select(Consent).where(Consent.contact_id == contact_id))}
