"""Provider webhooks: no login and no CSRF (providers cannot have either); the signature is the check.

A webhook only translates: it checks the signature, lets the channel parse the request into
ChannelEvents, and hands them to campaigns, which owns every status rule (forward-only moves).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, request

import campaigns
from channels import WebhookRejected, twilio_auth_token
from channels.china import (
    aliyun,
    parse_aliyun_inbound,
    parse_aliyun_report,
    parse_tencent_inbound,
    parse_tencent_report,
    tencent,
)
from channels.http_sms.webhooks import http_sms_report_reply, parse_http_sms_inbound, parse_http_sms_webhook
from channels.twilio_webhooks import parse_twilio_inbound, twiml_message
from core.config import Config
from web.db import get_session, retrying_on_disconnect

log = logging.getLogger("herald.web")

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


# POST /twilio/status/<message id>, Twilio's status callbacks, is answered in front of Flask by
# web.status_callbacks: it is the webhook that comes in storms, and Flask's per-request work doubled its cost.


@bp.post("/http-sms/status")
def http_sms_status():
    """Delivery reports from an http-sms:// gateway: one report (JSON object or form) or a JSON list of them.

    The gateway proves itself with the URL's dr_token, sent as ?token= or in a header. Messages are
    found by the gateway's own id (or by Herald's, when the gateway echoes ref_field). 204 when taken
    (or 200 with the URL's dr_reply, for gateways that wait for their own acknowledgement); 403 for a
    missing or wrong token; 400 for a report Herald cannot read; 404 when the SMS channel is not http-sms://.
    """
    config: Config = current_app.extensions["herald.config"]
    sms_url = str(config.channels["sms"].url)
    scheme = urlsplit(sms_url).scheme
    if scheme != "http-sms":
        return jsonify(error="NotFound", message=f"the SMS channel is {scheme}://, not http-sms://, so Herald takes no "
                       "HTTP SMS delivery reports — set [channels.sms] url to http-sms://… to use a gateway"), 404
    payload = request.get_json(silent=True) if request.is_json else request.form
    try:
        events = parse_http_sms_webhook(url=request.full_path, form_or_json=payload, headers=request.headers,
                                        channel_url=sms_url)
    except WebhookRejected as exc:
        log.warning("event=webhook_rejected provider=http-sms status=%s reason=%r", exc.http_status, str(exc))
        return jsonify(error="WebhookRejected", message=str(exc)), exc.http_status
    now = current_app.extensions["herald.clock"].now()
    retrying_on_disconnect(lambda session: campaigns.apply_channel_events(session, events, now=now))
    reply = http_sms_report_reply(sms_url)
    return (reply, 200, {"Content-Type": "application/json"}) if reply else ("", 204)


@bp.post("/twilio/inbound")
def twilio_inbound():
    """Twilio's incoming-message webhook (the number's or Messaging Service's "A message comes in" URL).

    The reply is stored and acted on (campaigns.record_reply); the answer is TwiML, with a <Message>
    when the keyword has a reply text. 403 for a bad or missing signature (nothing is stored); 400 for
    a request Herald cannot read; 404 when the SMS channel is not Twilio.
    """
    config: Config = current_app.extensions["herald.config"]
    sms_url = str(config.channels["sms"].url)
    scheme = urlsplit(sms_url).scheme
    if scheme != "twilio":
        return jsonify(error="NotFound", message=f"the SMS channel is {scheme}://, not twilio://, so Herald takes no "
                       "Twilio incoming messages — set [channels.sms] url to twilio://SID:TOKEN@default?from=… "
                       "to use Twilio"), 404
    public_url = config.base_url.rstrip("/") + request.full_path.rstrip("?")
    try:
        inbound = parse_twilio_inbound(url=public_url, form=request.form, headers=request.headers,
                                       auth_token=twilio_auth_token(sms_url))
    except WebhookRejected as exc:
        log.warning("event=webhook_rejected provider=twilio kind=inbound status=%s reason=%r", exc.http_status,
                    str(exc))
        return jsonify(error="WebhookRejected", message=str(exc)), exc.http_status
    clock = current_app.extensions["herald.clock"]
    outcome = campaigns.record_reply(get_session(), inbound, config=config.replies,
                                     default_region=config.default_region, now=clock.now())
    return twiml_message(outcome.answer), 200, {"Content-Type": "text/xml; charset=utf-8"}


@bp.post("/http-sms/inbound")
def http_sms_inbound():
    """Incoming SMS pushed by an http-sms:// gateway (one message, a JSON list, or a wrapped list; see
    the in_* options). Each reply is stored and acted on; a keyword's reply text is sent back through
    the gateway. 204 when taken (or 200 with dr_reply); 403 for a missing or wrong token; 400 for a
    message Herald cannot read; 404 when the SMS channel is not http-sms://.
    """
    config: Config = current_app.extensions["herald.config"]
    sms_url = str(config.channels["sms"].url)
    scheme = urlsplit(sms_url).scheme
    if scheme != "http-sms":
        return jsonify(error="NotFound", message=f"the SMS channel is {scheme}://, not http-sms://, so Herald takes no "
                       "incoming SMS from a gateway — set [channels.sms] url to http-sms://… to use a gateway"), 404
    payload = request.get_json(silent=True) if request.is_json else request.form
    try:
        messages = parse_http_sms_inbound(url=request.full_path, form_or_json=payload, headers=request.headers,
                                          channel_url=sms_url)
    except WebhookRejected as exc:
        log.warning("event=webhook_rejected provider=http-sms kind=inbound status=%s reason=%r", exc.http_status,
                    str(exc))
        return jsonify(error="WebhookRejected", message=str(exc)), exc.http_status
    clock = current_app.extensions["herald.clock"]
    for inbound in messages:
        outcome = campaigns.record_reply(get_session(), inbound, config=config.replies,
                                         default_region=config.default_region, now=clock.now())
        if outcome.answer:
            campaigns.send_keyword_answer(config.channels["sms"], to=inbound.from_number, text=outcome.answer,
                                   reply_id=outcome.reply_id)
    reply = http_sms_report_reply(sms_url)
    return (reply, 200, {"Content-Type": "application/json"}) if reply else ("", 204)


# ---------------------------------------------------------------------- Alibaba Cloud and Tencent Cloud SMS
# Neither platform signs its callbacks; the channel URL's callback_token, carried as ?token= in the URL set
# in their console, is the check (channels/china/shared.py). Each pushes receipts and replies as JSON and
# wants its own acknowledgement back, or it pushes again.
TEMPLATE_SMS = {
    aliyun.SCHEME: (parse_aliyun_report, parse_aliyun_inbound, aliyun.CALLBACK_ANSWER),
    tencent.SCHEME: (parse_tencent_report, parse_tencent_inbound, tencent.CALLBACK_ANSWER),
}


@bp.post("/aliyun-sms/report")
def aliyun_sms_report():
    """Alibaba Cloud SmsReport receipts (a JSON list): each moves its message forward. 200 with {"code": 0, …}
    when taken; 403 for a missing or wrong ?token=; 400 for a receipt Herald cannot read; 404 when the SMS
    channel is not aliyun-sms://."""
    return _template_sms_report(aliyun.SCHEME)


@bp.post("/aliyun-sms/inbound")
def aliyun_sms_inbound():
    """Alibaba Cloud SmsUp replies (a JSON list): each is stored and acted on (退订, TD…); answers as the report."""
    return _template_sms_inbound(aliyun.SCHEME)


@bp.post("/tencent-sms/report")
def tencent_sms_report():
    """Tencent Cloud receipts (a JSON list): each moves its message forward. 200 with {"result": 0, …} when
    taken; 403 for a missing or wrong ?token=; 400 for a receipt Herald cannot read; 404 when the SMS channel
    is not tencent-sms://."""
    return _template_sms_report(tencent.SCHEME)


@bp.post("/tencent-sms/inbound")
def tencent_sms_inbound():
    """A Tencent Cloud reply (one JSON object): stored and acted on (退订, TD…); answers as the report."""
    return _template_sms_inbound(tencent.SCHEME)


def _template_sms_channel(scheme: str) -> tuple[Config, str, tuple | None]:
    """The config, the SMS channel URL, and a 404 answer when that channel is not `scheme`://."""
    config: Config = current_app.extensions["herald.config"]
    sms_url = str(config.channels["sms"].url)
    configured = urlsplit(sms_url).scheme
    if configured != scheme:
        return config, sms_url, (jsonify(error="NotFound", message=f"the SMS channel is {configured}://, not "
                                         f"{scheme}://, so Herald takes no callbacks for it — set [channels.sms] url "
                                         f"to {scheme}://… to use it"), 404)
    return config, sms_url, None


def _template_sms_report(scheme: str):
    config, sms_url, not_here = _template_sms_channel(scheme)
    if not_here is not None:
        return not_here
    parse_report, _, answer = TEMPLATE_SMS[scheme]
    try:
        events = parse_report(url=request.full_path, payload=request.get_json(silent=True, force=True),
                              channel_url=sms_url)
    except WebhookRejected as exc:
        log.warning("event=webhook_rejected provider=%s kind=report status=%s reason=%r", scheme, exc.http_status,
                    str(exc))
        return jsonify(error="WebhookRejected", message=str(exc)), exc.http_status
    now = current_app.extensions["herald.clock"].now()
    retrying_on_disconnect(lambda session: campaigns.apply_channel_events(session, events, now=now))
    return jsonify(answer)


def _template_sms_inbound(scheme: str):
    config, sms_url, not_here = _template_sms_channel(scheme)
    if not_here is not None:
        return not_here
    _, parse_inbound, answer = TEMPLATE_SMS[scheme]
    try:
        messages = parse_inbound(url=request.full_path, payload=request.get_json(silent=True, force=True),
                                 channel_url=sms_url)
    except WebhookRejected as exc:
        log.warning("event=webhook_rejected provider=%s kind=inbound status=%s reason=%r", scheme, exc.http_status,
                    str(exc))
        return jsonify(error="WebhookRejected", message=str(exc)), exc.http_status
    clock = current_app.extensions["herald.clock"]
    for inbound in messages:
        outcome = campaigns.record_reply(get_session(), inbound, config=config.replies,
                                         default_region=config.default_region, now=clock.now())
        if outcome.answer:
            # These platforms send only registered templates: a keyword's free-text answer cannot go out.
            # The opt-out itself is recorded already; the operator's own 退订 confirmation covers the rest.
            log.info("event=reply_answer_skipped reply_id=%d provider=%s reason=%r", outcome.reply_id, scheme,
                     "the provider sends only registered templates")
    return jsonify(answer)
