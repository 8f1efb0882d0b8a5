"""Asking an http-sms gateway what it took, by Herald's reference: the query endpoint a channel URL declares.

    http-sms://gw.example.com/sms/send?…&ref_field=ref&query_url=/sms/query&query_status_field=data.0.status
        &query_id_field=data.0.msgId

Split from channels/http_sms/__init__.py (which sends, and reads these options with the others). Many gateways
keep what a caller sent under the caller's reference (Aliyun OutId, Tencent SessionContext, a carrier
platform's custom id) and let it be looked up: with `ref_field` Herald sends its message id as that
reference, and with a query endpoint the reconciler (campaigns/delivery/reconcile.py) asks for it after
an answer was lost. Options:
- `query_url`            the query endpoint: a path on the send endpoint's host (`/sms/query`) or an
                         http(s) URL. Needs `ref_field`: the reference is what the gateway can find.
- `query_ref_param`      the query parameter carrying the reference (default: ref_field's name).
- `query_status_field`   path of the message's status in the answer (required with query_url).
- `query_missing_values` statuses meaning "no such message" (default NOT_FOUND,NOTFOUND,NONE); an answer
                         without a status at that path (an empty list: `data.0.status`) or a 404 means
                         the same.
- `query_id_field`       path of the gateway's id for the message (else herald-<message id>).
The request is a GET with the send endpoint's headers and credentials. Any other answer (5xx, 429, 401,
a timeout) leaves the question unanswered: the row stays `unknown` and is asked again next time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from channels.base import ChannelConfigError, SentQuestion, Sighting

log = logging.getLogger("herald.channels")

QUERY_OPTIONS = ("query_url", "query_ref_param", "query_status_field", "query_missing_values", "query_id_field")
DEFAULT_MISSING = ("NOT_FOUND", "NOTFOUND", "NONE")


@dataclass(frozen=True)
class GatewayQuery:
    """A gateway's query endpoint, from the URL's query_* options (parse_gateway_query)."""

    url: str
    ref_param: str
    status_field: str
    id_field: str = ""
    missing_values: frozenset[str] = frozenset(v.casefold() for v in DEFAULT_MISSING)


def parse_gateway_query(q: Mapping[str, str], *, endpoint: str, ref_field: str,
                        refuse: Callable[[str], ChannelConfigError]) -> GatewayQuery | None:
    """The query endpoint the URL declares, or None; raises what `refuse` makes, naming the fix."""
    if not q.get("query_url"):
        stray = [name for name in QUERY_OPTIONS if q.get(name)]
        if stray:
            raise refuse(f"has {', '.join(stray)} but no query_url; add query_url=/path/of/the/query/endpoint")
        return None
    if not ref_field:
        raise refuse("has query_url but no ref_field: the gateway can only find a message by the reference Herald "
                     "sends with it; add ref_field=<the gateway's field for the caller's reference>")
    if not q.get("query_status_field"):
        raise refuse("has query_url but no query_status_field; add the path of the status in the query's answer, "
                     "e.g. query_status_field=data.0.status")
    url = q["query_url"]
    if url.startswith("/"):
        parts = urlsplit(endpoint)
        url = f"{parts.scheme}://{parts.netloc}{url}"
    elif urlsplit(url).scheme not in ("http", "https"):
        raise refuse(f"has query_url={url!r}; write a path on the gateway (/sms/query) or an http(s):// URL")
    missing = [v.strip() for v in q.get("query_missing_values", ",".join(DEFAULT_MISSING)).split(",") if v.strip()]
    return GatewayQuery(url=url, ref_param=q.get("query_ref_param") or ref_field,
                        status_field=q["query_status_field"], id_field=q.get("query_id_field", ""),
                        missing_values=frozenset(v.casefold() for v in missing))


def look_up_by_reference(http: requests.Session, query: GatewayQuery, questions: Sequence[SentQuestion], *,
                         headers: Mapping[str, str], auth: tuple[str, str] | None,
                         timeout: float) -> dict[int, list[Sighting]]:
    """Ask the gateway for each question's message by its reference (Herald's message id); see the module doc.
    {message id: [the message] or []}, leaving out what the gateway did not answer. Never raises for it."""
    found: dict[int, list[Sighting]] = {}
    for question in questions:
        reference = str(question.message_id)
        try:
            response = http.get(query.url, params={query.ref_param: reference}, headers=dict(headers), auth=auth,
                                timeout=timeout, allow_redirects=False)
        except requests.RequestException as exc:
            log.warning("event=look_up_failed channel=http-sms message_id=%d endpoint=%s error=%r",
                        question.message_id, query.url, str(exc))
            continue
        if response.status_code == 404:
            found[question.message_id] = []
            continue
        if not 200 <= response.status_code < 300:
            log.warning("event=look_up_failed channel=http-sms message_id=%d endpoint=%s http_status=%d",
                        question.message_id, query.url, response.status_code)
            continue
        try:
            answer = response.json()
        except ValueError:
            log.warning("event=look_up_failed channel=http-sms message_id=%d endpoint=%s reason=not-json",
                        question.message_id, query.url)
            continue
        status = as_text(dig(answer, query.status_field))
        if status is None or status.casefold() in query.missing_values:
            found[question.message_id] = []
            continue
        provider_id = (as_text(dig(answer, query.id_field)) if query.id_field else None) or f"herald-{reference}"
        found[question.message_id] = [Sighting(provider_id, body="", by_reference=True)]
    return found


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path ("data.msgId", "results.0.sid"); None when any step is missing."""
    if not path or data is None:
        return None
    if isinstance(data, Mapping) and path in data:  # a flat form field named "data.msgId"
        return data[path]
    for part in path.split("."):
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def as_text(value: Any) -> str | None:
    """A JSON scalar as text (true -> "true", 0 -> "0"); None for nothing, an object or a list."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
