"""Scaled mode: Celery workers over Redis run the same Dispatcher.dispatch_due() as embedded threads.

A task carries no data — it only wakes a worker up. The database row is the truth (DESIGN §3), so
a lost or duplicated task can neither lose nor double a message: workers claim rows with
FOR UPDATE SKIP LOCKED and a lease.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import Celery

from campaigns.delivery.sender import check_sender_settings, make_dispatcher, open_configured_channels
from channels import RateLimiter
from core.clock import SystemClock
from core.config import Config, ConfigError
from core.db import Database

log = logging.getLogger("herald.worker")

DISPATCH_TASK = "herald.dispatch"
QUEUE = "herald"
# A task sends until nothing is due or this many seconds passed, then lets the next wake-up continue,
# so one long campaign cannot hold a worker thread forever and a deploy can stop workers promptly.
TASK_BUDGET_SECONDS = 30.0

celery_app = Celery("herald")
celery_app.conf.update(
    task_default_queue=QUEUE,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

_state: dict[str, object] = {}
_local = threading.local()


def configure(config: Config, database: Database | None = None) -> Celery:
    """Point the Celery app at the configured broker and bind the database this process uses."""
    celery_app.conf.broker_url = str(config.celery_broker_url)
    _state["config"] = config
    _state["database"] = database or Database(str(config.database_url))
    # The limiter lives in Redis so a provider's rate holds across every worker, not per worker: the
    # broker's Redis, or [celery] rate_limit_url beside a RabbitMQ broker (core/config.py).
    storage = str(config.celery_rate_limit_url)
    if not storage:
        raise ConfigError(f'[celery] broker_url uses "{str(config.celery_broker_url).partition(":")[0]}", which '
                          "cannot hold the provider rate limits every worker shares; set [celery] rate_limit_url "
                          "(HERALD_CELERY_RATE_LIMIT_URL) to a Redis URL such as redis://redis:6379/1")
    _state["limiter"] = RateLimiter(storage)
    check_sender_settings(config)  # refuse settings that cannot hold before taking any task
    return celery_app


def _dispatcher():
    """One Dispatcher per worker thread: channel connections are never shared between threads."""
    if getattr(_local, "dispatcher", None) is None:
        config: Config = _state["config"]  # type: ignore[assignment]
        channels = open_configured_channels(config)
        # type: ignore[arg-type]
        _local.dispatcher = make_dispatcher(config, _state["database"], channels, _state["limiter"],
                                            SystemClock())
    return _local.dispatcher


@celery_app.task(name=DISPATCH_TASK)
def dispatch() -> int:
    """Send due messages until none is left or the time budget is spent; returns rows handled."""
    if "config" not in _state:
        raise RuntimeError("the Celery worker was started without scheduler.celery_app.configure(config)")
    dispatcher = _dispatcher()
    deadline = time.monotonic() + TASK_BUDGET_SECONDS
    handled = 0
    while time.monotonic() < deadline:
        count = dispatcher.dispatch_due()
        handled += count
        if count == 0:
            break
    if handled:
        log.info("event=dispatched rows=%d", handled)
    return handled


def wake_workers(count: int = 1) -> None:
    """Ask workers to look for due messages (after Send now, and periodically from `herald scheduler`)."""
    for _ in range(count):
        celery_app.send_task(DISPATCH_TASK, queue=QUEUE)
