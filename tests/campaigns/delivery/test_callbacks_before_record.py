"""A provider that answers fast: Twilio's signed status callbacks reach Herald's webhook before the dispatcher
has recorded the send. The send's own facts (segments, cost, sent_at) must land on the row whatever status
the callbacks already moved it to, so the report's cost and segments do not depend on who came first."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from audiences import create_contact
from campaigns import campaign_report
from campaigns.delivery.costs import create_rate_plan
from campaigns.delivery.sender import make_dispatcher
from campaigns.models import Message, RatePlanUsage
from campaigns.results.report_settings import ReportSettings
from channels import Outgoing, RateLimiter, SendResult, open_channel
from core.clock import FrozenClock
from tests.campaigns.factories import start_campaign
from tests.conftest import make_config
from tests.fakes.fake_twilio import FakeTwilio
from web.app import create_app

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
# 71 characters of Chinese (UCS-2): 2 segments of 67.
TWO_SEGMENTS = "【Herald】" + "春季会员日全场八折，" * 6 + "回复TD退订"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def config(tmp_path, db_url, fake, port):
    # One request in flight: with more, the sender opens copies of the channel from its URL, and those bypass the
    # wrapper below that posts each batch's callbacks before send() returns (tests/campaigns/delivery/
    # test_in_flight.py covers requests in flight).
    return make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL=fake.channel_url(),
                       HERALD_BASE_URL=f"http://127.0.0.1:{port}", HERALD_APP_CURRENCY="CNY",
                       HERALD_SENDER_CONCURRENCY="1")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def herald(config, database, clock, port) -> Iterator[str]:
    """Herald's web app on the port its base_url names, so the fake's callbacks reach the real webhook."""
    server = make_server("127.0.0.1", port, create_app(config, database=database, clock=clock), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


class AnswersBeforeTheRecord:
    """The real Twilio channel, but the provider's callbacks for each batch are posted (and handled by Herald)
    before send() returns to the dispatcher: `sent` for even-numbered messages, `delivered` for the rest."""

    def __init__(self, real, fake: FakeTwilio) -> None:
        self.real, self.fake = real, fake
        self.name, self.rate, self.dry_run = real.name, real.rate, getattr(real, "dry_run", False)
        self.max_length = real.max_length  # the dispatcher checks each text against it before sending

    def send(self, batch: Sequence[Outgoing]) -> list[SendResult]:
        results = self.real.send(batch)
        to_of = {m.message_id: m.to for m in batch}
        for message_id in to_of:
            status = "sent" if message_id % 2 == 0 else "delivered"
            assert set(self.fake.send_status_callbacks(status, only=[to_of[message_id]])) == {204}
        return results

    def close(self) -> None:
        self.real.close()

    def describe(self) -> str:
        return self.real.describe()


def test_cost_and_segments_land_on_rows_a_callback_moved_before_the_send_was_recorded(
        backend, herald, fake, session, database, config, clock):
    for n in range(50):
        create_contact(session, default_region="CN", now=T0, phone=f"+861380013{n:04d}", first_name="芳")
    session.commit()
    create_rate_plan(session, channel="sms", country_prefix="+86", unit_price="0.05", currency="CNY",
                     monthly_free_quota=0, effective_from=T0 - timedelta(days=30), now=T0)
    campaign, run = start_campaign(session, now=T0, body=TWO_SEGMENTS)
    channel = AnswersBeforeTheRecord(open_channel(str(config.channels["sms"].url)), fake)
    try:
        make_dispatcher(config, database, {"sms": channel}, RateLimiter("memory://"), clock).dispatch_due()
    finally:
        channel.close()

    session.expire_all()
    rows = list(session.scalars(select(Message).where(Message.run_id == run.id)))
    session.rollback()
    assert len(rows) == 50
    assert {m.status for m in rows} == {"sent", "delivered"}  # the callbacks' word stands
    assert [(m.segments, m.cost, m.currency) for m in rows if (m.segments, m.cost, m.currency)
            != (2, Decimal("0.1"), "CNY")] == []
    assert all(m.sent_at is not None and m.provider_id for m in rows)
    report = campaign_report(session, campaign.id, ReportSettings("CNY"))
    session.rollback()
    assert report.variable_cost == Decimal("5.00")
    assert sum(m.segments for m in rows) == 100


def test_the_free_quota_is_metered_by_what_the_rows_record(backend, herald, fake, session, database, config, clock):
    for n in range(10):
        create_contact(session, default_region="CN", now=T0, phone=f"+861390013{n:04d}", first_name="芳")
    session.commit()
    create_rate_plan(session, channel="sms", country_prefix="+86", unit_price="0.05", currency="CNY",
                     monthly_free_quota=6, effective_from=T0 - timedelta(days=30), now=T0)
    _, run = start_campaign(session, now=T0, body=TWO_SEGMENTS)
    channel = AnswersBeforeTheRecord(open_channel(str(config.channels["sms"].url)), fake)
    try:
        make_dispatcher(config, database, {"sms": channel}, RateLimiter("memory://"), clock).dispatch_due()
    finally:
        channel.close()

    session.expire_all()
    rows = list(session.scalars(select(Message).where(Message.run_id == run.id)))
    used = session.scalar(select(RatePlanUsage.units))
    session.rollback()
    assert used == sum(m.segments or 0 for m in rows) == 20
    # 6 of the 20 segments were free: 14 x 0.05
    assert sum((m.cost for m in rows if m.cost is not None), Decimal(0)) == Decimal("0.70")
