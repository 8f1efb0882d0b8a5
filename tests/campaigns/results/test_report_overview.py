"""The overview: campaigns of a period with their figures, grouped by channel, kind and month, and the dormant
contacts each brought back — every number against a small hand-made history, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from campaigns.delivery.costs import add_fixed_cost
from campaigns.models import Conversion, MessageEvent
from campaigns.results.report_overview import overview_report
from campaigns.results.report_settings import ReportSettings
from tests.campaigns import engagement_factories as f

T0 = datetime(2026, 10, 10, 9, 0, tzinfo=UTC)


def buy(session, contact, at, amount, campaign=None, message=None, order=None):
    session.add(Conversion(contact_id=contact.id, order_id=order or f"o{contact.id}-{at:%j%H}", amount=Decimal(amount),
                           currency="USD", amount_base=Decimal(amount), occurred_at=at,
                           campaign_id=campaign.id if campaign else None, message_id=message.id if message else None,
                           attribution="receipt" if campaign else "none", source="api", created_at=at))
    session.commit()


def test_the_overview_counts_campaigns_of_the_period_and_the_dormant_brought_back(backend, session):
    loyal, sleeper, quiet, other = (f.contact(session, now=T0) for _ in range(4))
    october = f.campaign(session, now=T0, channel="sms")
    november = f.campaign(session, now=T0, channel="email")
    old = f.campaign(session, now=T0, channel="sms")
    messages = {c.id: f.message(session, c, october, sent_at=T0, delivered_at=T0) for c in (loyal, sleeper, quiet)}
    f.message(session, other, november, sent_at=T0 + timedelta(days=25))  # sent, not delivered
    f.message(session, other, old, sent_at=T0 - timedelta(days=200))  # before the period
    session.add_all([MessageEvent(message_id=messages[loyal.id].id, type="clicked", occurred_at=T0,
                                  detail={"machine": False}),
                     MessageEvent(message_id=messages[loyal.id].id, type="clicked", occurred_at=T0,
                                  detail={"machine": False}),
                     MessageEvent(message_id=messages[quiet.id].id, type="clicked", occurred_at=T0,
                                  detail={"machine": True})])
    session.commit()
    buy(session, loyal, T0 - timedelta(days=30), "10.00")  # bought recently: not dormant
    buy(session, loyal, T0 + timedelta(days=1), "40.00", october, messages[loyal.id])
    buy(session, sleeper, T0 - timedelta(days=400), "99.00")  # long ago: dormant
    buy(session, sleeper, T0 + timedelta(days=2), "60.00", october, messages[sleeper.id])
    add_fixed_cost(session, october.id, label="Gifts", amount="20", currency="USD", now=T0)

    report = overview_report(session, start=T0 - timedelta(days=1), end=T0 + timedelta(days=60),
                             settings=ReportSettings("USD", dormant_days=180))
    assert [c.campaign_id for c in report.campaigns] == [november.id, october.id]  # newest first; old left out
    line = {c.campaign_id: c for c in report.campaigns}
    oc = line[october.id].figures
    assert (oc.audience, oc.sent, oc.delivered, oc.clicked, oc.conversions) == (3, 3, 3, 1, 2)
    assert (oc.revenue, oc.cost, oc.roi) == (Decimal("100.00"), Decimal("20"), Decimal("4.0000"))
    assert (line[october.id].dormant_sent, line[october.id].reactivated) == (2, 1)  # sleeper and quiet; sleeper back
    assert (line[november.id].figures.sent, line[november.id].figures.delivered) == (1, 0)
    assert (report.total.campaigns, report.total.sent, report.total.revenue) == (2, 4, Decimal("100.00"))
    assert [(g.key, g.campaigns) for g in report.by_channel] == [("email", 1), ("sms", 1)]
    assert [(g.key, g.sent) for g in report.by_month] == [("2026-10", 3), ("2026-11", 1)]
    assert report.to_dict()["total"]["revenue"] == "100.00"
    assert [t[0] for t in report.tables()] == ["campaigns", "channels", "kinds", "months", "retention"]
