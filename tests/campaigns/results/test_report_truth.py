"""The report against a truth table: a scripted campaign whose every number is computed here by hand.

Fixed clock; 60 contacts on a list (plus one without a phone, and one outsider who is not on it);
holdout 10%; two variants A/B by equal weight; scripted refusals, deliveries, a carrier failure,
person and machine clicks, an unsubscribe, a reply; conversions recorded through the real
attribution (campaigns/results/conversions.py): a duplicate order, one out of the window, one by the outsider
(unattributable), one in euros, one by campaign code, one by a held-out contact. Fixed costs in two
currencies. On SQLite and PostgreSQL. The expected values below are computed from the script, not
read from the report.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
from sqlalchemy import select

from campaigns import apply_channel_events, create_campaign, create_template, send_campaign, unsubscribe_recipient
from campaigns.ab_test import VariantSpec, set_ab_test
from campaigns.audience.holdout import HOLDOUT_HASH, VARIANT_HASH, python_bucket
from campaigns.models import CampaignCost, CampaignVariant, Message, MessageEvent
from campaigns.responses.inbox_models import Reply
from campaigns.results import report_queries as rq
from campaigns.results.conversions import ConversionSettings, conversion_input, record_conversions
from campaigns.results.report_campaign import campaign_report
from campaigns.results.report_export import report_csv, report_xlsx
from campaigns.results.report_settings import ReportSettings
from channels import Accepted, ChannelEvent
from core.clock import FrozenClock
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher, make_list, messages_of, refuse

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RATES = {"EUR": Decimal("1.10")}
SETTINGS = ConversionSettings(currency="USD", rates=RATES, time_zone="UTC", region="US")
PRICE = Decimal("0.0079")  # the dispatcher's estimate per SMS segment (tests/campaigns/factories.py)


def test_every_number_in_the_report_matches_the_truth_table(backend, session, database):
    clock = FrozenClock(T0)
    members = [make_contact(session, now=T0) for _ in range(60)]
    for n, c in enumerate(members):
        c.value_tier = "A" if n % 3 == 0 else "B"
        c.region = "Beijing" if n % 2 == 0 else "Shanghai"
    no_phone = make_contact(session, now=T0, phone=None)
    outsider = make_contact(session, now=T0)
    session.commit()
    audience = make_list(session, "Spring", [*members, no_phone], now=T0)
    main = create_template(session, name="Main", channel="sms", body="Main", now=T0)
    a = create_template(session, name="A", channel="sms", body="A: hi {{ contact.first_name }}", now=T0)
    b = create_template(session, name="B", channel="sms", body="B: hello {{ contact.first_name }}", now=T0)
    campaign = create_campaign(session, name="Spring", channel="sms", template_id=main.id, list_id=audience.id, now=T0)
    campaign.code = "SPRING"
    session.add_all([CampaignCost(campaign_id=campaign.id, label="Creative", amount=Decimal("5.00"), currency="USD",
                                  created_at=T0),
                     CampaignCost(campaign_id=campaign.id, label="Gifts", amount=Decimal("10.00"), currency="EUR",
                                  created_at=T0)])
    session.commit()
    set_ab_test(session, campaign.id, variants=[VariantSpec("A", a.id), VariantSpec("B", b.id)], holdout_percent=10)

    # ---- the groups, by hand from the published hash
    held = [c for c in members if python_bucket(c.id, campaign.id, HOLDOUT_HASH) < 10]
    treated = [c for c in members if c not in held]
    variant_of = {c.id: "A" if python_bucket(c.id, campaign.id, VARIANT_HASH) < 50 else "B" for c in treated}
    assert held and len(treated) >= 45 and set(variant_of.values()) == {"A", "B"}
    refused, euro_priced = treated[:2], treated[2]
    sent = treated[2:]
    failed_after, clickers, machine_only = sent[0], sent[1:6], sent[6]
    unsubscriber, replier = sent[7], sent[8]
    delivered = [c for c in sent if c is not failed_after]

    # ---- the script
    run = send_campaign(session, campaign.id, now=T0, channel_description="scripted://test", dry_run=False)
    answers = {c.phone: refuse(permanent=True, code="21211", reason="Invalid 'To' Phone Number") for c in refused}
    answers[euro_priced.phone] = lambda m: Accepted(m.message_id, "SMeur", segments=1, cost=Decimal("0.05"),
                                                    currency="EUR")
    make_dispatcher(database, ScriptedChannel(answers), clock, batch_size=1000).dispatch_due()
    msg = {m.contact_id: m for m in messages_of(session, run.id)}
    clock.advance(minutes=30)
    apply_channel_events(session, [ChannelEvent("delivered", message_id=msg[c.id].id) for c in delivered]
                         + [ChannelEvent("failed", message_id=msg[failed_after.id].id, error_code="30003",
                                         error_reason="Unreachable destination handset")], now=clock.now())
    for n, c in enumerate(clickers):
        session.add(MessageEvent(message_id=msg[c.id].id, type="clicked", occurred_at=T0 + timedelta(hours=1),
                                 detail={"machine": False, "link_id": 1}))
        if n == 0:  # clicked twice: one clicker, two clicks
            session.add(MessageEvent(message_id=msg[c.id].id, type="clicked", occurred_at=T0 + timedelta(hours=2),
                                     detail={"machine": False, "link_id": 1}))
    session.add(MessageEvent(message_id=msg[machine_only.id].id, type="clicked", occurred_at=T0 + timedelta(hours=1),
                             detail={"machine": True}))
    session.add(Reply(provider="twilio", provider_id="SMreply1", contact_id=replier.id, message_id=msg[replier.id].id,
                      from_number=replier.phone, body="YES", received_at=T0 + timedelta(hours=3)))
    session.commit()
    unsubscribe_recipient(session, msg[unsubscriber.id].id, now=T0 + timedelta(hours=4))

    buyer1, buyer2, late, coded, twice = clickers[0], delivered[10], delivered[11], delivered[12], clickers[1]
    orders = [  # (order id, contact, amount, currency, when, code)
        ("o1", buyer1, "100.00", "USD", T0 + timedelta(hours=5), ""),
        ("o1", buyer1, "100.00", "USD", T0 + timedelta(hours=5), ""),  # duplicate: ignored
        ("o2", buyer2, "50.00", "EUR", T0 + timedelta(days=1), ""),  # 55.00 USD, receipt
        ("o3", late, "30.00", "USD", T0 + timedelta(days=8), ""),  # out of the 7-day window: none
        ("o4", outsider, "20.00", "USD", T0 + timedelta(days=1), ""),  # never messaged: none
        ("o5", coded, "10.00", "USD", T0 + timedelta(days=3), "SPRING"),  # code
        ("o6", twice, "20.00", "USD", T0 + timedelta(days=2), ""),  # click
        ("o7", twice, "30.00", "USD", T0 + timedelta(days=2, hours=1), ""),  # click
        ("o8", held[0], "40.00", "USD", T0 + timedelta(days=2), ""),  # held out: none, but counts in the holdout
    ]
    later = T0 + timedelta(days=9)
    rows = [conversion_input({"order_id": o, "email": c.email, "amount": amt, "currency": cur,
                              "occurred_at": at.isoformat(), "campaign_code": code}, SETTINGS, now=later)
            for o, c, amt, cur, at, code in orders]
    recorded = record_conversions(session, rows, SETTINGS, now=T0 + timedelta(days=9))
    assert (recorded.recorded, recorded.duplicates) == (8, 1)

    # ---- hand-computed truth
    n_treated, n_sent = len(treated), len(sent)
    message_cost = PRICE * (n_sent - 1) + Decimal("0.05") * RATES["EUR"]
    fixed_cost = Decimal("5.00") + Decimal("10.00") * RATES["EUR"]
    cost = message_cost + fixed_cost
    attributed = {"click": (3, Decimal("150.00")), "receipt": (1, Decimal("55.00")), "code": (1, Decimal("10.00"))}
    revenue = Decimal("215.00")

    report = campaign_report(session, campaign.id, ReportSettings("USD", RATES))
    assert (report.total.audience, report.count("suppressed"), report.count("held_out"), report.count("capped")) == (
        61, 1, len(held), 0)
    assert (report.total.sent, report.total.delivered, report.total.failed) == (n_sent, len(delivered), 3)
    assert [(f.code, f.count) for f in report.failures] == [("21211", 2), ("30003", 1)]
    assert (report.total.opened, report.total.clicked, report.replied, report.total.unsubscribed) == (0, 5, 1, 1)
    assert (report.total.conversions, report.total.converters, report.total.revenue) == (5, 4, revenue)
    assert report.attribution == attributed
    assert report.cost_by_currency == {"USD": PRICE * (n_sent - 1), "EUR": Decimal("0.05")}
    assert (report.variable_cost, report.fixed_cost, report.cost) == (message_cost, fixed_cost, cost)
    assert report.roi == ((revenue - cost) / cost).quantize(Decimal("0.0001"))
    assert report.cost_per_conversion == (cost / 5).quantize(Decimal("0.01"))
    assert report.funnel() == [("Audience", 61), ("Reachable", n_treated), ("Sent", n_sent),
                               ("Delivered", len(delivered)), ("Clicked", 5), ("Converted", 4)]

    # the holdout: everyone's purchases in the 7 days from the run's start, attributed or not
    h = report.holdout
    assert (h.sent.people, h.sent.buyers, h.sent.revenue) == (n_sent, 4, Decimal("215.00"))
    assert (h.held_out.people, h.held_out.buyers, h.held_out.revenue) == (len(held), 1, Decimal("40.00"))
    per_head = Decimal("215.00") / n_sent - Decimal("40.00") / len(held)
    assert h.incremental_revenue == (per_head * n_sent).quantize(Decimal("0.01"))
    assert h.incremental_low < h.incremental_revenue < h.incremental_high
    assert not h.revenue_per_head.significant and not h.conversion_rate.significant
    assert h.incremental_roi == ((h.incremental_revenue - cost) / cost).quantize(Decimal("0.0001"))

    # the one-pass figures equal the separate per-run queries used for campaigns with several runs
    assert rq.holdout_outcomes(session, campaign_id=campaign.id, window_days=7) == {"sent": h.sent,
                                                                                    "held_out": h.held_out}
    assert rq.time_series(session, campaign_id=campaign.id) == report.series

    # per variant: recipients, clicks and attributed revenue of each
    by_label = {s.key: s for s in report.by_variant}
    for label in ("A", "B"):
        mine = [c for c in sent if variant_of[c.id] == label]
        assert by_label[label].sent == len(mine)
        assert by_label[label].clicked == sum(c in clickers for c in mine)
        expected_revenue = sum((amt for c, amt in ((buyer1, 100), (buyer2, 55), (coded, 10), (twice, 50))
                                if c in mine), 0)
        assert by_label[label].revenue == Decimal(expected_revenue)
    assert by_label["—"].audience == len(held) + 1  # held out and suppressed: no variant
    assert report.ab is not None and report.ab.metric == "click rate" and report.ab.difference is not None
    # per segment: the tiers add up to the whole
    tiers = {s.key: s for s in report.by_segment["value_tier"]}
    assert tiers["A"].sent == sum(1 for c in sent if members.index(c) % 3 == 0)
    assert sum(s.sent for s in tiers.values()) == n_sent
    # the series: everything happened on the first day, by the hour
    assert report.series_grain == "hour"
    assert report.series["2026-03-02 09"] == {"sent": n_sent, "delivered": len(delivered), "clicked": 0,
                                              "conversions": 0}
    assert report.series["2026-03-02 10"]["clicked"] == 5 and report.series["2026-03-02 11"]["clicked"] == 1
    assert sum(p["sent"] for p in report.series.values()) == n_sent
    assert sum(p["delivered"] for p in report.series.values()) == len(delivered)
    assert sum(p["clicked"] for p in report.series.values()) == 6
    assert sum(p["conversions"] for p in report.series.values()) == 5

    # the page's numbers, the API's and the exports are the same values
    data = report.to_dict()
    assert data["summary"]["revenue"] == "215.00" and data["summary"]["cost"] == str(cost.quantize(Decimal("0.0001")))
    assert data["summary"]["roi"] == str(report.roi)
    summary_csv = list(csv.reader(io.StringIO(report_csv(report, "summary"))))
    assert dict(summary_csv[1:]) == {label: "" if v is None else str(v) for _, label, v in report.summary()}
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx(report)))
    sheet = book["Summary"]
    values = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    assert Decimal(str(values["Revenue"])) == Decimal("215.00") and values["Sent"] == n_sent
    assert set(session.scalars(select(CampaignVariant.label))) == {"A", "B"}
    assert session.scalar(select(Message.id).where(Message.status == "pending")) is None
