"""Audience pages: lists, and CSV import with its result. The contact pages are in web/pages/contacts.py,
on this same blueprint."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from audiences import (
    create_list,
    import_contacts,
    list_lists,
    write_error_file,
)
from core.errors import Invalid
from web.db import get_session
from web.pages.context import config, now

bp = Blueprint("audiences", __name__)

# An import's id names its files; nothing else may reach the file system through the URL.
_IMPORT_ID = re.compile(r"^[0-9a-f]{32}$")


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


# The contact pages register their routes on `bp` when imported.
from web.pages import contacts as _contacts  # noqa: E402, F401
