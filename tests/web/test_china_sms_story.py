"""The Chinese SMS story end to end, on Alibaba Cloud's and Tencent Cloud's fakes: a template bound to the
provider's registered template (API and editor), the estimate counting the signed registered text as the
platform bills it, the send carrying the code and parameters, the receipt moving the message, a reply of
退订 withdrawing consent and landing in the inbox — and a callback without the token refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from audiences import Consent
from campaigns import Reply
from campaigns.delivery.sender import send_until_idle
from campaigns.models import Message
from channels import count_sms
from tests.conftest import make_config
from tests.fakes.fake_aliyun_sms import FakeAliyunSms
from tests.fakes.fake_tencent_sms import FakeTencentSms
from tests.web.test_api import Api

REGISTERED = {"aliyun-sms": ("SMS_100", "会员日到了，${name}您好，全场${discount}折，回TD退订", {"name", "discount"}),
              "tencent-sms": ("1110", "会员日到了，{1}您好，全场{2}折，回TD退订", {"1", "2"})}


@pytest.fixture(params=["aliyun-sms", "tencent-sms"])
def platform(request) -> Iterator[FakeAliyunSms | FakeTencentSms]:
    fake_class = FakeAliyunSms if request.param == "aliyun-sms" else FakeTencentSms
    with fake_class() as fake:
        yield fake


@pytest.fixture
def scheme(platform) -> str:
    return "aliyun-sms" if isinstance(platform, FakeAliyunSms) else "tencent-sms"


@pytest.fixture
def config(tmp_path, db_url, platform):
    return make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL=platform.channel_url(),
                       HERALD_DEFAULT_REGION="CN", HERALD_CHANNELS_SMS_PRICE_PER_SEGMENT="0.045")


def params_for(scheme: str) -> dict[str, str]:
    first, second = sorted(REGISTERED[scheme][2], key=lambda n: (n != "name", n))
    return {first: "{{ contact.first_name }}", second: "{{ contact.discount | default('9') }}"}


def test_a_bound_template_is_estimated_sent_receipted_and_answered_as_the_platform_does_it(
        backend, config, database, clock, logged_in_client, api_token, platform, scheme, session):
    api = Api(logged_in_client, api_token("marketer"))
    code, registered, _ = REGISTERED[scheme]
    for n, name in enumerate(("王芳", "李雷")):
        api.post("/contacts", json={"first_name": name, "phone": f"+86139123400{n:02d}"})

    refused = api.post("/templates", json={"name": "x", "channel": "sms", "body": registered,
                                           "provider_template": code})
    assert refused.status_code == 422 and "has no parameter" in refused.json["message"]
    params = params_for(scheme)
    template = api.post("/templates", json={"name": "会员日", "channel": "sms", "body": registered,
                                            "provider_template": code, "provider_params": params}).json
    assert (template["provider_template"], template["provider_params"]) == (code, params)

    filled = "会员日到了，王芳您好，全场9折，回TD退订"
    preview = api.post("/templates/preview", json={"channel": "sms", "body": registered, "provider_template": code,
                                                    "provider_params": params}).json
    assert preview["body"] == filled
    signed = "【赫拉德】" + filled
    assert preview["sms"]["characters"] == len(signed)

    campaign = api.post("/campaigns", json={"name": "会员日", "channel": "sms", "template_id": template["id"]}).json
    estimate = api.get(f"/campaigns/{campaign['id']}/estimate").json
    assert estimate["segments"] == 2 * count_sms(signed).segments

    assert api.post(f"/campaigns/{campaign['id']}/send").status_code == 202
    send_until_idle(config, database, clock)
    sent = platform.messages
    expected = ["【赫拉德】" + filled, "【赫拉德】" + filled.replace("王芳", "李雷")]
    assert sorted(m["content"] for m in sent) == sorted(expected)
    assert {m["template"] for m in sent} == {code}

    report_path = f"/webhooks/{scheme}/report"
    wrong = logged_in_client.post(f"{report_path}?token=not-it", json=[platform.report(m) for m in sent])
    assert wrong.status_code == 403
    taken = logged_in_client.post(f"{report_path}?token={platform.callback_token}",
                                  json=[platform.report(m) for m in sent])
    acknowledgements = ({"code": 0, "msg": "接收成功"}, {"result": 0, "errmsg": "OK"})
    assert taken.status_code == 200 and taken.get_json() in acknowledgements
    statuses = session.scalars(select(Message.status).where(Message.campaign_id == campaign["id"])).all()
    session.rollback()
    assert statuses == ["delivered", "delivered"]

    inbound = f"/webhooks/{scheme}/inbound?token={platform.callback_token}"
    if scheme == "aliyun-sms":
        body: object = [{"phone_number": "13912340000", "content": "退订", "send_time": "2026-11-23 10:01:00",
                         "dest_code": "1234", "sequence_id": 9001}]
        question = [{"phone_number": "13912340001", "content": "周六营业吗？", "send_time": "2026-11-23 10:02:00",
                     "dest_code": "1234", "sequence_id": 9002}]
    else:
        body = {"mobile": "13912340000", "nationcode": "86", "text": "TD", "time": 1764000000, "sign": "赫拉德"}
        question = {"mobile": "13912340001", "nationcode": "86", "text": "周六营业吗？", "time": 1764000060,
                    "sign": "赫拉德"}
    assert logged_in_client.post(inbound, json=body).status_code == 200
    assert logged_in_client.post(inbound, json=body).status_code == 200  # pushed again: stored once
    assert logged_in_client.post(inbound, json=question).status_code == 200
    replies = session.execute(select(Reply.from_number, Reply.classification).order_by(Reply.id)).all()
    consents = session.execute(select(Consent.status).where(Consent.channel == "sms")).scalars().all()
    session.rollback()
    assert replies == [("+8613912340000", "unsubscribe"), ("+8613912340001", "other")]
    assert consents == ["unsubscribed"]
    inbox = logged_in_client.get("/inbox").get_data(as_text=True)
    assert "周六营业吗？" in inbox


def test_the_editor_binds_a_template_with_one_parameter_per_line(logged_in_client, scheme, session):
    code, registered, names = REGISTERED[scheme]
    lines = "\r\n".join(f"{name} = {expression}" for name, expression in params_for(scheme).items())
    page = logged_in_client.get("/templates/new?channel=sms").get_data(as_text=True)
    assert 'name="provider_template"' in page and 'name="provider_params"' in page
    bad = logged_in_client.post("/templates/new?channel=sms", data={
        "name": "会员日", "body": registered, "provider_template": code, "provider_params": "name"})
    assert bad.status_code == 422 and "template parameters line 1" in bad.get_data(as_text=True)
    saved = logged_in_client.post("/templates/new?channel=sms", data={
        "name": "会员日", "body": registered, "provider_template": code, "provider_params": lines})
    assert saved.status_code == 303
    edit = logged_in_client.get(saved.headers["Location"]).get_data(as_text=True)
    assert code in edit and "{{ contact.first_name }}" in edit
