"""Event notices: ahead of marketing traffic, at-least-once, opt-outs unless operational, the fallback re-send;
and the pre-send estimate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from audiences import set_consent
from campaigns import (
    create_campaign,
    create_event_notice,
    create_template,
    estimate_campaign,
    fallback_of,
    get_campaign,
    resend_undelivered,
    send_campaign,
)
from campaigns.audience.caps import FrequencyCap
from core.errors import Conflict, Invalid
from tests.campaigns.factories import make_contact, make_dispatcher, make_list, messages_of, refuse


def _send(session, clock, campaign_id):
    return send_campaign(session, campaign_id, now=clock.now(), channel_description="scripted://test", dry_run=False)


@pytest.fixture
def sms(session, clock):
    return create_template(session, name="Gate", channel="sms", body="Gate changed to B{{ 7 }}", now=clock.now())


@pytest.fixture
def email(session, clock):
    return create_template(session, name="Gate mail", channel="email", subject="Gate change",
                           html="<p>Your gate is now B7.</p>", now=clock.now())


def test_a_notice_overtakes_a_marketing_campaign_in_flight(backend, session, database, channel, clock, sms):
    for _ in range(6):
        make_contact(session, now=clock.now())
    sale = create_campaign(session, name="Sale", channel="sms", template_id=sms.id, now=clock.now())
    sale_run = _send(session, clock, sale.id)
    dispatcher = make_dispatcher(database, channel, clock, batch_size=2)
    dispatcher.dispatch_due()  # the sale is under way: 2 of 6 sent
    notice = create_event_notice(session, name="Gate change", channel="sms", template_id=sms.id, now=clock.now())
    assert (notice.kind, notice.guarantee, notice.ignore_caps) == ("event_notice", "at_least_once", True)
    notice_run = _send(session, clock, notice.id)
    assert {m.priority for m in messages_of(session, notice_run.id)} == {10}
    assert {m.priority for m in messages_of(session, sale_run.id)} == {100}
    for _ in range(3):
        dispatcher.dispatch_due()  # the next three rounds take the notice's six messages first
    assert [m.status for m in messages_of(session, notice_run.id)] == ["sent"] * 6
    assert sorted(m.status for m in messages_of(session, sale_run.id)) == ["pending"] * 4 + ["sent"] * 2
    while dispatcher.dispatch_due():
        pass
    assert [m.status for m in messages_of(session, sale_run.id)] == ["sent"] * 6


def test_a_notice_respects_the_suppression_list_unless_it_is_operational(session, clock, sms):
    from audiences import add_suppressions

    person = make_contact(session, now=clock.now(), phone="+12025550123")
    report = add_suppressions(session, [person.phone], channel="sms", reason="asked", default_region="US",
                              now=clock.now())
    assert not report.rejected
    plain = create_event_notice(session, name="Plain", channel="sms", template_id=sms.id, now=clock.now())
    operational = create_event_notice(session, name="Flight cancelled", channel="sms", template_id=sms.id,
                                      operational=True, now=clock.now())
    rows = messages_of(session, _send(session, clock, plain.id).id)
    assert [(m.status, m.error_code) for m in rows] == [("suppressed", "suppression_list")]
    rows = messages_of(session, _send(session, clock, operational.id).id)
    assert [(m.status, m.priority) for m in rows] == [("pending", 10)]


def test_fallback_resends_by_email_to_everyone_not_delivered_after_n_minutes(backend, session, database, clock, sms,
                                                                            email):
    from tests.campaigns.factories import ScriptedChannel

    delivered = make_contact(session, now=clock.now())
    refused = make_contact(session, now=clock.now())
    unconfirmed = make_contact(session, now=clock.now())
    no_phone = make_contact(session, now=clock.now(), phone=None)
    no_email = make_contact(session, now=clock.now(), email=None, phone="+15550009999")
    attendees = make_list(session, "Attendees", [delivered, refused, unconfirmed, no_phone], now=clock.now())
    notice = create_event_notice(session, name="Venue moved", channel="sms", template_id=sms.id,
                                 list_id=attendees.id, now=clock.now())
    with pytest.raises(Conflict, match="send it first"):
        resend_undelivered(session, notice.id, template_id=email.id, after_minutes=10, now=clock.now(),
                           channel_description="scripted://test", dry_run=False)
    _send(session, clock, notice.id)
    sms_channel = ScriptedChannel({refused.phone: refuse(permanent=True)})
    make_dispatcher(database, sms_channel, clock).dispatch_due()
    rows = {m.contact_id: m for m in messages_of(session)}
    from campaigns.delivery.callbacks import apply_channel_events  # noqa: F401 - delivery is recorded by status callbacks
    from campaigns.queries import move_message_status
    move_message_status(session, message_id=rows[delivered.id].id, status="delivered", values={})
    session.commit()
    with pytest.raises(Invalid, match="pick an email template"):
        resend_undelivered(session, notice.id, template_id=sms.id, after_minutes=10, now=clock.now(),
                           channel_description="scripted://test", dry_run=False)
    # Too early: the unconfirmed message went out a minute ago, so only the refused and the phoneless go.
    clock.advance(minutes=1)
    fallback = resend_undelivered(session, notice.id, template_id=email.id, after_minutes=10, now=clock.now(),
                                  channel_description="scripted://test", dry_run=False)
    resent = {m.contact_id: m for m in messages_of(session, fallback.run.id)}
    assert set(resent) == {refused.id, no_phone.id}
    assert {m.channel for m in resent.values()} == {"email"}
    assert {m.priority for m in resent.values()} == {10}
    assert (fallback.campaign.fallback_of_id, fallback.campaign.channel, fallback.campaign.kind,
            fallback.campaign.guarantee) == (notice.id, "email", "event_notice", "at_least_once")
    assert fallback_of(session, notice.id).id == fallback.campaign.id
    with pytest.raises(Conflict, match="already re-sent as campaign"):
        resend_undelivered(session, notice.id, template_id=email.id, after_minutes=0, now=clock.now(),
                           channel_description="scripted://test", dry_run=False)
    session.rollback()  # end the reads: on SQLite an open transaction holds the lock the sender needs
    mail_channel = ScriptedChannel()
    make_dispatcher(database, mail_channel, clock).dispatch_due()
    assert sorted(m.to for m in mail_channel.sent) == sorted([refused.email, no_phone.email])
    assert no_email.id not in resent  # not on the list


def test_fallback_after_n_minutes_includes_sent_but_unconfirmed(session, database, channel, clock, sms, email):
    person = make_contact(session, now=clock.now())
    notice = create_event_notice(session, name="Gate", channel="sms", template_id=sms.id, now=clock.now())
    _send(session, clock, notice.id)
    make_dispatcher(database, channel, clock).dispatch_due()
    clock.advance(minutes=10)
    fallback = resend_undelivered(session, notice.id, template_id=email.id, after_minutes=10, now=clock.now(),
                                  channel_description="scripted://test", dry_run=False)
    assert [m.contact_id for m in messages_of(session, fallback.run.id)] == [person.id]


def test_only_event_notices_have_a_fallback(session, clock, sms, email):
    make_contact(session, now=clock.now())
    sale = create_campaign(session, name="Sale", channel="sms", template_id=sms.id, now=clock.now())
    _send(session, clock, sale.id)
    with pytest.raises(Conflict, match="not an event notice"):
        resend_undelivered(session, sale.id, template_id=email.id, after_minutes=0, now=clock.now(),
                           channel_description="scripted://test", dry_run=False)


def test_the_estimate_counts_who_is_reached_segments_cost_and_the_send_window(backend, session, database, channel,
                                                                             clock):
    for _ in range(4):
        make_contact(session, now=clock.now(), first_name="Ann")
    make_contact(session, now=clock.now(), phone=None)
    opted_out = make_contact(session, now=clock.now())
    set_consent(session, opted_out.id, "sms", "unsubscribed", source="test", now=clock.now())
    capped = make_contact(session, now=clock.now())
    one_list = make_list(session, "One", [capped], now=clock.now())
    short = create_template(session, name="S", channel="sms", body="Hi {{ contact.first_name }}", now=clock.now())
    earlier = create_campaign(session, name="Earlier", channel="sms", template_id=short.id, list_id=one_list.id,
                              now=clock.now())
    _send(session, clock, earlier.id)
    make_dispatcher(database, channel, clock).dispatch_due()
    # 80 Chinese characters: UCS-2, 67 per part -> 2 segments per message.
    long = create_template(session, name="L", channel="sms", body="您好{{ contact.first_name }}" + "秋" * 78,
                           now=clock.now())
    campaign = create_campaign(session, name="Mid-Autumn", channel="sms", template_id=long.id, now=clock.now())
    estimate = estimate_campaign(session, campaign.id, now=clock.now(), price=Decimal("0.05"), currency="CNY",
                                 rate="2/second", cap=FrequencyCap(1, 7))
    assert (estimate.audience, estimate.sendable) == (7, 4)
    assert estimate.excluded == {"no_address": 1, "opted_out": 1, "frequency_cap": 1}
    assert (estimate.segments_per_message, estimate.segments, estimate.sample_size) == (Decimal("2.00"), 8, 4)
    assert (estimate.cost, estimate.currency) == (Decimal("0.40"), "CNY")
    assert estimate.first_send_at == clock.now()
    assert (estimate.last_send_at - estimate.first_send_at).total_seconds() == 1  # 2 at once, 2 a second later
    data = estimate.to_dict()
    assert data["cost"] == "0.40" and data["segments"] == 8
    assert get_campaign(session, campaign.id).status == "draft"  # nothing written


def test_the_estimate_of_a_segment_campaign_counts_todays_members(session, clock):
    from audiences import create_segment

    wang = make_contact(session, now=clock.now(), first_name="Wang")
    make_contact(session, now=clock.now(), first_name="Li")
    wang.country = "CN"
    session.commit()
    segment = create_segment(session, name="China",
                             rules={"all": [{"field": "country", "op": "eq", "value": "CN"}]}, now=clock.now())
    template = create_template(session, name="S", channel="sms", body="Hi", now=clock.now())
    campaign = create_campaign(session, name="VIP", channel="sms", template_id=template.id, segment_id=segment.id,
                               now=clock.now())
    estimate = estimate_campaign(session, campaign.id, now=clock.now(), price=Decimal("0.01"), currency="USD",
                                 rate="10/second")
    assert (estimate.audience, estimate.sendable) == (1, 1)
    run = _send(session, clock, campaign.id)
    assert len(messages_of(session, run.id)) == 1


def test_an_email_estimate_prices_per_message(session, clock, email):
    for _ in range(3):
        make_contact(session, now=clock.now())
    campaign = create_campaign(session, name="News", channel="email", template_id=email.id, now=clock.now())
    estimate = estimate_campaign(session, campaign.id, now=clock.now(), price=Decimal("0.001"), currency="USD",
                                 rate="10/second")
    assert (estimate.sendable, estimate.segments, estimate.cost) == (3, None, Decimal("0.003"))
    assert estimate.first_send_at == estimate.last_send_at == clock.now()


def test_the_send_window_follows_quiet_hours_in_each_recipients_zone(backend, session, clock):
    from datetime import UTC, datetime

    from campaigns.audience.send_time import QuietHours, Timing

    clock.set(datetime(2026, 3, 2, 22, 0, tzinfo=UTC))  # 22:00 in London, 06:00 next day in Shanghai
    london = make_contact(session, now=clock.now())
    shanghai = make_contact(session, now=clock.now())
    london.time_zone, shanghai.time_zone = "Europe/London", "Asia/Shanghai"
    session.commit()
    template = create_template(session, name="S", channel="sms", body="Hi", now=clock.now())
    campaign = create_campaign(session, name="Spring", channel="sms", template_id=template.id, now=clock.now())
    estimate = estimate_campaign(session, campaign.id, now=clock.now(), price=Decimal("0.01"), currency="USD",
                                 rate="10/second", timing=Timing(default_zone="UTC",
                                                                 quiet=QuietHours.parse("21:00-08:00")))
    assert estimate.first_send_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert estimate.last_send_at == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # 08:00 in London


@pytest.mark.parametrize("notices_skip", [False, True])
def test_an_admin_may_let_event_notices_skip_approval_while_marketing_still_needs_it(session, clock, sms, tmp_path,
                                                                                      db_url, notices_skip):
    from campaigns import send_campaign_now
    from tests.conftest import make_config

    config = make_config(tmp_path, db_url, HERALD_APPROVAL_REQUIRED="true",
                         HERALD_APPROVAL_NOTICES_SKIP="true" if notices_skip else "false")
    make_contact(session, now=clock.now())
    notice = create_event_notice(session, name="Venue moved", channel="sms", template_id=sms.id, now=clock.now())
    marketing = create_campaign(session, name="Member day", channel="sms", template_id=sms.id, now=clock.now())
    with pytest.raises(Conflict, match="needs approval"):
        send_campaign_now(session, marketing.id, config=config, now=clock.now())
    if notices_skip:
        assert send_campaign_now(session, notice.id, config=config, now=clock.now()).status == "running"
        assert get_campaign(session, notice.id).status == "running"
    else:
        with pytest.raises(Conflict, match="needs approval"):
            send_campaign_now(session, notice.id, config=config, now=clock.now())
