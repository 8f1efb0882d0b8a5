"""Materialise a run: turn its audience into outbox rows, in the database, with one statement.

One row per (run, contact, channel) — the unique key on messages — so a run can be materialised at
most once. Reachable recipients are `pending`, due at their send time; the rest get a terminal status
(suppressed, …) with the reason, so reports count every recipient (DESIGN §3). Never a Python loop over
contacts: the INSERT … SELECT costs the same round trip for 10 contacts or 1,000,000.

This module is where the parts meet: who (audiences.audience_select), who is excluded and why
(consent_exclusions here; caps, holdout… each in its own module, listed in order of precedence), and
when each recipient is due (`not_before`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import literal, or_
from sqlalchemy.orm import Session

from audiences import audience_select
from campaigns import queries
from campaigns.models import Campaign, Run
from campaigns.queries import Exclusion
from core.db import UTCDateTime


def consent_exclusions(audience: Any, channel: str) -> list[Exclusion]:
    """No address, or no consent for the channel: the recipient is `suppressed`, and the report says why."""
    what = "email address" if channel == "email" else "phone number"
    no_address = or_(audience.c.address.is_(None), audience.c.address == "")
    return [
        Exclusion(no_address, "suppressed", "no_address", f"the contact has no {what}, so nothing was sent"),
        Exclusion(audience.c.reachable == 0, "suppressed", "opted_out",
                  f"the contact has opted out of {channel} (unsubscribed, bounced or complained), so nothing was sent"),
    ]


def materialise_run(session: Session, *, run: Run, campaign: Campaign, now: datetime) -> int:
    """Write the run's messages (one INSERT … SELECT); does not commit. Returns the rows written."""
    audience = audience_select(campaign.list_id, campaign.channel).subquery("audience")
    exclusions = consent_exclusions(audience, campaign.channel)
    return queries.insert_run_messages(
        session, run_id=run.id, campaign_id=campaign.id, channel=campaign.channel, audience=audience,
        exclusions=exclusions, priority=100, not_before=literal(now, UTCDateTime()), now=now,
    )
