"""http-sms://: URL options, request bodies, response mapping, signature, classification and delivery reports.

The adapter talks to tests/fakes/fake_http_sms.py over real HTTP; nothing is mocked.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channels import (
    Accepted,
    ChannelConfigError,
    ChannelEvent,
    Outgoing,
    Refused,
    WebhookRejected,
    count_sms,
    open_channel,
)
from channels.http_sms import HttpSmsChannel, with_signature
from channels.http_sms.webhooks import parse_http_sms_webhook
from tests.fakes.fake_http_sms import MOVED_PATH, SEND_PATH, FakeHttpSms

SECRET = "s3cr3t-gateway-key"
DR_SECRET = "dr-s3cr3t-value"
BASE = "http-sms://sms.example.com/api/send"


@pytest.fixture
def fake() -> Iterator[FakeHttpSms]:
    with FakeHttpSms(invalid_numbers={"+15550000000"}) as gateway:
        yield gateway


@pytest.fixture
def opened() -> Iterator[list[HttpSmsChannel]]:
    channels: list[HttpSmsChannel] = []
    yield channels
    for channel in channels:
        channel.close()


def open_on(fake: FakeHttpSms, opened: list, **options: str | None) -> HttpSmsChannel:
    channel = open_channel(fake.channel_url(**options))
    opened.append(channel)
    return channel


def sms(mid: int, to: str = "+8613800138000", body: str = "Spring sale: 20% off") -> Outgoing:
    return Outgoing(mid, "sms", to, body=body)


# ---------------------------------------------------------------------- URLs
OPENS = [
    (BASE, "https://sms.example.com/api/send"),
    (f"{BASE}?tls=0", "http://sms.example.com/api/send"),
    ("http-sms://127.0.0.1:8080/v1/sms?tls=0&body=form&method=GET", "http://127.0.0.1:8080/v1/sms"),
    ("http-sms://gw.example.cn", "https://gw.example.cn/"),
    (f"{BASE}?auth_header=X-Api-Key&auth_value={SECRET}&to_field=phone&text_field=content&from_field=sign"
     "&from=HERALD&success_field=code&success_value=OK,0&id_field=data.msgId&error_field=message"
     f"&error_code_field=code&transient_codes=1429,isv.BUSINESS_LIMIT_CONTROL&timeout=5&rate=100/second"
     f"&signature=%E3%80%90%E5%85%AC%E5%8F%B8%E5%90%8D%E3%80%91&dr_token={DR_SECRET}&dr_id_field=msgId"
     "&dr_status_field=report.stat&dr_delivered_values=DELIVRD,0&dr_failed_values=UNDELIV,1&dr_error_field=err",
     "https://sms.example.com/api/send"),
    (f"http-sms://user:{SECRET}@sms.example.com/send?extra.template_id=SMS_123&extra.account=herald&ref_field=outId",
     "https://sms.example.com/send"),
]

REFUSES = [
    ("http-sms:///api/send", "has no host"),
    (f"{BASE}?method=DELETE", "method='DELETE'; write method=POST"),
    (f"{BASE}?body=xml", "body='xml'; write body=json or body=form"),
    (f"{BASE}?auth_header=X-Api-Key", "names an auth_header but no auth_value"),
    (f"{BASE}?success_field=code", "no success_value; add e.g. success_value=OK"),
    (f"{BASE}?success_value=OK", "no success_field; add e.g. success_field=code"),
    (f"{BASE}?tls=maybe", "tls='maybe' is not a yes/no value"),
    (f"{BASE}?timeout=-1", "timeout='-1' must be a positive number"),
    (f"{BASE}?rate=lots", 'rate="lots" is not a rate'),
    (f"{BASE}?to_feild=phone", 'unknown option "to_feild"; http-sms:// knows: method'),
    (f"{BASE}?extra.=x", 'unknown option "extra."'),
    (f"{BASE}?to_field=phone&text_field=phone", "uses one field name for two things"),
    (f"{BASE}?dr_delivered_values=DELIVRD&dr_failed_values=delivrd", 'delivery status "delivrd" as both delivered'),
    ("http-sms://sms.example.com:99999/api/send", "port that is not a number"),
]


@pytest.mark.parametrize(("url", "endpoint"), OPENS, ids=[u for u, _ in OPENS])
def test_url_opens_an_http_sms_channel_on_its_endpoint(url, endpoint):
    channel = open_channel(url)
    assert type(channel) is HttpSmsChannel
    assert channel.options.endpoint == endpoint
    assert channel.describe().startswith("http-sms://")
    assert SECRET not in channel.describe() and DR_SECRET not in channel.describe()


@pytest.mark.parametrize(("url", "message"), REFUSES, ids=[u for u, _ in REFUSES])
def test_bad_url_is_refused_with_the_fix(url, message):
    with pytest.raises(ChannelConfigError) as info:
        secret_option = "dr_token" if "auth_header" in url else "auth_value"
        open_channel(f"{url}{'&' if '?' in url else '?'}{secret_option}={SECRET}", setting="sms")
    text = str(info.value)
    assert message in text
    assert SECRET not in text
    assert "check config.toml [channels.sms] url" in text


def test_describe_masks_the_auth_value_the_report_token_and_the_password():
    channel = open_channel(f"http-sms://user:{SECRET}@sms.example.com/send?auth_value=Bearer%20{SECRET}"
                           f"&dr_token={DR_SECRET}&to_field=phone")
    assert channel.describe() == ("http-sms://user:****@sms.example.com/send?auth_value=****&dr_token=****"
                                  "&to_field=phone")


def test_defaults_rate_and_url_options():
    channel = open_channel(BASE)
    assert channel.rate == "10/second"
    assert (channel.options.method, channel.options.body, channel.options.timeout) == ("POST", "json", 10.0)
    assert open_channel(f"{BASE}?rate=5/second").rate == "5/second"
    assert open_channel(f"{BASE}?from=%2B15551234567").options.sender == "+15551234567"
    assert open_channel(BASE, from_address="HERALD").options.sender == "HERALD"


# ---------------------------------------------------------------------- requests
def test_json_body_carries_the_mapped_fields_and_the_auth_header(fake, opened):
    channel = open_on(fake, opened, **{"from": "HERALD", "ref_field": "ref", "extra.template_id": "SMS_123"})
    [result] = channel.send([sms(41)])
    assert isinstance(result, Accepted)
    [request] = fake.requests
    assert request["content_type"] == "application/json"
    assert request["authorization"] == f"Bearer {fake.api_token}"
    assert request["fields"] == {"phone": "+8613800138000", "content": "Spring sale: 20% off", "sign": "HERALD",
                                 "ref": "41", "template_id": "SMS_123"}


def test_form_body_sends_the_same_fields_form_encoded(fake, opened):
    channel = open_on(fake, opened, body="form")
    [result] = channel.send([sms(1, body="Hello & welcome +1")])
    assert isinstance(result, Accepted)
    [request] = fake.requests
    assert request["content_type"] == "application/x-www-form-urlencoded"
    assert request["fields"] == {"phone": "+8613800138000", "content": "Hello & welcome +1"}


def test_get_sends_the_fields_as_query_parameters(fake, opened):
    [result] = open_on(fake, opened, method="GET").send([sms(1)])
    assert isinstance(result, Accepted)
    assert fake.requests[0]["method"] == "GET"
    assert fake.requests[0]["fields"]["phone"] == "+8613800138000"


def test_a_dotted_field_name_nests_in_the_json_body(fake, opened):
    channel = open_on(fake, opened, to_field="msg.phone")
    channel.send([sms(1)])
    assert fake.requests[0]["fields"]["msg"] == {"phone": "+8613800138000"}


def test_the_gateways_message_id_is_read_from_a_nested_field(fake, opened):
    [result] = open_on(fake, opened).send([sms(1)])
    assert isinstance(result, Accepted)
    assert result.provider_id == fake.messages[0]["msgId"]  # from {"data": {"msgId": …}}


def test_without_an_id_field_any_2xx_is_accepted_under_a_herald_id(fake, opened):
    channel = open_on(fake, opened, id_field=None, success_field=None, success_value=None, error_code_field=None)
    [result] = channel.send([sms(77)])
    assert result == Accepted(77, provider_id="herald-77", segments=1)


def test_one_http_session_serves_every_send_of_a_channel(fake, opened):
    channel = open_on(fake, opened)
    channel.send([sms(1)])
    session = channel._session
    channel.send([sms(2), sms(3)])
    assert session is not None and channel._session is session


# ---------------------------------------------------------------------- signature
CHINESE_66 = ("春季促销：全场商品八折起，会员再享九五折，活动截止本周日晚十点，"
              "详情请登录官网或到店咨询，欢迎光临！回复TD退订。" + "谢" * 9)


def test_the_signature_is_prepended_and_counted_in_the_segments(fake, opened):
    assert len(CHINESE_66) == 66 and count_sms(CHINESE_66).segments == 1
    channel = open_on(fake, opened, signature="【公司名】")
    [result] = channel.send([sms(1, body=CHINESE_66)])
    sent = fake.messages[0]["content"]
    assert sent == "【公司名】" + CHINESE_66
    assert isinstance(result, Accepted)
    assert result.segments == count_sms(sent).segments == 2  # 71 UCS-2 characters: over 70, so two parts


def test_the_text_as_sent_is_exactly_what_the_gateway_gets(fake, opened):
    # The estimate and the preview count channels.text_as_sent; it must be the text the send puts on the wire.
    from channels import text_as_sent

    signed = open_on(fake, opened, signature="【公司名】")
    plain = open_on(fake, opened)
    for body in (CHINESE_66, "【公司名】您的验证码是123456"):
        signed.send([sms(1, body=body)])
        plain.send([sms(2, body=body)])
        assert [m["content"] for m in fake.messages[-2:]] == [text_as_sent(signed, body), text_as_sent(plain, body)]
    assert text_as_sent(object(), "as written") == "as written"  # a channel that adds nothing


def test_a_body_that_already_starts_with_the_signature_is_not_signed_twice(fake, opened):
    channel = open_on(fake, opened, signature="【公司名】")
    channel.send([sms(1, body="【公司名】您的验证码是123456")])
    assert fake.messages[0]["content"] == "【公司名】您的验证码是123456"
    assert with_signature("hi", "") == "hi"


def test_the_gallery_signature_placeholder_is_filled_with_the_signature_where_it_stands(fake, opened):
    channel = open_on(fake, opened, signature="【公司名】")
    channel.send([sms(1, body="Happy New Year, Li! Reply STOP to opt out.\n【签名】")])
    assert fake.messages[0]["content"] == "Happy New Year, Li! Reply STOP to opt out.\n【公司名】"
    # No signature configured: the placeholder is left for the marketer to replace.
    assert with_signature("【签名】李雷，新春快乐！", "") == "【签名】李雷，新春快乐！"


def test_an_empty_body_is_refused_for_good_and_never_sent(fake, opened):
    [result] = open_on(fake, opened, signature="【公司名】").send([sms(1, body="  ")])
    assert isinstance(result, Refused) and result.permanent and result.code == "empty-body"
    assert fake.requests == []


# ---------------------------------------------------------------------- classification
def script_invalid_number(fake):
    return {}, "+15550000000"


def script_business_flow_control(fake):
    fake.business_error_next(1, "1429", "flow control, try later")
    return {}, None


def script_listed_transient_code(fake):
    fake.business_error_next(1, "1429", "flow control, try later")
    return {"transient_codes": "1429,1430"}, None


def script_429(fake):
    fake.fail_next(1, 429, retry_after=7)
    return {}, None


def script_500(fake):
    fake.fail_next(1, 500)
    return {}, None


def script_503(fake):
    fake.fail_next(1, 503, retry_after=2)
    return {}, None


def script_wrong_key(fake):
    return {"auth_value": "Bearer wrong"}, None


def script_wrong_path(fake):
    return {"path": "/sms/nowhere"}, None


def script_moved(fake):
    return {"path": MOVED_PATH}, None


def script_dropped(fake):
    fake.drop_connections(1)
    return {}, None


CLASSIFICATION = [
    # scenario, permanent, code, retry_after, words in the reason
    (script_invalid_number, True, "1001", None, "invalid mobile number"),
    (script_business_flow_control, True, "1429", None, "flow control"),
    (script_listed_transient_code, False, "1429", None, "flow control"),
    (script_429, False, "429", 7.0, "too many requests"),
    (script_500, False, "500", None, "internal error"),
    (script_503, False, "503", 2.0, "service unavailable"),
    (script_wrong_key, False, "401", None, "check auth_value"),
    (script_wrong_path, True, "404", None, "no such API"),
    (script_moved, False, "301", None, f"redirects to {SEND_PATH}"),
    (script_dropped, False, "connection-error", None, "Connection"),
]


@pytest.mark.parametrize(("script", "permanent", "code", "retry_after", "reason"), CLASSIFICATION,
                         ids=[c[0].__name__.removeprefix("script_") for c in CLASSIFICATION])
def test_gateway_answers_are_classified(fake, opened, script, permanent, code, retry_after, reason):
    options, to = script(fake)
    [result] = open_on(fake, opened, **options).send([sms(5, to=to or "+8613800138000")])
    assert isinstance(result, Refused)
    assert (result.permanent, result.code, result.retry_after) == (permanent, code, retry_after)
    assert reason in result.reason


def test_a_429_stops_the_batch_and_the_rest_wait_without_being_tried(fake, opened):
    fake.fail_next(1, 429, retry_after=3)
    results = open_on(fake, opened).send([sms(1), sms(2), sms(3)])
    assert [type(r) for r in results] == [Refused] * 3
    assert all(not r.permanent and r.retry_after == 3 and r.throttled for r in results)
    assert len(fake.requests) == 1


def test_a_business_error_does_not_sink_the_rest_of_the_batch(fake, opened):
    results = open_on(fake, opened).send([sms(1, to="+15550000000"), sms(2)])
    assert isinstance(results[0], Refused) and results[0].permanent
    assert isinstance(results[1], Accepted)


def test_a_gateway_that_answers_too_late_is_a_transient_timeout():
    with FakeHttpSms(delay_seconds=2) as slow:
        channel = open_channel(slow.channel_url(timeout="0.2"))
        try:
            [result] = channel.send([sms(1)])
        finally:
            channel.close()
    assert isinstance(result, Refused) and not result.permanent and result.code == "timeout"
    assert "may or may not have accepted" in result.reason


# ---------------------------------------------------------------------- delivery reports
def report_url(fake: FakeHttpSms, **options: str | None) -> str:
    return fake.channel_url(**options)


def parse(fake, payload, *, token: str | None = None, in_query: bool = False, **options: str | None):
    token = fake.dr_token if token is None else token
    url = "https://herald.example.com/webhooks/http-sms/status" + (f"?token={token}" if in_query else "")
    headers = {} if in_query else {"X-Herald-Token": token}
    return parse_http_sms_webhook(url=url, form_or_json=payload, headers=headers,
                                  channel_url=fake.channel_url(**options))


def test_a_batch_of_reports_becomes_one_event_each(fake):
    payload = [{"msgId": "a1", "status": "DELIVRD"}, {"msgId": "a2", "status": "UNDELIV", "errCode": "MK:0001"},
               {"msgId": "a3", "status": "enroute"}]
    assert parse(fake, payload) == [
        ChannelEvent(status="delivered", provider_id="a1", provider_status="DELIVRD"),
        ChannelEvent(status="failed", provider_id="a2", error_code="MK:0001", provider_status="UNDELIV"),
        ChannelEvent(status="sent", provider_id="a3", provider_status="enroute"),
    ]


def test_a_single_form_report_with_the_token_in_the_query_is_taken(fake):
    [event] = parse(fake, {"msgId": "a1", "status": "0"}, in_query=True, dr_delivered_values="DELIVRD,0")
    assert (event.status, event.provider_id) == ("delivered", "a1")


def test_report_fields_are_read_by_dotted_paths_and_the_echoed_reference_names_herald_message(fake):
    payload = {"report": {"stat": "DELIVRD", "id": "x9", "outId": "314"}}
    [event] = parse(fake, payload, dr_status_field="report.stat", dr_id_field="report.id",
                    dr_ref_field="report.outId")
    assert (event.status, event.provider_id, event.message_id) == ("delivered", "x9", 314)


@pytest.mark.parametrize(("token", "options", "words"), [
    ("wrong-token", {}, "does not match"),
    ("", {}, "without a token"),
    ("anything", {"dr_token": None}, "has no dr_token"),
])
def test_a_report_without_the_right_token_is_403(fake, token, options, words):
    with pytest.raises(WebhookRejected) as info:
        parse(fake, [{"msgId": "a1", "status": "DELIVRD"}], token=token, **options)
    assert info.value.http_status == 403
    assert words in str(info.value)
    assert fake.dr_token not in str(info.value)


@pytest.mark.parametrize(("payload", "words"), [
    ([{"msgId": "a1", "status": "TELEPORTED"}], 'status "TELEPORTED", which Herald does not know; known: '),
    ([{"msgId": "a1"}], 'no status field "status"'),
    ([{"status": "DELIVRD"}], 'no message id field "msgId"'),
    (["DELIVRD"], "is not an object"),
    ("DELIVRD", "neither a JSON object"),
    (None, "neither a JSON object"),
])
def test_an_unreadable_report_is_400_naming_what_is_wrong(fake, payload, words):
    with pytest.raises(WebhookRejected) as info:
        parse(fake, payload)
    assert info.value.http_status == 400
    assert words in str(info.value)


def test_a_report_list_wrapped_in_an_object_is_read_from_dr_list_field(fake):
    payload = {"total": 2, "reports": [{"msgId": "a1", "status": "DELIVRD"}, {"msgId": "a2", "status": "EXPIRED"}]}
    events = parse(fake, payload, dr_list_field="reports")
    assert [(e.provider_id, e.status) for e in events] == [("a1", "delivered"), ("a2", "failed")]
    with pytest.raises(WebhookRejected, match='no list of reports at "reports"'):
        parse(fake, {"msgId": "a1", "status": "DELIVRD"}, dr_list_field="reports")


def test_an_answer_too_late_is_an_unknown_outcome_and_a_refused_connection_is_not_sent(fake, opened):
    fake.delay_seconds = 1.0
    [late] = open_on(fake, opened, timeout="0.3").send([sms(1)])
    assert (late.code, late.outcome_unknown) == ("timeout", True)
    assert len(fake.requests) == 1  # the gateway has it
    fake.delay_seconds = 0.0
    fake.drop_connections(1)
    [dropped] = open_on(fake, opened).send([sms(2)])
    assert (dropped.code, dropped.outcome_unknown) == ("connection-error", True)  # the request was written
    channel = open_on(fake, opened)
    fake.stop()
    [refused] = channel.send([sms(3)])
    assert (refused.code, refused.outcome_unknown) == ("connection-error", False) and "not sent" in refused.reason
