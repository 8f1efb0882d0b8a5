"""The dashboard: how big the audience is, what goes out next, what was sent lately, and — until the workspace
is set up — the first steps, each linking to where it is done and ticked when it is."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from audiences import count_contacts, list_lists
from campaigns import campaign_statuses, list_campaigns, list_templates
from campaigns.runs import has_sent_campaign
from core.users import accept_dry_run
from web.db import get_session
from web.pages.context import channel_info, channel_label, config, now
from web.pages.send_calendar import upcoming_sends

bp = Blueprint("dashboard", __name__)

RECENT = 5
NEXT_SENDS = 5


@dataclass(frozen=True)
class FirstStep:
    key: str  # channel, contacts, template, sent
    label: str
    url: str
    done: bool


def first_steps(*, contacts: int, templates: int, dry_run_only: bool) -> list[FirstStep]:
    """The four things a workspace needs before its first real send, in order, each ticked when done."""
    channel_ok = not dry_run_only or current_user.dry_run_ok_at is not None
    return [
        FirstStep("channel", _("Connect an SMS or email channel that really delivers"), url_for("settings.index"),
                  channel_ok),
        FirstStep("contacts", _("Import your contacts"), url_for("imports.index"), contacts > 0),
        FirstStep("template", _("Write an SMS or email template"), url_for("templates.new", channel="sms"),
                  templates > 0),
        FirstStep("sent", _("Create a campaign and send it"), url_for("campaigns.new"),
                  has_sent_campaign(get_session())),
    ]


@bp.get("/")
def index():
    db_session = get_session()
    campaigns = list_campaigns(db_session)
    statuses = campaign_statuses(db_session, [campaign.id for campaign in campaigns[:RECENT]])
    recent = [(campaign, statuses[campaign.id]) for campaign in campaigns[:RECENT]]
    dry_run: dict[str, list[str]] = {}  # outbox -> channels writing there, so a shared folder is named once
    infos = [channel_info(name) for name in config().channels]
    for info in infos:
        if info.dry_run:
            dry_run.setdefault(info.outbox or info.description, []).append(channel_label(info.name))
    contacts, templates = count_contacts(db_session), len(list_templates(db_session))
    steps = first_steps(contacts=contacts, templates=templates,
                        dry_run_only=not any(not info.dry_run and not info.error for info in infos))
    return render_template(
        "dashboard/index.html", contacts=contacts, lists=len(list_lists(db_session)),
        templates=templates, campaigns=len(campaigns),
        running=sum(1 for c in campaigns if c.status == "running"), recent=recent, dry_run=dry_run,
        steps=steps if not all(step.done for step in steps) else [], next_sends=upcoming_sends(NEXT_SENDS),
    )


@bp.post("/first-steps/dry-run")
def dry_run_is_fine():
    """"A dry run is fine for now": the first steps stop asking for a real channel (for this user)."""
    accept_dry_run(get_session(), current_user, now=now())
    flash(_("Noted: messages keep going to files until a real channel is configured."), "success")
    return redirect(url_for("dashboard.index"), 303)
