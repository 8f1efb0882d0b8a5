"""Scaled mode: Celery workers over Redis, on PostgreSQL, send through the same claim/send/record code."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import insert

from audiences import Contact
from campaigns import campaign_report, create_campaign, create_template, send_campaign
from campaigns.results.report_settings import ReportSettings
from core.clock import SystemClock
from tests.conftest import make_config

USD = ReportSettings("USD")  # reports in US dollars, no other currency converted

RECIPIENTS = 120


@pytest.mark.parametrize("backend", ["postgres"])  # scaled mode is PostgreSQL's
def test_celery_workers_send_each_message_once(backend, tmp_path, db_url, database, redis_url, fake_smtp):
    from scheduler import celery_app as scaled

    config = make_config(tmp_path, db_url, HERALD_CELERY_BROKER_URL=redis_url, HERALD_SENDER_MODE="celery",
                         HERALD_SENDER_BATCH_SIZE="7",
                         HERALD_CHANNELS_EMAIL_URL=fake_smtp.url + "?from=news@shop.example.com&rate=1000/second")
    now = SystemClock().now()
    with database.session() as session:
        session.execute(insert(Contact), [
            {"email": f"fan{i}@example.com", "first_name": f"F{i}", "last_name": "", "company": "", "attributes": {},
             "created_at": now, "updated_at": now} for i in range(RECIPIENTS)])
        session.commit()
        template = create_template(session, name="t", channel="email", subject="Gate change, {{ contact.first_name }}",
                                   text="Hall B is closed; go to Hall C.", now=now)
        campaign = create_campaign(session, name="gate change", channel="email", template_id=template.id, now=now)
        send_campaign(session, campaign.id, now=now, channel_description="smtp", dry_run=False)

    app = scaled.configure(config, database)
    app.conf.broker_transport_options = {"visibility_timeout": 60}
    with start_worker(app, pool="threads", concurrency=3, perform_ping_check=False, loglevel="WARNING",
                      shutdown_timeout=30):
        scaled.wake_workers(3)  # three tasks race for the same rows; SKIP LOCKED keeps them apart
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with database.session() as session:
                report = campaign_report(session, campaign.id, USD).to_dict()
            if report["sent"] == RECIPIENTS:
                break
            time.sleep(0.2)

    addresses = [rcpt for m in fake_smtp.messages for rcpt in m.rcpt_tos]
    assert len(addresses) == RECIPIENTS
    assert len(set(addresses)) == RECIPIENTS
    assert report["sent"] == RECIPIENTS and report["pending"] == 0 and report["unknown"] == 0
