"""The dry-run channel: `log://PATH` writes each message to a file instead of sending it.

`log://var/outbox` is relative to the working directory, `log:///srv/herald/outbox` absolute. Email
becomes a real .eml (open it in a mail client to see what recipients would get), SMS a .txt with the
recipient, the segment count and the body. Files are named by Herald's message id, so a retry of the
same message rewrites its file instead of adding a second one. Nothing is ever reported delivered:
`dry_run` is True and the results say "log:<file>" as the provider id.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from channels.base import Accepted, ChannelConfigError, Outgoing, Refused, ResultListener, SendResult, send_each
from channels.mime import build_email
from channels.ratelimit import parse_rate
from channels.segments import count_sms
from channels.urls import parse_channel_url

SCHEME = "log"
DEFAULT_RATE = "1000/second"  # only the disk is involved; a demo campaign should not crawl
DEFAULT_FROM = "Herald <herald@localhost>"
OPTIONS = ("from", "rate")


def from_url(url: str, *, from_address: str = "") -> LogChannel:
    """Open a log channel; the directory is created on the first send. Raises ChannelConfigError."""
    parsed = parse_channel_url(url, scheme=SCHEME, options=OPTIONS)
    raw_path = parsed.netloc + parsed.path  # netloc keeps its case: log://Var/Outbox is "Var/Outbox"
    if not raw_path.strip("/"):
        raise ChannelConfigError(
            f'channel URL "{url}" names no directory; write log://var/outbox (relative) or log:///abs/path'
        )
    directory = Path(raw_path)
    if not directory.is_absolute():
        directory = Path.cwd() / directory  # fixed now, so a later chdir cannot move the outbox
    rate = parsed.query.get("rate", DEFAULT_RATE)
    parse_rate(rate, where=f'channel URL "{url}": rate')
    return LogChannel(directory, from_address=parsed.query.get("from") or from_address or DEFAULT_FROM, rate=rate,
                      description=parsed.describe())


class LogChannel:
    name = "log"
    dry_run = True
    reports_each_result = True  # one file per message: each is reported once written (channels/base.py)
    look_up = None  # nothing leaves the machine, so nothing is ever unknown to ask about
    max_length: int | None = None  # a dry run writes whatever it is given

    def __init__(self, directory: Path, *, from_address: str = DEFAULT_FROM, rate: str = DEFAULT_RATE,
                 description: str = "") -> None:
        self.directory = directory
        self.from_address = from_address
        self.rate = rate
        self._description = description or f"log://{directory}"

    def describe(self) -> str:
        return self._description

    def send(self, batch: Sequence[Outgoing], on_result: ResultListener | None = None) -> list[SendResult]:
        """Write one file per message; a disk error becomes a transient refusal for that message.
        `on_result` hears each result once its file is written."""
        return send_each(batch, lambda message: (self._send_one(message), False), on_result)

    def _send_one(self, message: Outgoing) -> SendResult:
        if message.channel == "email":
            name = f"message-{message.message_id}.eml"
            try:
                content = build_email(message, self.from_address).as_bytes()
            except ValueError as exc:  # the same message SMTP would refuse, refused the same way
                return Refused(message.message_id, True, "invalid-message", str(exc))
            segments = None
        else:
            name = f"message-{message.message_id}.txt"
            size = count_sms(message.body)
            segments = size.segments
            content = (
                f"To: {message.to}\n"
                f"Segments: {size.segments} ({size.encoding}, {size.characters} characters)\n"
                f"Status-Callback: {message.status_callback_url or '-'}\n"
                f"\n{message.body}\n"
            ).encode()
        try:
            self._write(name, content)
        except OSError as exc:
            code = errno.errorcode.get(exc.errno or 0, "OSError")  # "EACCES", "ENOSPC"…
            return Refused(message.message_id, False, code, f"cannot write {self.directory / name}: "
                                                            f"{exc.strerror or exc}")
        return Accepted(message.message_id, provider_id=f"log:{name}", segments=segments)

    def close(self) -> None:
        """Nothing is held open."""

    def _write(self, name: str, content: bytes) -> None:
        # Write to a temporary file and rename, so a crash never leaves half a message behind and
        # a reader never sees one.
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.replace(tmp, self.directory / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
