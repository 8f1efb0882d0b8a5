"""The OpenAPI 3.1 document for /api/v1, built as Python data next to the routes it describes.

tests/web/test_api_openapi.py walks the app's url_map and checks that every /api/v1 route and
method is documented here and every documented one exists, and validates real responses against
the schemas in schemas.py, so the document cannot drift from the code unnoticed.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from flask import request

from core.errors import Invalid
from web.api import bp, config
from web.api.openapi.campaign_paths import CAMPAIGN_PATHS
from web.api.openapi.campaign_schemas import CAMPAIGN_SCHEMAS
from web.api.openapi.inbox_paths import INBOX_PATHS
from web.api.openapi.inbox_schemas import INBOX_SCHEMAS
from web.api.openapi.journey_paths import JOURNEY_PATHS, JOURNEY_SCHEMAS
from web.api.openapi.paths import CORE_PATHS
from web.api.openapi.schemas import AUDIENCE_SCHEMAS

SCHEMAS: dict[str, Any] = {**AUDIENCE_SCHEMAS, **CAMPAIGN_SCHEMAS, **INBOX_SCHEMAS, **JOURNEY_SCHEMAS}
PATHS: dict[str, Any] = dict(sorted({**CORE_PATHS, **CAMPAIGN_PATHS, **INBOX_PATHS, **JOURNEY_PATHS}.items()))


def document(base_url: str) -> dict[str, Any]:
    """The whole OpenAPI document, with the server URL of this installation."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Herald API",
            "version": "1",
            "description": "Contacts, lists, segments, templates, campaigns and the Inbox (replies, keyword rules). "
            "Authenticate with `Authorization: Bearer <token>`; get a token with `herald user token EMAIL`. Users "
            "with the analyst role may read but not write. Errors are JSON: {error, message, field?, line?}.",
        },
        "servers": [{"url": base_url.rstrip("/") + bp.url_prefix}],
        "security": [{"bearerToken": []}],
        "tags": [{"name": name} for name in ("contacts", "lists", "segments", "templates", "campaigns",
                                             "conversions", "inbox", "meta")],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearerToken": {"type": "http", "scheme": "bearer",
                                                "description": "from `herald user token EMAIL`"}},
            "schemas": SCHEMAS,
        },
    }


@bp.before_request
def refuse_unknown_query_parameters() -> None:
    """A misspelt filter (`?chanel=sms`) must not be dropped silently and answer as if there were none: a
    query parameter the operation does not document is a 422 naming it and the known ones."""
    if request.url_rule is None:
        return
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", request.url_rule.rule.removeprefix(bp.url_prefix or ""))
    known = _query_parameters(path, request.method.lower())
    if known is None:
        return
    for name in request.args:
        if name not in known:
            raise Invalid(f'"{name}" is not a query parameter of {request.method} {bp.url_prefix}{path}; '
                          f'known: {", ".join(known) or "none"}', field=name)


@cache
def _query_parameters(path: str, method: str) -> tuple[str, ...] | None:
    item = PATHS.get(path, {})
    operation = item.get(method) or (item.get("get") if method == "head" else None)
    if operation is None:
        return None
    parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
    return tuple(p["name"] for p in parameters if p["in"] == "query")


@bp.get("/openapi.json")
def openapi_json():
    """Public, like most API descriptions: it holds no data, and clients read it before they have a token."""
    return document(config().base_url)
