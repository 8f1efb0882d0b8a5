"""Domain errors mapped once: JSON for the API and webhooks, a flash message for pages."""

from __future__ import annotations

from flask import Flask, flash, jsonify, redirect, request

from core.errors import HeraldError
from web.redirects import local_target


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/webhooks/")) or request.accept_mimetypes.best == "application/json"


def init_app(app: Flask) -> None:
    @app.errorhandler(HeraldError)
    def _herald_error(exc: HeraldError):
        if wants_json():
            return jsonify(exc.to_dict()), exc.http_status
        # A page that raised goes back where it came from with the message; forms that want to
        # re-render with the user's input catch the error themselves before it reaches here.
        flash(exc.message, "error")
        return redirect(local_target(request.referrer) or "/"), 303
