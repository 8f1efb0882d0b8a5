"""A visitor submits a sign-up form: their values checked, their contact found or made (pending), and one
confirmation queued in the outbox per channel they agreed to.

The answer is the same whether the address belonged to a contact or not, subscribed or not: a known contact
gets a confirmation like a new one, and nothing about them changes until they confirm (their fields are
kept on the submission and fill only empty ones at confirmation, campaigns/signups/confirmation.py). A new
contact is made at once with `pending` consent on every channel it has an address for, so no campaign
reaches it; only the confirmation does. Spam checks (honeypot, time to submit, rate limits) are the web's,
before this is called (web/signup_public.py).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from audiences import (
    clean_fields,
    create_contact,
    current_consents,
    find_contacts_by_keys,
    is_suppressed,
    set_consent,
    undone_only_by_channel,
    validate_attributes,
)
from campaigns.audience.priority import NOTICE_PRIORITY
from campaigns.delivery.sender import describe_channel
from campaigns.models import Message, Run
from campaigns.signups.confirmation import confirmation_body, confirmation_campaign
from campaigns.signups.events import form_submitted
from campaigns.signups.forms import ADDRESS_FIELD, CUSTOM_PREFIX, form_by_slug
from campaigns.signups.models import SignupForm, SignupSubmission
from core.config import Config
from core.errors import Invalid


@dataclass(frozen=True)
class Visitor:
    """Where a submission came from, kept as evidence."""

    ip: str
    user_agent: str = ""


class SignupInvalid(Invalid):
    """The visitor's values, field by field: `problems` maps a form field (or "consent") to "required" or
    "invalid", which the hosted page says in the form's language."""

    def __init__(self, problems: dict[str, str]) -> None:
        listed = ", ".join(f"{field} {kind}" for field, kind in problems.items())
        super().__init__(f"the sign-up was not accepted: {listed}", field=next(iter(problems), None))
        self.problems = problems


@dataclass(frozen=True)
class SignupReceipt:
    """What the visitor is told: which confirmations are on their way (email first). `sms_submission_id` is
    the submission an SMS code confirms (None without SMS)."""

    form: SignupForm
    channels: tuple[str, ...]
    sms_submission_id: int | None = None


def check_values(session: Session, form: SignupForm, values: Mapping[str, str], consents: Collection[str], *,
                 default_region: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The form's values checked and normalised ({field: value, "attributes": {key: value}}) and the channels
    agreed to. Raises SignupInvalid listing every problem."""
    problems: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for item in form.fields:
        field = item["field"]
        raw = str(values.get(field) or "").strip()
        if not raw:
            if item["required"]:
                problems[field] = "required"
            continue
        if field.startswith(CUSTOM_PREFIX):
            clean, errors = validate_attributes(session, {field[len(CUSTOM_PREFIX):]: raw})
            if errors:
                problems[field] = "invalid"
            attributes.update(clean)
            continue
        try:
            value = clean_fields({field: raw}, default_region=default_region)[field]
        except Invalid:
            problems[field] = "invalid"
            continue
        cleaned[field] = value.isoformat() if isinstance(value, date) else value
    channels = tuple(c for c in form.channels if c in consents)
    if not channels:
        problems["consent"] = "required"
    for channel in channels:
        if ADDRESS_FIELD[channel] not in cleaned:
            problems.setdefault(ADDRESS_FIELD[channel], "required")
    if problems:
        raise SignupInvalid(problems)
    if attributes:
        cleaned["attributes"] = attributes
    return cleaned, channels


def submit_signup(session: Session, slug: str, values: Mapping[str, str], consents: Collection[str], *,
                  visitor: Visitor, config: Config, now: datetime) -> SignupReceipt:
    """Take a submission of the form at /f/<slug>: see the module doc. Raises NotFound (no open form there),
    SignupInvalid, ChannelUnavailable (a channel it confirms through is misconfigured; nothing is written).
    Commits."""
    form = form_by_slug(session, slug)
    cleaned, channels = check_values(session, form, values, consents, default_region=config.default_region)
    channel_of = {c: describe_channel(config, c) for c in channels}  # before anything is written
    campaign_of = {c: confirmation_campaign(session, form, c, now=now) for c in channels}
    contact_id, new_contact = _find_or_make_contact(session, form, cleaned, visitor=visitor, config=config, now=now)
    receipt_sms: int | None = None
    for channel in channels:
        submission = SignupSubmission(
            form_id=form.id, contact_id=contact_id, channel=channel, address=cleaned[ADDRESS_FIELD[channel]],
            values=cleaned, consent_text=form.consent_text(channel), new_contact=new_contact,
            ip=visitor.ip[:64], user_agent=visitor.user_agent[:300], submitted_at=now, status="pending")
        session.add(submission)
        session.flush()
        description, dry_run = channel_of[channel]
        campaign = campaign_of[channel]
        run = Run(campaign_id=campaign.id, occasion_key=f"signup:{submission.id}", status="running",
                  channel_url=description[:300], dry_run=dry_run, started_at=now)
        session.add(run)
        session.flush()
        blocked = _blocked(session, contact_id, channel, submission.address)
        body = confirmation_body(form, channel, contact_name=str(cleaned.get("first_name") or ""),
                                 base_url=config.base_url, secret_key=str(config.secret_key),
                                 submission_id=submission.id)
        message = Message(run_id=run.id, campaign_id=campaign.id, contact_id=contact_id, channel=channel,
                          address=submission.address, status="suppressed" if blocked else "pending",
                          error_reason=blocked, priority=NOTICE_PRIORITY, not_before=now, attempts=0,
                          updated_at=now, body=body)
        session.add(message)
        session.flush()
        submission.message_id = message.id
        if channel == "sms":
            receipt_sms = submission.id
        form_submitted(session, form, submission, now=now)
    session.commit()
    return SignupReceipt(form, channels, receipt_sms)


def _find_or_make_contact(session: Session, form: SignupForm, cleaned: Mapping[str, Any], *, visitor: Visitor,
                          config: Config, now: datetime) -> tuple[int, bool]:
    """(contact id, made now). Found by email first, then phone; made pending on every channel it can reach."""
    for key in ("email", "phone"):
        if cleaned.get(key):
            found = find_contacts_by_keys(session, external_ids=[], emails=[cleaned[key]] if key == "email" else [],
                                          phones=[cleaned[key]] if key == "phone" else [])
            if found:
                return found[0]["id"], False
    fields = {k: v for k, v in cleaned.items() if k != "attributes"}
    contact = create_contact(session, default_region=config.default_region, now=now,
                             source=f"sign-up form: {form.name}"[:100], locale=form.language,
                             attributes=dict(cleaned.get("attributes") or {}), **fields)
    # Opt-out is the default (no consent row means subscribed): a contact a form made must not be reached by a
    # campaign on any channel before it confirmed one.
    proof = {"form_id": form.id, "form": form.name, "slug": form.slug, "submitted_at": now.isoformat(),
             "ip": visitor.ip}
    for channel, field in ADDRESS_FIELD.items():
        if fields.get(field):
            set_consent(session, contact.id, channel, "pending", source=f"sign-up form {form.slug}", now=now,
                        evidence=proof)
    return contact.id, True


def _blocked(session: Session, contact_id: int, channel: str, address: str) -> str | None:
    """Why no confirmation may go to this address (suppression list, bounced, complained, texted STOP), or None.

    The visitor is told the same as anyone: the reason is on the message row for the marketer."""
    if is_suppressed(session, channel, address):
        return "the address is on the suppression list; the sign-up confirmation was not sent"
    consent = current_consents(session, contact_id).get(channel)
    if undone_only_by_channel(consent):
        assert consent is not None
        return f"the contact's {channel} consent is {consent.status} ({consent.source}); the confirmation was not sent"
    return None
