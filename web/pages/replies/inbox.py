"""The Inbox: SMS replies newest first — waiting or handled, assigned to the reader or to nobody, of one keyword
class, searched by contact name, phone or text, a page at a time — each answerable on the spot; the keyword
rules that act on them; and the count of what waits, on the menu of every page.

The conversation with one contact is web/pages/replies/conversations.py; canned replies,
web/pages/replies/canned_replies.py.

Also gives every template `provider_pauses()`: the channels whose circuit breaker is open, for the
banner on the dashboard and the campaign page (campaigns/delivery/breaker.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from audiences import list_lists
from campaigns import (
    KEYWORD_ACTIONS,
    NOBODY,
    REPLY_CLASSES,
    PausedChannel,
    SlowedChannel,
    Waiting,
    count_replies,
    count_waiting,
    create_keyword_rule,
    delete_keyword_rule,
    inbox_page,
    keyword_rules,
    list_canned_replies,
    list_keyword_rules,
    paused_channels,
    rules_by_keyword,
    set_keyword_rule_enabled,
    slowed_channels,
)
from core.errors import Invalid
from web.db import get_session
from web.pages.context import config, now

bp = Blueprint("inbox", __name__)

PAGE_SIZE = 50


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
    filters = inbox_filters()
    listing = inbox_page(db_session, **filters.query, page=filters.page, per_page=PAGE_SIZE)
    rules = rules_by_keyword(keyword_rules(db_session, config().replies))
    custom = list_keyword_rules(db_session)
    switched_off = [rule for rule in custom if not rule.enabled]
    lists = list_lists(db_session)
    return render_template(
        "inbox/index.html", listing=listing, rows=listing.rows, counts=count_replies(db_session), filters=filters,
        chosen=filters.chosen, unmatched=filters.unmatched, canned=list_canned_replies(db_session),
        class_labels=class_labels(), action_labels=action_labels(), rules=rules, switched_off=switched_off,
        list_names={contact_list.id: contact_list.name for contact_list, _members in lists},
        list_options=[("", _("Pick a list"))] + [(c.id, c.name) for c, _members in lists],
        action_options=[(action, action_labels()[action]) for action in KEYWORD_ACTIONS
                        if action != "unsubscribe"] + [("unsubscribe", action_labels()["unsubscribe"])],
        form=form, errors=errors, page_size=PAGE_SIZE, inbound_url=inbound_url(),
    )


class InboxFilters:
    """The Inbox's filters from the query string, checked, and the links that keep them while one changes."""

    def __init__(self, args: Any) -> None:
        self.chosen = args.get("class", "") if args.get("class", "") in REPLY_CLASSES else ""
        self.unmatched = args.get("unmatched") == "1"
        self.status = args.get("status", "") if args.get("status", "") in ("waiting", "handled") else ""
        self.assignee = args.get("assignee", "") if args.get("assignee", "") in ("me", NOBODY) else ""
        self.search = args.get("q", "").strip()[:100]
        try:
            self.page = max(1, int(args.get("page", "1")))
        except ValueError:
            self.page = 1

    @property
    def query(self) -> dict[str, Any]:
        """The keyword arguments of inbox_page."""
        assignee: int | str | None = None
        if self.assignee == "me":
            assignee = current_user.id
        elif self.assignee == NOBODY:
            assignee = NOBODY
        return {"status": self.status or None, "assignee": assignee, "classification": self.chosen or None,
                "unmatched": self.unmatched, "search": self.search or None}

    def url(self, **changes: Any) -> str:
        """This page's URL with `changes` (a value None drops the filter); a change of filter starts at page 1."""
        values = {"class": self.chosen, "unmatched": "1" if self.unmatched else "", "status": self.status,
                  "assignee": self.assignee, "q": self.search, "page": ""}
        values.update({("class" if key == "cls" else key): value for key, value in changes.items()})
        return url_for("inbox.index", **{key: value for key, value in values.items() if value})


def inbox_filters() -> InboxFilters:
    return InboxFilters(request.args)


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
    """`provider_pauses()` and `provider_slowdowns()` for the dashboard and campaign banners, and
    `inbox_waiting()` for the menu; a query only where a page calls it."""

    def provider_pauses() -> list[PausedChannel]:
        return paused_channels(get_session())

    def provider_slowdowns() -> list[SlowedChannel]:
        return slowed_channels(get_session())

    def inbox_waiting() -> Waiting | None:
        """What waits in the Inbox, for the menu: one query over the waiting replies only."""
        if not current_user.is_authenticated:
            return None
        return count_waiting(get_session(), user_id=current_user.id)

    return {"provider_pauses": provider_pauses, "provider_slowdowns": provider_slowdowns,
            "inbox_waiting": inbox_waiting}
