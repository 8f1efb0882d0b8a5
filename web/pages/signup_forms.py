"""Audiences → Sign-up forms: build a form (fields, lists, consent text per channel, language and texts), and
get its hosted link, its embeddable snippet (plain HTML posting to Herald, no script) and a QR code for
print. The public side is web/signup_public.py; the domain campaigns/signups/."""

from __future__ import annotations

import io
from typing import Any

import segno
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape

import audiences
from campaigns.signups import FORM_LANGUAGES, SignupForm, create_form, field_choices, get_form, list_forms, update_form
from core.errors import Invalid
from web.db import get_session
from web.i18n import LANGUAGE_NAMES
from web.pages.context import config, now
from web.signup_guard import HONEYPOT

bp = Blueprint("signup_forms", __name__)

DEFAULT_FIELDS = {"email": True, "first_name": False}  # a new form asks these (required?) until changed


def hosted_url(form: SignupForm) -> str:
    return f"{config().base_url.rstrip('/')}/f/{form.slug}"


def _definition() -> dict[str, Any]:
    """The posted builder as create_form/update_form take it: one row per field the form may ask."""
    fields = [{"field": key, "label": request.form.get(f"label:{key}", ""),
               "required": bool(request.form.get(f"required:{key}"))}
              for key, _label in field_choices(get_session()) if request.form.get(f"ask:{key}")]
    return {"name": request.form.get("name", ""), "slug": request.form.get("slug", ""),
            "language": request.form.get("language", "en"), "title": request.form.get("title", ""),
            "intro": request.form.get("intro", ""), "fields": fields, "list_ids": request.form.getlist("list_id"),
            "email_consent": request.form.get("email_consent", ""), "sms_consent": request.form.get("sms_consent", ""),
            "thanks": request.form.get("thanks", ""), "active": bool(request.form.get("active"))}


def _editor(definition: dict[str, Any], errors: dict[str, str], form: SignupForm | None = None, status: int = 200):
    session = get_session()
    asked = {f["field"]: f for f in definition.get("fields", [])}
    return render_template("signups/editor.html", definition=definition, asked=asked, errors=errors, form=form,
                           choices=field_choices(session), lists=audiences.list_lists(session),
                           form_languages=[(code, LANGUAGE_NAMES[code]) for code in FORM_LANGUAGES],
                           hosted=hosted_url(form) if form else "", snippet=embed_snippet(form) if form else "",
                           config_base_url=config().base_url.rstrip("/")), status


@bp.get("/forms")
def index():
    forms = list_forms(get_session())
    return render_template("signups/list.html", forms=forms, links={f.id: hosted_url(f) for f in forms})


@bp.get("/forms/new")
def new():
    fields = [{"field": key, "label": label, "required": DEFAULT_FIELDS[key]}
              for key, label in field_choices(get_session()) if key in DEFAULT_FIELDS]
    return _editor({"fields": fields, "language": "en", "active": True}, {})[0]


@bp.post("/forms/new")
def create():
    definition = _definition()
    try:
        form = create_form(get_session(), now=now(), **definition)
    except Invalid as exc:
        get_session().rollback()
        return _editor(definition, {exc.field or "name": exc.message}, status=422)
    flash(_("Sign-up form “%(name)s” saved. Its page is open at %(url)s.", name=form.name, url=hosted_url(form)),
          "success")
    return redirect(url_for("signup_forms.edit", form_id=form.id), 303)


@bp.get("/forms/<int:form_id>")
def edit(form_id: int):
    form = get_form(get_session(), form_id)
    definition = {key: getattr(form, key) for key in ("name", "slug", "language", "title", "intro", "fields",
                                                      "list_ids", "email_consent", "sms_consent", "thanks", "active")}
    return _editor(definition, {}, form)[0]


@bp.post("/forms/<int:form_id>")
def update(form_id: int):
    form = get_form(get_session(), form_id)
    definition = _definition()
    try:
        update_form(get_session(), form_id, now=now(), **definition)
    except Invalid as exc:
        get_session().rollback()
        return _editor(definition, {exc.field or "name": exc.message}, form, status=422)
    flash(_("Sign-up form saved."), "success")
    return redirect(url_for("signup_forms.edit", form_id=form_id), 303)


def _qr(form_id: int, kind: str) -> Response:
    form = get_form(get_session(), form_id)
    buffer = io.BytesIO()
    # Error correction "Q" (25 %) survives a smudged print or a logo sticker on a poster.
    segno.make(hosted_url(form), error="q").save(buffer, kind=kind, scale=10, border=4)
    response = Response(buffer.getvalue(), mimetype="image/svg+xml" if kind == "svg" else "image/png")
    response.headers["Content-Disposition"] = f'inline; filename="signup-{form.slug}.{kind}"'
    return response


@bp.get("/forms/<int:form_id>/qr.svg")
def qr_svg(form_id: int):
    """The hosted page's QR code as SVG, for print at any size."""
    return _qr(form_id, "svg")


@bp.get("/forms/<int:form_id>/qr.png")
def qr_png(form_id: int):
    return _qr(form_id, "png")


def embed_snippet(form: SignupForm) -> str:
    """Plain HTML another site pastes: a form posting to Herald, no script. It has no time token, so Herald
    answers its first post with the hosted page filled in, to check and send (web/signup_guard.py)."""
    esc = _attribute
    rows = []
    for index, item in enumerate(form.fields, 1):
        kind = {"email": "email", "phone": "tel", "birthday": "date"}.get(item["field"], "text")
        required, key = " required" if item["required"] else "", f"herald-{form.slug}-{index}"
        rows.append(f'  <p><label for="{key}">{esc(item["label"])}</label><br>\n'
                    f'  <input type="{kind}" id="{key}" name="{esc(item["field"])}"{required}></p>')
    for channel in form.channels:
        rows.append(f'  <p><label><input type="checkbox" name="consent" value="{channel}"> '
                    f'{esc(form.consent_text(channel))}</label></p>')
    honeypot = (f'  <div style="position:absolute;left:-10000px" aria-hidden="true"><input type="text" '
                f'name="{HONEYPOT}" tabindex="-1" autocomplete="off"></div>')
    return (f'<form method="post" action="{esc(hosted_url(form))}" accept-charset="utf-8">\n{honeypot}\n'
            + "\n".join(rows) + f'\n  <p><button type="submit">{esc(_subscribe_word(form))}</button></p>\n</form>\n')


def _subscribe_word(form: SignupForm) -> str:
    with force_locale(form.language):  # the snippet speaks the form's language, as the hosted page does
        return _("Subscribe")


def _attribute(value: str) -> str:
    return str(escape(value))
