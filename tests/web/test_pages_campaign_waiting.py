"""A campaign that waits says why and until when (issue 15, "Make waiting and sending legible"): Send now at
22:16 in Shanghai with quiet hours 21:00-08:00 reads "Held by quiet hours: sending starts at 08:00 recipients'
time, in 9 h 44 min", not "Sending … 0/2"; an approved campaign sent by hand never shows as Scheduled."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest

import campaigns
from audiences import add_to_list, create_contact, create_list
from core.clock import FrozenClock
from tests.conftest import make_config

# 22:16 in Shanghai (UTC+8).
EVENING = datetime(2026, 1, 5, 14, 16, tzinfo=UTC)


@pytest.fixture
def config(tmp_path, db_url):
    return make_config(tmp_path, db_url, HERALD_CAMPAIGNS_QUIET_HOURS="21:00-08:00",
                       HERALD_DEFAULT_TIMEZONE="Asia/Shanghai", HERALD_DEFAULT_REGION="CN")


@pytest.fixture
def clock():
    return FrozenClock(EVENING)


@pytest.fixture
def campaign_url(database, clock, logged_in_client):
    now = clock.now()
    with database.session() as session:
        ids = [create_contact(session, default_region="CN", now=now, phone=phone, first_name=name).id
               for phone, name in (("13812345601", "王芳"), ("13812345602", "李雷"))]
        members = create_list(session, "会员")
        add_to_list(session, members.id, ids)
        template = campaigns.create_template(session, name="会员日", channel="sms",
                                             body="{{ contact.first_name }}，会员日快乐", now=now)
    response = logged_in_client.post("/campaigns/new", data={"name": "会员日短信", "channel": "sms",
                                                             "template_id": template.id, "list_id": members.id})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"]


def test_a_campaign_held_by_quiet_hours_says_when_it_starts(backend, logged_in_client, campaign_url, clock):
    assert logged_in_client.post(campaign_url + "/send").status_code == 303

    said = "Held by quiet hours: sending starts at 08:00 recipients' time, in 9 h 44 min (2 messages waiting)."
    page = html.unescape(logged_in_client.get(campaign_url).get_data(as_text=True))
    assert said in page
    status = logged_in_client.get(campaign_url + "/status").get_json()
    assert status["starts"] == said and status["counts"]["pending"] == 2

    clock.advance(hours=9, minutes=30)
    assert "in 14 min" in logged_in_client.get(campaign_url + "/status").get_json()["starts"]
    clock.advance(minutes=14)  # 08:00 in Shanghai: the messages are due, nothing is held any more
    assert logged_in_client.get(campaign_url + "/status").get_json()["starts"] == ""


def test_the_waiting_note_speaks_chinese(backend, logged_in_client, campaign_url):
    logged_in_client.post(campaign_url + "/send")
    logged_in_client.post("/language", data={"locale": "zh_CN", "next": campaign_url})
    page = logged_in_client.get(campaign_url).get_data(as_text=True)
    assert "免打扰时段中：按收件人当地时间 08:00 开始发送，还有 9 小时 44 分钟（2 条消息等待中）。" in page


def test_an_approved_campaign_sent_by_hand_reads_approved_not_scheduled(logged_in_client, campaign_url, database,
                                                                         clock):
    campaign_id = int(campaign_url.rstrip("/").rsplit("/", 1)[1])
    with database.session() as session:
        campaign = campaigns.get_campaign(session, campaign_id)
        campaign.status, campaign.approved_at = "scheduled", clock.now()  # as approve_campaign leaves it
        session.commit()
    page = logged_in_client.get(campaign_url).get_data(as_text=True)
    assert 'class="badge approved">Approved, ready to send<' in page
    assert ">Scheduled<" not in page
    listing = logged_in_client.get("/campaigns").get_data(as_text=True)
    assert "Approved, ready to send" in listing
