"""DKIM signing over smtp://: the signature the server receives verifies against the public key in "DNS"."""

from __future__ import annotations

import base64
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from channels import Accepted, ChannelConfigError, Outgoing, open_channel


@pytest.fixture
def dkim_key(tmp_path: Path) -> tuple[Path, bytes]:
    """A private key file and the TXT record that publishes its public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def dns(record: bytes, expected_name: bytes):
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == expected_name else None
    return lookup


def test_a_signed_message_verifies_and_covers_the_one_click_headers(fake_smtp, dkim_key):
    path, record = dkim_key
    channel = open_channel(f"{fake_smtp.url}?from=News <news@shop.example>&dkim_key={path}&dkim_selector=mail2026")
    headers = {"List-Unsubscribe": "<https://h.example/u/1/sig>, <mailto:unsubscribe@shop.example?subject=u1>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    [result] = channel.send([Outgoing(1, "email", "ann@example.com", subject="春季促销 Spring sale", body="Hello",
                                      html="<p>Hello</p>", headers=headers)])
    channel.close()
    assert isinstance(result, Accepted)
    raw = fake_smtp.messages[0].raw
    signature = fake_smtp.messages[0].message["DKIM-Signature"]
    assert "d=shop.example" in signature and "s=mail2026" in signature
    assert "list-unsubscribe-post" in signature.lower()
    assert dkim.verify(raw, dnsfunc=dns(record, b"mail2026._domainkey.shop.example."))
    tampered = raw.replace(b"https://h.example/u/1/sig", b"https://evil.example/u/1/sig")
    assert not dkim.verify(tampered, dnsfunc=dns(record, b"mail2026._domainkey.shop.example."))


def test_dkim_domain_can_differ_from_the_sender_domain(fake_smtp, dkim_key):
    path, record = dkim_key
    channel = open_channel(f"{fake_smtp.url}?from=news@shop.example&dkim_key={path}&dkim_selector=s1"
                           "&dkim_domain=mail.shop.example")
    channel.send([Outgoing(2, "email", "ann@example.com", subject="Hi", body="Hello")])
    channel.close()
    assert dkim.verify(fake_smtp.messages[0].raw, dnsfunc=dns(record, b"s1._domainkey.mail.shop.example."))


@pytest.mark.parametrize(("query", "words"), [
    ("dkim_key={missing}&dkim_selector=s1", "cannot be read"),
    ("dkim_key={garbage}&dkim_selector=s1", "not an RSA private key"),
    ("dkim_key={good}", "dkim_selector"),
    ("dkim_selector=s1", "dkim_key"),
])
def test_a_dkim_setting_that_cannot_work_stops_the_channel_with_the_fix(tmp_path, dkim_key, query, words):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    query = query.format(missing=tmp_path / "nope.pem", garbage=garbage, good=dkim_key[0])
    with pytest.raises(ChannelConfigError, match=words):
        open_channel(f"smtp://127.0.0.1:2525?from=news@shop.example&{query}")
