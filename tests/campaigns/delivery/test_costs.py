"""Cost model: rate plans by channel, provider and country prefix, the monthly free quota, provider prices
replacing estimates, and fixed campaign costs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from campaigns import apply_channel_events
from campaigns.delivery.costs import add_fixed_cost, create_rate_plan, end_rate_plan, fixed_costs_of, remove_fixed_cost
from campaigns.models import RatePlanUsage
from channels import ChannelEvent
from core.clock import FrozenClock
from core.errors import Invalid, NotFound
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher, messages_of, start_campaign

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_sms_is_priced_by_prefix_and_provider_after_the_monthly_free_quota(backend, session, database):
    clock = FrozenClock(T0)
    china = [make_contact(session, now=T0, phone=f"+86138001380{n:02d}") for n in range(5)]
    us = make_contact(session, now=T0, phone="+12015550123")
    elsewhere = make_contact(session, now=T0, phone="+442071838750")
    create_rate_plan(session, channel="sms", country_prefix="+86", unit_price="0.05", currency="cny",
                     monthly_free_quota=3, effective_from=T0 - timedelta(days=30), now=T0)
    create_rate_plan(session, channel="sms", provider="scripted", country_prefix="+1", unit_price="0.0079",
                     currency="USD", effective_from=T0 - timedelta(days=30), now=T0)
    create_rate_plan(session, channel="sms", country_prefix="+1", unit_price="9", currency="USD",  # any provider:
                     effective_from=T0 - timedelta(days=30), now=T0)  # the provider's own plan wins
    old = create_rate_plan(session, channel="sms", unit_price="1", currency="USD",
                           effective_from=T0 - timedelta(days=60), now=T0)
    end_rate_plan(session, old.id, now=T0 - timedelta(days=1))  # ended: the flat configured price applies instead
    _, run = start_campaign(session, now=T0, body="Hi {{ contact.first_name }}")
    make_dispatcher(database, ScriptedChannel(), clock, batch_size=1000).dispatch_due()
    by_contact = {m.contact_id: m for m in messages_of(session, run.id)}
    china_costs = sorted((by_contact[c.id].cost, by_contact[c.id].currency) for c in china)
    assert china_costs == [(Decimal("0"), "CNY")] * 3 + [(Decimal("0.05"), "CNY")] * 2
    assert (by_contact[us.id].cost, by_contact[us.id].currency) == (Decimal("0.0079"), "USD")
    assert (by_contact[elsewhere.id].cost, by_contact[elsewhere.id].currency) == (Decimal("0.0079"), "USD")  # flat
    assert session.scalar(select(RatePlanUsage.units)) == 5

    # the rest of the month is charged in full; a new month starts a new quota
    more = [make_contact(session, now=T0, phone=f"+86139001390{n:02d}") for n in range(2)]
    _, run2 = start_campaign(session, now=T0, body="Again")
    make_dispatcher(database, ScriptedChannel(), clock, batch_size=1000).dispatch_due()
    costs = {m.contact_id: m.cost for m in messages_of(session, run2.id)}
    assert {costs[c.id] for c in more} == {Decimal("0.05")}
    clock.advance(days=15)  # December
    _, run3 = start_campaign(session, now=clock.now(), body="December")
    make_dispatcher(database, ScriptedChannel(), clock, batch_size=1000).dispatch_due()
    december = sorted(m.cost for m in messages_of(session, run3.id) if m.address.startswith("+86"))
    assert december == [Decimal("0")] * 3 + [Decimal("0.05")] * 4
    assert sorted(session.scalars(select(RatePlanUsage.month))) == ["2026-11", "2026-12"]


def test_the_providers_price_replaces_the_estimate(backend, session, database):
    clock = FrozenClock(T0)
    buyer = make_contact(session, now=T0, phone="+8613800138000")
    create_rate_plan(session, channel="sms", country_prefix="+86", unit_price="0.05", currency="CNY",
                     effective_from=T0 - timedelta(days=1), now=T0)
    _, run = start_campaign(session, now=T0)
    make_dispatcher(database, ScriptedChannel(), clock).dispatch_due()
    (message,) = messages_of(session, run.id)
    assert (message.cost, message.currency, message.contact_id) == (Decimal("0.05"), "CNY", buyer.id)
    apply_channel_events(session, [ChannelEvent("delivered", message_id=message.id, price=Decimal("0.0450"),
                                                currency="CNY")], now=T0)
    (message,) = messages_of(session, run.id)
    assert (message.cost, message.currency) == (Decimal("0.045"), "CNY")


def test_rate_plans_and_fixed_costs_are_checked_and_name_the_field(session):
    bad = [
        (dict(channel="fax"), "channel"), (dict(country_prefix="86"), "country_prefix"),
        (dict(unit_price="five"), "unit_price"), (dict(unit_price="-1"), "unit_price"),
        (dict(currency="yuan"), "currency"), (dict(monthly_free_quota=-5), "monthly_free_quota"),
        (dict(effective_to=T0 - timedelta(days=1)), "effective_to"),
        (dict(channel="email", country_prefix="+86"), "country_prefix"),
    ]
    for override, field in bad:
        values = dict(channel="sms", unit_price="0.05", currency="CNY", effective_from=T0, now=T0) | override
        with pytest.raises(Invalid) as caught:
            create_rate_plan(session, **values)
        assert caught.value.field == field
    with pytest.raises(NotFound):
        add_fixed_cost(session, 404, label="Gifts", amount="10", currency="CNY", now=T0)


def test_fixed_costs_are_added_and_removed(session):
    from campaigns import create_campaign, create_template

    template = create_template(session, name="T", channel="sms", body="Hi", now=T0)
    campaign = create_campaign(session, name="Gala", channel="sms", template_id=template.id, now=T0)
    gifts = add_fixed_cost(session, campaign.id, label=" Gifts ", amount="1,200.5", currency="cny", now=T0)
    add_fixed_cost(session, campaign.id, label="Agency", amount="300", currency="USD", now=T0)
    assert [(c.label, c.amount, c.currency) for c in fixed_costs_of(session, campaign.id)] == [
        ("Gifts", Decimal("1200.50"), "CNY"), ("Agency", Decimal("300.00"), "USD")]
    with pytest.raises(Invalid) as caught:
        add_fixed_cost(session, campaign.id, label="", amount="1", currency="CNY", now=T0)
    assert caught.value.field == "label"
    remove_fixed_cost(session, campaign.id, gifts.id)
    with pytest.raises(NotFound):
        remove_fixed_cost(session, campaign.id, gifts.id)
    assert [c.label for c in fixed_costs_of(session, campaign.id)] == ["Agency"]
