"""One run's own report page: a recurring, date-rule or holiday campaign fires many times, and each
firing is a Run with its own audience, so its own recipients, sent, delivered, failed and cost.

The figures are campaigns/results/report_runs.py's, the same the campaign report's By run table, the API
(/api/v1/campaigns/<id>/runs/<run_id>/report) and `herald campaigns runs ID --run RUN` show.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from campaigns import get_campaign
from campaigns.models import MESSAGE_STATUSES
from campaigns.results.report_runs import run_report, run_reports
from web.db import get_session

bp = Blueprint("run_report", __name__)


@bp.get("/reports/campaigns/<int:campaign_id>/runs/<int:run_id>")
def show(campaign_id: int, run_id: int):
    session = get_session()
    campaign = get_campaign(session, campaign_id)
    report = run_report(session, campaign_id, run_id)
    # The runs either side, newest first as everywhere, for stepping through a recurring campaign's firings.
    ids = [run.run_id for run in run_reports(session, campaign_id)]
    at = ids.index(run_id)
    newer = ids[at - 1] if at > 0 else None
    older = ids[at + 1] if at + 1 < len(ids) else None
    counts = [(status, report.count(status)) for status in MESSAGE_STATUSES if report.count(status)]
    return render_template("reports/run.html", campaign=campaign, run=report, counts=counts, newer=newer,
                           older=older)
