"""What every fake provider does the same way: serve on 127.0.0.1 in a daemon thread, stop, `with` support;
and the token bucket the HTTP fakes enforce a provider's rate with."""

from __future__ import annotations

import socketserver
import threading
import time
from typing import Self


class ServedOnLoopback:
    """Mixin for a fake whose `start()` builds a socketserver and hands it to `_serve`.

    The handler reaches the fake as `self.server.fake`. A short poll interval because shutdown()
    waits for it and every test stops its fakes; block_on_close off so a request sleeping in an
    injected delay cannot hold up stop().
    """

    _server: socketserver.BaseServer | None = None

    def _serve(self, server: socketserver.ThreadingMixIn | socketserver.BaseServer) -> Self:
        server.daemon_threads = True  # type: ignore[union-attr]
        server.block_on_close = False  # type: ignore[union-attr]
        server.fake = self  # type: ignore[union-attr]
        self._server = server  # type: ignore[assignment]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=type(self).__name__,
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()  # type: ignore[attr-defined]  # each fake's own start() builds its server

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TokenBucket:
    """`per_second` tokens a second, at most `burst` saved up; a request takes one or is refused."""

    def __init__(self, per_second: float, burst: float, retry_after: bool) -> None:
        self.per_second, self.burst, self.retry_after = per_second, burst, retry_after
        self.tokens = burst
        self.at = time.monotonic()

    def take(self) -> float | None:
        """None when a token was taken; else the seconds until one is there (a refusal)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return round((1 - self.tokens) / self.per_second, 3) or 0.001
