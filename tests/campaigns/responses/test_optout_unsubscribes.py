"""An opt-out is an unsubscribe of the campaign whose message it answers, however it arrives: a reply keyword
(退订, ＴＤ, STOP), a provider code saying the number opted out (Twilio 21610, at send time or in a delivery
report), or a complaint. The report counts each under Unsubscribed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from campaigns import apply_channel_events, apply_email_feedback, campaign_report, record_reply
from campaigns.results.report_settings import ReportSettings
from channels import ChannelEvent, open_channel
from channels.email_feedback import EmailFeedback
from channels.inbound import InboundSms
from core.config import ReplyConfig
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign
from tests.fakes.fake_twilio import FakeTwilio

USD = ReportSettings("USD")
OPTED_OUT = "+12015550177"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(opted_out_numbers={OPTED_OUT}) as fake:
        yield fake


@pytest.fixture
def twilio(fake):
    channel = open_channel(fake.channel_url())
    yield channel
    channel.close()


def reply(session, clock, number: str, body: str, sid: str):
    inbound = InboundSms("twilio", sid, number, "+15005550006", body, segments=1)
    return record_reply(session, inbound, config=ReplyConfig(), default_region="US", now=clock.now())


def test_opt_out_replies_are_unsubscribes_of_the_campaign_whose_message_they_answer(
        backend, session, database, clock, twilio):
    phones = ["+12015550101", "+12015550102", "+12015550103"]
    for phone in phones:
        make_contact(session, now=clock.now(), phone=phone)
    earlier, _ = start_campaign(session, now=clock.now())
    make_dispatcher(database, {"sms": twilio}, clock).dispatch_due()
    latest, _ = start_campaign(session, now=clock.advance(seconds=3600))
    make_dispatcher(database, {"sms": twilio}, clock).dispatch_due()

    clock.advance(seconds=60)
    reply(session, clock, phones[0], "退订", "SMin1")
    reply(session, clock, phones[1], "ＴＤ", "SMin2")
    reply(session, clock, phones[2], "好的，谢谢", "SMin3")
    reply(session, clock, phones[0], "退订", "SMin1")  # the same webhook again: nothing more

    report = campaign_report(session, latest.id, USD)
    assert (report.replied, report.total.unsubscribed) == (3, 2)
    assert dict((k, v) for k, _, v in report.summary())["unsubscribed"] == 2
    assert campaign_report(session, earlier.id, USD).total.unsubscribed == 0


def test_a_provider_opt_out_code_at_send_time_or_in_a_delivery_report_is_an_unsubscribe(
        backend, session, database, clock, twilio):
    make_contact(session, now=clock.now(), phone=OPTED_OUT)  # Twilio refuses it: 21610
    later = make_contact(session, now=clock.now(), phone="+12015550104")
    make_contact(session, now=clock.now(), phone="+12015550105")
    campaign, run = start_campaign(session, now=clock.now())
    make_dispatcher(database, {"sms": twilio}, clock).dispatch_due()
    assert campaign_report(session, campaign.id, USD).total.unsubscribed == 1

    # Accepted, then reported failed because the recipient had opted out with the carrier meanwhile.
    message = next(m for m in messages_of(session, run.id) if m.contact_id == later.id)
    apply_channel_events(session, [ChannelEvent("failed", message_id=message.id, provider_id=message.provider_id,
                                                error_code="21610", consent="unsubscribed")], now=clock.now())
    report = campaign_report(session, campaign.id, USD)
    assert (report.total.unsubscribed, report.failed) == (2, 2)


def test_a_complaint_is_an_unsubscribe_of_the_campaign_complained_about(backend, session, database, clock, channel):
    ann = make_contact(session, now=clock.now(), email="ann@example.com")
    make_contact(session, now=clock.now(), email="bob@example.com")
    campaign, run = start_campaign(session, now=clock.now(), channel="email")
    make_dispatcher(database, channel, clock).dispatch_due()
    message = next(m for m in messages_of(session, run.id) if m.contact_id == ann.id)
    apply_email_feedback(session, [EmailFeedback(kind="complaint", address="ann@example.com", message_id=message.id,
                                                 source="ses")], now=clock.now())
    assert campaign_report(session, campaign.id, USD).total.unsubscribed == 1
