"""The journeys job: registered every minute, fenced, and what it queues goes out through the outbox with the
entry event's properties in the template."""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

import campaigns
from audiences import record_events
from campaigns.journeys import activate_journey, create_journey
from core.clock import FrozenClock
from scheduler import jobs
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher, messages_of
from tests.conftest import make_config

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def test_the_job_runs_every_minute_and_registering_again_replaces_it():
    scheduler = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, timezone="UTC")
    scheduler.start(paused=True)
    try:
        jobs.add_journey_job(scheduler)
        jobs.add_journey_job(scheduler)
        [job] = scheduler.get_jobs()
    finally:
        scheduler.shutdown(wait=False)
    assert job.id == "journeys.advance" and job.func_ref == "scheduler.jobs:advance_journeys"
    assert job.trigger.interval.total_seconds() == 60


def test_a_journey_message_is_sent_with_the_events_properties(backend, tmp_path, db_url, database):
    clock = FrozenClock(T0)
    config = make_config(tmp_path, db_url)
    with database.session() as session:
        ann = make_contact(session, now=T0, first_name="Ann")
        template = campaigns.create_template(
            session, name="Shipped", channel="sms", now=T0,
            body="{{ contact.first_name }}, order {{ event.properties.order_no }} is on its way")
        journey = create_journey(session, name="Shipping", now=T0, definition={
            "entry": [{"kind": "event", "event": "order_shipped"}], "re_entry": {"policy": "every_time"},
            "start": "tell", "steps": {"tell": {"kind": "send", "channel": "sms", "template_id": template.id}}})
        activate_journey(session, journey.id, now=T0)
        report = record_events(session, [{"id": "e-1", "name": "order_shipped", "contact": {"email": ann.email},
                                          "properties": {"order_no": "SO-881"}}], now=T0, region="US")
        assert report.count("recorded") == 1
    woken: list[int] = []
    jobs.bind(jobs.JobContext(config, database, clock, wake=lambda: woken.append(1)))
    try:
        clock.advance(minutes=1)
        assert jobs.advance_journeys() == "entered 1, moved 1" and woken == [1]
    finally:
        jobs.bind(None)
    channel = ScriptedChannel()
    make_dispatcher(database, channel, clock).dispatch_due()
    assert [m.body for m in channel.sent] == ["Ann, order SO-881 is on its way"]
    with database.session() as session:
        [message] = messages_of(session)
        assert (message.status, message.journey_id, message.journey_step) == ("sent", journey.id, "tell")
