"""Herald's own happenings, read where they are recorded, move a wait-for-event step and end an enrolment:
a click on the journey's message, an SMS reply, an unsubscribe; and leaving when no longer in the segment."""

from __future__ import annotations

import pytest

from audiences import set_consent
from campaigns.journeys import activate_journey, advance_journeys, create_journey
from campaigns.models import MessageEvent
from campaigns.responses.inbox_models import Reply
from tests.campaigns.factories import make_contact
from tests.campaigns.journeys.conftest import enrolment_of, messages_of, sms_template


def _journey(session, now, event: str, **extra):
    sms = sms_template(session, now)
    journey = create_journey(session, name=f"Wait for {event}", now=now, definition={
        "entry": [{"kind": "segment", "rules": {"all": [{"field": "first_name", "op": "eq", "value": "Ann"}]}}],
        "start": "hello", **extra,
        "steps": {"hello": {"kind": "send", "channel": "sms", "template_id": sms, "next": "wait"},
                  "wait": {"kind": "wait_for_event", "event": event, "timeout": {"days": 3},
                           "happened": "yes", "timed_out": None},
                  "yes": {"kind": "exit"}}})
    activate_journey(session, journey.id, now=now)
    return journey


@pytest.mark.parametrize("event", ["clicked", "replied", "unsubscribed"])
def test_each_happening_takes_the_happened_branch(backend, session, clock, settings, event):
    now = clock.now()
    ann = make_contact(session, now=now)
    journey = _journey(session, now, event)
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    [message] = messages_of(session, ann.id)
    assert enrolment_of(session, journey.id, ann.id).status == "waiting"
    at = clock.advance(hours=1)
    if event == "clicked":
        session.add(MessageEvent(message_id=message.id, type="clicked", occurred_at=at, detail={"machine": False}))
    elif event == "replied":
        session.add(Reply(provider="twilio", provider_id="SM1", contact_id=ann.id, message_id=message.id,
                          from_number=ann.phone, body="yes", received_at=at))
    else:
        set_consent(session, ann.id, "sms", "unsubscribed", source="test", now=at)
    session.commit()
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    enrolment = enrolment_of(session, journey.id, ann.id)
    assert (enrolment.status, enrolment.exit_reason, enrolment.step_key) == ("completed", "exit_step", "yes")


def test_a_machine_click_is_not_a_click(backend, session, clock, settings):
    now = clock.now()
    ann = make_contact(session, now=now)
    journey = _journey(session, now, "clicked")
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    [message] = messages_of(session, ann.id)
    session.add(MessageEvent(message_id=message.id, type="clicked", occurred_at=clock.advance(hours=1),
                             detail={"machine": True}))
    session.commit()
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    assert enrolment_of(session, journey.id, ann.id).status == "waiting"


def test_unsubscribing_and_leaving_the_segment_exit_with_their_reason(backend, session, clock, settings):
    now = clock.now()
    ann, amy = make_contact(session, now=now), make_contact(session, now=now)
    journey = _journey(session, now, "order_shipped", exit={
        "events": ["unsubscribed"],
        "stay_while": {"all": [{"field": "last_name", "op": "eq", "value": "Lee"}]}})
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    set_consent(session, ann.id, "email", "unsubscribed", source="test", now=clock.advance(hours=1))
    amy.last_name = "Wang"
    session.commit()
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    assert (enrolment_of(session, journey.id, ann.id).status, enrolment_of(session, journey.id, ann.id).exit_reason) \
        == ("exited", "unsubscribed")
    assert enrolment_of(session, journey.id, amy.id).exit_reason == "left_segment"
