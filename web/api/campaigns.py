"""/api/v1/campaigns: list, create, read, send now, follow the status, read the report."""

from __future__ import annotations

from typing import Any

from flask import current_app

import campaigns
from channels import mask_url
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
    required_str,
    token_required,
)
from web.db import get_session
from web.senders import checked_sender


def campaign_json(campaign: campaigns.Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "kind": campaign.kind,
        "channel": campaign.channel,
        "template_id": campaign.template_id,
        "list_id": campaign.list_id,
        "status": campaign.status,
        "guarantee": campaign.guarantee,
        "sender": campaign.sender,
        "segment_id": campaign.segment_id,
        "operational": campaign.operational,
        "ignore_caps": campaign.ignore_caps,
        "cap_messages": campaign.cap_messages,
        "cap_days": campaign.cap_days,
        "fallback_of_id": campaign.fallback_of_id,
        "fallback_template_id": campaign.fallback_template_id,
        "fallback_after_minutes": campaign.fallback_after_minutes,
        "approved_by": campaign.approved_by,
        "approved_at": iso(campaign.approved_at),
        "created_by": campaign.created_by,
        "created_at": iso(campaign.created_at),
        "updated_at": iso(campaign.updated_at),
    }


def run_json(run: campaigns.Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "campaign_id": run.campaign_id,
        "occasion_key": run.occasion_key,
        "status": run.status,
        "channel_url": mask_url(run.channel_url),  # runs made before every secret was masked
        "dry_run": run.dry_run,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
    }


@bp.get("/campaigns")
@token_required("read")
def list_campaigns():
    return {"items": [campaign_json(c) for c in campaigns.list_campaigns(get_session())]}


@bp.post("/campaigns")
@token_required("write")
def create_campaign():
    data = json_body()
    reject_unknown(data, ("name", "channel", "template_id", "list_id", "kind", "segment_id", "operational",
                          "ignore_caps", "cap_messages", "cap_days", "sender", "fallback_template_id",
                          "fallback_after_minutes"))
    kind = optional_str(data, "kind", "broadcast")
    if kind not in ("broadcast", "event_notice"):
        raise Invalid(f'kind "{kind}" is not known here; use broadcast or event_notice (schedules: '
                      "/campaigns/{id}/schedule)", field="kind")
    options = {key: optional_int(data, key) for key in ("segment_id", "cap_messages", "cap_days")}
    for key in ("operational", "ignore_caps"):
        if not isinstance(data.get(key, False), bool):
            raise Invalid(f"{key} must be true or false", field=key)
    options["operational"] = data.get("operational", False)
    if kind == "broadcast":
        options["ignore_caps"] = data.get("ignore_caps", False)
    else:  # notices ignore frequency caps whatever they say, and may plan their fallback
        options.pop("cap_messages")
        options.pop("cap_days")
        options["fallback_template_id"] = optional_int(data, "fallback_template_id")
        options["fallback_after_minutes"] = optional_int(data, "fallback_after_minutes")
    if kind == "broadcast" and (data.get("fallback_template_id") is not None
                                or data.get("fallback_after_minutes") is not None):
        raise Invalid("only an event notice has a fallback channel; send kind event_notice, or leave "
                      "fallback_template_id and fallback_after_minutes out", field="fallback_template_id")
    sender = checked_sender(current_app.extensions["herald.config"], optional_str(data, "sender"))
    make = campaigns.create_event_notice if kind == "event_notice" else campaigns.create_campaign
    campaign = make(
        get_session(),
        name=required_str(data, "name"),
        channel=required_str(data, "channel"),
        template_id=optional_int(data, "template_id", required=True),
        list_id=optional_int(data, "list_id"),
        created_by=api_user().id,
        now=now(),
        **options,
    )
    if sender:  # checked above, so this cannot refuse a campaign that now exists
        campaign = campaigns.update_campaign(get_session(), campaign.id, now=now(), sender=sender)
    return campaign_json(campaign), 201


@bp.get("/campaigns/<int:campaign_id>")
@token_required("read")
def get_campaign(campaign_id: int):
    return campaign_json(campaigns.get_campaign(get_session(), campaign_id))


@bp.post("/campaigns/<int:campaign_id>/send")
@token_required("write")
def send_campaign(campaign_id: int):
    """Start sending now: 202 with the run; the sender delivers in the background. 409 if it was sent."""
    run = campaigns.send_campaign_now(get_session(), campaign_id, config=config(), now=now(), user_id=api_user().id)
    wake = current_app.extensions.get("herald.wake")
    if wake is not None:
        wake()  # the sender would find the messages on its next poll anyway; this saves the wait
    return run_json(run), 202


@bp.get("/campaigns/<int:campaign_id>/status")
@token_required("read")
def campaign_status(campaign_id: int):
    return campaigns.campaign_status(get_session(), campaign_id).to_dict()


@bp.get("/campaigns/<int:campaign_id>/report")
@token_required("read")
def campaign_report(campaign_id: int):
    # The same report as the page and its exports: money in the workspace currency at the configured rates.
    settings = campaigns.ReportSettings.from_config(current_app.extensions["herald.config"])
    return campaigns.campaign_report(get_session(), campaign_id, settings).to_dict()
