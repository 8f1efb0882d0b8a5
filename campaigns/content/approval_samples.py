"""What the approver reads: each variant's message rendered for one of the campaign's own recipients.

Approving a raw template means approving `{{ contact.tier | default("") }}` without seeing what it
gives; the approver sees the text as a recipient would, one sample per variant (or the campaign's
own template when it has no A/B test), filled in for the first contact of its audience.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.ab_test import variants_of
from campaigns.audience.recipients import recipients_select
from campaigns.content.rendering import TemplateInvalid
from campaigns.content.templates import preview_template
from campaigns.models import Campaign, Template
from core.errors import NotFound


@dataclass(frozen=True)
class Sample:
    label: str  # the variant's label; "" for the campaign's own template
    template_name: str
    subject: str  # email only
    text: str  # the SMS body, or the email's text part (derived from its HTML when empty)
    contact_id: int | None  # whose data filled it in; None: the placeholder contact (an empty audience)
    error: str = ""  # why it could not be rendered for that contact; the approver should know before approving


def approval_samples(session: Session, campaign: Campaign, *, base_url: str, now: datetime,
                     as_sent: Callable[[str], str] | None) -> list[Sample]:
    """One rendered sample per variant (or of the campaign's template), for the first recipient.

    `as_sent` is what the campaign's channel adds to an SMS (channels.text_as_sent: an http-sms
    signature), so the approver reads the text the recipient will get; None for email."""
    contact_id = _first_recipient(session, campaign, now)
    variants = variants_of(session, campaign.id)
    chosen = [(v.label, v.template_id) for v in variants] or [("", campaign.template_id)]
    return [_sample(session, campaign, label, template_id, contact_id, base_url, as_sent)
            for label, template_id in chosen]


def _first_recipient(session: Session, campaign: Campaign, now: datetime) -> int | None:
    try:
        audience = recipients_select(session, campaign, now=now).subquery("audience")
    except NotFound:  # a draft's segment deleted meanwhile: the placeholder contact still shows the text
        return None
    return session.scalar(select(audience.c.contact_id).order_by(audience.c.contact_id).limit(1))


def _sample(session: Session, campaign: Campaign, label: str, template_id: int, contact_id: int | None,
            base_url: str, as_sent: Callable[[str], str] | None) -> Sample:
    template = session.get(Template, template_id)
    if template is None:
        return Sample(label, "", "", "", contact_id, error=f"template {template_id} no longer exists")
    try:
        preview = preview_template(session, channel=template.channel, subject=template.subject or "",
                                   html=template.html or "", text=template.text or "", body=template.body or "",
                                   contact_id=contact_id, base_url=base_url, campaign_name=campaign.name,
                                   as_sent=as_sent, provider_template=template.provider_template or "",
                                   provider_params=template.provider_params)
    except TemplateInvalid as exc:
        return Sample(label, template.name, "", "", contact_id, error=exc.message)
    sms = template.channel == "sms"
    text = (as_sent(preview.body) if as_sent is not None else preview.body) if sms else preview.text
    return Sample(label, template.name, preview.subject, text, preview.contact_id)
