"""The reconciler as a scheduled housekeeping job (issue 12, item 5): fenced like the other jobs, it asks
Twilio (the fake) about unknown messages and settles them, once per firing."""

from __future__ import annotations

from datetime import UTC, datetime

from campaigns import release_expired_leases
from campaigns.delivery.outbox import claim_due_messages
from channels import open_channel
from core.clock import FrozenClock
from scheduler import jobs
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign
from tests.conftest import make_config
from tests.fakes.fake_twilio import FakeTwilio
from tests.scheduler.test_fence import run_in_scheduler

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def test_the_reconcile_job_settles_unknown_sms_once_per_firing(backend, tmp_path, db_url, database, session):
    clock = FrozenClock(T0)
    for phone in ("+12045550001", "+12045550002", "+12045550003"):
        make_contact(session, now=clock.now(), phone=phone)
    _, run = start_campaign(session, now=clock.now(), guarantee="at_most_once")
    with database.session() as s:  # a sender dies holding the first message
        claim_due_messages(s, now=clock.now(), limit=1, lease_seconds=60)
        s.commit()
    clock.advance(seconds=61)
    release_expired_leases(session, now=clock.now())
    with FakeTwilio() as fake:
        fake.lose_answers(1, "drop")  # the second is kept by Twilio, its answer lost
        channel = open_channel(fake.channel_url())
        try:
            dispatcher = make_dispatcher(database, {"sms": channel}, clock)
            for _ in range(5):
                dispatcher.dispatch_due()
                clock.advance(seconds=3600)
        finally:
            channel.close()
        assert sorted(m.status for m in messages_of(session, run.id)) == ["sent", "unknown", "unknown"]

        config = make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL=fake.channel_url())
        jobs.bind(jobs.JobContext(config, database, clock))
        try:
            fire_time = datetime.now(UTC).replace(microsecond=0)
            first = run_in_scheduler("scheduler.jobs:reconcile_unknown_messages",
                                     job_id="housekeeping.reconcile_unknown", fire_time=fire_time)
            again = run_in_scheduler("scheduler.jobs:reconcile_unknown_messages",
                                     job_id="housekeeping.reconcile_unknown", fire_time=fire_time)
        finally:
            jobs.bind(None)
        assert first.retval.startswith("1 found at the provider (now sent), 1 never received (failed)")
        assert again.retval == jobs.ALREADY_RUN
        rows = messages_of(session, run.id)
        assert sorted((m.status, m.error_code) for m in rows) == [("failed", "not_received"), ("sent", None),
                                                                  ("sent", None)]
        assert {m.provider_id for m in rows if m.status == "sent"} == {m["sid"] for m in fake.messages}
        assert len(fake.messages) == 2  # nothing was sent while settling


def test_rows_unknown_for_less_than_the_settle_time_are_not_asked_about_yet(backend, tmp_path, db_url, database,
                                                                            session):
    clock = FrozenClock(T0)
    make_contact(session, now=clock.now(), phone="+12045550009")
    _, run = start_campaign(session, now=clock.now(), guarantee="at_most_once")
    with database.session() as s:
        claim_due_messages(s, now=clock.now(), limit=1, lease_seconds=60)
        s.commit()
    clock.advance(seconds=61)
    release_expired_leases(session, now=clock.now())
    with FakeTwilio() as fake:
        jobs.bind(jobs.JobContext(make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL=fake.channel_url()),
                                  database, clock))
        try:
            assert jobs.reconcile_unknown_messages().startswith("0 found")  # by hand: not fenced by a firing
            clock.advance(minutes=10)
            assert "1 never received (failed)" in jobs.reconcile_unknown_messages()
        finally:
            jobs.bind(None)
    assert [m.status for m in messages_of(session, run.id)] == ["failed"]
