"""Named queries for provider status callbacks: move a message found by its id or the provider's id
forward only, with its facts and event, without loading it first (campaigns/delivery/callbacks.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from campaigns.models import (
    Message,
    MessageEvent,
)
from campaigns.queries import earliest, status_in, statuses_below, update_messages

# ------------------------------------------------------------------ callbacks without loading the message
# A status callback storm is the hot path (bench/callback_ingest.py). Each function is ONE Core statement
# that finds the message by `match` — ("id", 42) or ("provider_id", "SM…"; ix_messages_provider_id) — and
# returns (id, contact_id, channel) of the row it changed, or None. The statements are built once per
# shape and cached: building and cache-keying an ORM UPDATE per callback cost more than running it.
# Their status lists are written into the SQL (status_in): an expanding IN parameter would be
# rendered into the statement again on every execution, a fifth of a callback's CPU.
_MESSAGES = Message.__table__
_RETURNED = (_MESSAGES.c.id, _MESSAGES.c.contact_id, _MESSAGES.c.channel)
_KEEP_IF_SET = ("provider_id",)  # filled in only when the row has none yet
# The earliest time wins, whoever writes it first (a callback or the send's record): order does not matter.
_EARLIEST = ("sent_at",)
_KEEP_UNLESS_GIVEN = ("currency",)  # a price without a currency keeps the row's currency
_statements: dict[tuple[Any, ...], Any] = {}


def _where(match_column: str) -> Any:
    return _MESSAGES.c[match_column] == bindparam("m_match")


def _set(names: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in names:
        column = _MESSAGES.c[name]
        given = bindparam(f"v_{name}", type_=column.type)
        if name in _KEEP_IF_SET:
            values[name] = func.coalesce(column, given)
        elif name in _EARLIEST:
            values[name] = earliest(column, given)
        else:
            values[name] = func.coalesce(given, column) if name in _KEEP_UNLESS_GIVEN else given
    return values


def _row(session: Session, key: tuple[Any, ...], build: Any, params: dict[str, Any]) -> tuple[int, int, str] | None:
    statement = _statements.get(key)
    if statement is None:
        statement = _statements.setdefault(key, build())
    row = session.connection().execute(statement, params).first()
    return (row[0], row[1], row[2]) if row is not None else None


def move_message_by(session: Session, *, match: tuple[str, Any], status: str,
                    values: Mapping[str, Any]) -> tuple[int, int, str] | None:
    """Move the matched message forward to `status` (never back) with `values` (column -> value; provider_id
    is kept when the row has one, currency when `values` has None, and sent_at becomes the earlier of the
    row's and the given), in one UPDATE … RETURNING."""
    names = tuple(sorted(values))
    key = ("move", match[0], status, names)

    def build() -> Any:
        return (update(_MESSAGES).where(_where(match[0]), status_in(statuses_below(status)))
                .values(status=status, **_set(names)).returning(*_RETURNED))

    return _row(session, key, build, {"m_match": match[1], **{f"v_{k}": v for k, v in values.items()}})


def move_message_and_add_event_by(session: Session, *, match: tuple[str, Any], status: str, values: Mapping[str, Any],
                                  event: Mapping[str, Any]) -> tuple[int, int, str] | None:
    """PostgreSQL only: move_message_by and, if it moved, its MessageEvent (`type`, `occurred_at`, `detail`)
    in ONE statement — a data-modifying WITH, so a status callback costs one round trip and one execute
    before the commit instead of two."""
    names = tuple(sorted(values))
    key = ("move+event", match[0], status, names)

    def build() -> Any:
        events = MessageEvent.__table__
        moved = (update(_MESSAGES).where(_where(match[0]), status_in(statuses_below(status)))
                 .values(status=status, **_set(names)).returning(*_RETURNED).cte("moved"))
        added = insert(events).from_select(
            ["message_id", "type", "occurred_at", "detail"],
            select(moved.c.id, bindparam("e_type", type_=events.c.type.type),
                   bindparam("e_occurred_at", type_=events.c.occurred_at.type),
                   bindparam("e_detail", type_=events.c.detail.type)),
        ).cte("added")
        return select(moved.c.id, moved.c.contact_id, moved.c.channel).add_cte(added)

    params = {"m_match": match[1], **{f"v_{k}": v for k, v in values.items()},
              "e_type": event["type"], "e_occurred_at": event["occurred_at"], "e_detail": event["detail"]}
    return _row(session, key, build, params)


def update_message_facts_by(session: Session, *, match: tuple[str, Any], values: Mapping[str, Any],
                            now: datetime) -> tuple[int, int, str] | None:
    """Write the provider's cost/currency/segments over the matched message, only where they differ."""
    names = tuple(sorted(values))
    key = ("facts", match[0], names)

    def build() -> Any:
        differs = [or_(_MESSAGES.c[name].is_(None), _MESSAGES.c[name] != bindparam(f"v_{name}"))
                   for name in names if name not in _KEEP_UNLESS_GIVEN]
        return (update(_MESSAGES).where(_where(match[0]), or_(*differs))
                .values(updated_at=bindparam("v_updated_at", type_=_MESSAGES.c.updated_at.type), **_set(names))
                .returning(*_RETURNED))

    params = {"m_match": match[1], "v_updated_at": now, **{f"v_{k}": v for k, v in values.items()}}
    return _row(session, key, build, params)


def find_message_by(session: Session, *, match: tuple[str, Any]) -> tuple[int, int, str] | None:
    return _row(session, ("find", match[0]), lambda: select(*_RETURNED).where(_where(match[0])).limit(1),
                {"m_match": match[1]})


def add_events_now(session: Session, events: Sequence[Mapping[str, Any]]) -> None:
    """add_events through Core on the session's connection: no ORM bulk-insert bookkeeping per callback."""
    if events:
        session.connection().execute(insert(MessageEvent.__table__), [dict(e) for e in events])


def update_message(session: Session, *, message_id: int, values: Mapping[str, Any]) -> bool:
    return bool(session.execute(update_messages().where(Message.id == message_id).values(**values)).rowcount)


