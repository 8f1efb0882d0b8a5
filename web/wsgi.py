"""The web app for a WSGI server in scaled mode: `gunicorn 'web.wsgi:app'`.

It builds the app from config (config.toml or HERALD_CONFIG, overlaid by the environment) and
starts NO scheduler and NO sender: gunicorn imports this module once per worker process, and an
APScheduler started here would run every job once per worker — the classic bug. Scheduling is
`herald scheduler`'s (one leader), sending is `herald worker`'s; Send now only wakes the workers.

Run without `--preload`: each gunicorn worker then opens its own database engine after the fork.
"""

from __future__ import annotations

from flask import Flask

from core.config import Config, load_config
from core.db import Database
from web.app import create_app


class WebOnlyMisconfigured(RuntimeError):
    """web.wsgi was started in embedded mode, where nobody else would send or schedule."""


def build_app(config: Config | None = None) -> Flask:
    """The app for gunicorn: web only, Send now wakes Celery workers.

    Raises WebOnlyMisconfigured when [sender] mode is not "celery": in embedded mode the sender
    lives inside `herald serve`, so behind gunicorn no process would ever send.
    """
    from scheduler.celery_app import configure, wake_workers

    config = config or load_config()
    if config.sender_mode != "celery":
        raise WebOnlyMisconfigured(
            f'web.wsgi serves the web only, but [sender] mode is "{config.sender_mode}": nothing would send. '
            "Set HERALD_SENDER_MODE=celery and run `herald scheduler` and `herald worker` (scaled mode), "
            "or run `herald serve` for the one-process embedded mode")
    database = Database(str(config.database_url))
    app = create_app(config, database=database)
    configure(config, database)
    app.extensions["herald.wake"] = wake_workers
    return app


_built: dict[str, Flask] = {}


def __getattr__(name: str) -> Flask:
    # `web.wsgi:app` is built on first access, not at import, so tests and tools can import build_app
    # without a configured environment.
    if name != "app":
        raise AttributeError(f"module 'web.wsgi' has no attribute {name!r}")
    if "app" not in _built:
        _built["app"] = build_app()
    return _built["app"]
