"""Demo data for a first look: contacts with Chinese and English names, two templates, a draft campaign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audiences import Contact, add_to_list, create_list, make_demo_contacts
from campaigns.content.templates import create_template
from campaigns.lifecycle import create_campaign

SMS_BODY = "【Herald】{{ contact.first_name }}您好，会员日全场8折，{{ contact.city | default('门店') }}见！回复TD退订"
EMAIL_SUBJECT = "{{ contact.first_name }}, your member offer is here"
EMAIL_HTML = """<h1>Hello {{ contact.first_name }}!</h1>
<p>As a {{ contact.tier | default('valued') }}-tier member you get <strong>20% off</strong> everything this week.</p>
<p><a href="https://example.com/offer">See the offer</a></p>
<p style="font-size:12px;color:#666">Don't want these emails? <a href="{{ unsubscribe_url }}">Unsubscribe</a>.</p>
"""


@dataclass(frozen=True)
class DemoData:
    contacts: int
    list_id: int
    sms_template_id: int
    email_template_id: int
    campaign_id: int


def has_contacts(session: Session) -> bool:
    return bool(session.scalar(select(func.count(Contact.id))))


def seed_demo(session: Session, *, now: datetime, contacts: int = 300, seed: int = 2026) -> DemoData:
    """Create the demo data and commit. Deterministic for a given seed."""
    made = make_demo_contacts(session, count=contacts, seed=seed, now=now)
    vip = create_list(session, "VIP 客户 / VIP customers", "Tier A customers from the demo data")
    tier_a = [c.id for c in session.scalars(select(Contact).order_by(Contact.id))
              if (c.attributes or {}).get("tier") == "A"]
    add_to_list(session, vip.id, tier_a)
    sms = create_template(session, name="会员日短信 / Member day SMS", channel="sms", body=SMS_BODY, now=now)
    email = create_template(session, name="Member offer email", channel="email", subject=EMAIL_SUBJECT,
                            html=EMAIL_HTML, now=now)
    campaign = create_campaign(session, name="会员日 VIP 短信 / Member day VIP SMS", channel="sms",
                               template_id=sms.id, list_id=vip.id, now=now)
    return DemoData(made, vip.id, sms.id, email.id, campaign.id)
