"""What happened to a campaign: live status counts, for one or many (the full report:
campaigns/results/report_campaign.py)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from campaigns.lifecycle import get_campaign
from campaigns.models import MESSAGE_STATUSES
from campaigns.results import message_counts
from campaigns.results.report_campaign import CampaignReport, campaign_report


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
    states = message_counts.campaign_states(session, campaign_ids=campaign_ids)
    grouped = message_counts.count_by_campaign_and_status(session, campaign_ids=states.keys())
    statuses: dict[int, CampaignStatus] = {}
    for campaign_id, (status, dry_run) in states.items():
        found = grouped.get(campaign_id, {})
        counts = {name: found.get(name, 0) for name in MESSAGE_STATUSES}
        statuses[campaign_id] = CampaignStatus(campaign_id, status, counts, sum(counts.values()), dry_run)
    return statuses


__all__ = ["CampaignReport", "CampaignStatus", "campaign_report", "campaign_status", "campaign_statuses"]
