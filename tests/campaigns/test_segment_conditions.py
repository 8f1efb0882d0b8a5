"""Segment conditions campaigns registers into audiences: messages received, opened, clicked within N days
(of one campaign or any; machine opens not counted), purchases and spend; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from audiences import SegmentRuleInvalid, count_segment, explain_segment, segment_select
from campaigns.models import Conversion
from tests.campaigns.engagement_factories import campaign, contact, event, message

NOW = datetime(2026, 12, 28, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
def history(backend, session):
    ann, bob, cat, dan = (contact(session, now=NOW, first_name=n) for n in ("ann", "bob", "cat", "dan"))
    spring, autumn = campaign(session, now=NOW), campaign(session, now=NOW)
    to_ann = message(session, ann, spring, sent_at=NOW - timedelta(days=3), delivered_at=NOW - timedelta(days=3))
    event(session, to_ann, "opened", NOW - timedelta(days=2), machine=False)
    event(session, to_ann, "clicked", NOW - timedelta(days=2), machine=False)
    to_bob = message(session, bob, autumn, sent_at=NOW - timedelta(days=40))
    event(session, to_bob, "opened", NOW - timedelta(days=1), machine=True, machine_reason="too_soon")
    message(session, cat, spring, sent_at=None, status="failed", due=NOW - timedelta(days=1))
    for who, days_ago, amount, product in ((ann, 5, "120.00", "茶叶"), (ann, 200, "500.00", "茶叶"),
                                           (bob, 10, "30.50", "杯子"), (bob, 12, "80.00", "茶叶")):
        session.add(Conversion(contact_id=who.id, order_id=f"O-{who.id}-{days_ago}", amount=Decimal(amount),
                               currency="USD", amount_base=Decimal(amount), product=product,
                               occurred_at=NOW - timedelta(days=days_ago)))
    session.commit()
    return {"ann": ann.id, "bob": bob.id, "cat": cat.id, "dan": dan.id, "spring": spring.id, "autumn": autumn.id}


def matching(session, history, rule) -> set[str]:
    names = {v: k for k, v in history.items() if k in ("ann", "bob", "cat", "dan")}
    return {names[i] for i in session.scalars(segment_select({"all": [rule]}, today=TODAY))}


def test_message_conditions(session, history):
    def m(field, op, **value):
        return matching(session, history, {"field": field, "op": op, "value": value})

    assert m("message.received", "in_last_days", days=7) == {"ann"}
    assert m("message.received", "in_last_days", days=60) == {"ann", "bob"}  # cat's failed message is not received
    assert m("message.received", "in_last_days", days=60, campaign_id=history["autumn"]) == {"bob"}
    assert m("message.received", "not_in_last_days", days=7) == {"bob", "cat", "dan"}
    assert m("message.opened", "in_last_days", days=7) == {"ann"}  # bob's open was a machine's
    assert m("message.clicked", "in_last_days", days=1) == set()
    assert m("message.clicked", "in_last_days", days=30, campaign_id=history["spring"]) == {"ann"}
    assert m("message.opened", "not_in_last_days", days=30) == {"bob", "cat", "dan"}


def test_conversion_conditions(session, history):
    def m(field, op, **value):
        return matching(session, history, {"field": field, "op": op, "value": value})

    assert m("conversion.bought", "in_last_days", days=7) == {"ann"}
    assert m("conversion.bought", "in_last_days", days=30, product="杯子") == {"bob"}
    assert m("conversion.bought", "not_in_last_days", days=30) == {"cat", "dan"}
    assert m("conversion.spent", "gt", days=30, amount=100) == {"ann", "bob"}  # 120.00 and 30.50 + 80.00
    assert m("conversion.spent", "gte", days=30, amount=120) == {"ann"}
    assert m("conversion.spent", "lt", days=30, amount=50) == {"cat", "dan"}  # no purchase is 0
    assert m("conversion.spent", "gt", days=365, amount=600) == {"ann"}


def test_the_explanation_names_the_rule_that_empties_an_audience(session, history):
    rules = {"all": [{"field": "message.opened", "op": "in_last_days", "value": {"days": 30}},
                     {"field": "conversion.bought", "op": "in_last_days", "value": {"days": 30, "product": "杯子"}}]}

    assert count_segment(session, rules, today=TODAY) == 0
    effect = explain_segment(session, rules, today=TODAY)
    assert [(e["count_alone"], e["excluded"]) for e in effect] == [(1, 1), (1, 1)]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"field": "message.opened", "op": "in_last_days", "value": 7},
         'rules.all[0].value must be {"days": N} or {"days": N, "campaign_id": id} for message.opened '
         '"in_last_days", not a number'),
        ({"field": "message.opened", "op": "in_last_days", "value": {"days": 7, "campaign": 1}}, "campaign_id"),
        ({"field": "message.clicked", "op": "in_last_days", "value": {"days": 7, "campaign_id": "x"}},
         "campaign_id a whole number"),
        ({"field": "conversion.spent", "op": "gt", "value": {"days": 7}}, '{"days": N, "amount": X}'),
        ({"field": "conversion.spent", "op": "eq", "value": {"days": 7, "amount": 1}},
         'rules.all[0].op "eq" does not apply to conversion.spent; use one of: gt, gte, lt, lte'),
    ],
)
def test_bad_conditions_are_refused_naming_the_rule(rule, message):
    with pytest.raises(SegmentRuleInvalid, match=re.escape(message)):
        segment_select({"all": [rule]}, today=TODAY)
