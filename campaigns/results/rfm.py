"""RFM scores and the dormant rule: who buys recently, often and much, and who has gone quiet.

Scores come from conversions (campaigns own them), so this lives in campaigns, and writes the score
columns audiences keeps on each contact (rfm_recency, rfm_frequency, rfm_monetary, rfm_updated_at).
Everything is one statement per step, in SQL with window functions, on SQLite and PostgreSQL alike:

- Each buying contact gets three quintile scores, 1 (lowest fifth) to 5 (highest): recency by the
  last purchase (latest = 5), frequency by the number of orders, monetary by the total in the
  workspace currency. A value's quintile is taken at the middle of its place in the order (RANK and
  CUME_DIST), not by NTILE, so equal values share a score: NTILE would split a crowd of one-time
  buyers across scores 1 to 3 by their ids.
- Contacts who bought nothing have no scores (NULL), including ones whose purchases were deleted.
- Dormant: a contact with no purchase and no engagement (a person's open or click, or a reply) for
  [rfm] dormant_days, and who has been a contact at least that long, moves to lifecycle stage
  "dormant". Leads (who never bought), churned and already dormant contacts keep their stage; a
  dormant contact who comes back is left for the marketer (or the reactivation report) to see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, false, func, or_, select, text, type_coerce, update
from sqlalchemy.orm import Session

from audiences import Contact
from campaigns.models import Conversion, Message, MessageEvent
from campaigns.responses.inbox_models import Reply
from core.db import UTCDateTime

ENGAGEMENT_EVENTS = ("opened", "clicked", "replied")
KEEP_STAGES = ("lead", "dormant", "churned")  # stages the dormant rule never overwrites

# Raw because UPDATE … FROM a CTE with window functions has no portable ORM form. Both SQLite (3.33+)
# and PostgreSQL accept this text as is. The thresholds cut the middle position (0 to 1) into fifths.
_SCORE = """
    CASE WHEN {rank} < 0.2 THEN 1 WHEN {rank} < 0.4 THEN 2 WHEN {rank} < 0.6 THEN 3 WHEN {rank} < 0.8 THEN 4
         ELSE 5 END"""
# The middle of a value's place in the order, as a fraction: a group of equal values at positions a..b
# of n sits at (a - 1 + b) / 2n. RANK() gives a, CUME_DIST() * n gives b.
_MIDDLE = "(RANK() OVER (ORDER BY {v}) - 1 + CUME_DIST() OVER (ORDER BY {v}) * n) / (2.0 * n)"
SCORE_CONTACTS = text(f"""
WITH stats AS (
    SELECT contact_id, MAX(occurred_at) AS last_at, COUNT(*) AS orders, SUM(amount_base) AS spent,
           COUNT(*) OVER () AS n
    FROM conversions
    GROUP BY contact_id
), ranked AS (
    SELECT contact_id,
           {_MIDDLE.format(v="last_at")} AS r,
           {_MIDDLE.format(v="orders")} AS f,
           {_MIDDLE.format(v="spent")} AS m
    FROM stats
)
UPDATE contacts
SET rfm_recency = {_SCORE.format(rank="ranked.r")},
    rfm_frequency = {_SCORE.format(rank="ranked.f")},
    rfm_monetary = {_SCORE.format(rank="ranked.m")},
    rfm_updated_at = :now
FROM ranked
WHERE contacts.id = ranked.contact_id
""").bindparams(bindparam("now", type_=UTCDateTime()))


@dataclass(frozen=True)
class RfmResult:
    scored: int  # contacts with purchases, whose scores were (re)computed
    cleared: int  # contacts who had scores but no longer have purchases
    dormant: int  # contacts moved to the dormant stage by this run

    def __str__(self) -> str:
        return f"scored {self.scored} contacts, cleared {self.cleared}, {self.dormant} newly dormant"


def score_contacts(session: Session, *, now: datetime, dormant_days: int) -> RfmResult:
    """Recompute every contact's RFM scores and apply the dormant rule; commits. Safe to run at any time."""
    session.execute(SCORE_CONTACTS, {"now": now})
    # Counted apart: SQLite reports no row count for a statement that starts WITH.
    scored = session.scalar(select(func.count(func.distinct(Conversion.contact_id)))) or 0
    has_purchase = exists().where(Conversion.contact_id == Contact.id)
    cleared = session.execute(
        update(Contact).where(Contact.rfm_updated_at.is_not(None), ~has_purchase)
        .values(rfm_recency=None, rfm_frequency=None, rfm_monetary=None, rfm_updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    dormant = mark_dormant(session, now=now, dormant_days=dormant_days)
    session.commit()
    return RfmResult(scored=scored, cleared=cleared, dormant=dormant)


def mark_dormant(session: Session, *, now: datetime, dormant_days: int) -> int:
    """Move contacts with no purchase and no engagement in `dormant_days` to "dormant"; returns how many.
    Does not commit."""
    since = now - timedelta(days=dormant_days)
    machine = MessageEvent.detail["machine"].as_boolean()
    bought = exists().where(Conversion.contact_id == Contact.id, Conversion.occurred_at > since)
    engaged = exists(
        select(MessageEvent.id).join(Message, Message.id == MessageEvent.message_id)
        .where(Message.contact_id == Contact.id, MessageEvent.type.in_(ENGAGEMENT_EVENTS),
               MessageEvent.occurred_at > since, or_(machine.is_(None), machine == false())))
    replied = exists().where(Reply.contact_id == Contact.id, Reply.received_at > since)
    statement = (
        update(Contact)
        .where(Contact.created_at <= since,
               or_(Contact.lifecycle_stage.is_(None), Contact.lifecycle_stage.not_in(KEEP_STAGES)),
               ~bought, ~engaged, ~replied)
        .values(lifecycle_stage="dormant", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount


def last_scored_at(session: Session) -> datetime | None:
    """When RFM scores were last computed (the latest rfm_updated_at), or None if never."""
    value = session.scalar(select(type_coerce(func.max(Contact.rfm_updated_at), UTCDateTime())))
    session.rollback()
    return value
