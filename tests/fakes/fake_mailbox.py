"""Small real IMAP4rev1 and POP3 servers on 127.0.0.1 for tests: enough of each protocol for imaplib/poplib.

    with FakeMailbox("imap", user="bounces", password="pw", messages=[raw1, raw2]) as box:
        open_mailbox(box.url).read(handle)
        box.messages        # what is left (deleted ones are gone once expunged / after QUIT)

IMAP: CAPABILITY, LOGIN, SELECT, UID SEARCH UNSEEN, UID FETCH (RFC822) (marks \\Seen), UID STORE +FLAGS
(\\Deleted), EXPUNGE, CLOSE (expunges too), LOGOUT. POP3 (RFC 1939): USER, PASS, STAT, LIST, RETR, DELE,
NOOP, RSET, QUIT (deletions happen only at QUIT). `tls_context` makes it imaps:// / pop3s://.
"""

from __future__ import annotations

import re
import socketserver
import ssl
import threading
from dataclasses import dataclass, field

from tests.fakes.serving import ServedOnLoopback


@dataclass
class StoredMessage:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


class FakeMailbox(ServedOnLoopback):
    def __init__(self, protocol: str, *, user: str = "bounces", password: str = "mailbox-pw",
                 messages: list[bytes] | None = None, tls_context: ssl.SSLContext | None = None) -> None:
        assert protocol in ("imap", "pop3")
        self.protocol, self.user, self.password = protocol, user, password
        self.tls_context = tls_context
        self._lock = threading.Lock()
        self._store = [StoredMessage(uid, raw) for uid, raw in enumerate(messages or [], start=101)]
        self.logins = 0
        self._server: socketserver.ThreadingTCPServer | None = None

    @property
    def messages(self) -> list[StoredMessage]:
        with self._lock:
            return list(self._store)

    @property
    def url(self) -> str:
        assert self._server is not None
        scheme = self.protocol + ("s" if self.tls_context else "")
        return f"{scheme}://{self.user}:{self.password}@127.0.0.1:{self._server.server_address[1]}/INBOX"

    def start(self) -> FakeMailbox:
        handler = _Imap if self.protocol == "imap" else _Pop3
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        if self.tls_context is not None:
            server.socket = self.tls_context.wrap_socket(server.socket, server_side=True)
        return self._serve(server)


class _Base(socketserver.StreamRequestHandler):
    server: socketserver.ThreadingTCPServer

    @property
    def fake(self) -> FakeMailbox:
        return self.server.fake  # type: ignore[attr-defined]

    def send(self, text: str | bytes) -> None:
        self.wfile.write(text.encode() if isinstance(text, str) else text)
        self.wfile.flush()


class _Pop3(_Base):
    def handle(self) -> None:
        self.send("+OK Herald test POP3 ready\r\n")
        user, authed, deleted = "", False, set()
        while line := self.rfile.readline():
            command, _, argument = line.decode().strip().partition(" ")
            command = command.upper()
            store = self.fake.messages
            if command == "USER":
                user = argument
                self.send("+OK\r\n")
            elif command == "PASS":
                authed = user == self.fake.user and argument == self.fake.password
                self.fake.logins += authed
                self.send("+OK logged in\r\n" if authed else "-ERR [AUTH] invalid login\r\n")
            elif command == "QUIT":
                if authed:
                    with self.fake._lock:
                        self.fake._store = [m for i, m in enumerate(self.fake._store, 1) if i not in deleted]
                self.send("+OK bye\r\n")
                return
            elif not authed:
                self.send("-ERR log in first\r\n")
            elif command == "STAT":
                alive = [m for i, m in enumerate(store, 1) if i not in deleted]
                self.send(f"+OK {len(alive)} {sum(len(m.raw) for m in alive)}\r\n")
            elif command == "LIST":
                listing = "".join(f"{i} {len(m.raw)}\r\n" for i, m in enumerate(store, 1) if i not in deleted)
                self.send(f"+OK\r\n{listing}.\r\n")
            elif command == "RETR" and argument.isdigit() and 0 < int(argument) <= len(store):
                raw = store[int(argument) - 1].raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                stuffed = re.sub(rb"(?m)^\.", b"..", raw)
                self.send(b"+OK message follows\r\n" + stuffed + (b"" if stuffed.endswith(b"\r\n") else b"\r\n")
                          + b".\r\n")
            elif command == "DELE" and argument.isdigit():
                deleted.add(int(argument))
                self.send("+OK deleted\r\n")
            elif command in ("NOOP", "RSET"):
                if command == "RSET":
                    deleted.clear()
                self.send("+OK\r\n")
            else:
                self.send("-ERR unknown command\r\n")


class _Imap(_Base):
    def handle(self) -> None:
        self.send("* OK [CAPABILITY IMAP4rev1] Herald test IMAP ready\r\n")
        authed = False
        while line := self.rfile.readline():
            tag, _, rest = line.decode().strip().partition(" ")
            command, _, argument = rest.partition(" ")
            command = command.upper()
            if command == "CAPABILITY":
                self.send(f"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n")
            elif command == "LOGIN":
                user, password = [part.strip('"') for part in argument.split(" ", 1)]
                authed = user == self.fake.user and password == self.fake.password
                self.fake.logins += authed
                self.send(f"{tag} OK logged in\r\n" if authed else f"{tag} NO [AUTHENTICATIONFAILED] invalid\r\n")
            elif command == "LOGOUT":
                self.send(f"* BYE\r\n{tag} OK bye\r\n")
                return
            elif not authed:
                self.send(f"{tag} NO log in first\r\n")
            elif command == "SELECT":
                self.send(f"* {len(self.fake.messages)} EXISTS\r\n* FLAGS (\\Seen \\Deleted)\r\n"
                          f"{tag} OK [READ-WRITE] selected\r\n")
            elif command == "UID":
                self._uid(tag, argument)
            elif command in ("EXPUNGE", "CLOSE"):
                with self.fake._lock:
                    gone = [i for i, m in enumerate(self.fake._store, 1) if "\\Deleted" in m.flags]
                    self.fake._store = [m for m in self.fake._store if "\\Deleted" not in m.flags]
                notices = "".join(f"* {i} EXPUNGE\r\n" for i in reversed(gone)) if command == "EXPUNGE" else ""
                self.send(f"{notices}{tag} OK done\r\n")
            else:
                self.send(f"{tag} BAD unknown command\r\n")

    def _uid(self, tag: str, argument: str) -> None:
        command, _, rest = argument.partition(" ")
        command = command.upper()
        store = self.fake.messages
        if command == "SEARCH":
            uids = [str(m.uid) for m in store if "\\Seen" not in m.flags]
            self.send(f"* SEARCH {' '.join(uids)}\r\n{tag} OK done\r\n".replace("SEARCH \r", "SEARCH\r"))
            return
        uid = int(rest.split(" ", 1)[0])
        found = [(i, m) for i, m in enumerate(store, 1) if m.uid == uid]
        if not found:
            self.send(f"{tag} OK nothing\r\n")
            return
        number, message = found[0]
        if command == "FETCH":
            message.flags.add("\\Seen")
            self.send(f"* {number} FETCH (UID {uid} RFC822 {{{len(message.raw)}}}\r\n".encode() + message.raw
                      + f")\r\n{tag} OK done\r\n".encode())
        elif command == "STORE":
            message.flags.add("\\Deleted")
            self.send(f"* {number} FETCH (UID {uid} FLAGS (\\Deleted))\r\n{tag} OK done\r\n")
        else:
            self.send(f"{tag} BAD unknown UID command\r\n")
