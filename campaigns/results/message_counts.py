"""Messages counted for reports: by status, by campaign, failures by reason, cost by currency, a
campaign's run summary. Read-only; the reports in this package assemble them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    case,
    func,
    select,
)
from sqlalchemy.orm import Session

from campaigns.models import (
    Campaign,
    Message,
    Run,
)


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
