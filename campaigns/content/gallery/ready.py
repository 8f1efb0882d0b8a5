"""The ready templates: one TOML file per occasion in this folder, each in English and 简体中文, each as an
SMS and an email. A file holds the words (`sms`; `subject`, `heading`, `paragraphs`); the email's HTML
and text are made from them by layout.py. Read once per process: the files ship with Herald.

A file:
    key = "spring_festival"       # its name in URLs and in the API
    group = "holiday"             # holiday | care | lifecycle | event | order: how the gallery groups them
    order = 1                     # its place in the gallery
    [en] / [zh_CN]                # title, sms, subject, heading, paragraphs
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from campaigns.content.gallery.layout import email_html, email_text
from channels import SIGNATURE_PLACEHOLDER

FOLDER = Path(__file__).parent
LANGUAGES = ("en", "zh_CN")
GROUPS = ("holiday", "care", "lifecycle", "event", "order")


@dataclass(frozen=True)
class GalleryEntry:
    """One template of the gallery in one language and channel: a ready one (`saved_id` None) or one a
    company saved (campaigns/content/gallery/saved.py)."""

    key: str  # "spring_festival"; a saved one's is "saved-<id>"
    group: str
    order: int
    language: str  # "en" | "zh_CN"
    channel: str  # "sms" | "email"
    title: str
    subject: str = ""
    html: str = ""
    text: str = ""
    body: str = ""
    saved_id: int | None = None

    @property
    def parts(self) -> dict[str, str]:
        """The template parts of its channel, as a template holds them."""
        if self.channel == "sms":
            return {"body": self.body}
        return {"subject": self.subject, "html": self.html, "text": self.text}

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "group": self.group, "language": self.language, "channel": self.channel,
                "title": self.title, "saved_id": self.saved_id, **self.parts}


class GalleryFileInvalid(ValueError):
    """A gallery data file lacks a field or has an unknown group or language (a bug in the shipped files)."""


@cache
def ready_entries() -> tuple[GalleryEntry, ...]:
    """Every ready template, in gallery order (group, order, language, channel)."""
    entries: list[GalleryEntry] = []
    for path in sorted(FOLDER.glob("*.toml")):
        entries += _read(path)
    return tuple(sorted(entries, key=lambda e: (GROUPS.index(e.group), e.order, e.key,
                                                LANGUAGES.index(e.language), e.channel)))


def _read(path: Path) -> list[GalleryEntry]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    key, group, order = data.get("key"), data.get("group"), data.get("order", 0)
    if key != path.stem or group not in GROUPS:
        raise GalleryFileInvalid(f"{path.name}: key must be {path.stem!r} and group one of {', '.join(GROUPS)}; "
                                 f"found key={key!r}, group={group!r}")
    entries = []
    for language in LANGUAGES:
        words = data.get(language)
        missing = [name for name in ("title", "sms", "subject", "heading", "paragraphs") if not (words or {}).get(name)]
        if missing:
            raise GalleryFileInvalid(f"{path.name}: [{language}] lacks {', '.join(missing)}")
        common = {"key": key, "group": group, "order": order, "language": language, "title": words["title"]}
        entries.append(GalleryEntry(channel="sms", body=words["sms"], **common))
        entries.append(GalleryEntry(
            channel="email", subject=words["subject"],
            html=email_html(language=language, subject=words["subject"], heading=words["heading"],
                            paragraphs=words["paragraphs"], signature=SIGNATURE_PLACEHOLDER),
            text=email_text(language=language, heading=words["heading"], paragraphs=words["paragraphs"],
                            signature=SIGNATURE_PLACEHOLDER), **common))
    return entries
