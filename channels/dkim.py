"""DKIM signing (RFC 6376) of outgoing mail with dkimpy, when the channel URL names a key.

    smtp://relay:587?starttls=1&from=news@shop.example&dkim_key=/etc/herald/dkim.pem&dkim_selector=mail2026

The domain defaults to the sender address's domain (what DMARC aligns with); `dkim_domain=` sets
another. The signature covers the headers a receiver shows or acts on, List-Unsubscribe and
List-Unsubscribe-Post included: RFC 8058 §4 asks for them to be signed, or one-click is not offered.
"""

from __future__ import annotations

from pathlib import Path

import dkim as dkimpy
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

from channels.base import ChannelConfigError

SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type", b"reply-to",
    b"list-unsubscribe", b"list-unsubscribe-post",
)


class DkimSigner:
    """Signs message bytes for one (selector, domain, key); the key is read and checked once, at opening."""

    def __init__(self, *, selector: str, domain: str, key_path: str, where: str) -> None:
        if not selector:
            raise ChannelConfigError(f"{where}: dkim_key is set but dkim_selector is not; add dkim_selector=NAME, "
                                     "the selector whose TXT record at NAME._domainkey.DOMAIN holds the public key")
        path = Path(key_path)
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise ChannelConfigError(f"{where}: the DKIM key file {key_path} cannot be read ({exc.strerror}); "
                                     "check dkim_key= and the file's permissions") from None
        try:
            parse_pem_private_key(key)
        except (UnparsableKeyError, ValueError, IndexError):
            raise ChannelConfigError(f"{where}: {key_path} is not an RSA private key in PEM form; make one with "
                                     "`openssl genrsa -out dkim.pem 2048`") from None
        self.selector = selector
        self.domain = domain
        self._key = key

    def sign(self, data: bytes) -> bytes:
        """`data` (RFC 5322 bytes with CRLF line ends) with a DKIM-Signature header in front."""
        present = {line.split(b":", 1)[0].strip().lower() for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
                   if line and line[:1] not in (b" ", b"\t")}
        signature = dkimpy.sign(data, self.selector.encode("ascii"), self.domain.encode("ascii"), self._key,
                                include_headers=[h for h in SIGNED_HEADERS if h in present], linesep=b"\r\n")
        return signature + data
