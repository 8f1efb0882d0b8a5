"""Rows for the engagement, conversion and RFM tests, written directly so each test states its own history:
campaigns with a window and a code, messages sent/delivered at given times, clicks and opens."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Any

from audiences import Contact
from campaigns.models import Campaign, Message, MessageEvent, Run, Template
from campaigns.results.conversions import ConversionSettings

_numbers = itertools.count(1)

SETTINGS = ConversionSettings(currency="USD", rates={"EUR": Decimal("1.10"), "CNY": Decimal("0.14")},
                              time_zone="UTC", region="US")


def contact(session, *, now: datetime, **fields: Any) -> Contact:
    n = next(_numbers)
    values: dict[str, Any] = dict(email=f"buyer{n}@example.com", phone=f"+861380013{n:04d}", external_id=f"C{n}",
                                  first_name="Ann", created_at=now, updated_at=now)
    values.update(fields)
    row = Contact(**values)
    session.add(row)
    session.commit()
    return row


def campaign(session, *, now: datetime, channel: str = "email", window_days: int = 7, code: str | None = None,
             **fields: Any) -> Campaign:
    n = next(_numbers)
    template = Template(name=f"T{n}", channel=channel, subject="Hi", html="<p>Hi</p>", body="Hi", created_at=now,
                        updated_at=now)
    session.add(template)
    session.flush()
    fields.setdefault("name", f"Campaign {n}")
    row = Campaign(channel=channel, template_id=template.id, status="running", attribution_window_days=window_days,
                   code=code, created_at=now, updated_at=now, **fields)
    session.add(row)
    session.commit()
    return row


def message(session, to: Contact, of: Campaign, *, sent_at: datetime | None, delivered_at: datetime | None = None,
            status: str | None = None, due: datetime | None = None) -> Message:
    """A message of `of` to `to`; with neither sent_at nor delivered_at it is pending, due at `due`."""
    due = sent_at or delivered_at or due
    run = Run(campaign_id=of.id, occasion_key=f"run-{next(_numbers)}", started_at=due)
    session.add(run)
    session.flush()
    row = Message(run_id=run.id, campaign_id=of.id, contact_id=to.id, channel=of.channel,
                  address=to.email if of.channel == "email" else to.phone,
                  status=status or ("delivered" if delivered_at else "sent" if sent_at else "pending"),
                  not_before=due, sent_at=sent_at, delivered_at=delivered_at)
    session.add(row)
    session.commit()
    return row


def event(session, of: Message, type_: str, at: datetime, **detail: Any) -> MessageEvent:
    row = MessageEvent(message_id=of.id, type=type_, occurred_at=at, detail=detail)
    session.add(row)
    session.commit()
    return row
