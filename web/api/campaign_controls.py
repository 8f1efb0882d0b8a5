"""/api/v1/campaigns/{id}/…: approval, pause/resume/cancel, the pre-send estimate, the status history, an
event notice's fallback re-send, and editing a draft. The same domain functions the campaign page calls."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

import campaigns
from campaigns.delivery.sender import describe_channel
from campaigns.notices import DEFAULT_FALLBACK_MINUTES, OTHER_CHANNEL
from core.errors import Invalid
from web.api import (
    api_user,
    bp,
    config,
    iso,
    json_body,
    now,
    optional_int,
    optional_str,
    reject_unknown,
    token_required,
)
from web.api.campaigns import campaign_json, run_json
from web.db import get_session
from web.pages.campaign_controls import campaign_estimate
from web.senders import checked_sender


def optional_bool(data: dict[str, Any], name: str, default: bool = False) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise Invalid(f"{name} must be true or false", field=name)
    return value


def _comment() -> str:
    data = json_body() if _has_body() else {}
    reject_unknown(data, ("comment",))
    return optional_str(data, "comment")


def _has_body() -> bool:
    return bool(request.get_data(cache=True))


def _wake() -> None:
    wake = current_app.extensions.get("herald.wake")
    if wake is not None:
        wake()


@bp.patch("/campaigns/<int:campaign_id>")
@token_required("write")
def update_campaign(campaign_id: int):
    """Change a draft; 409 once it has left draft (its content is frozen: approved, or being sent)."""
    data = json_body()
    reject_unknown(data, campaigns.lifecycle.EDITABLE)
    changes: dict[str, Any] = {}
    for key in ("template_id", "list_id", "segment_id", "cap_messages", "cap_days"):
        if key in data:
            changes[key] = optional_int(data, key)
    for key in ("operational", "ignore_caps"):
        if key in data:
            changes[key] = optional_bool(data, key)
    if "name" in data:
        changes["name"] = optional_str(data, "name")
    if "sender" in data:
        changes["sender"] = checked_sender(config(), optional_str(data, "sender"))
    return campaign_json(campaigns.update_campaign(get_session(), campaign_id, now=now(), **changes))


@bp.post("/campaigns/<int:campaign_id>/submit")
@token_required("write")
def submit_campaign(campaign_id: int):
    return campaign_json(campaigns.submit_for_approval(get_session(), campaign_id, user=api_user(), now=now(),
                                                       comment=_comment()))


@bp.post("/campaigns/<int:campaign_id>/approve")
@token_required("approve")
def approve_campaign(campaign_id: int):
    return campaign_json(campaigns.approve_campaign(get_session(), campaign_id, user=api_user(), now=now(),
                                                    comment=_comment(),
                                                    allow_self_approval=config().allow_self_approval))


@bp.post("/campaigns/<int:campaign_id>/reject")
@token_required("approve")
def reject_campaign(campaign_id: int):
    return campaign_json(campaigns.reject_campaign(get_session(), campaign_id, user=api_user(), now=now(),
                                                   comment=_comment()))


@bp.post("/campaigns/<int:campaign_id>/pause")
@token_required("write")
def pause_campaign(campaign_id: int):
    return campaign_json(campaigns.pause_campaign(get_session(), campaign_id, user_id=api_user().id, now=now(),
                                                  comment=_comment()))


@bp.post("/campaigns/<int:campaign_id>/resume")
@token_required("write")
def resume_campaign(campaign_id: int):
    campaign = campaigns.resume_campaign(get_session(), campaign_id, user_id=api_user().id, now=now(),
                                         comment=_comment())
    _wake()
    return campaign_json(campaign)


@bp.post("/campaigns/<int:campaign_id>/cancel")
@token_required("write")
def cancel_campaign(campaign_id: int):
    session = get_session()
    cancelled = campaigns.cancel_campaign(session, campaign_id, now=now(), user_id=api_user().id, comment=_comment())
    return {"campaign": campaign_json(campaigns.get_campaign(session, campaign_id)), "cancelled_messages": cancelled}


@bp.get("/campaigns/<int:campaign_id>/estimate")
@token_required("read")
def estimate_campaign(campaign_id: int):
    return campaign_estimate(campaign_id).to_dict()


@bp.get("/campaigns/<int:campaign_id>/transitions")
@token_required("read")
def campaign_transitions(campaign_id: int):
    session = get_session()
    campaigns.get_campaign(session, campaign_id)
    return {"items": [{"from": t.from_status or None, "to": t.to_status, "user": t.user_email, "comment": t.comment,
                       "at": iso(t.at)} for t in campaigns.list_transitions(session, campaign_id)]}


@bp.post("/campaigns/<int:campaign_id>/fallback")
@token_required("write")
def resend_fallback(campaign_id: int):
    """Re-send an event notice through the other channel to everyone not delivered after N minutes: 202."""
    data = json_body()
    reject_unknown(data, ("template_id", "after_minutes"))
    session = get_session()
    notice = campaigns.get_campaign(session, campaign_id)
    minutes = optional_int(data, "after_minutes")
    description, dry_run = describe_channel(config(), OTHER_CHANNEL[notice.channel])
    made = campaigns.resend_undelivered(
        session, campaign_id, template_id=optional_int(data, "template_id", required=True) or 0,
        after_minutes=DEFAULT_FALLBACK_MINUTES if minutes is None else minutes, now=now(),
        channel_description=description, dry_run=dry_run, user_id=api_user().id)
    _wake()
    return {"campaign": campaign_json(made.campaign), "run": run_json(made.run), "recipients": made.recipients}, 202
