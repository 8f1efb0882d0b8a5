"""The campaign form's "When" part and the campaign page's schedule, next firings, Schedule button and runs."""

from __future__ import annotations

from datetime import UTC, datetime

from campaigns import fire_due_campaign
from campaigns.schedules import ScheduleDefaults
from tests.web.test_api import Api


def new_campaign(client, template_id: int, **fields: str):
    return client.post("/campaigns/new", data={"name": "Birthdays", "channel": "sms", "template_id": template_id,
                                               "list_id": "", "kind": "broadcast", **fields})


def test_a_birthday_rule_is_made_from_the_form_scheduled_and_shows_its_firings_and_runs(
        logged_in_client, login, api_token, app, database):
    clock = app.extensions["herald.clock"]
    clock.set(datetime(2027, 3, 1, tzinfo=UTC))
    login(logged_in_client)  # a login lasts 14 days: log in again at the test's date
    api = Api(logged_in_client, api_token("marketer"))
    template = api.post("/templates", json={"name": "T", "channel": "sms", "body": "Happy birthday!"}).json
    api.post("/contacts", json={"name": "Ann Lee", "phone": "+12015550123", "birthday": "1990-03-02"})
    form = logged_in_client.get("/campaigns/new").get_data(as_text=True)
    assert 'value="date_rule"' in form and 'name="s_time_of_day"' in form
    response = new_campaign(logged_in_client, template["id"], when="date_rule", s_date_source="birthday",
                            s_time_of_day="09:00", s_zone_mode="sender", s_time_zone="Asia/Shanghai")
    assert response.status_code == 303, response.get_data(as_text=True)[:600]
    page = response.headers["Location"]
    html = logged_in_client.get(page).get_data(as_text=True)
    assert 'id="next-firings"' in html and "2027-03-01 09:00" in html and "2027-03-10 09:00" in html
    assert 'id="arm-schedule"' in html and "Send now" not in html.split('id="schedule"')[1].split("</div>")[0]
    campaign_id = int(page.rstrip("/").rsplit("/", 1)[1])
    assert logged_in_client.post(f"/campaigns/{campaign_id}/schedule").status_code == 303
    html = logged_in_client.get(page).get_data(as_text=True)
    assert 'id="arm-schedule"' not in html and "Scheduled" in html
    with database.session() as session:
        fired = fire_due_campaign(session, campaign_id, now=datetime(2027, 3, 2, 1, tzinfo=UTC),
                                  channel_description="log://test", dry_run=True, defaults=ScheduleDefaults())
        assert fired.run is not None
    html = logged_in_client.get(page).get_data(as_text=True)
    assert 'id="runs"' in html and "date:2027-03-02" in html
    assert "Date rule" in logged_in_client.get("/campaigns").get_data(as_text=True)


def test_a_bad_schedule_is_shown_at_its_field_and_creates_nothing(logged_in_client, api_token):
    api = Api(logged_in_client, api_token("marketer"))
    template = api.post("/templates", json={"name": "T", "channel": "sms", "body": "Hi"}).json
    response = new_campaign(logged_in_client, template["id"], when="recurring", s_cron="every monday")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "needs 5" in html and 'value="every monday"' in html
    assert api.get("/campaigns").json["items"] == []


def test_a_spring_festival_greeting_is_offered_the_countrys_holidays(logged_in_client, login, api_token, app):
    app.extensions["herald.clock"].set(datetime(2027, 1, 1, tzinfo=UTC))
    login(logged_in_client)  # a login lasts 14 days: log in again at the test's date
    api = Api(logged_in_client, api_token("marketer"))
    template = api.post("/templates", json={"name": "T", "channel": "sms", "body": "新春快乐"}).json
    form = logged_in_client.get("/campaigns/new?s_country=CN").get_data(as_text=True)
    assert '<option value="Chinese New Year (Spring Festival)">' in form
    response = new_campaign(logged_in_client, template["id"], when="holiday", s_country="CN",
                            s_holiday="Chinese New Year (Spring Festival)", s_time_of_day="09:00",
                            s_zone_mode="recipient")
    assert response.status_code == 303
    html = logged_in_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2027-02-06 Sat 09:00, each recipient&#39;s time" in html
    assert "2027-02-05 19:00" in html  # fires when 6 February begins in the earliest zone (UTC+14)


def test_a_drafts_schedule_is_changed_on_its_own_page_and_can_go_back_to_send_now(logged_in_client, login,
                                                                                  api_token, app):
    app.extensions["herald.clock"].set(datetime(2027, 3, 1, tzinfo=UTC))
    login(logged_in_client)  # a login lasts 14 days: log in again at the test's date
    api = Api(logged_in_client, api_token("marketer"))
    template = api.post("/templates", json={"name": "T", "channel": "sms", "body": "Hi"}).json
    page = new_campaign(logged_in_client, template["id"]).headers["Location"]
    campaign_id = int(page.rstrip("/").rsplit("/", 1)[1])
    html = logged_in_client.get(page).get_data(as_text=True)
    assert 'id="schedule-instead"' in html
    edit = f"/campaigns/{campaign_id}/schedule/edit"
    bad = logged_in_client.post(edit, data={"when": "at", "s_send_at": "soon"})
    assert bad.status_code == 422 and "YYYY-MM-DDTHH:MM" in bad.get_data(as_text=True)
    saved = logged_in_client.post(edit, data={"when": "recurring", "s_cron": "0 10 * * 1", "s_max_runs": "4",
                                              "s_time_zone": "Asia/Shanghai"})
    assert saved.status_code == 303
    assert api.get(f"/campaigns/{campaign_id}/schedule").json["schedule"] == {
        "kind": "recurring", "cron": "0 10 * * 1", "max_runs": 4, "time_zone": "Asia/Shanghai",
        "per_recipient": False, "offset_days": 0}
    form = logged_in_client.get(edit).get_data(as_text=True)
    assert 'value="0 10 * * 1"' in form and 'value="recurring" data-when-choice checked' in form
    assert logged_in_client.post(edit, data={"when": "now"}).status_code == 303
    assert api.get(f"/campaigns/{campaign_id}").json["kind"] == "broadcast"
    assert api.get(f"/campaigns/{campaign_id}/schedule").json["schedule"] is None


def test_a_holiday_schedule_reads_in_chinese_as_a_chinese_reader_says_it(logged_in_client, login, api_token, app):
    app.extensions["herald.clock"].set(datetime(2027, 1, 1, tzinfo=UTC))
    login(logged_in_client)
    api = Api(logged_in_client, api_token("marketer"))
    template = api.post("/templates", json={"name": "T", "channel": "sms", "body": "新春快乐，回复TD退订"}).json
    campaign = api.post("/campaigns", json={"name": "春节问候", "channel": "sms", "template_id": template["id"]}).json
    saved = api.put(f"/campaigns/{campaign['id']}/schedule", json={"schedule": {
        "kind": "holiday", "country": "CN", "holiday": "春节", "time_of_day": "09:00", "time_zone": "Asia/Shanghai"}})
    assert saved.status_code == 200, saved.json
    assert saved.json["schedule"]["holiday"] == "Chinese New Year (Spring Festival)"
    logged_in_client.post("/language", data={"locale": "zh_CN", "next": "/"})
    html = logged_in_client.get(f"/campaigns/{campaign['id']}").get_data(as_text=True)
    assert "每年春节（中国日历），Asia/Shanghai 09:00。" in html
    form = logged_in_client.get("/campaigns/new?s_country=CN").get_data(as_text=True)
    assert '<option value="Chinese New Year (Spring Festival)">春节</option>' in form  # offered as it is said
