"""Public endpoints a recipient reaches from a message: no login, the signed link is the check.

GET /u/<message_id>/<sig> only shows the preference page (one-click unsubscribe, channels, topics):
mail scanners and link previewers fetch links, and a GET that unsubscribed would unsubscribe people
who never clicked. The POST does it, from the page's forms and as RFC 8058 one-click from the mail
client (List-Unsubscribe-Post), which cannot carry a CSRF token: the blueprint is exempt, the
signature stands in for it. /l/<token> and /o/<token>.gif are the tracked links and the open pixel.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, current_app, redirect, render_template, request
from flask_babel import gettext as _

import campaigns
from campaigns.responses.tracking import is_test_message
from core.errors import NotFound
from core.ids import verify
from web.db import get_session

log = logging.getLogger("herald.web")

bp = Blueprint("public", __name__)

# What a recipient's browser may do on these pages: load nothing from elsewhere, run no script at all,
# post forms only here, and never be framed (a framed unsubscribe button can be clickjacked).
PUBLIC_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
              "base-uri 'none'; frame-ancestors 'none'")


@bp.after_request
def _public_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", PUBLIC_CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # The page's address holds the signed link; no other site may learn it from a Referer.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def _signed(message_id: int, sig: str) -> bool:
    secret = str(current_app.extensions["herald.config"].secret_key)
    return verify(secret, f"u:{message_id}", sig)


def _not_valid():
    return render_template(
        "public/unsubscribe.html",
        title=_("This link is not valid"),
        message=_("The unsubscribe link is incomplete or has been changed. Open it again from the message you "
                  "received, or reply to the sender to be taken off the list."),
        button=None,
    ), 404


@bp.get("/u/<int:message_id>/<sig>")
def unsubscribe_page(message_id: int, sig: str):
    """The preference page: one-click unsubscribe from this channel, or choose channels and topics. Changes nothing."""
    if not _signed(message_id, sig):
        return _not_valid()
    if is_test_message(get_session(), message_id):
        return _test_message()
    try:
        preferences = campaigns.contact_preferences(get_session(), message_id)
    except NotFound:
        # The POST will say the message is gone; the confirmation still reads right until then.
        return render_template(
            "public/unsubscribe.html",
            title=_("Unsubscribe"),
            message=_("Do you want to stop receiving these messages? Confirm below and we will not send you any "
                      "more."),
            button=_("Unsubscribe"),
        )
    return render_template("public/preferences.html", preferences=preferences, saved=False)


@bp.post("/u/<int:message_id>/<sig>")
def unsubscribe(message_id: int, sig: str):
    """Unsubscribe the message's contact from that channel (one-click, RFC 8058), or save the preference form.

    A repeated one-click answers 200 again: mail clients and scanners may post it more than once.
    """
    if not _signed(message_id, sig):
        log.warning("event=unsubscribe_rejected reason=bad_signature message_id=%s", message_id)
        return _not_valid()
    if is_test_message(get_session(), message_id):
        return _test_message()
    if request.form.get("preferences"):
        return _save_preferences(message_id)
    clock = current_app.extensions["herald.clock"]
    try:
        campaigns.unsubscribe_recipient(get_session(), message_id, now=clock.now())
    except NotFound:
        # Signed, so genuine, but the message is gone (its campaign was deleted): say so rather than
        # call the link broken, and point to a way out that does not depend on it.
        return _gone()
    return render_template(
        "public/unsubscribe.html",
        title=_("You are unsubscribed"),
        message=_("You will not receive these messages any more. If this was a mistake, contact the sender."),
        button=None,
    )


# A topic id as the page writes it: a list id, ASCII digits only ("²".isdigit() is true, int("²") fails).
_TOPIC_ID = re.compile(r"[0-9]{1,18}")


def _save_preferences(message_id: int):
    clock = current_app.extensions["herald.clock"]
    wanted = set(request.form.getlist("channel"))
    posted = request.form.getlist("topic")
    session = get_session()
    if not all(_TOPIC_ID.fullmatch(t) for t in posted):
        return _not_saved(_("A topic on the form is not one this page offers. Open the page again from the "
                            "message and save your choices."))
    try:
        current = campaigns.contact_preferences(session, message_id)
        preferences = campaigns.save_preferences(
            session, message_id, channels={c: c in wanted for c in current.channels},
            topic_ids={int(t) for t in posted}, now=clock.now())
    except NotFound:
        return _gone()
    except campaigns.PreferenceNotAllowed as exc:
        log.warning("event=preferences_refused message_id=%s reason=%r", message_id, exc.message)
        return _not_saved(_("A channel you chose cannot be turned back on from this page; the page says how. "
                            "Nothing was changed."))
    return render_template("public/preferences.html", preferences=preferences, saved=True)


def _not_saved(message: str):
    return render_template("public/unsubscribe.html", title=_("Your choices were not saved"), message=message,
                           button=None), 400


def _test_message():
    """A test send's link (campaigns/delivery/seed_sends.py): it showed a contact's data to a marketer, whose
    click must not unsubscribe that contact."""
    return render_template("public/unsubscribe.html", title=_("This was a test message"),
                           message=_("The unsubscribe link works like this in the real message. Nobody was "
                                     "unsubscribed by this test."), button=None)


def _gone():
    return render_template(
        "public/unsubscribe.html",
        title=_("This message is no longer on record"),
        message=_("We could not find the message this link came from, so nothing was changed. Reply to the "
                  "sender to be taken off the list."),
        button=None,
    ), 404


# ---------------------------------------------------------------- click and open tracking
def _fetch() -> campaigns.Fetch:
    # The first address of the forwarding chain: behind a proxy remote_addr is the proxy. A client could
    # claim any address there, but the only effect is to flag its own open as a machine's.
    ip = request.access_route[0] if request.access_route else (request.remote_addr or "")
    return campaigns.Fetch(method=request.method, user_agent=request.headers.get("User-Agent", ""),
                                      ip=ip, at=current_app.extensions["herald.clock"].now())


@bp.route("/l/<token>", methods=["GET", "HEAD"])
def follow_link(token: str):
    """A tracked link: record the click, then 302 to the link's own URL. A token that is not genuine gets a
    404 page and no redirect at all, so the endpoint can never send anyone to an address of a stranger's choice."""
    config = current_app.extensions["herald.config"]
    target = campaigns.record_click(get_session(), token, _fetch(), secret=str(config.secret_key),
                                             settings=config.tracking)
    if target is None:
        log.warning("event=click_rejected reason=bad_token")
        return render_template(
            "public/unsubscribe.html",
            title=_("This link is not valid"),
            message=_("The link is incomplete or has been changed. Open it again from the message you received."),
            button=None,
        ), 404
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"  # every click must reach us, not a cache
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/o/<token>.gif", methods=["GET", "HEAD"])
def open_pixel(token: str):
    """The open-tracking pixel: always the same 1x1 GIF (a broken image would show in the mail); 404 when the
    token is not genuine, and then nothing is recorded."""
    config = current_app.extensions["herald.config"]
    recorded = campaigns.record_open(get_session(), token, _fetch(), secret=str(config.secret_key),
                                              settings=config.tracking)
    response = Response(campaigns.PIXEL_GIF, status=200 if recorded else 404, mimetype="image/gif")
    response.headers["Cache-Control"] = "no-store, private"
    return response
