"""/api/v1/contacts: list and filter, create, read, change and delete one, bulk actions, import a file,
one contact's consent (with its history) and timeline."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import request

import audiences
from campaigns import contact_timeline
from core.errors import Invalid
from web.api import (
    api_user,
    bp,
    config,
    iso,
    json_body,
    now,
    optional_int,
    optional_str,
    pagination,
    query_int,
    reject_unknown,
    token_required,
)
from web.db import get_session

# Text fields a client writes as strings, as in a CSV; a number or list there is a client bug, named.
TEXT_INPUT_FIELDS = (*audiences.CONTACT_FIELDS, "name")
# What POST /contacts and PATCH /contacts/{id} take.
CONTACT_INPUT_FIELDS = (*TEXT_INPUT_FIELDS, "owner_id", "attributes", "tags", "dates")
SELECTION_FIELDS = ("search", "list_id", "tag", "owner_id", "segment_id", "contact_ids")
BULK_FIELDS = ("action", "selection", "tag", "list_id", "owner_id", "expected_count")


def contact_json(contact: audiences.Contact, *, tags: list[str] | None = None,
                 dates: list[audiences.ContactDate] | None = None) -> dict[str, Any]:
    """A contact as the API shows it. `tags` and `dates` come from one batched query per page
    (audiences.tags_of, dates_of); without them they are read for this contact alone."""
    if tags is None or dates is None:
        session = get_session()
        tags = [t.name for t in audiences.contact_tags(session, contact.id)] if tags is None else tags
        dates = audiences.contact_dates(session, contact.id) if dates is None else dates
    return {
        "id": contact.id,
        "external_id": contact.external_id,
        "email": contact.email,
        "phone": contact.phone,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "name": contact.name,
        "company": contact.company,
        "region": contact.region or "",
        "country": contact.country,
        "locale": contact.locale,
        "time_zone": contact.time_zone,
        "birthday": iso(contact.birthday),
        "owner_id": contact.owner_id,
        "lifecycle_stage": contact.lifecycle_stage,
        "value_tier": contact.value_tier,
        "source": contact.source or "",
        "notes": contact.notes or "",
        "rfm": {"recency": contact.rfm_recency, "frequency": contact.rfm_frequency,
                "monetary": contact.rfm_monetary, "updated_at": iso(contact.rfm_updated_at)},
        "attributes": dict(contact.attributes or {}),
        "tags": tags,
        "dates": [{"id": d.id, "kind": d.kind, "date": iso(d.date), "note": d.note} for d in dates],
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
    }


def contacts_json(contacts: list[audiences.Contact]) -> list[dict[str, Any]]:
    """Many contacts with their tags and dates: two queries for the whole page, not two per contact."""
    session = get_session()
    ids = [c.id for c in contacts]
    tags, dates = audiences.tags_of(session, ids), audiences.dates_of(session, ids)
    return [contact_json(c, tags=tags[c.id], dates=dates[c.id]) for c in contacts]


def _selection(data: Mapping[str, Any], where: str) -> audiences.ContactSelection:
    if not isinstance(data, Mapping):
        raise Invalid(f'{where} must be an object such as {{"tag": "vip"}}', field=where)
    reject_unknown(data, SELECTION_FIELDS)
    ids = data.get("contact_ids") or []
    if not isinstance(ids, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise Invalid(f"{where}.contact_ids must be an array of contact ids", field="contact_ids")
    return audiences.ContactSelection(
        search=optional_str(data, "search").strip() or None, list_id=optional_int(data, "list_id"),
        tag=optional_str(data, "tag").strip() or None, owner_id=optional_int(data, "owner_id"),
        segment_id=optional_int(data, "segment_id"), contact_ids=ids)


def _input(data: dict[str, Any]) -> dict[str, Any]:
    """The body's fields, type-checked, as the domain functions take them."""
    reject_unknown(data, CONTACT_INPUT_FIELDS)
    fields: dict[str, Any] = {name: (None if data[name] is None else optional_str(data, name))
                              for name in TEXT_INPUT_FIELDS if name in data}
    if "owner_id" in data:
        fields["owner_id"] = optional_int(data, "owner_id")
    if "attributes" in data:
        if not isinstance(data["attributes"], dict):
            raise Invalid('attributes must be a JSON object of custom values, e.g. {"level": "Gold"}',
                          field="attributes")
        fields["attributes"] = data["attributes"]
    if "tags" in data:
        tags = data["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise Invalid('tags must be an array of tag names, e.g. ["vip"]', field="tags")
        fields["tags"] = tags
    if "dates" in data:
        if not isinstance(data["dates"], list):
            raise Invalid('dates must be an array of {"kind": …, "date": "YYYY-MM-DD", "note": …}', field="dates")
        fields["dates"] = data["dates"]
    return fields


@bp.get("/contacts")
@token_required("read")
def list_contacts():
    page, per_page = pagination()
    selection = audiences.ContactSelection(
        search=request.args.get("search", "").strip() or None, list_id=query_int("list_id", None),
        tag=request.args.get("tag", "").strip() or None, owner_id=query_int("owner_id", None, minimum=0),
        segment_id=query_int("segment_id", None))
    found = audiences.list_selection(get_session(), selection, today=now().date(), page=page, per_page=per_page)
    return {"items": contacts_json(found.items), "total": found.total, "page": found.page,
            "per_page": found.per_page}


@bp.post("/contacts")
@token_required("write")
def create_contact():
    contact = audiences.create_contact(get_session(), default_region=config().default_region, now=now(),
                                       **_input(json_body()))
    return contact_json(contact), 201


@bp.get("/contacts/<int:contact_id>")
@token_required("read")
def get_contact(contact_id: int):
    return contact_json(audiences.get_contact(get_session(), contact_id))


@bp.patch("/contacts/<int:contact_id>")
@token_required("write")
def update_contact(contact_id: int):
    """Only the fields sent change; null or "" clears one. attributes merge (null removes a key);
    tags and dates, when sent, replace the contact's whole set."""
    changes = _input(json_body())
    session = get_session()
    try:
        contact = audiences.update_contact(session, contact_id, default_region=config().default_region, now=now(),
                                           changes=changes)
    except Invalid:
        session.rollback()
        raise
    return contact_json(contact)


@bp.delete("/contacts/<int:contact_id>")
@token_required("write")
def delete_contact(contact_id: int):
    audiences.delete_contact(get_session(), contact_id)
    return {"id": contact_id, "deleted": True}


@bp.post("/contacts/bulk")
@token_required("write")
def bulk_contacts():
    """One bulk action on a selection (the same filter as GET /contacts, or contact_ids). Deleting needs
    `expected_count`, the number the client showed and the user confirmed."""
    data = json_body()
    reject_unknown(data, BULK_FIELDS)
    action = optional_str(data, "action")
    if action not in audiences.BULK_ACTIONS:
        raise Invalid(f'action "{action}" is not known; use one of {", ".join(audiences.BULK_ACTIONS)}',
                      field="action")
    selection = _selection(data.get("selection") or {}, "selection")
    if action == "delete" and selection.is_everyone:
        raise Invalid("deleting every contact needs a selection (a filter or contact_ids) — this endpoint will not "
                      "empty the whole audience", field="selection")
    changed = audiences.run_bulk_action(
        get_session(), action, selection, today=now().date(), now=now(), tag=optional_str(data, "tag") or None,
        list_id=optional_int(data, "list_id"), owner_id=optional_int(data, "owner_id"),
        expected=optional_int(data, "expected_count"))
    return {"action": action, "changed": changed}


@bp.post("/contacts/import")
@token_required("write")
def import_contacts():
    """A multipart upload: `file` (CSV or .xlsx); optionally `list_name` to put the contacts on, `mode`
    (update, skip, new-only), `encoding` (a CSV's, when detection gets it wrong), `columns`, a JSON
    object {"column header": "field"} changing how columns are read, `region` (the country of numbers
    without +country code) and `on_bad_address` (drop-field, reject-row).

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
        default_region=request.form.get("region", "").strip() or config().default_region,
        list_name=list_name,
        now=now(),
        mode=request.form.get("mode", "").strip() or "update",
        encoding=request.form.get("encoding", "").strip() or None,
        columns=_import_columns(request.form.get("columns", "")),
        limits=config().imports,
        on_bad_address=request.form.get("on_bad_address", "").strip() or "drop-field",
    )
    return report.to_dict()


def _import_columns(text: str) -> dict[str, str] | None:
    if not text.strip():
        return None
    try:
        columns = json.loads(text)
    except ValueError:
        columns = None
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise Invalid('columns must be a JSON object of column header to field, e.g. {"手机": "phone", '
                      '"积分": "attributes.points", "备注": "ignore"}', field="columns")
    return columns


# ---------------------------------------------------------------- consent and timeline of one contact
def _consent_json(session: Any, contact_id: int) -> dict[str, Any]:
    current = audiences.current_consents(session, contact_id)
    return {
        "current": {channel: {"status": current[channel].status if channel in current else "subscribed",
                              "source": current[channel].source if channel in current else "",
                              "changed_at": iso(current[channel].changed_at) if channel in current else None}
                    for channel in audiences.CHANNELS},
        "history": [{"channel": c.channel, "status": c.status, "source": c.source, "changed_at": iso(c.changed_at),
                     "changed_by": c.changed_by} for c in audiences.consent_history(session, contact_id)],
    }


@bp.get("/contacts/<int:contact_id>/consent")
@token_required("read")
def get_consent(contact_id: int):
    """The consent per channel now (no record: subscribed) and every change, newest first."""
    session = get_session()
    audiences.get_contact(session, contact_id)
    return _consent_json(session, contact_id)


@bp.post("/contacts/<int:contact_id>/consent")
@token_required("write")
def set_consent(contact_id: int):
    """Record a consent change (e.g. from a shop's preference centre); kept in the history with its source."""
    data = json_body()
    reject_unknown(data, ("channel", "status", "source"))
    session = get_session()
    audiences.set_consent_by_hand(session, contact_id, optional_str(data, "channel"), optional_str(data, "status"),
                                  user=api_user(), source=optional_str(data, "source") or "api", now=now())
    return _consent_json(session, contact_id)


@bp.get("/contacts/<int:contact_id>/timeline")
@token_required("read")
def get_timeline(contact_id: int):
    """Every message, message event and purchase of the contact, newest first (at most `limit`, 100 by default)."""
    session = get_session()
    audiences.get_contact(session, contact_id)
    limit = query_int("limit", 100, maximum=500) or 100
    return {"items": [{"time": iso(e.time), "kind": e.kind, "title": e.title, "detail": e.detail,
                       "status": e.status, "channel": e.channel or None, "campaign_id": e.campaign_id,
                       "message_id": e.message_id} for e in contact_timeline(session, contact_id, limit=limit)]}
