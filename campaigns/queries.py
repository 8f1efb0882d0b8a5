"""Named queries over campaigns, runs, messages and events that more than one sub-package writes.

Here: events appended, runs and campaigns finished when idle, pending messages cancelled, a message
moved forward by status, and the helpers the sub-packages' own queries share. Each sub-package owns the
rest: campaigns/audience/queries.py writes a run's outbox rows, campaigns/delivery/outbox.py claims and
records, campaigns/delivery/callback_queries.py applies status callbacks, campaigns/results/
message_counts.py counts for reports. A function that
writes says so in its name and never commits: the domain function that calls it owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    case,
    exists,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from campaigns.models import (
    MESSAGE_STATUS_RANK,
    Campaign,
    CampaignTransition,
    Message,
    MessageEvent,
    Run,
)


def update_messages():
    """UPDATE messages, without SQLAlchemy re-evaluating the WHERE clause against every Message loaded
    in the session (its default): with a claimed batch loaded, that made recording a batch quadratic
    (measured: 75% of send time at 3,000 messages). Nothing reads those objects after recording."""
    return update(Message).execution_options(synchronize_session=False)


# A message still to be handled keeps its run open ("waiting": the rest of an A/B test's audience).
OPEN_STATUSES = ("pending", "sending", "waiting")
# A result from the provider is recorded only over these: "sending" is the normal case; "unknown" is a
# row whose lease expired while the provider was still answering, and the answer settles it.
RECORDABLE_STATUSES = ("sending", "unknown")



def status_in(statuses: Sequence[str]) -> Any:
    """`status IN ('a', 'b')` written into the SQL: executemany() takes no expanding IN parameter.
    Only for this module's own status constants, never for values from outside."""
    return Message.status.in_([literal_column(f"'{status}'") for status in statuses])


def earliest(column: Any, given: Any) -> Any:
    """The earlier of a timestamp column and a value, the value when the column is NULL (portable: SQLite's
    min() and PostgreSQL's LEAST() treat NULL differently)."""
    return case((or_(column.is_(None), column > given), given), else_=column)


def add_events(session: Session, events: Sequence[Mapping[str, Any]]) -> None:
    """Append message events (message_id, type, occurred_at, detail) in one executemany INSERT."""
    if events:
        session.execute(insert(MessageEvent), [dict(e) for e in events])


# A run fails when messages were tried, every one of them failed, and none reached the provider (or may
# have: "unknown"). A run that tried nothing (everyone suppressed, capped or held out) completes: it did
# what it was asked. Later delivery callbacks do not change a finished run's status.
_REACHED = ("sent", "delivered", "unknown")
FAILED_RUN_COMMENT = ("no message of it was sent: every message tried failed (see the report's failures for the "
                      "provider's reasons)")


def finish_idle_runs(session: Session, run_ids: Iterable[int], *, now: datetime) -> list[int]:
    """Finish the running runs among `run_ids` that have nothing pending or sending, and their campaigns.

    A run ends `failed` when every message it tried failed (see _REACHED), else `completed`. Its campaign
    ends `failed` when none of its runs completed, `completed` otherwise — or goes back to `scheduled`
    while its schedule has firings left. Returns the campaign ids finished (completed or failed).
    Conditional updates, so a cancelled run stays cancelled and two senders finishing the same run at
    once both succeed.
    """
    run_ids = sorted(set(run_ids))
    if not run_ids:
        return []
    still_open = exists().where(Message.run_id == Run.id, Message.status.in_(OPEN_STATUSES))
    any_failed = exists().where(Message.run_id == Run.id, Message.status == "failed")
    any_reached = exists().where(Message.run_id == Run.id, Message.status.in_(_REACHED))
    finished = session.execute(
        update(Run)
        .where(Run.id.in_(run_ids), Run.status == "running", ~still_open)
        .values(status=case((any_failed & ~any_reached, "failed"), else_="completed"), finished_at=now)
        .returning(Run.campaign_id)
    ).scalars().all()
    if not finished:
        return []
    open_runs = exists().where(Run.campaign_id == Campaign.id, Run.status.in_(("running", "paused")))
    completed_run = exists().where(Run.campaign_id == Campaign.id, Run.status == "completed")
    # A campaign whose schedule has firings left (campaigns/firing.py) waits for the next one instead.
    idle = session.execute(
        update(Campaign)
        .where(Campaign.id.in_(set(finished)), Campaign.status == "running", ~open_runs)
        .values(status=case((Campaign.next_fire_at.is_not(None), "scheduled"), (completed_run, "completed"),
                            else_="failed"), updated_at=now)
        .returning(Campaign.id, Campaign.status)
    ).all()
    if idle:  # the campaign's history shows when it finished (by Herald itself: no user)
        comments = {"completed": "", "failed": FAILED_RUN_COMMENT,
                    "scheduled": "run finished; waiting for the next firing"}
        session.execute(insert(CampaignTransition), [
            {"campaign_id": cid, "from_status": "running", "to_status": status, "user_id": None,
             "comment": comments[status], "at": now}
            for cid, status in idle])
    return [cid for cid, status in idle if status != "scheduled"]



# ------------------------------------------------------------------ cancel
def cancel_pending_messages(session: Session, *, campaign_id: int, now: datetime) -> int:
    """pending -> cancelled for one campaign. Rows already sending finish normally. Returns rows."""
    return session.execute(
        update_messages()
        .where(Message.campaign_id == campaign_id, Message.status.in_(("pending", "waiting")))
        .values(status="cancelled", error_code="cancelled",
                error_reason="the campaign was cancelled before this message was sent", updated_at=now)
    ).rowcount


# ------------------------------------------------------------------ callbacks
def find_messages(session: Session, *, message_ids: Collection[int],
                  provider_ids: Collection[str]) -> list[Message]:
    """Messages by Herald id or provider id, in one query (ix_messages_provider_id)."""
    if not message_ids and not provider_ids:
        return []
    return list(session.scalars(select(Message).where(
        or_(Message.id.in_(message_ids), Message.provider_id.in_(provider_ids)))))


def statuses_below(status: str) -> tuple[str, ...]:
    """The statuses a row may move to `status` from: lower rank, plus "unknown" (the provider now knows)."""
    rank = MESSAGE_STATUS_RANK[status]
    below = [name for name, r in MESSAGE_STATUS_RANK.items() if r < rank]
    if status in ("sent", "delivered", "failed"):
        below.append("unknown")
    return tuple(below)


def move_message_status(session: Session, *, message_id: int, status: str, values: Mapping[str, Any]) -> bool:
    """Move a message forward to `status` (never back, DESIGN §3), with `values`. Returns whether it moved.

    Conditional in SQL, so two callbacks for one message handled at once cannot undo each other.
    """
    return bool(session.execute(
        update_messages()
        .where(Message.id == message_id, Message.status.in_(statuses_below(status)))
        .values(status=status, **values)
    ).rowcount)


