"""/api/v1/contacts: list and search, create one, read one, import a CSV or Excel file."""

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
    query_int,
    reject_unknown,
    token_required,
)
from web.db import get_session

# What POST /contacts takes: the contact fields, "name" (split into first/last) and custom attributes.
CONTACT_INPUT_FIELDS = (*audiences.CONTACT_FIELDS, "name", "attributes")


def contact_json(contact: audiences.Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "external_id": contact.external_id,
        "email": contact.email,
        "phone": contact.phone,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "name": contact.name,
        "company": contact.company,
        "country": contact.country,
        "locale": contact.locale,
        "time_zone": contact.time_zone,
        "birthday": iso(contact.birthday),
        "attributes": dict(contact.attributes or {}),
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
    }


@bp.get("/contacts")
@token_required("read")
def list_contacts():
    page, per_page = pagination()
    found = audiences.list_contacts(
        get_session(),
        search=request.args.get("search", "").strip() or None,
        list_id=query_int("list_id", None),
        page=page,
        per_page=per_page,
    )
    return {"items": [contact_json(c) for c in found.items], "total": found.total, "page": found.page,
            "per_page": found.per_page}


@bp.post("/contacts")
@token_required("write")
def create_contact():
    data = json_body()
    reject_unknown(data, CONTACT_INPUT_FIELDS)
    # Field values are text, as in a CSV; a number or list here is a client bug, named rather than str()-ed.
    fields: dict[str, Any] = {name: optional_str(data, name) for name in CONTACT_INPUT_FIELDS
                              if name != "attributes" and name in data}
    attributes = data.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, dict):
            raise Invalid('attributes must be a JSON object of custom values, e.g. {"tier": "A"}', field="attributes")
        fields["attributes"] = attributes
    contact = audiences.create_contact(get_session(), default_region=config().default_region, now=now(), **fields)
    return contact_json(contact), 201


@bp.get("/contacts/<int:contact_id>")
@token_required("read")
def get_contact(contact_id: int):
    return contact_json(audiences.get_contact(get_session(), contact_id))


@bp.post("/contacts/import")
@token_required("write")
def import_contacts():
    """A multipart upload: `file` (CSV or .xlsx) and optionally `list_name` to put the contacts on.

    Answers 200 with the import report even when rows were rejected: each rejected row is in the
    body with its line number and the reason, so a client can show or fix them.
    """
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("send the contacts as a multipart form field named file (a .csv or .xlsx file)", field="file")
    list_name = request.form.get("list_name", "").strip() or None
    report = audiences.import_contacts(
        get_session(),
        upload.stream,
        filename=upload.filename,
        default_region=config().default_region,
        list_name=list_name,
        now=now(),
    )
    return report.to_dict()
