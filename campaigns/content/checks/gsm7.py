"""Characters that turn a GSM-7 SMS into UCS-2: a curly quote pasted from a word processor, an en dash, a
full-width comma typed with a Chinese input method. One of them in an English text halves what fits in a
segment (160 → 70 characters) and can double the bill. Each is named with its position in the text as
sent and the GSM-7 character that looks the same (the replacements Twilio's "smart encoding" makes).

A text with characters that have no GSM-7 look-alike (Chinese, most emoji) was meant to be UCS-2; then
nothing is said, since replacing its quotes would save nothing.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from campaigns.content.checks.findings import Finding
from channels import count_sms
from channels.segments import GSM7_BASIC, GSM7_EXTENSION

_LOOK_ALIKES = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "\u0060": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u2022": "-", "\u00b7": "-", "\u3001": ",", "\u3002": ".", "\u300c": '"', "\u300d": '"',
    "\u3010": "[", "\u3011": "]", "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u3000": " ", "\u200b": "", "\u00ad": "", "\ufeff": "", "\u2122": "TM", "\u00a9": "(c)",
    "\u00ae": "(R)", "\u00e1": "a", "\u00e2": "a", "\u00e3": "a", "\u00ea": "e", "\u00eb": "e", "\u00ed": "i",
    "\u00ee": "i", "\u00ef": "i", "\u00f3": "o", "\u00f4": "o", "\u00f5": "o", "\u00fa": "u", "\u00fb": "u",
    "\u00e7": "c",
}  # fmt: skip


def _is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def gsm7_replacement(ch: str) -> str | None:
    """The GSM-7 text that looks like `ch` ("" to drop an invisible one); None when there is none."""
    if ch in _LOOK_ALIKES:
        return _LOOK_ALIKES[ch]
    if "\uff01" <= ch <= "\uff5e":  # full-width ASCII (，！？０-９Ａ-Ｚ) is ASCII moved by 0xFEE0
        ascii_form = chr(ord(ch) - 0xFEE0)
        return ascii_form if _is_gsm7(ascii_form) else None
    return None


@dataclass(frozen=True)
class ForcingCharacter:
    character: str
    name: str  # "RIGHT SINGLE QUOTATION MARK (U+2019)"
    position: int  # 1-based, in the text as sent
    replacement: str

    def to_dict(self) -> dict[str, object]:
        return {"character": self.character, "name": self.name, "position": self.position,
                "replacement": self.replacement}


def forcing_characters(text: str) -> list[ForcingCharacter]:
    """The characters that make `text` UCS-2 although every one of them has a GSM-7 look-alike; empty when
    the text is GSM-7 already or has characters only UCS-2 can carry (then UCS-2 was intended)."""
    found: list[ForcingCharacter] = []
    for position, ch in enumerate(text, start=1):
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
            continue
        replacement = gsm7_replacement(ch)
        if replacement is None:
            return []
        name = unicodedata.name(ch, "UNNAMED CHARACTER")
        found.append(ForcingCharacter(ch, f"{name} (U+{ord(ch):04X})", position, replacement))
    return found


def replace_forcing(text: str) -> str:
    """`text` with each forcing character replaced by its GSM-7 look-alike (only when all of them have one)."""
    forcing = {f.character: f.replacement for f in forcing_characters(text)}
    return "".join(forcing.get(ch, ch) for ch in text) if forcing else text


def check_gsm7(text: str) -> list[Finding]:
    forcing = forcing_characters(text)
    if not forcing:
        return []
    now, replaced = count_sms(text), count_sms(replace_forcing(text))
    listed = "; ".join(f"“{f.character}” {f.name} at character {f.position} → “{f.replacement}”" for f in forcing)
    return [Finding("gsm7", "warning", "gsm7_forced_ucs2",
                    f"{len(forcing)} character(s) switch this SMS to UCS-2 (70 characters a segment instead of "
                    f"160): {listed}. Replaced, it is {replaced.segments} segment(s) instead of {now.segments}.",
                    {"characters": [f.to_dict() for f in forcing], "segments": now.segments,
                     "segments_replaced": replaced.segments,
                     "replacements": {f.character: f.replacement for f in forcing}})]
