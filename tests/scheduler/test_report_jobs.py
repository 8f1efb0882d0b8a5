"""Report jobs: the A/B winner decided after the test phase's hours; the weekly report mailed to users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

import campaigns
from campaigns.ab_test import VariantSpec, set_ab_test
from campaigns.models import CampaignVariant, Conversion, Message, MessageEvent
from core.clock import FrozenClock
from core.users import User
from scheduler import jobs
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher, messages_of
from tests.conftest import make_config
from tests.fakes.fake_smtp import FakeSmtp

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday


def test_the_winner_is_sent_to_the_rest_once_the_test_phase_has_run(backend, tmp_path, db_url, database):
    clock = FrozenClock(T0)
    config = make_config(tmp_path, db_url)
    with database.session() as session:
        for _ in range(40):
            make_contact(session, now=T0)
        main = campaigns.create_template(session, name="Main", channel="sms", body="Main", now=T0)
        a = campaigns.create_template(session, name="A", channel="sms", body="A text", now=T0)
        b = campaigns.create_template(session, name="B", channel="sms", body="B text", now=T0)
        campaign = campaigns.create_campaign(session, name="Test", channel="sms", template_id=main.id, now=T0)
        set_ab_test(session, campaign.id, variants=[VariantSpec("A", a.id), VariantSpec("B", b.id)],
                    test_percent=50, metric="click_rate", wait_hours=2)
        run = campaigns.send_campaign(session, campaign.id, now=T0, channel_description="scripted://test",
                                      dry_run=False)
    make_dispatcher(database, ScriptedChannel(), clock, batch_size=100).dispatch_due()
    with database.session() as session:
        tested = [m for m in messages_of(session, run.id) if m.status == "sent"]
        b_id = session.scalar(select(CampaignVariant.id).where(CampaignVariant.label == "B"))
        clicker = next(m for m in tested if m.variant_id == b_id)
        session.add(MessageEvent(message_id=clicker.id, type="clicked", occurred_at=T0 + timedelta(minutes=9),
                                 detail={"machine": False}))
        session.commit()
    woken = []
    jobs.bind(jobs.JobContext(config, database, clock, wake=lambda: woken.append(1)))
    try:
        clock.advance(hours=1, minutes=59)
        assert jobs.decide_ab_tests() == 0 and not woken
        clock.advance(minutes=1)
        assert jobs.decide_ab_tests() == 1 and woken == [1]
        assert jobs.decide_ab_tests() == 0
    finally:
        jobs.bind(None)
    with database.session() as session:
        rows = messages_of(session, run.id)
        assert not [m for m in rows if m.status == "waiting"]
        assert {m.variant_id for m in rows if m.status == "pending"} == {b_id}


def test_the_weekly_report_is_mailed_to_the_chosen_users_only(tmp_path, db_url, database):
    clock = FrozenClock(T0)
    with FakeSmtp() as smtp:
        config = make_config(tmp_path, db_url, HERALD_CHANNELS_EMAIL_URL=smtp.url + "?from=herald@shop.example",
                             HERALD_REPORTS_WEEKLY_TO="Boss@Shop.example, typo@shop.example")
        with database.session() as session:
            session.add(User(email="boss@shop.example", name="Boss", password_hash="x", role="analyst",
                             created_at=T0))
            buyer = make_contact(session, now=T0)
            template = campaigns.create_template(session, name="T", channel="sms", body="Hi", now=T0)
            campaign = campaigns.create_campaign(session, name="Double 11", channel="sms", template_id=template.id,
                                                 now=T0)
            campaigns.send_campaign(session, campaign.id, now=T0 - timedelta(days=3),
                                    channel_description="scripted://test", dry_run=False)
            message = session.scalar(select(Message).where(Message.contact_id == buyer.id))
            session.add(Conversion(contact_id=buyer.id, order_id="D11", amount=Decimal("120.00"), currency="USD",
                                   amount_base=Decimal("120.00"), occurred_at=T0 - timedelta(days=2),
                                   campaign_id=campaign.id, message_id=message.id, attribution="receipt",
                                   source="api", created_at=T0))
            session.commit()
        jobs.bind(jobs.JobContext(config, database, clock))
        try:
            assert jobs.send_weekly_report() == "sent 1, refused 0"
        finally:
            jobs.bind(None)
        [received] = smtp.messages
        assert received.rcpt_tos == ["boss@shop.example"]
        assert received.message["Subject"] == "Herald weekly report 2026-11-09 – 2026-11-15"
        text = received.message.get_body(("plain",)).get_content()
        assert "Double 11" in text and "Conversions: 1" in text and "Revenue: 120.00 USD" in text
        assert "/reports?from=2026-11-09&to=2026-11-15" in text


def test_no_weekly_report_without_recipients(tmp_path, db_url, database):
    jobs.bind(jobs.JobContext(make_config(tmp_path, db_url), database, FrozenClock(T0)))
    try:
        assert jobs.send_weekly_report() == "off"
    finally:
        jobs.bind(None)
