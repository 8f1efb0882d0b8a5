"""The settings page: what this Herald is configured with (read-only; config.toml and the environment decide)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy.engine import make_url

from web.pages.context import channel_info, config
from web.senders import email_overview

bp = Blueprint("settings", __name__)


@bp.get("/settings")
def index():
    settings = config()
    channels = [(channel_info(name), settings.channels[name]) for name in settings.channels]
    database = make_url(str(settings.database_url)).render_as_string(hide_password=True)
    senders, feedback_sources = email_overview(settings)
    return render_template("settings/index.html", settings=settings, channels=channels, database=database,
                           sender_here=current_app.extensions.get("herald.wake") is not None,
                           email_senders=senders, feedback_sources=feedback_sources)
