"""The Flask application factory: a short, ordered list of parts attaching themselves."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort

from core.clock import Clock, SystemClock
from core.config import Config, load_config
from core.db import Database
from web import auth, db, errors, i18n, login_throttle, pages, signup_guard

LARGEST_ID = 2**63 - 1  # a signed 64-bit column; the drivers cannot bind a larger integer


def _ids_fit_a_column(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An `<int:…>` beyond 64 bits (/campaigns/176560039781137697996800) is a 404 like any unknown id,
    not an OverflowError in the database driver (a 500). Checked here rather than by the converter:
    a converter that refuses would let another route match the path and answer 405."""
    if values and any(isinstance(value, int) and abs(value) > LARGEST_ID for value in values.values()):
        abort(404)


def create_app(config: Config | None = None, *, database: Database | None = None,
               clock: Clock | None = None) -> Flask:
    """Build the web app. The scheduler and sender are NOT started here (see `herald serve`):
    an app imported by several web workers must never run jobs once per worker.

    `clock` is what views pass to domain functions as `now` (tests give a FrozenClock).
    """
    config = config or load_config()
    app = Flask(__name__)
    app.url_value_preprocessor(_ids_fit_a_column)
    app.config.update(
        SECRET_KEY=str(config.secret_key),
        MAX_CONTENT_LENGTH=512 * 1024 * 1024,  # CSV imports can be large; they are streamed
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Behind https the login cookies must never travel over plain http (a café's Wi-Fi).
        SESSION_COOKIE_SECURE=config.base_url.startswith("https://"),
        REMEMBER_COOKIE_SECURE=config.base_url.startswith("https://"),
        TESTING=config.env == "test",
        WTF_CSRF_TIME_LIMIT=None,  # a form left open all day still submits; the token is tied to the session
    )
    app.extensions["herald.config"] = config
    app.extensions["herald.clock"] = clock or SystemClock()
    db.init_app(app, database or Database(str(config.database_url)))
    errors.init_app(app)
    i18n.init_app(app, config)
    auth.init_app(app)  # CSRF on every POST, login, bearer tokens, first-run setup
    login_throttle.init_app(app, config)  # failed logins counted per account and address
    signup_guard.init_app(app, config)  # sign-ups counted per client address and per email or phone
    pages.init_app(app)

    # ---- API, webhooks, public endpoints (helper D2 registers its blueprints here) ----
    from web import api, email_webhooks, public, signup_public, status_callbacks, webhooks

    app.register_blueprint(api.bp)  # /api/v1, bearer tokens only: a cookie never authenticates it
    app.register_blueprint(webhooks.bp)  # /webhooks, the provider's signature is the check
    app.register_blueprint(email_webhooks.bp)  # /webhooks/sendgrid, /ses, /email/dsn: signature or token
    app.register_blueprint(public.bp)  # /u/…, the signed link is the check
    app.register_blueprint(signup_public.bp)  # /f/…, honeypot, signed time token and rate limits
    # None of them can carry a CSRF token: API clients and providers have no form, RFC 8058 one-click
    # unsubscribe is posted by the mail client, and a sign-up snippet posts from another site. Each
    # checks a token or signature instead (sign-ups: web/signup_guard.py).
    for blueprint in (api.bp, webhooks.bp, email_webhooks.bp, public.bp, signup_public.bp):
        auth.csrf.exempt(blueprint)
    # Twilio's status callbacks come in storms; they are answered before Flask's per-request work.
    status_callbacks.wrap(app)
    # ---- end of D2's spot ----
    return app
