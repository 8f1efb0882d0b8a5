"""Email bounce and complaint webhooks: SendGrid's Event Webhook, Amazon SES through SNS, and posted DSNs.

No login and no CSRF (providers have neither): each checks its provider's signature or a token, then
hands EmailFeedback to campaigns (campaigns/responses/bounces.py). A refused request changes nothing. A source
that is not configured answers 404 and says which [bounces] key turns it on.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, current_app, jsonify, request

import campaigns
from channels import WebhookRejected
from channels.email_feedback import NotADsn, parse_dsn
from channels.email_webhooks import SnsSettings, load_sendgrid_key, parse_sendgrid_events, parse_sns
from core.config import Config
from web.db import get_session

log = logging.getLogger("herald.web")

bp = Blueprint("email_webhooks", __name__, url_prefix="/webhooks")


def _config() -> Config:
    return current_app.extensions["herald.config"]


def _not_configured(source: str, key: str):
    return jsonify(error="NotFound", message=f"{source} reports are not taken: set [bounces] {key} in config.toml "
                                             "to turn them on"), 404


def _rejected(provider: str, exc: WebhookRejected):
    log.warning("event=webhook_rejected provider=%s status=%s reason=%r", provider, exc.http_status, str(exc))
    return jsonify(error="WebhookRejected", message=str(exc)), exc.http_status


def _apply(provider: str, feedback: list, delivered: list | None = None) -> dict[str, int]:
    clock = current_app.extensions["herald.clock"]
    moved = campaigns.apply_channel_events(get_session(), delivered, now=clock.now()) if delivered else 0
    applied = campaigns.apply_email_feedback(get_session(), feedback, now=clock.now())
    log.info("event=email_feedback provider=%s reports=%d events=%d unmatched=%d consent_changed=%d suppressed=%d",
             provider, len(feedback), applied.events, applied.unmatched, applied.consent_changed, applied.suppressed)
    return {"reports": len(feedback), "events": applied.events, "unmatched": applied.unmatched,
            "consent_changed": applied.consent_changed, "suppressed": applied.suppressed,
            "delivered": len(delivered or []), "moved": moved}


@bp.post("/sendgrid/events")
def sendgrid_events():
    """SendGrid's signed Event Webhook: bounces, blocks, drops of bounced addresses, deferrals, spam reports."""
    key_text = _config().email.sendgrid_public_key
    if not key_text:
        return _not_configured("SendGrid", "sendgrid_public_key")
    try:
        key = load_sendgrid_key(key_text)
    except ValueError as exc:
        log.error("event=webhook_misconfigured provider=sendgrid reason=%r", str(exc))
        return jsonify(error="Misconfigured", message=str(exc)), 500
    try:
        feedback, delivered = parse_sendgrid_events(request.get_data(), request.headers, key)
    except WebhookRejected as exc:
        return _rejected("sendgrid", exc)
    return jsonify(_apply("sendgrid", feedback, delivered))


@bp.post("/ses")
def ses_notifications():
    """Amazon SES bounce and complaint notifications, delivered by SNS (HTTP/S subscription)."""
    config = _config().email
    if not config.ses_topic_arns:
        return _not_configured("Amazon SES", "ses_topic_arns")
    settings = SnsSettings(topic_arns=config.ses_topic_arns, certificate_file=config.sns_certificate_file,
                           confirm_subscriptions=config.sns_confirm_subscriptions)
    try:
        result = parse_sns(request.get_data(), settings, now=current_app.extensions["herald.clock"].now())
    except WebhookRejected as exc:
        return _rejected("ses", exc)
    if not result.feedback and not result.delivered:
        log.info("event=sns_message note=%r", result.note)
        return jsonify(reports=0, note=result.note)
    return jsonify(_apply("ses", result.feedback, result.delivered))


@bp.post("/email/dsn")
def posted_dsn():
    """A bounce message (RFC 3464, the whole message as the body) from a mail server's pipe or a script.

    Authenticated with `Authorization: Bearer <[bounces] post_token>`.
    """
    token = str(_config().email.post_token)
    if not token:
        return _not_configured("Posted bounce", "post_token")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        return _rejected("dsn", WebhookRejected("missing or wrong bearer token; send Authorization: Bearer "
                                                "<[bounces] post_token>", 403))
    try:
        feedback = parse_dsn(request.get_data())
    except NotADsn as exc:
        return _rejected("dsn", WebhookRejected(str(exc), 400))
    return jsonify(_apply("dsn", feedback))
