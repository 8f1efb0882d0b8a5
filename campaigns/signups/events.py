"""A submission and its confirmation as events, for whatever starts from them.

A sign-up is an event a journey can start from (event registration → confirmation → reminder). Journeys
are their own sub-package (campaigns/journeys/, with its contact_events table); they subscribe here with
`on_signup_event` at import, as campaigns/segment_conditions.py registers its conditions with audiences,
and signups never imports them. `form_submitted` and `signup_confirmed` are the two calls every submission
and confirmation goes through: each logs the event and hands it to the listeners inside the transaction
that recorded it, so a listener's rows commit (or roll back) with the submission itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from campaigns.signups.models import SignupForm, SignupSubmission

log = logging.getLogger("herald.signups")


@dataclass(frozen=True)
class SignupEvent:
    """`kind` is "form_submitted" or "signup_confirmed"; `how` says how it was confirmed (link, code, reply)."""

    kind: str
    form_id: int
    form_slug: str
    submission_id: int
    contact_id: int
    channel: str
    new_contact: bool
    at: datetime
    how: str | None = None


Listener = Callable[[Session, SignupEvent], None]
_listeners: list[Listener] = []


def on_signup_event(listener: Listener) -> Listener:
    """Call `listener(session, event)` for every submission and confirmation from now on (usable as a
    decorator). Registering the same function twice keeps one."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def remove_signup_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def form_submitted(session: Session, form: SignupForm, submission: SignupSubmission, *, now: datetime) -> SignupEvent:
    """Record that `submission` came in through `form`: logged and handed to the listeners. Does not commit."""
    return _emit(session, "form_submitted", form, submission, now=now)


def signup_confirmed(session: Session, form: SignupForm, submission: SignupSubmission, *, now: datetime) -> SignupEvent:
    """Record that the address's owner confirmed `submission`. Does not commit."""
    return _emit(session, "signup_confirmed", form, submission, now=now, how=submission.confirmed_by)


def _emit(session: Session, kind: str, form: SignupForm, submission: SignupSubmission, *, now: datetime,
          how: str | None = None) -> SignupEvent:
    event = SignupEvent(kind=kind, form_id=form.id, form_slug=form.slug, submission_id=submission.id,
                        contact_id=submission.contact_id, channel=submission.channel,
                        new_contact=submission.new_contact, at=now, how=how)
    log.info("event=%s form_id=%d submission_id=%d contact_id=%d channel=%s how=%s", kind, form.id, submission.id,
             submission.contact_id, submission.channel, how)
    for listener in list(_listeners):
        listener(session, event)
    return event
