"""Email over SMTP: `smtp://[user:pass@]host[:port]?starttls=1|ssl=1&from=addr&timeout=10&helo=name&rate=N/second`.

One persistent connection per channel instance, opened on the first send and reused; if the server
dropped it while idle (SMTPServerDisconnected) it is reopened once. Classification follows RFC 5321
reply codes: 5xx is permanent, 4xx is transient (so Amazon SES's "454 Throttling failure" is retried,
not skipped — listmonk #2974). A connection that cannot be made or breaks makes the current message
and every later one in the batch transient; `send()` never raises for that.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import secrets
import smtplib
import ssl
import threading
import time
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses, parseaddr

from channels.base import Accepted, ChannelConfigError, Outgoing, Refused, SendResult
from channels.ratelimit import parse_rate
from channels.urls import parse_channel_url

SCHEME = "smtp"
DEFAULT_RATE = "10/second"  # well under SES's and most relays' defaults; raise it with rate=
DEFAULT_TIMEOUT_SECONDS = 10.0
OPTIONS = ("starttls", "ssl", "from", "timeout", "helo", "rate")


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


def from_url(url: str, *, from_address: str = "") -> SmtpChannel:
    """Open an SMTP channel from its URL (nothing is connected yet). Raises ChannelConfigError."""
    parsed = parse_channel_url(url, scheme=SCHEME, options=OPTIONS)
    if not parsed.host:
        raise ChannelConfigError(f'channel URL "{parsed.describe()}" has no host; write smtp://host:587?starttls=1')
    use_ssl, starttls = parsed.flag("ssl"), parsed.flag("starttls")
    if use_ssl and starttls:
        raise ChannelConfigError(
            f'channel URL "{parsed.describe()}" asks for both ssl=1 and starttls=1; '
            "use ssl=1 for port 465 (implicit TLS) or starttls=1 for port 587, not both"
        )
    sender = parsed.query.get("from") or from_address
    if not parseaddr(sender)[1]:
        raise ChannelConfigError(
            f'channel URL "{parsed.describe()}" has no sender address; add from=news@example.com to the URL '
            "or set [channels.email] from_address"
        )
    rate = parsed.query.get("rate", DEFAULT_RATE)
    parse_rate(rate, where=f'channel URL "{parsed.describe()}": rate')
    return SmtpChannel(
        host=parsed.host,
        port=parsed.port or (465 if use_ssl else 587 if starttls else 25),
        username=parsed.username,
        password=parsed.password,
        use_ssl=use_ssl,
        starttls=starttls,
        from_address=sender,
        timeout=parsed.number("timeout", DEFAULT_TIMEOUT_SECONDS),
        helo=parsed.query.get("helo") or None,
        rate=rate,
        description=parsed.describe(),
    )


class SmtpChannel:
    name = "smtp"
    dry_run = False

    def __init__(self, *, host: str, port: int, username: str, password: str, use_ssl: bool, starttls: bool,
                 from_address: str, timeout: float, helo: str | None, rate: str, description: str) -> None:
        self.host, self.port = host, port
        self._username, self._password = username, password
        self.use_ssl, self.starttls = use_ssl, starttls
        self.from_address = from_address
        self.envelope_from = parseaddr(from_address)[1]
        self.timeout, self.helo, self.rate = timeout, helo, rate
        self._description = description
        self.domain = self.envelope_from.rpartition("@")[2] or "localhost"
        try:  # the same for every message: encoded once
            self._from_header: str | None = address_header(from_address, "From")
        except ValueError:  # a non-ASCII sender address: every message takes the stdlib path
            self._from_header = None
        self._conn: smtplib.SMTP | None = None
        # A channel instance belongs to one worker; the lock only turns accidental sharing into
        # waiting instead of two threads interleaving commands on one SMTP session.
        self._lock = threading.Lock()

    def describe(self) -> str:
        return self._description

    def send(self, batch: Sequence[Outgoing]) -> list[SendResult]:
        """Send each message over the one connection; one result per message, in batch order."""
        results: list[SendResult] = []
        with self._lock:
            broken: tuple[str, str] | None = None
            for message in batch:
                if broken:
                    code, reason = broken
                    results.append(Refused(message.message_id, False, code,
                                           f"not sent, an earlier message in the batch got: {reason}"))
                    continue
                result = self._send_one(message)
                if isinstance(result, tuple):  # the connection failed: this and the rest are transient
                    broken = result
                    results.append(Refused(message.message_id, False, *broken))
                else:
                    results.append(result)
        return results

    def close(self) -> None:
        """Say QUIT if connected; safe to call any number of times."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()

    # ------------------------------------------------------------------ internals
    def _send_one(self, message: Outgoing) -> SendResult | tuple[str, str]:
        """A result for the message, or (code, reason) when the connection itself failed."""
        encoded = self._encode(message)
        if isinstance(encoded, Refused):
            return encoded
        for attempt in (1, 2):
            try:
                conn = self._connect()
                if isinstance(encoded, EmailMessage):
                    conn.send_message(encoded, from_addr=self.envelope_from, to_addrs=[message.to])
                    return Accepted(message.message_id, provider_id=str(encoded["Message-ID"]))
                data, message_id = encoded
                self._transmit(conn, message.to, data)
                return Accepted(message.message_id, provider_id=message_id)
            except smtplib.SMTPServerDisconnected as exc:
                self._drop()
                if isinstance(exc.__context__, TimeoutError):
                    # smtplib reports a reply that never came as a disconnect. The server may be
                    # holding the message; resending could deliver it twice, so no retry here.
                    return ("timeout", f"{self.host}:{self.port} did not answer within {self.timeout:g}s")
                if attempt == 2:
                    return ("disconnected", f"{self.host}:{self.port} closed the connection: {exc}")
                continue  # most likely an idle connection the server closed: reconnect once and resend
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                refused = _refused(message, code, reply)
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                refused = _refused(message, exc.smtp_code, exc.smtp_error)
            except smtplib.SMTPResponseException as exc:  # HELO/AUTH/STARTTLS refused: the session is unusable
                self._drop()
                return (str(exc.smtp_code), _text(exc.smtp_error))
            except TimeoutError:
                self._drop()
                return ("timeout", f"{self.host}:{self.port} did not answer within {self.timeout:g}s")
            except ConnectionRefusedError:
                self._drop()
                return ("connection-refused", f"{self.host}:{self.port} refused the connection")
            except (smtplib.SMTPException, OSError) as exc:  # DNS, TLS, reset, STARTTLS unsupported
                self._drop()
                return ("connection-error", f"{self.host}:{self.port}: {type(exc).__name__}: {exc}")
            if refused.code == "421":
                # "Service not available, closing transmission channel" (RFC 5321 §3.8): this session
                # is over, whatever command got it. Reconnect once; if it says 421 again, retry later.
                self._drop()
                if attempt == 1:
                    continue
            return refused
        raise AssertionError("unreachable: the loop returns on its second attempt")

    def _transmit(self, conn: smtplib.SMTP, to: str, data: bytes) -> None:
        """MAIL, RCPT and DATA in one write when the server offers PIPELINING (RFC 2920), then the
        content: two round trips per message instead of four. Raises what smtplib's sendmail() raises
        for the same replies, so _send_one classifies both paths alike."""
        if not (conn.has_extn("pipelining") and _PLAIN_ADDRESS.fullmatch(to)):
            conn.sendmail(self.envelope_from, [to], data)
            return
        size = f" SIZE={len(data)}" if conn.has_extn("size") else ""
        conn.send(f"MAIL FROM:<{self.envelope_from}>{size}\r\nRCPT TO:<{to}>\r\nDATA\r\n")
        replies = []
        for _command in ("MAIL", "RCPT", "DATA"):  # every reply is read, so the session stays in step
            code, reply = conn.getreply()
            replies.append((code, reply))
            if code == 421:  # the server is closing the session: no more replies will come
                conn.close()
                break
        (mail_code, mail_reply), *rest = replies
        if len(replies) < 3 or mail_code != 250 or rest[0][0] not in (250, 251) or rest[1][0] != 354:
            if conn.sock is not None:  # like sendmail(): reset the transaction after a refusal
                try:
                    conn.rset()
                except smtplib.SMTPServerDisconnected:
                    pass
            if mail_code != 250:
                raise smtplib.SMTPSenderRefused(mail_code, mail_reply, self.envelope_from)
            rcpt_code, rcpt_reply = rest[0]
            if rcpt_code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({to: (rcpt_code, rcpt_reply)})
            raise smtplib.SMTPDataError(*rest[1])
        content = _DOT_AT_LINE_START.sub(b"..", data)  # RFC 5321 §4.5.2 transparency
        conn.send(content + b".\r\n")  # `data` ends with CRLF
        code, reply = conn.getreply()
        if code != 250:
            if code == 421:
                conn.close()
            raise smtplib.SMTPDataError(code, reply)

    def _encode(self, message: Outgoing) -> tuple[bytes, str] | EmailMessage | Refused:
        """The message's bytes and Message-ID; the stdlib message when an address is not ASCII; or a
        permanent refusal for a message no server would take (e.g. a line break in a rendered subject)."""
        try:
            if self._from_header is not None:
                return encode_email(message, self._from_header, default_domain=self.domain)
        except NeedsSmtpUtf8:
            pass  # send_message() asks the server for SMTPUTF8 (RFC 6531)
        except ValueError as exc:
            return Refused(message.message_id, True, "invalid-message", str(exc))
        try:
            return build_email(message, self.from_address)
        except ValueError as exc:
            return Refused(message.message_id, True, "invalid-message", str(exc))

    def _connect(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if self.use_ssl:
            conn = smtplib.SMTP_SSL(self.host, self.port, local_hostname=self.helo, timeout=self.timeout,
                                    context=context)
        else:
            conn = smtplib.SMTP(self.host, self.port, local_hostname=self.helo, timeout=self.timeout)
        try:
            conn.ehlo()
            if self.starttls:
                conn.starttls(context=context)
                conn.ehlo()
            if self._username:
                conn.login(self._username, self._password)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _refused(message: Outgoing, code: int, reply: bytes | str) -> Refused:
    # RFC 5321 §4.2.1: 5yz is a permanent negative completion, 4yz a transient one.
    return Refused(message.message_id, permanent=500 <= code < 600, code=str(code), reason=_text(reply))
