"""Materialise a run: turn its audience into outbox rows, in the database, with one statement.

One row per (run, contact, channel) — the unique key on messages — so a run can be materialised at
most once. Reachable recipients are `pending`, due now; the rest are `suppressed` with the reason, so
reports count every recipient (DESIGN §3). Never a Python loop over contacts: the INSERT … SELECT
costs the same round trip for 10 contacts or 1,000,000.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from campaigns import queries
from campaigns.models import Campaign, Run


def materialise_run(session: Session, *, run: Run, campaign: Campaign, now: datetime) -> int:
    """Write the run's messages (one INSERT … SELECT); does not commit. Returns the rows written."""
    return queries.insert_run_messages(session, run_id=run.id, campaign_id=campaign.id, list_id=campaign.list_id,
                                       channel=campaign.channel, now=now)
