"""Audience pages: lists. The contact pages are in web/pages/audiences/contacts.py and the import pages in
web/pages/audiences/imports.py, on this same blueprint."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from audiences import create_list, list_lists
from core.errors import Invalid
from web.db import get_session
from web.pages.context import now

bp = Blueprint("audiences", __name__)


# ---------------------------------------------------------------- lists
@bp.get("/lists")
def lists():
    return render_template("audiences/lists.html", lists=list_lists(get_session()), form={}, errors={})


@bp.post("/lists")
def create_list_view():
    form = {"name": request.form.get("name", "").strip(), "description": request.form.get("description", "").strip()}
    db_session = get_session()
    try:
        made = create_list(db_session, form["name"], form["description"], now=now())
    except Invalid as exc:
        return render_template("audiences/lists.html", lists=list_lists(db_session), form=form,
                               errors={exc.field or "name": exc.message}), 422
    flash(_("List “%(name)s” created. Import a CSV into it or pick it as a campaign's audience.", name=made.name),
          "success")
    return redirect(url_for("audiences.lists"), 303)


# The contact and import pages register their routes on `bp` when imported.
from web.pages.audiences import contacts as _contacts  # noqa: E402, F401
from web.pages.audiences import imports as _imports  # noqa: E402, F401
