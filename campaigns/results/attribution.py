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
of conversions at once: one query finds, for every purchase of the batch, its last human click and
its last receipt within the window, so recording 500 rows costs one read, not a thousand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    column,
    false,
    func,
    literal,
    select,
    true,
    type_coerce,
    values,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from campaigns.models import TEST_KIND, Campaign, Message, MessageEvent
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


def campaign_ids_by_code(session: Session, codes: Sequence[str]) -> dict[str, int]:
    """{code: campaign id} for the codes that name a campaign (codes compare ignoring case)."""
    wanted = {c.strip().upper() for c in codes if c and c.strip()}
    if not wanted:
        return {}
    rows = session.execute(select(Campaign.code, Campaign.id).where(func.upper(Campaign.code).in_(wanted)))
    return {code.upper(): campaign_id for code, campaign_id in rows}


def attribute(session: Session, purchases: Sequence[Purchase], *,
              codes: Mapping[str, int] | None = None) -> dict[int, Attribution]:
    """Decide the attribution of each purchase; {purchase.key: Attribution}. Reads only: one query.

    An explicit code must name a campaign (check it first with campaign_ids_by_code, and pass its answer
    as `codes` to save reading it again): an unknown one is an error in the caller's data, never silently
    replaced by the click rule.
    """
    if not purchases:
        return {}
    if codes is None:
        codes = campaign_ids_by_code(session, [p.campaign_code or "" for p in purchases])
    coded = {p.key: codes[p.campaign_code.strip().upper()] for p in purchases
             if p.campaign_code and p.campaign_code.strip().upper() in codes}
    rows = [(p.key, p.contact_id, p.occurred_at, coded.get(p.key)) for p in purchases]
    if session.get_bind().dialect.name == "postgresql":
        keys, contacts, times, campaigns = (list(values) for values in zip(*rows, strict=True))
        # Times as ISO 8601 text, cast on the server: cheaper than the driver's adapter for aware datetimes.
        found = session.execute(_postgres_touches(), {"keys": keys, "contacts": contacts, "campaigns": campaigns,
                                                      "times": [at.isoformat() for at in times]})
    else:
        found = session.execute(_touches_query(_sqlite_purchases(rows), postgres=False))
    result: dict[int, Attribution] = {}
    for key, code_message, click, click_campaign, receipt, receipt_campaign in found:
        if key in coded:
            result[key] = Attribution("code", coded[key], code_message)
        elif click is not None:
            result[key] = Attribution("click", click_campaign, click)
        elif receipt is not None:
            result[key] = Attribution("receipt", receipt_campaign, receipt)
        else:
            result[key] = NONE
    return result


@cache
def _postgres_touches() -> Select[Any]:
    """The touches query over the batch given as four arrays (keys, contacts, times, campaigns), unnested: one
    short statement whatever the batch size, built and compiled once, parsed and planned alike every time."""
    purchases = func.unnest(
        bindparam("keys", type_=postgresql.ARRAY(Integer)),
        bindparam("contacts", type_=postgresql.ARRAY(Integer)),
        cast(bindparam("times", type_=postgresql.ARRAY(String)), postgresql.ARRAY(DateTime(timezone=True))),
        bindparam("campaigns", type_=postgresql.ARRAY(Integer)),
    ).table_valued(column("key", Integer), column("contact_id", Integer), column("at", UTCDateTime()),
                   column("campaign_id", Integer)).render_derived(name="purchase")
    return _touches_query(purchases, postgres=True)


def _sqlite_purchases(rows: list[tuple[int, int, datetime, int | None]]) -> Any:
    """The batch as a table (key, contact_id, at, campaign_id): a VALUES list, SQLite having no arrays."""
    return values(column("key", Integer), column("contact_id", Integer), column("at", UTCDateTime()),
                  column("campaign_id", Integer), name="purchase").data(rows).cte("purchase")


def _touches_query(purchase: Any, *, postgres: bool) -> Select[Any]:
    """For every purchase at once: the message of its last human click, of its last receipt, and (for a coded
    purchase) of the named campaign last sent to the contact — each at or before the purchase, the first two
    within their own campaign's window.

    Each touch is a subquery ordered by time and limited to one row, run per purchase: the database walks
    the contact's messages by ix_messages_contact_sent and their events by ix_message_events_message, so the
    cost follows the batch's contacts, not the size of the tables. On PostgreSQL the subqueries are LATERAL
    joins, which give the message and its campaign at once; SQLite has no LATERAL, so there they are
    correlated scalar subqueries for the message, and its campaign is looked up by primary key.
    """
    coded = purchase.c.campaign_id.is_not(None)

    def window_start(window_days: Any) -> Any:
        """The purchase time minus the campaign's window, exactly (the window is inclusive)."""
        if postgres:
            return purchase.c.at - func.make_interval(0, 0, 0, window_days)
        # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff" and compares it as text. strftime keeps milliseconds
        # only, so it is given the time cut to milliseconds and the three microsecond digits are put back.
        milliseconds = func.substr(purchase.c.at, 1, 23, type_=String)
        shift = literal("-", String) + cast(window_days, String) + literal(" days", String)
        return (func.strftime("%Y-%m-%d %H:%M:%f", milliseconds, shift, type_=String)
                + func.substr(purchase.c.at, 24, type_=String))

    def last(query: Select[Any], at: Any) -> Select[Any]:
        return (query.where(Message.contact_id == purchase.c.contact_id, at <= purchase.c.at)
                .order_by(at.desc(), Message.id.desc()).limit(1).correlate(purchase))

    touched = (Message.id, Message.campaign_id)
    clicked = MessageEvent.occurred_at
    person = ~func.coalesce(MessageEvent.detail["machine"].as_boolean(), false())  # a link scanner is no person
    click = last(select(*touched).join(MessageEvent, MessageEvent.message_id == Message.id)
                 .join(Campaign, Campaign.id == Message.campaign_id)
                 .where(~coded, MessageEvent.type == "clicked", person, Campaign.kind != TEST_KIND,
                        clicked >= window_start(Campaign.attribution_window_days)), clicked)
    # A delivery report is the best evidence the message arrived; without one (providers that report
    # nothing, or a report still to come) the send is taken as receipt.
    received = type_coerce(func.coalesce(Message.delivered_at, Message.sent_at), UTCDateTime())
    receipt = last(select(*touched).join(Campaign, Campaign.id == Message.campaign_id)
                   # A test send showed the contact's data to someone else: it earned nothing.
                   .where(~coded, Message.status.in_(("delivered", "sent")), Campaign.kind != TEST_KIND,
                          received >= window_start(Campaign.attribution_window_days)), received)
    # A code may come from a poster, or reach a contact the campaign held out: then no message of theirs
    # earned it and the conversion carries the campaign alone.
    code_message = last(select(Message.id).where(coded, Message.campaign_id == purchase.c.campaign_id,
                                                 Message.status.in_(("sent", "delivered"))), Message.sent_at)
    if postgres:
        code_l, click_l, receipt_l = code_message.lateral("code"), click.lateral("click"), receipt.lateral("receipt")
        return (select(purchase.c.key, code_l.c.id, click_l.c.id, click_l.c.campaign_id, receipt_l.c.id,
                       receipt_l.c.campaign_id)
                .select_from(purchase).outerjoin(code_l, true()).outerjoin(click_l, true())
                .outerjoin(receipt_l, true()))
    touches = select(purchase.c.key, code_message.scalar_subquery().label("code_message"),
                     click.with_only_columns(Message.id).scalar_subquery().label("click"),
                     receipt.with_only_columns(Message.id).scalar_subquery().label("receipt")).subquery("touch")
    clicked_message, received_message = aliased(Message), aliased(Message)
    return (select(touches.c.key, touches.c.code_message, touches.c.click, clicked_message.campaign_id,
                   touches.c.receipt, received_message.campaign_id)
            .outerjoin(clicked_message, clicked_message.id == touches.c.click)
            .outerjoin(received_message, received_message.id == touches.c.receipt))
