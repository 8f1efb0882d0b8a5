"""An event notice's fallback chosen before sending, on the notice form and over the API, and shown on its page:
planned, then when it goes, then the re-send it made."""

from __future__ import annotations

import io
import re

from tests.web.test_api import Api


def _templates(api) -> tuple[dict, dict]:
    csv = b"phone,email,name\n+12015550101,ann@example.com,Ann\n+12015550102,bob@example.com,Bob\n"
    api.post("/contacts/import", data={"file": (io.BytesIO(csv), "m.csv")}, content_type="multipart/form-data")
    sms = api.post("/templates", json={"name": "Gate SMS", "channel": "sms", "body": "Gate B7"}).json
    mail = api.post("/templates", json={"name": "Gate mail", "channel": "email", "subject": "Gate",
                                        "html": "<p>Gate B7</p>"}).json
    return sms, mail


def test_the_notice_form_plans_the_fallback_and_the_page_says_when_it_goes(logged_in_client, api_token, clock):
    api = Api(logged_in_client, api_token("marketer"))
    sms, mail = _templates(api)
    form = logged_in_client.get("/campaigns/new").get_data(as_text=True)
    assert 'name="fallback_template_id"' in form and 'data-only-kind="event_notice"' in form
    wrong = logged_in_client.post("/campaigns/new", data={
        "name": "Gate", "channel": "sms", "template_id": sms["id"], "kind": "event_notice",
        "fallback_template_id": sms["id"], "fallback_after_minutes": "15"})
    assert wrong.status_code == 422 and "pick an email template" in wrong.get_data(as_text=True)
    made = logged_in_client.post("/campaigns/new", data={
        "name": "Gate", "channel": "sms", "template_id": sms["id"], "kind": "event_notice",
        "fallback_template_id": mail["id"], "fallback_after_minutes": "15"})
    assert made.status_code == 303
    page = made.headers["Location"]
    campaign_id = int(re.search(r"/campaigns/(\d+)", page)[1])
    stored = api.get(f"/campaigns/{campaign_id}").json
    assert (stored["fallback_template_id"], stored["fallback_after_minutes"]) == (mail["id"], 15)
    html = logged_in_client.get(page).get_data(as_text=True)
    assert 'id="planned-fallback"' in html and "15 minutes after the notice starts sending" in html
    assert "The clock starts when the notice is sent." in html
    api.post(f"/campaigns/{campaign_id}/send")
    html = logged_in_client.get(page).get_data(as_text=True)
    assert "Goes at" in html and "in 15 min" in html
    assert 'id="resend-fallback"' in html and "Re-send now" in html  # sooner, by hand, still possible
    clock.advance(minutes=16)
    html = logged_in_client.get(page).get_data(as_text=True)
    assert "Due now: the scheduler sends it within a minute." in html


def test_the_api_plans_a_notices_fallback_and_refuses_one_on_a_broadcast(client, api_token):
    api = Api(client, api_token("marketer"))
    sms, mail = _templates(api)
    broadcast = api.post("/campaigns", json={"name": "Sale", "channel": "sms", "template_id": sms["id"],
                                             "fallback_template_id": mail["id"]})
    assert broadcast.status_code == 422 and broadcast.json["field"] == "fallback_template_id"
    notice = api.post("/campaigns", json={"name": "Gate", "channel": "sms", "template_id": sms["id"],
                                          "kind": "event_notice", "fallback_template_id": mail["id"]})
    assert notice.status_code == 201, notice.json
    assert (notice.json["fallback_template_id"], notice.json["fallback_after_minutes"]) == (mail["id"], 10)
    late = api.post("/campaigns", json={"name": "Gate", "channel": "sms", "template_id": sms["id"],
                                        "kind": "event_notice", "fallback_template_id": mail["id"],
                                        "fallback_after_minutes": 99_999})
    assert late.status_code == 422 and late.json["field"] == "fallback_after_minutes"


def test_the_page_links_the_re_send_the_scheduler_made(app, logged_in_client, api_token, database, clock):
    from campaigns import send_planned_fallback

    api = Api(logged_in_client, api_token("marketer"))
    sms, mail = _templates(api)
    notice = api.post("/campaigns", json={"name": "Gate", "channel": "sms", "template_id": sms["id"],
                                          "kind": "event_notice", "fallback_template_id": mail["id"],
                                          "fallback_after_minutes": 5}).json
    api.post(f"/campaigns/{notice['id']}/send")
    clock.advance(minutes=5)
    with database.session() as session:
        made = send_planned_fallback(session, notice["id"], now=clock.now(), channel_description="log://x",
                                     dry_run=True)
        assert made is not None
        fallback_id = made.campaign.id
    html = logged_in_client.get(f"/campaigns/{notice['id']}").get_data(as_text=True)
    assert f'href="/campaigns/{fallback_id}"' in html and 'id="planned-fallback"' not in html
