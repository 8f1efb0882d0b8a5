"""The 【签名】 placeholder of the gallery's templates: the SMS channel's signature fills it (http-sms
`signature=`), otherwise the marketer writes the company's signature in its place. One left in a message
as sent would reach recipients as the word "signature"."""

from __future__ import annotations

from campaigns.content.checks.findings import Finding
from channels import SIGNATURE_PLACEHOLDER


def check_signature(*texts: str) -> list[Finding]:
    if not any(SIGNATURE_PLACEHOLDER in (text or "") for text in texts):
        return []
    return [Finding("signature", "warning", "signature_placeholder",
                    f"The message still says {SIGNATURE_PLACEHOLDER}: write your company's signature in its "
                    "place (e.g. 【Herald Coffee】), or set signature= on the SMS channel to fill it.",
                    {"placeholder": SIGNATURE_PLACEHOLDER})]
