"""Who a campaign is for, as one SELECT: everyone or a list, narrowed by a saved segment on the day it sends.

The segment's rules are read when the run is materialised (or estimated), not when the campaign is
created, so a campaign scheduled for next week reaches next week's members. A campaign submitted for
approval uses the rules as they were submitted (Campaign.approved_segment_rules): editing the segment
later must not change who an approved campaign reaches. Operational notices pass
the suppression list (audiences.audience_select decides what that means).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from audiences import audience_select, get_segment
from campaigns.models import Campaign


def recipients_select(session: Session, campaign: Campaign, *, now: datetime) -> Any:
    """The campaign's audience (audiences.audience_select) for `now`; raises NotFound for a deleted segment."""
    rules = campaign_segment_rules(session, campaign)
    return audience_select(campaign.list_id, campaign.channel, segment_rules=rules,
                           today=now.date() if rules is not None else None, operational=campaign.operational)


def campaign_segment_rules(session: Session, campaign: Campaign) -> Any:
    """The rules that narrow the campaign's audience: as submitted for approval, else the segment's own
    (None: no segment). Raises NotFound for a deleted segment of a campaign never submitted."""
    if campaign.segment_id is None:
        return None
    if campaign.approved_segment_rules is not None:
        return campaign.approved_segment_rules
    return get_segment(session, campaign.segment_id).rules
