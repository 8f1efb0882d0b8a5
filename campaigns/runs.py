"""A campaign's runs, newest first, each with its firing time, notes and messages counted by status.

A recurring or date-rule campaign has one run per firing, and each is reported on its own (its own
audience snapshot, its own counts); the campaign page lists them with what the scheduler said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audiences import Contact
from campaigns.models import Message, Run

# Runs listed on a page; older ones are counted, not listed.
RUNS_SHOWN = 50


def has_sent_campaign(session: Session) -> bool:
    """Whether any campaign has been sent (a run that was not missed): the dashboard's last first step."""
    return session.scalar(select(Run.id).where(Run.status != "missed").limit(1)) is not None


@dataclass(frozen=True)
class RunSummary:
    id: int
    occasion_key: str
    status: str
    fired_at: datetime | None
    started_at: datetime
    finished_at: datetime | None
    dry_run: bool
    notes: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {"id": self.id, "occasion_key": self.occasion_key, "status": self.status,
                "fired_at": iso(self.fired_at), "started_at": iso(self.started_at),
                "finished_at": iso(self.finished_at), "dry_run": self.dry_run, "notes": self.notes,
                "counts": dict(self.counts), "total": self.total}


def campaign_runs(session: Session, campaign_id: int, *, limit: int = RUNS_SHOWN) -> list[RunSummary]:
    """The campaign's latest `limit` runs, newest first, with message counts by status (two queries)."""
    runs = list(session.scalars(select(Run).where(Run.campaign_id == campaign_id)
                                .order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)))
    counts: dict[int, dict[str, int]] = {run.id: {} for run in runs}
    if runs:
        rows = session.execute(select(Message.run_id, Message.status, func.count())
                               .where(Message.run_id.in_(list(counts)))
                               .group_by(Message.run_id, Message.status))
        for run_id, status, count in rows:
            counts[run_id][status] = count
    return [RunSummary(run.id, run.occasion_key, run.status, run.fired_at, run.started_at, run.finished_at,
                       run.dry_run, run.notes or "", counts[run.id]) for run in runs]


@dataclass(frozen=True)
class SendingStart:
    """A running campaign with nothing due yet: its first message waits for `at` (quiet hours, or each
    recipient's own send time). `local_time` is that moment in the waiting recipient's zone ("08:00")."""

    at: datetime
    local_time: str
    zone: str
    waiting: int


def sending_starts(session: Session, campaign_id: int, *, now: datetime, default_zone: str) -> SendingStart | None:
    """When a running campaign's first message goes out, if none is due or being sent yet; else None.

    Without this the page read "Sending … 0/2" for hours while quiet hours held every message back."""
    busy = session.scalar(select(func.count()).select_from(Message).where(
        Message.campaign_id == campaign_id,
        ((Message.status == "pending") & (Message.not_before <= now)) | (Message.status == "sending")))
    if busy:
        return None
    waiting_filter = (Message.campaign_id == campaign_id, Message.status == "pending", Message.not_before > now)
    waiting = session.scalar(select(func.count()).select_from(Message).where(*waiting_filter)) or 0
    if not waiting:
        return None
    first = session.execute(select(Message.not_before, Contact.time_zone)
                            .join(Contact, Contact.id == Message.contact_id)
                            .where(*waiting_filter).order_by(Message.not_before).limit(1)).first()
    session.rollback()
    if first is None:
        return None
    at, zone = first
    zone = zone or default_zone
    try:
        local = at.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        zone, local = default_zone, at.astimezone(ZoneInfo(default_zone))
    return SendingStart(at, local.strftime("%H:%M"), zone, waiting)
