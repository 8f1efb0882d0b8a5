"""Who a campaign is for, as one SELECT: everyone or a list, narrowed by a saved segment on the day it sends.

The segment's rules are read when the run is materialised (or estimated), not when the campaign is
created, so a campaign scheduled for next week reaches next week's members. Operational notices pass
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
    rules = get_segment(session, campaign.segment_id).rules if campaign.segment_id is not None else None
    return audience_select(campaign.list_id, campaign.channel, segment_rules=rules,
                           today=now.date() if rules is not None else None, operational=campaign.operational)
