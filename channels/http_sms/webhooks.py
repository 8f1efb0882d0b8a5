"""Webhooks of an http-sms:// gateway: delivery reports and incoming SMS, read with the URL's mapping.

Split from channels/http_sms/__init__.py, which sends; both read the same channel URL (the dr_* and in_*
options are documented there). The gateway proves itself with the URL's dr_token, sent as ?token=
or in the dr_token_header header. Only parsing here: campaigns applies reports and stores replies.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.base import ChannelEvent, WebhookRejected
from channels.http_sms.query import as_text as _text
from channels.http_sms.query import dig as _dig
from channels.http_sms.url import SCHEME, GatewayOptions, _describe, _parse
from channels.inbound import InboundSms


def parse_http_sms_webhook(*, url: str, form_or_json: Any, headers: Mapping[str, str],
                           channel_url: str) -> list[ChannelEvent]:
    """Check a gateway's delivery report(s) against `dr_token` and turn each into a ChannelEvent.

    `url` is the URL the gateway called (its `token` query parameter may carry the secret);
    `form_or_json` is the parsed JSON (one report object, or a list of them) or the form fields.
    Reports are read with the channel URL's dr_* options. Raises WebhookRejected: 403 when dr_token
    is not configured or the token is missing or wrong; 400 for a report without a status or an id,
    or with a status in none of the dr_*_values lists (named, with the known ones). A batch is
    taken whole or not at all.
    """
    parsed, options = _parse(channel_url)
    _check_token(options, url, headers, _describe(parsed))
    if options.dr_list_field and isinstance(form_or_json, Mapping):
        form_or_json = _dig(form_or_json, options.dr_list_field)
        if not isinstance(form_or_json, list):
            raise WebhookRejected(f'HTTP SMS delivery report has no list of reports at "{options.dr_list_field}" '
                                  "(dr_list_field in [channels.sms] url)", 400)
    if isinstance(form_or_json, Mapping):
        reports: list[Any] = [form_or_json]
    elif isinstance(form_or_json, list):
        reports = form_or_json
    else:
        raise WebhookRejected("HTTP SMS delivery report is neither a JSON object, a JSON list of reports nor a form",
                              400)
    return [_report_event(options, report, n) for n, report in enumerate(reports, start=1)]


def http_sms_report_reply(channel_url: str) -> str:
    """The body to answer a taken delivery report with (the URL's dr_reply), or "" for 204 No Content."""
    return _parse(channel_url)[1].dr_reply


def _check_token(options: GatewayOptions, url: str, headers: Mapping[str, str], shown: str, *,
                 what: str = "delivery report") -> None:
    path = "status" if what == "delivery report" else "inbound"
    if not options.dr_token:
        raise WebhookRejected(f'HTTP SMS {what} refused: channel URL "{shown}" has no dr_token; add '
                              "dr_token=<a long random secret> and give the gateway the URL "
                              f"{{base_url}}/webhooks/http-sms/{path}?token=<the same secret>", 403)
    lower = {k.lower(): v for k, v in headers.items()}
    given = lower.get(options.dr_token_header.lower()) or _query_token(url)
    if not given:
        raise WebhookRejected(f"HTTP SMS {what} without a token (neither a {options.dr_token_header} "
                              "header nor a token= query parameter); refused", 403)
    # Constant time, so the secret cannot be guessed byte by byte from response times.
    if not hmac.compare_digest(given.encode(), options.dr_token.encode()):
        raise WebhookRejected(f"HTTP SMS {what} has a token that does not match dr_token in "
                              "[channels.sms] url; refused", 403)


def _query_token(url: str) -> str:
    values = parse_qs(urlsplit(url).query).get("token")
    return values[-1] if values else ""


def _report_event(o: GatewayOptions, report: Any, n: int) -> ChannelEvent:
    if not isinstance(report, Mapping):
        raise WebhookRejected(f"HTTP SMS delivery report {n} is not an object; refused", 400)
    provider_status = (_text(_dig(report, o.dr_status_field)) or "").strip()
    if not provider_status:
        raise WebhookRejected(f'HTTP SMS delivery report {n} has no status field "{o.dr_status_field}" '
                              "(set dr_status_field= in [channels.sms] url)", 400)
    status = o.dr_statuses.get(provider_status.casefold())
    if status is None:
        known = ", ".join(sorted(o.dr_statuses, key=str.upper)).upper()
        raise WebhookRejected(f'HTTP SMS delivery report {n} has status "{provider_status}", which Herald does not '
                              f"know; known: {known} — list it in dr_delivered_values, dr_sent_values or "
                              "dr_failed_values", 400)
    provider_id = _text(_dig(report, o.dr_id_field)) or None
    ref = _text(_dig(report, o.dr_ref_field)) if o.dr_ref_field else None
    message_id = int(ref) if ref and ref.isdigit() else None
    if provider_id is None and message_id is None:
        raise WebhookRejected(f'HTTP SMS delivery report {n} has no message id field "{o.dr_id_field}" '
                              "(set dr_id_field= in [channels.sms] url)", 400)
    error_code = _text(_dig(report, o.dr_error_field)) if o.dr_error_field else None
    return ChannelEvent(status=status, provider_id=provider_id, message_id=message_id,
                        error_code=error_code or None, provider_status=provider_status)


def parse_http_sms_inbound(*, url: str, form_or_json: Any, headers: Mapping[str, str],
                           channel_url: str) -> list[InboundSms]:
    """Check a gateway's incoming-SMS push against `dr_token` and read each message with the in_* mapping.

    Raises WebhookRejected: 403 when dr_token is not configured or the token is missing or wrong; 400
    for a message without an id, a sender or a text field (named, with the option that sets it). A
    push of several messages is taken whole or not at all.
    """
    parsed, options = _parse(channel_url)
    _check_token(options, url, headers, _describe(parsed), what="incoming SMS")
    items = _unwrap(form_or_json, options.in_list_field, what="incoming SMS", option="in_list_field")
    return [_inbound(options, item, n) for n, item in enumerate(items, start=1)]


def _inbound(o: GatewayOptions, item: Any, n: int) -> InboundSms:
    if not isinstance(item, Mapping):
        raise WebhookRejected(f"HTTP SMS incoming message {n} is not an object; refused", 400)
    values = {}
    for name, path in (("in_id_field", o.in_id_field), ("in_from_field", o.in_from_field),
                       ("in_text_field", o.in_text_field)):
        value = _text(_dig(item, path))
        if value is None or (name != "in_text_field" and not value.strip()):
            raise WebhookRejected(f'HTTP SMS incoming message {n} has no field "{path}" (set {name}= in '
                                  "[channels.sms] url)", 400)
        values[name] = value
    return InboundSms(provider=SCHEME, provider_id=values["in_id_field"].strip(),
                      from_number=values["in_from_field"].strip(), to_number=(_text(_dig(item, o.in_to_field)) or "")
                      .strip(), body=values["in_text_field"])


def _unwrap(form_or_json: Any, list_field: str, *, what: str, option: str) -> list[Any]:
    """One object, a JSON list of them, or the list at `list_field` of a wrapping object."""
    if list_field and isinstance(form_or_json, Mapping):
        form_or_json = _dig(form_or_json, list_field)
        if not isinstance(form_or_json, list):
            raise WebhookRejected(f'HTTP SMS {what} has no list at "{list_field}" ({option} in [channels.sms] url)',
                                  400)
    if isinstance(form_or_json, Mapping):
        return [form_or_json]
    if isinstance(form_or_json, list):
        return form_or_json
    raise WebhookRejected(f"HTTP SMS {what} is neither a JSON object, a JSON list nor a form", 400)
