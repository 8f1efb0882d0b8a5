"""Inbox → Canned replies: the ready answers care staff pick when answering, kept by admins (a table: title, text)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from campaigns import delete_canned_reply, get_canned_reply, list_canned_replies, save_canned_reply
from core.errors import Invalid
from web.db import get_session
from web.pages.context import now

bp = Blueprint("canned_replies", __name__)


def _page(form: dict[str, str], errors: dict[str, str], editing: int | None = None):
    return render_template("inbox/canned.html", canned=list_canned_replies(get_session()), form=form,
                           errors=errors, editing=editing)


@bp.get("/inbox/canned")
def index():
    editing = request.args.get("edit", "")
    if editing.isdigit():
        canned = get_canned_reply(get_session(), int(editing))
        return _page({"title": canned.title, "body": canned.body}, {}, canned.id)
    return _page({}, {})


@bp.post("/inbox/canned")
def create():
    return _save(None)


@bp.post("/inbox/canned/<int:canned_id>")
def update(canned_id: int):
    return _save(canned_id)


def _save(canned_id: int | None):
    form = {"title": request.form.get("title", ""), "body": request.form.get("body", "")}
    try:
        canned = save_canned_reply(get_session(), title=form["title"], body=form["body"], now=now(),
                                   canned_id=canned_id)
    except Invalid as exc:
        get_session().rollback()
        return _page(form, {exc.field or "title": exc.message}, canned_id), 422
    flash(_("Canned reply “%(title)s” saved.", title=canned.title), "success")
    return redirect(url_for("canned_replies.index"), 303)


@bp.post("/inbox/canned/<int:canned_id>/delete")
def delete(canned_id: int):
    delete_canned_reply(get_session(), canned_id)
    flash(_("Canned reply deleted. Answers already sent with it are unchanged."), "success")
    return redirect(url_for("canned_replies.index"), 303)
