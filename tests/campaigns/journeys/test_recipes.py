"""The recipes run end to end on SQLite and PostgreSQL, days passing on the clock: the journey's messages go out
through the outbox, purchases reach the goal and are credited, the rest get the next step."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from audiences import tags_of
from campaigns import ConversionSettings, record_conversion
from campaigns.journeys import activate_journey, advance_journeys, create_journey, journey_stats
from campaigns.journeys.recipes import birthday_by_tier, dormant_reactivation, new_customer_care
from campaigns.models import Conversion, Message
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher
from tests.campaigns.journeys.conftest import email_template, enrolment_of, sms_template

STEPS = ["sms_offer", "wait_purchase", "email_code", "wait_purchase_again", "tag_lost"]


def _sent(session, contact_id: int) -> list[tuple[str, str, str]]:
    session.expire_all()
    rows = session.execute(select(Message.journey_step, Message.channel, Message.status)
                           .where(Message.contact_id == contact_id).order_by(Message.id)).tuples().all()
    session.commit()
    return list(rows)


def test_dormant_reactivation_credits_the_buyer_and_tags_the_lost(backend, database, session, clock, settings):
    now = clock.now()
    buyer = make_contact(session, now=now, first_name="Mei")
    quiet = make_contact(session, now=now, first_name="Wu")
    active = make_contact(session, now=now, first_name="Li")
    buyer.lifecycle_stage = quiet.lifecycle_stage = "dormant"
    active.lifecycle_stage = "customer"
    buyer_id, quiet_id, active_id, buyer_email = buyer.id, quiet.id, active.id, buyer.email
    session.commit()
    definition = dormant_reactivation(sms_template_id=sms_template(session, now, "We miss you, 8折 this week"),
                                      email_template_id=email_template(session, now, "Your code: BACK10"))
    journey = create_journey(session, name="Dormant reactivation", definition=definition, now=now)
    activate_journey(session, journey.id, now=now)
    channel = ScriptedChannel()

    def day(days: float) -> None:
        advance_journeys(session, now=clock.advance(days=days), settings=settings)
        session.commit()
        make_dispatcher(database, channel, clock).dispatch_due()

    day(0.001)
    assert _sent(session, buyer_id) == [("sms_offer", "sms", "sent")] == _sent(session, quiet_id)
    assert _sent(session, active_id) == []
    record_conversion(session, {"order_id": "SO-1", "amount": "88.00", "email": buyer_email},
                      ConversionSettings("USD", {}, "UTC", "US"), now=clock.advance(days=2))
    day(0.001)
    mei = enrolment_of(session, journey.id, buyer_id)
    assert (mei.status, mei.exit_reason, mei.step_key) == ("completed", "goal", "wait_purchase")
    # Credited twice over: the goal names the purchase, and attribution gave it to the journey's SMS (receipt).
    purchase = session.get(Conversion, mei.goal_conversion_id)
    assert (purchase.attribution, session.get(Message, purchase.message_id).journey_id) == ("receipt", journey.id)
    day(5)
    assert _sent(session, quiet_id) == [("sms_offer", "sms", "sent"), ("email_code", "email", "sent")]
    day(7)
    assert tags_of(session, [quiet_id, buyer_id]) == {quiet_id: ["lost"], buyer_id: []}
    assert _sent(session, buyer_id) == [("sms_offer", "sms", "sent")]
    stats = journey_stats(session, journey.id, STEPS)
    assert stats.treated.revenue == Decimal("88.00") and stats.treated.goal == 1 and stats.treated.enrolled == 2
    assert stats.steps["wait_purchase"].exited == {"goal": 1} and stats.steps["wait_purchase"].passed == 1
    assert stats.steps["tag_lost"].passed == 1  # went through to the journey's end
    assert stats.steps["sms_offer"].messages == 2 and stats.steps["email_code"].messages == 1
    assert stats.statuses == {"completed": 2}


def test_new_customer_care_sends_on_day_0_3_and_30(backend, database, session, clock, settings):
    now = clock.now()
    with_phone = make_contact(session, now=now)
    email_only = make_contact(session, now=now, phone=None)
    with_phone.lifecycle_stage = email_only.lifecycle_stage = "customer"
    phone_id, email_id = with_phone.id, email_only.id
    session.commit()
    definition = new_customer_care(welcome_sms_id=sms_template(session, now, "Welcome!"),
                                   welcome_email_id=email_template(session, now, "Welcome"),
                                   useful_email_id=email_template(session, now, "How to care for your order"),
                                   question_sms_id=sms_template(session, now, "Happy with us? Reply 1-5"))
    journey = create_journey(session, name="New customer care", definition=definition, now=now)
    activate_journey(session, journey.id, now=now)
    channel = ScriptedChannel()
    # (days to move the clock on, the steps sent so far): day 0, just before and after day 3, and day 30.
    schedule = [(0.001, ["welcome"]), (2.9, ["welcome"]), (0.2, ["welcome", "useful"]),
                (26.5, ["welcome", "useful"]), (0.6, ["welcome", "useful", "question"])]
    for days, steps in schedule:
        advance_journeys(session, now=clock.advance(days=days), settings=settings)
        session.commit()
        make_dispatcher(database, channel, clock).dispatch_due()
        assert [s for s, _, status in _sent(session, phone_id) if status == "sent"] == steps, days
    assert [(s, c) for s, c, _ in _sent(session, email_id)] == [("welcome", "email"), ("useful", "email"),
                                                                ("question", "sms")]
    assert [status for *_, status in _sent(session, email_id)][-1] == "suppressed"  # no number for the question
    assert enrolment_of(session, journey.id, phone_id).exit_reason == "end"


def test_birthday_care_by_tier(backend, session, clock, settings):
    now = clock.now()
    a_tier, b_tier = make_contact(session, now=now), make_contact(session, now=now)
    a_tier.value_tier, b_tier.value_tier = "A", "B"
    a_tier.birthday = b_tier.birthday = date(1990, now.month, now.day)
    a_id, b_id = a_tier.id, b_tier.id
    session.commit()
    journey = create_journey(session, name="Birthday", now=now, definition=birthday_by_tier(
        birthday_sms_id=sms_template(session, now, "生日快乐 {{ contact.first_name }}")))
    activate_journey(session, journey.id, now=now)
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    assert tags_of(session, [a_id, b_id]) == {a_id: ["call for birthday"], b_id: []}
    assert [s for s, *_ in _sent(session, a_id)] == ["greeting"] == [s for s, *_ in _sent(session, b_id)]
    advance_journeys(session, now=clock.advance(days=1), settings=settings)  # not the birthday, and once a year
    assert len(_sent(session, a_id)) == 1
