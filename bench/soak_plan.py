"""The soak benchmark's campaigns (bench/soak.py): who gets what, which recipients each provider refuses for
good, which email recipients meet scripted SMTP faults, and the campaigns written to the database."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import insert, select

from audiences import Contact, ContactList, ListMember
from campaigns import create_campaign, create_template, schedule_campaign, send_campaign, set_campaign_schedule
from campaigns.schedules import Schedule
from core.clock import SystemClock
from core.db import Database

KINDS = [("sms", "at_most_once"), ("sms", "at_least_once"), ("email", "at_most_once"), ("email", "at_least_once")]
REFUSED_EVERY = 500  # one recipient in this many is refused for good by its provider (21211, 550 5.1.1)
SMTP_FAULT_SHARE = 0.03  # email recipients whose first tries meet a scripted fault
SMTP_STEPS = [[421, "4.3.2 Service shutting down"], [450, "4.2.1 Mailbox busy, try again later"], "drop",
              "drop-after-data", "late-after-data", ["data", 451, "4.3.0 Local error, try again later"]]
FIRST_FIRING_SECONDS = 60  # a scheduled campaign fires on the first minute at least this far ahead


@dataclass
class CampaignPlan:
    name: str
    channel: str
    guarantee: str
    scheduled: bool
    addresses: list[str]

    @property
    def kind(self) -> str:
        return f"{self.channel} {self.guarantee.replace('_', '-')}"


@dataclass
class Plan:
    campaigns: list[CampaignPlan]
    refused: set[str] = field(default_factory=set)  # refused for good by the provider
    smtp_script: dict[str, list] = field(default_factory=dict)

    def campaign_of(self) -> dict[str, CampaignPlan]:
        return {address: c for c in self.campaigns for address in c.addresses}


def make_plan(messages: int, rng: random.Random, *, faults: float = 1.0) -> Plan:
    """Half the messages SMS, half email; each half split between the two guarantees, each of those into a
    campaign sent now and one scheduled (a little larger, so the schedulers' firing is part of the run)."""
    campaigns, numbered = [], 0
    for channel, guarantee in KINDS:
        share = messages // 4
        for scheduled, size in ((False, share // 2), (True, share - share // 2)):
            name = f"soak {channel} {guarantee} {'scheduled' if scheduled else 'now'}"
            if channel == "sms":  # NANP exchanges 200-999: numbers that parse as valid US mobiles
                addresses = [f"+1201{2_000_000 + numbered + i:07d}" for i in range(size)]
            else:
                addresses = [f"guest{numbered + i}@soak.example.com" for i in range(size)]
            numbered += size
            campaigns.append(CampaignPlan(name, channel, guarantee, scheduled, addresses))
    plan = Plan(campaigns)
    for campaign in campaigns:
        plan.refused |= set(campaign.addresses[7::REFUSED_EVERY])  # from the 8th on: small runs have some too
        if campaign.channel == "email":
            share = min(1.0, SMTP_FAULT_SHARE * faults)
            faulty = rng.sample(campaign.addresses, math.ceil(len(campaign.addresses) * share))
            for address in set(faulty) - plan.refused:
                plan.smtp_script[address] = [rng.choice(SMTP_STEPS) for _ in range(rng.choice([1, 1, 2]))]
    return plan


def provider_plans(plan: Plan, *, seed: int, sms_rate: float, email_rate: float, faults: float,
                   timeout: float) -> dict[str, dict]:
    """What each provider process is told (bench/soak_providers.py)."""
    sms = {a for c in plan.campaigns if c.channel == "sms" for a in c.addresses}
    common = {"seed": seed, "faults": faults, "timeout": timeout}
    return {"twilio": {**common, "rate": sms_rate, "invalid": sorted(plan.refused & sms)},
            "smtp": {**common, "seed": seed + 1, "rate": email_rate, "refuse": sorted(plan.refused - sms),
                     "script": plan.smtp_script}}


def seed_campaigns(database: Database, plan: Plan) -> dict[str, int]:
    """Contacts, one list per campaign, the campaigns: those sent now are started (their outbox written, as
    Send now does), the others scheduled for the first minute FIRST_FIRING_SECONDS ahead. {name: id}."""
    now = SystemClock().now()
    with database.session() as session:
        rows = [{"phone" if c.channel == "sms" else "email": address, "first_name": f"Guest{i}", "last_name": "",
                 "company": "", "attributes": {}, "created_at": now, "updated_at": now}
                for c in plan.campaigns for i, address in enumerate(c.addresses)]
        for start in range(0, len(rows), 5000):
            session.execute(insert(Contact), rows[start:start + 5000])
        ids = {phone or email: contact_id for contact_id, phone, email in
               session.execute(select(Contact.id, Contact.phone, Contact.email)).tuples()}
        fire_at = (now + timedelta(seconds=FIRST_FIRING_SECONDS + 60)).replace(second=0, microsecond=0)
        campaign_ids = {}
        for n, c in enumerate(plan.campaigns):
            audience = ContactList(name=c.name, created_at=now)
            session.add(audience)
            session.flush()
            members = [{"list_id": audience.id, "contact_id": ids[a], "added_at": now} for a in c.addresses]
            for start in range(0, len(members), 5000):
                session.execute(insert(ListMember), members[start:start + 5000])
            session.commit()
            # The campaign's name in its text: the reconciler tells one message from another by its text.
            text = f"{c.name}: doors open at 9, {{{{ contact.first_name }}}}"
            if c.channel == "sms":
                template = create_template(session, name=c.name, channel="sms", body=text, now=now)
            else:
                template = create_template(session, name=c.name, channel="email", subject=f"Soak {n}",
                                           text=text, now=now)
            campaign = create_campaign(session, name=c.name, channel=c.channel, template_id=template.id,
                                       list_id=audience.id, guarantee=c.guarantee, ignore_caps=True, now=now)
            campaign_ids[c.name] = campaign.id
            if c.scheduled:
                schedule = Schedule.from_dict({"kind": "at", "time_zone": "UTC", "quiet_hours": "off",
                                               "send_at": fire_at.strftime("%Y-%m-%dT%H:%M")}, today=now.date())
                set_campaign_schedule(session, campaign.id, schedule, now=now)
                schedule_campaign(session, campaign.id, now=now)
            else:
                send_campaign(session, campaign.id, now=now, channel_description=c.channel, dry_run=False)
    return campaign_ids
