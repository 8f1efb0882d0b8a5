"""An email's subject: present, and short enough to be read in an inbox list. Phones show about the first
30–40 characters; a Chinese character takes the room of two Latin ones, so the length is measured in
columns (East Asian wide and full-width characters count 2)."""

from __future__ import annotations

import unicodedata

from campaigns.content.checks.findings import Finding

SUBJECT_COLUMNS = 60  # about what a desktop inbox shows; a phone shows less, so the start must say it


def columns(text: str) -> int:
    """The width of `text` in columns: 2 for each wide or full-width character, 1 for the rest."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def check_subject(subject: str) -> list[Finding]:
    subject = (subject or "").strip()
    if not subject:
        return [Finding("subject", "error", "subject_empty",
                        "The email has no subject: many mail programs file such mail as spam, and readers "
                        "see “(no subject)”.")]
    width = columns(subject)
    if width > SUBJECT_COLUMNS:
        return [Finding("subject", "warning", "subject_long",
                        f"The subject is {width} columns long (a Chinese character counts 2); inboxes show about "
                        f"{SUBJECT_COLUMNS} and phones fewer: put what matters in the first words.",
                        {"columns": width, "limit": SUBJECT_COLUMNS})]
    return []
