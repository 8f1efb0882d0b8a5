"""What keeps robots and floods off the public sign-up forms, without any third-party service.

A form posted from another site cannot carry a CSRF token (the embeddable snippet is plain HTML on someone
else's page), so /f/… is exempt from CSRF and protected instead by:
- a honeypot field (`website`) that people never see and robots fill in: such a post is answered as if
  it worked and does nothing;
- a time token (`_t`): when the page was served, signed with the secret key. A post sooner than
  MIN_SECONDS after it, older than MAX_SECONDS, forged or missing (the snippet has none) gets the hosted
  page back, filled in, to check and send again — which also shows the consent text Herald records,
  not a copy another site could have edited;
- rate limits with the `limits` library, as logins (web/login_throttle.py) and provider rates
  (channels/ratelimit.py) use it: per client address (PER_ADDRESS_IP) and per email or phone
  (PER_CONTACT_ADDRESS). Past the address limit the visitor is answered as if it worked and nobody is
  sent another confirmation, so a form cannot be used to flood someone's inbox or phone; past the IP
  limit, 429.
The answer never depends on whether the address belongs to a contact (campaigns/signups/submissions.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from datetime import datetime

from flask import Flask
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from core.config import Config
from core.ids import sign, verify

HONEYPOT = "website"
TIME_FIELD = "_t"
MIN_SECONDS = 3  # nobody types a form in less
MAX_SECONDS = 24 * 3600  # a page left open overnight still works once its token is refreshed
PER_ADDRESS_IP = parse("20 per hour")
PER_CONTACT_ADDRESS = parse("3 per hour")
CODE_TRIES_PER_IP = parse("30 per hour")
NAMESPACE = "herald-signups"


def time_token(secret_key: str, slug: str, now: datetime) -> str:
    """When the form at /f/<slug> was served, signed so a robot cannot backdate it."""
    stamp = int(now.timestamp())
    return f"{stamp}.{sign(secret_key, f'signup-time:{slug}:{stamp}')}"


def time_token_problem(secret_key: str, slug: str, token: str, now: datetime) -> str | None:
    """None when the token is genuine and its age plausible; else "missing", "forged", "too_fast" or "stale"."""
    stamp, _dot, signature = (token or "").partition(".")
    if not stamp:
        return "missing"
    if not stamp.isdigit() or not verify(secret_key, f"signup-time:{slug}:{stamp}", signature):
        return "forged"
    age = now.timestamp() - int(stamp)
    if age < MIN_SECONDS:
        return "too_fast"
    return "stale" if age > MAX_SECONDS else None


class SignupThrottle:
    """Counts sign-ups per client address and per email or phone; thread-safe (the storages are), one per app."""

    def __init__(self, storage_uri: str = "memory://", *, per_ip: RateLimitItem = PER_ADDRESS_IP,
                 per_address: RateLimitItem = PER_CONTACT_ADDRESS, code_tries: RateLimitItem = CODE_TRIES_PER_IP):
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.per_ip, self.per_address, self.code_tries = per_ip, per_address, code_tries

    def ip_wait_seconds(self, ip: str, *, code: bool = False) -> int | None:
        """Count one sign-up (or one code tried) from `ip`; None when it may go on, else seconds to wait."""
        limit = self.code_tries if code else self.per_ip
        if self._limiter.hit(limit, NAMESPACE, "code" if code else "ip", ip or "?"):
            return None
        reset_at, _remaining = self._limiter.get_window_stats(limit, NAMESPACE, "code" if code else "ip", ip or "?")
        return max(1, math.ceil(reset_at - time.time()))

    def addresses_allowed(self, addresses: Iterable[str]) -> bool:
        """Count one sign-up for each email or phone; False when any of them had enough this hour."""
        allowed = True
        for address in addresses:
            allowed = self._limiter.hit(self.per_address, NAMESPACE, "address", address) and allowed
        return allowed


def init_app(app: Flask, config: Config) -> None:
    # Several web workers must see the same counts in scaled mode: the shared Redis, as the login throttle.
    storage = str(config.celery_rate_limit_url) if config.sender_mode == "celery" else "memory://"
    app.extensions["herald.signup_throttle"] = SignupThrottle(storage)
