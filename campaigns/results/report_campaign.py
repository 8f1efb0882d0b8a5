"""The campaign report: what a campaign reached, what it cost, what it brought in, and what it caused.

Every number comes from a handful of GROUP BYs (campaigns/results/report_queries.py) and is assembled here,
once, into one CampaignReport. The page, the CSV/XLSX export and the API all read that object (its
`tables()` and `to_dict()`), so they agree to the unit. Money is Decimal in the workspace currency,
rounded to the cent only when shown; rates are fractions rounded to 4 places when shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.ab_test import rollout_condition, variants_of
from campaigns.lifecycle import get_campaign
from campaigns.models import Run
from campaigns.results import message_counts
from campaigns.results import report_queries as rq
from campaigns.results.report_effect import (
    Holdout,
    VariantTest,
    holdout_from_groups,
    holdout_groups,
    variant_test,
    with_roi,
)
from campaigns.results.report_numbers import CENT, NO_REVENUE_GOAL, NOT_APPLICABLE, has_revenue_goal, money, ratio
from campaigns.results.report_numbers import shown as _s
from campaigns.results.report_runs import RUN_COLUMNS, RunReport, runs_for_report
from campaigns.results.report_settings import ReportSettings
from campaigns.results.report_slices import SLICE_COLUMNS, Slice

NOT_SENT = ("suppressed", "capped", "duplicate", "held_out", "waiting", "cancelled")
# Never reachable by this run: the funnel's "Reachable" step leaves them out.
UNREACHABLE = NOT_SENT[:5]
HOLDOUT_COLUMNS = {"people": "People", "buyers": "Buyers", "conversion_rate": "Conversion rate", "revenue": "Revenue",
                   "revenue_per_head": "Revenue per head"}
SEGMENT_TITLES = {"value_tier": "Value tier", "lifecycle_stage": "Lifecycle stage", "region": "Region"}


@dataclass(frozen=True)
class Failure:
    code: str | None
    reason: str | None
    count: int


@dataclass
class CampaignReport:
    campaign_id: int
    name: str
    channel: str
    kind: str
    status: str
    currency: str  # the workspace currency every money figure is in
    counts: dict[str, int]  # messages by status
    total: Slice
    failures: list[Failure]
    cost_by_currency: dict[str, Decimal]  # variable cost as charged, before conversion
    variable_cost: Decimal
    fixed_costs: list[tuple[str, Decimal, str]]
    fixed_cost: Decimal
    unconverted: dict[str, Decimal]  # costs in a currency without a rate: left out of ROI, named in the notes
    attribution: dict[str, tuple[int, Decimal]]  # rule -> (conversions, revenue)
    window_days: int
    replied: int
    holdout: Holdout | None
    ab: VariantTest | None
    by_variant: list[Slice]
    by_channel: list[Slice]
    by_segment: dict[str, list[Slice]]
    series_grain: str
    series: dict[str, dict[str, int]]
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    runs: list[RunReport] = field(default_factory=list)  # newest first; only for a campaign that repeats
    revenue_goal: bool = True  # False for event notices and operational messages: ROI does not apply
    time_zone: str = "UTC"  # the workspace's ([app] default_timezone): the series' hours and the runs' times

    # ---- derived figures (one definition each, read by the page, the export and the API)
    @property
    def cost(self) -> Decimal:
        return self.variable_cost + self.fixed_cost

    @property
    def roi(self) -> Decimal | None:
        """(revenue − cost) ÷ cost; None without a cost, or where ROI does not apply (see roi_note)."""
        return ratio(self.total.revenue - self.cost, self.cost) if self.revenue_goal else None

    @property
    def roi_note(self) -> str | None:
        """Why ROI is not shown, when it does not apply."""
        return None if self.revenue_goal else NO_REVENUE_GOAL

    @property
    def cost_per_conversion(self) -> Decimal | None:
        return (self.cost / self.total.conversions).quantize(CENT, ROUND_HALF_UP) if self.total.conversions else None

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)

    # The walking skeleton's names, still read by callers and templates.
    recipients = property(lambda self: self.total.audience)
    sent = property(lambda self: self.total.sent)
    delivered = property(lambda self: self.total.delivered)
    failed = property(lambda self: self.total.failed)
    unknown = property(lambda self: self.count("unknown"))
    suppressed = property(lambda self: self.count("suppressed"))
    cancelled = property(lambda self: self.count("cancelled"))
    pending = property(lambda self: self.count("pending"))
    sending = property(lambda self: self.count("sending"))

    def funnel(self) -> list[tuple[str, int]]:
        steps = [("Audience", self.total.audience),
                 ("Reachable", self.total.audience - sum(self.count(s) for s in UNREACHABLE)),
                 ("Sent", self.total.sent), ("Delivered", self.count("delivered"))]
        if self.channel == "email":
            steps.append(("Opened", self.total.opened))
        return [*steps, ("Clicked", self.total.clicked), ("Converted", self.total.converters)]

    def summary(self) -> list[tuple[str, str, Any]]:
        """(key, label, value) of the headline figures, in the order the page and the export show them."""
        t, c = self.total, self.currency
        return [
            ("audience", "Audience", t.audience), ("suppressed", "Suppressed", self.count("suppressed")),
            ("capped", "Capped", self.count("capped")),
            ("duplicate", "Duplicate address", self.count("duplicate")),
            ("held_out", "Held out", self.count("held_out")),
            ("waiting", "Waiting for the A/B winner", self.count("waiting")),
            ("sent", "Sent", t.sent), ("delivered", "Delivered", t.delivered), ("failed", "Failed", t.failed),
            ("unknown", "Unknown", self.count("unknown")), ("opened", "Opened (people)", t.opened),
            ("clicked", "Clicked", t.clicked), ("replied", "Replied", self.replied),
            ("unsubscribed", "Unsubscribed", t.unsubscribed), ("conversions", "Conversions", t.conversions),
            ("converted", "Converted (people)", t.converters), ("revenue", "Revenue", money(t.revenue, c)),
            ("variable_cost", "Cost of messages", money(self.variable_cost, c)),
            ("fixed_cost", "Fixed costs", money(self.fixed_cost, c)), ("cost", "Cost", money(self.cost, c)),
            ("roi", "ROI", _s(self.roi)), ("cost_per_conversion", "Cost per conversion",
                                          money(self.cost_per_conversion, c)),
            ("incremental_revenue", "Incremental revenue",
             money(self.holdout.incremental_revenue, c) if self.holdout else None),
            ("incremental_roi", "Incremental ROI", _s(self.holdout.incremental_roi) if self.holdout else None),
        ]

    def tables(self) -> list[tuple[str, str, list[str], list[list[Any]]]]:
        """(key, title, columns, rows) of every table on the page, as exported to CSV and XLSX."""
        c = self.currency
        out = [("summary", "Summary", ["Figure", f"Value ({self.currency} for money)"],
                [[label, NOT_APPLICABLE if key in ("roi", "incremental_roi") and not self.revenue_goal else value]
                 for key, label, value in self.summary()]),
               ("funnel", "Funnel", ["Step", "People"], [[k, v] for k, v in self.funnel()]),
               ("failures", "Failures by reason", ["Code", "Reason", "Messages"],
                [[f.code, f.reason, f.count] for f in self.failures]),
               ("costs", "Costs", ["Cost", "Amount", "Currency"],
                [[f"Messages ({cur})", money(a, cur), cur] for cur, a in sorted(self.cost_by_currency.items())]
                + [[label, money(amount, cur), cur] for label, amount, cur in self.fixed_costs]),
               ("attribution", "Conversions by attribution rule", ["Rule", "Conversions", "Revenue"],
                [[rule, n, money(rev, c)] for rule, (n, rev) in sorted(self.attribution.items())])]
        if self.by_variant:
            out.append(("variants", "By variant", ["Variant", *SLICE_COLUMNS[1:]], [s.row(c) for s in self.by_variant]))
        out.append(("channels", "By channel", ["Channel", *SLICE_COLUMNS[1:]], [s.row(c) for s in self.by_channel]))
        for column, slices in self.by_segment.items():
            out.append((f"segment_{column}", f"By {SEGMENT_TITLES[column].lower()}",
                        [SEGMENT_TITLES[column], *SLICE_COLUMNS[1:]], [s.row(c) for s in slices]))
        if self.holdout:
            h = self.holdout.to_dict(c)
            out.append(("holdout", "Sent group against holdout group",
                        ["Group", *HOLDOUT_COLUMNS.values()],
                        [[label, *(h[side][key] for key in HOLDOUT_COLUMNS)]
                         for side, label in (("sent", "Sent"), ("held_out", "Held out"))]))
        out.append(("series", f"By {self.series_grain}", [self.series_grain.title(), "Sent", "Delivered", "Clicks",
                                                          "Conversions"],
                    [[b, v["sent"], v["delivered"], v["clicked"], v["conversions"]] for b, v in self.series.items()]))
        if self.runs:
            out.append(("runs", "By run", RUN_COLUMNS, [run.row(ZoneInfo(self.time_zone)) for run in self.runs]))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings in `currency` (never floats), times as ISO 8601."""
        summary = {key: value for key, _, value in self.summary()}
        return {
            "campaign_id": self.campaign_id, "name": self.name, "channel": self.channel, "kind": self.kind,
            "status": self.status, "currency": self.currency,
            # the walking skeleton's fields, unchanged
            "recipients": self.total.audience, "sent": self.total.sent, "delivered": self.total.delivered,
            "failed": self.total.failed, "unknown": self.count("unknown"), "suppressed": self.count("suppressed"),
            "cancelled": self.count("cancelled"), "pending": self.count("pending"), "sending": self.count("sending"),
            "failures": [{"code": f.code, "reason": f.reason, "count": f.count} for f in self.failures],
            "cost": {currency: money(total, currency) for currency, total in self.cost_by_currency.items()},
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            # engagement, money and effect
            "summary": summary, "counts": dict(self.counts),
            "roi_applicable": self.revenue_goal, "roi_note": self.roi_note,
            "fixed_costs": [{"label": label, "amount": money(a, cur), "currency": cur}
                            for label, a, cur in self.fixed_costs],
            "unconverted_costs": {cur: money(a, cur) for cur, a in self.unconverted.items()},
            "attribution": {rule: {"conversions": n, "revenue": money(rev, self.currency)}
                            for rule, (n, rev) in sorted(self.attribution.items())},
            "attribution_window_days": self.window_days,
            "holdout": self.holdout.to_dict(self.currency) if self.holdout else None,
            "ab_test": self.ab.to_dict() if self.ab else None,
            "by_variant": [s.to_dict(self.currency) for s in self.by_variant],
            "by_channel": [s.to_dict(self.currency) for s in self.by_channel],
            "by_segment": {k: [s.to_dict(self.currency) for s in v] for k, v in self.by_segment.items()},
            "funnel": [{"step": k, "people": v} for k, v in self.funnel()],
            "series": {"grain": self.series_grain, "time_zone": self.time_zone,
                       "points": [{"at": b, **v} for b, v in self.series.items()]},
            "notes": list(self.notes),
            "runs": [run.to_dict() for run in self.runs],
        }


def _convert(amount: Decimal, currency: str | None, base: str, rates: Mapping[str, Decimal]) -> Decimal | None:
    code = (currency or base).upper()
    if code == base.upper():
        return amount
    rate = rates.get(code)
    return None if rate is None else amount * rate


def campaign_report(session: Session, campaign_id: int, settings: ReportSettings) -> CampaignReport:
    """Everything the report shows for one campaign, in the workspace currency (costs converted at its rates),
    its hours and times in the workspace's zone (settings.time_zone).

    `settings` comes from ReportSettings.from_config, whoever asks (page, exports, API, CLI). Raises NotFound.
    """
    currency, rates = settings.currency, settings.upper_rates()
    campaign = get_campaign(session, campaign_id)
    window = int(getattr(campaign, "attribution_window_days", 7) or 7)
    variants = {v.id: v for v in variants_of(session, campaign_id)}
    rollout = rollout_condition(campaign) if variants else None
    shape = _cube_shape(session, campaign, window, rollout)
    notes: list[str] = []
    columns = rq.segment_columns()

    total = Slice("All")
    by_variant: dict[tuple[int | None, bool], Slice] = {}
    by_channel: dict[str, Slice] = {}
    by_segment: dict[str, dict[str, Slice]] = {c: {} for c in columns}
    counts: dict[str, int] = defaultdict(int)
    cost_by_currency: dict[str, Decimal] = defaultdict(Decimal)
    unconverted: dict[str, Decimal] = defaultdict(Decimal)

    def label(variant_id: int | None, in_rollout: bool) -> str:
        name = variants[variant_id].label if variant_id in variants else "—"
        return f"{name} (rollout)" if in_rollout else name

    def slices(variant_id, channel, segment, in_rollout=False) -> Iterable[Slice]:
        yield total
        if variants:  # the rollout is a row of its own, after the test phase's groups
            yield by_variant.setdefault((variant_id, in_rollout), Slice(label(variant_id, in_rollout)))
        if channel:
            yield by_channel.setdefault(channel, Slice(channel))
        for column, value in zip(columns, segment, strict=True):
            key = value if value not in (None, "") else "—"
            yield by_segment[column].setdefault(key, Slice(key))

    cube = rq.message_cube(session, campaign_id=campaign_id, shape=shape)
    for row in cube:
        counts[row.status] += row.rows
        converted = Decimal(0)
        if row.cost:
            cost_by_currency[row.currency or currency] += row.cost
            as_base = _convert(row.cost, row.currency, currency, rates)
            if as_base is None:
                unconverted[(row.currency or "").upper()] += row.cost
            else:
                converted = as_base
        for s in slices(row.variant_id, row.channel, row.segment, row.rollout):
            s.add_messages(row, converted)

    conversions = rq.conversion_cube(session, campaign_id=campaign_id, rollout=rollout)
    for row in conversions:
        for s in slices(row.variant_id, row.channel, row.segment, row.rollout):
            if s is not total:
                s.add_conversions(row)
    attribution, total.converters = rq.attribution_totals(session, campaign_id=campaign_id)
    total.conversions = sum(n for n, _ in attribution.values())
    total.revenue = sum((rev for _, rev in attribution.values()), Decimal(0))

    fixed = rq.fixed_costs(session, campaign_id=campaign_id)
    fixed_total = Decimal(0)
    for _, amount, cur in fixed:
        as_base = _convert(amount, cur, currency, rates)
        if as_base is None:
            unconverted[cur.upper()] += amount
        else:
            fixed_total += as_base
    if unconverted:
        notes.append("Costs in " + ", ".join(sorted(unconverted)) + f" have no exchange rate to {currency}, so they "
                     "are left out of the cost, ROI and cost per conversion; add them under [currency.rates] in "
                     "config.toml.")

    replies = rq.replies_by_variant(session, campaign_id=campaign_id)
    if replies is None:
        notes.append("Replies are not recorded by this installation, so replied shows 0.")
    replied = sum((replies or {}).values())

    holdout = None
    if counts.get("held_out"):
        groups = holdout_groups(cube) if shape.window else rq.holdout_outcomes(
            session, campaign_id=campaign_id, window_days=window)
        holdout = holdout_from_groups(groups)
    report = CampaignReport(
        campaign_id=campaign.id, name=campaign.name, channel=campaign.channel, kind=campaign.kind,
        status=campaign.status, currency=currency, counts=dict(counts), total=total,
        failures=[Failure(c, r, n) for c, r, n in message_counts.failures_by_reason(session, campaign_id=campaign_id)],
        cost_by_currency=dict(cost_by_currency), variable_cost=total.cost, fixed_costs=fixed, fixed_cost=fixed_total,
        unconverted=dict(unconverted), attribution=attribution, window_days=window, replied=replied,
        holdout=holdout, ab=None,
        by_variant=[by_variant[k] for k in sorted(by_variant, key=lambda k: (k[1], k[0] is None, k[0] or 0))],
        by_channel=[by_channel[k] for k in sorted(by_channel)],
        by_segment={c: [v[k] for k in sorted(v)] for c, v in by_segment.items() if v},
        series_grain="hour", series={}, notes=notes,
    )
    report.revenue_goal = has_revenue_goal(campaign.kind, bool(campaign.operational))
    if holdout is not None:
        report.holdout = with_roi(holdout, report.cost if report.revenue_goal else None)
    if variants:
        report.ab = variant_test(session, campaign, variants, cube, conversions)
    report.time_zone = settings.time_zone
    hours = rq.time_series(session, campaign_id=campaign_id, zone=ZoneInfo(settings.time_zone))
    # By the hour while the campaign's activity fits in three days, then by the day (a readable chart).
    if len(hours) > 1 and _hours_between(min(hours), max(hours)) > 72:
        report.series_grain, report.series = "day", rq.roll_up_days(hours)
    else:
        report.series_grain, report.series = "hour", hours
    report.dry_run, report.started_at, report.finished_at = message_counts.run_summary(session, campaign_id=campaign_id)
    report.runs = runs_for_report(session, campaign_id, campaign.kind)
    if not columns:
        notes.append("Contacts have no tier, lifecycle stage or region in this installation, so there is no "
                     "breakdown by segment.")
    return report


def _hours_between(first: str, last: str) -> float:
    def parse(hour: str) -> datetime:
        return datetime.strptime(hour[:13], "%Y-%m-%d %H")  # a DST-repeated hour carries its offset after

    return (parse(last) - parse(first)).total_seconds() / 3600


def _cube_shape(session: Session, campaign: Any, window_days: int, rollout: Any | None) -> rq.CubeShape:
    """The holdout window in the cube when the campaign has one run (several runs, a recurring campaign,
    keep the per-run holdout query), and the A/B rollout's condition once a winner is chosen."""
    runs = session.execute(select(Run.started_at).where(Run.campaign_id == campaign.id)).scalars().all()
    if len(runs) != 1 or not campaign.holdout_percent:
        return rq.CubeShape(rollout=rollout)
    return rq.CubeShape(window=(runs[0], runs[0] + timedelta(days=window_days)), rollout=rollout)
