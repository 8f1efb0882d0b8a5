"""The nightly RFM/dormant job: registered once at 03:17 UTC, and run through the bound context's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from audiences import Contact
from campaigns.models import Conversion
from core.clock import FrozenClock
from scheduler import jobs
from tests.conftest import make_config

NOW = datetime(2026, 6, 1, 3, 17, tzinfo=UTC)


def test_the_job_is_a_nightly_cron_that_survives_a_late_start():
    scheduler = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, timezone="UTC")
    scheduler.start(paused=True)
    try:
        jobs.add_contact_scoring(scheduler)
        jobs.add_contact_scoring(scheduler)  # registering again (every start) replaces, never doubles
        [job] = scheduler.get_jobs()
    finally:
        scheduler.shutdown(wait=False)
    assert job.id == "housekeeping.score_contacts" and job.func_ref == "scheduler.jobs:score_contacts"
    assert job.trigger.get_next_fire_time(None, NOW - timedelta(hours=5)) == NOW
    assert job.misfire_grace_time == 12 * 3600


def test_the_job_scores_and_marks_dormant_with_the_injected_clock(tmp_path, db_url, database, session):
    config = make_config(tmp_path, db_url, HERALD_RFM_DORMANT_DAYS="30")
    old = NOW - timedelta(days=90)
    buyer = Contact(email="buyer@example.com", created_at=old, updated_at=old, lifecycle_stage="customer")
    quiet = Contact(email="quiet@example.com", created_at=old, updated_at=old, lifecycle_stage="customer")
    session.add_all([buyer, quiet])
    session.flush()
    session.add(Conversion(contact_id=buyer.id, order_id="1", amount=Decimal("9"), currency="USD",
                           amount_base=Decimal("9"), occurred_at=NOW - timedelta(days=3), attribution="none"))
    session.commit()
    jobs.bind(jobs.JobContext(config, database, FrozenClock(NOW)))
    try:
        assert jobs.score_contacts() == "scored 1 contacts, cleared 0, 1 newly dormant"
    finally:
        jobs.bind(None)
    session.expire_all()
    assert session.get(Contact, quiet.id).lifecycle_stage == "dormant"
    assert (session.get(Contact, buyer.id).rfm_recency, session.get(Contact, buyer.id).rfm_updated_at) == (3, NOW)
