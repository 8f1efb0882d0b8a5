"""The pre-send estimate counts the holdout apart and prices with the rate plans, and its numbers equal what
materialisation and dispatch then produce for the same campaign."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from campaigns import create_campaign, create_template, send_campaign
from campaigns.ab_test import set_holdout
from campaigns.audience.holdout import HOLDOUT_HASH, python_bucket
from campaigns.delivery.costs import create_rate_plan
from campaigns.estimate import estimate_campaign
from campaigns.models import RatePlanUsage
from core.clock import FrozenClock
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher, messages_of

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
FLAT = {"sms": Decimal("0.0079"), "email": Decimal("0.001")}  # make_dispatcher's configured prices
TWO_SEGMENTS = "Spring sale: " + "everything half price this weekend only, " * 4  # 173 GSM-7 characters


def _campaign(session, channel: str, *, holdout: int):
    if channel == "sms":
        template = create_template(session, name="T", channel="sms", body=TWO_SEGMENTS, now=T0)
    else:
        template = create_template(session, name="T", channel="email", subject="Hello", html="<p>Hi</p>", now=T0)
    campaign = create_campaign(session, name="Spring sale", channel=channel, template_id=template.id, now=T0)
    set_holdout(session, campaign.id, holdout_percent=holdout)
    return campaign


def _drain(dispatcher) -> None:
    """Several small batches, so the free quota is taken across them as a real send does."""
    while dispatcher.dispatch_due():
        pass


def _sent_costs(rows) -> dict[str, Decimal]:
    costs: dict[str, Decimal] = {}
    for m in rows:
        if m.status == "sent":
            costs[m.currency] = costs.get(m.currency, Decimal("0")) + m.cost
    return costs


def _estimated_costs(estimate) -> dict[str, Decimal]:
    costs: dict[str, Decimal] = {}
    for line in estimate.pricing:
        if line.units:
            costs[line.currency] = costs.get(line.currency, Decimal("0")) + line.cost
    return costs


def test_sms_estimate_equals_what_the_send_produces(backend, session, database):
    china = [make_contact(session, now=T0, phone=f"+8613800138{n:03d}") for n in range(40)]
    china_mobile = [make_contact(session, now=T0, phone=f"+8613900139{n:03d}") for n in range(10)]
    us = [make_contact(session, now=T0, phone=f"+1201555{n:04d}") for n in range(15)]
    uk = [make_contact(session, now=T0, phone=f"+4420718{n:05d}") for n in range(5)]  # no plan: the flat price
    make_contact(session, now=T0, phone=None)  # no address: excluded, never held out
    china_plan = create_rate_plan(session, channel="sms", country_prefix="+86", unit_price="0.05", currency="CNY",
                                  monthly_free_quota=30, effective_from=T0 - timedelta(days=30), now=T0)
    create_rate_plan(session, channel="sms", country_prefix="+86139", unit_price="0.04", currency="CNY",  # longer
                     effective_from=T0 - timedelta(days=30), now=T0)  # prefix wins for these ten
    create_rate_plan(session, channel="sms", provider="scripted", country_prefix="+1", unit_price="0.0070",
                     currency="USD", effective_from=T0 - timedelta(days=30), now=T0)
    create_rate_plan(session, channel="sms", provider="other", country_prefix="+1", unit_price="9", currency="USD",
                     effective_from=T0 - timedelta(days=30), now=T0)  # another provider's plan: never used
    session.add(RatePlanUsage(plan_id=china_plan.id, month="2026-11", units=12))  # 18 free segments left
    session.commit()
    campaign = _campaign(session, "sms", holdout=20)
    everyone = china + china_mobile + us + uk
    held = {c.id for c in everyone if python_bucket(c.id, campaign.id, HOLDOUT_HASH) < 20}
    assert held and len(held) < len(everyone)

    estimate = estimate_campaign(session, campaign.id, now=T0, price=FLAT["sms"], currency="USD", rate="100/second",
                                 provider="scripted")
    assert estimate.held_out == len(held)
    assert estimate.sendable == len(everyone) - len(held)
    assert estimate.excluded == {"no_address": 1}
    assert estimate.audience == len(everyone) + 1
    assert estimate.segments_per_message == Decimal("2.00")
    china_line = next(line for line in estimate.pricing if line.plan_id == china_plan.id)
    assert china_line.free_units == 18
    flat = next(line for line in estimate.pricing if line.plan_id is None)
    assert flat.recipients == len([c for c in uk if c.id not in held])

    run = send_campaign(session, campaign.id, now=T0, channel_description="scripted://test", dry_run=False)
    _drain(make_dispatcher(database, ScriptedChannel(), FrozenClock(T0), batch_size=7))
    rows = messages_of(session, run.id)
    statuses = Counter(m.status for m in rows)
    assert statuses == {"sent": estimate.sendable, "held_out": estimate.held_out, "suppressed": 1}
    assert sum(m.segments for m in rows if m.status == "sent") == estimate.segments
    assert _sent_costs(rows) == _estimated_costs(estimate)
    assert set(_estimated_costs(estimate)) == {"CNY", "USD"}
    assert estimate.cost == _estimated_costs(estimate)["USD"]  # mixed currencies: the total is the configured one's


def test_email_estimate_uses_the_plan_and_its_free_quota(backend, session, database):
    people = [make_contact(session, now=T0) for _ in range(30)]
    make_contact(session, now=T0, email=None)
    create_rate_plan(session, channel="email", unit_price="0.002", currency="EUR", monthly_free_quota=10,
                     effective_from=T0 - timedelta(days=1), now=T0)
    campaign = _campaign(session, "email", holdout=10)
    held = {c.id for c in people if python_bucket(c.id, campaign.id, HOLDOUT_HASH) < 10}

    estimate = estimate_campaign(session, campaign.id, now=T0, price=FLAT["email"], currency="USD", rate="10/second")
    assert (estimate.sendable, estimate.held_out) == (30 - len(held), len(held))
    assert estimate.currency == "EUR"
    assert estimate.cost == Decimal("0.002") * (30 - len(held) - 10)
    assert estimate.to_dict()["pricing"][0]["free_units"] == 10

    run = send_campaign(session, campaign.id, now=T0, channel_description="scripted://test", dry_run=False)
    _drain(make_dispatcher(database, ScriptedChannel(), FrozenClock(T0), batch_size=4))
    rows = messages_of(session, run.id)
    assert _sent_costs(rows) == {"EUR": estimate.cost}


def test_without_a_plan_the_configured_price_applies(backend, session, database):
    people = [make_contact(session, now=T0) for _ in range(8)]
    create_rate_plan(session, channel="sms", country_prefix="+86", unit_price="0.05", currency="CNY",
                     effective_from=T0 - timedelta(days=1), now=T0)  # none of them is in China
    campaign = _campaign(session, "sms", holdout=0)
    estimate = estimate_campaign(session, campaign.id, now=T0, price=FLAT["sms"], currency="USD", rate="10/second")
    assert (estimate.sendable, estimate.held_out, estimate.segments) == (8, 0, 16)
    assert (estimate.cost, estimate.currency) == (FLAT["sms"] * 16, "USD")
    run = send_campaign(session, campaign.id, now=T0, channel_description="scripted://test", dry_run=False)
    make_dispatcher(database, ScriptedChannel(), FrozenClock(T0)).dispatch_due()
    assert _sent_costs(messages_of(session, run.id)) == {"USD": estimate.cost}
    assert len(people) == 8
