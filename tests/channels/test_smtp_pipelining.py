"""smtp:// pipelines MAIL, RCPT and DATA when the server offers PIPELINING (RFC 2920), and classifies
every answer exactly as without it. The fake is tests/fakes/fake_smtp.py, told to offer PIPELINING."""

from __future__ import annotations

import time

import pytest
from aiosmtpd.controller import Controller

from channels import Accepted, Outgoing, Refused, open_channel
from tests.fakes import fake_smtp
from tests.fakes.fake_smtp import FakeSmtp


class _PipeliningHandler(fake_smtp._Handler):
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        responses = await super().handle_EHLO(server, session, envelope, hostname, responses)
        return [responses[0], "250-PIPELINING", *responses[1:]]


class _PipeliningController(fake_smtp._Controller):
    def __init__(self, fake: FakeSmtp, **kwargs) -> None:
        Controller.__init__(self, _PipeliningHandler(fake), hostname="127.0.0.1", port=fake_smtp.free_port(), **kwargs)
        self.fake = fake


class PipeliningSmtp(FakeSmtp):
    """The fake SMTP server, offering PIPELINING; aiosmtpd reads pipelined commands in order."""

    def start(self) -> PipeliningSmtp:
        kwargs: dict[str, object] = {"timeout": self.idle_timeout}
        self._controller = _PipeliningController(self, **kwargs)
        self._controller.start()
        return self


def mail(mid: int, to: str = "") -> Outgoing:
    return Outgoing(mid, "email", to or f"reader{mid}@example.com", subject="Sale", body=".dot\nPlain text",
                    html="<p>Rich</p>")


def test_the_channel_pipelines_when_offered_and_the_server_gets_every_message_whole():
    with PipeliningSmtp() as fake:
        channel = open_channel(fake.url + "?from=news@shop.example")
        results = channel.send([mail(i) for i in range(1, 6)])
        session = channel.pool.borrow()  # the session the batch went over, back in the shared pool
        assert session.has_extn("pipelining")
        channel.pool.give_back(session)
        channel.close()
    assert all(isinstance(r, Accepted) for r in results)
    assert [m.rcpt_tos for m in fake.messages] == [[f"reader{i}@example.com"] for i in range(1, 6)]
    assert all(m.mail_from == "news@shop.example" for m in fake.messages)
    body = fake.messages[0].message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert body == ".dot\nPlain text\n"  # a leading dot survives the transparency rule
    assert fake.connections == 1


def test_pipelined_refusals_are_classified_and_the_session_stays_in_step():
    with PipeliningSmtp(refuse={"gone@example.com": (550, "5.1.1 No such user")},
                        defer={"grey@example.com": (451, "4.7.1 Greylisted")}) as fake:
        channel = open_channel(fake.url + "?from=news@shop.example")
        results = channel.send([mail(1, "gone@example.com"), mail(2), mail(3, "grey@example.com"), mail(4)])
        channel.close()
    assert results[0] == Refused(1, permanent=True, code="550", reason="5.1.1 No such user", consent="bounced")
    assert isinstance(results[1], Accepted)
    assert results[2] == Refused(3, permanent=False, code="451", reason="4.7.1 Greylisted")
    assert isinstance(results[3], Accepted)
    assert [m.rcpt_tos for m in fake.messages] == [["reader2@example.com"], ["reader4@example.com"]]
    assert fake.connections == 1  # a refusal does not cost the session


def test_pipelined_421_is_retried_once_on_a_new_connection_then_transient():
    with PipeliningSmtp(defer={"a@example.com": (421, "4.3.2 Service shutting down")}) as fake:
        results = open_channel(fake.url + "?from=news@shop.example").send([mail(1, "a@example.com"), mail(2)])
    assert results[0] == Refused(1, permanent=False, code="421", reason="4.3.2 Service shutting down")
    assert isinstance(results[1], Accepted)
    assert fake.connections == 3


def test_pipelined_send_to_a_server_that_answers_too_late_times_out_once():
    with PipeliningSmtp(delay_seconds=2) as fake:
        started = time.monotonic()
        results = open_channel(fake.url + "?from=news@shop.example&timeout=0.3").send([mail(1), mail(2)])
    assert [r.code for r in results] == ["timeout", "timeout"]
    assert time.monotonic() - started < 1.5
    assert len(fake.messages) == 1  # not sent a second time


@pytest.mark.parametrize("to", ["Ann <ann@example.com>", "ann@example.com\r\nRCPT TO:<x@evil.example>"])
def test_a_recipient_that_is_not_a_bare_address_is_never_written_into_a_pipelined_command(to):
    with PipeliningSmtp() as fake:
        [result] = open_channel(fake.url + "?from=news@shop.example").send([mail(1, to)])
    if "\n" in to:
        assert isinstance(result, Refused) and result.permanent
        assert fake.messages == []
    else:
        assert isinstance(result, Accepted)
        assert [m.rcpt_tos for m in fake.messages] == [["ann@example.com"]]
