"""The OpenAPI 3.1 document for /api/v1, built as Python data next to the routes it describes.

tests/web/test_api_openapi.py walks the app's url_map and checks that every /api/v1 route and
method is documented here and every documented one exists, and validates real responses against
the schemas in openapi_schemas.py, so the document cannot drift from the code unnoticed.
"""

from __future__ import annotations

from typing import Any

from web.api import bp, config
from web.api.openapi_campaign_schemas import CAMPAIGN_SCHEMAS
from web.api.openapi_paths import PATHS
from web.api.openapi_schemas import AUDIENCE_SCHEMAS

SCHEMAS: dict[str, Any] = {**AUDIENCE_SCHEMAS, **CAMPAIGN_SCHEMAS}


def document(base_url: str) -> dict[str, Any]:
    """The whole OpenAPI document, with the server URL of this installation."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Herald API",
            "version": "1",
            "description": "Contacts, lists, segments, templates and campaigns. Authenticate with "
            "`Authorization: Bearer <token>`; get a token with `herald user token EMAIL`. Users with the analyst "
            "role may read but not write. Errors are JSON: {error, message, field?, line?}.",
        },
        "servers": [{"url": base_url.rstrip("/") + bp.url_prefix}],
        "security": [{"bearerToken": []}],
        "tags": [{"name": name} for name in ("contacts", "lists", "segments", "templates", "campaigns",
                                             "conversions", "meta")],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearerToken": {"type": "http", "scheme": "bearer",
                                                "description": "from `herald user token EMAIL`"}},
            "schemas": SCHEMAS,
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    """Public, like most API descriptions: it holds no data, and clients read it before they have a token."""
    return document(config().base_url)
