"""/api/v1 schedules: set a draft's schedule, arm it, read its next firings and its runs; every answer
matches the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.web.test_api import Api
from tests.web.test_api_openapi import check_response


@pytest.fixture
def api(client, api_token):
    return Api(client, api_token("marketer"))


@pytest.fixture
def document(app):
    return app.test_client().get("/api/v1/openapi.json").json


def make_campaign(api) -> int:
    template = api.post("/templates", json={"name": "Birthday", "channel": "sms", "body": "Happy birthday!"}).json
    made = api.post("/campaigns", json={"name": "Birthdays", "channel": "sms", "template_id": template["id"]})
    return made.json["id"]


def test_a_draft_gets_a_schedule_is_armed_and_lists_its_next_ten_firings(api, document, app):
    clock = app.extensions["herald.clock"]
    clock.set(datetime(2027, 3, 1, tzinfo=UTC))
    campaign_id = make_campaign(api)
    path = f"/campaigns/{campaign_id}/schedule"
    response = api.put(path, json={"schedule": {"kind": "date_rule", "date_source": "birthday",
                                                "time_of_day": "09:00", "time_zone": "Asia/Shanghai"}})
    check_response(document, "/campaigns/{campaign_id}/schedule", "put", response)
    assert response.status_code == 200
    assert response.json["schedule"]["kind"] == "date_rule"
    assert len(response.json["next_firings"]) == 10  # a preview: a draft fires once it is armed
    armed = api.post(path)
    check_response(document, "/campaigns/{campaign_id}/schedule", "post", armed)
    assert armed.json["status"] == "scheduled"
    assert armed.json["next_firings"][:2] == ["2027-03-01T01:00:00+00:00", "2027-03-02T01:00:00+00:00"]
    assert len(armed.json["next_firings"]) == 10
    read = api.get(path)
    check_response(document, "/campaigns/{campaign_id}/schedule", "get", read)
    assert "birthday at 09:00 in Asia/Shanghai" in read.json["description"]
    again = api.post(path)  # 409: not a draft any more
    check_response(document, "/campaigns/{campaign_id}/schedule", "post", again)
    assert again.status_code == 409
    frozen = api.put(path, json={"schedule": None})
    assert frozen.status_code == 409


def test_a_bad_schedule_is_422_naming_the_field(api, document):
    campaign_id = make_campaign(api)
    response = api.put(f"/campaigns/{campaign_id}/schedule", json={"schedule": {"kind": "recurring",
                                                                                "cron": "0 10 * *"}})
    check_response(document, "/campaigns/{campaign_id}/schedule", "put", response)
    assert response.status_code == 422 and response.json["field"] == "cron"
    assert "needs 5" in response.json["message"]


def test_runs_are_listed_with_their_counts(api, document):
    campaign_id = make_campaign(api)
    api.post("/contacts", json={"name": "Ann Lee", "phone": "+12015550123"})
    api.post(f"/campaigns/{campaign_id}/send")
    response = api.get(f"/campaigns/{campaign_id}/runs")
    check_response(document, "/campaigns/{campaign_id}/runs", "get", response)
    [run] = response.json["items"]
    assert run["occasion_key"] == "once" and run["total"] == 1


def test_holidays_are_listed_with_their_dates(api, document):
    response = api.get("/holidays?country=CN&year=2027")
    check_response(document, "/holidays", "get", response)
    dates = {item["name"]: item["date"] for item in response.json["items"]}
    assert dates["Chinese New Year (Spring Festival)"] == "2027-02-06"
    assert api.get("/holidays?country=XX").status_code == 422


def test_the_estimate_of_a_scheduled_campaign_spans_its_recipients_local_send_times(api, app, database):
    from audiences import Contact

    app.extensions["herald.clock"].set(datetime(2027, 1, 10, tzinfo=UTC))
    with database.session() as session:
        session.add_all([Contact(phone="+8613800138001", time_zone="Asia/Shanghai", attributes={}),
                         Contact(phone="+12015550104", time_zone="America/New_York", attributes={})])
        session.commit()
    campaign_id = make_campaign(api)
    api.put(f"/campaigns/{campaign_id}/schedule", json={"schedule": {
        "kind": "at", "send_at": "2027-01-15T09:00", "per_recipient": True}})
    estimate = api.get(f"/campaigns/{campaign_id}/estimate").json
    assert estimate["first_send_at"] == "2027-01-15T01:00:00+00:00"  # 09:00 in Shanghai
    assert estimate["last_send_at"] == "2027-01-15T14:00:00+00:00"  # 09:00 in New York


def test_a_birthday_campaigns_estimate_is_its_next_occasions_on_the_page_and_in_the_api(api, app, database, document,
                                                                                       login, client):
    from datetime import date

    from audiences import Contact

    app.extensions["herald.clock"].set(datetime(2027, 3, 1, tzinfo=UTC))
    with database.session() as session:
        session.add_all([Contact(phone=f"+861380013800{n}", first_name=f"Guest{n}", birthday=date(1990, 3, 5),
                                 attributes={}) for n in range(5)]
                        + [Contact(phone="+12015550104", first_name="Later", birthday=date(1990, 9, 1),
                                   attributes={})])
        session.commit()
    campaign_id = make_campaign(api)
    api.put(f"/campaigns/{campaign_id}/schedule", json={"schedule": {
        "kind": "date_rule", "date_source": "birthday", "time_of_day": "09:00", "time_zone": "Asia/Shanghai"}})
    response = api.get(f"/campaigns/{campaign_id}/estimate")
    check_response(document, "/campaigns/{campaign_id}/estimate", "get", response)
    plan = response.json["occasions"]
    assert [(o["day"], o["recipients"]) for o in plan["occasions"]] == [("2027-03-05", 5)]
    assert plan["occasions"][0]["names"] == ["Guest0", "Guest1", "Guest2"]
    assert {m["month"]: m["recipients"] for m in plan["months"]}["2027-09"] == 1
    assert response.json["first_send_at"] == "2027-03-05T01:00:00+00:00"  # not everyone at once, now

    login(client)
    page = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'data-table="occasions"' in page and "Guest0, Guest1, Guest2 and 2 more" in page
    assert "not all at once" in page and 'data-estimate="window"' not in page
