"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, a free port) that records what it receives.

    with FakeSmtp(refuse={"bad@example.com": (550, "5.1.1 No such user")}) as smtp:
        channel = open_channel(smtp.url + "?from=news@example.com")
        ...
        assert smtp.messages[0].message["Subject"] == "Hi"

Scripted behaviour: per-recipient refusals (`refuse`, 5xx) and deferrals (`defer`, 4xx), AUTH
(`auth={"user": "password"}`, off by default), a slow DATA answer (`delay_seconds`), a server far away
(`reply_delay_seconds`: every reply, the greeting included, waits that long — on the event loop, so
many sessions wait at once and nothing is serialised), an idle timeout
after which the server drops the connection (`idle_timeout`), and `disconnect_clients()` to drop
every open connection now. `connections` counts SMTP sessions that said EHLO/HELO. Each received
message records when it arrived (`received_at`), for tests of the send rate.

`script` answers chosen recipients differently on successive tries, one entry per try, then normally:
`(421, "4.3.2 Shutting down")` at RCPT (421 also closes the session, as a real server does), "drop"
(hang up at RCPT), "drop-after-data" (keep the message, then hang up without answering: the client
cannot know it was taken), "late-after-data" (keep it, then answer only after `lose_seconds`, past
the client's timeout) or `("data", 451, "...")` (refuse at the end of DATA, nothing kept).
`fault_at_mail(n, how)` plays a server that fails the next n sessions' MAIL command, before any
recipient is known: "drop" hangs up (nothing kept, the client sees the connection die) and "hang"
answers nothing for `lose_seconds` (past the client's timeout).
`tls_context` offers STARTTLS with it (and requires it); `implicit_tls=True` speaks TLS from the
first byte, as on port 465.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
import time
import warnings
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    received_at: float = 0.0  # time.time() when DATA arrived; rate tests count messages per second with it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, fake: FakeSmtp) -> None:
        self.fake = fake

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.fake._saw_session(session)
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        self.fake._saw_session(session)
        return f"250 {server.hostname}"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        fault = self.fake._next_mail_fault()
        if fault == "drop":
            server.transport.abort()
            return "421 4.4.2 Connection dropped"  # never reaches the client: the socket is gone
        if fault == "hang":
            await asyncio.sleep(self.fake.lose_seconds)  # the client has given up by now
            server.transport.abort()
            return "421 4.4.2 Too late"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        step = self.fake._next_step(address)
        if step == "drop":
            server.transport.abort()
            return "421 4.4.2 Connection dropped"  # never reaches the client: the socket is gone
        if isinstance(step, tuple) and len(step) == 2:
            code, text = step
            if code == 421:
                # RFC 5321 §3.8: 421 closes the session; aiosmtpd would otherwise keep it open.
                server.transport.write(f"{code} {text}\r\n".encode())
                server.transport.close()
            return f"{code} {text}"
        if isinstance(step, tuple | str):  # an answer due at the end of DATA for this recipient
            envelope.herald_step = step
        if address in self.fake.refuse:
            code, text = self.fake.refuse[address]
            return f"{code} {text}"
        if address in self.fake.defer:
            code, text = self.fake.defer[address]
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        step = getattr(envelope, "herald_step", None)
        if isinstance(step, tuple):
            _phase, code, text = step
            if code == 421:
                server.transport.write(f"{code} {text}\r\n".encode())
                server.transport.close()
            return f"{code} {text}"
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        with self.fake._lock:
            self.fake.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, raw, time.time()))
        if step == "drop-after-data":
            server.transport.abort()
            return "250 2.0.0 Kept, but this answer is never sent"
        if step == "late-after-data":
            await asyncio.sleep(self.fake.lose_seconds)  # the client has given up by now
            return "250 2.0.0 Kept, but answered too late"
        if self.fake.delay_seconds:
            # The message is already kept, as a real server may have queued it when a client times out.
            await asyncio.sleep(self.fake.delay_seconds)
        return "250 2.0.0 Message accepted for delivery"


class _Controller(Controller):
    def __init__(self, fake: FakeSmtp, **kwargs) -> None:
        super().__init__(_Handler(fake), hostname="127.0.0.1", port=free_port(), **kwargs)
        self.fake = fake

    def factory(self) -> SMTP:
        with warnings.catch_warnings():
            # AUTH without TLS is the point of a loopback fake; aiosmtpd warns on every connection.
            warnings.simplefilter("ignore", UserWarning)
            server = super().factory()
        with self.fake._lock:
            self.fake._servers.append(server)
        if self.fake.reply_delay_seconds:
            push, delay = server.push, self.fake.reply_delay_seconds

            async def push_later(status: str) -> None:
                await asyncio.sleep(delay)
                await push(status)

            server.push = push_later  # type: ignore[method-assign]
        return server


class FakeSmtp:
    def __init__(self, *, refuse: dict[str, tuple[int, str]] | None = None,
                 defer: dict[str, tuple[int, str]] | None = None, auth: dict[str, str] | None = None,
                 delay_seconds: float = 0.0, idle_timeout: float = 300.0,
                 script: dict[str, list[object]] | None = None, tls_context: ssl.SSLContext | None = None,
                 implicit_tls: bool = False, lose_seconds: float = 1.0, reply_delay_seconds: float = 0.0) -> None:
        self.lose_seconds = lose_seconds
        self.reply_delay_seconds = reply_delay_seconds
        self.script = {address: list(steps) for address, steps in (script or {}).items()}
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.refuse = dict(refuse or {})
        self.defer = dict(defer or {})
        self.auth = auth
        self.delay_seconds = delay_seconds
        self.idle_timeout = idle_timeout
        self.messages: list[Received] = []
        self._mail_faults: list[str] = []
        self._sessions: set[int] = set()
        self._servers: list[SMTP] = []
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeSmtp:
        kwargs: dict[str, object] = {"timeout": self.idle_timeout}
        if self.auth is not None:
            kwargs.update(auth_required=True, auth_require_tls=False, authenticator=self._authenticate)
        if self.tls_context is not None and self.implicit_tls:
            kwargs["ssl_context"] = self.tls_context
        elif self.tls_context is not None:
            kwargs.update(tls_context=self.tls_context, require_starttls=True)
        self._controller = _Controller(self, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> FakeSmtp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ what tests use
    @property
    def port(self) -> int:
        assert self._controller is not None, "FakeSmtp is not started"
        return self._controller.port

    @property
    def url(self) -> str:
        """smtp://127.0.0.1:PORT, with the first AUTH user when auth is on."""
        userinfo = ""
        if self.auth:
            user, password = next(iter(self.auth.items()))
            userinfo = f"{user}:{password}@"
        return f"smtp://{userinfo}127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        """SMTP sessions that greeted the server (the controller's own start-up probe does not count)."""
        with self._lock:
            return len(self._sessions)

    def disconnect_clients(self) -> None:
        """Drop every open connection from the server side, as a server restart or idle timeout would."""
        assert self._controller is not None
        with self._lock:
            servers = list(self._servers)
        done = threading.Event()

        def close_all() -> None:
            for server in servers:
                if server.transport is not None:
                    server.transport.close()
            done.set()

        self._controller.loop.call_soon_threadsafe(close_all)
        done.wait(5)

    def fault_at_mail(self, n: int = 1, how: str = "drop") -> None:
        """Fail the next n MAIL commands: "drop" (hang up) or "hang" (no answer for `lose_seconds`)."""
        assert how in ("drop", "hang"), 'fault_at_mail(how=) is "drop" or "hang"'
        with self._lock:
            self._mail_faults.extend([how] * n)

    def message_ids_for(self, address: str) -> list[str]:
        """The Message-ID of every message the server kept for `address`, in arrival order."""
        with self._lock:
            return [str(m.message["Message-ID"]) for m in self.messages if address in m.rcpt_tos]

    def accepted_for(self, address: str) -> int:
        """How many messages the server kept for `address`."""
        with self._lock:
            return sum(address in m.rcpt_tos for m in self.messages)

    # ------------------------------------------------------------------ internals
    def _next_step(self, address: str) -> object:
        with self._lock:
            steps = self.script.get(address)
            return steps.pop(0) if steps else None

    def _next_mail_fault(self) -> str | None:
        with self._lock:
            return self._mail_faults.pop(0) if self._mail_faults else None

    def _saw_session(self, session) -> None:
        with self._lock:
            self._sessions.add(id(session))

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and self.auth is not None:
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self.auth.get(user) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)
