"""smtp://: one persistent connection, RFC 5321 classification, headers passed through, against aiosmtpd."""

from __future__ import annotations

import time

import pytest

from channels import Accepted, Outgoing, Refused, open_channel
from channels.smtp import is_throttle_reply
from tests.fakes.fake_smtp import FakeSmtp


def mail(mid: int, to: str = "", **kw) -> Outgoing:
    return Outgoing(mid, "email", to or f"reader{mid}@example.com", body="Plain text", subject="Sale", **kw)


def test_message_id_is_deterministic_from_herald_id_and_sender_domain(fake_smtp):
    channel = open_channel(fake_smtp.url + "?from=News <news@shop.example>")
    first = channel.send([mail(42)])
    again = channel.send([mail(42)])  # a retry of the same message
    assert first[0].provider_id == again[0].provider_id == "<herald.42@shop.example>"
    assert [m.message["Message-ID"] for m in fake_smtp.messages] == ["<herald.42@shop.example>"] * 2


def test_given_headers_pass_through_and_message_id_becomes_the_provider_id(fake_smtp):
    headers = {"Message-ID": "<run7.msg42@herald.example>", "List-Unsubscribe": "<https://h.example/u/42/abc>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    [result] = open_channel(fake_smtp.url + "?from=news@shop.example").send([mail(42, headers=headers)])
    assert result == Accepted(42, provider_id="<run7.msg42@herald.example>")
    received = fake_smtp.messages[0].message
    for name, value in headers.items():
        assert received[name] == value
    assert len(received.get_all("Message-ID")) == 1


def test_html_and_text_travel_as_multipart_alternative(fake_smtp):
    channel = open_channel(fake_smtp.url + "?from=news@shop.example")
    channel.send([mail(1, html="<p>Rich</p>"), mail(2)])
    rich, plain = (r.message for r in fake_smtp.messages)
    assert rich.get_content_type() == "multipart/alternative"
    assert rich.get_body(("html",)).get_content().strip() == "<p>Rich</p>"
    assert plain.get_content_type() == "text/plain"


def test_envelope_uses_the_bare_sender_and_the_one_recipient(fake_smtp):
    open_channel(fake_smtp.url, from_address="Herald <herald@shop.example>").send([mail(1, "ann@example.com")])
    received = fake_smtp.messages[0]
    assert (received.mail_from, received.rcpt_tos) == ("herald@shop.example", ["ann@example.com"])
    assert received.message["From"] == "Herald <herald@shop.example>"


def test_many_sends_share_one_connection(fake_smtp):
    channel = open_channel(fake_smtp.url + "?from=news@shop.example")
    for start in (1, 6, 11):
        results = channel.send([mail(i) for i in range(start, start + 5)])
        assert all(isinstance(r, Accepted) for r in results)
    assert len(fake_smtp.messages) == 15
    assert fake_smtp.connections == 1
    channel.close()


def test_reconnects_once_when_the_server_dropped_the_connection(fake_smtp):
    channel = open_channel(fake_smtp.url + "?from=news@shop.example")
    channel.send([mail(1)])
    fake_smtp.disconnect_clients()
    time.sleep(0.05)
    assert isinstance(channel.send([mail(2)])[0], Accepted)
    assert fake_smtp.connections == 2
    assert len(fake_smtp.messages) == 2


def test_reconnects_after_the_server_timed_out_an_idle_connection():
    with FakeSmtp(idle_timeout=0.3) as fake:
        channel = open_channel(fake.url + "?from=news@shop.example")
        channel.send([mail(1)])
        time.sleep(0.8)  # the server says 421 and hangs up
        assert isinstance(channel.send([mail(2)])[0], Accepted)
        assert fake.connections == 2


def test_550_is_permanent_and_451_transient_with_the_servers_words():
    with FakeSmtp(refuse={"gone@example.com": (550, "5.1.1 No such user")},
                  defer={"grey@example.com": (451, "4.7.1 Greylisted")}) as fake:
        results = open_channel(fake.url + "?from=news@shop.example").send(
            [mail(1, "gone@example.com"), mail(2, "grey@example.com"), mail(3)])
    assert results[0] == Refused(1, permanent=True, code="550", reason="5.1.1 No such user", consent="bounced")
    assert results[1] == Refused(2, permanent=False, code="451", reason="4.7.1 Greylisted")
    assert isinstance(results[2], Accepted)


def test_ses_throttling_454_is_retried_not_skipped():
    # listmonk #2974: SES answers "454 Throttling failure" and those recipients were silently lost.
    with FakeSmtp(defer={"a@example.com": (454, "4.7.0 Throttling failure: Maximum sending rate exceeded.")}) as fake:
        [result] = open_channel(fake.url + "?from=news@shop.example").send([mail(1, "a@example.com")])
    assert isinstance(result, Refused) and not result.permanent and result.code == "454"
    assert result.throttled  # retried without counting an attempt (campaigns/delivery/throttle.py)


@pytest.mark.parametrize(("code", "text", "throttled"), [
    (421, "4.7.0 Too many connections from your IP", True),
    (451, "4.7.500 Server busy. Please try again later. Too many messages", True),
    (450, "4.7.1 Sending rate exceeded, slow down", True),
    (421, "4.7.28 Our system has detected an unusual rate of unsolicited mail", True),
    (451, "4.7.1 Greylisted, try again in 5 minutes", False),
    (452, "4.2.2 Mailbox full", False),
    (550, "5.7.1 Too many recipients: rejected", False),  # permanent is never a throttle
])
def test_a_throttle_reply_is_told_apart_from_other_transient_replies(code, text, throttled):
    assert is_throttle_reply(code, text) is throttled


def test_authenticates_when_the_url_has_credentials():
    with FakeSmtp(auth={"mailer": "right-pw"}) as fake:
        ok = open_channel(fake.url + "?from=news@shop.example").send([mail(1)])
        bad = open_channel(f"smtp://mailer:wrong-pw@127.0.0.1:{fake.port}?from=news@shop.example").send(
            [mail(2), mail(3)])
    assert isinstance(ok[0], Accepted)
    # Wrong credentials are the operator's to fix: every message waits for a retry, none fails for good.
    assert [(r.permanent, r.code) for r in bad] == [(False, "535"), (False, "535")]


def test_refused_connection_is_transient_for_the_whole_batch(closed_port):
    results = open_channel(f"smtp://127.0.0.1:{closed_port}?from=news@shop.example").send([mail(1), mail(2)])
    assert [(r.message_id, r.permanent, r.code) for r in results] == [
        (1, False, "connection-refused"), (2, False, "connection-refused")]


def test_a_server_that_answers_too_late_times_out_without_raising():
    with FakeSmtp(delay_seconds=2) as fake:
        started = time.monotonic()
        results = open_channel(fake.url + "?from=news@shop.example&timeout=0.3").send([mail(1), mail(2), mail(3)])
    assert [r.code for r in results] == ["timeout"] * 3
    assert time.monotonic() - started < 1.5  # the rest of the batch is not tried against a dead server
    # The server got the first message before going quiet; it must not be sent a second time.
    assert len(fake.messages) == 1


def test_421_closes_the_session_and_is_retried_once_on_a_new_connection():
    with FakeSmtp(defer={"a@example.com": (421, "4.3.2 Service shutting down")}) as fake:
        channel = open_channel(fake.url + "?from=news@shop.example")
        results = channel.send([mail(1, "a@example.com"), mail(2)])
        assert results[0] == Refused(1, permanent=False, code="421", reason="4.3.2 Service shutting down")
        assert isinstance(results[1], Accepted)
        assert fake.connections == 3  # first try, the one retry, then a fresh session for message 2


def test_close_says_quit_and_a_later_send_reconnects(fake_smtp):
    channel = open_channel(fake_smtp.url + "?from=news@shop.example")
    channel.send([mail(1)])
    channel.close()
    channel.close()
    assert isinstance(channel.send([mail(2)])[0], Accepted)
    assert fake_smtp.connections == 2
