"""Report pages: what each sent campaign reached, what failed and why, and what it cost."""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template

from campaigns import campaign_report, campaign_statuses, list_campaigns
from web.db import get_session

bp = Blueprint("reports", __name__)


@bp.get("/reports")
def index():
    db_session = get_session()
    sent = [campaign for campaign in list_campaigns(db_session) if campaign.status != "draft"]
    statuses = campaign_statuses(db_session, [campaign.id for campaign in sent])
    rows = [(campaign, statuses[campaign.id]) for campaign in sent]
    return render_template("reports/list.html", rows=rows)


@bp.get("/reports/campaigns/<int:campaign_id>")
def campaign(campaign_id: int):
    return render_template("reports/campaign.html", report=campaign_report(get_session(), campaign_id))


@bp.get("/reports/campaigns/<int:campaign_id>.json")
def campaign_json(campaign_id: int):
    """The same report as a file, for spreadsheets and scripts (the API has it too)."""
    data = campaign_report(get_session(), campaign_id).to_dict()
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}-report.json"'})
