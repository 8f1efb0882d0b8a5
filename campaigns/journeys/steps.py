"""What each kind of step does to the enrolments due at it — a few statements per batch, whatever its size.

Every processor takes the batch `mark` chose (Enrolment.tick == tick) and moves it on with
transitions.move, in the caller's transaction: a send writes its outbox rows first (sends.py), an update
changes the contacts first (audiences' set-based actions), a split moves each branch with one statement.
A wait or wait-for-event step only starts waiting here (status `waiting`, due_at = the wake time); the
engine's waiting pass (wake_*) moves them out when the time comes or the event happens.

Where to add a step kind: its options are checked in definition.py (_check_step), it does its work here
(one function in ACT, and one in WAKE if it waits), and stats.py counts it like any other step.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from audiences import (
    Contact,
    add_tag_to,
    add_to_list_of,
    remove_from_list_of,
    remove_tag_from,
    segment_where,
    set_fields_of,
)
from campaigns.audience.holdout import bucket
from campaigns.journeys.definition import Step, duration
from campaigns.journeys.happenings import happened
from campaigns.journeys.models import Enrolment, JourneyVersion
from campaigns.journeys.sends import SendSettings, queue_step_messages
from campaigns.journeys.transitions import move, start_waiting
from campaigns.journeys.waits import wake_sql

RANDOM_SPLIT_HASH = (1597334677, 2246822507, 10061)


@dataclass(frozen=True)
class Batch:
    """The marked enrolments of one step of one version."""

    session: Session
    version: JourneyVersion
    step: Step
    tick: str
    now: datetime
    settings: SendSettings


def _send(b: Batch) -> int:
    queue_step_messages(b.session, version=b.version, step=b.step, tick=b.tick, now=b.now, settings=b.settings)
    return move(b.session, tick=b.tick, to_step=b.step.options.get("next"), why="sent", now=b.now)


def _start_wait(b: Batch) -> int:
    return start_waiting(b.session, tick=b.tick, now=b.now, due_at=wake_sql(
        b.session, b.step.options, tick=b.tick, default_zone=b.settings.defaults.default_zone, now=b.now))


def _start_event_wait(b: Batch) -> int:
    return start_waiting(b.session, tick=b.tick, now=b.now,
                         due_at=b.now + duration(b.step.options["timeout"], "timeout"))


def _condition(b: Batch) -> int:
    matches = Enrolment.contact_id.in_(select(Contact.id).where(segment_where(b.step.options["rules"],
                                                                              today=b.now.date())))
    moved = move(b.session, tick=b.tick, to_step=b.step.options.get("yes"), why="yes", now=b.now, where=[matches])
    # The rows just moved are at the "yes" step now (never this one: a loop without a wait is refused) or
    # finished; the rest of the batch takes the "no" branch.
    return moved + move(b.session, tick=b.tick, to_step=b.step.options.get("no"), why="no", now=b.now,
                        where=[Enrolment.step_key == b.step.key, Enrolment.status == "active"])


def _random_split(b: Batch) -> int:
    branches = b.step.options["branches"]
    total = sum(branch["weight"] for branch in branches)
    salt = zlib.crc32(f"{b.version.journey_id}:{b.step.key}".encode()) & 0x7FFFFFFF
    which = bucket(Enrolment.contact_id, salt, RANDOM_SPLIT_HASH)
    moved, low = 0, 0
    for n, branch in enumerate(branches):
        high = 100 if n == len(branches) - 1 else low + branch["weight"] * 100 // total
        moved += move(b.session, tick=b.tick, to_step=branch.get("next"), why=f"branch_{n}", now=b.now,
                      where=[which >= low, which < high])
        low = high
    return moved


def _update_contact(b: Batch) -> int:
    o, contacts = b.step.options, select(Enrolment.contact_id).where(Enrolment.tick == b.tick)
    for tag in o.get("add_tags", []):
        add_tag_to(b.session, contacts, tag, now=b.now)
    for tag in o.get("remove_tags", []):
        remove_tag_from(b.session, contacts, tag)
    for list_id in o.get("add_to_lists", []):
        add_to_list_of(b.session, contacts, list_id, now=b.now)
    for list_id in o.get("remove_from_lists", []):
        remove_from_list_of(b.session, contacts, list_id)
    if o.get("set_fields"):
        set_fields_of(b.session, contacts, o["set_fields"], now=b.now)
    return move(b.session, tick=b.tick, to_step=o.get("next"), why="updated", now=b.now)


def _exit(b: Batch) -> int:
    return move(b.session, tick=b.tick, to_step=None, why="exit_step", reason="exit_step", now=b.now)


# What an active enrolment does at a step of each kind.
ACT: dict[str, Callable[[Batch], int]] = {
    "send": _send, "wait": _start_wait, "wait_for_event": _start_event_wait, "condition": _condition,
    "random_split": _random_split, "update_contact": _update_contact, "exit": _exit,
}


def wake_waited(b: Batch) -> int:
    """Waiting rows of a wait step whose time has come (the mark chose due ones) go on."""
    return move(b.session, tick=b.tick, to_step=b.step.options.get("next"), why="waited", now=b.now)


def event_happened(step: Step, now: datetime) -> ColumnElement[bool]:
    """SQL: the event a wait-for-event step waits for happened since the enrolment came to the step."""
    return happened(step.options["event"], contact_id=Enrolment.contact_id, journey_id=Enrolment.journey_id,
                    since=Enrolment.step_entered_at, now=now)


def wake_happened(b: Batch) -> int:
    return move(b.session, tick=b.tick, to_step=b.step.options.get("happened"), why="happened", now=b.now)


def wake_timed_out(b: Batch) -> int:
    return move(b.session, tick=b.tick, to_step=b.step.options.get("timed_out"), why="timed_out", now=b.now)
