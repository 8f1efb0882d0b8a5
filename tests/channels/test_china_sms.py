"""Alibaba Cloud and Tencent Cloud SMS against their fakes: signatures, refusals, throttling, callbacks.

The signing functions are also checked against the worked examples the providers publish (Alibaba Cloud
"Signature mechanism", DescribeRegions with testid/testsecret; Tencent Cloud "Signature v3", DescribeInstances).
"""

from __future__ import annotations

import pytest

from channels import Accepted, ChannelConfigError, Outgoing, Refused, WebhookRejected, count_sms, open_channel
from channels.china import parse_aliyun_inbound, parse_aliyun_report, parse_tencent_inbound, parse_tencent_report
from channels.china.aliyun import rpc_signature
from channels.china.tencent import tc3_authorization
from tests.fakes.fake_aliyun_sms import FakeAliyunSms
from tests.fakes.fake_tencent_sms import FakeTencentSms

TEXT = "会员日到了，Alex您好，全场8折，回TD退订"


def aliyun_sms(mid: int, to: str = "+8613912345678") -> Outgoing:
    return Outgoing(mid, "sms", to, body=TEXT, template_code="SMS_100",
                    template_params={"name": "Alex", "discount": "8"})


def tencent_sms(mid: int, to: str = "+8613912345678") -> Outgoing:
    return Outgoing(mid, "sms", to, body=TEXT, template_code="1110", template_params={"2": "8", "1": "Alex"})


def test_alibaba_signature_matches_the_documented_example():
    params = {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
              "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
              "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
    assert rpc_signature(params, "testsecret", method="GET") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_tencent_signature_matches_the_documented_example():
    body = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    header = tc3_authorization(secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
                               secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", host="cvm.tencentcloudapi.com",
                               body=body, timestamp=1551113065, service="cvm")
    assert header.endswith("Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")


@pytest.mark.parametrize("kind", ["aliyun", "tencent"])
def test_the_provider_sends_the_registered_text_signed_exactly_as_herald_counts_it(kind):
    fake_class, message = (FakeAliyunSms, aliyun_sms) if kind == "aliyun" else (FakeTencentSms, tencent_sms)
    with fake_class() as fake:
        channel = open_channel(fake.channel_url())
        [result] = channel.send([message(7)])
        assert isinstance(result, Accepted)
        [sent] = fake.messages
        assert sent["content"] == channel.as_sent(TEXT) == "【赫拉德】" + TEXT
        if kind == "tencent":  # Tencent says what it billed: the same segments Herald counts on the signed text
            assert sent["params"] == ["Alex", "8"] and sent["context"] == "7"
            assert result.segments == sent["fee"] == count_sms(channel.as_sent(TEXT)).segments
        else:
            assert sent["out_id"] == "7" and sent["phone"] == "13912345678"


def test_a_signed_english_text_is_counted_as_chinese_operators_bill_it():
    # 【】 are outside GSM-7: 70 characters a single SMS, 67 a part, as Alibaba Cloud and Tencent count.
    with FakeAliyunSms() as fake:
        channel = open_channel(fake.channel_url())
        assert count_sms(channel.as_sent("x" * 65)).segments == 1
        assert count_sms(channel.as_sent("x" * 66)).segments == 2


@pytest.mark.parametrize("kind", ["aliyun", "tencent"])
def test_a_wrong_secret_is_refused_by_the_signature_check_and_stops_the_batch(kind):
    fake_class, message = (FakeAliyunSms, aliyun_sms) if kind == "aliyun" else (FakeTencentSms, tencent_sms)
    with fake_class() as fake:
        channel = open_channel(fake.channel_url(secret="not-the-secret"))
        results = channel.send([message(1), message(2)])
        assert all(isinstance(r, Refused) and not r.permanent for r in results)
        assert results[0].code == ("SignatureDoesNotMatch" if kind == "aliyun" else "AuthFailure.SignatureFailure")
        assert results[1].reason.startswith("not sent, an earlier message")  # not tried: it would meet the same
        assert fake.messages == [] and len(fake.refusals) == 1


def test_alibaba_throttling_is_throttled_and_a_recipients_own_limit_only_retries_that_message():
    with FakeAliyunSms() as fake:
        channel = open_channel(fake.channel_url())
        fake.fail_next(1, "Throttling.User")
        throttled, untried = channel.send([aliyun_sms(1), aliyun_sms(2)])
        assert throttled.throttled and not throttled.permanent and "earlier message" in untried.reason
        fake.fail_next(1, "isv.BUSINESS_LIMIT_CONTROL")
        limited, sent = channel.send([aliyun_sms(3), aliyun_sms(4, "+8613912340004")])
        assert isinstance(limited, Refused) and not limited.permanent and not limited.throttled
        assert isinstance(sent, Accepted)


def test_tencent_request_limit_is_throttled():
    with FakeTencentSms() as fake:
        fake.fail_next(1, "RequestLimitExceeded")
        [result] = open_channel(fake.channel_url()).send([tencent_sms(1)])
        assert isinstance(result, Refused) and result.throttled and not result.permanent


def test_refused_numbers_are_permanent_and_say_what_they_mean_for_consent():
    with FakeAliyunSms(invalid_numbers={"13800000000"}) as fake:
        [bad] = open_channel(fake.channel_url()).send([aliyun_sms(1, "+8613800000000")])
        assert bad.permanent and bad.code == "isv.MOBILE_NUMBER_ILLEGAL" and bad.consent == "bounced"
    with FakeTencentSms(blacklisted_numbers={"+8613811110000"}) as fake:
        [opted_out] = open_channel(fake.channel_url()).send([tencent_sms(1, "+8613811110000")])
        assert opted_out.permanent and opted_out.code == "FailedOperation.PhoneNumberInBlacklist"
        assert opted_out.consent == "unsubscribed"


def test_an_unknown_template_code_fails_the_message_with_the_providers_code():
    with FakeTencentSms() as fake:
        message = Outgoing(1, "sms", "+8613912345678", body="x", template_code="9999", template_params={"1": "a"})
        [result] = open_channel(fake.channel_url()).send([message])
        assert result.permanent and result.code == "FailedOperation.TemplateIncorrectOrUnapproved"


@pytest.mark.parametrize(("url", "fix"), [
    ("aliyun-sms://ID:s3cr3tvalue@default", "sign_name"),
    ("aliyun-sms://ID@default?sign_name=x", "AccessKey ID or secret"),
    ("aliyun-sms://ID:s3cr3tvalue@example.com?sign_name=x", "api_base=https://example.com"),
    ("aliyun-sms://ID:s3cr3tvalue@default?sign_name=x&signname=y", 'unknown option "signname"'),
    ("tencent-sms://ID:s3cr3tvalue@default?sign_name=x", "app_id"),
    ("tencent-sms://ID:s3cr3tvalue@default?app_id=1400006666", "sign_name"),
    ("tencent-sms://ID:s3cr3tvalue@default?app_id=1&sign_name=x&api_base=ftp://x", "api_base must be an http(s)"),
])
def test_channel_urls_that_cannot_work_are_refused_naming_the_fix(url, fix):
    with pytest.raises(ChannelConfigError, match=fix.replace("(", r"\(").replace(")", r"\)")) as caught:
        open_channel(url)
    assert "s3cr3tvalue" not in str(caught.value)


def test_descriptions_mask_the_secret_and_the_callback_token():
    with FakeAliyunSms() as aliyun, FakeTencentSms() as tencent:
        for fake, secret in ((aliyun, aliyun.access_key_secret), (tencent, tencent.secret_key)):
            text = open_channel(fake.channel_url()).describe()
            assert secret not in text and fake.callback_token not in text and text.count("****") == 2


# ---------------------------------------------------------------------- callbacks
def test_alibaba_receipts_need_the_token_and_become_events():
    with FakeAliyunSms() as fake:
        channel_url = fake.channel_url()
        open_channel(channel_url).send([aliyun_sms(42)])
        reports = [fake.report(m) for m in fake.messages] + [fake.report(fake.messages[0], success=False)]
        for url in ("/webhooks/aliyun-sms/report", "/webhooks/aliyun-sms/report?token=wrong"):
            with pytest.raises(WebhookRejected) as refused:
                parse_aliyun_report(url=url, payload=reports, channel_url=channel_url)
            assert refused.value.http_status == 403
        delivered, failed = parse_aliyun_report(url=f"/x?token={fake.callback_token}", payload=reports,
                                                channel_url=channel_url)
    assert (delivered.status, delivered.message_id, delivered.segments) == ("delivered", 42, 1)
    assert delivered.occurred_at is not None and delivered.occurred_at.utcoffset().total_seconds() == 8 * 3600
    assert (failed.status, failed.error_code, failed.error_reason) == ("failed", "IC:0015", "空号")


def test_a_receipt_herald_cannot_read_is_refused_whole():
    with FakeTencentSms() as fake:
        with pytest.raises(WebhookRejected, match='report_status "MAYBE"') as refused:
            parse_tencent_report(url=f"/x?token={fake.callback_token}",
                                 payload=[{"sid": "1", "report_status": "SUCCESS"},
                                          {"sid": "2", "report_status": "MAYBE"}],
                                 channel_url=fake.channel_url())
        assert refused.value.http_status == 400


def test_replies_are_read_with_the_senders_number_in_e164():
    with FakeAliyunSms() as aliyun, FakeTencentSms() as tencent:
        [a] = parse_aliyun_inbound(url=f"/x?token={aliyun.callback_token}", channel_url=aliyun.channel_url(),
                                   payload=[{"phone_number": "13912345678", "content": "退订", "sequence_id": 77,
                                             "send_time": "2026-11-23 10:01:00", "dest_code": "1234"}])
        [t] = parse_tencent_inbound(url=f"/x?token={tencent.callback_token}", channel_url=tencent.channel_url(),
                                    payload={"mobile": "13912345678", "nationcode": "86", "text": "TD",
                                             "time": 1764000000, "sign": "赫拉德", "extend": ""})
    assert (a.from_number, a.body, a.provider_id, a.provider) == ("+8613912345678", "退订", "77", "aliyun-sms")
    assert (t.from_number, t.body, t.provider) == ("+8613912345678", "TD", "tencent-sms")
