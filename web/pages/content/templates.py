"""Template pages: the list, the editor per channel (email: subject, HTML, text; SMS: body), a live preview."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from audiences import list_contacts
from campaigns import (
    create_template,
    get_template,
    list_seed_addresses,
    list_templates,
    preview_template,
    update_template,
)
from campaigns.content.checks import LEVELS
from campaigns.content.gallery import LANGUAGES
from campaigns.content.templates import short_link_example
from campaigns.responses.tracking import tracks_clicks
from core.errors import HeraldError, Invalid
from web.auth import read_only
from web.db import get_session
from web.json_input import LARGEST_INTEGER, JsonRefused, parse_json
from web.pages.check_words import findings_for_page, level_label
from web.pages.context import check_settings, config, now, opt_out_warning, sms_as_sent, sms_max_length

bp = Blueprint("templates", __name__)

PARTS = {"email": ("subject", "html", "text"), "sms": ("body",)}
# An SMS template may be bound to a provider's registered template (campaigns/content/provider_templates.py).
BINDING = ("provider_template", "provider_params")
PREVIEW_CONTACTS = 50  # the newest contacts offered in the preview's "show for" select


@bp.get("/templates")
def index():
    return render_template("templates/list.html", templates=list_templates(get_session()))


@bp.route("/templates/new", methods=["GET", "POST"])
def new():
    channel = request.values.get("channel", "")
    if channel not in PARTS:
        return render_template("templates/choose_channel.html")
    form = _read_form(channel)
    errors: dict[str, dict[str, Any]] = {}
    if request.method == "POST":
        try:
            made = create_template(get_session(), name=form["name"], channel=channel, now=now(),
                                   sms_max_length=sms_max_length(),
                                   **{part: form[part] for part in PARTS[channel]}, **_binding(channel, form))
        except Invalid as exc:
            errors = _field_error(exc)
        else:
            flash(_("Template “%(name)s” saved.", name=made.name), "success")
            _warn_without_opt_out(channel, form)
            return redirect(url_for("templates.edit", template_id=made.id), 303)
    return _editor(channel, form, errors, template=None)


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
def edit(template_id: int):
    template = get_template(get_session(), template_id)
    errors: dict[str, dict[str, Any]] = {}
    if request.method == "POST":
        form = _read_form(template.channel)
        try:
            update_template(get_session(), template_id, now=now(), sms_max_length=sms_max_length(),
                            **{k: form[k] for k in ("name", *PARTS[template.channel])},
                            **_binding(template.channel, form))
        except Invalid as exc:
            errors = _field_error(exc)
        else:
            flash(_("Template “%(name)s” saved.", name=form["name"]), "success")
            _warn_without_opt_out(template.channel, form)
            return redirect(url_for("templates.edit", template_id=template_id), 303)
    else:
        form = {name: getattr(template, name) or "" for name in ("name", "subject", "html", "text", "body",
                                                                 "provider_template")}
        form["provider_params"] = params_text(template.provider_params)
    return _editor(template.channel, form, errors, template=template)


def _warn_without_opt_out(channel: str, form: dict[str, Any]) -> None:
    """Saved, but a recipient of it as marketing could not opt out: say so now, not after the complaints."""
    text = opt_out_warning(channel, form)
    if text:
        flash(text, "warning")


@bp.post("/templates/preview")
@read_only
def preview():
    """JSON for the editor's live preview: the parts rendered for a real contact, and the SMS size."""
    data: Any = request.form
    if request.is_json:
        try:
            data = parse_json(request.get_data(), what="the preview request")
        except (ValueError, UnicodeDecodeError, JsonRefused) as exc:
            message = exc.message if isinstance(exc, JsonRefused) else "the preview request is not valid JSON"
            return jsonify(ok=False, error={"message": message}), 200
        if not isinstance(data, dict):
            return jsonify(ok=False, error={"message": "send a JSON object with the channel and the parts"}), 200
    channel = str(data.get("channel", ""))
    contact_id = data.get("contact_id") or None
    try:
        # str(): a list or object is a ValueError like any other bad id; the bound keeps it bindable.
        contact = int(str(contact_id)) if contact_id else None
        if contact is not None and abs(contact) > LARGEST_INTEGER:
            raise ValueError(f"contact {contact_id} does not exist")
        result = preview_template(
            get_session(), channel=channel, contact_id=contact,
            base_url=config().base_url, tracking=config().tracking, as_sent=sms_as_sent(channel),
            checks=check_settings(),
            **{part: str(data.get(part) or "") for part in PARTS.get(channel, ())},
            **_binding(channel, {key: str(data.get(key) or "") for key in BINDING}),
        )
    except (HeraldError, ValueError) as exc:
        error = exc.to_dict() if isinstance(exc, HeraldError) else {"message": str(exc)}
        return jsonify(ok=False, error=error), 200  # a template mid-edit is often invalid; that is not a failure
    # The checks in the reader's language, next to the preview (web/pages/check_words.py).
    return jsonify(ok=True, preview={**result.to_dict(), "checks": findings_for_page(result.checks),
                                     "level_labels": {level: level_label(level) for level in LEVELS}})


def _read_form(channel: str) -> dict[str, str]:
    # Line endings as the browser sends them (\r\n) would count twice in the SMS size.
    names = ("name", *PARTS[channel], *(BINDING if channel == "sms" else ()))
    form = {name: request.form.get(name, "").replace("\r\n", "\n") for name in names}
    form["name"] = form["name"].strip()
    return form


def _binding(channel: str, form: dict[str, str]) -> dict[str, Any]:
    """The provider binding from the editor: the code, and the parameters written one per line as
    `name = {{ expression }}`. Raises Invalid naming the line that has no "="."""
    if channel != "sms":
        return {}
    params: dict[str, str] = {}
    for number, line in enumerate(form.get("provider_params", "").split("\n"), start=1):
        if not line.strip():
            continue
        name, equals, expression = line.partition("=")
        if not equals or not name.strip():
            raise Invalid(f"template parameters line {number}: write it as name = {{{{ contact.first_name }}}}",
                          field="provider_params")
        params[name.strip()] = expression.strip()
    return {"provider_template": form.get("provider_template", "").strip(), "provider_params": params}


def params_text(params: dict[str, str] | None) -> str:
    """The parameters as the editor shows them, one `name = expression` per line."""
    return "\n".join(f"{name} = {expression}" for name, expression in (params or {}).items())


def _field_error(exc: Invalid) -> dict[str, dict[str, Any]]:
    """The error under the field it is about (TemplateInvalid has .field and .line)."""
    return {exc.field or "name": {"message": exc.message, "line": exc.line}}


def _editor(channel: str, form: dict[str, str], errors: dict[str, dict[str, Any]], *, template):
    contacts = list_contacts(get_session(), per_page=PREVIEW_CONTACTS).items
    shorten = channel == "sms" and tracks_clicks(config().tracking, channel="sms")
    seeds = len(list_seed_addresses(get_session(), channel=channel))
    return render_template("templates/form.html", channel=channel, form=form, errors=errors, template=template,
                           contacts=contacts, seed_count=seeds, gallery_languages=LANGUAGES,
                           sms_price=config().channels["sms"].price,
                           currency=config().currency, sms_short_links=shorten,
                           sms_short_link_example=short_link_example(get_session(), base_url=config().base_url)
                           if shorten else ""), (422 if errors else 200)
