"""Double opt-in: the confirmation message each submission gets, and confirming it.

The confirmation is an outbox row like every other message (campaigns/delivery/ claims, paces, sends and
records it), carried by a hidden campaign per form and channel (kind "signup", HIDDEN_KINDS) so reports
count what confirmations cost. Its text is written here, in the form's language, into `messages.body`:
an email holds the link base_url/f/confirm/<submission>/<signature>, an SMS a six-digit code and "reply Y".
Neither secret is stored: both are HMACs of the submission id under the secret key.

The link opens a page with a button; only its POST confirms. Mail scanners fetch links, and a GET that
confirmed would subscribe people who never read the mail (web/public.py says the same of unsubscribing).

Confirming sets the channel's consent to subscribed with the evidence (form, consent text shown, submitted
at and from, confirmed at, how and from where), joins the form's lists and, for a contact that existed
before, fills in the fields it had no value for — never overwriting what the company knows.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audiences import add_to_list, get_contact, set_consent, update_contact
from campaigns.models import Campaign, Template
from campaigns.signups.events import signup_confirmed
from campaigns.signups.forms import get_form
from campaigns.signups.models import SignupForm, SignupSubmission
from core.errors import Conflict, HeraldError, Invalid, NotFound
from core.ids import sign, verify

log = logging.getLogger("herald.signups")

SIGNUP_KIND = "signup"  # Campaign.kind of the hidden campaigns carrying confirmations
CONFIRM_DAYS = 7  # a confirmation older than this is refused: sign up again
CODE_ATTEMPTS = 5  # wrong SMS codes before the submission takes no more
# What "reply Y" accepts, compared after NFKC, trimming and upper-casing (Ｙ, y, yes, 是).
REPLY_YES = {"Y", "YES", "是", "确认", "好"}

SUBJECT = {"en": "Please confirm your subscription", "zh_CN": "请确认您的订阅"}
EMAIL_TEXT = {
    "en": ("Hello{name},", "Please confirm that you want to receive emails from {title}.", "Confirm my subscription",
           "If you did not ask for this, ignore this email: you will not be subscribed."),
    "zh_CN": ("您好{name}：", "请确认您希望接收来自「{title}」的邮件。", "确认订阅",
              "如果这不是您本人的操作，请忽略此邮件，您不会被订阅。"),
}
SMS_TEXT = {
    "en": "{title}: your confirmation code is {code}. Enter it on the page, or reply Y to confirm. Not you? Ignore "
          "this message.",
    "zh_CN": "【{title}】您的确认码是 {code}，请在页面上输入，或回复 Y 确认订阅。如非本人操作，请忽略。",
}


class SignupExpired(Conflict):
    """The confirmation came after CONFIRM_DAYS: the visitor signs up again."""


class CodeRefused(HeraldError):
    """A wrong SMS code; `attempts_left` says how many more the submission takes (0: none)."""

    http_status = 422

    def __init__(self, message: str, *, attempts_left: int) -> None:
        super().__init__(message, field="code")
        self.attempts_left = attempts_left


# ---------------------------------------------------------------- links and codes
def confirmation_url(base_url: str, secret_key: str, submission_id: int) -> str:
    return f"{base_url.rstrip('/')}/f/confirm/{submission_id}/{sign(secret_key, f'signup:{submission_id}')}"


def link_is_genuine(secret_key: str, submission_id: int, signature: str) -> bool:
    return verify(secret_key, f"signup:{submission_id}", signature)


def confirmation_code(secret_key: str, submission_id: int) -> str:
    """Six digits only the SMS carries: an HMAC of the submission id, so nothing secret is stored."""
    digest = hmac.new(secret_key.encode(), f"signup-code:{submission_id}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


# ---------------------------------------------------------------- the message
def confirmation_body(form: SignupForm, channel: str, *, contact_name: str, base_url: str, secret_key: str,
                      submission_id: int) -> str:
    """The confirmation as sent, in the form's language: HTML for email (values escaped), text for SMS."""
    title = form.title or form.name
    if channel == "sms":
        return SMS_TEXT[form.language].format(title=title, code=confirmation_code(secret_key, submission_id))
    hello, ask, button, ignore = EMAIL_TEXT[form.language]
    name = (" " if form.language == "en" else "") + contact_name if contact_name else ""
    url = escape(confirmation_url(base_url, secret_key, submission_id))
    return (f"<p>{escape(hello.format(name=name))}</p>\n<p>{escape(ask.format(title=title))}</p>\n"
            f'<p><a href="{url}">{escape(button)}</a></p>\n<p>{url}</p>\n<p>{escape(ignore)}</p>\n')


def confirmation_campaign(session: Session, form: SignupForm, channel: str, *, now: datetime) -> Campaign:
    """The hidden campaign carrying `form`'s confirmations on `channel`, made on first use (committed then, so
    a concurrent first submission finds it: the unique code decides). Its template holds only the subject."""
    code = f"herald-signup-{form.id}-{channel}"
    found = session.scalar(select(Campaign).where(Campaign.code == code))
    if found is not None:
        template = session.get(Template, found.template_id)
        if template is not None and channel == "email":
            template.subject = SUBJECT[form.language]  # follows the form's language
        return found
    name = f"Sign-up confirmations: {form.name} ({channel})"[:200]
    template = Template(name=name, channel=channel, subject=SUBJECT[form.language] if channel == "email" else "",
                        created_at=now, updated_at=now)
    session.add(template)
    session.flush()
    # Operational and uncapped: a confirmation is the one message a pending contact gets, and it is owed now.
    campaign = Campaign(name=name, kind=SIGNUP_KIND, channel=channel, template_id=template.id, status="running",
                        code=code, guarantee="at_most_once", operational=True, ignore_caps=True,
                        track_clicks=False, track_opens=False, created_at=now, updated_at=now)
    session.add(campaign)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return session.scalars(select(Campaign).where(Campaign.code == code)).one()
    return campaign


# ---------------------------------------------------------------- confirming
def get_submission(session: Session, submission_id: int) -> SignupSubmission:
    submission = session.get(SignupSubmission, submission_id)
    if submission is None:
        raise NotFound(f"sign-up {submission_id} does not exist; it may have been deleted with its contact")
    return submission


def confirm_signup(session: Session, submission_id: int, *, how: str, ip: str | None, now: datetime,
                   default_region: str) -> SignupSubmission:
    """Confirm a submission (`how`: link, code or reply): consent subscribed with its evidence, the form's
    lists joined, empty fields filled. A second confirmation changes nothing. Raises NotFound, SignupExpired.
    Commits."""
    submission = get_submission(session, submission_id)
    if submission.status == "confirmed":
        return submission
    if now - submission.submitted_at > timedelta(days=CONFIRM_DAYS):
        raise SignupExpired(f"sign-up {submission_id} was made on {submission.submitted_at:%Y-%m-%d}; a "
                            f"confirmation is accepted for {CONFIRM_DAYS} days — sign up again")
    form = get_form(session, submission.form_id)
    if not submission.new_contact:  # first: a refused value rolls back only itself
        _fill_empty_fields(session, submission, default_region=default_region, now=now)
    submission.status, submission.confirmed_at = "confirmed", now
    submission.confirmed_by, submission.confirmed_ip = how, (ip or "")[:64] or None
    for list_id in form.list_ids:
        try:
            add_to_list(session, list_id, [submission.contact_id], now=now)
        except NotFound:  # the list was deleted since the form was saved; the others still count
            log.warning("event=signup_list_gone form_id=%d list_id=%d", form.id, list_id)
    set_consent(session, submission.contact_id, submission.channel, "subscribed", now=now,
                source=f"sign-up form {form.slug}, confirmed by {how}", evidence=evidence(form, submission))
    signup_confirmed(session, form, submission, now=now)
    session.commit()
    return submission


def evidence(form: SignupForm, submission: SignupSubmission) -> dict[str, Any]:
    """What proves the consent, kept on the consent change (audiences: consent_changes.evidence)."""
    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {"form_id": form.id, "form": form.name, "slug": form.slug, "submission_id": submission.id,
            "address": submission.address, "consent_text": submission.consent_text,
            "submitted_at": when(submission.submitted_at), "ip": submission.ip, "user_agent": submission.user_agent,
            "confirmed_at": when(submission.confirmed_at), "confirmed_by": submission.confirmed_by,
            "confirmed_ip": submission.confirmed_ip}


def _fill_empty_fields(session: Session, submission: SignupSubmission, *, default_region: str,
                       now: datetime) -> None:
    contact = get_contact(session, submission.contact_id)
    values = dict(submission.values or {})
    attributes = values.pop("attributes", {}) or {}
    changes: dict[str, Any] = {k: v for k, v in values.items() if v and not getattr(contact, k, None)}
    missing = {k: v for k, v in attributes.items() if v not in (None, "") and k not in (contact.attributes or {})}
    if missing:
        changes["attributes"] = missing
    if not changes:
        return
    try:
        update_contact(session, contact.id, default_region=default_region, now=now, changes=changes)
    except Invalid as exc:  # e.g. the email was given to another contact meanwhile: the consent still counts
        session.rollback()
        log.warning("event=signup_fields_not_filled submission_id=%d reason=%r", submission.id, exc.message)


def confirm_signup_by_code(session: Session, submission_id: int, code: str, *, secret_key: str, ip: str | None,
                           now: datetime, default_region: str) -> SignupSubmission:
    """Confirm with the code the SMS carried. Each wrong code counts; after CODE_ATTEMPTS no code is taken.
    Raises CodeRefused (attempts left, 0 when locked), NotFound, SignupExpired. Commits."""
    submission = get_submission(session, submission_id)
    if submission.status == "confirmed":
        return submission
    if submission.code_attempts >= CODE_ATTEMPTS:
        raise CodeRefused(f"sign-up {submission_id} had {CODE_ATTEMPTS} wrong codes; sign up again", attempts_left=0)
    typed = "".join(ch for ch in unicodedata.normalize("NFKC", code or "") if ch.isdigit())
    if not hmac.compare_digest(typed, confirmation_code(secret_key, submission_id)):
        submission.code_attempts += 1
        session.commit()
        left = CODE_ATTEMPTS - submission.code_attempts
        raise CodeRefused(f"the code for sign-up {submission_id} is not right; {left} tries left", attempts_left=left)
    return confirm_signup(session, submission_id, how="code", ip=ip, now=now, default_region=default_region)


def confirm_signup_by_reply(session: Session, *, message_id: int, text: str, now: datetime,
                            default_region: str) -> SignupSubmission | None:
    """A texted reply to a confirmation SMS: "Y" (or YES, 是, 确认) confirms that submission. Returns it, or None
    when the reply is not a yes or the message it answers is no pending confirmation. Commits when it confirms."""
    if unicodedata.normalize("NFKC", text or "").strip().rstrip(".!。！").upper() not in REPLY_YES:
        return None
    submission = session.scalar(select(SignupSubmission).where(SignupSubmission.message_id == message_id,
                                                               SignupSubmission.channel == "sms"))
    if submission is None or submission.status != "pending":
        return None
    try:
        return confirm_signup(session, submission.id, how="reply", ip=None, now=now, default_region=default_region)
    except SignupExpired:
        return None
