"""Crash safety in scaled mode: a real `herald worker` (a Celery worker over Redis, on PostgreSQL) is killed
with SIGKILL three times during a 5,000-recipient campaign, each time after a random number of messages,
and a new worker is started until the campaign is done.

at_most_once: nobody gets two messages; the rows in flight at a kill become `unknown`, and every row is
accounted for. at_least_once: nobody is lost; the only duplicates are rows that were in flight at a kill.
In flight at a kill means, per sender thread, one window of messages handed over since the thread last
recorded (RECORD_EVERY, campaigns/delivery/answer_groups.py), not its claimed batch: the rest goes back to pending.
The companion test for the embedded sender is test_crash_safety.py.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from campaigns import Message, campaign_report, campaign_status, release_expired_leases
from campaigns.delivery.answer_groups import RECORD_EVERY
from campaigns.results.report_settings import ReportSettings
from core.clock import SystemClock
from tests.conftest import make_config
from tests.e2e.test_crash_safety import RECIPIENTS, SENDER_APP_NAME, _seed, _wait_for_sessions_to_end

USD = ReportSettings("USD")  # reports in US dollars, no other currency converted

KILLS = 3
SEED = 4_2026_11_23
LEASE_SECONDS = 5  # the shortest lease config allows
THREADS = 2
WORKER = [sys.executable, "-c", "from web.cli import main; main()", "worker", "--threads", str(THREADS)]


def _start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            cwd=str(Path(__file__).resolve().parents[2]))


def _wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds}s for {what}")
        time.sleep(0.005)


def _send_then_kill(env: dict[str, str], fake_smtp, rng: random.Random, wake) -> None:
    """Start a worker, wake it, let it send a random number of messages, SIGKILL it."""
    worker = _start_worker(env)
    try:
        received = len(fake_smtp.messages)
        woken = time.monotonic()
        wake(2)
        deadline = time.monotonic() + 120  # a worker starts slowly on a busy machine
        while len(fake_smtp.messages) == received and worker.poll() is None:
            assert time.monotonic() < deadline, "the worker did not start sending"
            if time.monotonic() - woken > 5:  # a wake-up can be lost; `herald scheduler` repeats them too
                wake(1)
                woken = time.monotonic()
            time.sleep(0.005)
        target = len(fake_smtp.messages) + rng.randint(20, 900)
        _wait_until(lambda: len(fake_smtp.messages) >= target or worker.poll() is not None, 60,
                    "the worker to send some more")
        assert worker.poll() is None, "the worker stopped before the kill"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)


@pytest.mark.parametrize("backend", ["postgres"])  # scaled mode is PostgreSQL's
@pytest.mark.parametrize("guarantee", ["at_most_once", "at_least_once"])
def test_celery_worker_killed_three_times_keeps_the_campaign_guarantee(guarantee, backend, tmp_path, db_url,
                                                                       database, redis_url, fake_smtp,
                                                                       subprocess_env):
    import redis

    from scheduler import celery_app as scaled

    redis.Redis.from_url(redis_url).flushdb()  # no tasks or limiter windows left from another test
    campaign_id = _seed(database, guarantee)
    settings = {"HERALD_SENDER_MODE": "celery", "HERALD_CELERY_BROKER_URL": redis_url,
                "HERALD_SENDER_BATCH_SIZE": "50", "HERALD_SENDER_LEASE_SECONDS": str(LEASE_SECONDS),
                "HERALD_CHANNELS_EMAIL_URL": fake_smtp.url + "?from=box@tickets.example.com&rate=100000/second"}
    env = dict(subprocess_env, PGAPPNAME=SENDER_APP_NAME, **settings)
    scaled.configure(make_config(tmp_path, db_url, **settings), database)
    rng = random.Random(SEED)

    in_flight: list[set[str]] = []
    for _ in range(KILLS):
        _send_then_kill(env, fake_smtp, rng, scaled.wake_workers)
        _wait_for_sessions_to_end(database)
        # The dead worker's leases run out LEASE_SECONDS after its last claim. Settling them as of then,
        # rather than sleeping until then, keeps the test short; at_least_once rows are due again from then
        # on, so the next worker takes them a few seconds into its run, as it would after a real wait.
        expired = SystemClock().now() + timedelta(seconds=LEASE_SECONDS + 0.5)
        with database.session() as session:
            claimed = set(session.scalars(select(Message.address).where(Message.status == "sending")))
            handed_over = set(session.scalars(select(Message.address).where(Message.status == "sending",
                                                                            Message.handed_over.is_(True))))
            assert release_expired_leases(session, now=expired) == len(claimed)
        # One window per sender thread at most, however large the claimed batches (2 × 50).
        assert len(handed_over) <= THREADS * RECORD_EVERY, f"{len(handed_over)} rows in flight after a kill"
        in_flight.append(handed_over)

    worker = _start_worker(env)  # the last one finishes the campaign
    try:
        def done() -> bool:
            with database.session() as session:  # one GROUP BY; the full report is read once, at the end
                counts = campaign_status(session, campaign_id).counts
            if counts["pending"] or counts["sending"]:
                scaled.wake_workers(1)  # as `herald scheduler` does periodically
                time.sleep(0.5)
                return False
            return True

        _wait_until(done, 360, "the campaign to finish")  # a bound on waiting, not a speed test
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()

    with database.session() as session:
        report = campaign_report(session, campaign_id, USD).to_dict()
        statuses = Counter(session.scalars(select(Message.status).where(Message.campaign_id == campaign_id)))
    received = Counter(rcpt for m in fake_smtp.messages for rcpt in m.rcpt_tos)
    everyone = {f"guest{i}@example.com" for i in range(RECIPIENTS)}
    assert sum(len(rows) for rows in in_flight) > 0, "no kill caught a batch in flight"
    assert report["recipients"] == RECIPIENTS and report["pending"] == 0
    if guarantee == "at_most_once":
        assert max(received.values()) == 1, "a recipient got two messages"
        assert statuses["sent"] + statuses["unknown"] == RECIPIENTS, statuses
        assert report["unknown"] == sum(len(rows) for rows in in_flight)
        reached = set(received) & set().union(*in_flight)  # unknown rows are never resent: the killed worker's
        print(f"unknown: {report['unknown']} after {KILLS} kills, of which {len(reached)} reached the server")
        assert len(reached) <= KILLS * THREADS * RECORD_EVERY
        assert set(received) <= everyone
    else:
        assert set(received) == everyone, f"lost: {sorted(everyone - set(received))[:10]}"
        duplicated = {address for address, count in received.items() if count > 1}
        assert duplicated <= set().union(*in_flight), "a duplicate that was not in flight at a kill"
        assert statuses == Counter({"sent": RECIPIENTS}), statuses
