"""Each firing's own report on the web: the campaign report's By run table (linked to each run), the run's
page, its CSV, and /api/v1/campaigns/<id>/runs/<run_id>/report checked against the OpenAPI document."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select, update

from campaigns.models import Message
from tests.campaigns.factories import make_contact
from tests.campaigns.test_firing import fire, scheduled, utc
from tests.web.test_api import Api
from tests.web.test_api_openapi import check_response


def _two_runs(database) -> tuple[int, int, int]:
    """A daily campaign fired twice: run 1 has 3 recipients (2 delivered, 1 failed), run 2 has 4 pending."""
    now = utc(2027, 3, 1, 9)
    with database.session() as session:
        for _ in range(3):
            make_contact(session, now=now)
        campaign = scheduled(session, now, {"kind": "recurring", "cron": "0 10 * * *", "max_runs": 30})
        first = fire(session, campaign, utc(2027, 3, 1, 10)).run
        ids = list(session.scalars(select(Message.id).where(Message.run_id == first.id).order_by(Message.id)))
        session.execute(update(Message).where(Message.id.in_(ids[:2])).values(status="delivered", sent_at=now))
        session.execute(update(Message).where(Message.id == ids[2]).values(
            status="failed", sent_at=now, error_code="30003", error_reason="Unreachable destination handset"))
        session.commit()
        make_contact(session, now=now)
        second = fire(session, campaign, utc(2027, 3, 2, 10)).run
        return campaign.id, first.id, second.id


def test_the_report_lists_each_run_and_each_run_has_its_page(logged_in_client, database):
    campaign_id, first, second = _two_runs(database)
    page = logged_in_client.get(f"/reports/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'id="table-runs"' in page
    assert f'href="/reports/campaigns/{campaign_id}/runs/{first}"' in page

    rows = list(csv.reader(io.StringIO(logged_in_client.get(f"/reports/campaigns/{campaign_id}/runs.csv")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:8] == ["Run", "Occasion", "Fired at", "Status", "Recipients", "Sent", "Delivered", "Failed"]
    assert [row[0] for row in rows[1:]] == [str(second), str(first)]
    assert rows[2][4:8] == ["3", "3", "2", "1"] and rows[1][4:8] == ["4", "0", "0", "0"]

    response = logged_in_client.get(f"/reports/campaigns/{campaign_id}/runs/{first}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for key, value in {"recipients": 3, "sent": 3, "delivered": 2, "failed": 1, "not_sent": 0}.items():
        assert f'data-run="{key}">{value}<' in html, key
    assert "Unreachable destination handset" in html and "30003" in html
    assert f'href="/reports/campaigns/{campaign_id}/runs/{second}" id="newer-run"' in html
    assert 'id="older-run"' not in html

    newest = logged_in_client.get(f"/reports/campaigns/{campaign_id}/runs/{second}").get_data(as_text=True)
    assert 'data-run="waiting">4<' in newest and "No message of this run failed." in newest

    missing = logged_in_client.get(f"/reports/campaigns/{campaign_id}/runs/{second + 7}", follow_redirects=True)
    assert f"campaign {campaign_id} has no run {second + 7}" in missing.get_data(as_text=True)

    campaign_page = logged_in_client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert f'href="/reports/campaigns/{campaign_id}/runs/{second}"' in campaign_page


def test_the_run_page_speaks_chinese(logged_in_client, database):
    campaign_id, first, _ = _two_runs(database)
    logged_in_client.post("/language", data={"locale": "zh_CN"})
    html = logged_in_client.get(f"/reports/campaigns/{campaign_id}/runs/{first}").get_data(as_text=True)
    assert f"第 {first} 次运行" in html and "整个活动的报告" in html


def test_a_runs_report_from_the_api_matches_the_document(app, client, api_token, database):
    campaign_id, first, second = _two_runs(database)
    api = Api(client, api_token("analyst"))
    document = app.test_client().get("/api/v1/openapi.json").json
    path = "/campaigns/{campaign_id}/runs/{run_id}/report"

    response = api.get(f"/campaigns/{campaign_id}/runs/{first}/report")
    check_response(document, path, "get", response)
    got = response.json
    assert (got["run_id"], got["recipients"], got["sent"], got["delivered"], got["failed"]) == (first, 3, 3, 2, 1)
    assert got["failures"] == [{"code": "30003", "reason": "Unreachable destination handset", "count": 1}]

    missing = api.get(f"/campaigns/{campaign_id}/runs/{second + 7}/report")
    check_response(document, path, "get", missing)
    assert missing.status_code == 404 and f"has no run {second + 7}" in missing.json["message"]

    report = api.get(f"/campaigns/{campaign_id}/report")
    check_response(document, "/campaigns/{campaign_id}/report", "get", report)
    assert [run["run_id"] for run in report.json["runs"]] == [second, first]
    assert sum(run["recipients"] for run in report.json["runs"]) == report.json["recipients"] == 7
