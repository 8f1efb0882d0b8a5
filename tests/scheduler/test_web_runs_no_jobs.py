"""The web processes never run jobs: `herald serve` in celery mode or with the scheduler disabled,
and gunicorn serving web.wsgi, start no APScheduler. The evidence is the job store: a started
scheduler writes its housekeeping job into apscheduler_jobs, which the control case shows."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import make_config

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path: Path, db_url: str, **settings: str) -> dict[str, str]:
    config_file = tmp_path / "config.toml"
    config_file.write_text("# web-only test: everything from the environment\n")
    return dict(os.environ, HERALD_CONFIG=str(config_file), HERALD_ENV="test", HERALD_DATABASE_URL=db_url,
                HERALD_DATA_DIR=str(tmp_path / "var"), HERALD_CHANNELS_EMAIL_URL=f"log://{tmp_path / 'outbox'}",
                HERALD_CHANNELS_SMS_URL=f"log://{tmp_path / 'outbox'}", PYTHONPATH=str(ROOT), **settings)


def _serving(port: int, proc: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means the app is up
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing served on {port} within {seconds}s:\n{log.read_text()}")


def _stored_jobs(database) -> list[str]:
    with database.engine.connect() as conn:
        return sorted(conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars())


def _run_web(command: list[str], env: dict[str, str], port: int, tmp_path: Path, database) -> list[str]:
    log = tmp_path / "web.log"
    proc = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        _serving(port, proc, log)
        time.sleep(0.5)  # a scheduler starts before the server answers; give a stray one time to write anyway
        return _stored_jobs(database)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.mark.parametrize(("mode", "scheduler_enabled", "expected_jobs"), [
    # the control: this one does schedule
    ("embedded", "true", ["housekeeping.reconcile_unknown", "housekeeping.release_leases",
                          "housekeeping.remove_stale_uploads", "housekeeping.score_contacts",
                          "journeys.advance", "notices.send_planned_fallbacks", "reports.decide_ab_tests"]),
    ("embedded", "false", []),
    ("celery", "true", []),  # scaled mode: `herald scheduler` schedules, whatever [scheduler] enabled says
])
def test_herald_serve_schedules_only_in_embedded_mode_with_the_scheduler_enabled(mode, scheduler_enabled,
                                                                                  expected_jobs, tmp_path, db_url,
                                                                                  database):
    port = _free_port()
    env = _env(tmp_path, db_url, HERALD_SENDER_MODE=mode, HERALD_SCHEDULER_ENABLED=scheduler_enabled,
               HERALD_CELERY_BROKER_URL="redis://127.0.0.1:6379/15")
    jobs = _run_web([sys.executable, "-m", "web.cli", "serve", "--port", str(port)], env, port, tmp_path, database)
    assert jobs == expected_jobs


def test_gunicorn_workers_serve_the_app_and_schedule_nothing(tmp_path, db_url, database):
    port = _free_port()
    env = _env(tmp_path, db_url, HERALD_SENDER_MODE="celery", HERALD_SCHEDULER_ENABLED="true",
               HERALD_CELERY_BROKER_URL="redis://127.0.0.1:6379/15")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    jobs = _run_web([str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{port}", "web.wsgi:app"], env, port,
                    tmp_path, database)
    assert jobs == []


def test_wsgi_app_refuses_embedded_mode_where_nobody_would_send(tmp_path, db_url):
    from web.wsgi import WebOnlyMisconfigured, build_app

    with pytest.raises(WebOnlyMisconfigured, match="HERALD_SENDER_MODE=celery"):
        build_app(make_config(tmp_path, db_url, HERALD_SENDER_MODE="embedded"))


def test_wsgi_app_wakes_celery_workers_on_send_now(tmp_path, db_url):
    from scheduler.celery_app import wake_workers
    from web.wsgi import build_app

    app = build_app(make_config(tmp_path, db_url, HERALD_SENDER_MODE="celery"))
    assert app.extensions["herald.wake"] is wake_workers
