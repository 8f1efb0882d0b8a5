"""Named queries over templates, campaigns, runs, messages and events (only campaigns/ writes these tables).

A function that writes says so in its name and never commits: the domain function that calls it
owns the transaction. Most queries use SQLAlchemy Core over the typed models; the claim is raw SQL
(see CLAIM_DUE_MESSAGES) because it needs the one shape that hands each row to exactly one sender.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Integer,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from audiences import Contact, contacts_by_id
from campaigns.models import (
    MESSAGE_STATUS_RANK,
    Campaign,
    CampaignTransition,
    CampaignVariant,
    Message,
    MessageEvent,
    Run,
    Template,
)
from core.db import UTCDateTime


def _update_messages():
    """UPDATE messages, without SQLAlchemy re-evaluating the WHERE clause against every Message loaded
    in the session (its default): with a claimed batch loaded, that made recording a batch quadratic
    (measured: 75% of send time at 3,000 messages). Nothing reads those objects after recording."""
    return update(Message).execution_options(synchronize_session=False)


# A message still to be handled keeps its run open ("waiting": the rest of an A/B test's audience).
OPEN_STATUSES = ("pending", "sending", "waiting")
# A result from the provider is recorded only over these: "sending" is the normal case; "unknown" is a
# row whose lease expired while the provider was still answering, and the answer settles it.
RECORDABLE_STATUSES = ("sending", "unknown")


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
    `variant` is SQL choosing the A/B variant id (campaigns/holdout.py); excluded recipients get none.
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
    return [ClaimedMessage(m, contacts[m.contact_id], campaigns[m.campaign_id][0],
                           variant_templates.get(m.variant_id) or campaigns[m.campaign_id][1]) for m in messages]


# ------------------------------------------------------------------ record what the provider said
# A batch's answers are recorded with one executemany per kind of answer (sent, failed, retry): the
# statement is compiled once and the driver runs it for every row (psycopg in pipeline mode, sqlite3
# in C), instead of one round through SQLAlchemy per message, which was most of record()'s time.
# Every UPDATE keeps its per-row condition, so a row a callback moved on meanwhile is left alone.
def _status_in(statuses: Sequence[str]) -> Any:
    """`status IN ('a', 'b')` written into the SQL: executemany() takes no expanding IN parameter.
    Only for this module's own status constants, never for values from outside."""
    return Message.status.in_([literal_column(f"'{status}'") for status in statuses])


def _earliest(column: Any, given: Any) -> Any:
    """The earlier of a timestamp column and a value, the value when the column is NULL (portable: SQLite's
    min() and PostgreSQL's LEAST() treat NULL differently)."""
    return case((or_(column.is_(None), column > given), given), else_=column)


_MARK_SENT = (
    _update_messages()
    .where(Message.id == bindparam("b_id"), _status_in(RECORDABLE_STATUSES))
    .values(status="sent", provider_id=bindparam("b_provider_id"), segments=bindparam("b_segments"),
            cost=bindparam("b_cost"), currency=bindparam("b_currency"), sent_at=bindparam("b_now"),
            lease_expires_at=None, error_code=None, error_reason=None, updated_at=bindparam("b_now"))
)
# A row a status callback moved on before this record landed (a fast provider answers within ~100 ms,
# while the rest of the batch is still sending): the callback's status stands, and the send's own facts
# land beside it, so callbacks and the record commute — whichever comes first, the row ends the same.
# The provider's own segments and price (from a callback) win over the send's (coalesce), as they do
# when the callback comes second; sent_at is the earliest time the message is known to have gone
# (_earliest), as the callbacks write it. Only a row with no provider id yet or this send's own: a row
# another send's callbacks describe keeps its facts, and recording the same answer twice changes nothing.
_FILL_IN_SENT = (
    _update_messages()
    .where(Message.id == bindparam("b_id"), _status_in(("sent", "delivered", "failed")),
           or_(Message.provider_id.is_(None), Message.provider_id == bindparam("b_provider_id")))
    # Typed: inside coalesce() a parameter does not take the column's type (Decimal on SQLite, the UTC time).
    .values(provider_id=bindparam("b_provider_id"),
            segments=func.coalesce(Message.segments, bindparam("b_segments", type_=Message.segments.type)),
            cost=func.coalesce(Message.cost, bindparam("b_cost", type_=Message.cost.type)),
            currency=func.coalesce(Message.currency, bindparam("b_currency", type_=Message.currency.type)),
            sent_at=_earliest(Message.sent_at, bindparam("b_now", type_=Message.sent_at.type)),
            lease_expires_at=None, updated_at=bindparam("b_now", type_=Message.updated_at.type))
)
_MARK_FAILED = (
    _update_messages()
    .where(Message.id == bindparam("b_id"), _status_in(RECORDABLE_STATUSES))
    .values(status="failed", error_code=bindparam("b_code"), error_reason=bindparam("b_reason"),
            lease_expires_at=None, updated_at=bindparam("b_now"))
)
# The provider's answer was lost after it got the message (at-most-once): as a crash does (settle_expired_leases).
_MARK_UNKNOWN = (
    _update_messages()
    .where(Message.id == bindparam("b_id"), Message.status == "sending")
    .values(status="unknown", error_code=bindparam("b_code"), error_reason=bindparam("b_reason"),
            lease_expires_at=None, updated_at=bindparam("b_now"))
)
_REQUEUE = (
    _update_messages()
    .where(Message.id == bindparam("b_id"), _status_in(RECORDABLE_STATUSES))
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


# ------------------------------------------------------------------ expired leases
def settle_expired_leases(session: Session, *, now: datetime, guarantee: str, reason: str) -> list[tuple[int, int]]:
    """Rows still `sending` after their lease, of campaigns with `guarantee`: unknown or pending again.

    at_most_once -> unknown (never resent); at_least_once -> pending, due now. One UPDATE … RETURNING
    (id, run_id); index ix_messages_lease. Does not commit.
    """
    of_guarantee = select(Campaign.id).where(Campaign.guarantee == guarantee).scalar_subquery()
    statement = _update_messages().where(
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
        session.execute(_update_messages().where(Message.id.in_(sorted(message_ids)))
                        .values(handed_over=handed_over))


def release_untried_leases(session: Session, *, now: datetime) -> list[tuple[int, int]]:
    """Rows still `sending` after their lease that the dead sender never handed over: pending, due now,
    the attempt given back, whatever the campaign's guarantee — nobody has seen them. Returns (id, run_id).
    One UPDATE … RETURNING (ix_messages_lease). Does not commit."""
    statement = _update_messages().where(
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


# ------------------------------------------------------------------ cancel
def cancel_pending_messages(session: Session, *, campaign_id: int, now: datetime) -> int:
    """pending -> cancelled for one campaign. Rows already sending finish normally. Returns rows."""
    return session.execute(
        _update_messages()
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
        _update_messages()
        .where(Message.id == message_id, Message.status.in_(statuses_below(status)))
        .values(status=status, **values)
    ).rowcount)


# ------------------------------------------------------------------ callbacks without loading the message
# A status callback storm is the hot path (bench/callback_ingest.py). Each function is ONE Core statement
# that finds the message by `match` — ("id", 42) or ("provider_id", "SM…"; ix_messages_provider_id) — and
# returns (id, contact_id, channel) of the row it changed, or None. The statements are built once per
# shape and cached: building and cache-keying an ORM UPDATE per callback cost more than running it.
# Their status lists are written into the SQL (_status_in): an expanding IN parameter would be
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
            values[name] = _earliest(column, given)
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
        return (update(_MESSAGES).where(_where(match[0]), _status_in(statuses_below(status)))
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
        moved = (update(_MESSAGES).where(_where(match[0]), _status_in(statuses_below(status)))
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
    return bool(session.execute(_update_messages().where(Message.id == message_id).values(**values)).rowcount)


# ------------------------------------------------------------------ reports
def count_by_status(session: Session, *, campaign_id: int) -> dict[str, tuple[int, int]]:
    """{status: (rows, rows the provider accepted)} for a campaign: one GROUP BY (ix_messages_campaign_status).

    "Accepted" is counted from sent_at, which is set once a provider took the message, so a message
    that failed after it was sent (a carrier's "undelivered") still counts as sent.
    """
    rows = session.execute(
        select(Message.status, func.count(), func.count(Message.sent_at))
        .where(Message.campaign_id == campaign_id)
        .group_by(Message.status)
    )
    return {status: (count, accepted) for status, count, accepted in rows}


def count_by_campaign_and_status(session: Session, *, campaign_ids: Collection[int]) -> dict[int, dict[str, int]]:
    """{campaign_id: {status: rows}} for many campaigns: one GROUP BY (ix_messages_campaign_status).

    A campaign with no messages is absent from the result.
    """
    if not campaign_ids:
        return {}
    rows = session.execute(
        select(Message.campaign_id, Message.status, func.count())
        .where(Message.campaign_id.in_(set(campaign_ids)))
        .group_by(Message.campaign_id, Message.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for campaign_id, status, count in rows:
        counts.setdefault(campaign_id, {})[status] = count
    return counts


def campaign_states(session: Session, *, campaign_ids: Collection[int]) -> dict[int, tuple[str, bool]]:
    """{campaign_id: (the campaign's status, any of its runs is a dry run)}: one query, campaigns LEFT JOIN runs.

    Unknown ids are absent from the result.
    """
    if not campaign_ids:
        return {}
    rows = session.execute(
        select(Campaign.id, Campaign.status, func.max(case((Run.dry_run, 1), else_=0)))
        .outerjoin(Run, Run.campaign_id == Campaign.id)
        .where(Campaign.id.in_(set(campaign_ids)))
        .group_by(Campaign.id, Campaign.status)
    )
    return {campaign_id: (status, bool(dry_run)) for campaign_id, status, dry_run in rows}


def failures_by_reason(session: Session, *, campaign_id: int) -> list[tuple[str | None, str | None, int]]:
    """(error_code, error_reason, rows) of the failed messages, most frequent first."""
    count = func.count().label("n")
    rows = session.execute(
        select(Message.error_code, Message.error_reason, count)
        .where(Message.campaign_id == campaign_id, Message.status == "failed")
        .group_by(Message.error_code, Message.error_reason)
        .order_by(count.desc(), Message.error_code)
    )
    return [(code, reason, n) for code, reason, n in rows]


def cost_by_currency(session: Session, *, campaign_id: int) -> dict[str, Decimal]:
    """Summed in SQL as NUMERIC, so money never passes through a float."""
    rows = session.execute(
        select(Message.currency, func.sum(Message.cost))
        .where(Message.campaign_id == campaign_id, Message.cost.is_not(None))
        .group_by(Message.currency)
    )
    return {currency or "": Decimal(total) for currency, total in rows if total is not None}


def run_summary(session: Session, *, campaign_id: int) -> tuple[bool, datetime | None, datetime | None]:
    """(any run is a dry run, first start, last finish) over a campaign's runs."""
    row = session.execute(
        select(func.max(case((Run.dry_run, 1), else_=0)), func.min(Run.started_at), func.max(Run.finished_at))
        .where(Run.campaign_id == campaign_id)
    ).one()
    return bool(row[0]), row[1], row[2]
