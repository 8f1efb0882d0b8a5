"""Links in an SMS: sent as short tracked links (/l/…) when [tracking] sms_short_links is on, else as
written, where every character of a long shop URL counts toward the segments."""

from __future__ import annotations

from campaigns.content.checks.findings import Finding
from campaigns.content.checks.links import text_links

LONG_LINK = 35  # characters; a short link (base_url/l/123.4.abcdef) is about this long


def check_short_links(body: str, *, shortened: bool, short_length: int = 0) -> list[Finding]:
    """`body` is the SMS as written (links not yet shortened); `shortened`: whether they will be."""
    links = text_links(body)
    if not links:
        return []
    if shortened:
        return [Finding("short_links", "note", "sms_links_shortened",
                        f"{len(links)} link(s) will be sent as short tracked links of {short_length} characters.",
                        {"links": len(links), "length": short_length})]
    long_links = [link for link in links if len(link) > LONG_LINK]
    if not long_links:
        return []
    longest = max(long_links, key=len)
    return [Finding("short_links", "warning", "sms_links_long",
                    f"{len(long_links)} link(s) are sent as written (the longest is {len(longest)} characters, "
                    f"{longest}): turn on [tracking] sms_short_links to send short links, or shorten them.",
                    {"links": len(long_links), "length": len(longest), "link": longest})]
