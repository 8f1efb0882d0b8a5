"""Consent: one current status per contact and channel (no row means subscribed: opt-out model), and the
history of every change (consent_changes), so "why may I not text her?" has a dated answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from audiences.contacts.records import get_contact
from audiences.models import CONSENT_STATUSES, Consent, ConsentChange
from audiences.queries import check_channel
from core.errors import HeraldError, Invalid
from core.users import User

SOURCE_LIMIT = 100
# The sources of a withdrawal that only the channel itself may undo (see `undone_only_by_channel`).
KEYWORD_SOURCE = "sms-reply"  # the contact texted STOP (or START) — campaigns/responses/replies.py
# the provider refused: the recipient opted out with it — campaigns/responses/optouts.py
PROVIDER_SOURCE = "provider code"


class ConsentLocked(HeraldError):
    """A subscription that only the channel itself (START from that phone) or an admin may restore."""

    http_status = 403


def undone_only_by_channel(consent: Consent | None) -> bool:
    """Whether this consent may be set back to subscribed only by the channel itself or by an admin.

    A STOP texted from the phone (or a provider's "recipient opted out") was said on that channel, and
    carriers hold the sender to it until START comes from the same phone; bounced and complained are
    facts about the address. None of them may be undone by a link in another message or by a marketer.
    """
    if consent is None:
        return False
    if consent.status in ("bounced", "complained"):
        return True
    return consent.status == "unsubscribed" and (
        consent.source == KEYWORD_SOURCE or consent.source.startswith(PROVIDER_SOURCE))


def set_consent_by_hand(session: Session, contact_id: int, channel: str, status: str, *, user: User, source: str,
                        now: datetime) -> None:
    """`set_consent` for a Herald user (page or API), recorded with who did it. Commits.

    Raises ConsentLocked when a non-admin tries to subscribe a channel the contact stopped by STOP, or
    that bounced or complained (see `undone_only_by_channel`); otherwise as `set_consent`.
    """
    check_channel(channel)
    current = current_consents(session, contact_id).get(channel)
    if status == "subscribed" and undone_only_by_channel(current) and user.role != "admin":
        assert current is not None  # for the type checker: undone_only_by_channel(None) is False
        raise ConsentLocked(
            f'contact {contact_id} is {current.status} on {channel} (source: {current.source}); only the contact '
            "(texting START from that phone, for SMS) or an admin can subscribe it again", field="status")
    set_consent(session, contact_id, channel, status, source=source, now=now, changed_by=user.id)


def set_consent(session: Session, contact_id: int, channel: str, status: str, *, source: str, now: datetime,
                changed_by: int | None = None, evidence: dict[str, Any] | None = None) -> None:
    """Record a contact's consent on a channel ("email" or "sms"), replacing the current one and adding
    an entry to its history. Commits.

    `status` is one of subscribed, unsubscribed, bounced, complained; `source` says where it came from
    (e.g. "unsubscribe link", "import", "twilio STOP"); `changed_by` is the Herald user who changed it by
    hand, if any; `evidence` what proves it, kept with the change (a sign-up form's consent text, time,
    IP and confirmation). Raises Invalid for an unknown status or channel, NotFound for an unknown contact.
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
    session.execute(insert(ConsentChange).values(**values, changed_by=changed_by, evidence=evidence))
    session.commit()


def consent_history(session: Session, contact_id: int, *, limit: int = 200) -> list[ConsentChange]:
    """A contact's consent changes on every channel, newest first, in one query."""
    query = (select(ConsentChange).where(ConsentChange.contact_id == contact_id)
             .order_by(ConsentChange.changed_at.desc(), ConsentChange.id.desc()).limit(limit))
    return list(session.scalars(query))


def current_consents(session: Session, contact_id: int) -> dict[str, Consent]:
    """{channel: Consent} for the channels with a recorded status; a missing channel means subscribed."""
    return {c.channel: c for c in session.scalars(select(Consent).where(Consent.contact_id == contact_id))}
