"""https-email:// (SendGrid v3 mail/send) against the fake API: the request it builds, how answers are read."""

from __future__ import annotations

import pytest

from channels import Accepted, ChannelConfigError, Outgoing, Refused, open_channel
from tests.fakes.fake_sendgrid import FakeSendGrid


@pytest.fixture
def fake():
    with FakeSendGrid(invalid={"gone@example.com"}) as server:
        yield server


def mail(mid: int, to: str = "", **kw) -> Outgoing:
    return Outgoing(mid, "email", to or f"reader{mid}@example.com", subject="春季促销", body="Hello", **kw)


def test_the_request_carries_herald_id_sender_parts_and_unsubscribe_headers(fake):
    channel = open_channel(fake.channel_url(**{"from": "Shop News <news@shop.example>"}))
    headers = {"Message-ID": "<herald.7@h.example>", "List-Unsubscribe": "<https://h.example/u/7/sig>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    [result] = channel.send([mail(7, html="<p>Hello</p>", headers=headers)])
    channel.close()
    [sent] = fake.messages
    assert result == Accepted(7, provider_id=sent["x_message_id"])
    assert sent["personalizations"] == [{"to": [{"email": "reader7@example.com"}],
                                         "custom_args": {"herald_message_id": "7"}}]
    assert sent["from"] == {"email": "news@shop.example", "name": "Shop News"}
    assert [part["type"] for part in sent["content"]] == ["text/plain", "text/html"]
    # SendGrid refuses reserved headers such as Message-ID; the unsubscribe headers go through.
    assert sent["headers"] == {"List-Unsubscribe": "<https://h.example/u/7/sig>",
                               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def test_a_4xx_is_permanent_with_sendgrids_words_and_the_rest_of_the_batch_goes_on(fake):
    results = open_channel(fake.channel_url()).send([mail(1, "gone@example.com"), mail(2)])
    assert results[0] == Refused(1, True, "400", "Does not contain a valid address. (personalizations.0.to.0.email)")
    assert isinstance(results[1], Accepted)


def test_429_is_transient_waits_as_told_and_holds_the_batch(fake):
    fake.fail_next(1, 429)
    results = open_channel(fake.channel_url()).send([mail(1), mail(2)])
    assert [(r.permanent, r.code, r.throttled) for r in results] == [(False, "429", True), (False, "429", True)]
    assert results[0].retry_after is not None and 0 < results[0].retry_after <= 2
    assert fake.messages == []


def test_a_5xx_is_transient_for_that_message_only(fake):
    fake.fail_next(1, 500)
    results = open_channel(fake.channel_url()).send([mail(1), mail(2)])
    assert (results[0].permanent, results[0].code) == (False, "500")
    assert isinstance(results[1], Accepted)


def test_a_wrong_api_key_is_the_operators_to_fix_and_fails_nobody_for_good(fake):
    url = fake.channel_url().replace(fake.api_key, "SG.wrong")
    results = open_channel(url).send([mail(1), mail(2)])
    assert [(r.permanent, r.code) for r in results] == [(False, "401"), (False, "401")]
    assert "check the API key" in results[0].reason


@pytest.mark.parametrize(("url", "words"), [
    ("https-email://api.sendgrid.com?from=news@shop.example", "no API key"),
    ("https-email://KEY@api.sendgrid.com", "no sender address"),
    ("https-email://KEY@api.sendgrid.com?from=news@shop.example&api_base=http://api.example.com", "https://"),
    ("https-email://KEY@api.sendgrid.com?from=news@shop.example&tls=0", "unknown option"),
])
def test_a_url_that_cannot_work_is_refused_with_the_fix(url, words):
    with pytest.raises(ChannelConfigError, match=words):
        open_channel(url)


def test_describe_masks_the_key(fake):
    text = open_channel(fake.channel_url()).describe()
    assert fake.api_key not in text and text.startswith("https-email://****@api.sendgrid.com")
