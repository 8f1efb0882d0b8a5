"""The Inbox page, its keyword rules form, and the circuit breaker's banner on the dashboard and campaign page."""

from __future__ import annotations

import re

import campaigns
from audiences import create_contact, create_list
from campaigns import BreakerSettings, record_reply
from campaigns.delivery.breaker import note_answers
from campaigns.delivery.throttle import note_throttles
from channels import Refused
from channels.inbound import InboundSms


def reply(database, config, clock, number: str, body: str, sid: str) -> None:
    with database.session() as session:
        record_reply(session, InboundSms("twilio", sid, number, "+15005550006", body), config=config.replies,
                     default_region="US", now=clock.now())


def test_the_inbox_lists_replies_newest_first_with_contact_and_campaign_links(
        logged_in_client, database, config, clock):
    with database.session() as session:
        ann = create_contact(session, default_region="US", now=clock.now(), phone="+12015550101", first_name="Ann")
        ann_id = ann.id
    reply(database, config, clock, "+12015550101", "What time?", "SM1")
    clock.advance(seconds=60)
    reply(database, config, clock, "+12015550101", "退订", "SM2")
    reply(database, config, clock, "+12015550199", "hello?", "SM3")

    page = logged_in_client.get("/inbox").get_data(as_text=True)
    assert page.index("退订") < page.index("What time?")  # newest first
    assert f'href="/contacts/{ann_id}"' in page
    assert "no contact with this number" in page

    opt_outs = logged_in_client.get("/inbox?class=unsubscribe").get_data(as_text=True)
    assert "退订" in opt_outs and "What time?" not in opt_outs
    unmatched = logged_in_client.get("/inbox?unmatched=1").get_data(as_text=True)
    assert "hello?" in unmatched and "What time?" not in unmatched


def test_a_keyword_rule_is_added_switched_off_and_on_and_a_bad_one_explained(logged_in_client, database, config,
                                                                          clock):
    with database.session() as session:
        fair = create_list(session, "Spring fair")
    response = logged_in_client.post("/inbox/keywords", data={"keyword": "报名", "action": "add_to_list",
                                                               "list_id": str(fair.id), "reply_text": "已报名"})
    assert response.status_code == 303
    page = logged_in_client.get("/inbox").get_data(as_text=True)
    assert "报名" in page and "Spring fair" in page

    rule_id = int(re.search(r'/inbox/keywords/(\d+)/enabled', page).group(1))
    assert logged_in_client.post(f"/inbox/keywords/{rule_id}/enabled", data={"enabled": "0"}).status_code == 303
    with database.session() as session:
        assert "报名" not in campaigns.keyword_rules(session, config.replies)
    assert "Switch on" in logged_in_client.get("/inbox").get_data(as_text=True)
    logged_in_client.post(f"/inbox/keywords/{rule_id}/enabled", data={"enabled": "1"})
    with database.session() as session:
        assert campaigns.keyword_rules(session, config.replies)["报名"].list_id == fair.id

    refused = logged_in_client.post("/inbox/keywords", data={"keyword": "stop", "action": "tag", "tag": "x"})
    assert refused.status_code == 422
    assert "already a unsubscribe keyword set in config.toml" in refused.get_data(as_text=True)


def test_the_chinese_inbox_is_translated(logged_in_client):
    logged_in_client.post("/language", data={"locale": "zh_CN"})
    page = logged_in_client.get("/inbox", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "收件箱" in page


def test_an_open_breaker_shows_why_on_the_dashboard_and_the_campaign_page(logged_in_client, database, clock):
    with database.session() as session:
        template = campaigns.create_template(session, name="T", channel="sms", body="Hi", now=clock.now())
        campaign = campaigns.create_campaign(session, name="Gate change", channel="sms", template_id=template.id,
                                             now=clock.now())
        campaign_id = campaign.id
        refusals = [Refused(i, False, "20500", "Internal Server Error") for i in range(5)]
        note_answers(session, "sms", "twilio://AC123:****@default", refusals, now=clock.now(),
                     settings=BreakerSettings())
        session.commit()
    for url in ("/", f"/campaigns/{campaign_id}"):
        page = logged_in_client.get(url).get_data(as_text=True)
        assert "provider twilio://AC123:****@default is failing:" in page
        assert "20500: Internal Server Error" in page and "next try at" in page


def test_a_send_rate_lowered_by_a_throttling_provider_shows_on_the_dashboard_and_the_campaign_page(
        logged_in_client, database, clock):
    with database.session() as session:
        template = campaigns.create_template(session, name="T", channel="sms", body="Hi", now=clock.now())
        campaign = campaigns.create_campaign(session, name="Gate change", channel="sms", template_id=template.id,
                                             now=clock.now())
        campaign_id = campaign.id
        throttled = [Refused(1, False, "20429", "Too Many Requests", throttled=True)]
        note_throttles(session, "sms", "twilio://AC123:****@default", throttled, now=clock.now(), configured_rate=20.0,
                       rate_used=20.0)
        session.commit()
    for url in ("/", f"/campaigns/{campaign_id}"):
        page = logged_in_client.get(url).get_data(as_text=True)
        assert "provider twilio://AC123:****@default asked Herald to slow down:" in page
        assert "sending at 17 messages a second" in page and "20429: Too Many Requests" in page
