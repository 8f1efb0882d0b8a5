"""The email message itself, as MIME bytes: written directly for speed, or with the stdlib for the rare case.

Every email adapter uses this module: smtp:// sends the bytes, log:// writes them to .eml files, and
https-email:// reads back the Message-ID. The Message-ID is deterministic (`<herald.ID@domain>`, or the
dispatcher's own), so a resend carries the same id, receivers can de-duplicate, and a bounce that
quotes it (RFC 3464) finds its message again (campaigns/responses/bounces.py).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import secrets
import time
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses, parseaddr

from channels.base import Outgoing


def build_email(message: Outgoing, from_address: str) -> EmailMessage:
    """The MIME message for `message` built with the stdlib `email` package: text and, when given,
    HTML as multipart/alternative. The log:// channel writes it to .eml files; SmtpChannel uses it
    only for a non-ASCII address and otherwise writes the same message itself (encode_email).

    Headers from `message.headers` (Message-ID, List-Unsubscribe, …) are passed through; when no
    Message-ID was given, a deterministic one is made from Herald's message id, so a resend of the
    same message carries the same id and receivers can de-duplicate it.
    """
    email = EmailMessage()
    email["From"] = from_address
    email["To"] = message.to
    email["Subject"] = message.subject
    for name, value in message.headers.items():
        del email[name]  # a header given twice must not appear twice
        email[name] = value
    if "Message-ID" not in email:
        domain = parseaddr(from_address)[1].rpartition("@")[2] or "localhost"
        email["Message-ID"] = f"<herald.{message.message_id}@{domain}>"
    email.set_content(message.body or "")
    if message.html:
        email.add_alternative(message.html, subtype="html")
    return email


# ------------------------------------------------------------------ the message, as bytes
# Building the message with the stdlib `email` package (header registry, content manager, generator)
# cost more than rendering and SMTP together: most of a naive send loop's time (issue 4). A campaign
# message has one shape — a few headers and one or two text parts — so it is written out directly
# here, following RFC 5322 (format, CRLF, lines <= 998 and folded to <= 78 where there is a space),
# RFC 2045/2046 (MIME parts, 7bit / quoted-printable / base64) and RFC 2047 (encoded words for
# non-ASCII header text). The rare message this writer does not handle — an address that is not
# ASCII, which needs SMTPUTF8 — goes through build_email() and smtplib's send_message() as before.
MAX_LINE = 78  # RFC 5322 §2.1.1: SHOULD be no more than 78 characters, excluding the CRLF
MAX_HARD_LINE = 998  # ... and MUST be no more than 998
_CRLF = "\r\n"
# RFC 5322 §3.6.4-3.6.8: headers whose value has structure a line break or an encoded word must not cut.
_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to", "sender"})
# Ours to write (the MIME structure) or never to transmit (Bcc: smtplib's send_message drops it too).
_DROPPED_HEADERS = frozenset({"mime-version", "bcc", "resent-bcc", "content-type", "content-transfer-encoding"})
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 §2.2 ftext: printable ASCII except the colon
_LINE_BREAK = re.compile(r"[\r\n]")
# Header text that must travel as RFC 2047 encoded words: anything but printable ASCII, space and tab,
# or ASCII that a reader would mistake for an encoded word.
_NEEDS_ENCODED_WORDS = re.compile(r"[^\t\x20-\x7e]|=\?")
_NOT_7BIT = re.compile(r"[^\t\n\x20-\x7e]")
_DOT_AT_LINE_START = re.compile(rb"^\.", re.MULTILINE)
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+")
# Encoded word "=?utf-8?b?…?=": 12 characters around the base64 text, at most 75 in all (RFC 2047 §2).
_WORD_OVERHEAD = 12
_WORD_BYTES = 45  # 60 base64 characters: a continuation line " =?utf-8?b?…?=" is 73 long


class NeedsSmtpUtf8(ValueError):
    """An address is not ASCII: the message needs SMTPUTF8 (RFC 6531), which the stdlib path handles."""


def encode_email(message: Outgoing, from_header: str, *, default_domain: str) -> tuple[bytes, str]:
    """The message as RFC 5322 bytes with CRLF line endings, and its Message-ID.

    `from_header` is the From value already encoded (see `address_header`). Headers in
    `message.headers` pass through and may replace From/To/Subject; MIME headers are ours. Without a
    Message-ID header one is made from Herald's id and `default_domain`, so a resent message keeps its id.
    Raises ValueError for a message no server should take (a line break in a header, a header name or
    an unfoldable line that breaks RFC 5322), NeedsSmtpUtf8 for a non-ASCII address.
    """
    headers = {"from": ("From", from_header), "to": ("To", address_header(message.to, "To")),
               "subject": ("Subject", message.subject)}
    for name, value in message.headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f'header name "{name}" is not allowed: RFC 5322 allows printable ASCII without ":"')
        key = name.lower()
        if key in _DROPPED_HEADERS:
            continue
        headers[key] = (name, address_header(value, name) if key in _ADDRESS_HEADERS else value)
    if "message-id" not in headers:
        headers["message-id"] = ("Message-ID", f"<herald.{message.message_id}@{default_domain}>")
    message_id = headers["message-id"][1]
    lines = [header_line(name, value, address=key in _ADDRESS_HEADERS) for key, (name, value) in headers.items()]
    lines.append(f"Date: {_date_header(int(time.time()))}")
    lines.append("MIME-Version: 1.0")
    text = _text_part(message.body or "", "plain")
    if not message.html:
        return (_CRLF.join(lines) + _CRLF).encode("ascii") + text, message_id
    html = _text_part(message.html, "html")
    boundary = _boundary(text, html)
    lines.append(f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"')
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    # The CRLF before each "--boundary" belongs to the delimiter (RFC 2046 §5.1.1), so every part
    # keeps its own final line break, as the stdlib generator writes it.
    return b"".join((
        (_CRLF.join(lines) + _CRLF + _CRLF + f"--{boundary}\r\n").encode("ascii"),
        text, delimiter, html, f"\r\n--{boundary}--\r\n".encode("ascii"),
    )), message_id


def address_header(value: str, name: str) -> str:
    """An address header's value with non-ASCII display names as encoded words; ASCII addresses only.

    Raises ValueError on a line break, NeedsSmtpUtf8 on a non-ASCII address.
    """
    if _PLAIN_ADDRESS.fullmatch(value):  # the usual case, a bare address: nothing to parse
        return value
    if _LINE_BREAK.search(value):
        raise ValueError(f"header {name} contains a line break: {value!r}; no mail server accepts that")
    formatted = []
    for display, address in getaddresses([value]):
        if not address.isascii():
            raise NeedsSmtpUtf8(f"header {name} has a non-ASCII address {address!r}")
        if not display:
            formatted.append(address)
        elif _NEEDS_ENCODED_WORDS.search(display):
            formatted.append(" ".join(encoded_words(display)) + f" <{address}>")
        else:
            formatted.append(formataddr((display, address)))
    return ", ".join(formatted)


def header_line(name: str, value: str, *, address: bool = False) -> str:
    """`Name: value`, folded at spaces to lines of at most 78 characters where the value allows.

    Unstructured text (Subject and most others) that is not printable ASCII, or that has a word too
    long to fit in 998 characters, is written as RFC 2047 encoded words. Raises ValueError for a line
    break in the value, or a structured value (an address, a Message-ID, a URL) longer than 998
    characters without a space to fold at.
    """
    if _LINE_BREAK.search(value):
        raise ValueError(f"header {name} contains a line break: {value!r}; no mail server accepts that")
    if not address and _NEEDS_ENCODED_WORDS.search(value):
        return _fold(name, " ".join(encoded_words(value, first=MAX_LINE - len(name) - 2)))
    folded = _fold(name, value)
    if len(folded) > MAX_HARD_LINE and max(map(len, folded.split(_CRLF))) > MAX_HARD_LINE:
        if address or name.lower() in ("message-id", "in-reply-to", "references") or name.lower().startswith("list-"):
            raise ValueError(f"header {name} has a line of more than {MAX_HARD_LINE} characters with no space to "
                             "fold at (RFC 5322 §2.1.1); shorten it")
        return _fold(name, " ".join(encoded_words(value, first=MAX_LINE - len(name) - 2)))
    return folded


def encoded_words(text: str, *, first: int = MAX_LINE) -> list[str]:
    """`text` as RFC 2047 "B" encoded words of UTF-8, never cutting a character in two.

    `first` is the room left on the header's first line, so that line stays within 78 characters.
    Adjacent encoded words decode to their concatenation (RFC 2047 §6.2), so spaces survive.
    """
    data = text.encode("utf-8")
    words = []
    budget = min(_WORD_BYTES, max(9, (first - _WORD_OVERHEAD) // 4 * 3))
    start = 0
    while start < len(data):
        end = min(start + budget, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte: cut before its character
            end -= 1
        words.append(f"=?utf-8?b?{binascii.b2a_base64(data[start:end], newline=False).decode('ascii')}?=")
        start, budget = end, _WORD_BYTES
    return words


def _fold(name: str, value: str) -> str:
    line = f"{name}: {value}"
    if len(line) <= MAX_LINE:
        return line
    # Fold only before an existing space: unfolding (RFC 5322 §2.2.3) removes just the CRLF, so the
    # value reads back unchanged. A line is never folded into whitespace alone.
    words = value.split(" ")
    lines: list[str] = []
    current = f"{name}: {words[0]}"
    for word in words[1:]:
        if len(current) + 1 + len(word) > MAX_LINE and current.strip(" ") and word:
            lines.append(current)
            current = " " + word
        else:
            current += " " + word
    lines.append(current)
    return _CRLF.join(lines)


def _text_part(text: str, subtype: str) -> bytes:
    """One text/* part, headers and body: 7bit when it is short-lined ASCII, else the shorter of
    quoted-printable and base64 of its UTF-8 (as the stdlib chooses, but never 8bit, so no server
    needs 8BITMIME). The text ends with a line break, as set_content() makes it."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    if not _NOT_7BIT.search(text) and max(map(len, text.split("\n"))) <= MAX_LINE:
        encoding, body = "7bit", text.encode("ascii").replace(b"\n", b"\r\n")
    else:
        data = text.encode("utf-8")
        body = binascii.b2a_qp(data, istext=True)  # lines of at most 76, soft breaks "=\n"
        if len(body) <= (len(data) + 2) // 3 * 4 * 78 // 76:
            encoding, body = "quoted-printable", body.replace(b"\n", b"\r\n")
        else:
            # Of text in its canonical form, CRLF line breaks (RFC 2046 §4.1.1), as the other two carry it.
            data = data.replace(b"\n", b"\r\n")
            encoding, body = "base64", base64.encodebytes(data).replace(b"\n", b"\r\n")
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n'
    return head.encode("ascii") + body


def _boundary(*parts: bytes) -> str:
    # "=_" cannot occur in quoted-printable or base64 text; a 7bit part is checked, and the random
    # part makes a clash with anything a template wrote practically impossible anyway.
    while True:
        boundary = f"=_herald_{secrets.token_hex(12)}"
        encoded = boundary.encode("ascii")
        if not any(encoded in part for part in parts):
            return boundary


@functools.lru_cache(maxsize=2)
def _date_header(second: int) -> str:
    # RFC 5322 §3.6.1 requires a Date; formatted once per second, not once per message.
    return formatdate(second, usegmt=True)
