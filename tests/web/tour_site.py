"""The site the browser tours walk: the demo data plus what a working week leaves behind, served on loopback.

`seed_tour(database, config)` writes a completed campaign with deliveries, a click and a conversion, a
running one, a scheduled one, an event notice, a reply, a segment, a custom field and a suppressed
address, and returns the ids the tours visit. `serve(app)` serves an app on a free loopback port. The
fixtures `config` (a second email sender, so Settings shows its Senders table) and `tour_server` (seeded,
then served) are imported by the tour tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

import campaigns
from audiences import Contact, add_suppressions, create_custom_field, create_segment
from campaigns.delivery.outgoing import unsubscribe_url
from campaigns.demo import seed_demo
from campaigns.firing import schedule_campaign, set_campaign_schedule
from campaigns.models import Conversion, Message, MessageEvent
from campaigns.notices import create_event_notice
from campaigns.queries import finish_idle_runs
from campaigns.schedules import Schedule
from channels.inbound import InboundSms
from core.users import create_user
from tests.campaigns.factories import ScriptedChannel, make_dispatcher
from tests.conftest import make_config
from web.app import create_app

PASSWORD = "a long password"


class RealClock:
    """The served app runs on the real clock; the dispatcher takes the same interface."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def seed_tour(database, config) -> dict[str, object]:
    """Demo data plus a campaign in every state, a reply and a conversion; returns the ids the tour visits."""
    now = datetime.now(UTC)
    with database.session() as session:
        create_user(session, email="admin@example.com", password=PASSWORD, role="admin", name="Lin Mei")
        demo = seed_demo(session, now=now, contacts=60)
        contact = session.scalars(select(Contact).where(Contact.phone.is_not(None)).order_by(Contact.id)).first()
        contact_id = contact.id
        segment = create_segment(session, name="A 或 B", rules={"any": [
            {"field": "value_tier", "op": "eq", "value": "A"}, {"field": "value_tier", "op": "eq", "value": "B"}]},
            now=now)
        field = create_custom_field(session, key="member_level", label="会员等级 / Member level", type="choice",
                                    choices=["金卡", "银卡"], now=now)
        add_suppressions(session, ["blocked@example.com"], channel="email", reason="asked by phone",
                         default_region="US", now=now)

        done = campaigns.create_campaign(session, name="Spring sale SMS", channel="sms",
                                         template_id=demo.sms_template_id, list_id=demo.list_id, now=now)
        done_run = campaigns.send_campaign(session, done.id, now=now, channel_description="scripted://tour",
                                           dry_run=False)
        running = campaigns.create_campaign(session, name="Weekend email", channel="email",
                                            template_id=demo.email_template_id, list_id=demo.list_id, now=now)
        campaigns.send_campaign(session, running.id, now=now, channel_description="scripted://tour", dry_run=False)
        scheduled = campaigns.create_campaign(session, name="Launch day", channel="sms",
                                              template_id=demo.sms_template_id, list_id=demo.list_id, now=now)
        set_campaign_schedule(session, scheduled.id, Schedule.from_dict(
            {"kind": "at", "send_at": f"{now.year + 1}-03-14T09:00", "time_zone": "Asia/Shanghai"},
            today=now.date()), now=now)
        schedule_campaign(session, scheduled.id, now=now)
        notice = create_event_notice(session, name="Gate change B2", channel="sms", template_id=demo.sms_template_id,
                                     list_id=demo.list_id, operational=True, now=now)
        campaigns.send_campaign(session, notice.id, now=now, channel_description="scripted://tour", dry_run=False)
        ids = {"contact": contact_id, "segment": segment.id, "draft": demo.campaign_id, "done": done.id,
               "running": running.id, "scheduled": scheduled.id, "notice": notice.id,
               "template": demo.sms_template_id, "custom_field": field.id}
        done_run_id = done_run.id

    # Deliver the completed campaign (only that run: the others stay running) and finish it.
    with database.session() as session:
        for message in session.scalars(select(Message).where(Message.run_id != done_run_id)):
            message.not_before = now + timedelta(days=30)  # keep them queued while the dispatcher runs
        session.commit()
    make_dispatcher(database, ScriptedChannel(), RealClock(), batch_size=500).dispatch_due()
    with database.session() as session:
        finish_idle_runs(session, [done_run_id], now=now)
        sent = session.scalars(select(Message).where(Message.run_id == done_run_id, Message.status == "sent")
                               .order_by(Message.id)).all()
        assert sent, "the completed campaign delivered nothing"
        first = sent[0]
        session.add(MessageEvent(message_id=first.id, type="clicked", occurred_at=now + timedelta(minutes=5),
                                 detail={"machine": False}))
        session.add(Conversion(contact_id=first.contact_id, order_id="T1", amount=Decimal("88.00"), currency="USD",
                               amount_base=Decimal("88.00"), occurred_at=now + timedelta(hours=1),
                               campaign_id=ids["done"], message_id=first.id, attribution="click", source="api",
                               created_at=now))
        session.commit()
        ids["message"] = first.id
        ids["run"] = done_run_id
        phone = session.get(Contact, first.contact_id).phone
        campaigns.record_reply(session, InboundSms("twilio", "SMtour1", phone, "+15005550006", "几点开门？"),
                               config=config.replies, default_region="US", now=now)
    ids["unsubscribe"] = unsubscribe_url("", str(config.secret_key), int(ids["message"]))  # type: ignore[arg-type]
    return ids


@pytest.fixture
def config(tmp_path, db_url):
    """The test configuration plus a second email sender account, so Settings shows its Senders table."""
    (tmp_path / "config.toml").write_text(
        '[channels.email.senders.offers]\nfrom_address = "Shop Offers <offers@shop.example>"\nlabel = "Offers team"\n')
    return make_config(tmp_path, db_url)


@pytest.fixture
def tour_server(config, database) -> Iterator[tuple[str, dict[str, object]]]:
    ids = seed_tour(database, config)
    with serve(create_app(config, database=database)) as base:
        yield base, ids


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve the app on a free loopback port in a thread; yields its base URL."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="herald-tour-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(10)
