"""smtp:// under faults, against aiosmtpd: the shared session pool, 421s, dropped connections, TLS.

What matters for each recipient: in the end exactly one message kept by the server and an Accepted,
or none kept and a Refused that says why — never a lost message reported sent, never a copy.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from channels import Accepted, Outgoing, Refused, open_channel
from channels.smtp_pool import _pools
from tests.fakes.certs import TestPki
from tests.fakes.fake_smtp import FakeSmtp


def mail(mid: int, to: str = "") -> Outgoing:
    return Outgoing(mid, "email", to or f"reader{mid}@example.com", body="Plain text", subject="Sale")


def test_a_421_then_ok_delivers_the_message_once_on_a_new_session():
    with FakeSmtp(script={"a@example.com": [(421, "4.3.2 Too busy, come back")]}) as fake:
        channel = open_channel(fake.url + "?from=news@shop.example")
        results = channel.send([mail(1, "a@example.com"), mail(2)])
        channel.close()
    assert [type(r) for r in results] == [Accepted, Accepted]
    assert fake.accepted_for("a@example.com") == 1
    assert fake.connections == 2  # the 421 closed the first session


def test_a_421_after_the_message_means_not_taken_so_it_is_resent_once():
    with FakeSmtp(script={"a@example.com": [("data", 421, "4.3.2 Shutting down, message not queued")]}) as fake:
        channel = open_channel(fake.url + "?from=news@shop.example")
        [result] = channel.send([mail(1, "a@example.com")])
        channel.close()
    assert isinstance(result, Accepted)
    assert fake.accepted_for("a@example.com") == 1 and fake.connections == 2


def test_a_connection_dropped_at_rcpt_is_resent_once_on_a_new_session():
    with FakeSmtp(script={"a@example.com": ["drop"]}) as fake:
        channel = open_channel(fake.url + "?from=news@shop.example")
        results = channel.send([mail(1), mail(2, "a@example.com"), mail(3)])
        channel.close()
    assert all(isinstance(r, Accepted) for r in results)
    assert [fake.accepted_for(f"reader{i}@example.com") for i in (1, 3)] == [1, 1]
    assert fake.accepted_for("a@example.com") == 1


def test_dropped_twice_is_transient_with_the_reason_and_nothing_was_kept():
    with FakeSmtp(script={"a@example.com": ["drop", "drop"]}) as fake:
        channel = open_channel(fake.url + "?from=news@shop.example")
        [result] = channel.send([mail(1, "a@example.com")])
        channel.close()
    assert isinstance(result, Refused) and not result.permanent
    assert result.code == "disconnected" and "closed the connection" in result.reason
    assert fake.accepted_for("a@example.com") == 0


def test_a_connection_lost_after_the_message_was_kept_is_not_resent_at_once():
    # The server kept it but hung up before answering: resending now would deliver it twice.
    with FakeSmtp(script={"a@example.com": ["drop-after-data"]}) as fake:
        channel = open_channel(fake.url + "?from=news@shop.example")
        results = channel.send([mail(1, "a@example.com"), mail(2)])
        channel.close()
    assert isinstance(results[0], Refused) and not results[0].permanent and results[0].code == "no-reply"
    assert "same Message-ID" in results[0].reason
    assert isinstance(results[1], Accepted)  # the batch goes on over a new session
    assert fake.accepted_for("a@example.com") == 1


def test_a_451_at_the_end_of_data_is_transient_and_a_550_permanent_with_the_servers_words():
    with FakeSmtp(script={"a@example.com": [("data", 451, "4.3.0 Queue full")],
                          "b@example.com": [("data", 554, "5.7.1 Message rejected as spam")]}) as fake:
        results = open_channel(fake.url + "?from=news@shop.example").send(
            [mail(1, "a@example.com"), mail(2, "b@example.com"), mail(3)])
    assert results[0] == Refused(1, permanent=False, code="451", reason="4.3.0 Queue full")
    assert results[1] == Refused(2, permanent=True, code="554", reason="5.7.1 Message rejected as spam")
    assert isinstance(results[2], Accepted)
    assert fake.accepted_for("a@example.com") == fake.accepted_for("b@example.com") == 0


def test_sender_threads_share_at_most_pool_sessions_and_every_recipient_ends_once():
    faults = {"r5@example.com": [(421, "4.3.2 Busy")], "r9@example.com": ["drop"],
              "r13@example.com": [(450, "4.2.1 Mailbox busy")], "r17@example.com": [(550, "5.1.1 No such user")],
              "r21@example.com": ["drop", "drop"]}
    with FakeSmtp(script=faults) as fake:
        url = fake.url + "?from=news@shop.example&pool=2"
        results: dict[int, Accepted | Refused] = {}
        lock = threading.Lock()

        def sender(first: int) -> None:
            channel = open_channel(url)  # one channel per thread, as the embedded sender makes them
            try:
                for start in range(first, 48, 16):
                    batch = [mail(i, f"r{i}@example.com") for i in range(start, start + 4)]
                    for result in channel.send(batch):
                        with lock:
                            results[result.message_id] = result
            finally:
                channel.close()

        threads = [threading.Thread(target=sender, args=(first,)) for first in (0, 4, 8, 12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        max_open, port = fake.connections, fake.port
    assert sorted(results) == list(range(48))
    for mid, result in results.items():
        kept = fake.accepted_for(f"r{mid}@example.com")
        assert kept == (1 if isinstance(result, Accepted) else 0), (mid, result)
    assert results[13] == Refused(13, permanent=False, code="450", reason="4.2.1 Mailbox busy")
    assert results[17] == Refused(17, permanent=True, code="550", reason="5.1.1 No such user",
                            consent="bounced")
    assert isinstance(results[21], Refused) and results[21].code == "disconnected"
    assert all(isinstance(results[i], Accepted) for i in (5, 9))
    # A server that hung up twice running is not tried again for the rest of that batch (r22, r23).
    assert all(not results[i].permanent and "an earlier message" in results[i].reason for i in (22, 23))
    assert sum(isinstance(r, Accepted) for r in results.values()) == 43
    # Four threads, two pooled sessions, plus one replacement for each session a fault closed (421, 3 drops).
    assert max_open <= 2 + 4
    assert all(key.port != port for key in _pools)  # every channel closed: the pool said QUIT and is gone


def test_the_pool_is_shared_by_channels_of_one_server_and_closed_by_the_last(fake_smtp):
    first = open_channel(fake_smtp.url + "?from=news@shop.example&pool=1")
    second = open_channel(fake_smtp.url + "?from=offers@shop.example&pool=1")
    first.send([mail(1)])
    second.send([mail(2)])
    assert first.pool is second.pool and fake_smtp.connections == 1
    first.close()
    assert second.send([mail(3)])[0] == Accepted(3, provider_id="<herald.3@shop.example>")
    second.close()
    assert fake_smtp.connections == 1 and all(key.port != fake_smtp.port for key in _pools)


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_with_a_private_ca_given_as_cafile(tmp_path: Path, mode: str):
    pki = TestPki(tmp_path)
    with FakeSmtp(tls_context=pki.server_context(), implicit_tls=mode == "ssl") as fake:
        channel = open_channel(f"{fake.url}?{mode}=1&cafile={pki.ca_file}&from=news@shop.example")
        [result] = channel.send([mail(1)])
        channel.close()
    assert isinstance(result, Accepted)
    assert fake.accepted_for("reader1@example.com") == 1


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_an_untrusted_certificate_is_transient_with_a_reason_that_names_the_fix(tmp_path: Path, mode: str):
    pki = TestPki(tmp_path)
    with FakeSmtp(tls_context=pki.server_context(), implicit_tls=mode == "ssl") as fake:
        channel = open_channel(f"{fake.url}?{mode}=1&from=news@shop.example&timeout=2")
        results = channel.send([mail(1), mail(2)])
        channel.close()
    assert [(r.permanent, r.code) for r in results] == [(False, "tls-error")] * 2
    assert "cafile=" in results[0].reason and "CERTIFICATE_VERIFY_FAILED" in results[0].reason
    assert fake.messages == []


def test_a_server_that_requires_starttls_refuses_a_plain_session(tmp_path: Path):
    pki = TestPki(tmp_path)
    with FakeSmtp(tls_context=pki.server_context()) as fake:
        [result] = open_channel(fake.url + "?from=news@shop.example").send([mail(1)])
    # The operator's to fix (starttls=1), not the recipient's fault: retried later, never failed for good.
    assert isinstance(result, Refused) and not result.permanent and result.code == "530"
    assert "STARTTLS" in result.reason
