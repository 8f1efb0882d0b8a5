"""Publishing a version: its references checked against the database, and a campaign made for each channel of
each send step, whose runs carry the step's messages (campaigns/journeys/sends.py).

A step campaign is kind "journey" and starts `running`; like any campaign it goes `completed` whenever its
runs are idle, which changes nothing for the next batch (a run is materialised whatever the campaign's
status; the claim only asks that the run be running). The campaign list leaves them out
(campaigns/lifecycle.py list_campaigns): they are parts of a journey, seen through its report.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from audiences import check_settable, get_list, get_segment
from campaigns.content.templates import get_template
from campaigns.journeys.definition import Definition, JourneyInvalid
from campaigns.journeys.models import Journey, JourneyVersion
from campaigns.journeys.sends import send_campaign_key
from campaigns.models import Campaign, CampaignTransition
from core.errors import HeraldError

JOURNEY_KIND = "journey"


def check_references(session: Session, definition: Definition) -> None:
    """Templates exist and are for the step's channel; saved segments and lists exist; fields are settable.
    Raises JourneyInvalid naming the path."""
    for n, entry in enumerate(definition.entries):
        if entry.get("segment_id") is not None:
            _exists(f"definition.entry[{n}].segment_id", get_segment, session, entry["segment_id"])
    for key, step in definition.steps.items():
        path, o = f"definition.steps.{key}", step.options
        if step.kind == "send":
            for field, channel in (("template_id", o["channel"]), ("email_template_id", "email")):
                if o.get(field) is None:
                    continue
                template = _exists(f"{path}.{field}", get_template, session, o[field])
                if template.channel != channel:
                    raise JourneyInvalid(f"{path}.{field}: template {template.id} is an {template.channel} template; "
                                         f"this needs an {channel} one", field=f"{path}.{field}")
        if step.kind == "update_contact":
            for name in ("add_to_lists", "remove_from_lists"):
                for list_id in o.get(name, []):
                    _exists(f"{path}.{name}", get_list, session, list_id)
            _exists(f"{path}.set_fields", check_settable, o.get("set_fields", {}))


def _exists(path: str, load: Callable[..., Any], *args: Any) -> Any:
    try:
        return load(*args)
    except HeraldError as exc:
        raise JourneyInvalid(f"{path}: {exc.message}", field=path) from None


def publish_version(session: Session, journey: Journey, version: JourneyVersion, definition: Definition, *,
                    now: datetime) -> None:
    """Make `version` the one new contacts enter: its step campaigns created, the journey pointed at it.
    Does not commit. Raises JourneyInvalid for a reference that does not hold."""
    check_references(session, definition)
    campaigns: dict[str, int] = {}
    for key, step in definition.steps.items():
        if step.kind != "send":
            continue
        channels = [(step.options["channel"], step.options["template_id"])]
        if step.options.get("email_template_id") is not None:
            channels.append(("email", step.options["email_template_id"]))
        for channel, template_id in channels:
            campaign = Campaign(name=f"{journey.name} · v{version.number} · {key} ({channel})"[:200], kind=JOURNEY_KIND,
                                channel=channel, template_id=template_id, status="running", created_at=now,
                                updated_at=now, created_by=journey.created_by)
            session.add(campaign)
            session.flush()
            session.add(CampaignTransition(campaign_id=campaign.id, from_status="", to_status="running",
                                           comment=f"sends step {key} of journey {journey.id}", at=now))
            campaigns[send_campaign_key(key, channel)] = campaign.id
    version.send_campaigns = campaigns
    version.published_at = now
    journey.published_version = version.number
    journey.updated_at = now
