"""SMS segment counting per GSM 03.38 (3GPP TS 23.038), the way carriers and Twilio bill.

A text that uses only the GSM-7 alphabet is sent in 7-bit septets: 160 in a single message, 153 per
part once it has to be split (7 septets go to the concatenation header). Characters of the extension
table are sent as ESC + char, so they cost 2 septets, and a part never ends between the two.
Anything outside GSM-7 (Chinese, emoji, curly quotes) switches the whole message to UCS-2: 70 UTF-16
code units single, 67 per part; a character outside the BMP (most emoji) is a surrogate pair, costs
2 and is never split across parts either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The GSM 03.38 default alphabet, in table order (0x00-0x7F). 0x1B is the escape to the extension
# table, not a character a text may contain, so it is taken out.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
) - {"\x1b"}
# The extension table: each of these is sent as ESC + char, so it costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsSize:
    """How a text will be sent.

    `characters` is the length in the units the limits are measured in (septets for GSM-7, UTF-16
    code units for UCS-2), so "€" counts 2 and an emoji counts 2. `remaining` is how many more units
    fit before another segment is needed.
    """

    segments: int
    encoding: Literal["GSM-7", "UCS-2"]
    characters: int
    per_segment: int
    remaining: int

    def to_dict(self) -> dict[str, object]:
        return {
            "segments": self.segments,
            "encoding": self.encoding,
            "characters": self.characters,
            "per_segment": self.per_segment,
            "remaining": self.remaining,
        }


def count_sms(text: str) -> SmsSize:
    """Count the segments `text` will be billed as. Empty text is 0 segments."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        costs = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return _pack("GSM-7", costs, GSM7_SINGLE, GSM7_PART)
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return _pack("UCS-2", costs, UCS2_SINGLE, UCS2_PART)


def _pack(encoding: Literal["GSM-7", "UCS-2"], costs: list[int], single: int, part: int) -> SmsSize:
    total = sum(costs)
    if total <= single:
        return SmsSize(1 if total else 0, encoding, total, single, single - total)
    # Fill parts greedily; a 2-unit character that does not fit whole starts the next part, which is
    # why a long text with many "€" or emoji can need one more part than total / part suggests.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return SmsSize(segments, encoding, total, part, part - used)
