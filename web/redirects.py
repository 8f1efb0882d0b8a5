"""Where a request may send the browser back to: a path on this site, from `next=` or the Referer.

Browsers drop tab, CR and LF from a Location, so "/\\t/evil.com" becomes "//evil.com", another site; and
a CR or LF in a Location makes werkzeug refuse the header (a 500). Anything with a control character,
a backslash, another host or a scheme other than http(s) is refused, and the caller's fallback is used.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


def local_target(target: str | None) -> str | None:
    """`target` as a path (and query) on this site, or None when it is empty or could lead elsewhere.

    An absolute URL (a Referer) is accepted only when its host is the one this request came to.
    """
    if not target or "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return None
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
