"""The outbox's named queries: claim due messages under a lease, record what the provider said, settle
expired leases, and find the `unknown` rows the reconciler asks the provider about.

A function that writes says so in its name and never commits: the dispatch loop owns the transaction.
The claim is raw SQL (see CLAIM_DUE_MESSAGES) because it needs the one shape that hands each row to
exactly one sender.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Integer,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from audiences import Contact, contacts_by_id, events_by_id
from campaigns.models import (
    Campaign,
    CampaignVariant,
    Message,
    Run,
    Template,
)
from campaigns.queries import RECORDABLE_STATUSES, earliest, status_in, update_messages
from core.db import UTCDateTime

# ------------------------------------------------------------------ claim
# name: claim-due-messages
# Hands each due message to exactly one sender: pending, due (not_before <= now), its run running,
# in priority order. Raw SQL because the shape matters and the ORM cannot say it: one UPDATE over a
# LIMITed selection, RETURNING the ids, committed before any provider is called. On PostgreSQL the
# selection locks its rows FOR UPDATE SKIP LOCKED, so concurrent senders (threads or processes) take
# disjoint rows instead of queueing on each other; the outer `status = 'pending'` re-checks a row
# another sender may have claimed and committed meanwhile. SQLite has no row locks, but every write
# transaction there starts with BEGIN IMMEDIATE (core/db.py), so claims run one at a time.
# The selection is a MATERIALIZED CTE, not `id IN (SELECT … LIMIT …)`: PostgreSQL plans the latter
# as a semi-join that rescans the sub-SELECT per outer row, and each rescan of LIMIT + SKIP LOCKED
# may return other rows — the UPDATE then claimed every due row, whatever the limit (tested).
# Index: ix_messages_due (priority, not_before) WHERE status = 'pending'.
_CLAIM = """
WITH due AS MATERIALIZED (
       SELECT m.id
         FROM messages AS m
         JOIN runs AS r ON r.id = m.run_id
        WHERE m.status = 'pending' AND m.not_before <= :now AND r.status = 'running'
          AND m.channel NOT IN :skip_channels
        ORDER BY m.priority, m.not_before, m.id
        LIMIT :limit{lock})
UPDATE messages
   SET status = 'sending', lease_expires_at = :lease_expires_at, attempts = attempts + 1, updated_at = :now
 WHERE status = 'pending' AND id IN (SELECT id FROM due)
RETURNING id
"""
_CLAIM_PARAMS = (
    bindparam("now", type_=UTCDateTime()),
    bindparam("lease_expires_at", type_=UTCDateTime()),
    bindparam("limit", type_=Integer()),
    # channels whose circuit breaker is open (campaigns/delivery/breaker.py)
    bindparam("skip_channels", expanding=True),
)
CLAIM_DUE_MESSAGES = {
    "postgresql": text(_CLAIM.format(lock="\n          FOR UPDATE OF m SKIP LOCKED")).bindparams(*_CLAIM_PARAMS),
    "sqlite": text(_CLAIM.format(lock="")).bindparams(*_CLAIM_PARAMS),
}


def claim_due_messages(session: Session, *, now: datetime, limit: int, lease_seconds: int,
                       skip_channels: Collection[str] = ()) -> list[int]:
    """Mark up to `limit` due messages `sending` with a lease, count the attempt; returns their ids.

    Messages of `skip_channels` ("sms", "email") are left pending: their provider is failing.

    Does not commit; the caller commits before sending so the claim is visible to other senders.
    """
    dialect = session.get_bind().dialect.name
    statement = CLAIM_DUE_MESSAGES["postgresql" if dialect == "postgresql" else "sqlite"]
    # "" names no channel: NOT IN an empty list is not valid SQL on every database.
    params = {"now": now, "lease_expires_at": now + timedelta(seconds=lease_seconds), "limit": limit,
              "skip_channels": sorted(skip_channels) or [""]}
    return sorted(session.execute(statement, params).scalars())


def renew_leases(session: Session, message_ids: Collection[int], *, lease_expires_at: datetime) -> int:
    """Move the lease of the messages still `sending` among `message_ids` on to `lease_expires_at`: their
    sender is still working through the batch (campaigns/delivery/pacing.py), so release_expired_leases must not
    settle them. Rows already answered are left alone. Does not commit; returns the rows renewed."""
    if not message_ids:
        return 0
    return session.execute(
        update(Message).execution_options(synchronize_session=False)
        .where(Message.id.in_(list(message_ids)), Message.status == "sending")
        .values(lease_expires_at=lease_expires_at)).rowcount


@dataclass(frozen=True)
class ClaimedMessage:
    message: Message
    contact: Contact
    campaign: Campaign
    template: Template
    # A journey's message: the event the contact entered on ({"name", "properties"}); None otherwise.
    event: Mapping[str, Any] | None = None


def load_claimed(session: Session, message_ids: Collection[int]) -> list[ClaimedMessage]:
    """The claimed messages with their contacts, campaigns and templates.

    Three queries for a batch of up to 1,000 messages (audiences reads contacts 1,000 ids per query).
    """
    if not message_ids:
        return []
    messages = list(session.scalars(select(Message).where(Message.id.in_(message_ids)).order_by(Message.id)))
    contacts = contacts_by_id(session, {m.contact_id for m in messages})  # audiences owns contacts
    campaigns = {c.id: (c, t) for c, t in session.execute(
        select(Campaign, Template).join(Template, Template.id == Campaign.template_id)
        .where(Campaign.id.in_({m.campaign_id for m in messages})))}
    # An A/B recipient gets their variant's template instead of the campaign's (one more query, only then).
    variant_ids = {m.variant_id for m in messages if m.variant_id is not None}
    variant_templates = dict(session.execute(
        select(CampaignVariant.id, Template).join(Template, Template.id == CampaignVariant.template_id)
        .where(CampaignVariant.id.in_(variant_ids))).tuples().all()) if variant_ids else {}
    # A journey's message shows the event the contact entered on (one more query, only then).
    events = events_by_id(session, {m.event_id for m in messages if m.event_id is not None})
    return [ClaimedMessage(m, contacts[m.contact_id], campaigns[m.campaign_id][0],
                           variant_templates.get(m.variant_id) or campaigns[m.campaign_id][1],
                           events.get(m.event_id) if m.event_id is not None else None) for m in messages]


# ------------------------------------------------------------------ record what the provider said
# A batch's answers are recorded with one executemany per kind of answer (sent, failed, retry): the
# statement is compiled once and the driver runs it for every row (psycopg in pipeline mode, sqlite3
# in C), instead of one round through SQLAlchemy per message, which was most of record()'s time.
# Every UPDATE keeps its per-row condition, so a row a callback moved on meanwhile is left alone.


_MARK_SENT = (
    update_messages()
    .where(Message.id == bindparam("b_id"), status_in(RECORDABLE_STATUSES))
    .values(status="sent", provider_id=bindparam("b_provider_id"), segments=bindparam("b_segments"),
            cost=bindparam("b_cost"), currency=bindparam("b_currency"), sent_at=bindparam("b_now"),
            lease_expires_at=None, error_code=None, error_reason=None, updated_at=bindparam("b_now"))
)
# A row a status callback moved on before this record landed (a fast provider answers within ~100 ms,
# while the rest of the batch is still sending): the callback's status stands, and the send's own facts
# land beside it, so callbacks and the record commute — whichever comes first, the row ends the same.
# The provider's own segments and price (from a callback) win over the send's (coalesce), as they do
# when the callback comes second; sent_at is the earliest time the message is known to have gone
# (earliest), as the callbacks write it. Only a row with no provider id yet or this send's own: a row
# another send's callbacks describe keeps its facts, and recording the same answer twice changes nothing.
_FILL_IN_SENT = (
    update_messages()
    .where(Message.id == bindparam("b_id"), status_in(("sent", "delivered", "failed")),
           or_(Message.provider_id.is_(None), Message.provider_id == bindparam("b_provider_id")))
    # Typed: inside coalesce() a parameter does not take the column's type (Decimal on SQLite, the UTC time).
    .values(provider_id=bindparam("b_provider_id"),
            segments=func.coalesce(Message.segments, bindparam("b_segments", type_=Message.segments.type)),
            cost=func.coalesce(Message.cost, bindparam("b_cost", type_=Message.cost.type)),
            currency=func.coalesce(Message.currency, bindparam("b_currency", type_=Message.currency.type)),
            sent_at=earliest(Message.sent_at, bindparam("b_now", type_=Message.sent_at.type)),
            lease_expires_at=None, updated_at=bindparam("b_now", type_=Message.updated_at.type))
)
_MARK_FAILED = (
    update_messages()
    .where(Message.id == bindparam("b_id"), status_in(RECORDABLE_STATUSES))
    .values(status="failed", error_code=bindparam("b_code"), error_reason=bindparam("b_reason"),
            lease_expires_at=None, updated_at=bindparam("b_now"))
)
# The provider's answer was lost after it got the message (at-most-once): as a crash does (settle_expired_leases).
_MARK_UNKNOWN = (
    update_messages()
    .where(Message.id == bindparam("b_id"), Message.status == "sending")
    .values(status="unknown", error_code=bindparam("b_code"), error_reason=bindparam("b_reason"),
            lease_expires_at=None, updated_at=bindparam("b_now"))
)
_REQUEUE = (
    update_messages()
    .where(Message.id == bindparam("b_id"), status_in(RECORDABLE_STATUSES))
    # b_given_back is 1 for a throttled message: the provider's "slow down" is no attempt of the message's.
    .values(status="pending", not_before=bindparam("b_not_before"), error_code=bindparam("b_code"),
            error_reason=bindparam("b_reason"), lease_expires_at=None, updated_at=bindparam("b_now"),
            attempts=Message.attempts - bindparam("b_given_back", type_=Integer()))
)


@dataclass(frozen=True)
class SentMessage:
    """What the provider said when it took a message: its id for the message, segments, the cost."""

    message_id: int
    provider_id: str
    segments: int | None
    cost: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class RefusedMessage:
    """The provider's code and words for a message it did not take."""

    message_id: int
    code: str
    reason: str
    not_before: datetime | None = None  # when to try again (requeue_messages only)
    attempt_given_back: bool = False  # requeue_messages: the refusal was a throttle, so the attempt does not count


def _execute_many(session: Session, statement: Any, rows: list[dict[str, Any]]) -> int:
    """Run `statement` once per row in one executemany; returns the rows it changed in all."""
    if not rows:
        return 0
    # Core execution on the session's connection and transaction: the ORM's bulk-UPDATE-by-primary-key
    # mode, which session.execute() picks for a list of parameters, allows no WHERE condition.
    return session.connection().execute(statement, rows).rowcount


def mark_messages_sent(session: Session, sent: Sequence[SentMessage], *, now: datetime) -> int:
    """sending/unknown -> sent with the provider's id and the cost, for a batch. Returns how many moved.

    A status callback may already have moved a row on (a fast "delivered" arrives while the rest of
    the batch is still sending); that row's provider id, segments and cost are then filled in without
    touching its status, so the callback's word stands. The fill-in runs only when some row did not
    move, and only changes rows a callback moved on (sent/delivered/failed) that have no provider id
    yet or this send's (see _FILL_IN_SENT).
    """
    rows = [{"b_id": s.message_id, "b_provider_id": s.provider_id, "b_segments": s.segments, "b_cost": s.cost,
             "b_currency": s.currency, "b_now": now} for s in sent]
    moved = _execute_many(session, _MARK_SENT, rows)
    if moved < len(rows):
        _execute_many(session, _FILL_IN_SENT, rows)
    return moved


def mark_messages_failed(session: Session, failed: Sequence[RefusedMessage], *, now: datetime) -> int:
    """sending/unknown -> failed with the provider's code and words, for a batch. Returns how many moved."""
    return _execute_many(session, _MARK_FAILED, [
        {"b_id": f.message_id, "b_code": f.code, "b_reason": f.reason, "b_now": now} for f in failed])


def mark_messages_unknown(session: Session, unclear: Sequence[RefusedMessage], *, now: datetime) -> int:
    """sending -> unknown, for messages the provider may have taken (its answer was lost). Returns how many moved."""
    return _execute_many(session, _MARK_UNKNOWN, [
        {"b_id": u.message_id, "b_code": u.code, "b_reason": u.reason, "b_now": now} for u in unclear])


def requeue_messages(session: Session, refused: Sequence[RefusedMessage], *, now: datetime) -> int:
    """sending/unknown -> pending, each due again at its `not_before`; the last refusal stays on the row
    until then, and a throttled one gets its attempt back. Returns how many moved."""
    return _execute_many(session, _REQUEUE, [
        {"b_id": r.message_id, "b_not_before": r.not_before, "b_code": r.code, "b_reason": r.reason, "b_now": now,
         "b_given_back": int(r.attempt_given_back)}
        for r in refused])



# ------------------------------------------------------------------ expired leases
def settle_expired_leases(session: Session, *, now: datetime, guarantee: str, reason: str) -> list[tuple[int, int]]:
    """Rows still `sending` after their lease, of campaigns with `guarantee`: unknown or pending again.

    at_most_once -> unknown (never resent); at_least_once -> pending, due now. One UPDATE … RETURNING
    (id, run_id); index ix_messages_lease. Does not commit.
    """
    of_guarantee = select(Campaign.id).where(Campaign.guarantee == guarantee).scalar_subquery()
    statement = update_messages().where(
        Message.status == "sending", Message.lease_expires_at <= now, Message.campaign_id.in_(of_guarantee)
    )
    if guarantee == "at_least_once":
        statement = statement.values(status="pending", not_before=now, lease_expires_at=None, updated_at=now)
    else:
        statement = statement.values(status="unknown", lease_expires_at=None, error_code="unknown",
                                     error_reason=reason, updated_at=now)
    return [(row.id, row.run_id) for row in session.execute(statement.returning(Message.id, Message.run_id))]


def mark_handed_over(session: Session, message_ids: Collection[int], *, handed_over: bool) -> None:
    """Say whether these claimed rows may be with the provider (Message.handed_over). Does not commit.

    False for a whole claimed batch, in the claim's transaction; True for the few the sender is about to
    hand over before it records again (campaigns/delivery/answer_groups.py). By primary key, up to a batch of ids."""
    if message_ids:
        session.execute(update_messages().where(Message.id.in_(sorted(message_ids)))
                        .values(handed_over=handed_over))


def release_untried_leases(session: Session, *, now: datetime) -> list[tuple[int, int]]:
    """Rows still `sending` after their lease that the dead sender never handed over: pending, due now,
    the attempt given back, whatever the campaign's guarantee — nobody has seen them. Returns (id, run_id).
    One UPDATE … RETURNING (ix_messages_lease). Does not commit."""
    statement = update_messages().where(
        Message.status == "sending", Message.lease_expires_at <= now, Message.handed_over.is_(False)
    ).values(status="pending", not_before=now, lease_expires_at=None, handed_over=True,
             attempts=Message.attempts - 1, updated_at=now)
    return [(row.id, row.run_id) for row in session.execute(statement.returning(Message.id, Message.run_id))]


# ------------------------------------------------------------------ reconcile unknown rows
@dataclass(frozen=True)
class UnknownMessage:
    """An `unknown` row to ask its provider about, with when its run started and whether it is still open."""

    message_id: int
    run_id: int
    run_started_at: datetime
    run_open: bool
    guarantee: str


def unknown_messages(session: Session, *, unknown_before: datetime, campaign_id: int | None = None,
                     limit: int, after_message_id: int = 0) -> list[UnknownMessage]:
    """Up to `limit` `unknown` rows that became unknown before `unknown_before`, in id order from
    `after_message_id` (of one campaign, or of all). Uses ix_messages_campaign_status for one
    campaign; the scheduler's sweep over all campaigns reads the few unknown rows there are."""
    query = (select(Message.id, Message.run_id, Run.started_at, Run.status, Campaign.guarantee)
             .join(Run, Run.id == Message.run_id).join(Campaign, Campaign.id == Message.campaign_id)
             .where(Message.status == "unknown", Message.id > after_message_id,
                    func.coalesce(Message.updated_at, Run.started_at) <= unknown_before)
             .order_by(Message.id).limit(limit))
    if campaign_id is not None:
        query = query.where(Message.campaign_id == campaign_id)
    return [UnknownMessage(mid, run_id, started, status in ("running", "paused"), guarantee)
            for mid, run_id, started, status, guarantee in session.execute(query)]


def messages_by_provider_id(session: Session, provider_ids: Collection[str]) -> dict[str, int]:
    """{provider id: message id} for the ids some row already carries (ix_messages_provider_id)."""
    if not provider_ids:
        return {}
    return dict(session.execute(select(Message.provider_id, Message.id)
                                .where(Message.provider_id.in_(sorted(provider_ids)))).tuples().all())


def append_run_notes(session: Session, notes: Mapping[int, str]) -> None:
    """Add a line to each run's notes ({run id: line}). Does not commit."""
    for run_id, line in notes.items():
        session.execute(update(Run).where(Run.id == run_id).values(
            notes=func.coalesce(Run.notes + "\n", "") + line))


