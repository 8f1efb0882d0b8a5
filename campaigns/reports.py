"""What happened to a campaign: live status counts (for one or many), and the report with failures and cost."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from campaigns import queries
from campaigns.lifecycle import get_campaign
from campaigns.models import MESSAGE_STATUSES


@dataclass(frozen=True)
class CampaignStatus:
    campaign_id: int
    status: str  # the campaign's own status: draft, running, completed, …
    counts: dict[str, int]  # every message status, 0 included, in MESSAGE_STATUSES order
    total: int
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, "status": self.status, "counts": dict(self.counts),
                "total": self.total, "dry_run": self.dry_run}


def campaign_status(session: Session, campaign_id: int) -> CampaignStatus:
    """Message counts by status (one GROUP BY), for a progress bar. Raises NotFound."""
    get_campaign(session, campaign_id)
    return campaign_statuses(session, [campaign_id])[campaign_id]


def campaign_statuses(session: Session, campaign_ids: Collection[int]) -> dict[int, CampaignStatus]:
    """The status of many campaigns, for a list page: two queries however many campaigns there are.

    One GROUP BY over their messages, one over the campaigns and their runs. Ids that name no
    campaign are left out of the result rather than raising, so a list stays whole.
    """
    states = queries.campaign_states(session, campaign_ids=campaign_ids)
    grouped = queries.count_by_campaign_and_status(session, campaign_ids=states.keys())
    statuses: dict[int, CampaignStatus] = {}
    for campaign_id, (status, dry_run) in states.items():
        found = grouped.get(campaign_id, {})
        counts = {name: found.get(name, 0) for name in MESSAGE_STATUSES}
        statuses[campaign_id] = CampaignStatus(campaign_id, status, counts, sum(counts.values()), dry_run)
    return statuses


@dataclass(frozen=True)
class Failure:
    code: str | None
    reason: str | None
    count: int


@dataclass(frozen=True)
class CampaignReport:
    campaign_id: int
    name: str
    channel: str
    status: str
    recipients: int  # every row: suppressed and cancelled recipients included
    sent: int  # the provider accepted it (sent, delivered, or failed after sending)
    delivered: int
    failed: int
    unknown: int  # the sender stopped mid-send; never resent (at-most-once)
    suppressed: int
    cancelled: int
    pending: int  # waiting to be sent, or to be retried
    sending: int
    failures: list[Failure] = field(default_factory=list)  # by (code, reason), most frequent first
    cost: dict[str, Decimal] = field(default_factory=dict)  # currency -> total
    dry_run: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as strings (never floats), times as ISO 8601."""
        return {
            "campaign_id": self.campaign_id,
            "name": self.name,
            "channel": self.channel,
            "status": self.status,
            "recipients": self.recipients,
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "unknown": self.unknown,
            "suppressed": self.suppressed,
            "cancelled": self.cancelled,
            "pending": self.pending,
            "sending": self.sending,
            "failures": [{"code": f.code, "reason": f.reason, "count": f.count} for f in self.failures],
            "cost": {currency: str(total) for currency, total in self.cost.items()},
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def campaign_report(session: Session, campaign_id: int) -> CampaignReport:
    """The campaign's numbers, each counted in SQL; cost summed per currency as Decimal. Raises NotFound."""
    campaign = get_campaign(session, campaign_id)
    grouped = queries.count_by_status(session, campaign_id=campaign_id)

    def count(status: str) -> int:
        return grouped.get(status, (0, 0))[0]

    dry_run, started_at, finished_at = queries.run_summary(session, campaign_id=campaign_id)
    return CampaignReport(
        campaign_id=campaign.id,
        name=campaign.name,
        channel=campaign.channel,
        status=campaign.status,
        recipients=sum(rows for rows, _ in grouped.values()),
        sent=sum(accepted for _, accepted in grouped.values()),
        delivered=count("delivered"),
        failed=count("failed"),
        unknown=count("unknown"),
        suppressed=count("suppressed"),
        cancelled=count("cancelled"),
        pending=count("pending"),
        sending=count("sending"),
        failures=[Failure(code, reason, n)
                  for code, reason, n in queries.failures_by_reason(session, campaign_id=campaign_id)],
        cost=queries.cost_by_currency(session, campaign_id=campaign_id),
        dry_run=dry_run,
        started_at=started_at,
        finished_at=finished_at,
    )
