"""Words and habits that spam filters score against a message. A small list on purpose: each entry is
something filters are known to weigh (SpamAssassin's rules of the same names, and the Chinese carriers'
keyword screening of SMS), not a guess at every word a filter might dislike.

- SUBJ_ALL_CAPS: a subject mostly in capitals (at least 6 letters, 80% of them upper case).
- exclamation marks: three in a row anywhere, or more than two in the subject.
- phrases: "free money", "100% free", "risk-free", "act now", "cash bonus", "no strings attached",
  "you have been selected", "double your money", "$$$"; and in Chinese 中奖 (you won), 稳赚 (sure
  profit), 日赚 (earn daily), 代开发票 (invoices for sale), 无抵押贷款 (unsecured loans).
"""

from __future__ import annotations

import re

from campaigns.content.checks.findings import Finding

SPAM_PHRASES = ("free money", "100% free", "risk-free", "act now", "cash bonus", "no strings attached",
                "you have been selected", "double your money", "$$$", "中奖", "稳赚", "日赚", "代开发票",
                "无抵押贷款")
CAPS_MIN_LETTERS = 6
CAPS_SHARE = 0.8
EXCLAMATIONS = re.compile(r"[!！]{3,}")


def shouting(subject: str) -> bool:
    """Whether a subject is mostly capitals (a few capitals such as "VIP" or "20% OFF" are fine)."""
    letters = [ch for ch in subject if ch.isalpha() and ch.lower() != ch.upper()]
    if len(letters) < CAPS_MIN_LETTERS:
        return False
    return sum(ch.isupper() for ch in letters) >= CAPS_SHARE * len(letters)


def check_spam(*, subject: str = "", text: str = "") -> list[Finding]:
    """Spam-trigger patterns in the subject (email) and the text the reader sees (email text part, SMS)."""
    findings: list[Finding] = []
    if shouting(subject):
        findings.append(Finding("spam", "warning", "spam_caps",
                                "The subject is in capitals, which spam filters score against: write it in "
                                "sentence case.", {"subject": subject}))
    exclaimed = subject.count("!") + subject.count("！")
    if EXCLAMATIONS.search(subject) or exclaimed > 2 or EXCLAMATIONS.search(text):
        findings.append(Finding("spam", "warning", "spam_exclamations",
                                "Three or more exclamation marks (“!!!”) read as spam to filters and people: "
                                "keep one.", {}))
    lowered = f"{subject}\n{text}".lower()
    found = [phrase for phrase in SPAM_PHRASES if phrase in lowered]
    if found:
        words = ", ".join(f"“{phrase}”" for phrase in found)
        findings.append(Finding("spam", "warning", "spam_phrases",
                                f"Spam filters score against {words}: say it another way.",
                                {"phrases": ", ".join(found)}))
    return findings
