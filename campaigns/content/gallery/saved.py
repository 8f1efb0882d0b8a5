"""A company's own templates in the gallery (table `gallery_templates`): a copy of one of its templates,
saved from the template editor, that anyone on the team can preview and start from like a ready one.
A copy, not a link: editing or deleting the template later leaves the gallery's version as it was saved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from campaigns.content.gallery.ready import LANGUAGES, GalleryEntry
from campaigns.models import Template
from core.db import Base, UTCDateTime
from core.errors import Invalid, NotFound

SAVED_GROUP = "saved"
SAVED_PREFIX = "saved-"


class GalleryTemplate(Base):
    __tablename__ = "gallery_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    html: Mapped[str] = mapped_column(Text, default="", server_default="")
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The template it was saved from (None once that template is deleted): shown, never followed for content.
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id", ondelete="SET NULL"), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def entry(self) -> GalleryEntry:
        return GalleryEntry(key=f"{SAVED_PREFIX}{self.id}", group=SAVED_GROUP, order=self.id, language=self.language,
                            channel=self.channel, title=self.title, subject=self.subject or "",
                            html=self.html or "", text=self.text or "", body=self.body or "", saved_id=self.id)


def save_to_gallery(session: Session, template_id: int, *, title: str, language: str, now: datetime,
                    user_id: int | None = None) -> GalleryTemplate:
    """Copy template `template_id` into the company's gallery under `title`, in `language`; commits.
    Raises NotFound (no such template) or Invalid (no title, an unknown language)."""
    template = session.get(Template, template_id)
    if template is None:
        raise NotFound(f"template {template_id} does not exist; see the template list for the ids that do")
    title = (title or "").strip() or template.name
    if len(title) > 200:
        raise Invalid(f"a gallery title has at most 200 characters; this one has {len(title)}", field="title")
    if language not in LANGUAGES:
        raise Invalid(f'language "{language}" is not one of the gallery\'s: {", ".join(LANGUAGES)}', field="language")
    saved = GalleryTemplate(title=title, channel=template.channel, language=language, subject=template.subject or "",
                            html=template.html or "", text=template.text or "", body=template.body or "",
                            template_id=template.id, created_by=user_id, created_at=now)
    session.add(saved)
    session.commit()
    return saved


def saved_entries(session: Session) -> list[GalleryEntry]:
    """The company's saved templates, newest first."""
    return [row.entry() for row in session.scalars(select(GalleryTemplate).order_by(GalleryTemplate.id.desc()))]


def get_saved(session: Session, saved_id: int) -> GalleryTemplate:
    saved = session.get(GalleryTemplate, saved_id)
    if saved is None:
        raise NotFound(f"gallery template {SAVED_PREFIX}{saved_id} does not exist (deleted from the gallery?)")
    return saved


def delete_saved(session: Session, saved_id: int) -> None:
    """Take a saved template out of the gallery; commits. Templates copied from it stay."""
    session.delete(get_saved(session, saved_id))
    session.commit()
