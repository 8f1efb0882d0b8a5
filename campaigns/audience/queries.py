"""The audience's named query: a run's outbox rows written by ONE INSERT … SELECT, each recipient
pending or excluded with the first Exclusion that holds (campaigns/audience/materialise.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    case,
    insert,
    literal,
    null,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from campaigns.models import (
    Message,
)
from campaigns.queries import update_messages
from core.db import UTCDateTime


# ------------------------------------------------------------------ materialise
@dataclass(frozen=True)
class Exclusion:
    """Why a recipient gets an outbox row but no message: `condition` (SQL over the audience) holds."""

    condition: Any
    status: str  # a terminal MESSAGE_STATUS: suppressed, capped, held_out…
    code: str  # short and stable, for reports: no_address, opted_out, capped…
    reason: Any  # a sentence for the marketer, or SQL making one per recipient (naming another contact)


def _sql_value(value: Any) -> Any:
    return value if isinstance(value, ColumnElement) else literal(value)


def insert_run_messages(session: Session, *, run_id: int, campaign_id: int, channel: str, audience: Any,
                        exclusions: Sequence[Exclusion], priority: int, not_before: Any, now: datetime,
                        variant: Any = None) -> int:
    """Write the run's outbox: ONE INSERT … SELECT over `audience`, one row per contact. Returns rows.

    `audience` is a subquery with at least contact_id and address (audiences.audience_select). The first
    of `exclusions` whose condition holds decides a recipient's status, code and reason (suppressed,
    capped, held_out…); everyone else is `pending`, due at `not_before` (a SQL expression, so each
    recipient can have their own send time). The database does the work, however many contacts there are.
    `variant` is SQL choosing the A/B variant id (campaigns/audience/holdout.py); excluded recipients get none.
    """
    excluded = [(e.condition, e) for e in exclusions]

    def pick(attribute: str, otherwise: Any) -> Any:
        if not excluded:
            return otherwise
        return case(*((cond, _sql_value(getattr(e, attribute))) for cond, e in excluded), else_=otherwise)

    rows = select(
        literal(run_id, Integer),
        literal(campaign_id, Integer),
        audience.c.contact_id,
        literal(channel),
        audience.c.address,
        pick("status", literal("pending")),
        literal(priority, Integer),
        not_before,
        literal(0, Integer),
        pick("code", None),
        pick("reason", None),
        literal(now, UTCDateTime()),
    )
    columns = ["run_id", "campaign_id", "contact_id", "channel", "address", "status", "priority", "not_before",
               "attempts", "error_code", "error_reason", "updated_at"]
    if variant is not None:
        rows = rows.add_columns(case(*((cond, null()) for cond, _ in excluded), else_=variant) if excluded
                                else variant)
        columns.append("variant_id")
    result = session.execute(insert(Message).from_select(columns, rows))
    return result.rowcount


def label_journey_messages(session: Session, *, run_id: int, journey_id: int, journey_step: str, event_id: Any) -> int:
    """Mark a run's outbox rows as sent by a journey's step (campaigns/journeys/sends.py): the journey, the step,
    and `event_id`, SQL correlated to messages.contact_id naming the event each contact entered on. One UPDATE
    over the run's rows (the unique (run, contact, channel) index finds them). Returns the rows."""
    return session.execute(update_messages().where(Message.run_id == run_id)
                           .values(journey_id=journey_id, journey_step=journey_step, event_id=event_id)).rowcount
