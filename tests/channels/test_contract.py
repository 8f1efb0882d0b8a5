"""The channel contract, one suite for every adapter and its real protocol peer (STYLE: tests/).

Every adapter must: return exactly one result per message, keyed by message_id, in batch order;
classify permanent and transient refusals; turn a timeout or an unreachable provider into a
transient refusal for every message without raising; close() any number of times; never show a
secret in describe().
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from channels import Accepted, Channel, Outgoing, Refused, open_channel, reports_each_result
from channels.ratelimit import parse_rate
from tests.fakes.fake_aliyun_sms import FakeAliyunSms
from tests.fakes.fake_http_sms import FakeHttpSms
from tests.fakes.fake_sendgrid import FakeSendGrid
from tests.fakes.fake_smtp import FakeSmtp
from tests.fakes.fake_tencent_sms import FakeTencentSms
from tests.fakes.fake_twilio import FakeTwilio


@dataclass
class Peer:
    name: str
    channel: Channel
    good: Callable[[int], Outgoing]
    permanent: Callable[[int], Outgoing] | None  # a message this provider refuses for good
    transient: Callable[[int], Outgoing] | None  # a message this provider asks to retry later
    slow: Callable[[], Channel]  # a channel whose provider answers too late
    unreachable: Callable[[], Channel]  # a channel whose provider cannot be reached at all
    secret: str | None
    received: Callable[[], int]  # how many messages the provider has taken so far
    permanent_code: str | None = None  # the provider's code for `permanent`, when it is not a number
    # A message no provider of this kind could take (default: an SMS without text, an email with a broken subject).
    bad: Callable[[int, Outgoing], Outgoing] | None = None


def email(mid: int, to: str) -> Outgoing:
    return Outgoing(mid, "email", to, body="Hello", subject="Spring sale", html="<p>Hello</p>")


def sms(mid: int, to: str) -> Outgoing:
    return Outgoing(mid, "sms", to, body="Spring sale: 20% off")


def template_sms(code: str, params: dict[str, str]) -> Callable[[int, str], Outgoing]:
    """An SMS bound to a provider template (Alibaba Cloud, Tencent Cloud send nothing else)."""
    def make(mid: int, to: str) -> Outgoing:
        return Outgoing(mid, "sms", to, body="会员日到了，Alex您好，全场8折，回TD退订", template_code=code,
                        template_params=params)
    return make


def unbound(mid: int, good: Outgoing) -> Outgoing:
    return Outgoing(mid, "sms", good.to, body="free text the platform will not take")


@pytest.fixture(params=["log", "smtp", "https-email", "twilio", "http-sms", "aliyun-sms", "tencent-sms"])
def peer(request, tmp_path: Path, closed_port: int) -> Iterator[Peer]:
    opened: list[Channel] = []

    def track(channel: Channel) -> Channel:
        opened.append(channel)
        return channel

    if request.param == "log":
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("a file where the outbox directory should be")
        yield Peer(
            "log", track(open_channel(f"log://{tmp_path / 'outbox'}")),
            good=lambda mid: sms(mid, "+15551230001"),
            permanent=None,  # a file on disk refuses no recipient
            transient=None,
            slow=lambda: track(open_channel(f"log://{blocker}")),
            unreachable=lambda: track(open_channel(f"log://{blocker / 'outbox'}")),
            secret=None,
            received=lambda: len(list((tmp_path / "outbox").glob("message-*"))),
        )
    elif request.param == "smtp":
        with FakeSmtp(refuse={"gone@example.com": (550, "5.1.1 No such user")},
                      defer={"busy@example.com": (451, "4.7.1 Greylisted, try again later")},
                      auth={"mailer": "smtp-secret-pw"}) as fake, FakeSmtp(delay_seconds=3) as slow:
            yield Peer(
                "smtp", track(open_channel(fake.url + "?from=news@example.com")),
                good=lambda mid: email(mid, f"reader{mid}@example.com"),
                permanent=lambda mid: email(mid, "gone@example.com"),
                transient=lambda mid: email(mid, "busy@example.com"),
                slow=lambda: track(open_channel(slow.url + "?from=news@example.com&timeout=0.3")),
                unreachable=lambda: track(open_channel(f"smtp://127.0.0.1:{closed_port}?from=news@example.com")),
                secret="smtp-secret-pw",
                received=lambda: len(fake.messages),
            )
    elif request.param == "https-email":
        with FakeSendGrid(invalid={"gone@example.com"}) as fake, FakeSendGrid(delay_seconds=3) as slow:
            channel = track(open_channel(fake.channel_url()))

            def transient_email(mid: int) -> Outgoing:
                fake.fail_next(1, 503)  # the next request, i.e. this message's, gets a 503
                return email(mid, "busy@example.com")

            yield Peer(
                "https-email", channel,
                good=lambda mid: email(mid, f"reader{mid}@example.com"),
                permanent=lambda mid: email(mid, "gone@example.com"),  # 400 "Does not contain a valid address."
                transient=transient_email,
                slow=lambda: track(open_channel(slow.channel_url(timeout="0.3"))),
                unreachable=lambda: track(open_channel(fake.channel_url(api_base=f"http://127.0.0.1:{closed_port}"))),
                secret=fake.api_key,
                received=lambda: len(fake.messages),
            )
    elif request.param == "http-sms":
        with FakeHttpSms(invalid_numbers={"+15550000000"}) as fake, FakeHttpSms(delay_seconds=3) as slow:
            channel = track(open_channel(fake.channel_url()))

            def transient(mid: int) -> Outgoing:
                fake.fail_next(1, 503)  # the next request, i.e. this message's, gets a 503
                return sms(mid, "+15551239999")

            yield Peer(
                "http-sms", channel,
                good=lambda mid: sms(mid, f"+1555123{mid:04d}"),
                permanent=lambda mid: sms(mid, "+15550000000"),  # the gateway's business code 1001
                transient=transient,
                slow=lambda: track(open_channel(slow.channel_url(timeout="0.3"))),
                unreachable=lambda: track(open_channel(fake.channel_url(netloc=f"127.0.0.1:{closed_port}"))),
                secret=fake.api_token,
                received=lambda: len(fake.messages),
            )
    elif request.param == "aliyun-sms":
        with FakeAliyunSms(invalid_numbers={"13800000000"}) as fake, FakeAliyunSms(delay_seconds=3) as slow:
            member_day = template_sms("SMS_100", {"name": "Alex", "discount": "8"})

            def transient_aliyun(mid: int) -> Outgoing:
                fake.fail_next(1, "ServiceUnavailable")  # this message's request gets a 503
                return member_day(mid, "+8613912345678")

            yield Peer(
                "aliyun-sms", track(open_channel(fake.channel_url())),
                good=lambda mid: member_day(mid, f"+86139{mid:08d}"),
                permanent=lambda mid: member_day(mid, "+8613800000000"),
                transient=transient_aliyun,
                slow=lambda: track(open_channel(slow.channel_url(timeout="0.3"))),
                unreachable=lambda: track(open_channel(fake.channel_url(api_base=f"http://127.0.0.1:{closed_port}"))),
                secret=fake.access_key_secret,
                received=lambda: len(fake.messages),
                permanent_code="isv.MOBILE_NUMBER_ILLEGAL",
                bad=unbound,
            )
    elif request.param == "tencent-sms":
        with FakeTencentSms(invalid_numbers={"+8613800000000"}) as fake, FakeTencentSms(delay_seconds=3) as slow:
            member_day = template_sms("1110", {"1": "Alex", "2": "8"})

            def transient_tencent(mid: int) -> Outgoing:
                fake.fail_next(1, "InternalError.Timeout")
                return member_day(mid, "+8613912345678")

            yield Peer(
                "tencent-sms", track(open_channel(fake.channel_url())),
                good=lambda mid: member_day(mid, f"+86139{mid:08d}"),
                permanent=lambda mid: member_day(mid, "+8613800000000"),
                transient=transient_tencent,
                slow=lambda: track(open_channel(slow.channel_url(timeout="0.3"))),
                unreachable=lambda: track(open_channel(fake.channel_url(api_base=f"http://127.0.0.1:{closed_port}"))),
                secret=fake.secret_key,
                received=lambda: len(fake.messages),
                permanent_code="InvalidParameterValue.IncorrectPhoneNumber",
                bad=unbound,
            )
    else:
        with FakeTwilio(invalid_numbers={"+15550000000"}) as fake, FakeTwilio(delay_seconds=3) as slow:
            channel = track(open_channel(fake.channel_url()))

            def transient(mid: int) -> Outgoing:
                fake.fail_next(1, 503)  # the next request, i.e. this message's, gets a 503
                return sms(mid, "+15551239999")

            yield Peer(
                "twilio", channel,
                good=lambda mid: sms(mid, f"+1555123{mid:04d}"),
                permanent=lambda mid: sms(mid, "+15550000000"),
                transient=transient,
                slow=lambda: track(open_channel(slow.channel_url(timeout="0.3"))),
                unreachable=lambda: track(open_channel(fake.channel_url(api_base=f"http://127.0.0.1:{closed_port}"))),
                secret=fake.auth_token,
                received=lambda: len(fake.messages),
            )
    for channel in opened:
        channel.close()


def ids(results) -> list[int]:
    return [r.message_id for r in results]


def test_channel_implements_the_interface(peer):
    assert isinstance(peer.channel, Channel)
    assert peer.channel.name == peer.name
    assert peer.channel.dry_run is (peer.name == "log")
    parse_rate(peer.channel.rate)  # a rate the limiter understands


def test_one_result_per_message_keyed_by_message_id_in_batch_order(peer):
    batch = [peer.good(907), peer.good(12), peer.good(555)]
    if peer.permanent:
        batch.insert(1, peer.permanent(31))
    results = peer.channel.send(batch)
    assert ids(results) == [m.message_id for m in batch]
    accepted = [r for r in results if isinstance(r, Accepted)]
    assert {r.message_id for r in accepted} == {907, 12, 555}
    assert all(r.provider_id for r in accepted)


def test_each_result_is_reported_as_soon_as_the_provider_answered_not_at_the_end_of_the_batch(peer):
    # The dispatcher records these as they come, so a sender killed mid-batch loses only what is in flight.
    batch = [peer.good(41), peer.good(42), peer.good(43)]
    heard: list[tuple[int, int]] = []
    assert reports_each_result(peer.channel)
    results = peer.channel.send(batch, on_result=lambda result: heard.append((result.message_id, peer.received())))
    assert heard == [(41, 1), (42, 2), (43, 3)]  # the provider had taken exactly that many at each report
    assert ids(results) == [41, 42, 43] and all(isinstance(r, Accepted) for r in results)


def test_an_empty_batch_gives_no_results(peer):
    assert peer.channel.send([]) == []


def test_a_permanent_refusal_is_permanent_and_keeps_the_providers_code(peer):
    if peer.permanent is None:
        pytest.skip(f"{peer.name} has no provider that refuses a recipient")
    [result] = peer.channel.send([peer.permanent(7)])
    assert isinstance(result, Refused) and result.permanent
    assert (result.code == peer.permanent_code if peer.permanent_code else result.code.isdigit()) and result.reason


def test_a_transient_refusal_is_retried_later(peer):
    if peer.transient is None:
        pytest.skip(f"{peer.name} has no provider to ask for a retry")
    results = peer.channel.send([peer.transient(8), peer.good(9)])
    assert isinstance(results[0], Refused) and not results[0].permanent
    assert isinstance(results[1], Accepted)  # one refusal does not sink the rest of the batch


def test_a_provider_that_answers_too_late_makes_every_message_transient(peer):
    batch = [peer.good(1), peer.good(2), peer.good(3)]
    results = peer.slow().send(batch)  # must not raise
    assert ids(results) == [1, 2, 3]
    assert all(isinstance(r, Refused) and not r.permanent for r in results)


def test_an_unreachable_provider_makes_every_message_transient(peer):
    results = peer.unreachable().send([peer.good(1), peer.good(2)])  # must not raise
    assert ids(results) == [1, 2]
    assert all(isinstance(r, Refused) and not r.permanent and r.reason for r in results)


def test_close_is_idempotent_before_and_after_sending(peer):
    peer.channel.close()
    peer.channel.close()
    assert isinstance(peer.channel.send([peer.good(1)])[0], Accepted)  # a closed channel reopens on demand
    peer.channel.close()
    peer.channel.close()


def test_describe_never_shows_a_secret(peer):
    text = peer.channel.describe()
    assert text.startswith(peer.name + "://")
    if peer.secret:
        assert peer.secret not in text
        assert "****" in text


def test_a_message_no_provider_could_take_is_refused_for_good_without_sinking_the_batch(peer):
    good = peer.good(2)
    bad = (Outgoing(1, "email", good.to, body="x", subject="Line\nbreak") if good.channel == "email"
           else Outgoing(1, "sms", good.to, body=""))  # Twilio: 21602 body required
    if peer.name == "log":
        bad = Outgoing(1, "email", "a@example.com", body="x", subject="Line\nbreak")
    if peer.bad is not None:
        bad = peer.bad(1, good)
    results = peer.channel.send([bad, good])
    assert ids(results) == [1, 2]
    assert isinstance(results[0], Refused) and results[0].permanent
    assert isinstance(results[1], Accepted)
