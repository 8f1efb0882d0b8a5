"""Reading a mailbox over IMAP or POP3: where bounce reports and List-Unsubscribe mail arrive.

    imaps://user:pass@imap.example.com[:993]/INBOX      imap://…:143/INBOX?starttls=1
    pop3s://user:pass@pop.example.com[:995]             pop3://…:110?starttls=1
    options: cafile=/path/ca.pem (trust a private CA), timeout=30, limit=500 (messages per run)

Each message is handed to `handle(raw) -> bool`; one it understood (True) is deleted, so the mailbox
holds only what Herald could not read, for a person to look at. IMAP reads unseen messages only, and
fetching marks a message seen, so one that was not understood is not read again; POP3 has no such
mark, so it reads what is left each time.
"""

from __future__ import annotations

import imaplib
import logging
import poplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from channels.base import ChannelConfigError
from channels.urls import parse_channel_url

log = logging.getLogger("herald.channels")

SCHEMES = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995}
OPTIONS = ("starttls", "cafile", "timeout", "limit")


class MailboxUnavailable(Exception):
    """The mailbox could not be reached or refused the login; says which and why (the password masked)."""


@dataclass
class MailboxRun:
    read: int = 0
    understood: int = 0  # deleted from the mailbox
    left: int = 0  # not understood, left for a person


@dataclass(frozen=True)
class Mailbox:
    scheme: str
    host: str
    port: int
    username: str
    password: str
    folder: str
    starttls: bool
    cafile: str
    timeout: float
    limit: int
    description: str

    def read(self, handle: Callable[[bytes], bool]) -> MailboxRun:
        """Hand each waiting message to `handle`; delete the understood ones. Raises MailboxUnavailable."""
        try:
            if self.scheme.startswith("imap"):
                return self._read_imap(handle)
            return self._read_pop3(handle)
        except (OSError, imaplib.IMAP4.error, poplib.error_proto, ssl.SSLError) as exc:
            raise MailboxUnavailable(f"{self.description}: {type(exc).__name__}: {exc}") from None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile or None)

    def _read_imap(self, handle: Callable[[bytes], bool]) -> MailboxRun:
        if self.scheme == "imaps":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=self._context(),
                                                   timeout=self.timeout)
        else:
            conn = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls(ssl_context=self._context())
        run = MailboxRun()
        try:
            conn.login(self.username, self.password)
            status, _ = conn.select(_quote(self.folder))
            if status != "OK":
                raise imaplib.IMAP4.error(f"folder {self.folder!r} cannot be opened")
            status, found = conn.uid("SEARCH", None, "UNSEEN")
            uids = (found[0] or b"").split()[: self.limit] if status == "OK" else []
            for uid in uids:
                status, parts = conn.uid("FETCH", uid, "(RFC822)")
                raw = next((p[1] for p in parts if isinstance(p, tuple) and len(p) > 1), None)
                if status != "OK" or raw is None:
                    continue
                run.read += 1
                if handle(raw):
                    conn.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
                    run.understood += 1
                else:
                    run.left += 1
            if run.understood:
                conn.expunge()
            conn.close()
        finally:
            try:
                conn.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
        return run

    def _read_pop3(self, handle: Callable[[bytes], bool]) -> MailboxRun:
        if self.scheme == "pop3s":
            conn: poplib.POP3 = poplib.POP3_SSL(self.host, self.port, context=self._context(), timeout=self.timeout)
        else:
            conn = poplib.POP3(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.stls(context=self._context())
        run = MailboxRun()
        try:
            conn.user(self.username)
            conn.pass_(self.password)
            count, _size = conn.stat()
            for number in range(1, min(count, self.limit) + 1):
                _response, lines, _octets = conn.retr(number)
                run.read += 1
                if handle(b"\r\n".join(lines) + b"\r\n"):
                    conn.dele(number)
                    run.understood += 1
                else:
                    run.left += 1
        finally:
            conn.quit()  # QUIT commits the deletions (RFC 1939 §6)
        return run


def open_mailbox(url: str) -> Mailbox:
    """Parse a mailbox URL; raises ChannelConfigError naming the problem and the fix."""
    scheme = url.partition("://")[0]
    if scheme not in SCHEMES:
        raise ChannelConfigError(f'[bounces] mailbox_url has scheme "{scheme}"; use imaps://, imap://, pop3s:// or '
                                 "pop3://, e.g. imaps://bounces%40example.com:PASSWORD@imap.example.com/INBOX")
    parsed = parse_channel_url(url, scheme=scheme, options=OPTIONS)
    where = f'[bounces] mailbox_url "{parsed.describe()}"'
    if not parsed.host or not parsed.username:
        raise ChannelConfigError(f"{where} needs a host and a user; write {scheme}://USER:PASSWORD@HOST/INBOX")
    starttls = parsed.flag("starttls")
    if starttls and scheme.endswith("s"):
        raise ChannelConfigError(f"{where}: starttls=1 is for {scheme[:-1]}://; {scheme}:// is TLS already")
    limit = parsed.query.get("limit", "500")
    if not limit.isdigit() or int(limit) < 1:
        raise ChannelConfigError(f"{where}: limit={limit!r} must be a whole number of messages, e.g. limit=500")
    folder = unquote(parsed.path.strip("/")) or "INBOX"
    return Mailbox(scheme=scheme, host=parsed.host, port=parsed.port or SCHEMES[scheme], username=parsed.username,
                   password=parsed.password, folder=folder, starttls=starttls, cafile=parsed.query.get("cafile", ""),
                   timeout=parsed.number("timeout", 30.0), limit=int(limit), description=parsed.describe())


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
