"""Links a recipient's mail program or phone cannot follow: an empty href, `javascript:`/`data:`, a link to
localhost or a private host (a preview made on a laptop, a base_url never set), or a relative link, which
has no page to be relative to inside an inbox. Checked on the rendered message, so a link built from a
contact field is checked as that contact gets it."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import urlsplit

from campaigns.content.checks.findings import Finding

# Schemes a link in a message may use besides http(s): they open the mail program, the dialler, the SMS app.
OTHER_SCHEMES = frozenset({"mailto", "tel", "sms"})
SCRIPT_SCHEMES = frozenset({"javascript", "vbscript", "data"})
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "0.0.0.0"})
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan")
# A URL in an SMS or a plain-text part: up to the first space or character that cannot end a URL.
TEXT_URL = re.compile(r"""https?://[^\s<>"'）】，。]+""", re.IGNORECASE)


class _Anchors(HTMLParser):
    """The href of every <a> and <area>, in order (None: the tag has no href at all)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "area"):
            values = dict(attrs)
            # An <a name="top"> without href is an anchor, not a link; only <a href=…> counts.
            if "href" in values:
                self.hrefs.append(values["href"] or "")


def html_links(html: str) -> list[str]:
    parser = _Anchors()
    parser.feed(html or "")
    parser.close()
    return [href or "" for href in parser.hrefs]


def text_links(text: str) -> list[str]:
    return [match.group(0).rstrip(".,;:!?)") for match in TEXT_URL.finditer(text or "")]


def is_local_host(host: str) -> bool:
    """Whether `host` is this machine or a private network, which no recipient can reach."""
    host = host.strip("[]").lower()
    if host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified or address.is_link_local


def link_problem(href: str) -> tuple[str, str] | None:
    """(code, English reason) for a link a recipient cannot follow; None when it looks reachable."""
    href = href.strip()
    if not href or href == "#":
        return "link_empty", "has no address (an empty href or “#”): give it the page it should open"
    parts = urlsplit(href)
    scheme = parts.scheme.lower()
    if scheme in SCRIPT_SCHEMES:
        return "link_script", f"uses {scheme}:, which mail programs block: link to a web page instead"
    if scheme in OTHER_SCHEMES:
        return None
    if scheme not in ("http", "https") or not parts.hostname:
        return "link_relative", ("is not a full web address (no https://host): an inbox has no page for it "
                                 "to be relative to")
    if is_local_host(parts.hostname):
        return "link_local", (f"points at {parts.hostname}, which only this computer or network can open: "
                              "use the public address ([app] base_url for Herald's own links)")
    return None


def check_links(links: Iterable[str], *, part: str) -> list[Finding]:
    """One finding per distinct unreachable link of `part` ("HTML", "text", "SMS")."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for href in links:
        if href in seen:
            continue
        seen.add(href)
        problem = link_problem(href)
        if problem is not None:
            code, reason = problem
            shown = href.strip() or "(empty)"
            findings.append(Finding("links", "error", code, f"The {part} link {shown} {reason}.",
                                    {"link": shown, "part": part}))
    return findings
