"""Failed logins are counted per account and per client address; past the limit, /login answers 429.

Without it a password can be guessed as fast as the server hashes (60 tries in 16 s). Once an
account or an address has FAILURES_PER_ACCOUNT / FAILURES_PER_ADDRESS failures in the window, every
login attempt for it is refused with 429 and Retry-After, even with the right password: otherwise
the answer would still tell a guesser when they got it right.

Counting uses the `limits` library like the provider rates (channels/ratelimit.py): `memory://` in
embedded mode (one process), the shared Redis in scaled mode, where several web workers must see the
same counts. The address is the TCP peer (request.remote_addr), not X-Forwarded-For, which the
client writes itself; behind a reverse proxy every client shares the proxy's address, which is why
the per-address limit is the looser one.
"""

from __future__ import annotations

import math
import time

from flask import Flask
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from core.config import Config

FAILURES_PER_ACCOUNT = parse("10 per 15 minutes")
FAILURES_PER_ADDRESS = parse("20 per 15 minutes")
NAMESPACE = "herald-login-failures"


class LoginThrottle:
    """Counts failed logins; thread-safe (the storages are), one per app."""

    def __init__(self, storage_uri: str = "memory://") -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def retry_after_seconds(self, email: str, address: str) -> int | None:
        """Seconds until `email` from `address` may try again, or None if it may try now."""
        waits = [self._wait(limit, kind, key) for limit, kind, key in self._counters(email, address)]
        blocked = [wait for wait in waits if wait is not None]
        return max(blocked) if blocked else None

    def record_failure(self, email: str, address: str) -> None:
        for limit, kind, key in self._counters(email, address):
            self._limiter.hit(limit, NAMESPACE, kind, key)

    def forget_account(self, email: str) -> None:
        """A successful login clears its account's count (not its address's: one known password
        must not reset a guesser's count for every other account)."""
        self._limiter.clear(FAILURES_PER_ACCOUNT, NAMESPACE, "account", _account(email))

    @staticmethod
    def _counters(email: str, address: str):
        return ((FAILURES_PER_ACCOUNT, "account", _account(email)), (FAILURES_PER_ADDRESS, "address", address or "?"))

    def _wait(self, limit, kind: str, key: str) -> int | None:
        if self._limiter.test(limit, NAMESPACE, kind, key):
            return None
        reset_at, _remaining = self._limiter.get_window_stats(limit, NAMESPACE, kind, key)
        return max(1, math.ceil(reset_at - time.time()))


def _account(email: str) -> str:
    return email.strip().lower()


def init_app(app: Flask, config: Config) -> None:
    storage = str(config.celery_rate_limit_url) if config.sender_mode == "celery" else "memory://"
    app.extensions["herald.login_throttle"] = LoginThrottle(storage)
