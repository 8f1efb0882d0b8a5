"""Twilio status callbacks, taken in front of Flask: the one webhook that arrives in storms.

Every SMS Herald sends comes back as two to four status callbacks, so a large send is followed by
thousands of them a second (bench/callback_ingest.py). For this one request Flask's per-request
machinery — request and app contexts, URL routing, the session cookie, login and locale hooks,
werkzeug's form parser, response objects — cost as much CPU as the work itself, and none of it
applies: a provider has no cookie, no login and no language, and the signature is the only check.

So `POST /webhooks/twilio/status/<message id>` is answered by this WSGI middleware, wrapped around
the Flask app (web.app), and every other request passes through to Flask untouched. The answers
are the ones the other webhooks give: 204 when taken; 403 for a missing or bad signature; 400 for a
callback Herald cannot read; 404 when the SMS channel is not Twilio; 413 for a body no status
callback has; JSON {"error", "message"} with each refusal. Anything unexpected is logged and
answered 500 (Twilio then retries), or raised when the app is testing, as Flask would.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Flask
from werkzeug.datastructures import MultiDict

import campaigns
from channels import WebhookRejected, parse_twilio_webhook, twilio_auth_token
from core.config import Config
from core.db import Database, is_disconnect
from core.errors import HeraldError

log = logging.getLogger("herald.web")

PATH = re.compile(r"/webhooks/twilio/status/([0-9]+)")
# A status callback is a dozen short fields; anything this large is not one.
MAX_BODY_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def wrap(app: Flask) -> None:
    """Put the status-callback path in front of `app`'s WSGI app (tests' clients go through it too)."""
    app.wsgi_app = StatusCallbacks(app, app.wsgi_app)  # type: ignore[method-assign]


class StatusCallbacks:
    def __init__(self, app: Flask, flask_wsgi: WsgiApp) -> None:
        self.app = app
        self.flask_wsgi = flask_wsgi
        config: Config = app.extensions["herald.config"]
        # Read once: the config does not change while the process runs.
        self.base_url = config.base_url.rstrip("/")
        self.sms_url = str(config.channels["sms"].url)
        self.scheme = urlsplit(self.sms_url).scheme
        self._auth_token: str | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        matched = PATH.fullmatch(environ.get("PATH_INFO", ""))
        if matched is None:
            return self.flask_wsgi(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            refusal = {"error": "MethodNotAllowed", "message": "Twilio posts status callbacks; nothing else is taken"}
            return _answer(start_response, 405, refusal, [("Allow", "POST")])
        try:
            status, body = self.take(int(matched.group(1)), environ)
        except HeraldError as exc:  # e.g. a twilio:// URL without its auth token: the operator's to fix
            status, body = exc.http_status, exc.to_dict()
        except Exception:
            if self.app.testing:
                raise
            log.exception("event=webhook_failed provider=twilio path=%s", environ.get("PATH_INFO"))
            status, body = 500, {"error": "InternalServerError",
                                 "message": "Herald could not record this status callback; Twilio will retry it"}
        return _answer(start_response, status, body)

    def take(self, message_id: int, environ: dict[str, Any]) -> tuple[int, dict[str, str] | None]:
        if self.scheme != "twilio":
            return 404, {"error": "NotFound", "message": (
                f"the SMS channel is {self.scheme}://, not twilio://, so Herald takes no Twilio status callbacks — "
                "set [channels.sms] url to twilio://SID:TOKEN@default?from=… to use Twilio")}
        form = _read_form(environ)
        if form is None:
            return 413, {"error": "RequestEntityTooLarge",
                         "message": f"a Twilio status callback is under {MAX_BODY_BYTES // 1024} KiB; this one is not"}
        # Twilio signs the URL it called. Behind a proxy that is the public URL, not the one this process
        # sees, so it is rebuilt from [app] base_url; the dispatcher built the callback URL from it too.
        query = environ.get("QUERY_STRING", "")
        public_url = self.base_url + environ["PATH_INFO"] + (f"?{query}" if query else "")
        if self._auth_token is None:
            self._auth_token = twilio_auth_token(self.sms_url)
        try:
            events = parse_twilio_webhook(url=public_url, form=form, headers=_Headers(environ),
                                          auth_token=self._auth_token)
        except WebhookRejected as exc:
            log.warning("event=webhook_rejected provider=twilio message_id=%s status=%s reason=%r", message_id,
                        exc.http_status, str(exc))
            return exc.http_status, {"error": "WebhookRejected", "message": str(exc)}
        # The path names Herald's message; it is signed with the rest of the URL, so it can be trusted.
        events = [dataclasses.replace(event, message_id=message_id) for event in events]
        now = self.app.extensions["herald.clock"].now()
        database: Database = self.app.extensions["herald.database"]
        # Safe to repeat on a fresh connection: a status only moves forward, so a second try after a
        # lost commit moves nothing and at most records the callback once more, as a repeat.
        for attempt in (1, 2):
            with database.session() as session:
                try:
                    campaigns.apply_channel_events(session, events, now=now)
                    break
                except Exception as exc:
                    if attempt == 2 or not is_disconnect(exc):
                        raise
                    log.warning("event=database_reconnect reason=%r", str(exc).splitlines()[0])
        return 204, None


def _read_form(environ: dict[str, Any]) -> MultiDict[str, str] | None:
    """The url-encoded body as werkzeug would give it (UTF-8, repeated names kept); None when too large.
    Another content type reads as an empty form, as request.form does, and fails the signature check."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return None
    if not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
        body = environ["wsgi.input"].read(MAX_BODY_BYTES + 1)  # chunked: the server marks where it ends
        if len(body) > MAX_BODY_BYTES:
            return None
    else:
        body = environ["wsgi.input"].read(length) if length > 0 else b""
    if environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower() != FORM_TYPE:
        return MultiDict()
    return MultiDict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


class _Headers(dict):
    """The two Twilio headers parse_twilio_webhook reads, by their HTTP names, straight from the environ."""

    def __init__(self, environ: dict[str, Any]) -> None:
        super().__init__()
        for name in ("X-Twilio-Signature", "X-Twilio-Webhooks-Signature-Settings"):
            value = environ.get("HTTP_" + name.upper().replace("-", "_"))
            if value is not None:
                self[name] = value


def _answer(start_response: StartResponse, status: int, body: dict[str, str] | None,
            headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    line = f"{status} {HTTPStatus(status).phrase}"
    if body is None:
        start_response(line, headers or [])
        return [b""]
    data = json.dumps(body).encode()
    start_response(line, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *(headers or [])])
    return [data]
