"""Before sending: how many recipients a campaign reaches, what it will cost, and when it will be done.

The audience is counted with the same parts materialisation uses (campaigns/audience/recipients.py, the
consent exclusions, the frequency cap), grouped by the status each recipient would get — one
GROUP BY, nothing written. SMS segments are counted on the template rendered for a sample of real
recipients (names and links change a message's length, and one Chinese character makes the whole
message UCS-2), then scaled to the audience. Links are counted as they will be sent: with [tracking]
sms_short_links on, each becomes a short link on the public base URL, which is often longer than the
link the marketer wrote, so counting the written text would under-estimate segments and cost.
Held-out recipients (campaigns/audience/holdout.py) are picked by the same SQL hash as materialisation and counted
apart: they get no message, so they are neither "will receive it" nor priced. The cost follows the rate
plans as dispatch will apply them (campaigns/delivery/costs.py): each reachable recipient is matched in SQL to the
plan in force (its provider before any provider's, then the longest country prefix), the plan's free units
left this month are taken first, and recipients no plan covers are priced at the configured flat price.
The send window follows from the channel's rate: the first message goes at once (or at the earliest
recipient's send time), the last when the rate has let every message through, or at the latest
recipient's send time if that is later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from limits import parse
from sqlalchemy import and_, case, func, literal, null, or_, select
from sqlalchemy.orm import Session

from audiences import contacts_by_id
from campaigns.audience.caps import FrequencyCap, cap_exclusions
from campaigns.audience.duplicates import duplicate_exclusions, rank_addresses
from campaigns.audience.holdout import holdout_exclusions
from campaigns.audience.materialise import consent_exclusions
from campaigns.audience.recipients import recipients_select
from campaigns.audience.send_time import Timing, not_before_sql
from campaigns.content import rendering as content
from campaigns.content.provider_templates import is_bound, render_bound
from campaigns.delivery.outgoing import unsubscribe_url
from campaigns.estimate_occasions import OccasionPlan, occasion_plan
from campaigns.lifecycle import get_campaign
from campaigns.models import Link, Message, RatePlan, RatePlanUsage, Template
from campaigns.responses.tracking import sms_as_sent, tracks_clicks
from campaigns.results.report_numbers import money
from campaigns.schedules import schedule_of
from channels import count_sms
from core.config import TrackingConfig

SAMPLE_SIZE = 20


@dataclass(frozen=True)
class PriceLine:
    """Part of the estimated cost: the recipients a rate plan covers (plan_id None: the configured price)."""

    plan_id: int | None
    recipients: int
    units: int  # SMS segments or emails
    free_units: int  # taken from what is left of the plan's monthly free quota
    unit_price: Decimal
    currency: str
    cost: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {"plan_id": self.plan_id, "recipients": self.recipients, "units": self.units,
                "free_units": self.free_units, "unit_price": money(self.unit_price, self.currency),
                "currency": self.currency, "cost": money(self.cost, self.currency)}


@dataclass(frozen=True)
class Estimate:
    campaign_id: int
    channel: str
    audience: int  # everyone the campaign is for, before exclusions
    sendable: int  # after consent, the suppression list, the frequency cap and the holdout: will get a message
    excluded: dict[str, int] = field(default_factory=dict)  # code (no_address, opted_out, frequency_cap…) -> rows
    segments_per_message: Decimal | None = None  # SMS: the sample's average
    segments: int | None = None  # SMS: estimated total
    sample_size: int = 0
    held_out: int = 0  # reachable, but in the campaign's holdout group: no message, no cost
    cost: Decimal = Decimal("0")
    currency: str = "USD"
    # How the cost is made: one line per rate plan used, then the flat price for what no plan covers.
    pricing: tuple[PriceLine, ...] = ()
    rate: str = ""  # the channel's send rate, e.g. "10/second"
    first_send_at: datetime | None = None
    last_send_at: datetime | None = None
    # A date rule or holiday campaign greets on occasions, not in one blast: who when, and the cost per month.
    # `sendable` and `cost` are then everyone it can reach and what greeting each of them once costs.
    occasions: OccasionPlan | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "channel": self.channel,
            "audience": self.audience,
            "sendable": self.sendable,
            "excluded": dict(self.excluded),
            "segments_per_message": str(self.segments_per_message) if self.segments_per_message is not None else None,
            "segments": self.segments,
            "sample_size": self.sample_size,
            "held_out": self.held_out,
            "cost": money(self.cost, self.currency),
            "currency": self.currency,
            "pricing": [line.to_dict() for line in self.pricing],
            "rate": self.rate,
            "first_send_at": self.first_send_at.isoformat() if self.first_send_at else None,
            "last_send_at": self.last_send_at.isoformat() if self.last_send_at else None,
            "occasions": self.occasions.to_dict(self.currency) if self.occasions else None,
        }


def estimate_campaign(session: Session, campaign_id: int, *, now: datetime, price: Decimal, currency: str,
                      rate: str, cap: FrequencyCap | None = None, timing: Timing | None = None,
                      tracking: TrackingConfig | None = None, base_url: str = "https://herald.example",
                      provider: str = "", as_sent: Callable[[str], str] | None = None,
                      feb29: str = "feb28", names: bool = True) -> Estimate:
    """The campaign's pre-send estimate. `price` is per SMS segment or per email where no rate plan applies;
    `rate` the channel's send rate ("10/second"); `cap` the configured frequency cap; `timing` when each
    recipient is due (campaigns/audience/send_time.py: quiet hours, a local time per zone; None: everyone now);
    `tracking` and `base_url` ([tracking], [app] base_url) say how SMS links will be sent (None: as written);
    `provider` the channel's provider name, for provider-specific rate plans; `as_sent` what the channel adds
    to the text (channels.text_as_sent: an http-sms signature is billed too; None: nothing); `feb29`
    ([campaigns] feb29_birthdays) when a date rule greets 29 February dates in other years. A date-rule or
    holiday campaign also gets its calendar of occasions (campaigns/estimate_occasions.py), with the first names
    greeted each day unless `names` is False. Raises NotFound."""
    campaign = get_campaign(session, campaign_id)
    audience = rank_addresses(recipients_select(session, campaign, now=now), campaign.channel).subquery("audience")
    exclusions = consent_exclusions(audience, campaign.channel, operational=campaign.operational)
    exclusions += duplicate_exclusions(audience, campaign.channel)
    exclusions += cap_exclusions(audience, channel=campaign.channel, cap=FrequencyCap.for_campaign(campaign, cap),
                                 now=now)
    # Listed after consent, duplicates and the cap, as materialisation does: an unreachable contact is not held out.
    exclusions += holdout_exclusions(audience, campaign_id=campaign.id, holdout_percent=campaign.holdout_percent)
    code = case(*((e.condition, literal(e.code)) for e in exclusions), else_=literal("")) if exclusions else literal("")
    plans = _plans_in_force(session, campaign.channel, provider, now)
    plan = _plan_choice(audience, plans)
    grouped: dict[str, int] = {}
    by_plan: dict[int | None, int] = {}
    columns = (code, plan) if plans else (code,)  # PostgreSQL refuses GROUP BY a bare NULL
    for reason, *chosen, count in session.execute(select(*columns, func.count()).select_from(audience)
                                                  .group_by(*columns)).all():
        plan_id = chosen[0] if chosen else None
        grouped[reason] = grouped.get(reason, 0) + count
        if reason == "":
            by_plan[plan_id] = by_plan.get(plan_id, 0) + count
    sendable = grouped.pop("", 0)
    held_out = grouped.pop("holdout", 0)
    estimate = Estimate(campaign.id, campaign.channel, audience=sendable + held_out + sum(grouped.values()),
                        sendable=sendable, excluded=grouped, held_out=held_out, currency=currency, rate=rate)
    per_message = Decimal(1)
    if campaign.channel == "sms":
        sample_ids = list(session.scalars(select(audience.c.contact_id).where(
            *[~e.condition for e in exclusions]).order_by(audience.c.contact_id).limit(SAMPLE_SIZE)))
        shorten = tracking is not None and tracks_clicks(tracking, channel="sms", campaign=campaign)
        per_message = _sample_segments(session, campaign, sample_ids, base_url=base_url.rstrip("/"),
                                       shorten=shorten, messages=sendable, as_sent=as_sent)
        estimate = replace(estimate, segments_per_message=per_message, sample_size=len(sample_ids))
    lines = _price_lines(session, by_plan, {p.id: p for p in plans}, per_message, price=price, currency=currency,
                         month=now.strftime("%Y-%m"))
    cost, cost_currency = _total(lines, currency)
    estimate = replace(estimate, pricing=tuple(lines), cost=cost, currency=cost_currency)
    if campaign.channel == "sms":
        estimate = replace(estimate, segments=sum(line.units for line in lines))
    earliest, latest = now, now
    if timing is not None and sendable:
        due = not_before_sql(session, audience, timing, now)
        earliest, latest = session.execute(select(func.min(due), func.max(due)).select_from(audience).where(
            *[~e.condition for e in exclusions])).one()
        earliest, latest = max(_aware(earliest), now), max(_aware(latest), now)
    schedule = schedule_of(campaign.schedule)
    if schedule is not None and schedule.kind in ("date_rule", "holiday"):
        plan = occasion_plan(session, schedule, audience, [~e.condition for e in exclusions], now=now,
                             sendable=sendable, cost_per_recipient=_list_price_per_recipient(lines, estimate),
                             default_feb29=feb29, names=names)
        # Not one send window: the first and the last firing of the next days that greet someone.
        first_at = plan.occasions[0].fire_at if plan.occasions else None
        last_at = plan.occasions[-1].fire_at if plan.occasions else None
        return replace(estimate, occasions=plan, first_send_at=first_at, last_send_at=last_at)
    first, last = send_window(earliest, sendable, rate)
    if last is not None:
        last = max(last, latest)  # the last recipient's own time, when their zone or quiet hours make it later
    return replace(estimate, first_send_at=first, last_send_at=last)


def _list_price_per_recipient(lines: list[PriceLine], estimate: Estimate) -> Decimal:
    """What one recipient costs on average at the plans' list prices (free quotas left aside: a month's
    occasions use them up in their own month, not all at once as a blast would)."""
    units = [line for line in lines if line.currency == estimate.currency]
    recipients = sum(line.recipients for line in units)
    if not recipients:
        return Decimal(0)
    return sum((line.unit_price * line.units for line in units), Decimal(0)) / recipients


def _plans_in_force(session: Session, channel: str, provider: str, now: datetime) -> list[RatePlan]:
    """The channel's plans in force at `now` that dispatch would consider for `provider`, best match first
    (the ranking of costs.plan_for: a provider's own plan before any provider's, then the longest prefix)."""
    plans = session.scalars(select(RatePlan).where(
        RatePlan.channel == channel, RatePlan.provider.in_({"", provider}), RatePlan.effective_from <= now,
        or_(RatePlan.effective_to.is_(None), RatePlan.effective_to > now)))
    return sorted(plans, key=lambda p: (1 if p.provider else 0, len(p.country_prefix), -p.id), reverse=True)


def _plan_choice(audience: Any, plans: list[RatePlan]) -> Any:
    """SQL naming the plan each recipient's address falls under (NULL: none, the flat price applies)."""
    whens = []
    for plan in plans:
        if not plan.country_prefix:
            whens.append((literal(True), literal(plan.id)))
            break  # a plan for anywhere catches everyone the better ones did not
        # Prefixes are "+" and digits only (costs.create_rate_plan), so LIKE has nothing to escape.
        whens.append((audience.c.address.like(plan.country_prefix + "%"), literal(plan.id)))
    return case(*whens, else_=null())


def _price_lines(session: Session, by_plan: dict[int | None, int], plans: dict[int, RatePlan], per_message: Decimal,
                 *, price: Decimal, currency: str, month: str) -> list[PriceLine]:
    """One line per plan used (after what is left of its free quota this month), then the flat-priced rest."""
    used = dict(session.execute(select(RatePlanUsage.plan_id, RatePlanUsage.units).where(
        and_(RatePlanUsage.month == month, RatePlanUsage.plan_id.in_([k for k in by_plan if k is not None]))
    )).all()) if any(k is not None for k in by_plan) else {}
    lines = []
    for plan_id in sorted(by_plan, key=lambda k: (k is None, k or 0)):
        recipients = by_plan[plan_id]
        units = int((per_message * recipients).to_integral_value(ROUND_HALF_UP))
        if plan_id is None:
            lines.append(PriceLine(None, recipients, units, 0, price, currency, price * units))
            continue
        plan = plans[plan_id]
        free = min(units, max(0, plan.monthly_free_quota - used.get(plan_id, 0)))
        lines.append(PriceLine(plan_id, recipients, units, free, plan.unit_price, plan.currency,
                               plan.unit_price * (units - free)))
    return lines


def _total(lines: list[PriceLine], currency: str) -> tuple[Decimal, str]:
    """The summed cost and its currency: the plans' currency when every line is in one, else the configured
    currency's lines only (a plan in another currency is listed in `pricing` with its own)."""
    currencies = {line.currency for line in lines if line.units}
    if len(currencies) == 1:
        only = currencies.pop()
        return sum((line.cost for line in lines if line.currency == only), Decimal("0")), only
    return sum((line.cost for line in lines if line.currency == currency), Decimal("0")), currency


def _aware(value: Any) -> datetime:
    """min()/max() over a CASE of typed literals come back as the driver gives them: naive UTC on SQLite."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def send_window(start: datetime, messages: int, rate: str) -> tuple[datetime | None, datetime | None]:
    """When the first and the last of `messages` go out from `start` at `rate` (None, None for none)."""
    if messages <= 0:
        return None, None
    item = parse(rate)
    per_second = item.amount / item.get_expiry()
    # The first `amount` go at once; the window then lets `amount` more through per expiry.
    seconds = max(0.0, (messages - item.amount) / per_second)
    return start, start + timedelta(seconds=round(seconds))


def _sample_segments(session: Session, campaign: Any, contact_ids: list[int], *, base_url: str, shorten: bool,
                     messages: int, as_sent: Callable[[str], str] | None) -> Decimal:
    """Average SMS segments of the template rendered for these contacts (a placeholder contact if none), with
    the unsubscribe link, — when `shorten` — the short links as long as the send will make them, and what the
    channel adds (`as_sent`)."""
    template = session.get(Template, campaign.template_id)
    source = template.body if template else ""
    bound = is_bound(template)  # the provider's registered text, its parameters filled in, is what is billed
    compiled = content.compile_part("body", source or "")
    params_compiled: dict[tuple[int, str], Any] = {}
    contacts = contacts_by_id(session, contact_ids) if contact_ids else {}
    people = [contacts[cid].as_template_context() for cid in contact_ids if cid in contacts] or [
        content.sample_contact()]
    # The ids the messages and their links will get are not known yet: the largest they can reach gives the
    # longest base-36 numbers, so the estimate errs on the side of one segment too many, never too few.
    last_message_id = (session.scalar(select(func.max(Message.id))) or 0) + max(messages, 1)
    last_link_id = session.scalar(select(func.max(Link.id))) or 0
    total = 0
    heavy = False  # a template over its work budget for one contact is counted as written for the rest
    for person in people:
        context = content.template_context(person, campaign_name=campaign.name, campaign_id=campaign.id,
                                           unsubscribe_url=unsubscribe_url(base_url, "length-only", last_message_id))
        try:
            if heavy:
                raise content.RenderFailed("over budget")
            body = (render_bound(template, context, params_compiled)[0] if bound
                    else content.render_part("body", compiled, context))
        except content.RenderFailed as exc:
            # Up to a second per contact: twenty of them would hold the estimate page for twenty.
            heavy = heavy or exc.over_budget
            body = source
        if shorten and not bound:  # a bound template's links go as registered (dispatch.render_message)
            body = sms_as_sent(body, base_url=base_url, message_id=last_message_id,
                               link_id=last_link_id + max(messages, 1))  # as if each message had its own link
        total += count_sms(as_sent(body) if as_sent is not None else body).segments
    return (Decimal(total) / len(people)).quantize(Decimal("0.01"))
