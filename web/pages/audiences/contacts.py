"""Contact pages: the filtered list with bulk actions, one contact's page, and the create/edit form.

Blueprint `contacts` (contacts.index, contacts.detail, …); lists are in lists.py and the import in
imports.py, next to this module.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

import audiences
from campaigns import contact_timeline
from core.errors import HeraldError, Invalid
from core.users import list_users
from web.db import get_session
from web.pages.audiences.contact_labels import date_kind_label, lifecycle_label, lifecycle_options, tier_options
from web.pages.context import config, now

bp = Blueprint("contacts", __name__)

PER_PAGE = 50
FORM_FIELDS = ("first_name", "last_name", "email", "phone", "company", "region", "country", "birthday",
               "time_zone", "locale", "external_id", "lifecycle_stage", "value_tier", "source", "notes", "owner_id",
               "tags")
_ATTRIBUTE_LINE = re.compile(r"\s*([^:=：]*[^:=：\s])\s*[:=：](.*)$")
_TAG_SPLIT = re.compile(r"[,，;；]")


# ---------------------------------------------------------------- the list and bulk actions
def _selection_from(args: Any, *, with_ids: bool = False) -> audiences.ContactSelection:
    def number(name: str) -> int | None:
        raw = (args.get(name) or "").strip()
        return int(raw) if raw.isdigit() else None

    ids = [int(v) for v in args.getlist("contact_id") if v.isdigit()] if with_ids else []
    return audiences.ContactSelection(search=(args.get("q") or "").strip() or None, list_id=number("list"),
                                      tag=(args.get("tag") or "").strip() or None, owner_id=number("owner"),
                                      segment_id=number("segment"), contact_ids=ids)


def _filter_args(selection: audiences.ContactSelection) -> dict[str, Any]:
    """The selection as the query string of the contacts page (None values are left out by url_for)."""
    return {"q": selection.search, "list": selection.list_id, "tag": selection.tag, "owner": selection.owner_id,
            "segment": selection.segment_id}


@bp.get("/contacts")
def index():
    db_session = get_session()
    selection = _selection_from(request.args)
    page_number = max(1, request.args.get("page", 1, type=int))
    error = None
    try:
        page = audiences.list_selection(db_session, selection, today=now().date(), page=page_number,
                                        per_page=PER_PAGE)
    except HeraldError as exc:  # an unknown tag or a segment whose rules no longer hold: say so, show nobody
        error, page = exc.message, audiences.ContactPage([], 0, 1, PER_PAGE)
    return render_template(
        "audiences/contacts.html", page=page, selection=selection, filter_args=_filter_args(selection),
        filtered=not selection.is_everyone, error=error, lists=audiences.list_lists(db_session),
        tags=audiences.list_tags(db_session), segments=audiences.list_segments(db_session),
        users=list_users(db_session), tags_by_contact=audiences.tags_of(db_session, [c.id for c in page.items]),
        lifecycle_label=lifecycle_label)


@bp.post("/contacts/bulk")
def bulk():
    """Apply one bulk action to the ticked contacts, or to all matching the filter ("scope" = all)."""
    form = request.form
    everyone = form.get("scope") == "all"
    selection = _selection_from(form, with_ids=not everyone)
    back = url_for("contacts.index", **_filter_args(selection))
    if not everyone and not selection.contact_ids:
        flash(_("Tick the contacts to change first, or choose “all matching”."), "error")
        return redirect(back, 303)
    action = form.get("action", "")
    owner = form.get("owner_id", "").strip()
    expected = form.get("expected_count", "").strip()
    changed = audiences.run_bulk_action(
        get_session(), action, selection, today=now().date(), now=now(), tag=form.get("action_tag", "").strip() or None,
        list_id=int(form["list_id"]) if form.get("list_id", "").isdigit() else None,
        owner_id=int(owner) if owner.isdigit() else None,
        expected=int(expected) if expected.isdigit() else None)
    messages = {
        "add_tag": _("Tag “%(tag)s” added to %(count)s contacts.", tag=form.get("action_tag", "").strip(),
                     count=changed),
        "remove_tag": _("Tag “%(tag)s” removed from %(count)s contacts.", tag=form.get("action_tag", "").strip(),
                        count=changed),
        "add_to_list": _("%(count)s contacts added to the list.", count=changed),
        "remove_from_list": _("%(count)s contacts taken off the list.", count=changed),
        "assign_owner": _("%(count)s contacts have a new owner.", count=changed),
        "delete": _("%(count)s contacts deleted.", count=changed),
    }
    flash(messages[action], "success")
    return redirect(back if action != "delete" else url_for("contacts.index"), 303)


# ---------------------------------------------------------------- one contact
@bp.get("/contacts/<int:contact_id>")
def detail(contact_id: int):
    db_session = get_session()
    found = audiences.get_contact(db_session, contact_id)
    users = {u.id: u for u in list_users(db_session)}
    owner = users.get(found.owner_id) if found.owner_id else None
    fields = audiences.list_custom_fields(db_session)
    defined = {f.key for f in fields}
    consents = audiences.current_consents(db_session, contact_id)
    return render_template(
        "audiences/contact.html", contact=found, owner=owner, users=users, custom_fields=fields,
        other_attributes={k: v for k, v in (found.attributes or {}).items() if k not in defined},
        member_of=audiences.contact_lists(db_session, contact_id), tags=audiences.contact_tags(db_session, contact_id),
        dates=audiences.contact_dates(db_session, contact_id), date_kinds=audiences.DATE_KINDS,
        consents={ch: consents.get(ch) for ch in audiences.CHANNELS}, consent_statuses=audiences.CONSENT_STATUSES,
        history=audiences.consent_history(db_session, contact_id),
        timeline=contact_timeline(db_session, contact_id, limit=100), lifecycle_label=lifecycle_label,
        date_kind_label=date_kind_label, default_timezone=config().default_timezone,
        suppressed={ch: audiences.is_suppressed(db_session, ch, addr)
                    for ch, addr in (("email", found.email), ("sms", found.phone))})


@bp.route("/contacts/new", methods=["GET", "POST"])
def new():
    db_session = get_session()
    fields = audiences.list_custom_fields(db_session)
    form, errors = _read_form(fields), {}
    if request.method == "POST":
        try:
            values = _values(form, fields)
            values.pop("removed_attributes")
            made = audiences.create_contact(db_session, default_region=config().default_region, now=now(), **values)
        except Invalid as exc:
            errors[exc.field or "form"] = exc.message
        else:
            flash(_("Contact %(name)s created.", name=made.name or made.email or made.phone), "success")
            return redirect(url_for("contacts.detail", contact_id=made.id), 303)
    return _form_page(form, errors, fields, contact=None), (422 if errors else 200)


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
def edit(contact_id: int):
    db_session = get_session()
    found = audiences.get_contact(db_session, contact_id)
    fields = audiences.list_custom_fields(db_session)
    errors: dict[str, str] = {}
    if request.method == "GET":
        form = _form_of(db_session, found, fields)
    else:
        form = _read_form(fields)
        try:
            values = _values(form, fields)
            attributes = values.pop("attributes")
            attributes.update(dict.fromkeys(values.pop("removed_attributes"), None))
            audiences.update_contact(db_session, contact_id, default_region=config().default_region, now=now(),
                                     changes={**values, "attributes": attributes})
        except Invalid as exc:
            db_session.rollback()
            errors[exc.field or "form"] = exc.message
        else:
            flash(_("Changes to %(name)s saved.", name=found.name or found.email or found.phone), "success")
            return redirect(url_for("contacts.detail", contact_id=contact_id), 303)
    return _form_page(form, errors, fields, contact=found), (422 if errors else 200)


@bp.post("/contacts/<int:contact_id>/delete")
def delete(contact_id: int):
    db_session = get_session()
    found = audiences.get_contact(db_session, contact_id)
    name = found.name or found.email or found.phone
    audiences.delete_contact(db_session, contact_id)
    flash(_("Contact %(name)s deleted.", name=name), "success")
    return redirect(url_for("contacts.index"), 303)


@bp.post("/contacts/<int:contact_id>/dates")
def add_date(contact_id: int):
    form = request.form
    audiences.add_contact_date(get_session(), contact_id, kind=form.get("kind", ""), when=form.get("date", ""),
                               note=form.get("note", ""))
    flash(_("Important date added."), "success")
    return redirect(url_for("contacts.detail", contact_id=contact_id, _anchor="dates"), 303)


@bp.post("/contacts/<int:contact_id>/dates/<int:date_id>/delete")
def remove_date(contact_id: int, date_id: int):
    audiences.remove_contact_date(get_session(), contact_id, date_id)
    flash(_("Important date removed."), "success")
    return redirect(url_for("contacts.detail", contact_id=contact_id, _anchor="dates"), 303)


@bp.post("/contacts/<int:contact_id>/consent")
def change_consent(contact_id: int):
    """A consent changed by hand (a customer asked on the phone): kept in the history with who did it."""
    channel, status = request.form.get("channel", ""), request.form.get("status", "")
    audiences.set_consent_by_hand(get_session(), contact_id, channel, status, user=current_user,
                                  source="changed by hand", now=now())
    flash(_("Consent saved."), "success")
    return redirect(url_for("contacts.detail", contact_id=contact_id, _anchor="consent"), 303)


# ---------------------------------------------------------------- the form
def _read_form(fields: list[audiences.CustomField]) -> dict[str, str]:
    form = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    form["notes"] = request.form.get("notes", "").strip()
    form["attributes"] = request.form.get("attributes", "")
    form["previous_attributes"] = request.form.get("previous_attributes", "")
    for field in fields:
        form[f"cf.{field.key}"] = request.form.get(f"cf.{field.key}", "").strip()
    return form


def _form_of(session: Any, contact: audiences.Contact, fields: list[audiences.CustomField]) -> dict[str, str]:
    """The form as it starts for an existing contact."""
    form = {name: "" if getattr(contact, name, None) is None else str(getattr(contact, name))
            for name in FORM_FIELDS if name != "tags"}
    form["tags"] = ", ".join(t.name for t in audiences.contact_tags(session, contact.id))
    attributes = dict(contact.attributes or {})
    for field in fields:
        value = attributes.pop(field.key, None)
        form[f"cf.{field.key}"] = ("yes" if value else "no") if isinstance(value, bool) else (
            "" if value is None else str(value))
    form["attributes"] = "\n".join(f"{k}: {v}" for k, v in sorted(attributes.items()))
    form["previous_attributes"] = "\n".join(sorted(attributes))
    return form


def _values(form: dict[str, str], fields: list[audiences.CustomField]) -> dict[str, Any]:
    """What the domain functions take, from the form: fields, owner, tags, attributes (typed by custom_fields)."""
    values: dict[str, Any] = {name: form[name] for name in FORM_FIELDS if name not in ("owner_id", "tags")}
    values["owner_id"] = int(form["owner_id"]) if form["owner_id"].isdigit() else None
    values["tags"] = [t.strip() for t in _TAG_SPLIT.split(form["tags"]) if t.strip()]
    free = parse_attributes(form["attributes"])
    defined = {f.key for f in fields}
    clash = sorted(defined & set(free))
    if clash:
        raise Invalid(_("“%(key)s” is a custom field — fill it in above instead of under other attributes.",
                        key=clash[0]), field="attributes")
    values["attributes"] = {**free, **{f.key: form[f"cf.{f.key}"] for f in fields}}
    values["removed_attributes"] = [k for k in form["previous_attributes"].splitlines() if k.strip() and k not in free]
    return values


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


def _form_page(form: dict[str, str], errors: dict[str, str], fields: list[audiences.CustomField], *,
               contact: audiences.Contact | None) -> str:
    users = list_users(get_session())
    return render_template(
        "audiences/contact_form.html", form=form, errors=errors, contact=contact, custom_fields=fields,
        default_region=config().default_region, lifecycle_options=lifecycle_options(), tier_options=tier_options(),
        owner_options=[("", _("Nobody"))] + [(str(u.id), u.name or u.email) for u in users])
