"""What an SMS channel adds to the text is counted wherever the text is counted: the http-sms signature
(【签名】) makes a 67-character Chinese template 71 characters and 2 segments in the template preview (page
and API), in the campaign's estimate (page, API and `herald campaigns estimate`) and in what is sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from campaigns import Message
from campaigns.delivery.sender import send_until_idle
from tests.conftest import make_config
from tests.fakes.fake_http_sms import FakeHttpSms
from tests.web.test_api import Api

SIGNATURE = "【签名】"
# 67 characters: one segment as written (UCS-2 holds 70), two once the gateway signs it.
BODY = ("会员日全场八折，积分翻倍，到店出示本短信再送精美礼品一份，活动时间本周六至周日，详询门店，"
        "欢迎光临选购新品，更多优惠请关注官方公众号。")


@pytest.fixture
def gateway() -> Iterator[FakeHttpSms]:
    with FakeHttpSms() as fake:
        yield fake


@pytest.fixture
def config(tmp_path, db_url, gateway):
    return make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL=gateway.channel_url(signature=SIGNATURE),
                       HERALD_CHANNELS_SMS_PRICE_PER_SEGMENT="0.05")


def test_the_signature_is_counted_by_the_preview_the_estimate_and_the_send(
        backend, config, database, clock, logged_in_client, api_token, gateway):
    assert len(BODY) == 67 and len(SIGNATURE + BODY) == 71
    api = Api(logged_in_client, api_token("marketer"))
    for n in range(3):
        api.post("/contacts", json={"first_name": f"客户{n}", "phone": f"+861380013800{n}"})

    preview = api.post("/templates/preview", json={"channel": "sms", "body": BODY}).json
    page_preview = logged_in_client.post("/templates/preview", json={"channel": "sms", "body": BODY}).get_json()
    for sms in (preview["sms"], page_preview["preview"]["sms"]):
        assert (sms["characters"], sms["segments"]) == (71, 2)

    template = api.post("/templates", json={"name": "会员日", "channel": "sms", "body": BODY}).json
    campaign = api.post("/campaigns", json={"name": "会员日", "channel": "sms", "template_id": template["id"]}).json
    estimate = api.get(f"/campaigns/{campaign['id']}/estimate").json
    assert (estimate["sendable"], estimate["segments"]) == (3, 6)
    assert Decimal(estimate["cost"]) == Decimal("0.30")
    page = logged_in_client.get(f"/campaigns/{campaign['id']}").get_data(as_text=True)
    assert 'data-estimate="segments">6<' in page
    assert json.loads(herald(config, "campaigns", "estimate", str(campaign["id"])).output)["segments"] == 6

    assert api.post(f"/campaigns/{campaign['id']}/send").status_code == 202
    send_until_idle(config, database, clock)
    assert [m["content"] for m in gateway.messages] == [SIGNATURE + BODY] * 3
    with database.session() as session:
        sent = session.execute(select(Message.segments, Message.cost)
                               .where(Message.campaign_id == campaign["id"])).all()
    assert [segments for segments, _ in sent] == [2, 2, 2]
    assert sum(cost for _, cost in sent) == Decimal(estimate["cost"])


def herald(config, *args: str):
    from web.cli import cli

    env = {"HERALD_DATABASE_URL": str(config.database_url), "HERALD_DATA_DIR": str(config.data_dir),
           "HERALD_ENV": "test", "HERALD_SCHEDULER_ENABLED": "false",
           "HERALD_CHANNELS_SMS_URL": str(config.channels["sms"].url),
           "HERALD_CHANNELS_EMAIL_URL": str(config.channels["email"].url)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
