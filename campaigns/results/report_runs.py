"""Each run's own report: a recurring, date-rule or holiday campaign fires many times, and each firing
is a Run with its own audience snapshot — so its own recipients, sent, delivered, failed and cost.

One GROUP BY over the campaign's messages by run and status (ix_messages_campaign_status leads with the
campaign); the campaign report adds these as its "By run" table, the API and `herald campaigns runs`
read them, and one run's report adds its failures by reason. The figures mean what the campaign
report's mean: sent is every row a provider took (sent_at set), delivered and failed are row statuses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaigns.models import Message, Run
from campaigns.results.report_numbers import money
from core.errors import NotFound

UTC_ZONE = ZoneInfo("UTC")


def local_time_text(at: datetime, zone: ZoneInfo) -> str:
    """"2026-03-02 17:00 UTC+08:00" — the wall time in `zone`, with its offset so a file read elsewhere (or
    on the day the clocks change) is still unambiguous; "2026-03-02 09:00 UTC" in UTC."""
    local = at.astimezone(zone)
    minutes = int((local.utcoffset() or timedelta(0)).total_seconds()) // 60
    offset = "" if not minutes else f"{'+' if minutes > 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{local:%Y-%m-%d %H:%M} UTC{offset}"


# Statuses of rows still to go out, shown together as "waiting".
WAITING = ("pending", "sending", "waiting")
RUN_COLUMNS = ["Run", "Occasion", "Fired at", "Status", "Recipients", "Sent", "Delivered", "Failed", "Unknown",
               "Waiting", "Not sent", "Notes"]


@dataclass(frozen=True)
class RunReport:
    """One run's figures. `counts` holds its messages by status; `sent` the rows a provider took."""

    run_id: int
    occasion_key: str
    status: str
    fired_at: datetime | None
    started_at: datetime
    finished_at: datetime | None
    dry_run: bool
    notes: str
    counts: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)  # by currency, as charged
    failures: list[tuple[str | None, str | None, int]] = field(default_factory=list)  # one run's report only

    @property
    def recipients(self) -> int:
        return sum(self.counts.values())

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)

    @property
    def delivered(self) -> int:
        return self.count("delivered")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def waiting(self) -> int:
        return sum(self.count(s) for s in WAITING)

    @property
    def not_sent(self) -> int:
        """Rows that never go out: suppressed, capped, duplicate, held out, cancelled, or failed before a provider
        took them."""
        return self.recipients - self.sent - self.waiting - self.count("unknown")

    def row(self, zone: ZoneInfo = UTC_ZONE) -> list[Any]:
        """The "By run" table's row (RUN_COLUMNS), as the page, CSV and XLSX show it: times in `zone`, the
        workspace's, as the rest of the UI writes them."""
        fired = self.fired_at or self.started_at
        return [self.run_id, self.occasion_key, local_time_text(fired, zone), self.status, self.recipients,
                self.sent, self.delivered, self.failed, self.count("unknown"), self.waiting, self.not_sent, self.notes]

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {"run_id": self.run_id, "occasion_key": self.occasion_key, "status": self.status,
                "fired_at": iso(self.fired_at), "started_at": iso(self.started_at),
                "finished_at": iso(self.finished_at), "dry_run": self.dry_run, "notes": self.notes,
                "recipients": self.recipients, "sent": self.sent, "delivered": self.delivered, "failed": self.failed,
                "unknown": self.count("unknown"), "waiting": self.waiting, "not_sent": self.not_sent,
                "counts": dict(self.counts), "cost": {c: money(a, c) for c, a in sorted(self.cost.items())},
                "failures": [{"code": c, "reason": r, "count": n} for c, r, n in self.failures]}


def run_reports(session: Session, campaign_id: int, *, run_id: int | None = None,
                limit: int | None = None) -> list[RunReport]:
    """Every run of the campaign (or the one `run_id`, or the newest `limit`), newest first, with its figures:
    two queries."""
    runs_query = select(Run).where(Run.campaign_id == campaign_id)
    figures = select(Message.run_id, Message.status, Message.currency, func.count(), func.count(Message.sent_at),
                     func.sum(Message.cost)).where(Message.campaign_id == campaign_id)
    if run_id is not None:
        runs_query = runs_query.where(Run.id == run_id)
        figures = figures.where(Message.run_id == run_id)
    runs = list(session.scalars(runs_query.order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)))
    if limit is not None and runs:
        figures = figures.where(Message.run_id.in_([run.id for run in runs]))
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    sent: dict[int, int] = defaultdict(int)
    cost: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for rid, status, currency, n, taken, charged in session.execute(
            figures.group_by(Message.run_id, Message.status, Message.currency)):
        counts[rid][status] += n
        sent[rid] += taken
        if charged is not None:
            cost[rid][currency or ""] += Decimal(charged)
    return [RunReport(run.id, run.occasion_key, run.status, run.fired_at, run.started_at, run.finished_at,
                      run.dry_run, run.notes or "", dict(counts[run.id]), sent[run.id], dict(cost[run.id]))
            for run in runs]


def run_report(session: Session, campaign_id: int, run_id: int) -> RunReport:
    """One run's report, with its failures by reason. Raises NotFound naming the run and the campaign."""
    found = run_reports(session, campaign_id, run_id=run_id)
    if not found:
        raise NotFound(f"campaign {campaign_id} has no run {run_id}; `herald campaigns runs {campaign_id}` or the "
                       "report's runs table lists its runs")
    count = func.count().label("n")
    failures = session.execute(
        select(Message.error_code, Message.error_reason, count)
        .where(Message.campaign_id == campaign_id, Message.run_id == run_id, Message.status == "failed")
        .group_by(Message.error_code, Message.error_reason).order_by(count.desc(), Message.error_code))
    report = found[0]
    return RunReport(**{**report.__dict__, "failures": [(c, r, n) for c, r, n in failures]})


def repeats(kind: str, runs: int) -> bool:
    """Whether a campaign's report breaks down by run: it fires repeatedly, or has fired more than once."""
    return kind in ("recurring", "date_rule", "holiday") or runs > 1


def runs_for_report(session: Session, campaign_id: int, kind: str) -> list[RunReport]:
    """The campaign report's "By run" rows: none for a campaign that fired once (its totals are its run's),
    so a million-recipient broadcast's report pays nothing for them."""
    fired = session.scalar(select(func.count()).select_from(Run).where(Run.campaign_id == campaign_id)) or 0
    return run_reports(session, campaign_id) if repeats(kind, fired) and fired else []
