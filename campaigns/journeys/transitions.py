"""Moving enrolments, many at a time: mark a batch, write its history, move it — three statements per batch
whatever its size, never a Python loop over contacts.

A pass of the engine marks the rows it will move with a fresh `tick` (an UPDATE over a LIMITed selection).
On PostgreSQL the selection locks its rows FOR UPDATE SKIP LOCKED, so a second scheduler (or a stop from
the web) takes other rows or none instead of queueing behind this one; on SQLite every write transaction
begins IMMEDIATE (core/db.py), so passes run one at a time. The selection is a MATERIALIZED CTE for the
reason campaigns/delivery/outbox.py gives (a semi-join re-running LIMIT + SKIP LOCKED took every row).
The outer UPDATE repeats the conditions, so a row another pass moved and committed meanwhile is left alone.

Every later statement of the pass names its rows by `tick = :tick`, and the pass commits them with their
side effects (a send's outbox rows, a tag) in one transaction: a crash loses the whole batch, never half.
The history row of a move has seq = the enrolment's seq + 1 and is unique on (enrolment, seq): a move
applied twice fails in the database rather than happening twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, insert, literal, null, select, update
from sqlalchemy.orm import Session

from campaigns.journeys.models import IN_FLIGHT, Enrolment, EnrolmentHistory
from core.db import UTCDateTime

_COUNTED = {"synchronize_session": False, "preserve_rowcount": True}


def new_tick() -> str:
    return uuid.uuid4().hex


def mark(session: Session, *, where: Sequence[ColumnElement[bool]], tick: str, limit: int,
         skip_locked: bool = True) -> int:
    """Give up to `limit` enrolments matching `where` this `tick` (skipping rows locked by another pass, unless
    `skip_locked` is False: stopping a journey waits for them, or they would stay in flight). Returns how many
    were marked. Does not commit."""
    due = select(Enrolment.id).where(*where).order_by(Enrolment.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        chosen = select(due.with_for_update(skip_locked=skip_locked).cte("chosen").prefix_with("MATERIALIZED").c.id)
    else:
        # No CTE here: Python's sqlite3 reports no rowcount for a statement that starts with WITH.
        chosen = due
    result = session.execute(update(Enrolment).where(Enrolment.id.in_(chosen), *where)
                             .values(tick=tick).execution_options(**_COUNTED))
    return max(result.rowcount, 0)


def in_flight(journey_id: int) -> list[ColumnElement[bool]]:
    return [Enrolment.journey_id == journey_id, Enrolment.status.in_(IN_FLIGHT)]


def record_history(session: Session, *, tick: str, to_step: str | None, why: str, now: datetime,
                   where: Sequence[ColumnElement[bool]] = (), detail: str | None = None, first: bool = False) -> None:
    """One history row per marked enrolment (matching `where` too): from its step to `to_step` (None: out
    of the journey), `why`. `first`: the row of entering (from nowhere to the step the enrolment starts at,
    with the seq it already has)."""
    rows = select(
        Enrolment.id, Enrolment.journey_id, Enrolment.seq if first else Enrolment.seq + 1,
        null() if first else Enrolment.step_key,
        Enrolment.step_key if first else literal(to_step, Text) if to_step is not None else null(),
        literal(why), literal(detail, Text) if detail is not None else null(), literal(now, UTCDateTime()),
    ).where(Enrolment.tick == tick, *where)
    session.execute(insert(EnrolmentHistory).from_select(
        ["enrolment_id", "journey_id", "seq", "from_step", "to_step", "why", "detail", "at"], rows))


def move(session: Session, *, tick: str, to_step: str | None, why: str, now: datetime,
         where: Sequence[ColumnElement[bool]] = (), finish: str = "completed", reason: str = "end",
         values: dict[str, Any] | None = None) -> int:
    """Move the marked enrolments (matching `where` too) to `to_step`, due now; with `to_step` None they
    finish: status `finish`, exit_reason `reason`, keeping the step they left from. History first, then
    the move, in the caller's transaction. Returns the rows moved."""
    record_history(session, tick=tick, to_step=to_step, why=why if to_step is not None else reason, now=now,
                   where=where)
    if to_step is None:
        changes: dict[str, Any] = {"status": finish, "exit_reason": reason, "finished_at": now, "due_at": None}
    else:
        changes = {"step_key": to_step, "status": "active", "due_at": now, "step_entered_at": now}
    changes.update(values or {})
    result = session.execute(
        update(Enrolment).where(Enrolment.tick == tick, *where)
        .values(seq=Enrolment.seq + literal(1, Integer), updated_at=now, **changes).execution_options(**_COUNTED))
    return max(result.rowcount, 0)


def start_waiting(session: Session, *, tick: str, due_at: Any, now: datetime) -> int:
    """The marked enrolments wait in their step until `due_at` (a time, or SQL per enrolment). No history:
    they have not moved; the move out records it."""
    result = session.execute(update(Enrolment).where(Enrolment.tick == tick)
                             .values(status="waiting", due_at=due_at, updated_at=now).execution_options(**_COUNTED))
    return max(result.rowcount, 0)
