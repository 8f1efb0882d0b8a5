"""Where a page may send the browser next: only to a path on this site.

`?next=`, the language switch's `next` and the Referer all come from outside. A target is accepted
only as a plain path: no scheme, no host, no leading `//` or `\\` (browsers read `/\\evil.example`
as `//evil.example`), and no control characters at all, because browsers strip tab, CR and LF from
a URL before reading it, so `/\\t/evil.example` becomes `//evil.example`; CR/LF in a Location
header would also make Werkzeug refuse the response (a 500).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


def same_site_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: a crafted ?next= must not lead elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return target


def referrer_path() -> str | None:
    """The page the browser came from, as a path, if it was a page of this site; else None."""
    referrer = request.referrer
    # Checked before urlsplit, which quietly drops tab, CR and LF as browsers do.
    if not referrer or any(ord(char) < 0x20 or ord(char) == 0x7F for char in referrer):
        return None
    parts = urlsplit(referrer)
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    return same_site_path(parts.path + (f"?{parts.query}" if parts.query else ""))
