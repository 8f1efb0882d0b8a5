"""The two-way inbox: conversations assigned to the contact's owner, waiting until handled, answered through the
outbox (a message row with its status and cost), who may be answered, and the Inbox's search, paging and counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from audiences import set_consent
from campaigns import (
    NOBODY,
    AnswerChannel,
    AnswerNotAllowed,
    answer_conversation,
    answer_reply,
    assign_conversation,
    campaign_report,
    conversation_thread,
    count_waiting,
    create_template,
    inbox_page,
    list_campaigns,
    list_templates,
    record_reply,
    set_reply_handled,
)
from campaigns.models import Message
from campaigns.results.report_settings import ReportSettings
from channels.inbound import InboundSms
from core.config import ReplyConfig
from core.errors import Conflict, Invalid, NotFound
from core.users import create_user
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of

CONFIG = ReplyConfig()
TWILIO = AnswerChannel("twilio://AC123:****@default?from=%2B15005550006", "twilio", False)
_sids = iter(range(1, 10_000))


def reply(session, clock, number: str, body: str, provider: str = "twilio"):
    inbound = InboundSms(provider, f"SMq{next(_sids):06d}", number, "+15005550006", body, segments=1)
    return record_reply(session, inbound, config=CONFIG, default_region="US", now=clock.now())


@pytest.fixture
def staff(session):
    owner = create_user(session, email="owner@example.com", password="a long password", name="Olga Owner")
    care = create_user(session, email="care@example.com", password="a long password", name="Cai Care")
    return owner, care


def test_a_question_opens_a_conversation_assigned_to_the_owner_and_an_answer_goes_out_as_a_priced_message(
        backend, session, database, clock, channel, staff):
    owner, care = staff
    ann = make_contact(session, now=clock.now(), phone="+12015550101", first_name="Ann")
    ann.owner_id = owner.id
    session.commit()
    question = reply(session, clock, "(201) 555-0101", "What time do you open on Sunday?")

    assert question.classification == "other"
    waiting = count_waiting(session, user_id=owner.id)
    assert (waiting.conversations, waiting.mine, waiting.unmatched) == (1, 1, 0)
    assert count_waiting(session, user_id=care.id).mine == 0
    assert conversation_thread(session, ann.id).assignee.id == owner.id

    clock.advance(seconds=120)
    answer = answer_conversation(session, ann.id, text="  From 10:00 to 18:00. See you!  ", channel=TWILIO,
                                 now=clock.now(), user_id=care.id)

    [message] = messages_of(session)
    assert (message.status, message.address, message.body) == ("pending", "+12015550101", "From 10:00 to 18:00. "
                                                                                          "See you!")
    assert message.priority < 100  # ahead of marketing traffic
    assert count_waiting(session, user_id=owner.id).total == 0  # answering handled it
    session.commit()  # end the read: on SQLite an open transaction holds the write lock the sender needs
    assert make_dispatcher(database, channel, clock).dispatch_due() == 1
    [sent] = channel.sent
    assert (sent.to, sent.body) == ("+12015550101", "From 10:00 to 18:00. See you!")
    [message] = messages_of(session)
    assert message.status == "sent" and message.cost == Decimal("0.0079") and message.segments == 1
    thread = conversation_thread(session, ann.id)
    assert [(e.direction, e.text) for e in thread.entries] == [
        ("in", "What time do you open on Sunday?"), ("out", "From 10:00 to 18:00. See you!")]
    assert thread.entries[1].user_name == "Cai Care" and thread.entries[1].status == "sent"
    assert answer.reply_id == question.reply_id

    # The answers' campaign counts what answering costs, and stays out of the marketer's lists.
    summary = campaign_report(session, message.campaign_id, ReportSettings("USD")).to_dict()["summary"]
    assert summary["sent"] == 1 and Decimal(summary["cost"]) == Decimal("0.0079")
    assert [c.name for c in list_campaigns(session)] == []
    create_template(session, name="Mine", channel="sms", body="Hi", now=clock.now())
    assert [t.name for t in list_templates(session)] == ["Mine"]


def test_a_contact_who_texted_stop_is_not_answered_but_one_who_unsubscribed_by_link_is(backend, session, clock,
                                                                                       staff):
    ann = make_contact(session, now=clock.now(), phone="+12015550101")
    bob = make_contact(session, now=clock.now(), phone="+12015550102")
    reply(session, clock, "+12015550101", "How much is delivery?")
    reply(session, clock, "+12015550101", "STOP")
    reply(session, clock, "+12015550102", "Is my order on its way?")
    set_consent(session, bob.id, "sms", "unsubscribed", source="unsubscribe link", now=clock.now())
    session.commit()

    with pytest.raises(AnswerNotAllowed, match="texted STOP"):
        answer_conversation(session, ann.id, text="Free over 99", channel=TWILIO, now=clock.now())
    answer_conversation(session, bob.id, text="Yes, tomorrow", channel=TWILIO, now=clock.now())
    assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_an_answer_goes_back_only_through_the_provider_the_reply_came_in_on(session, clock):
    ann = make_contact(session, now=clock.now(), phone="+12015550101")
    reply(session, clock, "+12015550101", "Hello?", provider="http-sms")
    with pytest.raises(Conflict, match="came in through http-sms"):
        answer_conversation(session, ann.id, text="Hi", channel=TWILIO, now=clock.now())
    dry = AnswerChannel("log://outbox", "log", True)  # a dry run sends nothing anywhere: allowed
    answer_conversation(session, ann.id, text="Hi", channel=dry, now=clock.now())


def test_bad_answers_are_explained(session, clock):
    ann = make_contact(session, now=clock.now(), phone="+12015550101")
    bob = make_contact(session, now=clock.now(), phone="+12015550102")
    with pytest.raises(NotFound, match="never replied"):
        answer_conversation(session, ann.id, text="Hi", channel=TWILIO, now=clock.now())
    reply(session, clock, "+12015550101", "?")
    other = reply(session, clock, "+12015550102", "??")
    with pytest.raises(Invalid, match="Write the answer"):
        answer_conversation(session, ann.id, text="  ", channel=TWILIO, now=clock.now())
    with pytest.raises(Invalid, match="at most 1,600"):
        answer_conversation(session, ann.id, text="x" * 1601, channel=TWILIO, now=clock.now())
    with pytest.raises(Invalid, match="is not from contact"):
        answer_conversation(session, ann.id, text="Hi", channel=TWILIO, now=clock.now(), reply_id=other.reply_id)
    assert bob.id


def test_a_reply_from_an_unknown_number_is_handled_alone_and_cannot_be_answered(backend, session, clock, staff):
    unknown = reply(session, clock, "+12015550199", "Who is this?")
    assert count_waiting(session).unmatched == 1
    with pytest.raises(Conflict, match="add a contact"):
        answer_reply(session, unknown.reply_id, text="Herald", channel=TWILIO, now=clock.now())
    set_reply_handled(session, unknown.reply_id, True, user_id=staff[1].id, now=clock.now())
    assert count_waiting(session).total == 0
    set_reply_handled(session, unknown.reply_id, False, user_id=None, now=clock.now())
    assert count_waiting(session).unmatched == 1


def test_keywords_arrive_handled_and_the_inbox_is_searched_filtered_and_paged(backend, session, clock, staff):
    owner, care = staff
    ann = make_contact(session, now=clock.now(), phone="+8613800138001", first_name="芳", last_name="王")
    bob = make_contact(session, now=clock.now(), phone="+12015550102", first_name="Bob")
    for n in range(5):
        clock.advance(seconds=60)
        reply(session, clock, "+8613800138001", f"question {n} about 会员日")
    reply(session, clock, "+12015550102", "退订")
    assign_conversation(session, ann.id, care.id, by_user_id=owner.id, now=clock.now())

    assert inbox_page(session, status="handled").total == 1  # the opt-out Herald obeyed
    assert inbox_page(session, status="waiting").total == 5
    first = inbox_page(session, search="会员日", per_page=2)
    assert (first.total, first.pages, len(first.rows)) == (5, 3, 2)
    assert [r.reply.body for r in first.rows] == ["question 4 about 会员日", "question 3 about 会员日"]
    assert [r.reply.body for r in inbox_page(session, search="会员日", per_page=2, page=3).rows] == [
        "question 0 about 会员日"]
    assert inbox_page(session, search="王芳").total == 5  # the contact's name as people write it
    assert inbox_page(session, search="138 0013 8001").total == 5  # a phone however it is spaced
    assert inbox_page(session, search="Bob").total == 1
    assert inbox_page(session, assignee=care.id).total == 5
    assert inbox_page(session, assignee=NOBODY).total == 1  # Bob has no owner
    assert inbox_page(session, contact_id=bob.id).rows[0].reply.body == "退订"
    assert inbox_page(session, assignee=care.id).rows[0].assignee_name == "Cai Care"
    with pytest.raises(Invalid, match="status"):
        inbox_page(session, status="open")
    with pytest.raises(Invalid, match="not an active Herald user"):
        assign_conversation(session, ann.id, 999_999, by_user_id=None, now=clock.now())
