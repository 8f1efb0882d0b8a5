"""Campaigns from the pages: create, Send now, live counts moved by a real dispatcher, the report."""

from __future__ import annotations

import json
import re

import pytest

import campaigns
from audiences import add_to_list, create_contact, create_list
from campaigns import Dispatcher
from channels import RateLimiter, open_channel


@pytest.fixture
def audience(database, clock):
    """Three contacts on a list: two with a phone, one with only an email (suppressed for SMS)."""
    now = clock.now()
    with database.session() as session:
        ids = [
            create_contact(session, default_region="US", now=now, phone="+12015550101", first_name="Ann").id,
            create_contact(session, default_region="US", now=now, phone="+12015550102", first_name="Bob").id,
            create_contact(session, default_region="US", now=now, email="cy@example.com", first_name="Cy").id,
        ]
        fair = create_list(session, "Fair")
        add_to_list(session, fair.id, ids)
        template = campaigns.create_template(session, name="Gate change", channel="sms",
                                             body="Hi {{ contact.first_name }}, gate B", now=now)
        return {"list": fair.id, "template": template.id}


@pytest.fixture
def dispatcher(config, database, clock):
    channels = {name: open_channel(str(c.url), from_address=c.from_address) for name, c in config.channels.items()}
    yield Dispatcher(database, channels, RateLimiter("memory://"), clock, base_url=config.base_url,
                     secret_key=str(config.secret_key), price={"sms": config.channels["sms"].price},
                     currency=config.currency)
    for channel in channels.values():
        channel.close()


def create_campaign_through_the_form(client, audience) -> str:
    response = client.post("/campaigns/new", data={"name": "Gate notice", "channel": "sms",
                                                   "template_id": audience["template"],
                                                   "list_id": audience["list"]})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"]


def test_a_campaign_is_created_then_sent_and_the_counts_move_as_the_dispatcher_sends(backend, logged_in_client,
                                                                                     audience, dispatcher, app):
    woken = []
    app.extensions["herald.wake"] = lambda: woken.append(True)
    campaign_url = create_campaign_through_the_form(logged_in_client, audience)
    page = logged_in_client.get(campaign_url).get_data(as_text=True)
    assert "Send now" in page
    # The confirmation names who will get it, as the estimate counts them: the contact without a phone is not.
    assert "to 2 contacts now?" in page

    response = logged_in_client.post(campaign_url + "/send")
    assert response.status_code == 303
    assert woken == [True]
    status = logged_in_client.get(campaign_url + "/status").get_json()
    assert status["status"] == "running"
    assert status["counts"]["pending"] == 2 and status["counts"]["suppressed"] == 1
    assert status["dry_run"] is True

    while dispatcher.dispatch_due():
        pass
    status = logged_in_client.get(campaign_url + "/status").get_json()
    assert status["counts"]["sent"] == 2 and status["counts"]["pending"] == 0
    page = logged_in_client.get(campaign_url).get_data(as_text=True)
    assert re.search(r'data-count="sent">2<', page)
    assert 'id="campaign-progress"' in page and "Send now" not in page


def test_sending_twice_is_refused_with_the_reason(logged_in_client, audience):
    campaign_url = create_campaign_through_the_form(logged_in_client, audience)
    logged_in_client.post(campaign_url + "/send")
    response = logged_in_client.post(campaign_url + "/send", headers={"Referer": campaign_url})
    assert response.status_code == 303
    assert "only a draft can be sent" in logged_in_client.get(campaign_url).get_data(as_text=True)


def test_a_log_channel_shows_the_dry_run_banner_with_the_outbox(logged_in_client, audience, config):
    campaign_url = create_campaign_through_the_form(logged_in_client, audience)
    page = logged_in_client.get(campaign_url).get_data(as_text=True)
    outbox = str(config.channels["sms"].url).removeprefix("log://")
    assert "Dry run:" in page and f"messages are written to files under {outbox}, nothing is delivered" in page
    assert "Dry run:" in logged_in_client.get("/settings").get_data(as_text=True)


def test_the_create_form_shows_errors_next_to_the_field(logged_in_client, audience, database, clock):
    with database.session() as session:
        email = campaigns.create_template(session, name="Mail", channel="email", subject="s", html="<p>h</p>",
                                          now=clock.now())
    response = logged_in_client.post("/campaigns/new", data={"name": "Wrong", "channel": "sms",
                                                             "template_id": email.id})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "is an email template" in page and 'value="Wrong"' in page
    response = logged_in_client.post("/campaigns/new", data={"name": "No template", "channel": "sms"})
    assert response.status_code == 422 and "Pick a template" in response.get_data(as_text=True)


def test_the_report_shows_what_happened_and_downloads_as_json(logged_in_client, audience, dispatcher):
    campaign_url = create_campaign_through_the_form(logged_in_client, audience)
    campaign_id = int(campaign_url.rsplit("/", 1)[1])
    logged_in_client.post(campaign_url + "/send")
    while dispatcher.dispatch_due():
        pass
    page = logged_in_client.get(f"/reports/campaigns/{campaign_id}").get_data(as_text=True)
    assert re.search(r'data-report="recipients">3<', page)
    assert re.search(r'data-report="sent">2<', page)
    assert re.search(r'data-report="suppressed">1<', page)
    assert "Dry run:" in page
    assert "$0.0158" in page  # 2 segments at the configured 0.0079 USD each, not rounded away
    assert "Gate notice" in logged_in_client.get("/reports").get_data(as_text=True)

    download = logged_in_client.get(f"/reports/campaigns/{campaign_id}.json")
    assert "attachment" in download.headers["Content-Disposition"]
    report = json.loads(download.get_data())
    assert report["recipients"] == 3 and report["sent"] == 2 and report["suppressed"] == 1


def test_failures_are_listed_by_reason(logged_in_client, audience, dispatcher, config, tmp_path):
    campaign_url = create_campaign_through_the_form(logged_in_client, audience)
    campaign_id = int(campaign_url.rsplit("/", 1)[1])
    logged_in_client.post(campaign_url + "/send")
    outbox = open_channel(str(config.channels["sms"].url)).directory
    outbox.parent.mkdir(parents=True, exist_ok=True)
    outbox.write_text("a file where the outbox folder should be")  # every write fails: ENOTDIR / EEXIST
    dispatcher.max_attempts = 1
    while dispatcher.dispatch_due():
        pass
    page = logged_in_client.get(f"/reports/campaigns/{campaign_id}").get_data(as_text=True)
    assert re.search(r'data-report="failed">2<', page)
    assert "cannot write" in page
