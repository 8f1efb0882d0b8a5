"""An HTTP SMS gateway's channel URL read into its options: where and how to post, the body format, the
answer's fields, delivery-report and inbound options, the query endpoint; secrets masked when described.
The gateway itself is channels/http_sms/__init__.py; its webhooks, webhooks.py; its query endpoint, query.py."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from channels.base import (
    ChannelConfigError,
)
from channels.http_sms.query import QUERY_OPTIONS, GatewayQuery, parse_gateway_query
from channels.ratelimit import parse_rate
from channels.urls import MASK, ChannelUrl, looks_secret, parse_channel_url

SCHEME = "http-sms"
DEFAULT_RATE = "10/second"
DEFAULT_TIMEOUT_SECONDS = 10.0
EXTRA_PREFIX = "extra."
OPTIONS = (
    "method", "body", "auth_header", "auth_value", "to_field", "text_field", "from_field", "from", "ref_field",
    "signature", "success_field", "success_value", "id_field", "error_field", "error_code_field", "transient_codes",
    "tls", "timeout", "rate", "max_length", "dr_token", "dr_token_header", "dr_id_field", "dr_ref_field",
    "dr_status_field", "dr_delivered_values", "dr_sent_values", "dr_failed_values", "dr_error_field", "dr_list_field",
    "dr_reply",
    "in_id_field", "in_from_field", "in_to_field", "in_text_field", "in_list_field", *QUERY_OPTIONS,
)
SECRET_OPTIONS = ("auth_value", "dr_token")
# SMPP 3.4 Appendix B / CMPP 2.0 final states, the words most carrier gateways pass through.
DEFAULT_DELIVERED = ("DELIVRD",)
DEFAULT_SENT = ("ACCEPTD", "ENROUTE")
DEFAULT_FAILED = ("UNDELIV", "EXPIRED", "REJECTD", "DELETED", "UNKNOWN")


@dataclass(frozen=True)
class GatewayOptions:
    """Everything the URL says, checked; built by `_parse`."""

    endpoint: str
    method: str = "POST"
    body: str = "json"
    auth: tuple[str, str] | None = None  # HTTP basic auth from user:password@
    headers: Mapping[str, str] = field(default_factory=dict)
    to_field: str = "to"
    text_field: str = "text"
    from_field: str = "from"
    sender: str = ""
    ref_field: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)
    signature: str = ""
    success_field: str = ""
    success_values: frozenset[str] = frozenset()
    id_field: str = ""
    error_field: str = ""
    error_code_field: str = ""
    transient_codes: frozenset[str] = frozenset()
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    rate: str = DEFAULT_RATE
    max_length: int | None = None  # max_length=: the most characters the gateway takes in one message
    dr_token: str = ""
    dr_token_header: str = "X-Herald-Token"
    dr_id_field: str = "id"
    dr_ref_field: str = ""
    dr_status_field: str = "status"
    dr_error_field: str = ""
    dr_list_field: str = ""
    dr_reply: str = ""
    dr_statuses: Mapping[str, str] = field(default_factory=dict)  # casefolded gateway word -> Herald status
    in_id_field: str = "id"
    in_from_field: str = "from"
    in_to_field: str = "to"
    in_text_field: str = "text"
    in_list_field: str = ""
    query: GatewayQuery | None = None  # the query endpoint, when the URL declares one (channels/http_sms/query.py)


def _parse(url: str, *, from_address: str = "") -> tuple[ChannelUrl, GatewayOptions]:
    # extra.NAME options are open-ended, so they are added to the known names before the strict check.
    extras = tuple(k for k in _raw_keys(url) if k.startswith(EXTRA_PREFIX) and len(k) > len(EXTRA_PREFIX))
    with _secrets_masked(url):
        parsed = parse_channel_url(url, scheme=SCHEME, options=OPTIONS + extras)
        tls = parsed.flag("tls") if "tls" in parsed.query else True
        timeout = parsed.number("timeout", DEFAULT_TIMEOUT_SECONDS)
    shown = _describe(parsed)
    q = parsed.query

    def refuse(problem: str) -> ChannelConfigError:
        return ChannelConfigError(f'channel URL "{shown}" {problem}')

    if not parsed.host:
        raise refuse("has no host; write http-sms://gateway.example.com/api/send?to_field=…&text_field=…")
    method = q.get("method", "POST").upper()
    if method not in ("POST", "PUT", "GET"):
        raise refuse(f'has method={q["method"]!r}; write method=POST, method=PUT or method=GET')
    body = q.get("body", "json").lower()
    if body not in ("json", "form"):
        raise refuse(f'has body={q["body"]!r}; write body=json or body=form')
    if "auth_header" in q and not q.get("auth_value"):
        raise refuse("names an auth_header but no auth_value; add auth_value=… (e.g. auth_value=Bearer%20TOKEN)")
    headers = {q.get("auth_header") or "Authorization": q["auth_value"]} if q.get("auth_value") else {}
    success_field, success_value = q.get("success_field", ""), q.get("success_value", "")
    if success_field and not _list(success_value):
        raise refuse(f"has success_field={success_field} but no success_value; add e.g. success_value=OK "
                     "(comma separated when several values mean success)")
    if success_value and not success_field:
        raise refuse(f"has success_value={success_value} but no success_field; add e.g. success_field=code")
    rate = q.get("rate", DEFAULT_RATE)
    parse_rate(rate, where=f'channel URL "{shown}": rate')
    port = f":{parsed.port}" if parsed.port else ""
    endpoint = f"{'https' if tls else 'http'}://{parsed.host}{port}{parsed.path or '/'}"
    names = {"to_field": q.get("to_field") or "to", "text_field": q.get("text_field") or "text",
             "from_field": q.get("from_field") or "from"}
    if len(set(names.values())) < len(names):
        raise refuse(f"uses one field name for two things ({', '.join(f'{k}={v}' for k, v in names.items())}); "
                     "give each its own name")
    return parsed, GatewayOptions(
        endpoint=endpoint,
        method=method,
        body=body,
        auth=(parsed.username, parsed.password) if parsed.username else None,
        headers=headers,
        sender=q.get("from") or from_address,
        ref_field=q.get("ref_field", ""),
        extra={k[len(EXTRA_PREFIX):]: v for k, v in q.items() if k in extras},
        signature=q.get("signature", ""),
        success_field=success_field,
        success_values=frozenset(_list(success_value)),
        id_field=q.get("id_field", ""),
        error_field=q.get("error_field", ""),
        error_code_field=q.get("error_code_field") or success_field,
        transient_codes=frozenset(_list(q.get("transient_codes", ""))),
        timeout=timeout,
        rate=rate,
        max_length=parsed.length_limit(None),
        dr_token=q.get("dr_token", ""),
        dr_token_header=q.get("dr_token_header") or "X-Herald-Token",
        dr_id_field=q.get("dr_id_field") or "id",
        dr_ref_field=q.get("dr_ref_field", ""),
        dr_status_field=q.get("dr_status_field") or "status",
        dr_error_field=q.get("dr_error_field", ""),
        dr_list_field=q.get("dr_list_field", ""),
        dr_reply=q.get("dr_reply", ""),
        dr_statuses=_dr_statuses(q, refuse),
        in_id_field=q.get("in_id_field") or "id",
        in_from_field=q.get("in_from_field") or "from",
        in_to_field=q.get("in_to_field") or "to",
        in_text_field=q.get("in_text_field") or "text",
        in_list_field=q.get("in_list_field", ""),
        query=parse_gateway_query(q, endpoint=endpoint, ref_field=q.get("ref_field", ""), refuse=refuse),
        **names,
    )


def _dr_statuses(q: Mapping[str, str], refuse) -> dict[str, str]:
    statuses: dict[str, str] = {}
    for option, herald, default in (("dr_delivered_values", "delivered", DEFAULT_DELIVERED),
                                    ("dr_sent_values", "sent", DEFAULT_SENT),
                                    ("dr_failed_values", "failed", DEFAULT_FAILED)):
        values = _list(q[option]) if option in q else list(default)
        for value in values:
            key = value.casefold()
            if key in statuses and statuses[key] != herald:
                raise refuse(f'lists the delivery status "{value}" as both {statuses[key]} and {herald}; '
                             "keep it in one of dr_delivered_values, dr_sent_values, dr_failed_values")
            statuses[key] = herald
    return statuses


def _raw_keys(url: str) -> list[str]:
    return [unquote(pair.partition("=")[0]) for pair in filter(None, urlsplit(url).query.split("&"))]


@contextmanager
def _secrets_masked(url: str) -> Iterator[None]:
    """Mask every secret-looking value in errors raised by the shared URL parser, which quotes option values."""
    pairs = [pair.partition("=") for pair in filter(None, urlsplit(url).query.split("&"))]
    secrets = sorted({unquote(v) for k, _, v in pairs if (unquote(k) in SECRET_OPTIONS or looks_secret(unquote(k)))
                      and v}, key=len, reverse=True)
    try:
        yield
    except ChannelConfigError as exc:
        text = str(exc)
        for secret in secrets:
            text = text.replace(secret, MASK)
        raise ChannelConfigError(text) from None


def _describe(parsed: ChannelUrl) -> str:
    return parsed.describe(hide=SECRET_OPTIONS)


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]
