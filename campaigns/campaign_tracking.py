"""A campaign's tracking and attribution settings: its code, attribution window, click/open tracking and UTM.

They may change at any status: they affect messages rendered and conversions recorded from then on,
never what was already sent or attributed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaigns.models import Campaign
from core.errors import Invalid, NotFound

CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
MAX_WINDOW_DAYS = 90
UTM_LIMIT = 100


@dataclass(frozen=True)
class CampaignTracking:
    code: str | None = None
    attribution_window_days: int = 7
    track_clicks: bool = True
    track_opens: bool = False
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignTracking:
        return cls(campaign.code, campaign.attribution_window_days, campaign.track_clicks, campaign.track_opens,
                   campaign.utm_source, campaign.utm_medium, campaign.utm_campaign)


def set_campaign_tracking(session: Session, campaign_id: int, settings: CampaignTracking, *,
                          now: datetime) -> Campaign:
    """Save a campaign's tracking settings; commits. Raises NotFound, or Invalid naming the field and the fix."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    code = (settings.code or "").strip() or None
    if code is not None:
        if not CODE.fullmatch(code):
            raise Invalid(f'campaign code "{code}" may hold letters, digits, "-" and "_" only (up to 100), e.g. '
                          "SPRING26", field="code")
        taken = session.execute(select(Campaign.id, Campaign.name).where(
            func.upper(Campaign.code) == code.upper(), Campaign.id != campaign_id)).first()
        if taken:
            raise Invalid(f'campaign code "{code}" is already used by campaign {taken.id} "{taken.name}"; a code must '
                          "name one campaign — pick another", field="code")
    window = settings.attribution_window_days
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= MAX_WINDOW_DAYS:
        raise Invalid(f"the attribution window is {window!r} days; use a whole number from 1 to {MAX_WINDOW_DAYS}",
                      field="attribution_window_days")
    utm = {}
    for name in ("utm_source", "utm_medium", "utm_campaign"):
        value = (getattr(settings, name) or "").strip()
        if len(value) > UTM_LIMIT:
            raise Invalid(f"{name} is {len(value)} characters long; the limit is {UTM_LIMIT}", field=name)
        utm[name] = value
    campaign.code = code
    campaign.attribution_window_days = window
    campaign.track_clicks = bool(settings.track_clicks)
    campaign.track_opens = bool(settings.track_opens)
    for name, value in utm.items():
        setattr(campaign, name, value)
    campaign.updated_at = now
    try:
        session.commit()
    except IntegrityError:  # the same code saved on another campaign at the same moment
        session.rollback()
        raise Invalid(f'campaign code "{code}" was just taken by another campaign; pick another',
                      field="code") from None
    return campaign
