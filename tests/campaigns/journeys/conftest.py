"""Fixtures for the journey tests: the send settings a pass takes, and helpers to read what happened."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from campaigns import create_template
from campaigns.journeys import Enrolment, EnrolmentHistory, SendSettings
from campaigns.models import Message
from campaigns.schedules import ScheduleDefaults


@pytest.fixture
def settings() -> SendSettings:
    return SendSettings(cap=None, defaults=ScheduleDefaults(default_zone="Asia/Shanghai"),
                        channels={"sms": ("scripted://test", False), "email": ("scripted://test", False)})


def sms_template(session, now, body: str = "Hi {{ contact.first_name }}") -> int:
    return create_template(session, name="sms", channel="sms", body=body, now=now).id


def email_template(session, now, subject: str = "Hello") -> int:
    return create_template(session, name="email", channel="email", subject=subject,
                           html="<p>Hi {{ contact.first_name }}</p>", now=now).id


def enrolment_of(session, journey_id: int, contact_id: int) -> Enrolment:
    session.expire_all()
    return session.scalars(select(Enrolment).where(Enrolment.journey_id == journey_id,
                                                   Enrolment.contact_id == contact_id)
                           .order_by(Enrolment.id.desc())).first()


def messages_of(session, contact_id: int) -> list[Message]:
    session.expire_all()
    return list(session.scalars(select(Message).where(Message.contact_id == contact_id).order_by(Message.id)))


def history_of(session, enrolment_id: int) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in session.execute(
        select(EnrolmentHistory.seq, EnrolmentHistory.from_step, EnrolmentHistory.to_step, EnrolmentHistory.why)
        .where(EnrolmentHistory.enrolment_id == enrolment_id).order_by(EnrolmentHistory.seq))]
