"""/api/v1/journeys: create a journey, read it, publish a new version of it, activate, pause or stop it, and its
counts per step. The definition's shape is campaigns/journeys/definition.py's (and the OpenAPI document's)."""

from __future__ import annotations

from typing import Any

from campaigns import journeys
from core.errors import Invalid
from web.api import api_user, bp, iso, json_body, now, reject_unknown, required_str, token_required
from web.db import get_session


def journey_json(journey: journeys.Journey, version: journeys.JourneyVersion) -> dict[str, Any]:
    return {
        "id": journey.id,
        "name": journey.name,
        "status": journey.status,
        "published_version": journey.published_version,
        "latest_version": version.number,
        "definition": version.definition,
        "activated_at": iso(journey.activated_at),
        "created_at": iso(journey.created_at),
        "updated_at": iso(journey.updated_at),
    }


def _answer(journey_id: int) -> dict[str, Any]:
    session = get_session()
    journey = journeys.get_journey(session, journey_id)
    return journey_json(journey, journeys.latest_version(session, journey.id))


@bp.get("/journeys")
@token_required("read")
def list_journeys():
    session = get_session()
    return {"items": [journey_json(j, journeys.latest_version(session, j.id))
                      for j in journeys.list_journeys(session)]}


@bp.post("/journeys")
@token_required("write")
def create_journey():
    """201 with the draft journey; 422 naming the definition's path at fault."""
    data = json_body()
    reject_unknown(data, ("name", "definition"))
    journey = journeys.create_journey(get_session(), name=required_str(data, "name"), definition=data.get("definition"),
                                      now=now(), created_by=api_user().id)
    return _answer(journey.id), 201


@bp.get("/journeys/<int:journey_id>")
@token_required("read")
def get_journey(journey_id: int):
    return _answer(journey_id)


@bp.put("/journeys/<int:journey_id>")
@token_required("write")
def update_journey(journey_id: int):
    """A new version of the definition (published at once unless the journey is a draft), and/or a new name."""
    data = json_body()
    reject_unknown(data, ("name", "definition"))
    for key in ("name", "definition"):
        if key in data and data[key] is None:
            raise Invalid(f"{key} cannot be null; leave it out to keep it as it is", field=key)
    journeys.update_journey(get_session(), journey_id, now=now(), definition=data.get("definition"),
                            name=data.get("name"), user_id=api_user().id)
    return _answer(journey_id)


@bp.post("/journeys/<int:journey_id>/activate")
@token_required("write")
def activate_journey(journey_id: int):
    journeys.activate_journey(get_session(), journey_id, now=now())
    return _answer(journey_id)


@bp.post("/journeys/<int:journey_id>/pause")
@token_required("write")
def pause_journey(journey_id: int):
    journeys.pause_journey(get_session(), journey_id, now=now())
    return _answer(journey_id)


@bp.post("/journeys/<int:journey_id>/stop")
@token_required("write")
def stop_journey(journey_id: int):
    journeys.stop_journey(get_session(), journey_id, now=now())
    return _answer(journey_id)


@bp.get("/journeys/<int:journey_id>/stats")
@token_required("read")
def journey_stats(journey_id: int):
    """Per step: entered, now at it (waiting of them), passed, exited by reason, messages and cost; and the
    treated contacts against the entry holdout: enrolled, goal reached, revenue, lift."""
    session = get_session()
    journey = journeys.get_journey(session, journey_id)
    version = journeys.published_version(session, journey) or journeys.latest_version(session, journey_id)
    keys = list(journeys.parse_definition(version.definition).steps)
    return {"journey_id": journey.id, **journeys.journey_stats(session, journey.id, keys).to_dict()}
