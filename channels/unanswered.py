"""Telling an HTTP request that never left from one whose answer was lost (channels/base.py, Refused.outcome_unknown).

requests wraps urllib3's error: MaxRetryError(reason=NewConnectionError | ConnectTimeoutError) when the
connection could not be made (refused, DNS, connect timeout) — nothing was sent; a ReadTimeout, or
ProtocolError("Connection aborted.", RemoteDisconnected), when it broke after the request was written —
the provider may have the message.
"""

from __future__ import annotations

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError


def never_connected(exc: requests.RequestException) -> bool:
    """True when the request certainly did not reach the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, MaxRetryError):
        cause = cause.reason
    return isinstance(cause, NewConnectionError | ConnectTimeoutError)
