"""smtp://'s own RFC 5322 writer: what it sends parses back, with the stdlib parser, to what was rendered."""

from __future__ import annotations

import email
import email.policy
import re
from email.utils import parsedate_to_datetime

import pytest

from channels import Accepted, Outgoing, Refused, open_channel
from channels.mime import build_email, encode_email, encoded_words, header_line

CHINESE_SUBJECT = "春节特惠：会员专享八折优惠，仅限本周！🎉"
CHINESE_TEXT = "王小明，您好！\n春节快乐 🧧🐉\n退订：https://h.example/u/1/abc\n"
CHINESE_HTML = "<h1>王小明，您好！</h1><p>春节快乐 🧧🐉 — café</p>\n"


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def content(part: email.message.EmailMessage) -> str:
    """A text part's content; the parser keeps the CRLF line breaks that went over the wire."""
    return part.get_content().replace("\r\n", "\n")


def lines_of(raw: bytes) -> list[bytes]:
    assert raw.endswith(b"\r\n")
    return raw[:-2].split(b"\r\n")


def encode(message: Outgoing, sender: str = "news@shop.example") -> bytes:
    return encode_email(message, sender, default_domain="shop.example")[0]


def test_chinese_and_emoji_round_trip_through_a_real_smtp_server(fake_smtp):
    headers = {"Message-ID": "<run7.msg42@herald.example>", "List-Unsubscribe": "<https://h.example/u/42/abc>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    channel = open_channel(fake_smtp.url + "?from=黄记商店 <news@shop.example>")
    [result] = channel.send([Outgoing(42, "email", "wang@example.com", subject=CHINESE_SUBJECT, body=CHINESE_TEXT,
                                      html=CHINESE_HTML, headers=headers)])
    channel.close()
    assert result == Accepted(42, provider_id="<run7.msg42@herald.example>")
    received = fake_smtp.messages[0]
    parsed = received.message
    assert parsed["Subject"] == CHINESE_SUBJECT
    assert parsed["From"].addresses[0].display_name == "黄记商店"
    assert parsed["From"].addresses[0].addr_spec == "news@shop.example"
    assert parsed["To"] == "wang@example.com"
    for name, value in headers.items():
        assert parsed[name] == value
    assert parsed.get_content_type() == "multipart/alternative"
    assert content(parsed.get_body(("plain",))) == CHINESE_TEXT
    assert content(parsed.get_body(("html",))) == CHINESE_HTML
    assert parsedate_to_datetime(parsed["Date"]).tzinfo is not None
    assert parsed["MIME-Version"] == "1.0"
    assert received.raw.isascii()  # encoded for 7-bit transport: no server needs 8BITMIME or SMTPUTF8
    assert all(len(line) <= 78 for line in lines_of(received.raw))


def test_the_bytes_read_back_as_the_stdlib_built_message_does():
    message = Outgoing(5, "email", "ann@example.com", subject="Zoë, your 20% offer", body="Hi Zoë\nBye",
                       html="<p>Hi Zoë</p>", headers={"List-Unsubscribe": "<https://h.example/u/5/x>"})
    ours = parse(encode(message, "\"Shop, Inc.\" <news@shop.example>"))
    stdlib = parse(build_email(message, "\"Shop, Inc.\" <news@shop.example>").as_bytes())
    for name in ("Subject", "From", "To", "Message-ID", "List-Unsubscribe"):
        assert ours[name] == stdlib[name], name
    for kind in ("plain", "html"):
        assert content(ours.get_body((kind,))) == content(stdlib.get_body((kind,)))


def test_every_line_ends_in_crlf():
    raw = encode(Outgoing(1, "email", "a@example.com", subject="Hi", body="one\ntwo\r\nthree\rfour",
                          html="<p>\n</p>"))
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    assert content(parse(raw).get_body(("plain",))) == "one\ntwo\nthree\nfour\n"


def test_a_text_only_message_is_a_single_7bit_text_part():
    raw = encode(Outgoing(1, "email", "a@example.com", subject="Hi", body="Plain text"))
    parsed = parse(raw)
    assert parsed.get_content_type() == "text/plain"
    assert parsed["Content-Transfer-Encoding"] == "7bit"
    assert content(parsed) == "Plain text\n"


@pytest.mark.parametrize(("text", "encoding"), [
    ("Hello\nworld", "7bit"),
    ("Zoë's café is open for the spring sale\n" * 3, "quoted-printable"),  # mostly ASCII: stays readable
    (CHINESE_TEXT * 3, "base64"),  # quoted-printable would triple it
    ("x" * 200, "quoted-printable"),  # a line too long for 7bit
])
def test_each_part_takes_the_shorter_7bit_safe_transfer_encoding(text, encoding):
    parsed = parse(encode(Outgoing(1, "email", "a@example.com", subject="s", body=text)))
    assert parsed["Content-Transfer-Encoding"] == encoding
    assert content(parsed) == text.rstrip("\n") + "\n"


def test_long_lines_are_folded_and_read_back_whole():
    subject = " ".join(f"word{i}" for i in range(60)) + "  two  spaces"
    long_line = "<p>" + "a" * 3000 + "</p>"
    chinese_subject = "会员专享" * 40
    for message in [Outgoing(1, "email", "a@example.com", subject=subject, body=long_line, html=long_line),
                    Outgoing(2, "email", "a@example.com", subject=chinese_subject, body=chinese_subject)]:
        raw = encode(message)
        assert max(len(line) for line in lines_of(raw)) <= 78
        parsed = parse(raw)
        assert parsed["Subject"] == message.subject
        assert content(parsed.get_body(("plain",))) == message.body + "\n"


def test_a_subject_word_too_long_for_any_line_is_sent_as_encoded_words():
    subject = "x" * 1200
    raw = encode(Outgoing(1, "email", "a@example.com", subject=subject, body="b"))
    assert max(len(line) for line in lines_of(raw)) <= 78
    assert parse(raw)["Subject"] == subject


def test_a_structured_header_too_long_to_fold_is_refused_not_mangled():
    with pytest.raises(ValueError, match="List-Unsubscribe"):
        encode(Outgoing(1, "email", "a@example.com", subject="s",
                        headers={"List-Unsubscribe": "<https://h.example/" + "u" * 1000 + ">"}))


def test_ascii_that_looks_like_an_encoded_word_reads_back_literally():
    subject = "Use code =?utf-8?q?FREE?= today"
    assert parse(encode(Outgoing(1, "email", "a@example.com", subject=subject, body="b")))["Subject"] == subject


def test_encoded_words_stay_within_75_characters_and_never_split_a_character():
    words = encoded_words("🎉春" * 50)
    assert all(len(word) <= 75 for word in words)
    decoded = [email.header.decode_header(word)[0][0].decode("utf-8") for word in words]  # each alone is UTF-8
    assert "".join(decoded) == "🎉春" * 50


def test_a_line_starting_with_a_dot_survives_smtp_transparency(fake_smtp):
    body = "first\n.\n.hidden?\n..two"
    open_channel(fake_smtp.url + "?from=news@shop.example").send([Outgoing(1, "email", "a@example.com", body=body,
                                                                           subject="dots")])
    assert content(fake_smtp.messages[0].message) == body + "\n"


def test_the_boundary_is_random_and_absent_from_the_parts():
    message = Outgoing(1, "email", "a@example.com", subject="s", body="--=_herald_ text", html="<p>x</p>")
    boundaries = {parse(encode(message)).get_boundary() for _ in range(20)}
    assert len(boundaries) == 20
    assert all(re.fullmatch(r"=_herald_[0-9a-f]{24}", b) for b in boundaries)


@pytest.mark.parametrize("headers", [
    {},
    {"X-Campaign": "spring\r\nBcc: victim@example.com"},
    {"Reply-To": "a@example.com\nBcc: victim@example.com"},
])
@pytest.mark.parametrize("subject", ["Line\nbreak", "Line\rbreak", "ok"])
def test_a_line_break_in_any_header_is_refused_for_good_and_nothing_is_sent(fake_smtp, subject, headers):
    if subject == "ok" and not headers:
        pytest.skip("the valid combination")
    channel = open_channel(fake_smtp.url + "?from=news@shop.example")
    [refused, accepted] = channel.send([Outgoing(1, "email", "a@example.com", subject=subject, body="b",
                                                 headers=headers),
                                        Outgoing(2, "email", "b@example.com", subject="fine", body="b")])
    assert isinstance(refused, Refused) and refused.permanent and refused.code == "invalid-message"
    assert "line break" in refused.reason
    assert isinstance(accepted, Accepted)
    assert [m.rcpt_tos for m in fake_smtp.messages] == [["b@example.com"]]


def test_a_header_name_with_a_colon_or_space_is_refused():
    with pytest.raises(ValueError, match="header name"):
        encode(Outgoing(1, "email", "a@example.com", subject="s", body="b", headers={"Bcc: x@example.com\r\nX": "1"}))


def test_given_headers_replace_the_defaults_once_and_mime_headers_stay_ours():
    raw = encode(Outgoing(1, "email", "a@example.com", subject="mine", body="b",
                          headers={"subject": "theirs", "Content-Type": "text/evil", "Bcc": "x@example.com"}))
    parsed = parse(raw)
    assert parsed.get_all("Subject") == ["theirs"]
    assert parsed.get_content_type() == "text/plain" and parsed["Bcc"] is None


def test_a_display_name_with_specials_is_quoted():
    line = header_line("From", "x")  # plain values need no quoting
    assert line == "From: x"
    parsed = parse(encode(Outgoing(1, "email", "a@example.com", subject="s", body="b",
                                   headers={"Reply-To": '"Shop, Inc." <help@shop.example>'})))
    assert parsed["Reply-To"].addresses[0].display_name == "Shop, Inc."


def test_a_non_ascii_recipient_address_goes_the_stdlib_way_without_raising(fake_smtp):
    [result] = open_channel(fake_smtp.url + "?from=news@shop.example").send(
        [Outgoing(1, "email", "用户@例子.广告", subject="s", body="b")])
    assert result.message_id == 1  # the fake may or may not speak SMTPUTF8; either way one result, no exception
