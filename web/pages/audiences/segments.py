"""Segment pages: the list of saved segments, the rule editor with its live count, freezing into a list, and
the CSV/XLSX export of a segment, a list or the filtered contacts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from audiences import (
    ContactSelection,
    SegmentRuleInvalid,
    create_segment,
    export_columns,
    export_contacts,
    field_values,
    freeze_segment,
    get_list,
    get_segment,
    list_segments,
    preview_segment,
    update_segment,
)
from core.errors import HeraldError, Invalid
from web.auth import read_only
from web.db import get_session
from web.json_input import JsonRefused, parse_json
from web.pages.audiences.segment_catalogue import catalogue
from web.pages.context import now
from web.redirects import referrer_path

bp = Blueprint("segments", __name__)

EMPTY_RULES: dict[str, Any] = {"all": []}
SAMPLE_SIZE = 10


@bp.get("/segments")
def index():
    return render_template("segments/list.html", segments=list_segments(get_session()))


def _editor(segment: Any = None, *, name: str = "", rules: Any = None, errors: dict[str, str] | None = None,
            status: int = 200):
    db_session = get_session()
    shown_rules = rules if rules is not None else (segment.rules if segment is not None else EMPTY_RULES)
    fields = catalogue(db_session)
    # The export's columns keep their file names (id, value_tier…); the reader's word is shown beside each.
    column_labels = {field["key"]: field["label"] for _group, listed in fields["groups"] for field in listed}
    column_labels.update({"id": _("Contact ID"), "name": _("Name"), "tags": _("Tags"), "time_zone": _("Time zone"),
                          "notes": _("Notes"), "updated_at": _("Last changed")})
    return render_template(
        "segments/editor.html", segment=segment, name=name or (segment.name if segment is not None else ""),
        rules_json=json.dumps(shown_rules, ensure_ascii=False), catalogue=fields,
        columns=export_columns(db_session), column_labels=column_labels, errors=errors or {},
    ), status


def _posted_rules() -> Any:
    try:
        return parse_json(request.form.get("rules") or "null", what="rules")
    except ValueError:
        raise SegmentRuleInvalid("rules", "is not valid JSON — reload the page and build the rules again") from None


@bp.get("/segments/new")
def new():
    return _editor()


@bp.post("/segments/new")
def create():
    name = request.form.get("name", "")
    try:
        rules = _posted_rules()
        made = create_segment(get_session(), name=name, rules=rules, now=now())
    except Invalid as exc:
        return _editor(name=name, rules=_safe_rules(), status=422,
                       errors={exc.field if exc.field == "name" else "rules": exc.message})
    flash(_("Segment “%(name)s” saved.", name=made.name), "success")
    return redirect(url_for("segments.edit", segment_id=made.id), 303)


def _safe_rules() -> Any:
    try:
        return parse_json(request.form.get("rules") or "null", what="rules") or EMPTY_RULES
    except (ValueError, Invalid):
        return EMPTY_RULES


@bp.get("/segments/<int:segment_id>")
def edit(segment_id: int):
    return _editor(get_segment(get_session(), segment_id))


@bp.post("/segments/<int:segment_id>")
def save(segment_id: int):
    db_session = get_session()
    segment = get_segment(db_session, segment_id)
    name = request.form.get("name", "")
    try:
        update_segment(db_session, segment_id, name=name, rules=_posted_rules(), now=now())
    except Invalid as exc:
        db_session.rollback()
        return _editor(segment, name=name, rules=_safe_rules(), status=422,
                       errors={exc.field if exc.field == "name" else "rules": exc.message})
    flash(_("Segment “%(name)s” saved.", name=segment.name), "success")
    return redirect(url_for("segments.edit", segment_id=segment_id), 303)


@bp.post("/segments/preview")
@read_only
def preview():
    """The live count, a sample and each top-level rule's effect, for the editor (JSON, with the page's CSRF)."""
    try:
        data = parse_json(request.get_data(), what="rules")
    except (ValueError, UnicodeDecodeError):
        data = None
    except JsonRefused as exc:
        return {"ok": False, "error": {"message": exc.message, "path": ""}}
    rules = data.get("rules") if isinstance(data, dict) else None
    try:
        found = preview_segment(get_session(), rules, today=now().date(), sample_size=SAMPLE_SIZE)
    except SegmentRuleInvalid as exc:
        return {"ok": False, "error": {"message": exc.message, "path": exc.path}}
    sample = [{"id": c.id, "name": c.name, "email": c.email or "", "phone": c.phone or "",
               "url": url_for("contacts.detail", contact_id=c.id)} for c in found.sample]
    return {"ok": True, "count": found.count, "sample": sample, "explain": found.explain}


@bp.get("/segments/values")
def values():
    """The values a free-text field holds, most common first, for the editor's suggestions (JSON):
    ?field=region (the default) gives [{"value": "上海", "contacts": 12}, {"value": "上海市", "contacts": 3}, …]."""
    field = request.args.get("field") or "region"
    try:
        found = field_values(get_session(), field)
    except Invalid as exc:
        return {"ok": False, "error": {"message": exc.message}}, 422
    return {"ok": True, "field": field, "values": [{"value": v.value, "contacts": v.contacts} for v in found]}


@bp.post("/segments/<int:segment_id>/freeze")
def freeze(segment_id: int):
    db_session = get_session()
    segment = get_segment(db_session, segment_id)
    list_name = request.form.get("list_name", "").strip() or _("%(segment)s on %(day)s", segment=segment.name,
                                                                   day=now().date().isoformat())
    made, members = freeze_segment(db_session, segment.rules, list_name=list_name, today=now().date(), now=now(),
                                   description=_("frozen from segment “%(name)s”", name=segment.name))
    flash(_("%(count)s contacts copied to the list “%(name)s”.", count=members, name=made.name), "success")
    return redirect(url_for("contacts.index", list=made.id), 303)


# ---------------------------------------------------------------- export
@bp.get("/contacts/export")
def export():
    """Download contacts as CSV or XLSX: ?segment_id= or ?list_id=, or the contacts page's filter (q, list, tag,
    owner, segment); format=csv|xlsx, columns=a,b,c (or repeated columns=)."""
    args = request.args
    columns = [c for value in args.getlist("columns") for c in value.split(",") if c.strip()]
    selection = ContactSelection(search=args.get("q") or None, tag=args.get("tag") or None,
                                 list_id=args.get("list_id", type=int) or args.get("list", type=int),
                                 segment_id=args.get("segment_id", type=int) or args.get("segment", type=int),
                                 owner_id=args.get("owner", type=int))
    file_format = args.get("format", "csv")
    # The rows are read while the response streams, after the view has returned and its teardown has run,
    # so the stream closes the session itself (on SQLite an open transaction holds the write lock).
    stream_session = get_session()
    try:
        contacts = export_contacts(stream_session, selection, columns=columns, file_format=file_format,
                                   today=now().date())
        filename = f"{_export_name(stream_session, selection)}-{now():%Y%m%d}.{file_format}"
    except HeraldError as exc:
        stream_session.close()
        flash(exc.message, "error")
        return redirect(referrer_path() or url_for("segments.index"), 303)

    def chunks() -> Iterator[bytes]:
        try:
            yield from contacts.chunks()
        finally:
            stream_session.close()

    response = Response(chunks(), mimetype=contacts.mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
    return response


def _export_name(db_session: Any, selection: ContactSelection) -> str:
    if selection.segment_id is not None:
        return get_segment(db_session, selection.segment_id).name
    if selection.list_id is not None:
        return get_list(db_session, selection.list_id).name
    return "contacts"


def _quote(filename: str) -> str:
    from urllib.parse import quote

    return quote(filename.replace("/", "-"), safe="")
