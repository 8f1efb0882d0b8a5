"""Contacts, static lists and per-channel consent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base, UTCDateTime

# Fields a CSV column or a template can name directly; anything else is a custom attribute.
CONTACT_FIELDS = (
    "external_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "country",
    "locale",
    "time_zone",
    "birthday",
)

CONSENT_STATUSES = ("subscribed", "unsubscribed", "bounced", "complained")


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True, nullable=True)  # E.164
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)  # ISO 3166-1 alpha-2
    locale: Mapped[str | None] = mapped_column(String(10), nullable=True)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    birthday: Mapped[date | None] = mapped_column(Date, nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def name(self) -> str:
        # Chinese names read surname first with no space (王芳); Western names given name first.
        if any("\u4e00" <= ch <= "\u9fff" for ch in (self.last_name or "") + (self.first_name or "")):
            return f"{self.last_name or ''}{self.first_name or ''}"
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    def as_template_context(self) -> dict[str, Any]:
        """What a template sees as `contact`: the fields, then the custom attributes under their own names.

        Custom attributes never shadow a field, so `{{ contact.email }}` always means the address.
        """
        context: dict[str, Any] = dict(self.attributes or {})
        for field in CONTACT_FIELDS:
            context[field] = getattr(self, field)
        context["id"] = self.id
        context["name"] = self.name
        context["attributes"] = dict(self.attributes or {})
        return context


class ContactList(Base):
    """A static list: contacts put there by an import or by hand."""

    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ListMember(Base):
    __tablename__ = "list_members"

    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_list_members_contact", "contact_id"),)


class Consent(Base):
    """The current consent of one contact on one channel. No row means subscribed (opt-out model)."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))  # email | sms
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(100), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("contact_id", "channel"),)


class Segment(Base):
    """A saved rule tree (audiences/segments.py): who matches is decided at count or send time, not stored."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
