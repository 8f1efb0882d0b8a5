"""Settings for contacts: custom field definitions and the global suppression list."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

import audiences
from core.errors import Invalid
from web.db import get_session
from web.pages.context import config, now

bp = Blueprint("contact_settings", __name__)

PER_PAGE = 100


def type_labels() -> dict[str, str]:
    return {"text": _("Text"), "number": _("Number"), "date": _("Date"), "boolean": _("Yes / no"),
            "choice": _("Choice")}


def _choices(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- custom fields
@bp.get("/settings/custom-fields")
def custom_fields():
    return _fields_page(form={"type": "text"}, errors={}, editing=None)


@bp.post("/settings/custom-fields")
def create_field():
    form = {name: request.form.get(name, "").strip() for name in ("key", "label", "type", "choices")}
    try:
        made = audiences.create_custom_field(get_session(), key=form["key"], label=form["label"], type=form["type"],
                                             choices=_choices(form["choices"]), now=now())
    except Invalid as exc:
        return _fields_page(form=form, errors={exc.field or "key": exc.message}, editing=None), 422
    flash(_("Custom field “%(label)s” created. Templates use it as {{ contact.%(key)s }}.", label=made.label,
            key=made.key), "success")
    return redirect(url_for("contact_settings.custom_fields"), 303)


@bp.route("/settings/custom-fields/<int:field_id>", methods=["GET", "POST"])
def edit_field(field_id: int):
    db_session = get_session()
    field = audiences.get_custom_field(db_session, field_id)
    if request.method == "GET":
        form = {"key": field.key, "label": field.label, "type": field.type, "choices": "\n".join(field.choices or [])}
        return _fields_page(form=form, errors={}, editing=field)
    form = {name: request.form.get(name, "").strip() for name in ("label", "type", "choices")} | {"key": field.key}
    try:
        audiences.update_custom_field(db_session, field_id, label=form["label"], type=form["type"],
                                      choices=_choices(form["choices"]))
    except Invalid as exc:
        db_session.rollback()
        return _fields_page(form=form, errors={exc.field or "label": exc.message}, editing=field), 422
    flash(_("Custom field “%(label)s” saved. Values already stored are checked when next written.",
            label=form["label"] or field.key), "success")
    return redirect(url_for("contact_settings.custom_fields"), 303)


@bp.post("/settings/custom-fields/<int:field_id>/delete")
def delete_field(field_id: int):
    key = audiences.delete_custom_field(get_session(), field_id)
    flash(_("Custom field “%(key)s” deleted. Contacts keep their values as free attributes.", key=key), "success")
    return redirect(url_for("contact_settings.custom_fields"), 303)


def _fields_page(*, form: dict[str, str], errors: dict[str, str], editing: audiences.CustomField | None) -> str:
    return render_template("settings/custom_fields.html", fields=audiences.list_custom_fields(get_session()),
                           form=form, errors=errors, editing=editing, type_labels=type_labels(),
                           type_options=list(type_labels().items()))


# ---------------------------------------------------------------- suppression list
@bp.get("/settings/suppressions")
def suppressions():
    return _suppressions_page(form={}, report=None)


@bp.post("/settings/suppressions")
def add_suppressions():
    form = {name: request.form.get(name, "").strip() for name in ("addresses", "channel", "reason")}
    addresses = audiences.split_addresses(form["addresses"])
    if not addresses:
        return _suppressions_page(form=form, report=None,
                                  errors={"addresses": _("Paste at least one email address or phone number.")}), 422
    report = audiences.add_suppressions(get_session(), addresses, channel=form["channel"] or None,
                                        reason=form["reason"], source="settings page",
                                        default_region=config().default_region, now=now())
    if report.rejected:
        # Only the bad lines stay in the box, to be fixed and sent again; the good ones are listed already.
        form["addresses"] = "\n".join(report.rejected_addresses)
        return _suppressions_page(form=form, report=report), 422
    flash(_("%(added)s addresses added to the suppression list (%(already)s were already on it).",
            added=report.added, already=report.already), "success")
    return redirect(url_for("contact_settings.suppressions"), 303)


@bp.post("/settings/suppressions/<int:suppression_id>/delete")
def remove_suppression(suppression_id: int):
    removed = audiences.remove_suppression(get_session(), suppression_id)
    flash(_("%(address)s removed from the suppression list: campaigns may message it again.",
            address=removed.address), "success")
    return redirect(url_for("contact_settings.suppressions", q=request.args.get("q") or None), 303)


def _suppressions_page(*, form: dict[str, str], report: audiences.SuppressionReport | None,
                       errors: dict[str, str] | None = None) -> str:
    search = request.args.get("q", "").strip()
    page_number = max(1, request.args.get("page", 1, type=int))
    page = audiences.list_suppressions(get_session(), search=search or None, page=page_number, per_page=PER_PAGE)
    return render_template("settings/suppressions.html", page=page, search=search, form=form, report=report,
                           errors=errors or {}, default_region=config().default_region)
