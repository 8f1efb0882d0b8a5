"""What an SMS costs: its segments as the channel will send them (signature and short links included) and
the price of each ([channels.sms] price_per_segment), so a marketer sees the bill before the send."""

from __future__ import annotations

from decimal import Decimal

from campaigns.content.checks.findings import Finding
from channels import SmsSize

MANY_SEGMENTS = 4  # from here on, a text costs as much as four messages: worth a warning, not a note


def check_sms_size(size: SmsSize, *, price: Decimal, currency: str) -> list[Finding]:
    cost = (price * size.segments).quantize(Decimal("0.0001")).normalize()
    values = {"segments": size.segments, "encoding": size.encoding, "characters": size.characters,
              "price": str(price.normalize()), "cost": f"{cost:f}", "currency": currency}
    if size.segments == 0:
        return [Finding("segments", "error", "sms_empty", "The SMS text is empty once rendered: nothing would be sent.",
                        values)]
    level = "warning" if size.segments >= MANY_SEGMENTS else "note"
    return [Finding("segments", level, "sms_segments",
                    f"{size.characters} characters in {size.encoding}: {size.segments} segment(s), each billed as "
                    f"one message — {cost:f} {currency} per recipient at {price.normalize():f} a segment.", values)]
