"""/api/v1/campaigns/{id}/tracking: a campaign's code, attribution window, click/open tracking and UTM."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import campaigns
from campaigns.campaign_tracking import CampaignTracking, set_campaign_tracking
from core.errors import Invalid
from web.api import bp, json_body, now, reject_unknown, token_required
from web.db import get_session

FIELDS = tuple(CampaignTracking.__dataclass_fields__)
TYPES: dict[str, tuple[type, ...]] = {"code": (str, type(None)), "attribution_window_days": (int,),
                                      "track_clicks": (bool,), "track_opens": (bool,), "utm_source": (str,),
                                      "utm_medium": (str,), "utm_campaign": (str,)}


def tracking_json(campaign: campaigns.Campaign) -> dict[str, Any]:
    return {"campaign_id": campaign.id, **asdict(CampaignTracking.of(campaign))}


@bp.get("/campaigns/<int:campaign_id>/tracking")
@token_required("read")
def campaign_tracking(campaign_id: int):
    return tracking_json(campaigns.get_campaign(get_session(), campaign_id))


@bp.put("/campaigns/<int:campaign_id>/tracking")
@token_required("write")
def update_campaign_tracking(campaign_id: int):
    """Fields left out keep their value; any status may change them (they apply from now on)."""
    data = json_body()
    reject_unknown(data, FIELDS)
    for name, value in data.items():
        if not isinstance(value, TYPES[name]) or (isinstance(value, bool) and bool not in TYPES[name]):
            raise Invalid(f"{name} must be {_kind(TYPES[name])}", field=name)
    session = get_session()
    current = CampaignTracking.of(campaigns.get_campaign(session, campaign_id))
    return tracking_json(set_campaign_tracking(session, campaign_id, replace(current, **data), now=now()))


def _kind(types: tuple[type, ...]) -> str:
    return {(bool,): "true or false", (int,): "a whole number", (str,): "a string",
            (str, type(None)): "a string or null"}[types]
