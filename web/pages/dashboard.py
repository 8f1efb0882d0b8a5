"""The dashboard: how big the audience is, what was sent lately, and what to do next."""

from __future__ import annotations

from flask import Blueprint, render_template

from audiences import count_contacts, list_lists
from campaigns import campaign_statuses, list_campaigns, list_templates
from web.db import get_session
from web.pages.context import channel_info, channel_label, config

bp = Blueprint("dashboard", __name__)

RECENT = 5


@bp.get("/")
def index():
    db_session = get_session()
    campaigns = list_campaigns(db_session)
    statuses = campaign_statuses(db_session, [campaign.id for campaign in campaigns[:RECENT]])
    recent = [(campaign, statuses[campaign.id]) for campaign in campaigns[:RECENT]]
    dry_run: dict[str, list[str]] = {}  # outbox -> channels writing there, so a shared folder is named once
    for info in (channel_info(name) for name in config().channels):
        if info.dry_run:
            dry_run.setdefault(info.outbox or info.description, []).append(channel_label(info.name))
    return render_template(
        "dashboard/index.html", contacts=count_contacts(db_session), lists=len(list_lists(db_session)),
        templates=len(list_templates(db_session)), campaigns=len(campaigns),
        running=sum(1 for c in campaigns if c.status == "running"), recent=recent, dry_run=dry_run,
    )
