"""The size of an email's HTML: Gmail shows only the first 102 KB of it and hides the rest behind "View
entire message", so the footer with the unsubscribe link and the sender's address disappears. Measured on
the rendered HTML in UTF-8 bytes, as Gmail measures it (a Chinese character is 3 bytes)."""

from __future__ import annotations

from campaigns.content.checks.findings import Finding

GMAIL_CLIP_BYTES = 102 * 1000  # Gmail's clipping limit; the kilobyte is read as 1,000 bytes to stay on the safe side
NEAR_SHARE = 0.8  # above this share of the limit, a few more blocks or a long contact field clip it


def check_size(html: str) -> list[Finding]:
    size = len((html or "").encode("utf-8"))
    values = {"bytes": size, "kilobytes": round(size / 1000, 1), "limit_kilobytes": GMAIL_CLIP_BYTES // 1000}
    if size > GMAIL_CLIP_BYTES:
        return [Finding("size", "error", "size_clipped",
                        f"The HTML is {values['kilobytes']} KB; Gmail clips an email over "
                        f"{values['limit_kilobytes']} KB and hides the rest, unsubscribe link included: "
                        "remove blocks or inline styles repeated on every element.", values)]
    if size > GMAIL_CLIP_BYTES * NEAR_SHARE:
        return [Finding("size", "warning", "size_near_clip",
                        f"The HTML is {values['kilobytes']} KB, close to the {values['limit_kilobytes']} KB at "
                        "which Gmail clips an email.", values)]
    return []
