"""The engine moves enrolments step by step in set-based passes, on SQLite and PostgreSQL, with days passing
on a FrozenClock: entry, send through the outbox, waits, wait-for-event branches, splits, updates, exits."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from audiences import record_events, tags_of
from campaigns.journeys import (
    SendSettings,
    activate_journey,
    advance_journey,
    advance_journeys,
    create_journey,
    journey_stats,
    latest_version,
    parse_definition,
    pause_journey,
    stop_journey,
    update_journey,
)
from campaigns.journeys.entry import enter_from_events
from campaigns.journeys.models import Enrolment, EnrolmentHistory, Journey
from campaigns.models import Message, Run
from tests.campaigns.factories import make_contact
from tests.campaigns.journeys.conftest import (
    email_template,
    enrolment_of,
    history_of,
    messages_of,
    sms_template,
)


def event(contact, name: str = "signed_up", n: int = 1, **properties):
    return {"id": f"{name}-{contact.id}-{n}", "name": name, "contact": {"email": contact.email},
            "properties": properties}


def test_a_contact_entering_on_an_event_is_sent_waits_and_finishes(backend, session, clock, settings):
    now = clock.now()
    ann = make_contact(session, now=now)
    sms, email = sms_template(session, now, "Order {{ event.properties.order_no }}"), email_template(session, now)
    journey = create_journey(session, name="Welcome", now=now, definition={
        "entry": [{"kind": "event", "event": "signed_up"}], "start": "hello",
        "steps": {"hello": {"kind": "send", "channel": "sms", "template_id": sms, "next": "pause"},
                  "pause": {"kind": "wait", "days": 3, "next": "tips"},
                  "tips": {"kind": "send", "channel": "email", "template_id": email, "next": None}}})
    activate_journey(session, journey.id, now=now)
    record_events(session, [event(ann, order_no="A-17")], now=now, region="US")

    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    enrolment = enrolment_of(session, journey.id, ann.id)
    assert (enrolment.step_key, enrolment.status) == ("pause", "waiting")
    [sent] = messages_of(session, ann.id)
    assert (sent.channel, sent.status, sent.journey_id, sent.journey_step) == ("sms", "pending", journey.id, "hello")
    assert sent.event_id == enrolment.event_id is not None

    advance_journeys(session, now=clock.advance(days=2, hours=23), settings=settings)
    assert enrolment_of(session, journey.id, ann.id).step_key == "pause"  # not three days yet
    advance_journeys(session, now=clock.advance(hours=1), settings=settings)
    enrolment = enrolment_of(session, journey.id, ann.id)
    assert (enrolment.status, enrolment.exit_reason, enrolment.step_key) == ("completed", "end", "tips")
    assert [m.journey_step for m in messages_of(session, ann.id)] == ["hello", "tips"]
    assert history_of(session, enrolment.id) == [(1, None, "hello", "entered"), (2, "hello", "pause", "sent"),
                                                 (3, "pause", "tips", "waited"), (4, "tips", None, "end")]
    stats = journey_stats(session, journey.id, ["hello", "pause", "tips"]).to_dict()
    assert stats["steps"]["pause"] == {"entered": 1, "now": 0, "waiting": 0, "passed": 1, "exited": {},
                                       "messages": 0, "cost": "0"}


def test_a_second_pass_and_a_second_event_do_not_double_anything(backend, session, clock, settings):
    now = clock.now()
    ann = make_contact(session, now=now)
    sms = sms_template(session, now)
    journey = create_journey(session, name="Once", now=now, definition={
        "entry": [{"kind": "event", "event": "signed_up"}], "start": "hello",
        "steps": {"hello": {"kind": "send", "channel": "sms", "template_id": sms, "next": None}}})
    activate_journey(session, journey.id, now=now)
    record_events(session, [event(ann), event(ann, n=2)], now=now, region="US")
    for _ in range(3):
        advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    record_events(session, [event(ann, n=3)], now=clock.now(), region="US")
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    assert len(messages_of(session, ann.id)) == 1  # re-entry "once": one enrolment ever
    assert session.scalar(select(func.count()).select_from(EnrolmentHistory)) == 2


def test_wait_for_event_takes_the_happened_branch_or_times_out(backend, session, clock, settings):
    now = clock.now()
    ann, bob = make_contact(session, now=now), make_contact(session, now=now)
    journey = create_journey(session, name="Ship", now=now, definition={
        "entry": [{"kind": "event", "event": "ordered"}], "start": "shipped_q",
        "steps": {"shipped_q": {"kind": "wait_for_event", "event": "shipped", "timeout": {"days": 2},
                                "happened": "thanks", "timed_out": "sorry"},
                  "thanks": {"kind": "update_contact", "add_tags": ["happy"], "next": None},
                  "sorry": {"kind": "update_contact", "add_tags": ["late"], "next": None}}})
    activate_journey(session, journey.id, now=now)
    record_events(session, [event(ann, "ordered"), event(bob, "ordered")], now=now, region="US")
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    record_events(session, [event(ann, "shipped")], now=clock.advance(hours=5), region="US")
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    assert enrolment_of(session, journey.id, ann.id).step_key == "thanks"
    assert enrolment_of(session, journey.id, bob.id).status == "waiting"
    advance_journeys(session, now=clock.advance(days=2), settings=settings)
    assert tags_of(session, [ann.id, bob.id]) == {ann.id: ["happy"], bob.id: ["late"]}
    assert [h[3] for h in history_of(session, enrolment_of(session, journey.id, bob.id).id)] == [
        "entered", "timed_out", "end"]


def test_segment_entry_condition_split_random_split_and_holdout(backend, session, clock, settings):
    now = clock.now()
    people = [make_contact(session, now=now, first_name="VIP" if n % 2 else "Ann") for n in range(40)]
    sms = sms_template(session, now)
    journey = create_journey(session, name="Split", now=now, definition={
        "entry": [{"kind": "segment",
                   "rules": {"all": [{"field": "first_name", "op": "in", "value": ["VIP", "Ann"]}]}}],
        "holdout_percent": 25, "start": "vip",
        "steps": {"vip": {"kind": "condition", "rules": {"all": [{"field": "first_name", "op": "eq", "value": "VIP"}]},
                          "yes": "coin", "no": None},
                  "coin": {"kind": "random_split", "branches": [{"weight": 50, "next": "text"}, {"weight": 50,
                                                                                              "next": None}]},
                  "text": {"kind": "send", "channel": "sms", "template_id": sms, "next": None}}})
    activate_journey(session, journey.id, now=now)
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    stats = journey_stats(session, journey.id, ["vip", "coin", "text"])
    assert stats.statuses == {"completed": 40}
    assert stats.steps["vip"].passed == 40 and stats.steps["coin"].entered == 20
    texted = stats.steps["text"].entered
    assert 0 < texted < 20
    assert 0 < stats.holdout.enrolled < 40
    # Everyone who reached the send got a message, except those in the entry holdout.
    treated_at_text = session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.journey_id == journey.id, Enrolment.step_key == "text", Enrolment.holdout.is_(False)))
    assert session.scalar(select(func.count()).select_from(Message)) == treated_at_text < texted
    assert session.scalar(select(func.count()).select_from(Run)) == 1
    advance_journeys(session, now=clock.advance(days=1), settings=settings)  # once: nobody enters again
    assert journey_stats(session, journey.id, ["vip"]).statuses == {"completed": 40}
    assert all(p.id for p in people)


def test_stopping_exits_contacts_in_flight_and_cancels_their_queued_messages(backend, session, clock, settings):
    now = clock.now()
    ann = make_contact(session, now=now)
    sms = sms_template(session, now)
    journey = create_journey(session, name="Stop", now=now, definition={
        "entry": [{"kind": "event", "event": "signed_up"}], "start": "hello",
        "steps": {"hello": {"kind": "send", "channel": "sms", "template_id": sms, "next": "later"},
                  "later": {"kind": "wait", "days": 1, "next": None}}})
    activate_journey(session, journey.id, now=now)
    record_events(session, [event(ann)], now=now, region="US")
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    assert stop_journey(session, journey.id, now=clock.now()) == 1
    enrolment = enrolment_of(session, journey.id, ann.id)
    assert (enrolment.status, enrolment.exit_reason) == ("exited", "journey_stopped")
    assert [m.status for m in messages_of(session, ann.id)] == ["cancelled"]


def test_wait_until_a_time_of_day_in_the_contacts_zone(backend, session, clock, settings):
    clock.set(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # a Monday; 20:00 in Shanghai, 07:00 in New York
    now = clock.now()
    ny = make_contact(session, now=now)
    ny.time_zone = "America/New_York"
    sh = make_contact(session, now=now)  # no zone: [app] default_timezone, Asia/Shanghai here
    session.commit()
    journey = create_journey(session, name="Morning", now=now, definition={
        "entry": [{"kind": "event", "event": "signed_up"}], "start": "morning",
        "steps": {"morning": {"kind": "wait", "at": "09:00", "weekdays": [1, 2, 3], "next": None}}})
    activate_journey(session, journey.id, now=now)
    record_events(session, [event(ny), event(sh)], now=now, region="US")
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    # New York: Tuesday 09:00 EST (Monday's 09:00 is only two hours off but Monday is not allowed).
    assert enrolment_of(session, journey.id, ny.id).due_at == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    assert enrolment_of(session, journey.id, sh.id).due_at == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("bad, field", [
    ({"entry": [{"kind": "event", "event": "x"}], "start": "a",
      "steps": {"a": {"kind": "wait_for_event", "event": "x", "timeout": {}, "happened": None}}},
     "definition.steps.a.timeout"),
    ({"entry": [{"kind": "event", "event": "x"}], "start": "a",
      "steps": {"a": {"kind": "exit"}, "b": {"kind": "exit"}}}, "definition.steps.b"),
    ({"entry": [{"kind": "event", "event": "x"}], "start": "a",
      "steps": {"a": {"kind": "update_contact", "add_tags": ["t"], "next": "b"},
                "b": {"kind": "update_contact", "add_tags": ["u"], "next": "a"}}}, "definition.steps.a"),
    ({"entry": [], "start": "a", "steps": {"a": {"kind": "exit"}}}, "definition.entry"),
])
def test_a_definition_the_engine_could_not_run_is_refused_with_its_path(session, clock, bad, field):
    from campaigns.journeys import JourneyInvalid

    with pytest.raises(JourneyInvalid) as refused:
        create_journey(session, name="Bad", definition=bad, now=clock.now())
    assert refused.value.field == field


def _one_send_journey(session, clock, contacts):
    now = clock.now()
    sms = sms_template(session, now)
    journey = create_journey(session, name="Race", now=now, definition={
        "entry": [{"kind": "event", "event": "signed_up"}], "start": "hello",
        "steps": {"hello": {"kind": "send", "channel": "sms", "template_id": sms, "next": "later"},
                  "later": {"kind": "wait", "days": 1, "next": None}}})
    activate_journey(session, journey.id, now=now)
    record_events(session, [event(c) for c in contacts], now=now, region="US")
    return journey


def test_a_pass_that_crashes_mid_batch_leaves_nothing_half_done(backend, session, clock, settings):
    people = [make_contact(session, now=clock.now()) for _ in range(5)]
    journey = _one_send_journey(session, clock, people)
    broken = SendSettings(cap=None, defaults=settings.defaults, channels={})  # the send step fails after marking
    with pytest.raises(KeyError):
        advance_journeys(session, now=clock.advance(minutes=1), settings=broken)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Message)) == 0
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    assert session.scalar(select(func.count()).select_from(Message)) == 5
    assert journey_stats(session, journey.id, ["hello"]).steps["hello"].passed == 5


def test_two_schedulers_advancing_at_once_send_each_step_once(backend, database, session, clock, settings):
    people = [make_contact(session, now=clock.now()) for _ in range(60)]
    _one_send_journey(session, clock, people)
    clock.advance(minutes=1)
    journey_id = session.scalar(select(Journey.id))
    session.commit()  # on SQLite every open transaction holds the write lock (core/db.py)
    with database.session() as first:  # everyone enters first, so both passes race on the send step
        version = latest_version(first, journey_id)
        enter_from_events(first, first.get(Journey, journey_id), version, parse_definition(version.definition),
                          now=clock.now())
        first.commit()
    errors: list[BaseException] = []

    def one_pass() -> None:
        try:
            with database.session() as own:
                advance_journey(own, journey_id, now=clock.now(), settings=settings, batch_size=7)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    session.commit()
    per_contact = session.execute(select(Message.contact_id, func.count()).group_by(Message.contact_id)).all()
    assert len(per_contact) == 60 and {count for _, count in per_contact} == {1}
    assert session.scalar(select(func.count()).select_from(EnrolmentHistory).where(
        EnrolmentHistory.from_step == "hello")) == 60


def test_contacts_in_flight_finish_on_their_version_and_new_ones_take_the_published_one(backend, session, clock,
                                                                                      settings):
    now = clock.now()
    ann, bob = make_contact(session, now=now), make_contact(session, now=now)
    old = {"entry": [{"kind": "event", "event": "signed_up"}], "start": "pause",
           "steps": {"pause": {"kind": "wait", "days": 1, "next": "tag"},
                     "tag": {"kind": "update_contact", "add_tags": ["v1"], "next": None}}}
    journey = create_journey(session, name="Versions", definition=old, now=now)
    activate_journey(session, journey.id, now=now)
    record_events(session, [event(ann)], now=now, region="US")
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    new = {**old, "steps": {"pause": {"kind": "wait", "days": 1, "next": "tag"},
                            "tag": {"kind": "update_contact", "add_tags": ["v2"], "next": None}}}
    assert update_journey(session, journey.id, definition=new, now=clock.now()).number == 2
    record_events(session, [event(bob)], now=clock.now(), region="US")
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    advance_journeys(session, now=clock.advance(days=1), settings=settings)
    assert tags_of(session, [ann.id, bob.id]) == {ann.id: ["v1"], bob.id: ["v2"]}


def test_a_paused_journey_neither_enrols_nor_moves_until_resumed(backend, session, clock, settings):
    now = clock.now()
    ann, bob = make_contact(session, now=now), make_contact(session, now=now)
    journey = create_journey(session, name="Pause", now=now, definition={
        "entry": [{"kind": "event", "event": "signed_up"}], "start": "pause",
        "steps": {"pause": {"kind": "wait", "hours": 1, "next": None}}})
    activate_journey(session, journey.id, now=now)
    record_events(session, [event(ann)], now=now, region="US")
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    pause_journey(session, journey.id, now=clock.now())
    record_events(session, [event(bob)], now=clock.now(), region="US")
    advance_journeys(session, now=clock.advance(hours=2), settings=settings)
    assert enrolment_of(session, journey.id, ann.id).status == "waiting"
    assert enrolment_of(session, journey.id, bob.id) is None
    activate_journey(session, journey.id, now=clock.now())  # resumes
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    assert enrolment_of(session, journey.id, ann.id).status == "completed"
    assert enrolment_of(session, journey.id, bob.id).status == "waiting"  # the event waited for the journey
