"""A conversation with one contact: their replies and the answers sent, oldest first; answer it (from here or from
an Inbox row), give it to a user, mark it handled or open it again.

Each view calls one domain function (campaigns/responses/answers.py, conversations.py) and goes back where the
form came from: the Inbox row it was posted from, or the conversation.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from campaigns import (
    ChannelUnavailable,
    answer_channel,
    answer_conversation,
    answer_refusal,
    assign_conversation,
    conversation_thread,
    list_canned_replies,
    set_conversation_handled,
    set_reply_handled,
)
from core.errors import Conflict, Invalid, NotFound
from core.users import list_users
from web.db import get_session
from web.pages.context import config, now

bp = Blueprint("conversations", __name__)


@bp.get("/inbox/contacts/<int:contact_id>")
def detail(contact_id: int):
    return _render(contact_id, text="", error="")


@bp.post("/inbox/contacts/<int:contact_id>/answer")
def answer(contact_id: int):
    text = request.form.get("text", "")
    try:
        reply_id = int(request.form["reply_id"]) if request.form.get("reply_id") else None
    except ValueError:
        reply_id = None
    handled = request.form.get("keep_waiting") != "1"
    try:
        answer_conversation(get_session(), contact_id, text=text, channel=answer_channel(config()), now=now(),
                            user_id=current_user.id, reply_id=reply_id, handled=handled)
    except (Invalid, Conflict, ChannelUnavailable) as exc:
        if isinstance(exc, NotFound):
            raise
        if _back_to_inbox():
            flash(exc.message, "error")
            return redirect(_back_to_inbox(), 303)
        return _render(contact_id, text=text, error=exc.message), 422
    wake = current_app.extensions.get("herald.wake")
    if wake is not None:
        wake()  # the embedded sender takes the answer now instead of at its next poll
    flash(_("Answer queued: it goes out ahead of campaign messages, and its status shows in the conversation."),
          "success")
    return redirect(_back_to_inbox() or url_for("conversations.detail", contact_id=contact_id), 303)


@bp.post("/inbox/contacts/<int:contact_id>/assign")
def assign(contact_id: int):
    raw = request.form.get("assignee_id", "")
    try:
        assignee = int(raw) if raw else None
    except ValueError:
        assignee = -1  # refused by the domain with a readable message
    try:
        assign_conversation(get_session(), contact_id, assignee, by_user_id=current_user.id, now=now())
    except Invalid as exc:
        flash(exc.message, "error")
    else:
        flash(_("Conversation assigned.") if assignee else _("Conversation given to nobody."), "success")
    return redirect(_back_to_inbox() or url_for("conversations.detail", contact_id=contact_id), 303)


@bp.post("/inbox/contacts/<int:contact_id>/handled")
def handled(contact_id: int):
    done = request.form.get("handled", "1") == "1"
    set_conversation_handled(get_session(), contact_id, done, user_id=current_user.id, now=now())
    flash(_("Conversation marked handled.") if done else _("Conversation opened again: it waits in the Inbox."),
          "success")
    return redirect(_back_to_inbox() or url_for("conversations.detail", contact_id=contact_id), 303)


@bp.post("/inbox/replies/<int:reply_id>/handled")
def reply_handled(reply_id: int):
    """A reply from a number no contact has: handled on its own (a contact's reply handles their conversation)."""
    done = request.form.get("handled", "1") == "1"
    set_reply_handled(get_session(), reply_id, done, user_id=current_user.id, now=now())
    flash(_("Reply marked handled.") if done else _("Reply opened again: it waits in the Inbox."), "success")
    return redirect(_back_to_inbox() or url_for("inbox.index"), 303)


def _back_to_inbox() -> str:
    """The Inbox URL a row's form came from (only ever a path of the Inbox itself, never another site)."""
    back = request.form.get("back", "")
    return back if back.startswith("/inbox") and not back.startswith("//") else ""


def _render(contact_id: int, *, text: str, error: str):
    db_session = get_session()
    view = conversation_thread(db_session, contact_id)
    try:
        refusal = answer_refusal(db_session, contact_id, answer_channel(config()))
    except ChannelUnavailable as exc:
        refusal = exc.message
    users = [("", _("Nobody"))] + [(user.id, user.name or user.email) for user in list_users(db_session)
                                   if user.active]
    return render_template("inbox/conversation.html", view=view, text=text, error=error, refusal=refusal,
                           canned=list_canned_replies(db_session), user_options=users, **_labels())


def _labels() -> dict[str, Any]:
    return {"direction_labels": {"in": _("They wrote"), "out": _("Answered"),
                                 "auto": _("Herald answered the keyword")}}
