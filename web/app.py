"""The Flask application factory: a short, ordered list of parts attaching themselves."""

from __future__ import annotations

from flask import Flask

from core.config import Config, load_config
from core.db import Database
from web import db, errors


def create_app(config: Config | None = None, *, database: Database | None = None) -> Flask:
    """Build the web app. The scheduler and sender are NOT started here (see `herald serve`):
    an app imported by several web workers must never run jobs once per worker."""
    config = config or load_config()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=str(config.secret_key),
        MAX_CONTENT_LENGTH=512 * 1024 * 1024,  # CSV imports can be large; they are streamed
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        TESTING=config.env == "test",
    )
    app.extensions["herald.config"] = config
    db.init_app(app, database or Database(str(config.database_url)))
    errors.init_app(app)
    # Parts below are added by the pages (auth, i18n, pages) and the API/webhooks work.
    return app
