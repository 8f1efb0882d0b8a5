"""What sending costs: rate plans per channel and provider, the monthly free quota, and fixed campaign costs.

At send time a message the provider did not price is priced from the rate plan in force: per SMS
segment by the destination's country prefix (the longest matching prefix wins), or per email. The
first `monthly_free_quota` units of a calendar month (UTC) through a plan cost nothing — taken from a
counter row with one UPDATE per batch, so two senders never both use the same free units. A
provider's actual price, when a callback reports it, replaces the estimate (campaigns/delivery/callbacks.py).
Without a matching plan the configured flat price ([costs] in config.toml, via the Dispatcher) stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaigns.models import CHANNELS, Campaign, CampaignCost, RatePlan, RatePlanUsage
from core.errors import Invalid, NotFound

CURRENCY_LENGTH = 3


# ---------------------------------------------------------------- rate plans
def list_rate_plans(session: Session) -> list[RatePlan]:
    return list(session.scalars(select(RatePlan).order_by(RatePlan.channel, RatePlan.provider,
                                                          RatePlan.country_prefix, RatePlan.effective_from)))


def parse_money(raw: str | Decimal, *, field: str, what: str) -> Decimal:
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise Invalid(f'{what} "{raw}" is not a number; write it like 0.05', field=field) from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e8"):
        raise Invalid(f"{what} {raw} must be 0 or more (and below 100,000,000)", field=field)
    return value


def check_currency(raw: str, *, field: str = "currency") -> str:
    code = (raw or "").strip().upper()
    if len(code) != CURRENCY_LENGTH or not code.isalpha():
        raise Invalid(f'currency "{raw}" is not a three-letter code such as CNY, USD or EUR', field=field)
    return code


def create_rate_plan(session: Session, *, channel: str, provider: str = "", country_prefix: str = "",
                     unit_price: str | Decimal, currency: str, monthly_free_quota: int = 0,
                     effective_from: datetime, effective_to: datetime | None = None, now: datetime) -> RatePlan:
    """Add a rate plan; commits. Raises Invalid naming the field (channel, prefix, price, currency, quota, dates)."""
    if channel not in CHANNELS:
        raise Invalid(f'channel "{channel}" is not known; a rate plan prices one of: {", ".join(CHANNELS)}',
                      field="channel")
    prefix = (country_prefix or "").strip().replace(" ", "")
    if prefix and not (prefix.startswith("+") and prefix[1:].isdigit() and len(prefix) <= 8):
        raise Invalid(f'country prefix "{country_prefix}" must look like +86 or +1 (or be empty for anywhere)',
                      field="country_prefix")
    if channel == "email" and prefix:
        raise Invalid("an email rate plan has no country prefix; leave it empty", field="country_prefix")
    if monthly_free_quota < 0:
        raise Invalid(f"the monthly free quota is {monthly_free_quota}; use 0 or more", field="monthly_free_quota")
    if effective_to is not None and effective_to <= effective_from:
        raise Invalid("the plan must end after it starts; leave the end empty for an open-ended plan",
                      field="effective_to")
    plan = RatePlan(channel=channel, provider=(provider or "").strip().lower()[:30], country_prefix=prefix,
                    unit_price=parse_money(unit_price, field="unit_price", what="the price"),
                    currency=check_currency(currency), monthly_free_quota=monthly_free_quota,
                    effective_from=effective_from, effective_to=effective_to, created_at=now)
    session.add(plan)
    session.commit()
    return plan


def end_rate_plan(session: Session, plan_id: int, *, now: datetime) -> RatePlan:
    """End a plan now (prices already recorded keep the plan they were priced with); commits."""
    plan = session.get(RatePlan, plan_id)
    if plan is None:
        raise NotFound(f"rate plan {plan_id} does not exist; see Settings → Rate plans")
    if plan.effective_to is None or plan.effective_to > now:
        plan.effective_to = max(now, plan.effective_from)
    session.commit()
    return plan


@dataclass(frozen=True)
class Unpriced:
    """A message the provider did not price: its channel and provider, where it went, how many units."""

    key: int  # the caller's handle (the message id)
    channel: str
    provider: str
    address: str
    units: int  # segments for SMS, 1 for email


def plan_for(plans: Sequence[RatePlan], item: Unpriced) -> RatePlan | None:
    """The plan in force for `item`: its channel; its provider before any provider's; the longest prefix."""
    best: tuple[int, int] | None = None
    chosen = None
    for plan in plans:
        if plan.channel != item.channel or plan.provider not in ("", item.provider):
            continue
        if plan.country_prefix and not item.address.startswith(plan.country_prefix):
            continue
        rank = (1 if plan.provider else 0, len(plan.country_prefix))
        if best is None or rank > best:
            best, chosen = rank, plan
    return chosen


def price_unpriced(session: Session, items: Sequence[Unpriced], *, now: datetime) -> dict[int, tuple[Decimal, str]]:
    """{key: (cost, currency)} for the items a rate plan covers; the rest are left to the caller's flat price.

    Takes free units from each plan's counter for this month first (one UPDATE per plan per batch, and an
    INSERT for a plan's first units of the month). Does not commit: the caller's transaction records the
    prices and the counter together.
    """
    if not items:
        return {}
    plans = list(session.scalars(select(RatePlan).where(
        RatePlan.effective_from <= now, or_(RatePlan.effective_to.is_(None), RatePlan.effective_to > now))))
    if not plans:
        return {}
    by_plan: dict[int, list[Unpriced]] = {}
    chosen: dict[int, RatePlan] = {}
    for item in items:
        plan = plan_for(plans, item)
        if plan is not None:
            by_plan.setdefault(plan.id, []).append(item)
            chosen[plan.id] = plan
    month = now.strftime("%Y-%m")
    prices: dict[int, tuple[Decimal, str]] = {}
    for plan_id, covered in by_plan.items():
        plan = chosen[plan_id]
        units = sum(i.units for i in covered)
        free_left = max(0, plan.monthly_free_quota - _take_units(session, plan_id, month, units)) \
            if plan.monthly_free_quota else 0
        for item in covered:  # the batch's first units use what is left of the quota
            free = min(free_left, item.units)
            free_left -= free
            prices[item.key] = (plan.unit_price * (item.units - free), plan.currency)
    return prices


def _take_units(session: Session, plan_id: int, month: str, units: int) -> int:
    """Add `units` to the plan's counter for `month`; returns the units used before them."""
    key = and_(RatePlanUsage.plan_id == plan_id, RatePlanUsage.month == month)
    after = session.execute(update(RatePlanUsage).where(key).values(units=RatePlanUsage.units + units)
                            .returning(RatePlanUsage.units)).scalar()
    if after is None:
        try:
            with session.begin_nested():
                session.execute(insert(RatePlanUsage).values(plan_id=plan_id, month=month, units=units))
            return 0
        except IntegrityError:  # another sender inserted the month's row meanwhile: add to it instead
            after = session.execute(update(RatePlanUsage).where(key).values(units=RatePlanUsage.units + units)
                                    .returning(RatePlanUsage.units)).scalar_one()
    return after - units


def with_plan_prices(session: Session, sent: Sequence, unpriced: Sequence[Unpriced], *, now: datetime) -> list:
    """`sent` (outbox.SentMessage) with the rate plans' prices where a plan covers the message."""
    prices = price_unpriced(session, unpriced, now=now)
    return [replace(s, cost=prices[s.message_id][0], currency=prices[s.message_id][1])
            if s.message_id in prices else s for s in sent]


# ---------------------------------------------------------------- fixed costs
def add_fixed_cost(session: Session, campaign_id: int, *, label: str, amount: str | Decimal, currency: str,
                   now: datetime) -> CampaignCost:
    """Add a fixed cost (creative, gifts, agency…) to a campaign; commits. Raises NotFound or Invalid."""
    if session.get(Campaign, campaign_id) is None:
        raise NotFound(f"campaign {campaign_id} does not exist; see the campaign list for the ids that do")
    label = (label or "").strip()
    if not label:
        raise Invalid("a fixed cost needs a label, such as Creative, Gifts or Agency", field="label")
    cost = CampaignCost(campaign_id=campaign_id, label=label[:200],
                        amount=parse_money(amount, field="amount", what="the amount").quantize(Decimal("0.01")),
                        currency=check_currency(currency), created_at=now)
    session.add(cost)
    session.commit()
    return cost


def remove_fixed_cost(session: Session, campaign_id: int, cost_id: int) -> None:
    """Remove one of a campaign's fixed costs; commits. Raises NotFound."""
    cost = session.get(CampaignCost, cost_id)
    if cost is None or cost.campaign_id != campaign_id:
        raise NotFound(f"campaign {campaign_id} has no fixed cost {cost_id}; it may have been removed already")
    session.delete(cost)
    session.commit()


def fixed_costs_of(session: Session, campaign_id: int) -> list[CampaignCost]:
    return list(session.scalars(select(CampaignCost).where(CampaignCost.campaign_id == campaign_id)
                                .order_by(CampaignCost.id)))
