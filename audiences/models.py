"""Contacts, static lists and per-channel consent."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

import core.users  # noqa: F401 - contacts.owner_id refers to users.id, so that table must be on the metadata
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
    "region",
    "lifecycle_stage",
    "value_tier",
    "source",
    "notes",
)


# "pending": signed up on a form and not confirmed yet (double opt-in, campaigns/signups/): no campaign
# reaches a pending contact, only the confirmation message does.
CONSENT_STATUSES = ("subscribed", "unsubscribed", "bounced", "complained", "pending")

# Where a customer stands (SEEDS-DIGEST: potential -> new -> repeat -> loyal; dormant; lost). Set by hand,
# by import, or by the RFM/dormant rules; stored as these codes, shown translated.
LIFECYCLE_STAGES = ("lead", "customer", "repeat", "vip", "dormant", "churned")
# ABC value tiers (A gets the most care); D for the rest.
VALUE_TIERS = ("A", "B", "C", "D")
# Suggested kinds of important dates; any short kind is accepted, these are offered in the UI.
DATE_KINDS = ("company_anniversary", "contract_renewal", "membership")

# On PostgreSQL the custom attributes are jsonb: segment conditions read them with ->/->> and the GIN
# index answers containment (@>) queries; on SQLite JSON is text read by json_extract.
ATTRIBUTES_TYPE = JSON().with_variant(JSONB(), "postgresql")


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
    # region, source and notes are "" when set empty and NULL when never given (bulk imports write NULL).
    region: Mapped[str | None] = mapped_column(String(100), nullable=True, default="")  # province/state/city
    # The company owns the customer, not the salesperson: deleting a user leaves the contact unowned.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True,
                                                 index=True)
    lifecycle_stage: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)  # LIFECYCLE_STAGES
    value_tier: Mapped[str | None] = mapped_column(String(10), nullable=True, index=True)  # VALUE_TIERS
    source: Mapped[str | None] = mapped_column(String(100), nullable=True, default="")  # "trade fair", "web form"
    notes: Mapped[str | None] = mapped_column(Text, nullable=True, default="")
    # RFM quintile scores, 1 (lowest) to 5 (best), written by the scheduled RFM job; read-only elsewhere.
    rfm_recency: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rfm_frequency: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rfm_monetary: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rfm_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(ATTRIBUTES_TYPE, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # Only PostgreSQL has GIN; SQLite gets no index on the JSON text.
        Index("ix_contacts_attributes_gin", "attributes", postgresql_using="gin").ddl_if(dialect="postgresql"),
    )

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
    # A topic list appears on the preference page: its members may leave it and others may join it.
    is_topic: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
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
    """A saved rule tree (audiences/segments/saved.py): who matches is decided at count or send time, not stored."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CustomField(Base):
    """A custom field defined in the UI: its values live in Contact.attributes[key], stored typed.

    text -> JSON string, number -> JSON number, date -> "YYYY-MM-DD" string (sorts as text),
    boolean -> JSON true/false, choice -> one of `choices` as a string. See audiences/contacts/custom_fields.py.
    """

    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    type: Mapped[str] = mapped_column(String(10))  # CUSTOM_FIELD_TYPES
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


CUSTOM_FIELD_TYPES = ("text", "number", "date", "boolean", "choice")


class ContactDate(Base):
    """An important date of a contact beyond the birthday (company anniversary, contract renewal…).

    Date-rule campaigns look these up by (kind, date); a contact may have any number of each kind.
    """

    __tablename__ = "contact_dates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50))
    date: Mapped[dt.date] = mapped_column(Date)  # dt.: the attribute's own name shadows `date` here
    note: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (
        Index("ix_contact_dates_kind_date", "kind", "date"),
        Index("ix_contact_dates_contact", "contact_id"),
    )


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ContactTag(Base):
    __tablename__ = "contact_tags"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # The primary key serves "tags of a contact"; this one serves "contacts with a tag" (segments).
    __table_args__ = (Index("ix_contact_tags_tag", "tag_id"),)


class ConsentChange(Base):
    """Every consent change, appended by audiences.contacts.consent.set_consent: when, to what, from where, by whom."""

    __tablename__ = "consent_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(100), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # What proves the change, when there is more than its source: a sign-up form's consent text shown, the
    # time and address it was submitted from, and how it was confirmed (campaigns/signups/confirmation.py).
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (Index("ix_consent_changes_contact", "contact_id", "changed_at"),)


class Suppression(Base):
    """An address no campaign may message on a channel, whoever holds it (only operational notices pass).

    The address is stored as contacts store it (email lowercased, phone in E.164), so the join in
    audiences.audience_select is an equality on the unique (channel, address) index.
    """

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("channel", "address"),)


class ContactEvent(Base):
    """Something a contact did, told by another system through POST /api/v1/events ("order_shipped").

    `client_id` is the sender's own id of the event: sending it again records nothing new, so a client that
    retries after a timeout never doubles an event. Journeys wait for these by name and enter on them
    (campaigns/journeys/); Herald's own happenings (clicked, replied, purchased, unsubscribed) are not copied
    here, they are read where they are recorded (campaigns/journeys/happenings.py).
    """

    __tablename__ = "contact_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(20), default="api")

    __table_args__ = (
        Index("ix_contact_events_contact_name", "contact_id", "name", "occurred_at"),
        Index("ix_contact_events_name", "name", "id"),
    )
