"""Public endpoints a recipient reaches from a message: no login, the signed link is the check.

GET /u/<message_id>/<sig> only shows a confirmation: mail scanners and link previewers fetch
links, and a GET that unsubscribed would unsubscribe people who never clicked. The POST does it,
both from the page's button and as RFC 8058 one-click from the mail client (List-Unsubscribe-Post),
which cannot carry a CSRF token: the blueprint is exempt, the signature stands in for it.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _

import campaigns
from core.errors import NotFound
from core.ids import verify
from web.db import get_session

log = logging.getLogger("herald.web")

bp = Blueprint("public", __name__)


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
    if not _signed(message_id, sig):
        return _not_valid()
    return render_template(
        "public/unsubscribe.html",
        title=_("Unsubscribe"),
        message=_("Do you want to stop receiving these messages? Confirm below and we will not send you any more."),
        button=_("Unsubscribe"),
    )


@bp.post("/u/<int:message_id>/<sig>")
def unsubscribe(message_id: int, sig: str):
    """Unsubscribe the message's contact from that channel; answering 200 again for a repeat is harmless."""
    if not _signed(message_id, sig):
        log.warning("event=unsubscribe_rejected reason=bad_signature message_id=%s", message_id)
        return _not_valid()
    clock = current_app.extensions["herald.clock"]
    try:
        campaigns.unsubscribe_recipient(get_session(), message_id, now=clock.now())
    except NotFound:
        # Signed, so genuine, but the message is gone (its campaign was deleted): say so rather than
        # call the link broken, and point to a way out that does not depend on it.
        return render_template(
            "public/unsubscribe.html",
            title=_("This message is no longer on record"),
            message=_("We could not find the message this link came from, so nothing was changed. Reply to the "
                      "sender to be taken off the list."),
            button=None,
        ), 404
    return render_template(
        "public/unsubscribe.html",
        title=_("You are unsubscribed"),
        message=_("You will not receive these messages any more. If this was a mistake, contact the sender."),
        button=None,
    )
