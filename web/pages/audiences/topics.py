"""Marking a list as a topic: it then appears on the preference page, where contacts join or leave it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

import audiences
from web.db import get_session

bp = Blueprint("topics", __name__)


@bp.post("/lists/<int:list_id>/topic")
def set_topic(list_id: int):
    is_topic = request.form.get("is_topic") == "1"
    changed = audiences.set_topic(get_session(), list_id, is_topic)
    if is_topic:
        flash(_("“%(name)s” is now a topic: contacts can join or leave it from the link in every message.",
                name=changed.name), "success")
    else:
        flash(_("“%(name)s” is no longer a topic; its members stay on it.", name=changed.name), "success")
    return redirect(url_for("lists.index"), 303)
