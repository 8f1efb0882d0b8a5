"""A journey's live counts per step — entered, waiting now, passed, exited and why — and its results: messages,
cost, goal conversions and revenue, for the treated contacts and the entry holdout. A few grouped queries
over the history and the enrolments, so the counts are sums of rows a test can recount with plain SQL.

Per step (by key, across versions): `entered` counts moves into it (entering the journey at the start
step included); `now` the enrolments at it still in flight (`waiting` of them in a wait); `passed` moves
out of it to another step or to the journey's natural end; `exited` moves out of the journey from it,
by reason (goal, exit_step, unsubscribed, left_segment, journey_stopped…).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from campaigns.journeys.models import IN_FLIGHT, Enrolment, EnrolmentHistory
from campaigns.models import Conversion, Message

# Ends that mean "went through": the rest of the moves out of the journey are exits with a reason.
PASSING_ENDS = ("end",)


@dataclass
class StepCounts:
    entered: int = 0
    now: int = 0
    waiting: int = 0
    passed: int = 0
    exited: dict[str, int] = field(default_factory=dict)
    messages: int = 0
    cost: Decimal = Decimal(0)

    def to_dict(self) -> dict[str, Any]:
        return {"entered": self.entered, "now": self.now, "waiting": self.waiting, "passed": self.passed,
                "exited": dict(sorted(self.exited.items())), "messages": self.messages, "cost": str(self.cost)}


@dataclass
class GroupResult:
    """Treated contacts or the holdout: how many entered, reached the goal, and the revenue of goal purchases."""

    enrolled: int = 0
    goal: int = 0
    revenue: Decimal = Decimal(0)

    @property
    def goal_rate(self) -> float:
        return self.goal / self.enrolled if self.enrolled else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"enrolled": self.enrolled, "goal": self.goal, "goal_rate": round(self.goal_rate, 4),
                "revenue": str(self.revenue)}


@dataclass
class JourneyStats:
    steps: dict[str, StepCounts]
    statuses: dict[str, int]
    treated: GroupResult
    holdout: GroupResult

    def to_dict(self) -> dict[str, Any]:
        lift = self.treated.goal_rate - self.holdout.goal_rate if self.holdout.enrolled else None
        return {"steps": {k: v.to_dict() for k, v in self.steps.items()}, "statuses": self.statuses,
                "treated": self.treated.to_dict(), "holdout": self.holdout.to_dict(),
                "lift": round(lift, 4) if lift is not None else None}


def journey_stats(session: Session, journey_id: int, step_keys: list[str]) -> JourneyStats:
    """The counts of `journey_id` for each of `step_keys` (the published version's, in its order; keys that
    only older versions have are added after them)."""
    steps: dict[str, StepCounts] = {key: StepCounts() for key in step_keys}

    def at(key: str | None) -> StepCounts:
        return steps.setdefault(str(key), StepCounts())

    history = select(EnrolmentHistory.from_step, EnrolmentHistory.to_step, EnrolmentHistory.why, func.count()).where(
        EnrolmentHistory.journey_id == journey_id).group_by(
        EnrolmentHistory.from_step, EnrolmentHistory.to_step, EnrolmentHistory.why)
    for from_step, to_step, why, count in session.execute(history):
        if to_step is not None:
            at(to_step).entered += count
        if from_step is None:
            continue
        if to_step is not None or why in PASSING_ENDS:
            at(from_step).passed += count
        else:
            exits = at(from_step).exited
            exits[why] = exits.get(why, 0) + count
    here = select(Enrolment.step_key, Enrolment.status, func.count()).where(
        Enrolment.journey_id == journey_id, Enrolment.status.in_(IN_FLIGHT)).group_by(Enrolment.step_key,
                                                                                       Enrolment.status)
    for key, status, count in session.execute(here):
        at(key).now += count
        if status == "waiting":
            at(key).waiting += count
    sent = select(Message.journey_step, func.count(), func.coalesce(func.sum(Message.cost), 0)).where(
        Message.journey_id == journey_id, Message.status.in_(("sent", "delivered", "unknown"))).group_by(
        Message.journey_step)
    for key, count, cost in session.execute(sent):
        at(key).messages, at(key).cost = count, Decimal(cost)
    statuses = dict(session.execute(select(Enrolment.status, func.count()).where(
        Enrolment.journey_id == journey_id).group_by(Enrolment.status)).tuples().all())
    groups = {False: GroupResult(), True: GroupResult()}
    results = select(Enrolment.holdout, func.count(), func.sum(case((Enrolment.exit_reason == "goal", 1), else_=0)),
                     func.coalesce(func.sum(Conversion.amount_base), 0)).outerjoin(
        Conversion, Conversion.id == Enrolment.goal_conversion_id).where(
        Enrolment.journey_id == journey_id).group_by(Enrolment.holdout)
    for holdout, enrolled, goal, revenue in session.execute(results):
        groups[bool(holdout)] = GroupResult(enrolled, int(goal or 0), Decimal(revenue))
    return JourneyStats(steps=steps, statuses=statuses, treated=groups[False], holdout=groups[True])
