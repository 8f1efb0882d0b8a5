"""log://: every message lands in a file a person can open; nothing claims to be delivered."""

from __future__ import annotations

import email
import email.policy

from channels import Accepted, Outgoing, open_channel


def test_sms_is_written_as_text_with_recipient_segments_and_body(tmp_path):
    channel = open_channel(f"log://{tmp_path / 'outbox'}")
    [result] = channel.send([Outgoing(5, "sms", "+8613800138000", body="【公司名】生日快乐")])
    assert result == Accepted(5, provider_id="log:message-5.txt", segments=1)
    text = (tmp_path / "outbox" / "message-5.txt").read_text(encoding="utf-8")
    assert "To: +8613800138000\n" in text
    assert "Segments: 1 (UCS-2" in text
    assert text.endswith("\n【公司名】生日快乐\n")


def test_email_is_a_real_eml_with_headers_and_both_parts(tmp_path):
    channel = open_channel(f"log://{tmp_path}", from_address="Shop <news@shop.example>")
    message = Outgoing(9, "email", "ann@example.com", body="Hi Ann", subject="Spring sale", html="<p>Hi Ann</p>",
                       headers={"List-Unsubscribe": "<https://herald.example/u/9/sig>"})
    [result] = channel.send([message])
    assert result == Accepted(9, provider_id="log:message-9.eml")
    parsed = email.message_from_bytes((tmp_path / "message-9.eml").read_bytes(), policy=email.policy.default)
    assert parsed["From"] == "Shop <news@shop.example>"
    assert parsed["To"] == "ann@example.com"
    assert parsed["Subject"] == "Spring sale"
    assert parsed["Message-ID"] == "<herald.9@shop.example>"
    assert parsed["List-Unsubscribe"] == "<https://herald.example/u/9/sig>"
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hi Ann"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hi Ann</p>"


def test_a_retry_of_the_same_message_rewrites_its_file(tmp_path):
    channel = open_channel(f"log://{tmp_path}")
    channel.send([Outgoing(3, "sms", "+15551230003", body="first try")])
    channel.send([Outgoing(3, "sms", "+15551230003", body="second try")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["message-3.txt"]  # no temp files left either
    assert "second try" in (tmp_path / "message-3.txt").read_text()


def test_log_channel_is_a_dry_run(tmp_path):
    channel = open_channel(f"log://{tmp_path}")
    assert channel.dry_run is True
    assert all(r.provider_id.startswith("log:") for r in channel.send([Outgoing(1, "sms", "+15551230001", "x")]))


def test_an_unwritable_outbox_refuses_transiently_with_the_os_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    [result] = open_channel(f"log://{blocker}/outbox").send([Outgoing(1, "sms", "+15551230001", "x")])
    assert not result.permanent
    assert result.code in ("ENOTDIR", "EEXIST")
    assert str(blocker) in result.reason
