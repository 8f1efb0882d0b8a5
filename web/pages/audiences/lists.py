"""List pages: every static list with its size, and the form that creates one (blueprint `lists`)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from audiences import create_list, list_lists
from core.errors import Invalid
from web.db import get_session
from web.pages.context import now

bp = Blueprint("lists", __name__)


@bp.get("/lists")
def index():
    return render_template("audiences/lists.html", lists=list_lists(get_session()), form={}, errors={})


@bp.post("/lists")
def create():
    form = {"name": request.form.get("name", "").strip(), "description": request.form.get("description", "").strip()}
    db_session = get_session()
    try:
        made = create_list(db_session, form["name"], form["description"], now=now())
    except Invalid as exc:
        return render_template("audiences/lists.html", lists=list_lists(db_session), form=form,
                               errors={exc.field or "name": exc.message}), 422
    flash(_("List “%(name)s” created. Import a CSV into it or pick it as a campaign's audience.", name=made.name),
          "success")
    return redirect(url_for("lists.index"), 303)

