"""Replies: every inbound SMS stored, matched to its contact and to the message it answers, and acted on.

A reply whose whole text is a keyword does what the keyword says. The opt-out keywords (STOP, 退订,
TD… from config.toml [replies]) set the sender's SMS consent to unsubscribed at once, for every
contact with that number; START / 订阅 subscribe again; HELP is answered. Marketers add their own
keywords in the Inbox (keyword_rules): one that registers the sender on a list, or one that only
labels the reply (order, complaint) — but never one that shadows an opt-out keyword. A "Y" answering a
sign-up confirmation SMS confirms that sign-up (campaigns/signups/confirmation.py).

Providers repeat webhooks, so a reply is stored once per (provider, provider id), and a repeat
changes nothing and answers nothing (the recipient already got the confirmation).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from audiences import (
    KEYWORD_SOURCE,
    add_suppressions,
    add_to_list,
    contact_ids_by_phone,
    get_list,
    list_suppressions,
    normalise_phone,
    remove_suppression,
    set_consent,
)
from campaigns import queries
from campaigns.models import Message
from campaigns.responses.conversations import note_reply
from campaigns.responses.inbox_models import HANDLED_BY_KEYWORD, KEYWORD_ACTIONS, KeywordRule, Reply
from campaigns.responses.optouts import opt_out_event
from campaigns.signups.confirmation import confirm_signup_by_reply
from channels import ChannelConfigError, Outgoing, Refused, open_channel
from channels.inbound import InboundSms
from core.config import ChannelConfig, ReplyConfig
from core.errors import Invalid, NotFound

log = logging.getLogger("herald.replies")

CONSENT_SOURCE = KEYWORD_SOURCE  # audiences lets only this source (or an admin) undo a STOP
KEYWORD_LIMIT = 50
# Punctuation people put after a keyword: "STOP!", "退订。", "TD～". Stripped from the end only.
TRAILING = " \t\r\n.!?,;:~'\"。！？，；：～、…·．｡\u3000"


def normalise_keyword(text: str) -> str:
    """The form keywords are compared in: NFKC (full-width ＳＴＯＰ -> STOP, half-width katakana…),
    surrounding space and trailing punctuation removed, upper case. "stop!" and "ＳＴＯＰ" are "STOP"."""
    return unicodedata.normalize("NFKC", text).strip().rstrip(TRAILING).strip().upper()


@dataclass(frozen=True)
class Rule:
    """A keyword and what it does, from config.toml (`builtin`) or from the keyword_rules table."""

    keyword: str
    action: str
    reply_text: str = ""
    list_id: int | None = None
    tag: str | None = None
    builtin: bool = False
    id: int | None = None


def builtin_rules(config: ReplyConfig) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for keywords, action, text in ((config.help_keywords, "help", config.help_reply),
                                   (config.start_keywords, "subscribe", config.start_reply),
                                   # Last, so an opt-out keyword listed twice by mistake still opts out.
                                   (config.stop_keywords, "unsubscribe", config.stop_reply)):
        for keyword in keywords:
            rules[normalise_keyword(keyword)] = Rule(normalise_keyword(keyword), action, text, builtin=True)
    return rules


def keyword_rules(session: Session, config: ReplyConfig) -> dict[str, Rule]:
    """Every keyword in force: config.toml's, then the enabled rules from the UI (which cannot replace an
    opt-out keyword; create_keyword_rule refuses that, and this keeps it so if config.toml changes later)."""
    rules = builtin_rules(config)
    for row in session.scalars(select(KeywordRule).where(KeywordRule.enabled.is_(True))):
        if rules.get(row.keyword, Rule("", "")).action == "unsubscribe":
            continue
        rules[row.keyword] = Rule(row.keyword, row.action, row.reply_text, row.list_id, row.tag, id=row.id)
    return rules


# ---------------------------------------------------------------------- one inbound reply
@dataclass(frozen=True)
class ReplyOutcome:
    reply_id: int
    duplicate: bool  # the provider sent this one before; nothing was done again
    classification: str
    answer: str  # the text to send back, "" for none
    contact_ids: tuple[int, ...] = ()


def record_reply(session: Session, inbound: InboundSms, *, config: ReplyConfig, default_region: str,
                 now: datetime) -> ReplyOutcome:
    """Store an inbound SMS and do what its keyword says; commits. Returns what to answer.

    The sender is matched to every contact with that number (E.164) and to the most recent message
    sent to it. A repeat of a reply already stored (same provider and provider id) changes nothing.
    """
    existing = _existing(session, inbound)
    if existing is not None:
        return ReplyOutcome(existing.id, True, existing.classification, "")
    number = _e164(inbound.from_number, default_region)
    contact_ids = contact_ids_by_phone(session, number)
    last = last_sms_to(session, contact_ids=contact_ids, address=number)
    contact_id = last.contact_id if last is not None and last.contact_id in contact_ids else (
        contact_ids[0] if contact_ids else None)
    rule = keyword_rules(session, config).get(normalise_keyword(inbound.body))
    classification = rule.action if rule else "other"
    # "Y" answering a sign-up confirmation SMS confirms that sign-up (double opt-in by reply); a keyword wins.
    if rule is None and last is not None and confirm_signup_by_reply(
            session, message_id=last.id, text=inbound.body, now=now, default_region=default_region) is not None:
        classification = "subscribe"
    answer = rule.reply_text if rule else ""
    values = {
        "provider": inbound.provider, "provider_id": inbound.provider_id[:100], "contact_id": contact_id,
        "message_id": last.id if last is not None else None, "from_number": number[:32],
        "to_number": (inbound.to_number or "")[:32], "body": inbound.body, "keyword": rule.keyword if rule else None,
        "classification": classification, "tag": rule.tag if rule else None, "segments": inbound.segments,
        "answer": answer, "received_at": inbound.received_at or now,
        # A keyword Herald obeyed is dealt with; a question or a labelled reply waits for a person.
        "handled_at": (inbound.received_at or now) if classification in HANDLED_BY_KEYWORD else None,
    }
    reply_id = _insert_reply(session, values)
    if reply_id is None:  # the same webhook, handled at the same moment by another worker
        session.rollback()
        existing = _existing(session, inbound)
        return ReplyOutcome(existing.id if existing else 0, True, classification, "")
    if last is not None:
        events = [{"message_id": last.id, "type": "replied", "occurred_at": values["received_at"],
                   "detail": {"reply_id": reply_id, "classification": classification, "keyword": values["keyword"]}}]
        if classification == "unsubscribe":  # the opt-out answers the last SMS: its campaign lost this recipient
            events.append(opt_out_event(last.id, via="reply", at=values["received_at"], reply_id=reply_id,
                                        keyword=values["keyword"]))
        queries.add_events(session, events)
    _act(session, rule, contact_ids, number=number, default_region=default_region, now=now)
    if contact_id is not None:
        note_reply(session, contact_id, at=values["received_at"], now=now)
    session.commit()
    log.info("event=reply reply_id=%d contact_id=%s message_id=%s class=%s provider=%s", reply_id, contact_id,
             values["message_id"], classification, inbound.provider)
    return ReplyOutcome(reply_id, False, classification, answer, tuple(contact_ids))


def last_sms_to(session: Session, *, contact_ids: Sequence[int], address: str) -> Message | None:
    """The most recent SMS a provider took for these contacts (ix_messages_contact_sent), or, when the
    number belongs to no contact, for that address."""
    query = select(Message).where(Message.channel == "sms", Message.sent_at.is_not(None))
    if contact_ids:
        query = query.where(Message.contact_id.in_(contact_ids))
    else:
        query = query.where(Message.address == address)
    return session.scalars(query.order_by(Message.sent_at.desc(), Message.id.desc()).limit(1)).first()


def _insert_reply(session: Session, values: dict[str, object]) -> int | None:
    """INSERT … ON CONFLICT (provider, provider_id) DO NOTHING RETURNING id: None when it was already there.
    One statement, so two workers handling the same webhook at once store it once."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (insert(Reply).values(**values)
                 .on_conflict_do_nothing(index_elements=[Reply.provider, Reply.provider_id]).returning(Reply.id))
    return session.execute(statement).scalar()


def _existing(session: Session, inbound: InboundSms) -> Reply | None:
    return session.scalars(select(Reply).where(Reply.provider == inbound.provider,
                                               Reply.provider_id == inbound.provider_id[:100])).first()


def _e164(number: str, region: str) -> str:
    try:
        return normalise_phone(number, region=region)
    except Invalid:
        return number.strip()  # a short code or alphanumeric sender: kept as written, matches no contact


def _act(session: Session, rule: Rule | None, contact_ids: Sequence[int], *, number: str, default_region: str,
         now: datetime) -> None:
    """The keyword's effect on the sender's contacts, in the same transaction as the stored reply.

    An opt-out from a number no contact has puts the number on the suppression list, so a contact
    imported with it later is not messaged; an opt-in takes that entry (and only one made so) off again.
    """
    if rule is None:
        return
    if not contact_ids and rule.action == "unsubscribe" and number.startswith("+"):
        add_suppressions(session, [number], channel="sms", reason="texted an opt-out keyword",
                         source=CONSENT_SOURCE, default_region=default_region, now=now)
    if rule.action == "subscribe":
        for entry in list_suppressions(session, channel="sms", search=number).items:
            if entry.address == number and entry.source == CONSENT_SOURCE:
                remove_suppression(session, entry.id)
    if not contact_ids:
        return
    if rule.action in ("unsubscribe", "subscribe"):
        status = "unsubscribed" if rule.action == "unsubscribe" else "subscribed"
        for contact_id in contact_ids:
            set_consent(session, contact_id, "sms", status, source=CONSENT_SOURCE, now=now)
    elif rule.action == "add_to_list" and rule.list_id is not None:
        add_to_list(session, rule.list_id, contact_ids, now=now)


def send_keyword_answer(channel_config: ChannelConfig, *, to: str, text: str, reply_id: int) -> bool:
    """Send a keyword's answer back through the SMS channel (gateways that, unlike Twilio's TwiML, cannot
    answer in the webhook's response). Returns whether the provider took it; a refusal is logged with
    the reply id (the opt-out itself is already recorded, so it never depends on this answer)."""
    try:
        channel = open_channel(str(channel_config.url), from_address=channel_config.from_address, setting="sms")
    except ChannelConfigError as exc:
        log.warning("event=reply_answer_failed reply_id=%d reason=%r", reply_id, str(exc))
        return False
    try:
        [result] = channel.send([Outgoing(0, "sms", to, body=text)])
    finally:
        channel.close()
    if isinstance(result, Refused):
        log.warning("event=reply_answer_failed reply_id=%d channel=%s code=%s reason=%r", reply_id,
                    channel.describe(), result.code, result.reason)
        return False
    log.info("event=reply_answered reply_id=%d provider_id=%s", reply_id, result.provider_id)
    return True


# ---------------------------------------------------------------------- keyword rules in the UI
def list_keyword_rules(session: Session) -> list[KeywordRule]:
    return list(session.scalars(select(KeywordRule).order_by(KeywordRule.keyword)))


def create_keyword_rule(session: Session, *, keyword: str, action: str, config: ReplyConfig, now: datetime,
                        reply_text: str = "", list_id: int | None = None, tag: str | None = None) -> KeywordRule:
    """Add a keyword rule; commits. Raises Invalid naming the field and the fix: an empty or too long
    keyword, one already in use, one that would replace a config.toml keyword, an unknown action, a
    missing list (add_to_list) or tag (tag). NotFound for an unknown list."""
    normal = normalise_keyword(keyword)
    if not normal:
        raise Invalid("Write the keyword people will text, e.g. JOIN or 报名.", field="keyword")
    if len(normal) > KEYWORD_LIMIT or " " in normal.strip():
        raise Invalid(f'keyword "{keyword}" must be one word of at most {KEYWORD_LIMIT} characters', field="keyword")
    if action not in KEYWORD_ACTIONS:
        raise Invalid(f'action "{action}" is not known; known actions: {", ".join(KEYWORD_ACTIONS)}', field="action")
    builtin = builtin_rules(config).get(normal)
    if builtin is not None:
        raise Invalid(f'"{normal}" is already a {builtin.action} keyword set in config.toml [replies]; '
                      "change it there, or pick another keyword", field="keyword")
    if session.scalar(select(KeywordRule.id).where(KeywordRule.keyword == normal)) is not None:
        raise Invalid(f'there is already a rule for "{normal}"; delete it first to change what it does',
                      field="keyword")
    if action == "add_to_list":
        if list_id is None:
            raise Invalid("Pick the list this keyword adds the sender to.", field="list_id")
        get_list(session, list_id)
    tag = (tag or "").strip()[:50] or None
    if action == "tag" and not tag:
        raise Invalid("Write the label this keyword puts on replies, e.g. order or complaint.", field="tag")
    rule = KeywordRule(keyword=normal, action=action, reply_text=reply_text.strip(),
                       list_id=list_id if action == "add_to_list" else None, tag=tag if action == "tag" else None,
                       enabled=True, created_at=now, updated_at=now)
    session.add(rule)
    session.commit()
    return rule


def set_keyword_rule_enabled(session: Session, rule_id: int, enabled: bool, *, now: datetime) -> KeywordRule:
    """Switch a keyword rule made in the UI off (replies saying it become "other") or on again; commits.
    Raises NotFound for an unknown rule."""
    rule = session.get(KeywordRule, rule_id)
    if rule is None:
        raise NotFound(f"keyword rule {rule_id} does not exist")
    rule.enabled, rule.updated_at = enabled, now
    session.commit()
    return rule


def update_keyword_rule(session: Session, rule_id: int, *, now: datetime, enabled: bool | None = None,
                        reply_text: str | None = None) -> KeywordRule:
    """Change what a rule made in the UI answers, or switch it off or on; commits. Its keyword and action
    stay (delete it and add another to change what it does). Raises NotFound for an unknown rule."""
    rule = session.get(KeywordRule, rule_id)
    if rule is None:
        raise NotFound(f"keyword rule {rule_id} does not exist")
    if enabled is not None:
        rule.enabled = enabled
    if reply_text is not None:
        rule.reply_text = reply_text.strip()
    rule.updated_at = now
    session.commit()
    return rule


def get_keyword_rule(session: Session, rule_id: int) -> KeywordRule:
    """A keyword rule made in the UI; raises NotFound naming the id."""
    rule = session.get(KeywordRule, rule_id)
    if rule is None:
        raise NotFound(f"keyword rule {rule_id} does not exist; GET /api/v1/keyword-rules lists them")
    return rule


def delete_keyword_rule(session: Session, rule_id: int) -> None:
    """Delete a keyword rule made in the UI; commits. Replies it classified keep their class. NotFound if unknown."""
    if not session.execute(delete(KeywordRule).where(KeywordRule.id == rule_id)).rowcount:
        raise NotFound(f"keyword rule {rule_id} does not exist")
    session.commit()


def rules_by_keyword(rules: Mapping[str, Rule]) -> list[Rule]:
    """Rules in the order the Inbox shows them: opt-out, opt-in, help, then the marketer's, by keyword."""
    order = {"unsubscribe": 0, "subscribe": 1, "help": 2}
    return sorted(rules.values(), key=lambda r: (order.get(r.action, 3) if r.builtin else 3, r.keyword))

