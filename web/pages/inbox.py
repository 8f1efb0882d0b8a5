"""The Inbox: SMS replies newest first, filtered by keyword class, and the keyword rules that act on them.

Also gives every template `provider_pauses()`: the channels whose circuit breaker is open, for the
banner on the dashboard and the campaign page (campaigns/delivery/breaker.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from audiences import list_lists
from campaigns import (
    KEYWORD_ACTIONS,
    REPLY_CLASSES,
    PausedChannel,
    SlowedChannel,
    count_replies,
    create_keyword_rule,
    delete_keyword_rule,
    keyword_rules,
    list_keyword_rules,
    list_replies,
    paused_channels,
    rules_by_keyword,
    set_keyword_rule_enabled,
    slowed_channels,
)
from core.errors import Invalid
from web.db import get_session
from web.pages.context import config, now

bp = Blueprint("inbox", __name__)

PAGE_SIZE = 100


def class_labels() -> dict[str, str]:
    """A reply's class (its keyword's action) in the reader's language."""
    return {
        "unsubscribe": _("Opt-out"),
        "subscribe": _("Opt-in"),
        "help": _("Help"),
        "add_to_list": _("Added to a list"),
        "tag": _("Tagged"),
        "other": _("Other"),
    }


def action_labels() -> dict[str, str]:
    return {
        "unsubscribe": _("Unsubscribe from SMS"),
        "subscribe": _("Subscribe to SMS again"),
        "help": _("Answer with help"),
        "add_to_list": _("Add the sender to a list"),
        "tag": _("Label the reply"),
    }


@bp.get("/inbox")
def index():
    return _render(form={}, errors={})


@bp.post("/inbox/keywords")
def add_keyword():
    form = {key: request.form.get(key, "").strip() for key in ("keyword", "action", "list_id", "tag", "reply_text")}
    try:
        list_id = int(form["list_id"]) if form["list_id"] else None
    except ValueError:
        list_id = None
    try:
        rule = create_keyword_rule(get_session(), keyword=form["keyword"], action=form["action"],
                                   list_id=list_id, tag=form["tag"], reply_text=form["reply_text"],
                                   config=config().replies, now=now())
    except Invalid as exc:
        return _render(form=form, errors={exc.field or "keyword": exc.message}), 422
    flash(_("Keyword “%(keyword)s” added. Replies that say it are handled from now on.", keyword=rule.keyword),
          "success")
    return redirect(url_for("inbox.index", _anchor="keywords"), 303)


@bp.post("/inbox/keywords/<int:rule_id>/enabled")
def switch_keyword(rule_id: int):
    enabled = request.form.get("enabled") == "1"
    rule = set_keyword_rule_enabled(get_session(), rule_id, enabled, now=now())
    flash(_("Keyword “%(keyword)s” is on: replies that say it are handled.", keyword=rule.keyword) if enabled else
          _("Keyword “%(keyword)s” is off: replies that say it are kept as other replies.", keyword=rule.keyword),
          "success")
    return redirect(url_for("inbox.index", _anchor="keywords"), 303)


@bp.post("/inbox/keywords/<int:rule_id>/delete")
def delete_keyword(rule_id: int):
    delete_keyword_rule(get_session(), rule_id)
    flash(_("Keyword rule deleted. Replies it already handled keep their class."), "success")
    return redirect(url_for("inbox.index", _anchor="keywords"), 303)


def _render(*, form: dict[str, Any], errors: dict[str, str]):
    db_session = get_session()
    chosen = request.args.get("class", "")
    unmatched = request.args.get("unmatched") == "1"
    if chosen not in REPLY_CLASSES:
        chosen = ""
    rows = list_replies(db_session, classification=chosen or None, unmatched=unmatched, limit=PAGE_SIZE)
    rules = rules_by_keyword(keyword_rules(db_session, config().replies))
    custom = list_keyword_rules(db_session)
    switched_off = [rule for rule in custom if not rule.enabled]
    lists = list_lists(db_session)
    return render_template(
        "inbox/index.html", rows=rows, counts=count_replies(db_session), chosen=chosen, unmatched=unmatched,
        class_labels=class_labels(), action_labels=action_labels(), rules=rules, switched_off=switched_off,
        list_names={contact_list.id: contact_list.name for contact_list, _members in lists},
        list_options=[("", _("Pick a list"))] + [(c.id, c.name) for c, _members in lists],
        action_options=[(action, action_labels()[action]) for action in KEYWORD_ACTIONS
                        if action != "unsubscribe"] + [("unsubscribe", action_labels()["unsubscribe"])],
        form=form, errors=errors, page_size=PAGE_SIZE, inbound_url=inbound_url(),
    )


def inbound_url() -> str:
    """The address to give the SMS provider for incoming messages, or "" when the channel takes none."""
    base = config().base_url.rstrip("/")
    scheme = urlsplit(str(config().channels["sms"].url)).scheme
    if scheme == "twilio":
        return f"{base}/webhooks/twilio/inbound"
    if scheme == "http-sms":
        return f"{base}/webhooks/http-sms/inbound?token=<dr_token>"
    return ""


@bp.app_context_processor
def breaker_helpers() -> dict[str, Any]:
    """`provider_pauses()` and `provider_slowdowns()` for the dashboard and campaign banners; a query only
    where a page calls it."""

    def provider_pauses() -> list[PausedChannel]:
        return paused_channels(get_session())

    def provider_slowdowns() -> list[SlowedChannel]:
        return slowed_channels(get_session())

    return {"provider_pauses": provider_pauses, "provider_slowdowns": provider_slowdowns}
