"""A campaign's tracking and attribution settings page: code, window, click and open tracking, UTM."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

import campaigns
from campaigns.campaign_tracking import MAX_WINDOW_DAYS, CampaignTracking, set_campaign_tracking
from core.errors import Invalid
from web.db import get_session

bp = Blueprint("campaign_tracking", __name__)


def _page(campaign: campaigns.Campaign, form: CampaignTracking, errors: dict[str, str]) -> str:
    config = current_app.extensions["herald.config"]
    return render_template("campaigns/tracking.html", campaign=campaign, form=form, errors=errors,
                           tracking=config.tracking, max_window=MAX_WINDOW_DAYS, base_url=config.base_url)


@bp.get("/campaigns/<int:campaign_id>/tracking")
def edit(campaign_id: int):
    campaign = campaigns.get_campaign(get_session(), campaign_id)
    return _page(campaign, CampaignTracking.of(campaign), {})


@bp.post("/campaigns/<int:campaign_id>/tracking")
def save(campaign_id: int):
    session = get_session()
    campaign = campaigns.get_campaign(session, campaign_id)
    raw_window = request.form.get("attribution_window_days", "").strip()
    form = CampaignTracking(
        code=request.form.get("code", ""),
        attribution_window_days=int(raw_window) if raw_window.isdigit() else -1,
        track_clicks=request.form.get("track_clicks") == "1",
        track_opens=request.form.get("track_opens") == "1",
        utm_source=request.form.get("utm_source", ""),
        utm_medium=request.form.get("utm_medium", ""),
        utm_campaign=request.form.get("utm_campaign", ""),
    )
    try:
        set_campaign_tracking(session, campaign_id, form, now=current_app.extensions["herald.clock"].now())
    except Invalid as exc:
        if exc.field == "attribution_window_days" and not raw_window.isdigit():
            exc = Invalid(_("Write the window as a whole number of days, from 1 to %(max)s.", max=MAX_WINDOW_DAYS),
                          field=exc.field)
        return _page(campaign, form, {exc.field or "code": exc.message}), 422
    flash(_("Tracking and attribution settings saved."), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign_id), 303)
