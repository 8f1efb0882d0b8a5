"""Replies: stored once, matched to the contact and the last message, and their keywords obeyed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from audiences import Consent, ListMember, create_list, is_suppressed
from campaigns import (
    Reply,
    contact_timeline,
    create_keyword_rule,
    delete_keyword_rule,
    keyword_rules,
    list_replies,
    record_reply,
)
from campaigns.models import MessageEvent
from campaigns.responses.replies import normalise_keyword
from channels.inbound import InboundSms
from core.config import ReplyConfig
from core.errors import Invalid
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign

CONFIG = ReplyConfig()
_sids = iter(range(1, 10_000))


def inbound(from_number: str, body: str, *, sid: str | None = None) -> InboundSms:
    return InboundSms("twilio", sid or f"SMin{next(_sids):06d}", from_number, "+15005550006", body, segments=1)


def reply(session, clock, from_number: str, body: str, **kwargs):
    return record_reply(session, inbound(from_number, body, **kwargs), config=CONFIG, default_region="US",
                        now=clock.now())


def sms_consent(session, contact_id: int) -> str | None:
    session.expire_all()
    status = session.scalar(select(Consent.status).where(Consent.contact_id == contact_id, Consent.channel == "sms"))
    session.commit()
    return status


@pytest.mark.parametrize(("text", "normal"), [
    ("STOP", "STOP"), ("stop", "STOP"), (" Stop! ", "STOP"), ("ＳＴＯＰ", "STOP"), ("ｓｔｏｐ。", "STOP"),
    ("退订", "退订"), ("退订。", "退订"), ("退订！", "退订"), ("td", "TD"), ("ＴＤ", "TD"),
    ("Unsubscribe...", "UNSUBSCRIBE"), ("please stop", "PLEASE STOP"), ("", ""),
])
def test_keywords_are_compared_ignoring_case_width_and_trailing_punctuation(text, normal):
    assert normalise_keyword(text) == normal


@pytest.mark.parametrize("body", ["STOP", "stop!", "退订", "ＴＤ", "Unsubscribe"])
def test_an_opt_out_keyword_unsubscribes_at_once_and_the_next_campaign_skips_and_counts_the_contact(
        backend, session, database, clock, channel, body):
    ann = make_contact(session, now=clock.now(), phone="+12015550101")
    bob = make_contact(session, now=clock.now(), phone="+12015550102")
    start_campaign(session, now=clock.now())
    make_dispatcher(database, channel, clock).dispatch_due()

    outcome = reply(session, clock, "(201) 555-0101", body)  # a national number is matched in E.164

    assert outcome.classification == "unsubscribe"
    assert outcome.answer == CONFIG.stop_reply
    assert sms_consent(session, ann.id) == "unsubscribed"
    assert sms_consent(session, bob.id) is None
    campaign, run = start_campaign(session, now=clock.advance(seconds=60))
    by_contact = {m.contact_id: m for m in messages_of(session, run.id)}
    assert (by_contact[ann.id].status, by_contact[ann.id].error_code) == ("suppressed", "opted_out")
    assert by_contact[bob.id].status == "pending"


def test_a_reply_is_matched_to_the_most_recent_message_sent_to_that_number(session, database, clock, channel):
    ann = make_contact(session, now=clock.now(), phone="+12015550101")
    start_campaign(session, now=clock.now())
    make_dispatcher(database, channel, clock).dispatch_due()
    clock.advance(seconds=3600)
    _, second = start_campaign(session, now=clock.now())
    make_dispatcher(database, channel, clock).dispatch_due()
    (latest,) = messages_of(session, second.id)

    outcome = reply(session, clock, "+12015550101", "What time does the sale start?")

    stored = session.get(Reply, outcome.reply_id)
    assert (stored.contact_id, stored.message_id, stored.classification) == (ann.id, latest.id, "other")
    events = session.scalars(select(MessageEvent.type).where(MessageEvent.message_id == latest.id)).all()
    assert "replied" in events
    session.commit()


def test_a_repeated_webhook_is_one_reply_and_answers_nothing_the_second_time(backend, session, clock):
    ann = make_contact(session, now=clock.now(), phone="+12015550101")
    first = reply(session, clock, "+12015550101", "STOP", sid="SMrepeat")
    again = reply(session, clock, "+12015550101", "STOP", sid="SMrepeat")
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.reply_id == first.reply_id and again.answer == ""
    assert session.scalar(select(Reply.id).where(Reply.provider_id == "SMrepeat")) == first.reply_id
    assert len(session.scalars(select(Reply)).all()) == 1
    assert sms_consent(session, ann.id) == "unsubscribed"


def test_start_subscribes_again_and_help_only_answers(session, clock):
    ann = make_contact(session, now=clock.now(), phone="+12015550101")
    reply(session, clock, "+12015550101", "退订")
    assert sms_consent(session, ann.id) == "unsubscribed"
    outcome = reply(session, clock, "+12015550101", "订阅")
    assert (outcome.classification, outcome.answer) == ("subscribe", CONFIG.start_reply)
    assert sms_consent(session, ann.id) == "subscribed"
    helped = reply(session, clock, "+12015550101", "help")
    assert (helped.classification, helped.answer) == ("help", CONFIG.help_reply)
    assert sms_consent(session, ann.id) == "subscribed"


def test_a_stop_from_an_unknown_number_is_kept_unmatched_and_suppresses_the_number(session, clock):
    make_contact(session, now=clock.now(), phone="+12015550101")
    outcome = reply(session, clock, "+12015550199", "STOP")
    assert outcome.classification == "unsubscribe" and outcome.contact_ids == ()
    rows = list_replies(session, unmatched=True)
    assert [(r.reply.from_number, r.contact_name) for r in rows] == [("+12015550199", None)]
    assert list_replies(session, classification="other") == []
    assert is_suppressed(session, "sms", "+12015550199")
    # A contact imported later with that number is not messaged; START lifts the entry STOP made.
    later = make_contact(session, now=clock.now(), phone="+12015550199")
    _, run = start_campaign(session, now=clock.now())
    assert {m.contact_id: m.status for m in messages_of(session, run.id)}[later.id] == "suppressed"
    reply(session, clock, "+12015550199", "START")
    assert not is_suppressed(session, "sms", "+12015550199")


def test_a_register_keyword_adds_the_sender_to_its_list_and_a_tag_keyword_labels_the_reply(session, clock):
    ann = make_contact(session, now=clock.now(), phone="+12015550101")
    fair = create_list(session, "Spring fair", now=clock.now())
    create_keyword_rule(session, keyword="报名", action="add_to_list", list_id=fair.id, reply_text="已报名，谢谢！",
                        config=CONFIG, now=clock.now())
    create_keyword_rule(session, keyword="order", action="tag", tag="order", config=CONFIG, now=clock.now())

    joined = reply(session, clock, "+12015550101", "报名！")
    tagged = reply(session, clock, "+12015550101", "ORDER")

    assert (joined.classification, joined.answer) == ("add_to_list", "已报名，谢谢！")
    members = session.scalars(select(ListMember.contact_id).where(ListMember.list_id == fair.id)).all()
    assert members == [ann.id]
    assert (tagged.classification, session.get(Reply, tagged.reply_id).tag) == ("tag", "order")
    session.commit()


def test_a_rule_can_never_replace_an_opt_out_keyword(session, clock):
    with pytest.raises(Invalid, match=r'"STOP" is already a unsubscribe keyword set in config.toml'):
        create_keyword_rule(session, keyword="ｓｔｏｐ", action="tag", tag="x", config=CONFIG, now=clock.now())
    with pytest.raises(Invalid, match="Pick the list"):
        create_keyword_rule(session, keyword="JOIN", action="add_to_list", config=CONFIG, now=clock.now())
    with pytest.raises(Invalid, match="action"):
        create_keyword_rule(session, keyword="JOIN", action="explode", config=CONFIG, now=clock.now())
    rule = create_keyword_rule(session, keyword="info2", action="help", reply_text="Call 555", config=CONFIG,
                               now=clock.now())
    with pytest.raises(Invalid, match='already a rule for "INFO2"'):
        create_keyword_rule(session, keyword="Info2", action="help", config=CONFIG, now=clock.now())
    assert keyword_rules(session, CONFIG)["INFO2"].reply_text == "Call 555"
    delete_keyword_rule(session, rule.id)
    assert "INFO2" not in keyword_rules(session, CONFIG)


def test_a_stop_from_a_number_shared_by_two_contacts_unsubscribes_both(session, clock):
    ann = make_contact(session, now=clock.now(), phone="+12015550101")
    ann_work = make_contact(session, now=clock.now(), phone="+12015550101")
    reply(session, clock, "+12015550101", "STOP")
    assert (sms_consent(session, ann.id), sms_consent(session, ann_work.id)) == ("unsubscribed", "unsubscribed")


def test_send_campaign_counts_contacts_who_opted_out_by_reply(session, database, clock, channel):
    ann = make_contact(session, now=clock.now(), phone="+12015550101")
    reply(session, clock, "+12015550101", "TD")
    campaign, run = start_campaign(session, now=clock.now())
    make_dispatcher(database, channel, clock).dispatch_due()
    assert channel.sent == []
    (message,) = messages_of(session, run.id)
    assert (message.contact_id, message.status, message.error_code) == (ann.id, "suppressed", "opted_out")


def test_a_reply_appears_on_the_contact_timeline_with_the_campaign_it_answered(session, database, clock, channel):
    ann = make_contact(session, now=clock.now(), phone="+12015550101")
    campaign, _run = start_campaign(session, now=clock.now())
    make_dispatcher(database, channel, clock).dispatch_due()
    reply(session, clock, "+12015550101", "退订", sid="SMtimeline")
    (entry,) = [e for e in contact_timeline(session, ann.id) if e.kind == "reply"]
    assert (entry.title, entry.status, entry.campaign_id) == ("“退订”", "replied", campaign.id)
    assert "keyword 退订 (unsubscribe)" in entry.detail and "answered: You are unsubscribed" in entry.detail
