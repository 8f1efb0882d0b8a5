"""Exactly one `herald scheduler` leads: a PostgreSQL advisory lock, taken over when the leader dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from scheduler.leader import LeaderLock

ROOT = Path(__file__).resolve().parents[2]
TAKEOVER_BOUND_SECONDS = 5.0  # standby polls every 0.5 s; the server frees a killed session's lock at once


@pytest.mark.parametrize("backend", ["postgres"])
def test_second_lock_waits_until_the_first_is_released(backend, database):
    first, second = LeaderLock(database), LeaderLock(database)
    try:
        assert first.acquire() is True
        assert second.acquire() is False  # one try, no wait
        assert first.still_held()
        first.release()
        assert not first.still_held()
        assert second.acquire() is True
    finally:
        first.release()
        second.release()


@pytest.mark.parametrize("backend", ["postgres"])
def test_leader_notices_when_its_lock_connection_is_killed(backend, database):
    lock = LeaderLock(database)
    other = LeaderLock(database)
    try:
        assert lock.acquire()
        with database.engine.connect() as conn:  # what a server restart or a network cut does to the session
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND application_name LIKE 'herald scheduler%' "
                              "AND pid <> pg_backend_pid()"))
            conn.commit()
        assert not lock.still_held()
        assert other.acquire() is True  # the lock died with the session
    finally:
        lock.release()
        other.release()


def test_sqlite_needs_no_lock(database):
    lock = LeaderLock(database)
    assert lock.needed is False
    assert lock.acquire() is True and lock.still_held()
    lock.release()


def _wait_for(path: Path, needle: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if needle in path.read_text(errors="replace"):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("backend", ["postgres"])
def test_one_of_two_scheduler_processes_leads_and_the_other_takes_over_after_kill_9(backend, tmp_path, db_url,
                                                                                    redis_url):
    config_file = tmp_path / "config.toml"
    config_file.write_text("# leader test: everything from the environment\n")
    env = dict(os.environ, HERALD_CONFIG=str(config_file), HERALD_ENV="test", HERALD_DATABASE_URL=db_url,
               HERALD_DATA_DIR=str(tmp_path / "var"), HERALD_CELERY_BROKER_URL=redis_url,
               HERALD_SENDER_MODE="celery", PYTHONPATH=str(ROOT))
    logs = [tmp_path / "scheduler-a.log", tmp_path / "scheduler-b.log"]
    procs: list[subprocess.Popen] = []
    try:
        for log in logs:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "web.cli", "scheduler", "--standby-poll-seconds", "0.5"],
                env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=tmp_path))
        assert _wait_for(logs[0], "event=scheduler_", 30) and _wait_for(logs[1], "event=scheduler_", 30), \
            [log.read_text() for log in logs]
        time.sleep(1.5)  # three standby polls: a second leader would have shown up by now
        leading = [i for i, log in enumerate(logs) if "event=scheduler_leading" in log.read_text()]
        assert len(leading) == 1, [log.read_text() for log in logs]
        leader, standby = leading[0], 1 - leading[0]
        assert "event=scheduler_standing_by" in logs[standby].read_text()
        assert "herald scheduler" in logs[standby].read_text()  # the standby names who leads

        os.kill(procs[leader].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        procs[leader].wait(10)
        assert _wait_for(logs[standby], "event=scheduler_leading", TAKEOVER_BOUND_SECONDS), logs[standby].read_text()
        assert time.monotonic() - killed_at < TAKEOVER_BOUND_SECONDS
        assert _wait_for(logs[standby], "event=scheduler_started", 10)
        assert procs[standby].poll() is None, logs[standby].read_text()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


@pytest.mark.parametrize("backend", ["postgres"])
def test_scheduler_stops_with_leadership_lost_when_its_lock_connection_dies(backend, tmp_path, db_url, database):
    import threading

    from scheduler.standalone import LeadershipLost, run_scheduler
    from tests.conftest import make_config

    config = make_config(tmp_path, db_url, HERALD_SENDER_MODE="celery",
                         HERALD_CELERY_BROKER_URL="redis://127.0.0.1:6379/15")
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            run_scheduler(config, database, standby_poll_seconds=0.2, heartbeat_seconds=0.2)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    probe = LeaderLock(database)
    deadline = time.monotonic() + 10
    while probe.acquire() and time.monotonic() < deadline:  # until the scheduler under test leads
        probe.release()
        time.sleep(0.05)
    probe.release()
    with database.engine.connect() as conn:
        killed = conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE datname = current_database() AND application_name LIKE 'herald scheduler%' "
                                   "AND pid <> pg_backend_pid()")).all()
        conn.commit()
    assert killed, "the scheduler under test never took the lock"
    thread.join(10)
    assert not thread.is_alive(), "the scheduler kept running without its lock"
    assert isinstance(outcome[0], LeadershipLost)
