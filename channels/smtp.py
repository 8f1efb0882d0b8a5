"""Email over SMTP: `smtp://[user:pass@]host[:port]?starttls=1|ssl=1&from=addr&timeout=10&helo=name&rate=N/second`.

One persistent connection per channel instance, opened on the first send and reused; if the server
dropped it while idle (SMTPServerDisconnected) it is reopened once. Classification follows RFC 5321
reply codes: 5xx is permanent, 4xx is transient (so Amazon SES's "454 Throttling failure" is retried,
not skipped — listmonk #2974). A connection that cannot be made or breaks makes the current message
and every later one in the batch transient; `send()` never raises for that.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import parseaddr

from channels.base import Accepted, ChannelConfigError, Outgoing, Refused, SendResult
from channels.ratelimit import parse_rate
from channels.urls import parse_channel_url

SCHEME = "smtp"
DEFAULT_RATE = "10/second"  # well under SES's and most relays' defaults; raise it with rate=
DEFAULT_TIMEOUT_SECONDS = 10.0
OPTIONS = ("starttls", "ssl", "from", "timeout", "helo", "rate")


def build_email(message: Outgoing, from_address: str) -> EmailMessage:
    """The MIME message for `message`: text and, when given, HTML as multipart/alternative.

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
        try:
            email = build_email(message, self.from_address)
        except ValueError as exc:  # e.g. a line break in a rendered subject: no server would take it
            return Refused(message.message_id, True, "invalid-message", str(exc))
        for attempt in (1, 2):
            try:
                conn = self._connect()
                conn.send_message(email, from_addr=self.envelope_from, to_addrs=[message.to])
                return Accepted(message.message_id, provider_id=str(email["Message-ID"]))
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
