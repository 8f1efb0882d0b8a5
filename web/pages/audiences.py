"""Audience pages: contacts (list, search, detail, create), lists, and CSV import with its result."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from audiences import (
    contact_lists,
    create_contact,
    create_list,
    get_contact,
    import_contacts,
    list_contacts,
    list_lists,
    write_error_file,
)
from core.errors import Invalid
from web.db import get_session
from web.pages.context import config, now

bp = Blueprint("audiences", __name__)

PER_PAGE = 50
CONTACT_FORM_FIELDS = ("first_name", "last_name", "email", "phone", "company", "country", "birthday",
                       "time_zone", "locale", "external_id")
# An import's id names its files; nothing else may reach the file system through the URL.
_IMPORT_ID = re.compile(r"^[0-9a-f]{32}$")
_ATTRIBUTE_LINE = re.compile(r"\s*([^:=：]*[^:=：\s])\s*[:=：](.*)$")


# ---------------------------------------------------------------- contacts
@bp.get("/contacts")
def contacts():
    search = request.args.get("q", "").strip()
    list_id = request.args.get("list", type=int)
    page_number = max(1, request.args.get("page", 1, type=int))
    db_session = get_session()
    page = list_contacts(db_session, search=search or None, list_id=list_id, page=page_number, per_page=PER_PAGE)
    return render_template("audiences/contacts.html", page=page, search=search, list_id=list_id,
                           lists=list_lists(db_session))


@bp.get("/contacts/<int:contact_id>")
def contact(contact_id: int):
    db_session = get_session()
    found = get_contact(db_session, contact_id)
    return render_template("audiences/contact.html", contact=found, member_of=contact_lists(db_session, contact_id),
                           default_timezone=config().default_timezone)


@bp.route("/contacts/new", methods=["GET", "POST"])
def new_contact():
    form = {name: request.form.get(name, "").strip() for name in CONTACT_FORM_FIELDS}
    form["attributes"] = request.form.get("attributes", "")
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            attributes = parse_attributes(form["attributes"])
            fields = {k: v for k, v in form.items() if k != "attributes" and v}
            made = create_contact(get_session(), default_region=config().default_region, now=now(),
                                  attributes=attributes, **fields)
        except Invalid as exc:
            errors[exc.field or "form"] = exc.message
        else:
            flash(_("Contact %(name)s created.", name=made.name or made.email or made.phone), "success")
            return redirect(url_for("audiences.contact", contact_id=made.id), 303)
    return render_template("audiences/contact_form.html", form=form, errors=errors,
                           default_region=config().default_region), (422 if errors else 200)


def parse_attributes(text: str) -> dict[str, str]:
    """Custom attributes typed one per line as `name: value` (or `name=value`, or with a full-width colon)."""
    attributes: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _ATTRIBUTE_LINE.match(line)
        if match is None:
            raise Invalid(_("Line %(line)d of the custom attributes, “%(text)s”, has no name — write it as "
                            "name: value.", line=number, text=line.strip()), field="attributes", line=number)
        attributes[match.group(1)] = match.group(2).strip()
    return attributes


# ---------------------------------------------------------------- lists
@bp.get("/lists")
def lists():
    return render_template("audiences/lists.html", lists=list_lists(get_session()), form={}, errors={})


@bp.post("/lists")
def create_list_view():
    form = {"name": request.form.get("name", "").strip(), "description": request.form.get("description", "").strip()}
    db_session = get_session()
    try:
        made = create_list(db_session, form["name"], form["description"], now=now())
    except Invalid as exc:
        return render_template("audiences/lists.html", lists=list_lists(db_session), form=form,
                               errors={exc.field or "name": exc.message}), 422
    flash(_("List “%(name)s” created. Import a CSV into it or pick it as a campaign's audience.", name=made.name),
          "success")
    return redirect(url_for("audiences.lists"), 303)


# ---------------------------------------------------------------- import
@bp.get("/contacts/import")
def import_form():
    return render_template("audiences/import.html", lists=list_lists(get_session()), errors={},
                           default_region=config().default_region, list_name="")


@bp.post("/contacts/import")
def import_upload():
    upload = request.files.get("file")
    list_name = request.form.get("list_name", "").strip()
    if upload is None or not upload.filename:
        return render_template("audiences/import.html", lists=list_lists(get_session()), list_name=list_name,
                               default_region=config().default_region,
                               errors={"file": _("Choose a CSV file to import.")}), 422
    try:
        report = import_contacts(get_session(), upload.stream, filename=upload.filename,
                                 default_region=config().default_region, list_name=list_name or None, now=now())
    except Invalid as exc:
        return render_template("audiences/import.html", lists=list_lists(get_session()), list_name=list_name,
                               default_region=config().default_region,
                               errors={"list_name" if exc.field in ("list_name", "name") else "file": exc.message}), 422
    import_id = uuid.uuid4().hex
    folder = _imports_dir()
    if report.rejected:
        write_error_file(report, folder / f"{import_id}.errors.csv")
    # Kept on disk so the result page survives a reload and the error file can be downloaded later.
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{import_id}.json").write_text(json.dumps(report.to_dict(), ensure_ascii=False), encoding="utf-8")
    return redirect(url_for("audiences.import_result", import_id=import_id), 303)


@bp.get("/contacts/import/<import_id>")
def import_result(import_id: str):
    result = _load_import(import_id)
    has_errors = (_imports_dir() / f"{import_id}.errors.csv").exists()
    return render_template("audiences/import_result.html", report=result, import_id=import_id, has_errors=has_errors)


@bp.get("/contacts/import/<import_id>/errors.csv")
def import_errors(import_id: str):
    result = _load_import(import_id)
    path = _imports_dir() / f"{import_id}.errors.csv"
    if not path.exists():
        abort(404)
    stem = Path(result.get("filename") or "import").stem
    return send_file(path.resolve(), mimetype="text/csv", as_attachment=True,
                     download_name=f"{stem}-rejected-rows.csv")


def _imports_dir() -> Path:
    return Path(config().data_dir) / "imports"


def _load_import(import_id: str) -> dict[str, Any]:
    if not _IMPORT_ID.match(import_id):
        abort(404)
    path = _imports_dir() / f"{import_id}.json"
    if not path.exists():
        abort(404, _("This import result is no longer available."))
    return json.loads(path.read_text(encoding="utf-8"))
