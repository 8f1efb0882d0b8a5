"""Email over SMTP: `smtp://[user:pass@]host[:port]?starttls=1|ssl=1&from=addr&timeout=10&helo=name&rate=N/second`.

More options: `pool=4` (sessions this process keeps open to the server, shared by every sender
thread, channels/smtp_pool.py), `cafile=/path/ca.pem` (trust this CA for TLS, e.g. a company relay's
own), `dkim_key=/path/key.pem&dkim_selector=NAME[&dkim_domain=example.com]` (DKIM-sign, channels/dkim.py).

Classification follows RFC 5321 reply codes: 5xx is permanent, 4xx is transient (so Amazon SES's
"454 Throttling failure" is retried, not skipped — listmonk #2974). A session the server closed
(421, or a dropped connection) is replaced and the message tried once more on the new one, as long
as the server cannot have taken it: up to the end of DATA nothing is delivered, and a 421 after DATA
means "not taken" too. Only a connection lost (or timed out) while waiting for the answer to DATA
leaves it open whether the server kept the message; that one is not resent at once but reported
transient with `outcome_unknown` (campaigns resends it only for at-least-once campaigns), and its
resend carries the same Message-ID, so receivers can drop the copy. A connection that cannot be made
makes the current message and every later one in the batch transient; `send()` never raises for that.
"""

from __future__ import annotations

import email.policy
import re
import smtplib
import ssl
import threading
from collections.abc import Sequence
from email.utils import parseaddr
from typing import NamedTuple

from channels.base import Accepted, ChannelConfigError, Outgoing, Refused, ResultListener, SendResult
from channels.dkim import DkimSigner
from channels.email_feedback import enhanced_status, is_hard_bounce
from channels.mime import _DOT_AT_LINE_START, _PLAIN_ADDRESS, NeedsSmtpUtf8, address_header, build_email, encode_email
from channels.ratelimit import parse_rate
from channels.smtp_pool import DEFAULT_POOL_SIZE, PoolKey, SmtpPool, join_pool, leave_pool
from channels.urls import parse_channel_url

SCHEME = "smtp"
DEFAULT_RATE = "10/second"  # well under SES's and most relays' defaults; raise it with rate=
DEFAULT_TIMEOUT_SECONDS = 10.0
OPTIONS = ("starttls", "ssl", "from", "timeout", "helo", "rate", "pool", "cafile", "dkim_key", "dkim_selector",
           "dkim_domain")
_SMTPUTF8_POLICY = email.policy.SMTPUTF8.clone(linesep="\r\n")


def from_url(url: str, *, from_address: str = "") -> SmtpChannel:
    """Open an SMTP channel from its URL (nothing is connected yet). Raises ChannelConfigError."""
    parsed = parse_channel_url(url, scheme=SCHEME, options=OPTIONS)
    where = f'channel URL "{parsed.describe()}"'
    if not parsed.host:
        raise ChannelConfigError(f"{where} has no host; write smtp://host:587?starttls=1")
    use_ssl, starttls = parsed.flag("ssl"), parsed.flag("starttls")
    if use_ssl and starttls:
        raise ChannelConfigError(
            f"{where} asks for both ssl=1 and starttls=1; "
            "use ssl=1 for port 465 (implicit TLS) or starttls=1 for port 587, not both"
        )
    sender = parsed.query.get("from") or from_address
    if not parseaddr(sender)[1]:
        raise ChannelConfigError(
            f"{where} has no sender address; add from=news@example.com to the URL "
            "or set [channels.email] from_address"
        )
    rate = parsed.query.get("rate", DEFAULT_RATE)
    parse_rate(rate, where=f"{where}: rate")
    pool_size = parsed.query.get("pool", str(DEFAULT_POOL_SIZE))
    if not pool_size.isdigit() or not 1 <= int(pool_size) <= 100:
        raise ChannelConfigError(f"{where}: pool={pool_size!r} must be a whole number of sessions from 1 to 100, "
                                 f"e.g. pool={DEFAULT_POOL_SIZE}")
    cafile = parsed.query.get("cafile", "")
    if cafile and not (use_ssl or starttls):
        raise ChannelConfigError(f"{where}: cafile= is for TLS; add starttls=1 (port 587) or ssl=1 (port 465)")
    signer = None
    if parsed.query.get("dkim_key"):
        domain = parsed.query.get("dkim_domain") or parseaddr(sender)[1].rpartition("@")[2]
        signer = DkimSigner(selector=parsed.query.get("dkim_selector", ""), domain=domain,
                            key_path=parsed.query["dkim_key"], where=where)
    elif parsed.query.get("dkim_selector") or parsed.query.get("dkim_domain"):
        raise ChannelConfigError(f"{where}: dkim_selector/dkim_domain need dkim_key=/path/to/private-key.pem too")
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
        pool_size=int(pool_size),
        cafile=cafile,
        signer=signer,
    )


class _NoReplyToData(Exception):
    """The connection broke after the whole message was sent, before the server said whether it took it."""


class _Broken(NamedTuple):
    """The session failed: the message's code and reason, given to the rest of the batch too.
    `after_data` when it failed waiting for the answer to the whole message (it may have been kept)."""

    code: str
    reason: str
    after_data: bool = False


class _Unsupported(Exception):
    """The server lacks an extension this message needs (SMTPUTF8): no retry will change that."""


class SmtpChannel:
    name = "smtp"
    dry_run = False
    reports_each_result = True  # one transaction per message: each answer is known as it comes (channels/base.py)
    look_up = None  # an SMTP server cannot be asked what it took: unknown rows stay unknown
    max_length: int | None = None  # email has no length limit a provider enforces per message

    def __init__(self, *, host: str, port: int, username: str, password: str, use_ssl: bool, starttls: bool,
                 from_address: str, timeout: float, helo: str | None, rate: str, description: str,
                 pool_size: int = DEFAULT_POOL_SIZE, cafile: str = "", signer: DkimSigner | None = None) -> None:
        self.host, self.port = host, port
        self._username, self._password = username, password
        self.use_ssl, self.starttls = use_ssl, starttls
        self.from_address = from_address
        self.envelope_from = parseaddr(from_address)[1]
        self.timeout, self.helo, self.rate = timeout, helo, rate
        self.pool_size, self.cafile, self.signer = pool_size, cafile, signer
        self._description = description
        self.domain = self.envelope_from.rpartition("@")[2] or "localhost"
        try:  # the same for every message: encoded once
            self._from_header: str | None = address_header(from_address, "From")
        except ValueError:  # a non-ASCII sender address: every message takes the stdlib path
            self._from_header = None
        self._key = PoolKey(host, port, username, password, use_ssl, starttls, cafile, helo)
        self._pool: SmtpPool | None = None
        self._conn: smtplib.SMTP | None = None  # borrowed from the pool for the length of one send()
        # A channel instance belongs to one sender thread; the lock only turns accidental sharing into
        # waiting instead of two threads interleaving commands on one SMTP session.
        self._lock = threading.Lock()

    def describe(self) -> str:
        return self._description

    @property
    def pool(self) -> SmtpPool:
        """The process-wide session pool for this server and login (joined on first use)."""
        if self._pool is None:
            self._pool = join_pool(self._key, self.pool_size, self._open_session)
        return self._pool

    def send(self, batch: Sequence[Outgoing], on_result: ResultListener | None = None) -> list[SendResult]:
        """Send each message over one pooled session; one result per message, in batch order.
        `on_result` hears each result as soon as the server answered that message."""
        results: list[SendResult] = []
        with self._lock:
            broken: tuple[str, str] | None = None
            try:
                for message in batch:
                    if broken:
                        code, reason = broken
                        result: SendResult = Refused(message.message_id, False, code,
                                                     f"not sent, an earlier message in the batch got: {reason}",
                                                     throttled=_throttled_session(code, reason))
                    else:
                        answer = self._send_one(message)
                        if isinstance(answer, _Broken):  # the connection failed: this and the rest are transient
                            broken = (answer.code, answer.reason)
                            result = Refused(message.message_id, False, *broken, throttled=_throttled_session(*broken),
                                             outcome_unknown=answer.after_data)
                        else:
                            result = answer
                    results.append(result)
                    if on_result is not None:
                        on_result(result)
            finally:
                self._give_back()
        return results

    def close(self) -> None:
        """Stop using the shared pool (the last channel to close says QUIT); safe to call any number of times."""
        with self._lock:
            self._give_back()
            pool, self._pool = self._pool, None
            if pool is not None:
                leave_pool(pool)

    # ------------------------------------------------------------------ internals
    def _send_one(self, message: Outgoing) -> SendResult | _Broken:
        """A result for the message, or _Broken when the connection itself failed."""
        encoded = self._encode(message)
        if isinstance(encoded, Refused):
            return encoded
        data, message_id, smtputf8 = encoded
        where = f"{self.host}:{self.port}"
        for attempt in (1, 2):
            try:
                conn = self._session()
                self._transmit(conn, message.to, data, smtputf8)
                return Accepted(message.message_id, provider_id=message_id)
            except _NoReplyToData as exc:
                self._drop()
                if isinstance(exc.__cause__, TimeoutError) or isinstance(exc.__cause__.__context__, TimeoutError):
                    # The server may be holding the message: no resend here (see the module doc), and
                    # the rest of the batch is not tried against a server this slow.
                    return _Broken("timeout", f"{where} did not answer within {self.timeout:g}s after receiving "
                                              "the message; it may or may not have kept it", after_data=True)
                return Refused(message.message_id, False, "no-reply",
                               f"{where} closed the connection after receiving the message, before saying whether "
                               f"it accepted it ({exc.__cause__}); a resend carries the same Message-ID",
                               outcome_unknown=True)
            except _Unsupported as exc:
                return Refused(message.message_id, True, "smtputf8-unsupported", str(exc))
            except smtplib.SMTPServerDisconnected as exc:
                self._drop(stale=True)
                if isinstance(exc.__context__, TimeoutError):
                    return _Broken("timeout", f"{where} did not answer within {self.timeout:g}s")
                if attempt == 2:
                    return _Broken("disconnected", f"{where} closed the connection: {exc}")
                continue  # most likely an idle session the server closed: the message is resent on a new one
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                refused = _refused(message, code, reply)
            except smtplib.SMTPSenderRefused as exc:
                if exc.smtp_code >= 500 and exc.smtp_code != 552:
                    # The sender address or session is refused (530 STARTTLS/AUTH required, 550/553 not
                    # allowed to send as it): the same for every message, and the operator's to fix — so
                    # the batch waits for a retry rather than every recipient failing for good.
                    return _Broken(str(exc.smtp_code), f"{where} refused the sender {self.envelope_from}: "
                                                       f"{_text(exc.smtp_error)}")
                refused = _refused(message, exc.smtp_code, exc.smtp_error)  # 552 too big, 4xx try later
            except smtplib.SMTPDataError as exc:
                refused = _refused(message, exc.smtp_code, exc.smtp_error)
            except smtplib.SMTPResponseException as exc:  # HELO/AUTH/STARTTLS refused: the session is unusable
                self._drop()
                return _Broken(str(exc.smtp_code), _text(exc.smtp_error))
            except TimeoutError:
                self._drop()
                return _Broken("timeout", f"{where} did not answer within {self.timeout:g}s")
            except ConnectionRefusedError:
                self._drop()
                return _Broken("connection-refused", f"{where} refused the connection")
            except ssl.SSLError as exc:
                self._drop()
                return _Broken("tls-error", f"{where}: TLS failed ({exc.reason or exc}); check ssl=/starttls= "
                                            "and the server's certificate (cafile= to trust a private CA)")
            except (smtplib.SMTPException, OSError) as exc:  # DNS, reset, STARTTLS unsupported
                self._drop()
                return _Broken("connection-error", f"{where}: {type(exc).__name__}: {exc}")
            if refused.code == "421":
                # "Service not available, closing transmission channel" (RFC 5321 §3.8): this session
                # is over, whatever command got it, and the message was not taken. Reconnect once; if it
                # says 421 again, retry later.
                self._drop(stale=True)
                if attempt == 1:
                    continue
            return refused
        raise AssertionError("unreachable: the loop returns on its second attempt")

    def _transmit(self, conn: smtplib.SMTP, to: str, data: bytes, smtputf8: bool) -> None:
        """MAIL, RCPT and DATA — in one write when the server offers PIPELINING (RFC 2920) — then the
        content: two round trips per message instead of four. Raises smtplib's exceptions for refusals
        (as sendmail() would), _NoReplyToData when the answer to the content never came."""
        options = f" SIZE={len(data)}" if conn.has_extn("size") else ""
        if smtputf8:
            if not conn.has_extn("smtputf8"):
                raise _Unsupported(f"{to} is not an ASCII address and {self.host} does not offer SMTPUTF8 "
                                   "(RFC 6531), so it cannot be sent there; use a relay that supports it")
            options += " SMTPUTF8 BODY=8BITMIME"
        commands = [f"MAIL FROM:<{self.envelope_from}>{options}\r\n".encode(),
                    f"RCPT TO:{_envelope(to)}\r\n".encode(), b"DATA\r\n"]
        expected = ((250,), (250, 251), (354,))
        replies: list[tuple[int, bytes]] = []
        if conn.has_extn("pipelining"):
            conn.send(b"".join(commands))
            for _command in commands:  # every reply is read, so the session stays in step
                replies.append(conn.getreply())
                if replies[-1][0] == 421:  # the server is closing the session: no more replies will come
                    break
        else:
            for command, ok in zip(commands, expected, strict=True):
                conn.send(command)
                replies.append(conn.getreply())
                if replies[-1][0] not in ok:
                    break
        if len(replies) < 3 or any(code not in ok for (code, _), ok in zip(replies, expected, strict=False)):
            if replies[-1][0] == 421:
                conn.close()
            elif conn.sock is not None:  # like sendmail(): reset the transaction after a refusal
                try:
                    conn.rset()
                except smtplib.SMTPServerDisconnected:
                    pass
            (mail_code, mail_reply), *rest = replies
            if mail_code != 250:
                raise smtplib.SMTPSenderRefused(mail_code, mail_reply, self.envelope_from)
            rcpt_code, rcpt_reply = rest[0]
            if rcpt_code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({to: (rcpt_code, rcpt_reply)})
            raise smtplib.SMTPDataError(*rest[1])
        content = _DOT_AT_LINE_START.sub(b"..", data)  # RFC 5321 §4.5.2 transparency
        conn.send(content + b".\r\n")  # `data` ends with CRLF
        try:
            code, reply = conn.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _NoReplyToData() from exc
        if code != 250:
            if code == 421:
                conn.close()
            raise smtplib.SMTPDataError(code, reply)

    def _encode(self, message: Outgoing) -> tuple[bytes, str, bool] | Refused:
        """The message's bytes (DKIM-signed when configured), its Message-ID and whether it needs SMTPUTF8;
        or a permanent refusal for a message no server would take (e.g. a line break in a rendered subject)."""
        if _unsafe_address(message.to):
            return Refused(message.message_id, True, "invalid-address",
                           f"the recipient address {message.to!r} contains a line break; no mail server accepts that")
        try:
            if self._from_header is not None:
                data, message_id = encode_email(message, self._from_header, default_domain=self.domain)
                return self._sign(data), message_id, False
        except NeedsSmtpUtf8:
            pass  # written by the stdlib with its SMTPUTF8 policy, below
        except ValueError as exc:
            return Refused(message.message_id, True, "invalid-message", str(exc))
        try:
            built = build_email(message, self.from_address)
            data = built.as_bytes(policy=_SMTPUTF8_POLICY)
        except ValueError as exc:
            return Refused(message.message_id, True, "invalid-message", str(exc))
        needs_utf8 = not (message.to.isascii() and self.envelope_from.isascii() and data.isascii())
        return self._sign(data), str(built["Message-ID"]), needs_utf8

    def _sign(self, data: bytes) -> bytes:
        return self.signer.sign(data) if self.signer is not None else data

    def _session(self) -> smtplib.SMTP:
        if self._conn is None:
            self._conn = self.pool.borrow()
        return self._conn

    def _open_session(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.cafile or None)
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
        return conn

    def _give_back(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._pool is not None:
            self._pool.give_back(conn)

    def _drop(self, *, stale: bool = False) -> None:
        """Throw the borrowed session away; `stale` when the server closed it, so the idle ones likely too."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            if self._pool is not None:
                self._pool.give_back(None)
        if stale and self._pool is not None:
            self._pool.discard_idle()


def _envelope(address: str) -> str:
    # The usual bare address needs no parsing (parseaddr is slow next to everything else per message).
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def _unsafe_address(address: str) -> bool:
    return "\r" in address or "\n" in address


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _refused(message: Outgoing, code: int, reply: bytes | str) -> Refused:
    # RFC 5321 §4.2.1: 5yz is a permanent negative completion, 4yz a transient one. A 5.1.1 "user
    # unknown" (and kin, channels/email_feedback.py) is a hard bounce at send time: campaigns records
    # the contact's email consent as bounced, so no later campaign pays for the same refusal.
    text = _text(reply)
    permanent = 500 <= code < 600
    bounced = permanent and is_hard_bounce(enhanced_status(text), f"{code} {text}")
    return Refused(message.message_id, permanent=permanent, code=str(code), reason=text,
                   consent="bounced" if bounced else None, throttled=is_throttle_reply(code, text))


# What servers say when they limit a sender, not a recipient: Gmail "421 4.7.28 … unusual rate", Outlook
# "451 4.7.500 Server busy … too many connections", SES "454 Throttling failure", Postfix "421 … too many
# errors/connections", "450 4.7.1 … sending rate exceeded". Greylisting and full mailboxes are not throttles.
_THROTTLE_WORDS = re.compile(r"too many|rate[ -]?limit|throttl|slow down|sending rate|message rate|unusual rate|"
                             r"too fast", re.IGNORECASE)


def _throttled_session(code: str, reason: str) -> bool:
    """A session refused with a throttle reply ("421 too many connections" at HELO or AUTH)."""
    return code.isdigit() and is_throttle_reply(int(code), reason)


def is_throttle_reply(code: int, text: str) -> bool:
    """True for a transient SMTP reply (4yz) whose words say the server is limiting how fast Herald sends."""
    return 400 <= code < 500 and bool(_THROTTLE_WORDS.search(text))
