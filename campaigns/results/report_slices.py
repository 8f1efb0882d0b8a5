"""One slice of a campaign report: the figures of a part of the audience (a variant, a channel, a value
tier…) or of all of it, added up from the report's grouped rows, and written as a table row or JSON."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from campaigns.results import report_queries as rq
from campaigns.results.report_numbers import money, ratio
from campaigns.results.report_numbers import shown as _s


@dataclass
class Slice:
    """The figures of one part of the audience (a variant, a channel, a tier…) or of all of it."""

    key: str
    audience: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    opened: int = 0
    clicked: int = 0
    unsubscribed: int = 0
    conversions: int = 0
    converters: int = 0
    revenue: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)  # variable cost in the workspace currency (converted)

    def add_messages(self, row: rq.CubeRow, cost: Decimal) -> None:
        self.audience += row.rows
        self.sent += row.sent
        self.delivered += row.rows if row.status == "delivered" else 0
        self.failed += row.rows if row.status == "failed" else 0
        self.opened += row.opened
        self.clicked += row.clicked
        self.unsubscribed += row.unsubscribed
        self.cost += cost

    def add_conversions(self, row: rq.ConversionRow) -> None:
        self.conversions += row.conversions
        self.converters += row.converters
        self.revenue += row.revenue

    def row(self, currency: str) -> list[Any]:
        return [self.key, self.audience, self.sent, self.delivered, self.failed, self.opened, self.clicked,
                str(ratio(self.clicked, self.sent) or ""), self.conversions, self.converters,
                str(ratio(self.converters, self.sent) or ""), money(self.revenue, currency),
                money(self.cost, currency)]

    def to_dict(self, currency: str) -> dict[str, Any]:
        return {"key": self.key, "audience": self.audience, "sent": self.sent, "delivered": self.delivered,
                "failed": self.failed, "opened": self.opened, "clicked": self.clicked,
                "unsubscribed": self.unsubscribed, "conversions": self.conversions, "converters": self.converters,
                "click_rate": _s(ratio(self.clicked, self.sent)),
                "conversion_rate": _s(ratio(self.converters, self.sent)), "revenue": money(self.revenue, currency),
                "cost": money(self.cost, currency)}


SLICE_COLUMNS = ["", "Audience", "Sent", "Delivered", "Failed", "Opened (people)", "Clicked", "Click rate",
                 "Conversions", "Converted", "Conversion rate", "Revenue", "Cost"]
