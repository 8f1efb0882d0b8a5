"""/api/v1/campaigns: list, create, read, send now, follow the status, read the report."""

from __future__ import annotations

from typing import Any

from flask import current_app

import campaigns
from web.api import (
    api_user,
    bp,
    config,
    iso,
    json_body,
    now,
    optional_int,
    reject_unknown,
    required_str,
    token_required,
)
from web.db import get_session


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
        "channel_url": run.channel_url,
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
    reject_unknown(data, ("name", "channel", "template_id", "list_id"))
    campaign = campaigns.create_campaign(
        get_session(),
        name=required_str(data, "name"),
        channel=required_str(data, "channel"),
        template_id=optional_int(data, "template_id", required=True),
        list_id=optional_int(data, "list_id"),
        created_by=api_user().id,
        now=now(),
    )
    return campaign_json(campaign), 201


@bp.get("/campaigns/<int:campaign_id>")
@token_required("read")
def get_campaign(campaign_id: int):
    return campaign_json(campaigns.get_campaign(get_session(), campaign_id))


@bp.post("/campaigns/<int:campaign_id>/send")
@token_required("write")
def send_campaign(campaign_id: int):
    """Start sending now: 202 with the run; the sender delivers in the background. 409 if it was sent."""
    run = campaigns.send_campaign_now(get_session(), campaign_id, config=config(), now=now())
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
    return campaigns.campaign_report(get_session(), campaign_id).to_dict()
