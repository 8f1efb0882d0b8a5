"""An A/B report after the winner is sent: the comparison stays the test phase's, the rollout is its own row."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from campaigns import create_campaign, create_template, send_campaign
from campaigns.ab_test import VariantSpec, choose_winner, set_ab_test
from campaigns.models import CampaignVariant, MessageEvent
from campaigns.results.report_campaign import campaign_report
from campaigns.results.report_export import report_csv
from campaigns.results.report_settings import ReportSettings
from campaigns.results.stats import p_value_text
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher, messages_of

USD = ReportSettings(currency="USD")


def _clicked(session, messages, at) -> None:
    session.add_all(MessageEvent(message_id=m.id, type="clicked", occurred_at=at, detail={"machine": False})
                    for m in messages)
    session.commit()


def rolled_out_ab_campaign(session, database, clock):
    """400 contacts, a 30% test phase where B (60% clicked) beats A (10%), B sent to the rest, 5 of whom click.

    Returns (campaign, the test phase's report, the test's A and B messages, the rollout's messages)."""
    now = clock.now()
    for _ in range(400):
        make_contact(session, now=now)
    main = create_template(session, name="Main", channel="sms", body="Main", now=now)
    a = create_template(session, name="A", channel="sms", body="A text", now=now)
    b = create_template(session, name="B", channel="sms", body="B text", now=now)
    campaign = create_campaign(session, name="Split", channel="sms", template_id=main.id, now=now)
    set_ab_test(session, campaign.id, variants=[VariantSpec("A", a.id), VariantSpec("B", b.id)], test_percent=30,
                metric="click_rate", wait_hours=4)
    run = send_campaign(session, campaign.id, now=now, channel_description="scripted://test", dry_run=False)
    channel = ScriptedChannel()
    make_dispatcher(database, channel, clock, batch_size=1000).dispatch_due()
    variants = {v.label: v.id for v in session.scalars(select(CampaignVariant))}
    tested = [m for m in messages_of(session, run.id) if m.status == "sent"]
    group_a = [m for m in tested if m.variant_id == variants["A"]]
    group_b = [m for m in tested if m.variant_id == variants["B"]]
    # B far ahead in the test phase: 60% of B clicked, 10% of A
    _clicked(session, group_b[: len(group_b) * 6 // 10] + group_a[: len(group_a) // 10], now + timedelta(hours=1))
    before = campaign_report(session, campaign.id, USD)
    assert before.ab is not None and before.ab.leader == "B" and before.ab.difference.significant

    choose_winner(session, campaign.id, now=now + timedelta(hours=4), variant_id=variants["B"])
    clock.advance(hours=4)
    make_dispatcher(database, channel, clock, batch_size=1000).dispatch_due()
    rollout = [m for m in messages_of(session, run.id) if m.id not in {t.id for t in tested}]
    assert len(rollout) > 200 and all(m.status == "sent" for m in rollout)
    _clicked(session, rollout[:5], now + timedelta(hours=5))  # the rest rarely click

    return campaign, before, group_a, group_b, rollout


def test_the_rollout_does_not_join_the_winners_test_group(backend, session, database, clock):
    campaign, before, group_a, group_b, rollout = rolled_out_ab_campaign(session, database, clock)
    tested = group_a + group_b
    after = campaign_report(session, campaign.id, USD)
    assert after.ab.leader == "B" and after.ab.winner == "B"
    assert after.ab.scores == before.ab.scores
    assert after.ab.difference == before.ab.difference and after.ab.difference.significant
    rows = {s.key: s for s in after.by_variant}
    assert rows["B"].sent == len(group_b) and rows["A"].sent == len(group_a)
    assert rows["B (rollout)"].sent == len(rollout) and rows["B (rollout)"].clicked == 5
    assert after.total.sent == len(tested) + len(rollout)
    assert "B (rollout)" in report_csv(after, "variants")
    api = after.to_dict()["ab_test"]
    assert api["scores"] == {k: str(v) for k, v in before.ab.scores.items()} and api["significant"] is True
    assert api["difference"]["p_value_text"] == p_value_text(before.ab.difference.p_value)


def test_a_p_value_below_the_shown_precision_is_written_as_less_than_it():
    assert p_value_text(1.8e-7) == "< 0.000001"
    assert p_value_text(0.0) == "< 0.000001"
    assert p_value_text(0.336) == "0.336"
    assert p_value_text(0.0000012) == "0.000001"
    assert p_value_text(None) is None
