"""The template gallery: ready templates for the occasions a Chinese or international customer business
greets and informs its customers on (春节, 元宵节, 端午节, 中秋节, 国庆节, Christmas, New Year, birthday,
member day, welcome, win-back, event invitation / reminder / day-of notice, order confirmation), each in
English and 简体中文, as SMS and email; and the templates a company saved to it.

`ready.py` reads the data files of this folder, `layout.py` makes their email, `saved.py` keeps the
company's own. A marketer previews an entry for a contact (campaigns/content/templates.py preview_template)
and copies it into their templates (`copy_to_templates`), where the 【签名】 placeholder becomes their
signature, or stays for an SMS channel that signs texts itself (channels.SIGNATURE_PLACEHOLDER).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from campaigns.content.gallery.ready import GROUPS, LANGUAGES, GalleryEntry, ready_entries
from campaigns.content.gallery.saved import (
    SAVED_GROUP,
    SAVED_PREFIX,
    GalleryTemplate,
    delete_saved,
    get_saved,
    save_to_gallery,
    saved_entries,
)
from campaigns.content.templates import create_template
from campaigns.models import Template
from channels import SIGNATURE_PLACEHOLDER
from core.errors import NotFound


def gallery_entries(session: Session, *, language: str | None = None, channel: str | None = None) -> list[GalleryEntry]:
    """The ready templates, then the company's saved ones; only one language's or channel's when given."""
    entries = [*ready_entries(), *saved_entries(session)]
    return [e for e in entries
            if (language is None or e.language == language) and (channel is None or e.channel == channel)]


def get_entry(session: Session, key: str, *, language: str, channel: str) -> GalleryEntry:
    """One entry by key ("spring_festival", "saved-12"), language and channel. Raises NotFound naming them."""
    if key.startswith(SAVED_PREFIX) and key[len(SAVED_PREFIX):].isdigit():
        entry = get_saved(session, int(key[len(SAVED_PREFIX):])).entry()
        if entry.channel == channel:
            return entry
    for entry in ready_entries():
        if (entry.key, entry.language, entry.channel) == (key, language, channel):
            return entry
    raise NotFound(f'the gallery has no {channel} template "{key}" in {language}; the gallery page lists them')


def with_signature(entry: GalleryEntry, signature: str) -> dict[str, str]:
    """The entry's parts with 【签名】 replaced by `signature` ("" keeps the placeholder for the channel to fill)."""
    signature = signature.strip()
    if not signature:
        return dict(entry.parts)
    return {name: value.replace(SIGNATURE_PLACEHOLDER, signature) for name, value in entry.parts.items()}


def copy_to_templates(session: Session, entry: GalleryEntry, *, name: str, signature: str, now: datetime,
                      sms_max_length: int | None = None) -> Template:
    """A new template of the marketer's from a gallery entry, its 【签名】 made `signature` (see with_signature);
    commits. Raises Invalid or TemplateInvalid as create_template does."""
    return create_template(session, name=(name or "").strip() or entry.title, channel=entry.channel, now=now,
                           sms_max_length=sms_max_length, **with_signature(entry, signature))


__all__ = [
    "GROUPS",
    "LANGUAGES",
    "SAVED_GROUP",
    "GalleryEntry",
    "GalleryTemplate",
    "copy_to_templates",
    "delete_saved",
    "gallery_entries",
    "get_entry",
    "ready_entries",
    "save_to_gallery",
    "with_signature",
]
