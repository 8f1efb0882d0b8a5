"""Holdout and A/B variants: decided in SQL by a hash both databases compute alike, sent as decided."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import literal, select

from campaigns import create_campaign, create_template, send_campaign
from campaigns.ab_test import VariantSpec, choose_winner, due_ab_tests, set_ab_test, set_holdout
from campaigns.audience.holdout import HOLDOUT_HASH, TEST_GROUP_HASH, VARIANT_HASH, bucket, python_bucket
from campaigns.models import CampaignVariant, Message
from core.errors import Conflict, Invalid
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher, messages_of

IDS = [1, 2, 3, 99, 1000, 65_537, 999_999, 2_147_483_647, 3_000_000_000]


@pytest.mark.parametrize("split", [HOLDOUT_HASH, TEST_GROUP_HASH, VARIANT_HASH])
def test_the_database_computes_the_same_buckets_as_python(backend, session, split):
    for campaign_id in (1, 7, 123_456):
        in_sql = [session.scalar(select(bucket(literal(i), campaign_id, split))) for i in IDS]
        assert in_sql == [python_bucket(i, campaign_id, split) for i in IDS]


def test_buckets_are_even_and_the_three_splits_independent():
    ids = range(1, 20_001)
    holdout = Counter(python_bucket(i, 5, HOLDOUT_HASH) < 10 for i in ids)
    assert 1_900 <= holdout[True] <= 2_100
    # among the held-out, the variant split is the same as among everyone
    held = [i for i in ids if python_bucket(i, 5, HOLDOUT_HASH) < 10]
    share_a = sum(python_bucket(i, 5, VARIANT_HASH) < 50 for i in held) / len(held)
    assert 0.46 <= share_a <= 0.54


def _campaign(session, now, *, bodies=("A: hi {{ contact.first_name }}", "B: hello {{ contact.first_name }}")):
    main = create_template(session, name="Main", channel="sms", body="Main body", now=now)
    templates = [create_template(session, name=f"V{n}", channel="sms", body=body, now=now)
                 for n, body in enumerate(bodies)]
    campaign = create_campaign(session, name="Split", channel="sms", template_id=main.id, now=now)
    return campaign, templates


def test_held_out_contacts_get_a_held_out_row_and_no_message(backend, session, database, clock):
    now = clock.now()
    contacts = [make_contact(session, now=now) for _ in range(200)]
    make_contact(session, now=now, phone=None)  # suppressed, never counted in the holdout
    campaign, _ = _campaign(session, now)
    set_holdout(session, campaign.id, holdout_percent=10)
    run = send_campaign(session, campaign.id, now=now, channel_description="scripted://test", dry_run=False)
    expected = {c.id for c in contacts if python_bucket(c.id, campaign.id, HOLDOUT_HASH) < 10}
    assert 8 <= len(expected) <= 35
    channel = ScriptedChannel()
    make_dispatcher(database, channel, clock, batch_size=1000).dispatch_due()
    rows = messages_of(session, run.id)
    assert {m.contact_id for m in rows if m.status == "held_out"} == expected
    assert all(m.error_code == "holdout" and m.sent_at is None for m in rows if m.status == "held_out")
    assert Counter(m.status for m in rows) == {"sent": 200 - len(expected), "held_out": len(expected),
                                               "suppressed": 1}
    assert len(channel.sent) == 200 - len(expected)


def test_each_recipient_gets_a_variant_by_weight_and_its_template(backend, session, database, clock):
    now = clock.now()
    for _ in range(300):
        make_contact(session, now=now)
    campaign, (a, b) = _campaign(session, now)
    set_ab_test(session, campaign.id, variants=[VariantSpec("A", a.id, 1), VariantSpec("B", b.id, 3)])
    run = send_campaign(session, campaign.id, now=now, channel_description="scripted://test", dry_run=False)
    channel = ScriptedChannel()
    make_dispatcher(database, channel, clock, batch_size=1000).dispatch_due()
    variants = {v.label: v.id for v in session.scalars(select(CampaignVariant))}
    rows = messages_of(session, run.id)
    by_variant = Counter(m.variant_id for m in rows)
    assert set(by_variant) == set(variants.values())
    assert 45 <= by_variant[variants["A"]] <= 105  # a quarter of 300
    for m in rows:
        expected = "A" if python_bucket(m.contact_id, campaign.id, VARIANT_HASH) < 25 else "B"
        assert m.variant_id == variants[expected]
    bodies = {o.message_id: o.body for o in channel.sent}
    assert all(bodies[m.id].startswith("A: hi" if m.variant_id == variants["A"] else "B: hello") for m in rows)


def test_a_test_phase_waits_then_sends_the_winner_to_the_rest(backend, session, database, clock):
    now = clock.now()
    for _ in range(100):
        make_contact(session, now=now)
    campaign, (a, b) = _campaign(session, now)
    set_ab_test(session, campaign.id, variants=[VariantSpec("A", a.id), VariantSpec("B", b.id)], test_percent=30,
                metric="click_rate", wait_hours=4)
    run = send_campaign(session, campaign.id, now=now, channel_description="scripted://test", dry_run=False)
    channel = ScriptedChannel()
    make_dispatcher(database, channel, clock, batch_size=1000).dispatch_due()
    rows = messages_of(session, run.id)
    waiting = [m for m in rows if m.status == "waiting"]
    tested = [m for m in rows if m.status == "sent"]
    assert len(waiting) + len(tested) == 100 and 15 <= len(tested) <= 45
    assert all(m.variant_id is None for m in waiting) and all(m.variant_id for m in tested)
    assert messages_of(session, run.id) and session.get(type(run), run.id).status == "running"

    assert due_ab_tests(session, now=now + timedelta(hours=3)) == []
    assert due_ab_tests(session, now=now + timedelta(hours=4)) == [campaign.id]
    variants = {v.label: v.id for v in session.scalars(select(CampaignVariant))}
    winner = choose_winner(session, campaign.id, now=now + timedelta(hours=4),
                           results={variants["A"]: Decimal("0.1"), variants["B"]: Decimal("0.3")})
    assert winner.label == "B"
    clock.advance(hours=4)
    make_dispatcher(database, channel, clock, batch_size=1000).dispatch_due()
    rows = messages_of(session, run.id)
    assert Counter(m.status for m in rows) == {"sent": 100}
    assert {m.variant_id for m in rows if m.id in {w.id for w in waiting}} == {variants["B"]}
    assert session.get(type(run), run.id).status == "completed"
    with pytest.raises(Conflict):
        choose_winner(session, campaign.id, now=clock.now(), variant_id=variants["A"])
    assert due_ab_tests(session, now=clock.now()) == []


def test_ab_settings_are_checked_and_name_the_field(session, clock):
    now = clock.now()
    campaign, (a, b) = _campaign(session, now)
    email = create_template(session, name="E", channel="email", subject="s", html="<p>x</p>", now=now)
    cases = [
        (dict(variants=[VariantSpec("A", a.id)]), "variants"),
        (dict(variants=[VariantSpec("A", a.id), VariantSpec("A", b.id)]), "variants"),
        (dict(variants=[VariantSpec("A", a.id), VariantSpec("B", email.id)]), "variants"),
        (dict(variants=[VariantSpec("A", a.id), VariantSpec("B", b.id, 0)]), "variants"),
        (dict(variants=[VariantSpec("A", a.id), VariantSpec("B", b.id)], test_percent=100), "ab_test_percent"),
        (dict(variants=[VariantSpec("A", a.id), VariantSpec("B", b.id)], metric="opens"), "ab_metric"),
        (dict(variants=[VariantSpec("A", a.id), VariantSpec("B", b.id)], holdout_percent=51), "holdout_percent"),
    ]
    for kwargs, field in cases:
        with pytest.raises(Invalid) as caught:
            set_ab_test(session, campaign.id, **kwargs)
        assert caught.value.field == field
    assert session.scalars(select(CampaignVariant)).all() == []
    assert session.scalar(select(Message.id)) is None
