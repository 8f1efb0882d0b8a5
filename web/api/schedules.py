"""/api/v1/campaigns/<id>/schedule and /runs: when a campaign sends, its next firings, and its runs.

PUT the schedule on a draft (null: send it by hand), POST to arm it (draft -> scheduled; the
scheduler fires it from then on), GET it with the next ten firings; GET the runs with their counts.
GET /runs/<run_id>/report is one run's own report. GET /holidays lists a country's holidays for the holiday kind.
"""

from __future__ import annotations

from typing import Any

from flask import request

import campaigns
from campaigns.results.report_runs import run_report as run_report_of
from core.errors import Invalid
from web.api import api_user, bp, config, iso, json_body, now, query_int, reject_unknown, token_required
from web.db import get_session


def schedule_json(campaign: campaigns.Campaign) -> dict[str, Any]:
    session = get_session()
    stored = campaign.schedule or None
    schedule = campaigns.schedule_of(stored)
    return {
        "campaign_id": campaign.id,
        "status": campaign.status,
        "schedule": stored,
        "description": schedule.describe() if schedule else None,
        "next_firings": [iso(moment) for moment in campaigns.next_firings(session, campaign, now=now())],
    }


def parse_schedule(value: Any) -> campaigns.Schedule | None:
    """The schedule object of a request (null: none). Raises Invalid naming the field."""
    if value is None:
        return None
    defaults = campaigns.ScheduleDefaults.from_config(config())
    return campaigns.Schedule.from_dict(value, today=now().date(), defaults=defaults)


@bp.get("/campaigns/<int:campaign_id>/schedule")
@token_required("read")
def get_schedule(campaign_id: int):
    return schedule_json(campaigns.get_campaign(get_session(), campaign_id))


@bp.put("/campaigns/<int:campaign_id>/schedule")
@token_required("write")
def put_schedule(campaign_id: int):
    """Set a draft's schedule; 409 once it has left draft (its content is frozen then)."""
    data = json_body()
    reject_unknown(data, ("schedule",))
    if "schedule" not in data:
        raise Invalid('send {"schedule": {...}} (or {"schedule": null} to send it by hand)', field="schedule")
    campaign = campaigns.set_campaign_schedule(get_session(), campaign_id, parse_schedule(data["schedule"]),
                                               now=now())
    return schedule_json(campaign)


@bp.post("/campaigns/<int:campaign_id>/schedule")
@token_required("write")
def arm_schedule(campaign_id: int):
    """Arm the schedule: draft -> scheduled. 409 without a schedule, past its time, or when approval is needed."""
    kind = campaigns.get_campaign(get_session(), campaign_id).kind
    campaign = campaigns.schedule_campaign(get_session(), campaign_id, now=now(), user_id=api_user().id,
                                           approval_required=config().approval_required_for(kind))
    return schedule_json(campaign)


@bp.get("/campaigns/<int:campaign_id>/runs")
@token_required("read")
def list_runs(campaign_id: int):
    session = get_session()
    campaigns.get_campaign(session, campaign_id)
    return {"items": [run.to_dict() for run in campaigns.campaign_runs(session, campaign_id)]}


@bp.get("/campaigns/<int:campaign_id>/runs/<int:run_id>/report")
@token_required("read")
def run_report(campaign_id: int, run_id: int):
    """One firing's own report (campaigns/results/report_runs.py); 404 naming the run if the campaign has no such
    run."""
    session = get_session()
    campaigns.get_campaign(session, campaign_id)
    return run_report_of(session, campaign_id, run_id).to_dict()


@bp.get("/holidays")
@token_required("read")
def list_holidays():
    """A country's holidays (for a holiday campaign), with their date in `year` (default this year)."""
    country = (request.args.get("country") or "").strip().upper()
    if not country:
        raise Invalid("give ?country=, an ISO country code such as CN or US", field="country")
    year = query_int("year", now().year, minimum=1970, maximum=2100) or now().year
    names = campaigns.holiday_names(country, year)
    return {"country": country, "year": year,
            "items": [{"name": name, "date": iso(campaigns.holiday_date(country, name, year)
                                                 or campaigns.holiday_date(country, name, year + 1))}
                      for name in names]}
