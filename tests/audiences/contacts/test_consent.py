from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from audiences import Consent, create_contact, set_consent
from core.errors import Invalid, NotFound


def test_consent_is_upserted_per_contact_and_channel(backend, session, clock):
    contact = create_contact(session, default_region="US", now=clock.now(), email="ann@example.com")
    later = clock.now() + timedelta(hours=1)

    set_consent(session, contact.id, "email", "subscribed", source="signup form", now=clock.now())
    set_consent(session, contact.id, "email", "unsubscribed", source="unsubscribe link", now=later)
    set_consent(session, contact.id, "sms", "complained", source="carrier", now=later)

    session.expire_all()
    rows = {c.channel: c for c in session.scalars(select(Consent).where(Consent.contact_id == contact.id))}
    assert set(rows) == {"email", "sms"}
    assert (rows["email"].status, rows["email"].source, rows["email"].changed_at) == (
        "unsubscribed",
        "unsubscribe link",
        later,
    )
    assert rows["sms"].status == "complained"


@pytest.mark.parametrize(
    ("channel", "status", "message"),
    [
        ("email", "maybe", 'consent status "maybe" is not known; known statuses: subscribed, unsubscribed'),
        ("fax", "subscribed", 'channel "fax" is not known'),
    ],
)
def test_unknown_status_or_channel_is_refused(session, clock, channel, status, message):
    contact = create_contact(session, default_region="US", now=clock.now(), email="ann@example.com")

    with pytest.raises(Invalid, match=message):
        set_consent(session, contact.id, channel, status, source="test", now=clock.now())


def test_consent_for_a_missing_contact_is_not_found(session, clock):
    with pytest.raises(NotFound, match="contact 999 does not exist"):
        set_consent(session, 999, "email", "unsubscribed", source="test", now=clock.now())
