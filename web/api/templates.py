"""/api/v1/templates: list, create, read, change, and preview a template against a contact."""

from __future__ import annotations

from typing import Any

from flask import request

import campaigns
from core.errors import Invalid
from web.api import (
    bp,
    config,
    iso,
    json_body,
    now,
    optional_int,
    optional_str,
    reject_unknown,
    required_str,
    token_required,
)
from web.db import get_session
from web.pages.context import check_settings, sms_as_sent, sms_max_length

CHANNELS = ("email", "sms")

PARTS = ("subject", "html", "text", "body")  # email: subject, html, text; SMS: body
BINDING = ("provider_template", "provider_params")  # SMS bound to a provider's registered template


def template_json(template: campaigns.Template) -> dict[str, Any]:
    return {
        "id": template.id,
        "name": template.name,
        "channel": template.channel,
        "subject": template.subject or "",
        "html": template.html or "",
        "text": template.text or "",
        "body": template.body or "",
        "provider_template": template.provider_template or "",
        "provider_params": dict(template.provider_params or {}),
        "created_at": iso(template.created_at),
        "updated_at": iso(template.updated_at),
    }


@bp.get("/templates")
@token_required("read")
def list_templates():
    channel = request.args.get("channel")
    if channel is not None and channel not in CHANNELS:
        # An empty or misspelt filter must not silently list every template.
        raise Invalid(f'channel "{channel}" is not known; use one of: {", ".join(CHANNELS)}, or leave it out',
                      field="channel")
    return {"items": [template_json(t) for t in campaigns.list_templates(get_session(), channel=channel)]}


@bp.post("/templates")
@token_required("write")
def create_template():
    data = json_body()
    reject_unknown(data, ("name", "channel", *PARTS, *BINDING))
    template = campaigns.create_template(
        get_session(),
        name=required_str(data, "name"),
        channel=required_str(data, "channel"),
        **{part: optional_str(data, part) for part in PARTS},
        **_binding(data),
        now=now(),
        sms_max_length=sms_max_length(),
    )
    return template_json(template), 201


@bp.get("/templates/<int:template_id>")
@token_required("read")
def get_template(template_id: int):
    return template_json(campaigns.get_template(get_session(), template_id))


@bp.put("/templates/<int:template_id>")
@token_required("write")
def update_template(template_id: int):
    """Change the fields given; fields left out keep their value."""
    data = json_body()
    reject_unknown(data, ("name", *PARTS, *BINDING))
    fields: dict[str, Any] = {part: optional_str(data, part) for part in PARTS if part in data}
    fields |= {key: value for key, value in _binding(data).items() if key in data}
    if "name" in data:
        fields["name"] = required_str(data, "name")
    template = campaigns.update_template(get_session(), template_id, now=now(), sms_max_length=sms_max_length(),
                                         **fields)
    return template_json(template)


@bp.post("/templates/preview")
@token_required("read")
def preview_template():
    """Render unsaved template parts, for a contact (or sample data), with the SMS size for SMS."""
    data = json_body()
    reject_unknown(data, ("channel", *PARTS, *BINDING, "contact_id"))
    preview = campaigns.preview_template(
        get_session(),
        channel=required_str(data, "channel"),
        **{part: optional_str(data, part) for part in PARTS},
        contact_id=optional_int(data, "contact_id"),
        base_url=config().base_url,
        tracking=config().tracking,
        as_sent=sms_as_sent(data.get("channel")),
        checks=check_settings(),
        **_binding(data),
    )
    return preview.to_dict()


def _binding(data: dict[str, Any]) -> dict[str, Any]:
    """provider_template (a string) and provider_params (an object of strings), as given or empty."""
    params = data.get("provider_params")
    if params is not None and (not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values())):
        raise Invalid('provider_params must be an object of placeholder name to Jinja expression, e.g. '
                      '{"name": "{{ contact.first_name }}"}', field="provider_params")
    return {"provider_template": optional_str(data, "provider_template"), "provider_params": params or {}}
