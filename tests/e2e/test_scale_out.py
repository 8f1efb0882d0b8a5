"""Scale-out: two real `herald worker` processes and a `herald scheduler` (Celery over Redis, on
PostgreSQL) send one campaign: every recipient gets exactly one message and the channel's global
rate holds across both workers, measured where it matters — at the SMTP server."""

from __future__ import annotations

import bisect
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import insert

from audiences import Contact
from campaigns import campaign_report, create_campaign, create_template, send_campaign
from campaigns.results.report_settings import ReportSettings
from channels import RateLimiter
from core.clock import SystemClock
from tests.conftest import make_config

USD = ReportSettings("USD")  # reports in US dollars, no other currency converted

RECIPIENTS = 1000
RATE = 100  # messages per second, for the channel as a whole; four senders here can go faster than this
WORKERS = 2
THREADS = 2  # sender threads per worker
BATCH = 5
# The limiter counts a message when its tokens are taken, just before the batch is sent; the fake
# counts it when it arrives. A message arriving in a 1 s window had its token taken inside that
# window (at most RATE, the moving-window guarantee) or before it while still in flight — and each
# sender has at most one batch in flight. So no window can hold more than RATE + senders * BATCH.
TOLERANCE = WORKERS * THREADS * BATCH


def max_in_any_window(times: list[float], seconds: float = 1.0) -> int:
    """The most timestamps in any half-open window [t, t + seconds), t taken at each timestamp."""
    times = sorted(times)
    return max(bisect.bisect_left(times, t + seconds) - i for i, t in enumerate(times))


def _wait_for(path: Path, needle: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if needle in path.read_text(errors="replace"):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("backend", ["postgres"])  # scaled mode is PostgreSQL's
def test_two_worker_processes_send_each_recipient_once_within_the_global_rate(backend, tmp_path, db_url, database,
                                                                              redis_url, fake_smtp, subprocess_env):
    from scheduler import celery_app as scaled

    channel_url = f"{fake_smtp.url}?from=news@shop.example.com&rate={RATE}/second"
    settings = {"HERALD_CELERY_BROKER_URL": redis_url, "HERALD_SENDER_MODE": "celery",
                "HERALD_SENDER_BATCH_SIZE": str(BATCH), "HERALD_CHANNELS_EMAIL_URL": channel_url}
    env = dict(subprocess_env, **settings)
    RateLimiter(redis_url).reset("smtp:email", f"{RATE}/second")  # no hits left over from another test

    logs = [tmp_path / f"worker-{n}.log" for n in range(WORKERS)] + [tmp_path / "scheduler.log"]
    commands = [["worker", "--threads", str(THREADS)]] * WORKERS + [["scheduler", "--standby-poll-seconds", "1"]]
    procs = [subprocess.Popen([sys.executable, "-m", "web.cli", *command], env=env, stdout=log.open("wb"),
                              stderr=subprocess.STDOUT, cwd=tmp_path)
             for command, log in zip(commands, logs, strict=True)]
    try:
        for log in logs[:WORKERS]:
            assert _wait_for(log, " ready.", 60), log.read_text()
        assert _wait_for(logs[-1], "event=scheduler_started", 60), logs[-1].read_text()

        now = SystemClock().now()
        with database.session() as session:
            session.execute(insert(Contact), [
                {"email": f"fan{i}@example.com", "first_name": f"F{i}", "last_name": "", "company": "",
                 "attributes": {}, "created_at": now, "updated_at": now} for i in range(RECIPIENTS)])
            session.commit()
            template = create_template(session, name="t", channel="email", text="Gates open at 18:00.",
                                       subject="Doors open, {{ contact.first_name }}", now=now)
            campaign = create_campaign(session, name="doors", channel="email", template_id=template.id, now=now)
            send_campaign(session, campaign.id, now=now, channel_description="smtp", dry_run=False)
        scaled.configure(make_config(tmp_path, db_url, **settings), database)
        scaled.wake_workers(WORKERS * THREADS)  # as Send now does; the scheduler keeps waking them while rows are due

        # A bound on waiting, not a speed test (bench/ measures speed): 10 s of sending at RATE, but a loaded
        # 2-core CI box with a second test worker beside it took over 60 s.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with database.session() as session:
                report = campaign_report(session, campaign.id, USD).to_dict()
            if report["pending"] == 0 and report["sent"] == RECIPIENTS:
                break
            assert all(proc.poll() is None for proc in procs), [log.read_text() for log in logs]
            time.sleep(0.2)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(10)

    assert report["sent"] == RECIPIENTS and report["unknown"] == 0 and report["failed"] == 0, report
    addresses = [rcpt for m in fake_smtp.messages for rcpt in m.rcpt_tos]
    assert sorted(addresses) == sorted(f"fan{i}@example.com" for i in range(RECIPIENTS))  # exactly one each

    handled = [sum(int(line.rsplit("rows=", 1)[1]) for line in log.read_text().splitlines()
                   if "event=dispatched" in line) for log in logs[:WORKERS]]
    assert all(count > 0 for count in handled), f"both workers must have sent: {handled}"

    times = [m.received_at for m in fake_smtp.messages]
    busiest = max_in_any_window(times)
    assert busiest <= RATE + TOLERANCE, f"{busiest} messages in one second; the rate is {RATE}/second"
    # And the rate did slow the campaign down: 1,000 messages at 100/second cannot all arrive faster
    # than the first window's burst plus the rest at the rate (about 9 s).
    assert max(times) - min(times) >= (RECIPIENTS - RATE - TOLERANCE) / RATE
