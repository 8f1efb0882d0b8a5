"""The tables of sign-up forms: the forms built in the UI and every submission with its evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

import audiences.models  # noqa: F401 - submissions refer to contacts.id
import campaigns.models  # noqa: F401 - and to messages.id (the confirmation)
from core.clock import utcnow
from core.db import Base, UTCDateTime

FORM_LANGUAGES = ("en", "zh_CN")
SUBMISSION_STATUSES = ("pending", "confirmed")
CONFIRMED_BY = ("link", "code", "reply")  # the email link, the SMS code typed on the page, "Y" texted back


class SignupForm(Base):
    """A form a marketer built: which contact and custom fields it asks (in order), the lists a confirmed
    contact joins, the consent text shown for each channel it offers ("" = not offered)."""

    __tablename__ = "signup_forms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)  # base_url/f/<slug>
    name: Mapped[str] = mapped_column(String(200))  # the marketer's name for it
    language: Mapped[str] = mapped_column(String(10), default="en")  # the hosted page's and confirmation's
    title: Mapped[str] = mapped_column(String(200), default="")  # what the visitor reads at the top
    intro: Mapped[str] = mapped_column(Text, default="")
    # [{"field": "email" | "first_name" | … | "attributes.<custom key>", "label": "…", "required": bool}]
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    list_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    email_consent: Mapped[str] = mapped_column(Text, default="")
    sms_consent: Mapped[str] = mapped_column(Text, default="")
    thanks: Mapped[str] = mapped_column(Text, default="")  # shown once confirmed
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def consent_text(self, channel: str) -> str:
        return self.email_consent if channel == "email" else self.sms_consent

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels the form asks consent for, email first."""
        return tuple(c for c in ("email", "sms") if self.consent_text(c).strip())


class SignupSubmission(Base):
    """One submission for one channel, and the evidence a consent needs: the form, the consent text as shown,
    when and from which address it came, and when and how the address's owner confirmed it."""

    __tablename__ = "signup_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("signup_forms.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(254))  # the email or E.164 phone to confirm
    # What the visitor typed, checked: contact fields by name, custom fields under "attributes". Applied to a
    # contact that existed before only at confirmation, and only where the contact had no value.
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    consent_text: Mapped[str] = mapped_column(Text, default="")
    new_contact: Mapped[bool] = mapped_column(Boolean, default=False)  # made by this submission
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="pending")  # SUBMISSION_STATUSES
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(20), nullable=True)  # CONFIRMED_BY
    confirmed_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        Index("ix_signup_submissions_form", "form_id", "submitted_at"),
        Index("ix_signup_submissions_contact", "contact_id"),
        Index("ix_signup_submissions_message", "message_id"),
    )
