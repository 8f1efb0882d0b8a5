"""Attribution: which campaign a conversion belongs to, and its amount in the workspace currency.

The rules, in order (the first that applies wins; the rule used is kept on the conversion as
`attribution`, so a report can say how each number was decided):

1. code    — the order names a campaign explicitly (Campaign.code): that campaign, always.
2. click   — else the campaign whose message the contact last clicked (a person's click, not a link
             scanner's) at or before the purchase, within that campaign's window.
3. receipt — else the campaign whose message the contact last received (delivered; or sent, when the
             provider sends no delivery reports) at or before the purchase, within the window.
4. none    — else no campaign: the purchase happened without one (it still counts for RFM).

The window is per campaign (Campaign.attribution_window_days, 7 by default) and inclusive: a
purchase exactly 7 days after the click is still attributed. Attribution is decided for a batch
of conversions at once: one query for the clicks and one for the receipts of all the batch's
contacts, so recording 500 rows costs two reads, not a thousand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from campaigns.models import Campaign, Message, MessageEvent
from core.db import UTCDateTime
from core.errors import Invalid

ATTRIBUTIONS = ("code", "click", "receipt", "none")
CENT = Decimal("0.01")


class UnknownCurrency(Invalid):
    """A conversion's currency has no configured rate, so its amount cannot be added to the others."""


def to_base_currency(amount: Decimal, currency: str, *, base: str, rates: Mapping[str, Decimal]) -> Decimal:
    """`amount` in `currency` converted to the workspace currency `base`, rounded to the cent.

    `rates` maps a currency code to what one unit of it is worth in `base` ([currency.rates]).
    Raises UnknownCurrency naming the code and where to add its rate.
    """
    code = currency.strip().upper()
    if code == base.upper():
        return amount.quantize(CENT, ROUND_HALF_UP)
    rate = rates.get(code)
    if rate is None:
        known = ", ".join([base.upper(), *sorted(rates)])
        raise UnknownCurrency(
            f'currency "{code}" has no exchange rate, so its amount cannot be counted in {base.upper()}; add it under '
            f'[currency.rates] in config.toml (e.g. {code} = "1.0") or report the amount in one of: {known}',
            field="currency",
        )
    return (amount * rate).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Purchase:
    """What attribution needs to know of one conversion."""

    key: int  # the caller's handle for the row (its index or id)
    contact_id: int
    occurred_at: datetime
    campaign_code: str | None = None


@dataclass(frozen=True)
class Attribution:
    rule: str  # code | click | receipt | none
    campaign_id: int | None = None
    message_id: int | None = None


NONE = Attribution("none")


@dataclass(frozen=True)
class _Touch:
    at: datetime
    message_id: int
    campaign_id: int
    window: timedelta


def campaign_ids_by_code(session: Session, codes: Sequence[str]) -> dict[str, int]:
    """{code: campaign id} for the codes that name a campaign (codes compare ignoring case)."""
    wanted = {c.strip().upper() for c in codes if c and c.strip()}
    if not wanted:
        return {}
    rows = session.execute(select(Campaign.code, Campaign.id).where(func.upper(Campaign.code).in_(wanted)))
    return {code.upper(): campaign_id for code, campaign_id in rows}


def attribute(session: Session, purchases: Sequence[Purchase]) -> dict[int, Attribution]:
    """Decide the attribution of each purchase; {purchase.key: Attribution}. Reads only.

    An explicit code must name a campaign (check it first with campaign_ids_by_code): an unknown
    one is an error in the caller's data, never silently replaced by the click rule.
    """
    result: dict[int, Attribution] = {}
    if not purchases:
        return result
    codes = campaign_ids_by_code(session, [p.campaign_code or "" for p in purchases])
    coded = [p for p in purchases if p.campaign_code and p.campaign_code.strip().upper() in codes]
    for purchase in coded:
        campaign_id = codes[purchase.campaign_code.strip().upper()]  # type: ignore[union-attr]
        result[purchase.key] = Attribution("code", campaign_id, _last_message_of(session, purchase, campaign_id))
    rest = [p for p in purchases if p.key not in result]
    if not rest:
        return result
    clicks = _touches(session, rest, clicks=True)
    receipts = _touches(session, rest, clicks=False)
    for purchase in rest:
        touch = _last_within(clicks.get(purchase.contact_id, ()), purchase.occurred_at)
        if touch is not None:
            result[purchase.key] = Attribution("click", touch.campaign_id, touch.message_id)
            continue
        touch = _last_within(receipts.get(purchase.contact_id, ()), purchase.occurred_at)
        result[purchase.key] = Attribution("receipt", touch.campaign_id, touch.message_id) if touch else NONE
    return result


def _last_within(touches: Sequence[_Touch], at: datetime) -> _Touch | None:
    """The latest touch at or before `at` whose campaign's window still covers `at` (touches sorted by time)."""
    best = None
    for touch in touches:
        if touch.at > at:
            break
        if at - touch.at <= touch.window:
            best = touch
    return best


def _touches(session: Session, purchases: Sequence[Purchase], *, clicks: bool) -> dict[int, list[_Touch]]:
    """Every click (or receipt) of the purchases' contacts that could fall in a window, by contact, by time."""
    contact_ids = sorted({p.contact_id for p in purchases})
    longest = session.scalar(select(func.max(Campaign.attribution_window_days))) or 0
    earliest = min(p.occurred_at for p in purchases) - timedelta(days=longest)
    latest = max(p.occurred_at for p in purchases)
    if clicks:
        at = MessageEvent.occurred_at
        query = (
            select(Message.contact_id, at, Message.id, Message.campaign_id, Campaign.attribution_window_days,
                   MessageEvent.detail)
            .join(MessageEvent, MessageEvent.message_id == Message.id)
            .where(MessageEvent.type == "clicked")
        )
    else:
        # A delivery report is the best evidence the message arrived; without one (providers that
        # report nothing, or a report still to come) the send is taken as receipt.
        at = type_coerce(func.coalesce(Message.delivered_at, Message.sent_at), UTCDateTime())
        query = select(Message.contact_id, at, Message.id, Message.campaign_id, Campaign.attribution_window_days,
                       None).where(or_(Message.status == "delivered", Message.status == "sent"))
    query = query.join(Campaign, Campaign.id == Message.campaign_id).where(
        and_(Message.contact_id.in_(contact_ids), at >= earliest, at <= latest))
    found: dict[int, list[_Touch]] = defaultdict(list)
    for contact_id, when, message_id, campaign_id, window_days, detail in session.execute(query):
        if clicks and isinstance(detail, dict) and detail.get("machine"):
            continue  # a link scanner's click says nothing about what the person did
        found[contact_id].append(_Touch(when, message_id, campaign_id, timedelta(days=window_days)))
    for touches in found.values():
        touches.sort(key=lambda t: (t.at, t.message_id))
    return found


def _last_message_of(session: Session, purchase: Purchase, campaign_id: int) -> int | None:
    """The contact's latest message of the named campaign sent before the purchase, if any: a code may also
    come from a poster, or reach a contact the campaign held out, and then no message of theirs earned it."""
    sent_at = Message.sent_at
    return session.scalar(
        select(Message.id).where(Message.campaign_id == campaign_id, Message.contact_id == purchase.contact_id,
                                 Message.status.in_(("sent", "delivered")), sent_at <= purchase.occurred_at)
        .order_by(sent_at.desc(), Message.id.desc()).limit(1))

