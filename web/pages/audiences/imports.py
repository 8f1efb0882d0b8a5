"""Import pages: upload a CSV or Excel file, check how its columns will be read (and change it), watch the
import run, then see what landed and download the rejected rows. Blueprint `imports`."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import phonenumbers
from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from audiences import (
    IMPORT_ADDRESS_POLICIES,
    IMPORT_MODES,
    import_fields,
    is_error_column,
    list_custom_fields,
    list_lists,
    propose_columns,
)
from audiences.contacts import check_region
from audiences.imports import Unreadable, open_import_file, plan_columns, remove_stale_uploads
from core.errors import Invalid
from web.db import get_database, get_session
from web.import_jobs import ImportJobs, errors_path, read_state, upload_path, write_state
from web.pages.context import config

bp = Blueprint("imports", __name__)

SAMPLE_ROWS = 3
CHUNK_BYTES = 1024 * 1024
# Offered first in the country list, after the workspace's own: where Herald's users' contacts mostly are.
COMMON_REGIONS = ("CN", "HK", "MO", "TW", "SG", "MY", "US", "CA", "GB", "AU", "JP", "KR")


def _folder() -> Path:
    return Path(config().data_dir) / "imports"


def _jobs() -> ImportJobs:
    extensions = current_app.extensions
    if "herald.import_jobs" not in extensions:
        extensions["herald.import_jobs"] = ImportJobs(get_database(), extensions["herald.clock"])
    return extensions["herald.import_jobs"]


def _state(import_id: str) -> dict[str, Any]:
    state = read_state(_folder(), import_id)
    if state is None:
        abort(404, _("This import is no longer available."))
    return state


def mode_labels() -> dict[str, str]:
    return {"update": _("Update existing contacts and add new ones"),
            "skip": _("Skip existing contacts, add new ones"),
            "new-only": _("Only add new contacts; list existing ones as rejected")}


def address_policy_labels() -> dict[str, str]:
    return {"drop-field": _("Import the row without it, and list it to fix"),
            "reject-row": _("Reject the whole row")}


def region_name(code: str) -> str:
    """A country as the reader calls it, with its code and dialling code: 中国 (CN, +86)."""
    name = get_locale().territories.get(code, code)
    return f"{name} ({code}, +{phonenumbers.country_code_for_region(code)})"


def region_options(default: str) -> list[tuple[str, str]]:
    """Every country phone numbers know: the workspace's first, then the common ones, then the rest by name."""
    first = [default, *(code for code in COMMON_REGIONS if code != default)]
    names = get_locale().territories
    rest = sorted(phonenumbers.SUPPORTED_REGIONS - set(first), key=lambda code: names.get(code, code))
    return [(code, region_name(code)) for code in [*first, *rest]]


def _form(form: dict[str, str], errors: dict[str, str], status: int = 200):
    return render_template("audiences/import.html", lists=list_lists(get_session()), form=form, errors=errors,
                           modes=mode_labels(), encodings=[("", _("Detect automatically"))] + [
                               (name, name.upper()) for name in ("utf-8", "gbk", "gb18030", "utf-16")],
                           regions=region_options(config().default_region), policies=address_policy_labels(),
                           default_region_name=region_name(config().default_region)), status


# ---------------------------------------------------------------- 1. upload
@bp.get("/contacts/import")
def index():
    return _form({"list_name": "", "mode": "update", "encoding": "", "region": config().default_region,
                  "on_bad_address": "drop-field"}, {})


@bp.post("/contacts/import")
def upload():
    form = {key: request.form.get(key, "").strip()
            for key in ("list_name", "mode", "encoding", "region", "on_bad_address")}
    form["mode"] = form["mode"] if form["mode"] in IMPORT_MODES else "update"
    form["on_bad_address"] = form["on_bad_address"] if form["on_bad_address"] in IMPORT_ADDRESS_POLICIES \
        else "drop-field"
    try:
        form["region"] = check_region(form["region"] or config().default_region)
    except Invalid:
        return _form(form, {"region": _("Choose the country of phone numbers written without +country code.")}, 422)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _form(form, {"file": _("Choose a CSV or Excel file to import.")}, 422)
    import_id = uuid.uuid4().hex
    folder = _folder()
    remove_stale_uploads(folder, now=current_app.extensions["herald.clock"].now(),
                         keep_hours=config().imports.keep_uploads_hours)
    folder.mkdir(parents=True, exist_ok=True)
    saved = upload_path(folder, import_id)
    with saved.open("wb") as out:  # streamed to disk: a large file is never held in memory
        while piece := upload.stream.read(CHUNK_BYTES):
            out.write(piece)
    try:
        header, sample, encoding = _peek(saved, upload.filename, form["encoding"] or None)
    except Invalid as exc:
        saved.unlink(missing_ok=True)
        return _form(form, {"encoding" if exc.field == "encoding" else "file": exc.message}, 422)
    write_state(folder, import_id, {"status": "mapping", "filename": upload.filename, "header": header,
                                    "sample": sample, "detected": encoding, "columns": propose_columns(
                                        header, with_tags=True), **form})
    return redirect(url_for("imports.columns", import_id=import_id), 303)


def _peek(path: Path, filename: str, encoding: str | None) -> tuple[list[str], list[list[str]], str]:
    with path.open("rb") as stream:
        opened = open_import_file(stream, filename=filename, encoding=encoding, limits=config().imports)
        sample: list[list[str]] = []
        for item in opened.rows:
            if isinstance(item, Unreadable) or len(sample) >= SAMPLE_ROWS:
                break
            if any(cell.strip() for cell in item[1]):
                sample.append(item[1])
        # Refuses a header with a repeated column; a missing email/phone column can still be mapped next.
        plan_columns(opened.header, filename=filename, with_tags=True, need_address=False)
        return opened.header, sample, opened.encoding


# ---------------------------------------------------------------- 2. columns
def _targets() -> list[tuple[str, str]]:
    labels = {"email": _("Email"), "phone": _("Phone"), "name": _("Full name (split into first and last)"),
              "first_name": _("First name"), "last_name": _("Last name"), "external_id": _("External ID"),
              "company": _("Company"), "country": _("Country code"), "region": _("Region"),
              "birthday": _("Birthday"), "time_zone": _("Time zone"), "locale": _("Language"),
              "lifecycle_stage": _("Lifecycle stage"), "value_tier": _("Value tier"), "source": _("Source"),
              "notes": _("Notes"), "tags": _("Tags (comma-separated)")}
    fields = [(field, labels.get(field, field)) for field in import_fields(with_tags=True)]
    custom = [(f"attributes.{f.key}", _("Custom field: %(label)s", label=f.label or f.key))
              for f in list_custom_fields(get_session())]
    return fields + custom


@bp.get("/contacts/import/<import_id>/columns")
def columns(import_id: str):
    state = _state(import_id)
    if state["status"] != "mapping":
        return redirect(url_for("imports.result", import_id=import_id), 303)
    return _columns_page(import_id, state, state["columns"], {})


def _columns_page(import_id: str, state: dict[str, Any], chosen: dict[str, str], errors: dict[str, str],
                  status: int = 200):
    names = list(state["columns"])
    samples = {name: [row[i] if i < len(row) else "" for row in state["sample"]] for i, name in enumerate(names)}
    return render_template("audiences/import_columns.html", import_id=import_id, state=state, names=names,
                           samples=samples, chosen=chosen, targets=_targets(), errors=errors,
                           error_columns=[name for name in names if is_error_column(name)],
                           region=region_name(_region(state)), **_choices_shown(state)), status


def _region(state: dict[str, Any]) -> str:
    # Uploads made before the page asked for the country were read in the configured region.
    return state.get("region") or config().default_region


def _choices_shown(state: dict[str, Any]) -> dict[str, str]:
    policy = state.get("on_bad_address") or "drop-field"
    return {"mode_label": mode_labels().get(state["mode"], state["mode"]),
            "policy_label": address_policy_labels().get(policy, policy)}


@bp.post("/contacts/import/<import_id>/columns")
def start(import_id: str):
    state = _state(import_id)
    if state["status"] != "mapping":
        return redirect(url_for("imports.result", import_id=import_id), 303)
    chosen = {name: request.form.get(f"column-{index}", target)
              for index, (name, target) in enumerate(state["columns"].items())}
    for index, name in enumerate(state["columns"]):
        if chosen[name] == "custom":
            chosen[name] = "attributes." + (request.form.get(f"custom-{index}", "").strip() or name)
    try:
        plan = plan_columns(state["header"], filename=state["filename"], changes=chosen, with_tags=True)
    except Invalid as exc:
        return _columns_page(import_id, state, chosen, {"columns": exc.message}, 422)
    _jobs().start(_folder(), import_id, {**state, "columns": plan.columns}, default_region=_region(state),
                  limits=config().imports)
    return redirect(url_for("imports.result", import_id=import_id), 303)


# ---------------------------------------------------------------- 3. progress and result
@bp.get("/contacts/import/<import_id>")
def result(import_id: str):
    state = _state(import_id)
    if state["status"] == "mapping":
        return redirect(url_for("imports.columns", import_id=import_id), 303)
    if state["status"] != "done":
        return render_template("audiences/import_progress.html", import_id=import_id, state=state)
    has_errors = errors_path(_folder(), import_id).exists()
    report = state["report"]
    return render_template("audiences/import_result.html", report=report, import_id=import_id,
                           has_errors=has_errors, region=region_name(report.get("region") or _region(state)),
                           **_choices_shown(state))


@bp.get("/contacts/import/<import_id>/status")
def status(import_id: str):
    state = _state(import_id)
    return {"status": state["status"], "progress": state.get("progress"), "counts": state.get("counts") or {},
            "error": state.get("error")}


@bp.get("/contacts/import/<import_id>/errors.csv")
def errors_csv(import_id: str):
    state = _state(import_id)
    path = errors_path(_folder(), import_id)
    if not path.exists():
        abort(404)
    stem = Path(state.get("filename") or "import").stem
    return send_file(path.resolve(), mimetype="text/csv", as_attachment=True, download_name=f"{stem}-rows-to-fix.csv")
