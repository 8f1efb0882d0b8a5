"""What a marketing message must carry by law and by carrier rules: an SMS tells the reader how to opt out
(回复TD退订 / Reply STOP), an email has an unsubscribe link. Checked when a template is saved, when a
marketing campaign is shown and with every preview (the other pre-send checks: this package), as a warning:
a template may also serve event notices, which need neither."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# The unsubscribe link is the template variable Herald fills per recipient (campaigns/content/rendering.py).
_UNSUBSCRIBE = re.compile(r"\{\{-?\s*unsubscribe_url\b")


@dataclass(frozen=True)
class MissingOptOut:
    """A marketing message a recipient could not opt out of; `channel` says which rule it breaks."""

    channel: str
    keywords: tuple[str, ...] = ()


def opt_out_wording(body: str, stop_keywords: Iterable[str]) -> bool:
    """Whether an SMS text tells the reader how to stop: a configured stop keyword (STOP, 退订, TD…) written as
    its own word, or the unsubscribe link."""
    if _UNSUBSCRIBE.search(body or ""):
        return True
    for keyword in stop_keywords:
        word = keyword.strip()
        if not word:
            continue
        # ASCII keywords as whole words ("STOP", not "nonstop"); Chinese ones anywhere (回复TD退订 has no spaces).
        pattern = rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])" if word.isascii() else re.escape(word)
        if re.search(pattern, body or "", flags=re.IGNORECASE if word.isascii() else 0):
            return True
    return False


def missing_opt_out(channel: str, *, body: str = "", html: str = "", text: str = "",
                    stop_keywords: Iterable[str] = ()) -> MissingOptOut | None:
    """The warning for a message that, sent as marketing, gives no way out; None when it has one."""
    keywords = tuple(k.strip() for k in stop_keywords if k.strip())
    if channel == "sms":
        return None if opt_out_wording(body, keywords) else MissingOptOut("sms", keywords)
    if channel == "email":
        return None if _UNSUBSCRIBE.search(html or "") or _UNSUBSCRIBE.search(text or "") else MissingOptOut("email")
    return None
