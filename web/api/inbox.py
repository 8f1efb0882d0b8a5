"""/api/v1/replies and /api/v1/keyword-rules: the Inbox over the API — replies listed, filtered and searched,
read, answered by SMS, their conversation assigned and marked handled; keyword rules created, read, changed
and deleted. The same domain functions the Inbox page calls (campaigns/responses/)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

import campaigns
from core.errors import Conflict, Invalid
from web.api import (
    api_user,
    bp,
    config,
    iso,
    json_body,
    now,
    optional_int,
    optional_str,
    pagination,
    query_int,
    reject_unknown,
    required_str,
    token_required,
)
from web.db import get_session

STATUSES = ("waiting", "handled")


def reply_json(row: campaigns.InboxRow) -> dict[str, Any]:
    reply = row.reply
    return {
        "id": reply.id,
        "received_at": iso(reply.received_at),
        "from_number": reply.from_number,
        "to_number": reply.to_number,
        "body": reply.body,
        "provider": reply.provider,
        "contact_id": reply.contact_id,
        "contact_name": row.contact_name,
        "classification": reply.classification,
        "keyword": reply.keyword,
        "tag": reply.tag,
        "answered_automatically": reply.answer,
        "campaign_id": row.campaign_id,
        "message_id": reply.message_id,
        "status": "handled" if reply.handled_at is not None else "waiting",
        "handled_at": iso(reply.handled_at),
        "handled_by": reply.handled_by,
        "assignee_id": row.assignee_id,
    }


def _one(reply_id: int) -> dict[str, Any]:
    session = get_session()
    return reply_json(campaigns.describe_replies(session, [campaigns.get_reply(session, reply_id)])[0])


@bp.get("/replies")
@token_required("read")
def list_replies():
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise Invalid(f'status "{status}" is not known; use one of: {", ".join(STATUSES)}, or leave it out',
                      field="status")
    unmatched = request.args.get("unmatched", "false")
    if unmatched not in ("true", "false"):
        raise Invalid(f'unmatched "{unmatched}" must be true or false', field="unmatched")
    assignee: int | str | None = None
    if "assignee_id" in request.args:
        assignee = query_int("assignee_id", None, minimum=0) or campaigns.NOBODY
    page, per_page = pagination()
    listing = campaigns.inbox_page(
        get_session(), status=status, assignee=assignee, contact_id=query_int("contact_id", None),
        classification=request.args.get("class"), unmatched=unmatched == "true",
        search=request.args.get("search"), page=page, per_page=per_page)
    return {"items": [reply_json(row) for row in listing.rows], "total": listing.total, "page": listing.page,
            "per_page": listing.per_page}


@bp.get("/replies/<int:reply_id>")
@token_required("read")
def get_reply(reply_id: int):
    return _one(reply_id)


@bp.post("/replies/<int:reply_id>/answer")
@token_required("write")
def answer_reply(reply_id: int):
    data = json_body()
    reject_unknown(data, ("text", "handled"))
    handled = data.get("handled", True)
    if not isinstance(handled, bool):
        raise Invalid("handled must be true or false", field="handled")
    session = get_session()
    answer = campaigns.answer_reply(session, reply_id, text=required_str(data, "text"),
                                    channel=campaigns.answer_channel(config()), now=now(), user_id=api_user().id,
                                    handled=handled)
    wake = current_app.extensions.get("herald.wake")
    if wake is not None:
        wake()
    message = session.get(campaigns.Message, answer.message_id)
    assert message is not None  # just written by answer_reply
    return {"id": answer.id, "reply_id": answer.reply_id, "contact_id": answer.contact_id,
            "message_id": answer.message_id, "status": message.status, "text": message.body or "",
            "created_at": iso(answer.created_at)}, 202


@bp.post("/replies/<int:reply_id>/assign")
@token_required("write")
def assign_reply(reply_id: int):
    data = json_body()
    reject_unknown(data, ("assignee_id",))
    if "assignee_id" not in data:
        raise Invalid("assignee_id is required: a user id, or null for nobody", field="assignee_id")
    assignee = optional_int(data, "assignee_id")
    session = get_session()
    reply = campaigns.get_reply(session, reply_id)
    if reply.contact_id is None:
        raise Conflict(f"no contact has the number {reply.from_number}, so reply {reply_id} has no "
                                   "conversation to assign; add the contact first")
    campaigns.assign_conversation(session, reply.contact_id, assignee, by_user_id=api_user().id, now=now())
    return _one(reply_id)


@bp.post("/replies/<int:reply_id>/handled")
@token_required("write")
def reply_handled(reply_id: int):
    data = json_body()
    reject_unknown(data, ("handled",))
    handled = data.get("handled", True)
    if not isinstance(handled, bool):
        raise Invalid("handled must be true or false", field="handled")
    campaigns.set_reply_handled(get_session(), reply_id, handled, user_id=api_user().id, now=now())
    return _one(reply_id)


# ---------------------------------------------------------------- keyword rules
def rule_json(rule: campaigns.KeywordRule) -> dict[str, Any]:
    return {"id": rule.id, "keyword": rule.keyword, "action": rule.action, "list_id": rule.list_id, "tag": rule.tag,
            "reply_text": rule.reply_text, "enabled": rule.enabled, "created_at": iso(rule.created_at),
            "updated_at": iso(rule.updated_at)}


@bp.get("/keyword-rules")
@token_required("read")
def list_keyword_rules():
    """The rules made in the UI or the API; the opt-out, opt-in and help keywords of config.toml are listed
    under `builtin`, read-only."""
    session = get_session()
    builtin = [{"keyword": r.keyword, "action": r.action, "reply_text": r.reply_text}
               for r in campaigns.rules_by_keyword(campaigns.keyword_rules(session, config().replies)) if r.builtin]
    return {"items": [rule_json(r) for r in campaigns.list_keyword_rules(session)], "builtin": builtin}


@bp.post("/keyword-rules")
@token_required("write")
def create_keyword_rule():
    data = json_body()
    reject_unknown(data, ("keyword", "action", "list_id", "tag", "reply_text"))
    rule = campaigns.create_keyword_rule(
        get_session(), keyword=required_str(data, "keyword"), action=required_str(data, "action"),
        list_id=optional_int(data, "list_id"), tag=optional_str(data, "tag") or None,
        reply_text=optional_str(data, "reply_text"), config=config().replies, now=now())
    return rule_json(rule), 201


@bp.get("/keyword-rules/<int:rule_id>")
@token_required("read")
def get_keyword_rule(rule_id: int):
    return rule_json(campaigns.get_keyword_rule(get_session(), rule_id))


@bp.patch("/keyword-rules/<int:rule_id>")
@token_required("write")
def update_keyword_rule(rule_id: int):
    data = json_body()
    reject_unknown(data, ("enabled", "reply_text"))
    enabled = data.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise Invalid("enabled must be true or false", field="enabled")
    reply_text = optional_str(data, "reply_text", default=None)  # type: ignore[arg-type]
    rule = campaigns.update_keyword_rule(get_session(), rule_id, now=now(), enabled=enabled, reply_text=reply_text)
    return rule_json(rule)


@bp.delete("/keyword-rules/<int:rule_id>")
@token_required("write")
def delete_keyword_rule(rule_id: int):
    campaigns.delete_keyword_rule(get_session(), rule_id)
    return {"id": rule_id, "deleted": True}
