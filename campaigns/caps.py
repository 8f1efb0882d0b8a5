"""Frequency caps across campaigns: at most N marketing messages per contact and channel in D days.

A recipient over the cap gets an outbox row with status `capped` (an Exclusion, after the consent
exclusions in campaigns/materialise.py), so the report counts them like the suppressed. The count
is one correlated subquery per recipient inside the materialising INSERT … SELECT, answered from
ix_messages_contact_sent (contact_id, sent_at): no Python loop, no second pass over the audience.

What counts: messages the provider accepted (sent_at set) on the same channel in the last D days,
of marketing priority. Event notices go out at a higher priority (a lower number, see
campaigns/notices.py) and neither count towards the cap nor are held back by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from campaigns.models import Campaign, Message
from campaigns.priority import EVENT_NOTICE, MARKETING_PRIORITY
from campaigns.queries import Exclusion


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


def recently_sent(contact_id: Any, *, channel: str, since: datetime) -> Any:
    """SQL: how many marketing messages the contact was sent on `channel` since `since` (a scalar subquery)."""
    earlier = Message.__table__.alias("earlier")  # aliased: the INSERT writes into messages too
    return (
        select(func.count())
        .select_from(earlier)
        .where(earlier.c.contact_id == contact_id, earlier.c.sent_at >= since, earlier.c.channel == channel,
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
                      "days (the frequency cap), so nothing was sent")]
