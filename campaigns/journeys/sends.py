"""A send step: the marked enrolments' messages written into the outbox by the campaigns' own materialisation,
so consent, suppression, frequency caps, duplicate addresses, quiet hours, rate limits and the delivery
guarantee apply to a journey exactly as to a campaign.

Each send step of a published version has a campaign per channel (kind "journey", created at publish,
campaigns/journeys/publish.py). Every batch of a step is one Run of that campaign, occasion "journey:<tick>",
materialised by ONE INSERT … SELECT narrowed to the batch's contacts, then labelled with the journey, the
step and each contact's entry event in one UPDATE. Enrolments in the entry holdout get no message. "SMS,
else email if no number" is two runs: the contacts with a phone number get the SMS, the rest the email.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, false, select
from sqlalchemy.orm import Session

from audiences import Contact
from campaigns.audience.caps import FrequencyCap
from campaigns.audience.materialise import materialise_run
from campaigns.audience.queries import label_journey_messages
from campaigns.delivery.sender import describe_channel
from campaigns.journeys.definition import Step
from campaigns.journeys.models import Enrolment, JourneyVersion
from campaigns.models import Campaign, Message, Run
from campaigns.queries import finish_idle_runs
from campaigns.schedules import ScheduleDefaults, send_now_timing
from core.config import Config


@dataclass(frozen=True)
class SendSettings:
    """What a journey's sends need from config.toml: the frequency cap, quiet hours and zones, and each
    channel's describe() and whether it is a dry run (campaigns/delivery/sender.py describe_channel)."""

    cap: FrequencyCap | None
    defaults: ScheduleDefaults
    channels: Mapping[str, tuple[str, bool]]

    @classmethod
    def from_config(cls, config: Config) -> SendSettings:
        """Raises ChannelUnavailable for a configured channel whose URL cannot be used."""
        channels = {name: describe_channel(config, name) for name in ("sms", "email") if name in config.channels}
        return cls(cap=FrequencyCap(config.cap_messages, config.cap_days),
                   defaults=ScheduleDefaults.from_config(config), channels=channels)


def send_campaign_key(step_key: str, channel: str) -> str:
    return f"{step_key}:{channel}"


def queue_step_messages(session: Session, *, version: JourneyVersion, step: Step, tick: str, now: datetime,
                        settings: SendSettings) -> list[int]:
    """Write the outbox rows of the marked enrolments at send `step`; returns the runs made. Does not commit."""
    options = step.options
    who = select(Enrolment.contact_id).where(Enrolment.tick == tick, Enrolment.holdout == false())
    if options.get("email_template_id") is not None:
        has_phone = exists().where(Contact.id == Enrolment.contact_id, Contact.phone.is_not(None), Contact.phone != "")
        groups = [("sms", who.where(has_phone)), ("email", who.where(~has_phone))]
    else:
        groups = [(options["channel"], who)]
    runs = []
    for channel, contacts in groups:
        if not session.scalar(select(exists(contacts))):
            continue
        campaign = session.get(Campaign, version.send_campaigns[send_campaign_key(step.key, channel)])
        assert campaign is not None  # created with the version's publication, deleted only with the journey
        description, dry_run = settings.channels[channel]
        run = Run(campaign_id=campaign.id, occasion_key=f"journey:{tick}", status="running",
                  channel_url=description[:300], dry_run=dry_run, started_at=now)
        session.add(run)
        session.flush()
        materialise_run(session, run=run, campaign=campaign, now=now, cap=settings.cap,
                        timing=send_now_timing(campaign, settings.defaults), only_contacts=contacts)
        label_journey_messages(session, run_id=run.id, journey_id=version.journey_id, journey_step=step.key,
                               event_id=_entry_event(tick))
        finish_idle_runs(session, [run.id], now=now)
        runs.append(run.id)
    return runs


def _entry_event(tick: str) -> Any:
    """SQL correlated to messages.contact_id: the event the contact's marked enrolment entered on."""
    return (select(Enrolment.event_id).where(Enrolment.tick == tick, Enrolment.contact_id == Message.contact_id)
            .limit(1).scalar_subquery())
