"""Pre-send checks: what to look at in a message before it goes to thousands of people.

Each module checks one thing and is named for it: `opt_out` (an unsubscribe link, 回复TD退订 / Reply STOP),
`links` (links a recipient cannot follow), `images` (alt text), `size` (Gmail's 102 KB clipping), `subject`,
`spam` (a short documented list of trigger patterns), `gsm7` (characters that force UCS-2), `sms_size`
(segments and cost), `short_links`, `signature` (the gallery's 【签名】 placeholder left in). They return
`Finding`s (`findings.py`); `check_email` and `check_sms` run every check that applies to a message
rendered for a contact. The template editor shows them next to the preview, the campaign page before
Send, the API with the preview (campaigns/content/templates.py preview_template).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from campaigns.content.checks.findings import LEVELS, Finding, by_level, passes
from campaigns.content.checks.gsm7 import check_gsm7, forcing_characters, gsm7_replacement, replace_forcing
from campaigns.content.checks.images import check_images
from campaigns.content.checks.links import check_links, html_links, text_links
from campaigns.content.checks.opt_out import MissingOptOut, missing_opt_out, opt_out_wording
from campaigns.content.checks.short_links import check_short_links
from campaigns.content.checks.signature import check_signature
from campaigns.content.checks.size import GMAIL_CLIP_BYTES, check_size
from campaigns.content.checks.sms_size import check_sms_size
from campaigns.content.checks.spam import SPAM_PHRASES, check_spam
from campaigns.content.checks.subject import check_subject
from channels import SmsSize


@dataclass(frozen=True)
class CheckSettings:
    """What the checks need from the configuration: the stop keywords an SMS may name ([replies]
    stop_keywords), the price of an SMS segment and the workspace currency."""

    stop_keywords: Sequence[str] = ("STOP", "TD", "退订")
    sms_price: Decimal = Decimal(0)
    currency: str = "CNY"


def check_email(*, subject: str, html: str, text: str, source_html: str, source_text: str) -> list[Finding]:
    """Every check of an email rendered for a contact (`subject`, `html`, `text`); the unsubscribe link is
    looked for in the template's own parts (`source_*`), where it is the {{ unsubscribe_url }} variable."""
    findings: list[Finding] = []
    if missing_opt_out("email", html=source_html, text=source_text) is not None:
        findings.append(Finding("opt_out", "warning", "email_no_unsubscribe",
                                "The email has no unsubscribe link: add {{ unsubscribe_url }} (in the footer) "
                                "before sending it as marketing; event notices may leave it out."))
    findings += check_links(html_links(html), part="HTML")
    findings += check_links(text_links(text), part="text")
    findings += check_images(html)
    findings += check_size(html)
    findings += check_subject(subject)
    findings += check_spam(subject=subject, text=text)
    findings += check_signature(subject, html, text)
    return by_level(findings)


def check_sms(*, body: str, as_sent: str, size: SmsSize, shortened: bool, short_length: int,
              settings: CheckSettings) -> list[Finding]:
    """Every check of an SMS rendered for a contact: `body` as rendered (links as written), `as_sent` as the
    recipient gets it (short links, the channel's signature) and `size` its segments."""
    findings: list[Finding] = []
    missing = missing_opt_out("sms", body=body, stop_keywords=settings.stop_keywords)
    if missing is not None:
        findings.append(Finding("opt_out", "warning", "sms_no_opt_out",
                                "The SMS tells readers no way to opt out: a marketing SMS must, e.g. “回复TD退订” "
                                f"or “Reply STOP to opt out” (any of: {', '.join(missing.keywords)}); event "
                                "notices may leave it out.", {"keywords": ", ".join(missing.keywords)}))
    findings += check_links(text_links(body), part="SMS")
    findings += check_gsm7(as_sent)
    findings += check_sms_size(size, price=settings.sms_price, currency=settings.currency)
    findings += check_short_links(body, shortened=shortened, short_length=short_length)
    findings += check_spam(text=body)
    findings += check_signature(as_sent)
    return by_level(findings)


__all__ = [
    "GMAIL_CLIP_BYTES",
    "LEVELS",
    "SPAM_PHRASES",
    "CheckSettings",
    "Finding",
    "MissingOptOut",
    "by_level",
    "check_email",
    "check_sms",
    "forcing_characters",
    "gsm7_replacement",
    "missing_opt_out",
    "opt_out_wording",
    "passes",
    "replace_forcing",
]
