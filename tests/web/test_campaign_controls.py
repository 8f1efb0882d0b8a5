"""Campaign controls over the API and on the campaign page: approval by role, pause/resume/cancel, frozen
content, the estimate, the history, an event notice's fallback."""

from __future__ import annotations

import io

import pytest

from tests.conftest import make_config
from tests.web.test_api import Api
from web.app import create_app


@pytest.fixture
def approval_app(tmp_path, db_url, database, clock):
    config = make_config(tmp_path, db_url, HERALD_APPROVAL_REQUIRED="true")
    app = create_app(config, database=database, clock=clock)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def _draft(api, *, channel="sms", kind="broadcast") -> dict:
    csv = b"phone,email,name\n+12015550101,ann@example.com,Ann\n+12015550102,,Bob\n,cy@example.com,Cy\n"
    api.post("/contacts/import", data={"file": (io.BytesIO(csv), "m.csv")}, content_type="multipart/form-data")
    body = {"sms": {"body": "Gate B7 {{ contact.first_name }}"},
            "email": {"subject": "Gate", "html": "<p>Gate B7</p>"}}[channel]
    template = api.post("/templates", json={"name": f"T {channel}", "channel": channel, **body}).json
    created = api.post("/campaigns", json={"name": "Member day", "channel": channel, "template_id": template["id"],
                                           "kind": kind})
    assert created.status_code == 201, created.json
    return created.json


def test_approval_by_role_over_the_api(approval_app, api_token):
    client = approval_app.test_client()
    marketer = Api(client, api_token("marketer"))
    approver = Api(client, api_token("approver"))
    campaign = _draft(marketer)
    path = f"/campaigns/{campaign['id']}"
    refused = marketer.post(path + "/send")
    assert refused.status_code == 409 and "needs approval" in refused.json["message"]
    assert marketer.post(path + "/submit", json={"comment": "for Friday"}).json["status"] == "pending_approval"
    assert marketer.post(path + "/approve").status_code == 403  # a marketer's token may not approve
    assert approver.post(path + "/reject", json={}).status_code == 422  # a rejection must say why
    approved = approver.post(path + "/approve", json={"comment": "ok"})
    assert approved.status_code == 200 and approved.json["status"] == "scheduled"
    assert approved.json["approved_at"] is not None
    assert approver.post(path + "/send").status_code == 403  # approving is not sending
    assert marketer.post(path + "/send").status_code == 202
    history = marketer.get(path + "/transitions").json["items"]
    assert [(t["from"], t["to"], t["user"]) for t in history] == [
        (None, "draft", "marketer@example.com"), ("draft", "pending_approval", "marketer@example.com"),
        ("pending_approval", "scheduled", "approver@example.com"), ("scheduled", "running", "marketer@example.com")]


def test_pause_resume_cancel_and_frozen_content_over_the_api(client, api_token):
    api = Api(client, api_token("marketer"))
    campaign = _draft(api)
    path = f"/campaigns/{campaign['id']}"
    assert api.patch(path, json={"name": "Member day (v2)", "cap_messages": 1}).json["cap_messages"] == 1
    estimate = api.get(path + "/estimate").json
    assert (estimate["audience"], estimate["sendable"], estimate["excluded"]) == (3, 2, {"no_address": 1})
    assert estimate["segments"] == 2 and estimate["cost"] == "0.0158"
    assert api.post(path + "/pause").status_code == 409
    api.post(path + "/send")
    frozen = api.patch(path, json={"name": "changed"})
    assert frozen.status_code == 409
    assert "is running; its content can only change while it is a draft" in frozen.json["message"]
    template_change = api.put(f"/templates/{campaign['template_id']}", json={"body": "new"})
    assert template_change.status_code == 409, template_change.json
    assert api.post(path + "/pause", json={"comment": "typo?"}).json["status"] == "paused"
    assert api.post(path + "/resume").json["status"] == "running"
    cancelled = api.post(path + "/cancel")
    assert cancelled.json["campaign"]["status"] == "cancelled"
    assert cancelled.json["cancelled_messages"] == 2
    assert api.post(path + "/cancel").status_code == 409


def test_an_event_notice_is_re_sent_by_email_over_the_api(client, api_token):
    api = Api(client, api_token("marketer"))
    notice = _draft(api, kind="event_notice")
    assert (notice["kind"], notice["guarantee"], notice["ignore_caps"]) == ("event_notice", "at_least_once", True)
    email = api.post("/templates", json={"name": "Mail", "channel": "email", "subject": "Gate",
                                         "html": "<p>Gate B7</p>"}).json
    api.post(f"/campaigns/{notice['id']}/send")
    made = api.post(f"/campaigns/{notice['id']}/fallback", json={"template_id": email["id"], "after_minutes": 0})
    assert made.status_code == 202, made.json
    # Bob has no email; Cy had no phone and gets the email; Ann's SMS went nowhere yet (pending) and waits.
    assert made.json["campaign"]["fallback_of_id"] == notice["id"]
    assert made.json["campaign"]["channel"] == "email"
    again = api.post(f"/campaigns/{notice['id']}/fallback", json={"template_id": email["id"]})
    assert again.status_code == 409 and "already re-sent" in again.json["message"]


def test_the_campaign_page_shows_approval_to_approvers_only(approval_app, api_token, login):
    client = approval_app.test_client()
    marketer = Api(client, api_token("marketer"))
    campaign = _draft(marketer)
    page = f"/campaigns/{campaign['id']}"
    login(client, "marketer")
    html = client.get(page).get_data(as_text=True)
    assert 'id="submit-for-approval"' in html and 'id="send-now"' not in html
    assert 'id="estimate"' in html and 'id="history"' in html
    assert client.post(page + "/submit", data={"comment": "please"}).status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert 'id="approve"' not in html and "An approver has to approve" in html
    client.get("/logout")
    login(client, "approver")
    html = client.get(page).get_data(as_text=True)
    assert 'id="approve"' in html and 'id="reject"' in html
    assert client.post(page + "/approve", data={"comment": "go"}).status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert 'id="approved-note"' in html and "go" in html


def test_an_analyst_cannot_approve_through_the_page(approval_app, api_token, login):
    client = approval_app.test_client()
    marketer = Api(client, api_token("marketer"))
    campaign = _draft(marketer)
    marketer.post(f"/campaigns/{campaign['id']}/submit")
    login(client, "analyst")
    assert client.post(f"/campaigns/{campaign['id']}/approve").status_code == 403
    assert marketer.get(f"/campaigns/{campaign['id']}").json["status"] == "pending_approval"


def test_the_running_page_has_pause_and_a_paused_one_resume(logged_in_client, api_token):
    api = Api(logged_in_client, api_token("marketer"))
    campaign = _draft(api)
    page = f"/campaigns/{campaign['id']}"
    api.post(page + "/send")
    html = logged_in_client.get(page).get_data(as_text=True)
    assert 'id="pause"' in html and 'id="campaign-progress"' in html
    assert logged_in_client.post(page + "/pause").status_code == 303
    html = logged_in_client.get(page).get_data(as_text=True)
    assert 'id="resume"' in html and 'id="pause"' not in html
    assert logged_in_client.post(page + "/resume").status_code == 303
    assert logged_in_client.post(page + "/cancel").status_code == 303
    assert api.get(page).json["status"] == "cancelled"


def test_the_new_campaign_form_makes_an_event_notice_on_a_segment(logged_in_client, api_token):
    api = Api(logged_in_client, api_token("marketer"))
    template = api.post("/templates", json={"name": "T", "channel": "sms", "body": "Gate B7"}).json
    segment = api.post("/segments", json={"name": "US", "rules": {"all": [
        {"field": "country", "op": "eq", "value": "US"}]}}).json
    form = logged_in_client.get("/campaigns/new").get_data(as_text=True)
    assert 'name="segment_id"' in form and 'value="event_notice"' in form
    response = logged_in_client.post("/campaigns/new", data={
        "name": "Gate change", "channel": "sms", "template_id": template["id"], "list_id": "",
        "segment_id": segment["id"], "kind": "event_notice", "operational": "1"})
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    made = api.get("/campaigns").json["items"][0]
    assert (made["kind"], made["segment_id"], made["operational"], made["guarantee"]) == (
        "event_notice", segment["id"], True, "at_least_once")
    bad = logged_in_client.post("/campaigns/new", data={"name": "x", "channel": "sms", "template_id": template["id"],
                                                        "cap_messages": "many"})
    assert bad.status_code == 422


def test_an_event_notice_page_shows_live_progress_and_the_fallback(logged_in_client, api_token):
    api = Api(logged_in_client, api_token("marketer"))
    notice = _draft(api, kind="event_notice")
    page = f"/campaigns/{notice['id']}"
    html = logged_in_client.get(page).get_data(as_text=True)
    assert "Goes ahead of marketing messages" in html
    api.post(page + "/send")
    html = logged_in_client.get(page).get_data(as_text=True)
    assert 'id="campaign-progress"' in html
    for count in ("delivered", "failed", "pending"):
        assert f'data-count="{count}"' in html
    assert 'id="fallback"' in html and "write a" in html.lower()  # no email template yet: it says what to do
    api.post("/templates", json={"name": "Mail", "channel": "email", "subject": "Gate", "html": "<p>B7</p>"})
    html = logged_in_client.get(page).get_data(as_text=True)
    assert 'id="resend-fallback"' in html
    status = logged_in_client.get(page + "/status", headers={"Accept": "application/json"}).json
    assert status["counts"]["pending"] == 2 and status["counts"]["suppressed"] == 1


def test_the_send_button_and_its_confirmation_count_the_segment_as_the_sender_will(
        backend, logged_in_client, api_token, database, clock):
    import re

    from sqlalchemy import func, select

    from campaigns import Message
    from tests.campaigns.factories import make_contact

    with database.session() as session:
        for n in range(7):
            make_contact(session, now=clock.now(), tier="gold" if n < 2 else "basic")
    api = Api(logged_in_client, api_token("marketer"))
    template = api.post("/templates", json={"name": "T", "channel": "sms", "body": "Gold day"}).json
    segment = api.post("/segments", json={"name": "Gold", "rules": {"all": [
        {"field": "attributes.tier", "op": "eq", "value": "gold"}]}}).json
    campaign = api.post("/campaigns", json={"name": "Gold day", "channel": "sms", "template_id": template["id"],
                                            "segment_id": segment["id"]}).json
    page = logged_in_client.get(f"/campaigns/{campaign['id']}").get_data(as_text=True)
    ready = re.search(r'Ready to send to <strong[^>]*>([^<]*)<', page).group(1)
    confirm = re.search(r'data-confirm="Send “Gold day” to ([^ ]*) contacts now', page).group(1)
    sendable = re.search(r'data-estimate="sendable">([^<]*)<', page).group(1)
    assert (ready, confirm, sendable) == ("2", "2", "2")
    assert ">7<" not in page  # the whole audience's size is not shown as who it goes to

    assert api.post(f"/campaigns/{campaign['id']}/send").status_code == 202
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Message)
                              .where(Message.campaign_id == campaign["id"])) == 2
