"""What every fake provider does the same way: serve on 127.0.0.1 in a daemon thread, stop, `with` support."""

from __future__ import annotations

import socketserver
import threading
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
