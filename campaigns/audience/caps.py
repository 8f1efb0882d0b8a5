"""Frequency caps across campaigns: at most N marketing messages per contact and channel in D days.

A recipient over the cap gets an outbox row with status `capped` (an Exclusion, after the consent
exclusions in campaigns/audience/materialise.py), so the report counts them like the suppressed. The count
is one correlated subquery per recipient inside the materialising INSERT … SELECT, answered from
ix_messages_contact_sent (contact_id, sent_at): no Python loop, no second pass over the audience.

What counts: marketing messages on the same channel that were sent in the last D days (sent_at set)
or are still to go — pending (due now, or materialised hours ahead for a recipient-local send time),
being sent, or waiting for an A/B winner — and those `unknown` (the sender died after claiming them, so they
may have gone, and the provider's "delivered" may still come). Counting only the sent let two campaigns sent
at the same moment both pass the cap. Event notices go out at a higher priority (a lower number, see
campaigns/notices.py) and neither count towards the cap nor are held back by it.

Two materialisations racing for the same contacts would each count before the other commits, so the
check and the INSERT are serialised per channel until the transaction ends (hold_cap_lock): on
PostgreSQL an advisory transaction lock; SQLite needs none, since every write transaction there
begins IMMEDIATE (core/db.py) and so runs alone from its first statement to its commit.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session

from campaigns.audience.priority import EVENT_NOTICE, MARKETING_PRIORITY
from campaigns.audience.queries import Exclusion
from campaigns.models import Campaign, Message
from campaigns.queries import OPEN_STATUSES

# name: hold-cap-lock
# PostgreSQL only: one advisory lock per channel, released by the commit or rollback of the transaction
# that materialises a run, so no two cap checks on one channel see the database without each other's rows.
# Raw SQL: there is no ORM spelling. The first key says "frequency caps" among Herald's advisory locks.
HOLD_CAP_LOCK = text("SELECT pg_advisory_xact_lock(:namespace, :channel_key)")
CAP_LOCK_NAMESPACE = 0x48524C44  # "HRLD"


@dataclass(frozen=True)
class FrequencyCap:
    """At most `messages` marketing messages per contact and channel in `days` days; 0 messages = no cap."""

    messages: int = 3
    days: int = 7

    @classmethod
    def for_campaign(cls, campaign: Campaign, default: FrequencyCap | None = None) -> FrequencyCap | None:
        """The cap that applies to `campaign`: None when it ignores caps (or is not marketing)."""
        if campaign.ignore_caps or campaign.kind == EVENT_NOTICE or campaign.operational:
            return None
        base = default or cls()
        cap = cls(messages=base.messages if campaign.cap_messages is None else campaign.cap_messages,
                  days=base.days if campaign.cap_days is None else campaign.cap_days)
        return cap if cap.messages > 0 else None


def hold_cap_lock(session: Session, *, channel: str) -> None:
    """Serialise cap checks on `channel` until the session's transaction ends (see the module doc)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(HOLD_CAP_LOCK, {"namespace": CAP_LOCK_NAMESPACE,
                                        "channel_key": zlib.crc32(channel.encode()) & 0x7FFFFFFF})


def recently_sent(contact_id: Any, *, channel: str, since: datetime) -> Any:
    """SQL: how many marketing messages on `channel` the contact was sent since `since` or has still to
    be sent (a scalar subquery; see the module doc for what counts)."""
    earlier = Message.__table__.alias("earlier")  # aliased: the INSERT writes into messages too
    return (
        select(func.count())
        .select_from(earlier)
        .where(earlier.c.contact_id == contact_id, earlier.c.channel == channel,
               or_(earlier.c.sent_at >= since, earlier.c.status.in_(OPEN_STATUSES),
                   # May have gone (the sender died after claiming it; campaigns/delivery/dispatch.py): counted from
                   # when it was settled, the latest it can have been sent.
                   and_(earlier.c.status == "unknown", earlier.c.updated_at >= since)),
               earlier.c.priority >= MARKETING_PRIORITY)
        .scalar_subquery()
    )


def cap_exclusions(audience: Any, *, channel: str, cap: FrequencyCap | None, now: datetime) -> list[Exclusion]:
    """Recipients who already had `cap.messages` marketing messages on `channel` in `cap.days` days: `capped`."""
    if cap is None:
        return []
    since = now - timedelta(days=cap.days)
    noun = "message" if cap.messages == 1 else "messages"
    return [Exclusion(recently_sent(audience.c.contact_id, channel=channel, since=since) >= cap.messages, "capped",
                      "frequency_cap",
                      f"the contact already had {cap.messages} marketing {channel} {noun} in the last {cap.days} "
                      "days or still to be sent (the frequency cap), so nothing was sent")]
