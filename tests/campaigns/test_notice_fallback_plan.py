"""An event notice chooses its fallback before sending (issue 15, "Make waiting and sending legible"): the other
channel's template and after how many minutes, stored on the notice; the scheduler's fenced job re-sends it at
that time to everyone not delivered, exactly once — however many schedulers run the job, and whatever a
click on the campaign page does meanwhile."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from campaigns import (
    create_event_notice,
    create_template,
    due_planned_fallbacks,
    fallback_of,
    planned_fallback_at,
    resend_undelivered,
    send_campaign,
    send_planned_fallback,
)
from campaigns.models import Campaign
from core.errors import Conflict, Invalid
from scheduler import jobs
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher, messages_of, refuse
from tests.conftest import make_config


@pytest.fixture
def sms(session, clock):
    return create_template(session, name="Gate", channel="sms", body="Gate changed to B7", now=clock.now())


@pytest.fixture
def email(session, clock):
    return create_template(session, name="Gate mail", channel="email", subject="Gate change",
                           html="<p>Your gate is now B7.</p>", now=clock.now())


def _sent_notice(session, database, clock, sms, email, *, minutes=15):
    """A notice with a planned email fallback, sent by SMS: one delivered, one refused, one unconfirmed."""
    delivered, refused, unconfirmed = (make_contact(session, now=clock.now()) for _ in range(3))
    notice = create_event_notice(session, name="Venue moved", channel="sms", template_id=sms.id,
                                 fallback_template_id=email.id, fallback_after_minutes=minutes, now=clock.now())
    send_campaign(session, notice.id, now=clock.now(), channel_description="scripted://test", dry_run=False)
    make_dispatcher(database, ScriptedChannel({refused.phone: refuse(permanent=True)}), clock).dispatch_due()
    from campaigns.queries import move_message_status

    row = next(m for m in messages_of(session) if m.contact_id == delivered.id)
    move_message_status(session, message_id=row.id, status="delivered", values={})
    session.commit()
    return notice, (delivered, refused, unconfirmed)


def test_the_plan_is_checked_before_anything_is_written(session, clock, sms, email):
    with pytest.raises(Invalid, match="pick an email template") as wrong:
        create_event_notice(session, name="N", channel="sms", template_id=sms.id, fallback_template_id=sms.id,
                            now=clock.now())
    assert wrong.value.field == "fallback_template_id"
    with pytest.raises(Invalid, match="use 0 to 10080") as late:
        create_event_notice(session, name="N", channel="sms", template_id=sms.id, fallback_template_id=email.id,
                            fallback_after_minutes=20_000, now=clock.now())
    assert late.value.field == "fallback_after_minutes"
    with pytest.raises(Invalid, match="without its template"):
        create_event_notice(session, name="N", channel="sms", template_id=sms.id, fallback_after_minutes=5,
                            now=clock.now())
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0
    planned = create_event_notice(session, name="N", channel="sms", template_id=sms.id,
                                  fallback_template_id=email.id, now=clock.now())
    assert (planned.fallback_template_id, planned.fallback_after_minutes) == (email.id, 10)  # the default wait
    assert planned_fallback_at(session, planned) is None  # not sent yet: no time to fire at


def test_the_planned_fallback_goes_at_its_time_to_everyone_not_delivered_once(backend, session, database, clock, sms,
                                                                            email):
    start = clock.now()
    notice, (delivered, refused, unconfirmed) = _sent_notice(session, database, clock, sms, email)
    assert planned_fallback_at(session, notice) == start + timedelta(minutes=15)
    clock.advance(minutes=14)
    assert due_planned_fallbacks(session, now=clock.now()) == []
    assert send_planned_fallback(session, notice.id, now=clock.now(), channel_description="scripted://test",
                                 dry_run=False) is None
    clock.advance(minutes=1)
    assert due_planned_fallbacks(session, now=clock.now()) == [notice.id]
    made = send_planned_fallback(session, notice.id, now=clock.now(), channel_description="scripted://test",
                                 dry_run=False)
    assert made is not None and made.campaign.fallback_of_id == notice.id
    resent = {m.contact_id: m.channel for m in messages_of(session, made.run.id)}
    assert resent == {refused.id: "email", unconfirmed.id: "email"}  # the delivered one is left alone
    assert send_planned_fallback(session, notice.id, now=clock.now(), channel_description="scripted://test",
                                 dry_run=False) is None
    assert due_planned_fallbacks(session, now=clock.now() + timedelta(hours=1)) == []
    assert planned_fallback_at(session, notice) is None  # done: the page links the re-send instead
    with pytest.raises(Conflict, match="already re-sent"):  # and a click afterwards is refused, as before
        resend_undelivered(session, notice.id, template_id=email.id, after_minutes=0, now=clock.now(),
                           channel_description="scripted://test", dry_run=False)


def test_a_fallback_sent_by_hand_first_is_not_sent_again_by_the_scheduler(session, database, clock, sms, email):
    notice, _people = _sent_notice(session, database, clock, sms, email)
    clock.advance(minutes=2)
    by_hand = resend_undelivered(session, notice.id, template_id=email.id, after_minutes=0, now=clock.now(),
                                 channel_description="scripted://test", dry_run=False)
    clock.advance(minutes=20)
    assert due_planned_fallbacks(session, now=clock.now()) == []
    assert send_planned_fallback(session, notice.id, now=clock.now(), channel_description="scripted://test",
                                 dry_run=False) is None
    assert fallback_of(session, notice.id).id == by_hand.campaign.id


def test_two_schedulers_running_the_job_at_once_make_one_fallback(backend, tmp_path, db_url, session, database, clock,
                                                                 sms, email):
    notice, _people = _sent_notice(session, database, clock, sms, email, minutes=0)
    clock.advance(seconds=30)
    session.rollback()
    jobs.bind(jobs.JobContext(make_config(tmp_path, db_url), database, clock))
    try:
        start = threading.Barrier(2)
        results: list[int] = []

        def scheduler() -> None:
            start.wait()
            results.append(jobs.send_planned_fallbacks())

        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(results) == [0, 1]
        assert jobs.send_planned_fallbacks() == 0  # the next run of the job finds nothing left to do
    finally:
        jobs.bind(None)
    fallbacks = session.scalars(select(Campaign).where(Campaign.fallback_of_id == notice.id)).all()
    assert len(fallbacks) == 1
    assert len(messages_of(session, None)) == 3 + 2  # the notice's three rows, and the re-send's two
