"""Which traffic goes first. The claim query orders due messages by priority, lower first, so an event
notice's messages overtake a marketing campaign's that are already queued (campaigns/queries.py)."""

from __future__ import annotations

from campaigns.models import Campaign

EVENT_NOTICE = "event_notice"  # Campaign.kind of an urgent notice (campaigns/notices.py)
NOTICE_PRIORITY = 10
# Marketing traffic: this priority or a higher number. Frequency caps count only these (campaigns/audience/caps.py).
MARKETING_PRIORITY = 100


def campaign_priority(campaign: Campaign) -> int:
    """The priority a campaign's messages are queued at: notices (and operational messages) first."""
    return NOTICE_PRIORITY if campaign.kind == EVENT_NOTICE or campaign.operational else MARKETING_PRIORITY
