"""The public side of sign-up forms: the hosted page at /f/<slug> (which the embeddable snippet also posts
to), the SMS code box, and the confirmation link /f/confirm/<submission>/<signature>.

No login. CSRF cannot apply to a form posted from another site, so this blueprint is exempt (web/app.py)
and guarded by a honeypot, a signed time token and rate limits instead (web/signup_guard.py). The page
speaks the form's language, whoever opens it, and runs no script (the public pages' CSP,
web/public.py). The confirmation link's GET only shows a button: mail scanners fetch links.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _  # the form's language: translated when rendered, in force_locale

from audiences import normalise_email, normalise_phone
from campaigns import ChannelUnavailable
from campaigns.signups import (
    ADDRESS_FIELD,
    CodeRefused,
    SignupExpired,
    SignupForm,
    SignupInvalid,
    Visitor,
    confirm_signup,
    confirm_signup_by_code,
    form_by_slug,
    get_form,
    get_submission,
    link_is_genuine,
    submit_signup,
)
from core.errors import Invalid, NotFound
from core.ids import sign, verify
from web.db import get_session
from web.pages.context import config, now
from web.public import PUBLIC_CSP
from web.signup_guard import HONEYPOT, TIME_FIELD, SignupThrottle, time_token, time_token_problem

log = logging.getLogger("herald.web")

bp = Blueprint("signup_public", __name__)


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", PUBLIC_CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # the confirmation link is in the address
    response.headers.setdefault("Cache-Control", "no-store")  # a time token and values are on the page
    return response


def _secret() -> str:
    return str(config().secret_key)


def _ip() -> str:
    # The TCP peer, as the login throttle counts it: X-Forwarded-For is written by the client.
    return request.remote_addr or ""


def _throttle() -> SignupThrottle:
    return current_app.extensions["herald.signup_throttle"]


def _render(form: SignupForm, template: str, status: int = 200, **context: Any):
    with force_locale(form.language):
        return render_template(f"signups/{template}", form=form, **context), status


def _message(form: SignupForm | None, title: str, text: str, status: int):
    """A short page (not found, expired…) in the form's language when there is a form, else the visitor's."""
    if form is None:
        return render_template("public/unsubscribe.html", title=title, message=text, button=None), status
    return _render(form, "message.html", status, title=title, text=text)


def _open_form(slug: str) -> SignupForm | None:
    try:
        return form_by_slug(get_session(), slug)
    except NotFound:
        return None


def _not_open():
    return _message(None, _("This form is not open"), _("The sign-up form you are looking for does not exist or "
                                                        "has been closed."), 404)


def _page(form: SignupForm, *, values: dict[str, str] | None = None, consents: list[str] | None = None,
          problems: dict[str, str] | None = None, notice: str = "", status: int = 200):
    return _render(form, "hosted.html", status, values=values or {}, consents=consents or [], problems=problems or {},
                   notice=notice, time_token=time_token(_secret(), form.slug, now()), honeypot=HONEYPOT,
                   time_field=TIME_FIELD, problem_text=_problem_text)


def _problem_text(field: str, kind: str) -> str:
    """What is wrong with a field, in the form's language (the domain names problems, not words)."""
    if field == "consent":
        return _("Tick at least one box to subscribe.")
    if kind == "required":
        return _("Please fill this in.")
    return {"email": _("Enter a valid email address."), "phone": _("Enter a valid mobile number."),
            "birthday": _("Enter a date, e.g. 1990-05-04.")}.get(field, _("This value is not accepted."))


@bp.get("/f/<slug>")
def hosted(slug: str):
    """The hosted sign-up page."""
    form = _open_form(slug)
    return _not_open() if form is None else _page(form)


@bp.post("/f/<slug>")
def submit(slug: str):
    """A submission from the hosted page or an embedded snippet; see web/signup_guard.py for the checks."""
    form = _open_form(slug)
    if form is None:
        return _not_open()
    values = {item["field"]: request.form.get(item["field"], "")[:500] for item in form.fields}
    consents = [c for c in request.form.getlist("consent") if c in form.channels]
    if request.form.get(HONEYPOT):
        log.info("event=signup_dropped reason=honeypot form_id=%d", form.id)
        return _sent(form, tuple(consents), None)
    problem = time_token_problem(_secret(), form.slug, request.form.get(TIME_FIELD, ""), now())
    if problem is not None:
        log.info("event=signup_returned reason=time_%s form_id=%d", problem, form.id)
        return _page(form, values=values, consents=consents,
                     notice=_("Please check your details and press the button again to finish signing up."))
    wait = _throttle().ip_wait_seconds(_ip())
    if wait is not None:
        log.warning("event=signup_throttled reason=ip form_id=%d", form.id)
        response = _message(form, _("Too many sign-ups"), _("Too many sign-ups came from your network. Please try "
                                                            "again in %(minutes)s minutes.",
                                                            minutes=max(1, wait // 60)), 429)
        return response[0], 429, {"Retry-After": str(wait)}
    addresses = _addresses(values, consents)
    if addresses and not _throttle().addresses_allowed(addresses):
        log.warning("event=signup_throttled reason=address form_id=%d", form.id)
        return _sent(form, tuple(c for c in form.channels if c in consents), None)
    try:
        receipt = submit_signup(get_session(), slug, values, consents,
                                visitor=Visitor(_ip(), request.headers.get("User-Agent", "")), config=config(),
                                now=now())
    except SignupInvalid as exc:
        get_session().rollback()
        return _page(form, values=values, consents=consents, problems=exc.problems, status=422)
    except ChannelUnavailable:
        get_session().rollback()
        log.exception("event=signup_channel_unavailable form_id=%d", form.id)
        return _message(form, _("Sign-ups are paused"), _("We cannot send confirmations right now. Please try "
                                                          "again later."), 503)
    wake = current_app.extensions.get("herald.wake")
    if wake is not None:
        wake()  # the embedded sender takes the confirmation now, not at its next poll
    return _sent(form, receipt.channels, receipt.sms_submission_id)


def _addresses(values: dict[str, str], consents: list[str]) -> list[str]:
    """The emails and phones this submission would send a confirmation to, as contacts store them."""
    found = []
    for channel in consents:
        raw = values.get(ADDRESS_FIELD[channel], "").strip()
        try:
            found.append(normalise_email(raw) if channel == "email" else
                         normalise_phone(raw, region=config().default_region))
        except Invalid:
            continue  # submit_signup says what is wrong with it
    return found


def _sent(form: SignupForm, channels: tuple[str, ...], sms_submission_id: int | None, **extra: Any):
    """The same page for everyone who submitted, known or new: where to look for the confirmation."""
    ref = f"{sms_submission_id}.{sign(_secret(), f'signup-ref:{sms_submission_id}')}" if sms_submission_id else ""
    return _render(form, "sent.html", channels=channels, ref=ref, **extra)


@bp.post("/f/<slug>/code")
def code(slug: str):
    """The six-digit code from the confirmation SMS, typed on the page."""
    form = _open_form(slug)
    if form is None:
        return _not_open()
    wait = _throttle().ip_wait_seconds(_ip(), code=True)
    if wait is not None:
        return _sent(form, ("sms",), None, code_error=_("Too many codes were tried. Please wait an hour, or reply Y "
                                                        "to the message."))[0], 429
    ref = request.form.get("ref", "")
    submission_id, _dot, signature = ref.partition(".")
    if not submission_id.isdigit() or not verify(_secret(), f"signup-ref:{submission_id}", signature):
        return _sent(form, ("sms",), None, code_error=_("That code is not right."))[0], 422
    try:
        confirm_signup_by_code(get_session(), int(submission_id), request.form.get("code", ""),
                               secret_key=_secret(), ip=_ip(), now=now(), default_region=config().default_region)
    except CodeRefused as exc:
        text = (_("That code is not right. %(left)s tries left.", left=exc.attempts_left) if exc.attempts_left
                else _("Too many wrong codes. Please sign up again."))
        return _sent(form, ("sms",), int(submission_id), code_error=text)[0], 422
    except (SignupExpired, NotFound):
        return _expired(form)
    return _render(form, "confirmed.html")


def _expired(form: SignupForm):
    return _message(form, _("This confirmation has expired"), _("Please sign up again: we will send you a new "
                                                                "confirmation."), 410)


def _submission_form(submission_id: int, sig: str) -> SignupForm | None:
    if not link_is_genuine(_secret(), submission_id, sig):
        return None
    try:
        return get_form(get_session(), get_submission(get_session(), submission_id).form_id)
    except NotFound:
        return None


def _bad_link():
    return _message(None, _("This link is not valid"), _("The confirmation link is incomplete or has been changed. "
                                                         "Open it again from the email you received."), 404)


@bp.get("/f/confirm/<int:submission_id>/<sig>")
def confirm_page(submission_id: int, sig: str):
    """The confirmation link: a page with a button. Changes nothing."""
    form = _submission_form(submission_id, sig)
    return _bad_link() if form is None else _render(form, "confirm.html")


@bp.post("/f/confirm/<int:submission_id>/<sig>")
def confirm(submission_id: int, sig: str):
    """The button on the confirmation page: subscribes, with the evidence."""
    form = _submission_form(submission_id, sig)
    if form is None:
        return _bad_link()
    try:
        confirm_signup(get_session(), submission_id, how="link", ip=_ip(), now=now(),
                       default_region=config().default_region)
    except SignupExpired:
        return _expired(form)
    return _render(form, "confirmed.html")
