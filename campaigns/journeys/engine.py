"""The engine: one pass over every active journey — goal and exits first, then entries, then every step of
every version in use, in rounds until nothing more is due — each part a few set-based statements per batch.

Called by the fenced scheduler job (scheduler/jobs.py advance_journeys) every minute. Each batch commits
with its side effects (transitions.py says why that makes a crash lose a batch, never half of one), and
rows are claimed FOR UPDATE SKIP LOCKED on PostgreSQL, so a second scheduler that slipped past the fence
takes other rows, not the same ones. Rounds: a move makes the next step due at once, so a contact goes
from a send through a split to the next wait in one pass; a loop without a wait is refused by
definition.py, so rounds end after at most as many as there are steps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from audiences import Contact, segment_where
from campaigns.journeys.definition import Definition, Step, parse_definition
from campaigns.journeys.entry import enter_from_events, enter_from_segments
from campaigns.journeys.happenings import first_purchase, happened
from campaigns.journeys.models import Enrolment, Journey, JourneyVersion
from campaigns.journeys.sends import SendSettings
from campaigns.journeys.steps import ACT, Batch, event_happened, wake_happened, wake_timed_out, wake_waited
from campaigns.journeys.transitions import in_flight, mark, move, new_tick

log = logging.getLogger("herald.journeys")

BATCH_SIZE = 10_000


@dataclass
class Pass:
    """What one pass did, for the log and the tests."""

    entered: int = 0
    moved: int = 0
    finished: dict[str, int] = field(default_factory=dict)

    def add_finished(self, reason: str, count: int) -> None:
        if count:
            self.finished[reason] = self.finished.get(reason, 0) + count


def advance_journeys(session: Session, *, now: datetime, settings: SendSettings,
                     batch_size: int = BATCH_SIZE) -> Pass:
    """Advance every active journey (see the module doc). Commits batch by batch."""
    result = Pass()
    journey_ids = list(session.scalars(select(Journey.id).where(Journey.status == "active").order_by(Journey.id)))
    session.commit()
    for journey_id in journey_ids:
        advance_journey(session, journey_id, now=now, settings=settings, batch_size=batch_size, result=result)
    return result


def advance_journey(session: Session, journey_id: int, *, now: datetime, settings: SendSettings,
                    batch_size: int = BATCH_SIZE, result: Pass | None = None) -> Pass:
    """One journey's pass; does nothing unless it is active (re-read here: it may have been paused since)."""
    result = result or Pass()
    journey = session.get(Journey, journey_id, populate_existing=True)
    if journey is None or journey.status != "active" or journey.published_version is None:
        session.commit()
        return result
    versions = _versions_in_use(session, journey)
    for version, definition in versions:
        _goal_and_exits(session, journey, version, definition, now=now, batch_size=batch_size, result=result)
    published = next(((v, d) for v, d in versions if v.number == journey.published_version), None)
    if published is not None:
        result.entered += enter_from_segments(session, journey, published[0], published[1], now=now)
        result.entered += enter_from_events(session, journey, published[0], published[1], now=now)
        session.commit()
    for _round in range(2 * max(len(d.steps) for _, d in versions) + 2):
        moved = sum(_advance_steps(session, version, definition, now=now, settings=settings, batch_size=batch_size)
                    for version, definition in versions)
        result.moved += moved
        if not moved:
            break
    return result


def _versions_in_use(session: Session, journey: Journey) -> list[tuple[JourneyVersion, Definition]]:
    in_use = select(Enrolment.version_id).where(*in_flight(journey.id)).distinct()
    versions = session.scalars(select(JourneyVersion).where(
        JourneyVersion.journey_id == journey.id,
        (JourneyVersion.number == journey.published_version) | JourneyVersion.id.in_(in_use))).all()
    return [(v, parse_definition(v.definition)) for v in versions]


def _in_batches(session: Session, where: list[ColumnElement[bool]], batch_size: int, act) -> int:
    """Mark, act and commit, batch after batch, until no row matches `where`."""
    total = 0
    while True:
        tick = new_tick()
        marked = mark(session, where=where, tick=tick, limit=batch_size)
        if marked:
            total += act(tick)
        session.commit()
        if marked < batch_size:
            return total


def _goal_and_exits(session: Session, journey: Journey, version: JourneyVersion, definition: Definition, *,
                    now: datetime, batch_size: int, result: Pass) -> None:
    base = [*in_flight(journey.id), Enrolment.version_id == version.id]

    def leave(condition: ColumnElement[bool], finish: str, reason: str, values=None) -> None:
        count = _in_batches(session, [*base, condition], batch_size, lambda tick: move(
            session, tick=tick, to_step=None, why=reason, finish=finish, reason=reason, now=now, values=values))
        result.add_finished(reason, count)

    since = dict(contact_id=Enrolment.contact_id, journey_id=Enrolment.journey_id, since=Enrolment.entered_at)
    if definition.goal_event:
        credit = {"goal_conversion_id": first_purchase(contact_id=Enrolment.contact_id, since=Enrolment.entered_at,
                                                       now=now)} if definition.goal_event == "purchased" else None
        leave(happened(definition.goal_event, now=now, **since), "completed", "goal", credit)
    for event in definition.exit_events:
        leave(happened(event, now=now, **since), "exited", event)
    if definition.stay_while is not None:
        matching = select(Contact.id).where(segment_where(definition.stay_while, today=now.date()))
        leave(Enrolment.contact_id.not_in(matching), "exited", "left_segment")


def _advance_steps(session: Session, version: JourneyVersion, definition: Definition, *, now: datetime,
                   settings: SendSettings, batch_size: int) -> int:
    moved = 0
    for step in definition.steps.values():
        def run(where: list[ColumnElement[bool]], act, step: Step = step) -> int:
            at_step = [Enrolment.version_id == version.id, Enrolment.step_key == step.key]
            return _in_batches(session, [*at_step, *where], batch_size, lambda tick: act(
                Batch(session, version, step, tick, now, settings)))

        if step.kind == "wait_for_event":
            waiting = Enrolment.status == "waiting"
            moved += run([waiting, event_happened(step, now)], wake_happened)
            moved += run([waiting, Enrolment.due_at <= now], wake_timed_out)
        elif step.kind == "wait":
            moved += run([Enrolment.status == "waiting", Enrolment.due_at <= now], wake_waited)
        # Starting a wait is not a move (nothing changes step), so it does not keep the rounds going.
        acted = run([Enrolment.status == "active", Enrolment.due_at <= now], ACT[step.kind])
        moved += 0 if step.waits else acted
    return moved
