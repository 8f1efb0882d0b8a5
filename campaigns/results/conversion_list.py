"""Recorded conversions read back for the Conversions page: the latest ones with whose they are and the
campaign credited, and counts and revenue by attribution rule."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audiences import Contact
from campaigns.models import Campaign, Conversion


@dataclass(frozen=True)
class ConversionRow:
    conversion: Conversion
    contact_name: str
    contact_address: str
    campaign_name: str | None


@dataclass(frozen=True)
class ConversionTotals:
    """Recorded conversions by attribution rule: {rule: (count, revenue in the workspace currency)}."""

    by_rule: dict[str, tuple[int, Decimal]]

    @property
    def count(self) -> int:
        return sum(count for count, _ in self.by_rule.values())

    @property
    def revenue(self) -> Decimal:
        return sum((amount for _, amount in self.by_rule.values()), Decimal("0"))


def recent_conversions(session: Session, *, limit: int = 50) -> list[ConversionRow]:
    """The latest conversions by purchase time, with whose they are and the campaign they are credited to."""
    query = (select(Conversion, Contact, Campaign.name)
             .join(Contact, Contact.id == Conversion.contact_id)
             .outerjoin(Campaign, Campaign.id == Conversion.campaign_id)
             .order_by(Conversion.occurred_at.desc(), Conversion.id.desc()).limit(limit))
    rows = [ConversionRow(conversion, contact.name, contact.email or contact.phone or "", campaign_name)
            for conversion, contact, campaign_name in session.execute(query)]
    session.rollback()
    return rows


def conversion_totals(session: Session) -> ConversionTotals:
    """Counts and revenue by attribution rule, in one GROUP BY."""
    query = select(Conversion.attribution, func.count(), func.coalesce(func.sum(Conversion.amount_base), 0)).group_by(
        Conversion.attribution)
    found = {rule: (count, Decimal(str(total))) for rule, count, total in session.execute(query)}
    session.rollback()
    return ConversionTotals({rule: found.get(rule, (0, Decimal("0"))) for rule in ("code", "click", "receipt",
                                                                                    "none")})
