"""Materialise a run: turn its audience into outbox rows, in the database, with one statement.

One row per (run, contact, channel) — the unique key on messages — so a run can be materialised at
most once. Reachable recipients are `pending`, due at their send time; the rest get a terminal status
(suppressed, …) with the reason, so reports count every recipient (DESIGN §3). Never a Python loop over
contacts: the INSERT … SELECT costs the same round trip for 10 contacts or 1,000,000.

This module is where the parts meet: who (audiences.audience_select), who is excluded and why
(consent_exclusions here; duplicate addresses, caps, holdout… each in its own module, listed in order of
precedence), and when each recipient is due (`not_before`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import literal, or_, select
from sqlalchemy.orm import Session

from campaigns.ab_test import ab_plan
from campaigns.audience import queries as audience_queries
from campaigns.audience.caps import FrequencyCap, cap_exclusions, hold_cap_lock
from campaigns.audience.duplicates import duplicate_exclusions, rank_addresses
from campaigns.audience.holdout import holdout_exclusions, variant_choice, waiting_exclusions
from campaigns.audience.priority import campaign_priority
from campaigns.audience.queries import Exclusion
from campaigns.audience.recipients import recipients_select
from campaigns.audience.send_time import Timing, not_before_sql
from campaigns.models import Campaign, Run
from core.db import UTCDateTime


def consent_exclusions(audience: Any, channel: str, *, operational: bool = False) -> list[Exclusion]:
    """No address, a suppressed address, or no consent for the channel: the recipient is `suppressed`, and
    the report says why. An `operational` campaign skips only the suppression list (see audience_select).
    """
    what = "email address" if channel == "email" else "phone number"
    no_address = or_(audience.c.address.is_(None), audience.c.address == "")
    listed = [] if operational else [
        Exclusion(audience.c.suppressed_listed == 1, "suppressed", "suppression_list",
                  f"the contact's {what} is on the suppression list (Settings → Suppression list), so nothing "
                  "was sent"),
    ]
    return [
        Exclusion(no_address, "suppressed", "no_address", f"the contact has no {what}, so nothing was sent"),
        *listed,
        Exclusion(audience.c.reachable == 0, "suppressed", "opted_out",
                  f"the contact has opted out of {channel} (unsubscribed, bounced or complained), so nothing was sent"),
    ]


def materialise_run(session: Session, *, run: Run, campaign: Campaign, now: datetime,
                    cap: FrequencyCap | None = None, timing: Timing | None = None, only_contacts: Any = None) -> int:
    """Write the run's messages (one INSERT … SELECT); does not commit. Returns the rows written.

    `cap` is the configured frequency cap ([caps] in config.toml; FrequencyCap() has its defaults); the
    campaign may override or ignore it (campaigns/audience/caps.py). `timing` says when each recipient is due
    (campaigns/audience/send_time.py: a local time per zone, quiet hours; None: everyone now). `only_contacts`,
    a SELECT of contact ids, narrows the audience (a date rule's contacts whose day it is).
    """
    recipients = recipients_select(session, campaign, now=now)
    if only_contacts is not None:
        inner = recipients.subquery("recipients")
        recipients = select(inner).where(inner.c.contact_id.in_(only_contacts))
    audience = rank_addresses(recipients, campaign.channel).subquery("audience")
    exclusions = consent_exclusions(audience, campaign.channel, operational=campaign.operational)
    exclusions += duplicate_exclusions(audience, campaign.channel)
    run_cap = FrequencyCap.for_campaign(campaign, cap)
    if run_cap is not None:
        hold_cap_lock(session, channel=campaign.channel)  # until the caller commits: see campaigns/audience/caps.py
    exclusions += cap_exclusions(audience, channel=campaign.channel, cap=run_cap, now=now)
    exclusions += holdout_exclusions(audience, campaign_id=campaign.id, holdout_percent=campaign.holdout_percent)
    variants, test_percent = ab_plan(session, campaign)
    exclusions += waiting_exclusions(audience, campaign_id=campaign.id, test_percent=test_percent)
    return audience_queries.insert_run_messages(
        session, run_id=run.id, campaign_id=campaign.id, channel=campaign.channel, audience=audience,
        exclusions=exclusions, priority=campaign_priority(campaign),
        not_before=not_before_sql(session, audience, timing, now) if timing else literal(now, UTCDateTime()), now=now,
        variant=variant_choice(audience, campaign_id=campaign.id, variants=variants) if variants else None,
    )
