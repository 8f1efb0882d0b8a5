"""A journey's life: created as a draft, edited into new versions, activated, paused, resumed, stopped.

Every edit writes a new version (versions are never changed). While a journey is a draft its newest
version is simply the next one to activate; once active (or paused), an edit publishes at once: new
contacts enter the new version, and contacts in flight finish on the version they entered (moving them by
step key is not built yet). Pausing stops entries and moves and holds the journey's queued messages
(their runs paused); resuming lets both go on, with waits that ended meanwhile moving at the next pass.
Stopping is final: contacts in flight exit ("journey_stopped") and queued messages are cancelled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaigns.journeys.definition import Definition, parse_definition
from campaigns.journeys.models import Journey, JourneyVersion
from campaigns.journeys.publish import check_references, publish_version
from campaigns.journeys.transitions import in_flight, mark, move, new_tick
from campaigns.models import Run
from campaigns.queries import cancel_pending_messages
from core.errors import Conflict, Invalid, NotFound

STOP_BATCH = 50_000


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
        raise Invalid("a journey needs a name of 1 to 200 characters", field="name")
    return name.strip()


def create_journey(session: Session, *, name: str, definition: Any, now: datetime,
                   created_by: int | None = None) -> Journey:
    """A draft journey with `definition` as version 1. Raises Invalid / JourneyInvalid naming the field. Commits."""
    parse_definition(definition)
    journey = Journey(name=_name(name), status="draft", created_by=created_by, created_at=now, updated_at=now)
    session.add(journey)
    session.flush()
    session.add(JourneyVersion(journey_id=journey.id, number=1, definition=definition, created_by=created_by,
                               created_at=now))
    session.commit()
    return journey


def get_journey(session: Session, journey_id: int) -> Journey:
    journey = session.get(Journey, journey_id)
    if journey is None:
        raise NotFound(f"journey {journey_id} does not exist; GET /api/v1/journeys lists the ones that do")
    return journey


def list_journeys(session: Session) -> list[Journey]:
    return list(session.scalars(select(Journey).order_by(Journey.id.desc())))


def latest_version(session: Session, journey_id: int) -> JourneyVersion:
    return session.scalars(select(JourneyVersion).where(JourneyVersion.journey_id == journey_id)
                           .order_by(JourneyVersion.number.desc()).limit(1)).one()


def published_version(session: Session, journey: Journey) -> JourneyVersion | None:
    if journey.published_version is None:
        return None
    return session.scalars(select(JourneyVersion).where(JourneyVersion.journey_id == journey.id,
                                                        JourneyVersion.number == journey.published_version)).one()


def update_journey(session: Session, journey_id: int, *, now: datetime, definition: Any = None,
                   name: str | None = None, user_id: int | None = None) -> JourneyVersion:
    """Save `definition` as a new version (published at once unless the journey is a draft) and/or rename.
    Raises Conflict for a stopped journey, JourneyInvalid for a definition. Commits. Returns the newest version."""
    journey = get_journey(session, journey_id)
    if journey.status == "stopped":
        raise Conflict(f'journey {journey.id} "{journey.name}" is stopped; create a new journey instead')
    if name is not None:
        journey.name = _name(name)
        journey.updated_at = now
    if definition is None:
        session.commit()
        return latest_version(session, journey.id)
    checked = parse_definition(definition)
    number = (session.scalar(select(func.max(JourneyVersion.number)).where(JourneyVersion.journey_id == journey.id))
              or 0) + 1
    version = JourneyVersion(journey_id=journey.id, number=number, definition=definition, created_by=user_id,
                             created_at=now)
    session.add(version)
    session.flush()
    if journey.status in ("active", "paused"):
        publish_version(session, journey, version, checked, now=now)
    else:
        check_references(session, checked)
    session.commit()
    return version


def activate_journey(session: Session, journey_id: int, *, now: datetime) -> Journey:
    """draft (or paused) -> active. A draft publishes its newest version first; a paused journey resumes.
    Raises Conflict from another status, JourneyInvalid when the definition's references do not hold. Commits."""
    journey = get_journey(session, journey_id)
    if journey.status == "paused":
        return resume_journey(session, journey_id, now=now)
    if journey.status != "draft":
        raise Conflict(f'journey {journey.id} "{journey.name}" is {journey.status}; only a draft or a paused '
                       "journey can be activated")
    version = latest_version(session, journey.id)
    publish_version(session, journey, version, parse_definition(version.definition), now=now)
    journey.status, journey.activated_at = "active", now
    _hold_runs(session, journey, now=now, hold=False)
    session.commit()
    return journey


def pause_journey(session: Session, journey_id: int, *, now: datetime) -> Journey:
    """active -> paused: no one enters or moves, and the journey's queued messages wait. Commits."""
    journey = _move(session, journey_id, "active", "paused", now=now)
    _hold_runs(session, journey, now=now, hold=True)
    session.commit()
    return journey


def resume_journey(session: Session, journey_id: int, *, now: datetime) -> Journey:
    """paused -> active. Commits."""
    journey = _move(session, journey_id, "paused", "active", now=now)
    _hold_runs(session, journey, now=now, hold=False)
    session.commit()
    return journey


def stop_journey(session: Session, journey_id: int, *, now: datetime) -> int:
    """active | paused | draft -> stopped: in-flight contacts exit, queued messages are cancelled. Commits.
    Returns how many contacts exited."""
    journey = get_journey(session, journey_id)
    if journey.status == "stopped":
        raise Conflict(f'journey {journey.id} "{journey.name}" is already stopped')
    journey.status, journey.updated_at = "stopped", now
    exited = 0
    while True:
        tick = new_tick()
        if not mark(session, where=in_flight(journey.id), tick=tick, limit=STOP_BATCH, skip_locked=False):
            break
        exited += move(session, tick=tick, to_step=None, why="journey_stopped", finish="exited",
                       reason="journey_stopped", now=now)
    for campaign_id in step_campaign_ids(session, journey.id):
        cancel_pending_messages(session, campaign_id=campaign_id, now=now)
        session.execute(update(Run).where(Run.campaign_id == campaign_id, Run.status.in_(("running", "paused")))
                        .values(status="cancelled", finished_at=now))
    session.commit()
    return exited


def _move(session: Session, journey_id: int, from_status: str, to_status: str, *, now: datetime) -> Journey:
    journey = get_journey(session, journey_id)
    moved = session.execute(update(Journey).where(Journey.id == journey_id, Journey.status == from_status)
                            .values(status=to_status, updated_at=now).execution_options(synchronize_session=False))
    if not moved.rowcount:
        raise Conflict(f'journey {journey.id} "{journey.name}" is {journey.status}, not {from_status}')
    session.refresh(journey)
    return journey


def step_campaign_ids(session: Session, journey_id: int) -> list[int]:
    """The campaigns of every published version's send steps."""
    ids: set[int] = set()
    for sends in session.scalars(select(JourneyVersion.send_campaigns).where(JourneyVersion.journey_id == journey_id)):
        ids.update((sends or {}).values())
    return sorted(ids)


def _hold_runs(session: Session, journey: Journey, *, now: datetime, hold: bool) -> None:
    campaign_ids = step_campaign_ids(session, journey.id)
    if campaign_ids:
        before, after = ("running", "paused") if hold else ("paused", "running")
        session.execute(update(Run).where(Run.campaign_id.in_(campaign_ids), Run.status == before)
                        .values(status=after))


def definition_of(version: JourneyVersion) -> Definition:
    return parse_definition(version.definition)
