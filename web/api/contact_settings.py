"""/api/v1/custom-fields, /api/v1/suppressions and /api/v1/tags: the definitions of custom fields, the
global suppression list (as on the Settings pages) and the tags in use."""

from __future__ import annotations

from typing import Any

from flask import request

import audiences
from core.errors import Invalid
from web.api import (
    bp,
    config,
    iso,
    json_body,
    now,
    optional_str,
    pagination,
    reject_unknown,
    required_str,
    token_required,
)
from web.db import get_session

FIELD_INPUT = ("key", "label", "type", "choices")
SUPPRESSION_INPUT = ("addresses", "channel", "reason")


def field_json(field: audiences.CustomField) -> dict[str, Any]:
    return {"id": field.id, "key": field.key, "label": field.label, "type": field.type,
            "choices": list(field.choices or []), "created_at": iso(field.created_at)}


def suppression_json(item: audiences.Suppression) -> dict[str, Any]:
    return {"id": item.id, "channel": item.channel, "address": item.address, "reason": item.reason,
            "source": item.source, "created_at": iso(item.created_at)}


def _choices(data: dict[str, Any]) -> list[str]:
    choices = data.get("choices") or []
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise Invalid('choices must be an array of strings, e.g. ["Gold", "Silver"]', field="choices")
    return choices


# ---------------------------------------------------------------- custom fields
@bp.get("/custom-fields")
@token_required("read")
def list_custom_fields():
    return {"items": [field_json(f) for f in audiences.list_custom_fields(get_session())]}


@bp.post("/custom-fields")
@token_required("write")
def create_custom_field():
    data = json_body()
    reject_unknown(data, FIELD_INPUT)
    field = audiences.create_custom_field(get_session(), key=required_str(data, "key"),
                                          label=optional_str(data, "label"), type=required_str(data, "type"),
                                          choices=_choices(data), now=now())
    return field_json(field), 201


@bp.patch("/custom-fields/<int:field_id>")
@token_required("write")
def update_custom_field(field_id: int):
    """label, type and choices; the key stays (templates and segments name it)."""
    data = json_body()
    reject_unknown(data, ("label", "type", "choices"))
    session = get_session()
    current = audiences.get_custom_field(session, field_id)
    field = audiences.update_custom_field(
        session, field_id, label=optional_str(data, "label", current.label),
        type=optional_str(data, "type", current.type),
        choices=_choices(data) if "choices" in data else list(current.choices or []))
    return field_json(field)


@bp.delete("/custom-fields/<int:field_id>")
@token_required("write")
def delete_custom_field(field_id: int):
    audiences.delete_custom_field(get_session(), field_id)
    return {"id": field_id, "deleted": True}


# ---------------------------------------------------------------- suppression list
@bp.get("/suppressions")
@token_required("read")
def list_suppressions():
    page, per_page = pagination()
    channel = request.args.get("channel", "").strip() or None
    found = audiences.list_suppressions(get_session(), channel=channel,
                                        search=request.args.get("search", "").strip() or None, page=page,
                                        per_page=per_page)
    return {"items": [suppression_json(s) for s in found.items], "total": found.total, "page": found.page,
            "per_page": found.per_page}


@bp.post("/suppressions")
@token_required("write")
def add_suppressions():
    """Add addresses; answers 200 with what was added, already listed, and refused (with the reason)."""
    data = json_body()
    reject_unknown(data, SUPPRESSION_INPUT)
    addresses = data.get("addresses")
    if not isinstance(addresses, list) or not addresses or not all(isinstance(a, str) for a in addresses):
        raise Invalid('addresses must be a non-empty array of emails or phone numbers, e.g. ["a@example.com"]',
                      field="addresses")
    report = audiences.add_suppressions(get_session(), addresses, channel=optional_str(data, "channel") or None,
                                        reason=optional_str(data, "reason"), source="api",
                                        default_region=config().default_region, now=now())
    return {"added": report.added, "already": report.already, "rejected": report.rejected}


@bp.delete("/suppressions/<int:suppression_id>")
@token_required("write")
def remove_suppression(suppression_id: int):
    audiences.remove_suppression(get_session(), suppression_id)
    return {"id": suppression_id, "deleted": True}


# ---------------------------------------------------------------- tags
@bp.get("/tags")
@token_required("read")
def list_tags():
    return {"items": [{"id": tag.id, "name": tag.name, "contacts": count, "created_at": iso(tag.created_at)}
                      for tag, count in audiences.list_tags(get_session())]}


@bp.delete("/tags/<int:tag_id>")
@token_required("write")
def delete_tag(tag_id: int):
    """Take the tag off every contact and forget it."""
    audiences.delete_tag(get_session(), tag_id)
    return {"id": tag_id, "deleted": True}
