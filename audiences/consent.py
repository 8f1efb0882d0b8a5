"""Consent: one current status per contact and channel. No row means subscribed (opt-out model)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from audiences.contacts import get_contact
from audiences.models import CONSENT_STATUSES, Consent
from audiences.queries import check_channel
from core.errors import Invalid

SOURCE_LIMIT = 100


def set_consent(session: Session, contact_id: int, channel: str, status: str, *, source: str, now: datetime) -> None:
    """Record a contact's consent on a channel ("email" or "sms"), replacing the previous one. Commits.

    `status` is one of subscribed, unsubscribed, bounced, complained; `source` says where it came from
    (e.g. "unsubscribe link", "import", "twilio STOP"). Raises Invalid for an unknown status or channel,
    NotFound for an unknown contact.
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
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Consent).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[Consent.contact_id, Consent.channel],
        set_={
            "status": statement.excluded.status,
            "source": statement.excluded.source,
            "changed_at": statement.excluded.changed_at,
        },
    )
    session.execute(statement)
    session.commit()
