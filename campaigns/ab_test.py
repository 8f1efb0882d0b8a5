"""A/B tests: 2–5 variants of a campaign's content, split by weight, and the winner sent to the rest.

Without a test phase every recipient gets a variant at once (materialise, campaigns/audience/holdout.py).
With one (`ab_test_percent` of the audience), the others wait (`waiting` rows) until a winner is
chosen by the campaign's metric — automatically `ab_wait_hours` after the run started
(scheduler job decide_ab_tests) or by hand — and then get the winner's content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, not_, select, update
from sqlalchemy.orm import Session

from campaigns import queries
from campaigns.audience.holdout import TEST_GROUP_HASH, bucket
from campaigns.models import Campaign, CampaignVariant, Message, Run, Template
from core.errors import Conflict, Invalid, NotFound

METRICS = ("click_rate", "conversion_rate", "revenue_per_recipient")
METRIC_NAMES = {"click_rate": "click rate", "conversion_rate": "conversion rate",
                "revenue_per_recipient": "revenue per recipient"}
MIN_VARIANTS, MAX_VARIANTS = 2, 5


@dataclass(frozen=True)
class VariantSpec:
    label: str
    template_id: int
    weight: int = 1


def set_ab_test(session: Session, campaign_id: int, *, variants: Sequence[VariantSpec], test_percent: int = 0,
                metric: str = "click_rate", wait_hours: int | None = None, holdout_percent: int | None = None) -> None:
    """Give a draft campaign its variants (replacing any) and test settings; commits.

    An empty `variants` removes the test. Raises NotFound, Conflict unless a draft, or Invalid naming
    the field: 2–5 variants with distinct labels, templates of the campaign's channel, positive weights,
    a test share of 0–99%, a known metric, a wait of at least 1 hour, a holdout of 0–50%.
    """
    campaign = _draft(session, campaign_id)
    if holdout_percent is not None:
        campaign.holdout_percent = check_holdout_percent(holdout_percent)
    if variants and not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        raise Invalid(f"an A/B test has {MIN_VARIANTS} to {MAX_VARIANTS} variants, not {len(variants)}; "
                      "add or remove variants", field="variants")
    labels = [v.label.strip() for v in variants]
    if any(not label for label in labels) or len(set(labels)) != len(labels):
        raise Invalid("each variant needs its own label (A, B, …); two variants share one or one has none",
                      field="variants")
    for spec in variants:
        template = session.get(Template, spec.template_id)
        if template is None or template.channel != campaign.channel:
            raise Invalid(f'variant "{spec.label}": template {spec.template_id} is not a {campaign.channel} '
                          "template; pick one of the campaign's channel", field="variants")
        if spec.weight < 1 or spec.weight > 1000:
            raise Invalid(f'variant "{spec.label}": weight {spec.weight} must be a whole number from 1 to 1000',
                          field="variants")
    if not 0 <= test_percent <= 99:
        raise Invalid(f"the test share is {test_percent}%; use 0 (no test phase) to 99%", field="ab_test_percent")
    if metric not in METRICS:
        raise Invalid(f'metric "{metric}" is not known; use one of: {", ".join(METRICS)}', field="ab_metric")
    if wait_hours is not None and not 1 <= wait_hours <= 24 * 30:
        raise Invalid(f"wait {wait_hours} hours: use 1 to 720 hours, or none to choose the winner by hand",
                      field="ab_wait_hours")
    session.execute(CampaignVariant.__table__.delete().where(CampaignVariant.campaign_id == campaign_id))
    session.add_all(CampaignVariant(campaign_id=campaign_id, label=label, template_id=spec.template_id,
                                    weight=spec.weight, winner=False)
                    for label, spec in zip(labels, variants, strict=True))
    campaign.ab_test_percent = test_percent if variants else 0
    campaign.ab_metric = metric
    campaign.ab_wait_hours = wait_hours if variants and test_percent else None
    session.commit()


def check_holdout_percent(value: int) -> int:
    if not 0 <= value <= 50:
        raise Invalid(f"a holdout of {value}% is out of range; hold out 0 to 50% of the audience",
                      field="holdout_percent")
    return value


def set_holdout(session: Session, campaign_id: int, *, holdout_percent: int) -> None:
    """Set a draft campaign's holdout share (0–50%); commits. Raises NotFound, Conflict, Invalid."""
    _draft(session, campaign_id).holdout_percent = check_holdout_percent(holdout_percent)
    session.commit()


def variants_of(session: Session, campaign_id: int) -> list[CampaignVariant]:
    return list(session.scalars(select(CampaignVariant).where(CampaignVariant.campaign_id == campaign_id)
                                .order_by(CampaignVariant.id)))


def ab_plan(session: Session, campaign: Campaign) -> tuple[list[tuple[int, int]], int]:
    """([(variant id, weight)], test share %) for materialising a run of `campaign`.

    Once a winner is chosen, later runs (a recurring campaign) send the winner to everyone.
    """
    variants = variants_of(session, campaign.id)
    winners = [v for v in variants if v.winner]
    if winners:
        return [(winners[0].id, 1)], 0
    return [(v.id, v.weight) for v in variants], campaign.ab_test_percent if variants else 0


def choose_winner(session: Session, campaign_id: int, *, now: datetime, variant_id: int | None = None,
                  results: dict[int, Decimal] | None = None) -> CampaignVariant:
    """Mark the winning variant and send it to the recipients who waited; commits. Returns the winner.

    `variant_id` chooses by hand; otherwise the best of `results` ({variant id: metric value}, from
    campaigns.results.report_effect.variant_scores) wins, the first variant on a tie. Raises NotFound, Invalid for a
    variant of another campaign, Conflict if a winner was already chosen.
    """
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist; see the campaign list for the ids that do")
    variants = variants_of(session, campaign_id)
    if not variants:
        raise Conflict(f'campaign {campaign_id} "{campaign.name}" has no A/B variants, so there is no winner to choose')
    if campaign.ab_decided_at is not None or any(v.winner for v in variants):
        raise Conflict(f'campaign {campaign_id} "{campaign.name}" already has its winner; it cannot change once sent')
    if variant_id is not None:
        winner = next((v for v in variants if v.id == variant_id), None)
        if winner is None:
            raise Invalid(f"variant {variant_id} is not one of campaign {campaign_id}'s variants", field="variant_id")
    else:
        scores = results or {}
        winner = max(variants, key=lambda v: (scores.get(v.id, Decimal(0)), -v.id))
    winner.winner = True
    campaign.ab_decided_at = now
    session.execute(
        update(Message).execution_options(synchronize_session=False)
        .where(Message.campaign_id == campaign_id, Message.status == "waiting")
        .values(status="pending", variant_id=winner.id, not_before=now, error_code=None, error_reason=None,
                updated_at=now))
    queries.finish_idle_runs(session, session.scalars(select(Run.id).where(Run.campaign_id == campaign_id)).all(),
                             now=now)
    session.commit()
    return winner


def rollout_condition(campaign: Campaign) -> Any | None:
    """SQL, over messages, true for the ones that got the winner after the test phase (the rollout); None
    while no winner is chosen.

    Recomputed rather than stored: a run started before the decision split its audience by the published
    test-group hash (campaigns/audience/holdout.py), so its test phase is the buckets below `ab_test_percent` and
    the rest waited for the winner; every run started after the decision sends the winner to everyone.
    Without this the report would add the rollout to the winner's test group and compare groups the
    test never compared.
    """
    if campaign.ab_decided_at is None:
        return None
    tested_runs = select(Run.id).where(Run.campaign_id == campaign.id, Run.started_at <= campaign.ab_decided_at)
    in_test = Message.run_id.in_(tested_runs)
    if campaign.ab_test_percent:
        in_test = and_(in_test, bucket(Message.contact_id, campaign.id, TEST_GROUP_HASH) < campaign.ab_test_percent)
    return not_(in_test)


def due_ab_tests(session: Session, *, now: datetime) -> list[int]:
    """Campaigns whose test phase has run its `ab_wait_hours`: the ones to decide now."""
    rows = session.execute(
        select(Campaign.id, Campaign.ab_wait_hours, func.min(Run.started_at))
        .join(Run, Run.campaign_id == Campaign.id)
        .where(Campaign.ab_wait_hours.is_not(None), Campaign.ab_decided_at.is_(None), Campaign.ab_test_percent > 0,
               Campaign.status == "running")
        .group_by(Campaign.id, Campaign.ab_wait_hours))
    return [cid for cid, hours, started in rows if started is not None and started + timedelta(hours=hours) <= now]


def _draft(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist; see the campaign list for the ids that do")
    if campaign.status != "draft":
        raise Conflict(f'campaign {campaign_id} "{campaign.name}" is {campaign.status}; holdout and A/B variants '
                       "can only be changed while it is a draft")
    return campaign
