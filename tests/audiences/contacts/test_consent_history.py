"""Consent history: every change is kept with its time, source and the user who made it."""

from __future__ import annotations

from datetime import timedelta

from audiences import consent_history, create_contact, current_consents, delete_contact, set_consent
from core.users import create_user


def test_every_consent_change_is_kept_newest_first(backend, session, clock):
    contact = create_contact(session, default_region="US", now=clock.now(), email="ann@example.com")
    user = create_user(session, email="mia@example.com", password="secret-pass-1")
    t0 = clock.now()
    set_consent(session, contact.id, "email", "subscribed", source="signup form", now=t0)
    set_consent(session, contact_id=contact.id, channel="email", status="unsubscribed", source="unsubscribe link",
                now=t0 + timedelta(days=1))
    set_consent(session, contact.id, "email", "subscribed", source="by hand", now=t0 + timedelta(days=2),
                changed_by=user.id)
    set_consent(session, contact.id, "sms", "complained", source="carrier", now=t0 + timedelta(days=3))

    history = consent_history(session, contact.id)
    assert [(h.channel, h.status, h.source, h.changed_by) for h in history] == [
        ("sms", "complained", "carrier", None),
        ("email", "subscribed", "by hand", user.id),
        ("email", "unsubscribed", "unsubscribe link", None),
        ("email", "subscribed", "signup form", None),
    ]
    assert history[-1].changed_at == t0
    assert {c: s.status for c, s in current_consents(session, contact.id).items()} == {
        "email": "subscribed", "sms": "complained"}


def test_history_goes_with_the_contact(backend, session, clock):
    contact = create_contact(session, default_region="US", now=clock.now(), email="ann@example.com")
    set_consent(session, contact.id, "email", "bounced", source="smtp", now=clock.now())
    delete_contact(session, contact.id)
    assert consent_history(session, contact.id) == []
