"""/api/v1/campaigns: create, send now (202, then 409), status and report."""

from __future__ import annotations

import io

import pytest

from tests.web.test_api import Api


@pytest.fixture
def api(client, api_token):
    return Api(client, api_token("marketer"))


@pytest.fixture
def campaign(api) -> dict:
    """A draft SMS campaign to a list of three contacts, one of them without a phone."""
    list_id = api.post("/lists", json={"name": "Members"}).json["id"]
    csv = b"phone,email,name\n+12015550101,,Ann\n+12015550102,,Bob\n,cy@example.com,Cy\n"
    report = api.post("/contacts/import", data={"file": (io.BytesIO(csv), "m.csv"),
                                                "list_name": "Members"}, content_type="multipart/form-data").json
    assert report["imported"] == 3 and report["list_id"] == list_id
    template = api.post("/templates", json={"name": "Hi", "channel": "sms", "body": "Hi {{ contact.first_name }}"})
    created = api.post("/campaigns", json={"name": "Member day", "channel": "sms", "template_id": template.json["id"],
                                           "list_id": list_id})
    assert created.status_code == 201, created.json
    return created.json


def test_a_campaign_is_created_as_a_draft_by_the_tokens_user(api, campaign):
    assert campaign["status"] == "draft"
    assert campaign["created_by"] is not None
    assert api.get(f"/campaigns/{campaign['id']}").json == campaign
    assert api.get("/campaigns").json["items"] == [campaign]


def test_a_campaign_without_a_template_is_422_naming_template_id(api):
    response = api.post("/campaigns", json={"name": "x", "channel": "sms"})
    assert response.status_code == 422
    assert response.json["field"] == "template_id"


def test_a_campaign_that_does_not_exist_is_404_on_every_endpoint(api):
    for path in ("/campaigns/77", "/campaigns/77/status", "/campaigns/77/report"):
        assert api.get(path).status_code == 404, path
    assert api.post("/campaigns/77/send").status_code == 404


def test_sending_answers_202_with_a_dry_run_on_the_log_channel_and_wakes_the_sender(app, api, campaign):
    woken = []
    app.extensions["herald.wake"] = lambda: woken.append(True)
    response = api.post(f"/campaigns/{campaign['id']}/send")
    assert response.status_code == 202, response.json
    run = response.json
    assert run["campaign_id"] == campaign["id"]
    assert run["dry_run"] is True
    assert run["channel_url"].startswith("log://")
    assert woken == [True]
    status = api.get(f"/campaigns/{campaign['id']}/status").json
    assert status["total"] == 3
    assert status["dry_run"] is True
    assert status["counts"]["pending"] == 2  # Cy has no phone: a row, but suppressed
    assert api.get(f"/campaigns/{campaign['id']}").json["status"] == "running"


def test_sending_twice_is_409_and_starts_no_second_run(api, campaign):
    assert api.post(f"/campaigns/{campaign['id']}/send").status_code == 202
    again = api.post(f"/campaigns/{campaign['id']}/send")
    assert again.status_code == 409
    assert str(campaign["id"]) in again.json["message"]
    assert api.get(f"/campaigns/{campaign['id']}/status").json["total"] == 3


def test_the_report_counts_the_recipients(api, campaign):
    api.post(f"/campaigns/{campaign['id']}/send")
    report = api.get(f"/campaigns/{campaign['id']}/report")
    assert report.status_code == 200
    assert report.json["recipients"] == 3
    assert report.json["dry_run"] is True
