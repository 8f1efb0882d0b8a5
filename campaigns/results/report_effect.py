"""What a campaign caused and which variant won: the holdout comparison and the A/B test of a report.

The sums come from the report's one pass over the messages (campaigns/results/report_queries.py); the tests
are in campaigns/results/stats.py. Incremental revenue is the difference in revenue per head between the sent
and the held-out group, times the people sent to, with Welch's 95% interval scaled the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from campaigns.ab_test import METRIC_NAMES
from campaigns.results import report_queries as rq
from campaigns.results.report_numbers import CENT, money, ratio
from campaigns.results.report_numbers import shown as _s
from campaigns.results.stats import Difference, two_proportions, welch


@dataclass(frozen=True)
class Holdout:
    """The sent group against the holdout group, over the attribution window after the run started."""

    sent: rq.GroupOutcome
    held_out: rq.GroupOutcome
    conversion_rate: Difference  # sent − held out
    revenue_per_head: Difference  # sent − held out, in the workspace currency
    incremental_revenue: Decimal  # difference per head × people sent to
    incremental_low: Decimal
    incremental_high: Decimal
    incremental_roi: Decimal | None

    def to_dict(self, currency: str) -> dict[str, Any]:
        def side(g: rq.GroupOutcome) -> dict[str, Any]:
            return {"people": g.people, "buyers": g.buyers, "revenue": money(g.revenue, currency),
                    "conversion_rate": _s(ratio(g.buyers, g.people)),
                    "revenue_per_head": money(g.revenue / g.people, currency) if g.people else None}
        return {"sent": side(self.sent), "held_out": side(self.held_out),
                "conversion_rate_difference": self.conversion_rate.to_dict(),
                "revenue_per_head_difference": self.revenue_per_head.to_dict(),
                "incremental_revenue": money(self.incremental_revenue, currency),
                "incremental_revenue_low": money(self.incremental_low, currency),
                "incremental_revenue_high": money(self.incremental_high, currency),
                "incremental_roi": _s(self.incremental_roi), "significant": self.revenue_per_head.significant}


@dataclass(frozen=True)
class VariantTest:
    """Which variant leads by the campaign's metric, and whether its lead over the next one is significant."""

    metric: str
    scores: dict[str, Decimal]  # label -> metric value
    leader: str | None
    runner_up: str | None
    difference: Difference | None
    winner: str | None  # chosen (by the job or by hand), if it has been
    decided_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "scores": {k: str(v) for k, v in self.scores.items()}, "leader": self.leader,
                "runner_up": self.runner_up, "difference": self.difference.to_dict() if self.difference else None,
                "significant": bool(self.difference and self.difference.significant), "winner": self.winner,
                "decided_at": self.decided_at.isoformat() if self.decided_at else None}


def holdout_groups(cube: Iterable[rq.CubeRow]) -> dict[str, rq.GroupOutcome]:
    """The holdout comparison's two groups from the cube: held out, and everyone a provider took a message for."""
    sums = {"sent": [0, 0, Decimal(0), Decimal(0)], "held_out": [0, 0, Decimal(0), Decimal(0)]}
    for row in cube:
        if row.status == "held_out":
            parts = ("held_out", row.rows, row.buyers, row.bought, row.bought_squares)
        else:
            parts = ("sent", row.sent, row.sent_buyers, row.sent_bought, row.sent_bought_squares)
        acc = sums[parts[0]]
        for i, value in enumerate(parts[1:]):
            acc[i] += value
    return {g: rq.GroupOutcome(*values) for g, values in sums.items() if values[0]}


def holdout_from_groups(groups: Mapping[str, rq.GroupOutcome]) -> Holdout:
    empty = rq.GroupOutcome(0, 0, Decimal(0), Decimal(0))
    sent, held = groups.get("sent", empty), groups.get("held_out", empty)
    rate = two_proportions(sent.buyers, sent.people, held.buyers, held.people)
    per_head = welch(sent.people, float(sent.revenue), float(sent.squares),
                     held.people, float(held.revenue), float(held.squares))
    exact = (sent.revenue / sent.people if sent.people else Decimal(0)) - (
        held.revenue / held.people if held.people else Decimal(0))
    scale = Decimal(sent.people)
    width = Decimal(str(per_head.high - per_head.difference))
    return Holdout(sent, held, rate, per_head, (exact * scale).quantize(CENT, ROUND_HALF_UP),
                   ((exact - width) * scale).quantize(CENT, ROUND_HALF_UP),
                   ((exact + width) * scale).quantize(CENT, ROUND_HALF_UP), None)


def with_roi(h: Holdout, cost: Decimal | None) -> Holdout:
    """The holdout with its incremental ROI; `cost` None where ROI does not apply (no revenue goal)."""
    roi = None if cost is None else ratio(h.incremental_revenue - cost, cost)
    return Holdout(h.sent, h.held_out, h.conversion_rate, h.revenue_per_head, h.incremental_revenue,
                   h.incremental_low, h.incremental_high, roi)


def variant_scores(session: Session, campaign_id: int, metric: str, cube: list[rq.CubeRow] | None = None,
                   conversions: list[rq.ConversionRow] | None = None
                   ) -> dict[int, tuple[Decimal, int, int, Decimal, Decimal]]:
    """{variant id: (metric value, recipients sent, hits, Σ revenue, Σ revenue²)} for the A/B test.

    `cube` and `conversions` are the report's, when the caller already has them (the cube is the costly query)."""
    report_rows: dict[int, list[Any]] = {}
    for row in cube if cube is not None else rq.message_cube(session, campaign_id=campaign_id):
        if row.variant_id is not None and not row.rollout:  # the test phase's groups only
            r = report_rows.setdefault(row.variant_id, [0, 0])
            r[0] += row.sent
            r[1] += row.clicked
    money_rows = rq.converters_by_variant(conversions if conversions is not None
                                          else rq.conversion_cube(session, campaign_id=campaign_id))
    out = {}
    for variant_id, (sent, clicked) in report_rows.items():
        buyers, revenue, squares = money_rows.get(variant_id, (0, Decimal(0), Decimal(0)))
        if metric == "click_rate":
            value, hits = ratio(clicked, sent) or Decimal(0), clicked
        elif metric == "conversion_rate":
            value, hits = ratio(buyers, sent) or Decimal(0), buyers
        else:
            value, hits = (revenue / sent).quantize(CENT, ROUND_HALF_UP) if sent else Decimal(0), buyers
        out[variant_id] = (value, sent, hits, revenue, squares)
    return out


def variant_test(session: Session, campaign: Any, variants: Mapping[int, Any], cube: list[rq.CubeRow],
                 conversions: list[rq.ConversionRow]) -> VariantTest:
    metric = campaign.ab_metric
    scores = variant_scores(session, campaign.id, metric, cube, conversions)
    ranked = sorted(scores, key=lambda v: (-scores[v][0], v))
    leader = ranked[0] if ranked else None
    runner = ranked[1] if len(ranked) > 1 else None
    difference = None
    if leader is not None and runner is not None:
        _, n_a, hits_a, sum_a, sq_a = scores[leader]
        _, n_b, hits_b, sum_b, sq_b = scores[runner]
        if metric == "revenue_per_recipient":
            difference = welch(n_a, float(sum_a), float(sq_a), n_b, float(sum_b), float(sq_b))
        else:
            difference = two_proportions(hits_a, n_a, hits_b, n_b)
    winner = next((v.label for v in variants.values() if v.winner), None)
    return VariantTest(METRIC_NAMES.get(metric, metric), {variants[v].label: scores[v][0] for v in ranked},
                       variants[leader].label if leader else None, variants[runner].label if runner else None,
                       difference, winner, campaign.ab_decided_at)
