"""Factories for the campaigns tests: contacts made directly, and a scripted in-test Channel.

ScriptedChannel implements Herald's own channels.base.Channel interface (not a provider): it lets a
test decide each message's answer by address. End-to-end tests with the real protocol fakes live
with the web and scheduler suites.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from audiences import Contact, ContactList, ListMember
from campaigns import Dispatcher, create_campaign, create_template, send_campaign
from campaigns.models import Message, MessageEvent
from channels import Accepted, Outgoing, RateLimiter, Refused, SendResult

_numbers = itertools.count(1)


def make_contact(session, *, now: datetime, email: str | None = "auto", phone: str | None = "auto",
                 first_name: str = "Ann", last_name: str = "Lee", **attributes: Any) -> Contact:
    n = next(_numbers)
    contact = Contact(
        email=f"person{n}@example.com" if email == "auto" else email,
        phone=f"+1555{n:07d}" if phone == "auto" else phone,
        first_name=first_name, last_name=last_name, attributes=attributes, created_at=now, updated_at=now,
    )
    session.add(contact)
    session.commit()
    return contact


def make_list(session, name: str, contacts: Sequence[Contact], *, now: datetime) -> ContactList:
    contact_list = ContactList(name=name, created_at=now)
    session.add(contact_list)
    session.flush()
    session.add_all(ListMember(list_id=contact_list.id, contact_id=c.id, added_at=now) for c in contacts)
    session.commit()
    return contact_list


def start_campaign(session, *, now: datetime, channel: str = "sms", body: str = "Hi {{ contact.first_name }}",
                   subject: str = "Hello {{ contact.first_name }}", html: str = "<p>Hi {{ contact.first_name }}</p>",
                   list_id: int | None = None, guarantee: str = "at_most_once", dry_run: bool = False):
    """A campaign sent now to every contact (or a list); returns (campaign, run)."""
    if channel == "sms":
        template = create_template(session, name="T", channel="sms", body=body, now=now)
    else:
        template = create_template(session, name="T", channel="email", subject=subject, html=html, now=now)
    campaign = create_campaign(session, name="Spring sale", channel=channel, template_id=template.id,
                               list_id=list_id, guarantee=guarantee, now=now)
    run = send_campaign(session, campaign.id, now=now, channel_description="scripted://test", dry_run=dry_run)
    return campaign, run


Answer = Callable[[Outgoing], SendResult]


class ScriptedChannel:
    """A Channel whose answers are scripted per address; by default every message is accepted."""

    name = "scripted"
    dry_run = False
    max_length: int | None = None
    rate = "100000/second"

    def __init__(self, answers: dict[str, Answer] | None = None, *, on_send: Callable[[], None] | None = None,
                 answer_batch: Callable[[Sequence[Outgoing]], list[SendResult]] | None = None) -> None:
        self.answers = answers or {}
        self.on_send = on_send
        self.answer_batch = answer_batch
        self.sent: list[Outgoing] = []
        self.lock = threading.Lock()

    def send(self, batch: Sequence[Outgoing]) -> list[SendResult]:
        with self.lock:
            self.sent.extend(batch)
        if self.on_send:
            self.on_send()
        if self.answer_batch:
            return self.answer_batch(batch)
        return [self.answers.get(m.to, accept)(m) for m in batch]

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return "scripted://test"


def accept(message: Outgoing) -> SendResult:
    return Accepted(message.message_id, provider_id=f"P{message.message_id}")


def refuse(*, permanent: bool, code: str = "21211", reason: str = "The 'To' number is not valid",
           retry_after: float | None = None) -> Answer:
    return lambda m: Refused(m.message_id, permanent=permanent, code=code, reason=reason, retry_after=retry_after)


def make_dispatcher(database, channel, clock, **overrides: Any) -> Dispatcher:
    settings: dict[str, Any] = dict(base_url="https://herald.example.com", secret_key="test-secret", batch_size=100,
                                    lease_seconds=300, max_attempts=3, retry_base_seconds=30,
                                    price={"sms": Decimal("0.0079"), "email": Decimal("0.001")}, currency="USD")
    settings.update(overrides)
    channels = channel if isinstance(channel, dict) else {"email": channel, "sms": channel}
    return Dispatcher(database, channels, RateLimiter("memory://"), clock, **settings)


def messages_of(session, run_id: int | None = None) -> list[Message]:
    session.expire_all()
    query = select(Message).order_by(Message.id)
    if run_id is not None:
        query = query.where(Message.run_id == run_id)
    rows = list(session.scalars(query))
    session.commit()  # end the read: on SQLite an open transaction holds the write lock the senders need
    return rows


def events_of(session, message_id: int) -> list[MessageEvent]:
    session.expire_all()
    rows = list(session.scalars(select(MessageEvent).where(MessageEvent.message_id == message_id)
                                .order_by(MessageEvent.id)))
    session.commit()
    return rows
