"""The HTML pages: one blueprint per area, each behind login (web.auth.protect).

Views are thin: read the form or query string, call one domain function, render. Domain errors
that belong next to a form field are caught in the view and shown there; anything else reaches
web/errors.py, which flashes the message.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template
from werkzeug.exceptions import NotFound

from web.auth import protect
from web.errors import wants_json
from web.pages import (
    campaign_controls,
    campaign_schedule,
    campaign_tracking,
    campaigns,
    conversions,
    dashboard,
    experiments,
    rate_plans,
    reports,
    run_report,
    send_calendar,
    settings,
    signup_forms,
    users,
)
from web.pages.audiences import PAGES as AUDIENCE_PAGES
from web.pages.content import PAGES as CONTENT_PAGES
from web.pages.context import page_helpers
from web.pages.replies import PAGES as REPLY_PAGES
from web.pages.replies import canned_replies

# Every page blueprint is registered here and nowhere else; a page module never imports another's routes.
PAGES = (dashboard, *AUDIENCE_PAGES, signup_forms, *CONTENT_PAGES, campaigns, campaign_controls, campaign_schedule,
         send_calendar, *REPLY_PAGES, reports, settings, conversions, campaign_tracking, experiments, rate_plans,
         run_report)

# Guards are attached once, at import: a blueprint cannot take new hooks after its first registration,
# and tests register the same blueprints on many apps.
for _module in PAGES:
    protect(_module.bp)
protect(users.bp, role="admin")
protect(canned_replies.bp, role="admin")  # care staff pick canned replies; admins keep them


def init_app(app: Flask) -> None:
    for module in (*PAGES, users, canned_replies):
        app.register_blueprint(module.bp)
    app.context_processor(page_helpers)
    app.register_error_handler(404, _not_found)


def _not_found(exc: NotFound):
    if wants_json():
        return jsonify(error="NotFound", message=exc.description), 404
    return render_template("errors/not_found.html"), 404
