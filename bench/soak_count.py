"""The soak benchmark's counts (bench/soak.py): every row from the database, every message each provider kept,
compared per recipient, and the one table the run prints with the guarantees it checks."""

from __future__ import annotations

import argparse
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from soak_plan import Plan
from sqlalchemy import select

from campaigns import Message, Run
from campaigns.models import MessageEvent
from core.clock import SystemClock
from core.db import Database

UNFINISHED = ("waiting", "pending", "sending")
SENT = ("sent", "delivered")
# A claimed row whose lease ran out this long before the end and that nobody settled is stuck: the scheduler's
# release job runs every 60 s, and every claim settles expired leases first.
STUCK_SECONDS = 90
WINDOW_SECONDS = 10  # throughput windows


@dataclass
class Rows:
    """What the database says at one moment."""

    rows: list[tuple[int, int, str, str, str | None, str | None]]  # id, campaign, address, status, code, provider id
    stuck: set[int]  # claimed (sending), lease run out STUCK_SECONDS ago or more
    ever_unknown: set[int]  # rows that were `unknown` at some point
    reconciled: dict[int, str]  # row -> how the reconciler resolved it (sent, not_received, resent)
    runs: Counter[int]  # campaign -> runs


def read_rows(database: Database) -> Rows:
    with database.session() as session:
        rows = session.execute(select(Message.id, Message.campaign_id, Message.address, Message.status,
                                      Message.error_code, Message.provider_id)).tuples().all()
        long_ago = SystemClock().now() - timedelta(seconds=STUCK_SECONDS)
        stuck = set(session.scalars(select(Message.id).where(Message.status == "sending",
                                                             Message.lease_expires_at < long_ago)))
        ever_unknown = set(session.scalars(select(MessageEvent.message_id).where(MessageEvent.type == "unknown")))
        reconciled = {mid: (detail or {}).get("outcome", "?") for mid, detail in session.execute(
            select(MessageEvent.message_id, MessageEvent.detail).where(MessageEvent.type == "reconciled")).tuples()}
        runs = Counter(session.scalars(select(Run.campaign_id)))
    return Rows(list(rows), stuck, ever_unknown, reconciled, runs)


@dataclass
class Kept:
    """What the providers kept: per recipient, the key (Idempotency-Key or Message-ID) of each copy."""

    copies: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    provider_ids: set[str] = field(default_factory=set)  # Twilio sids and Message-IDs


def kept_by_providers(seen: dict[str, dict]) -> Kept:
    kept = Kept()
    for to, key, sid, status in seen["twilio"]["requests"]:
        if sid is not None and status == 201:
            kept.copies[to].append(key or "")
            kept.provider_ids.add(sid)
    for rcpt_tos, message_id, _ in seen["smtp"]["messages"]:
        for rcpt in rcpt_tos:
            kept.copies[rcpt].append(message_id)
        kept.provider_ids.add(message_id)
    return kept


def tally(plan: Plan, campaign_ids: dict[str, int], before: Rows, after: Rows, kept: Kept) -> dict[str, Counter]:
    """Per kind ("sms at-most-once", …) and "all": the figures of the table (see print_report)."""
    kind_of_campaign = {campaign_ids[c.name]: c.kind for c in plan.campaigns}
    figures: dict[str, Counter] = defaultdict(Counter)
    wrong_codes: Counter[str] = Counter()
    for c in plan.campaigns:
        f = figures[c.kind]
        f["campaigns"] += 1
        f["recipients"] += len(c.addresses)
        f["fired more than once"] += after.runs[campaign_ids[c.name]] > 1
        f["never fired"] += after.runs[campaign_ids[c.name]] == 0
        for address in c.addresses:
            copies = kept.copies.get(address, [])
            planted = address in plan.refused
            f["refused for good (planted)"] += planted
            f["reached the provider"] += bool(copies)
            if len(copies) > 1:
                f["duplicates (recipients)"] += 1
                f["extra copies"] += len(copies) - 1
                f["duplicates whose copies share one key"] += len(set(copies)) == 1
    unknown_before = {mid for mid, _, _, status, _, _ in before.rows if status == "unknown"}
    for mid, campaign_id, address, status, code, provider_id in after.rows:
        f = figures[kind_of_campaign[campaign_id]]
        reached = bool(kept.copies.get(address))
        planted = address in plan.refused
        f["unknown, ever"] += mid in after.ever_unknown
        f["unknown, ever, that had reached the provider"] += mid in after.ever_unknown and reached
        f["unknown before reconcile"] += mid in unknown_before
        f["unknown after reconcile"] += status == "unknown"
        outcome = after.reconciled.get(mid)
        if outcome is not None:
            f[f"reconciled: {outcome}"] += 1
            f["reconciled against the provider's record"] += (outcome == "sent") != reached
        f["finished, never reached the provider"] += not reached and not planted and status not in UNFINISHED
        # Stuck is judged when the fleet stopped (`before`): after that nobody was left to settle anything.
        f["stuck (claimed, lease long run out)"] += mid in before.stuck
        f["left unsent (the run ended first)"] += status in UNFINISHED and mid not in before.stuck
        f["failed, refused for good (expected)"] += status == "failed" and planted
        if status == "failed" and not planted and not (code == "not_received" and not reached):
            f["failed wrongly"] += 1
            wrong_codes[code or "?"] += 1
        f["sent, but not at the provider"] += status in SENT and provider_id not in kept.provider_ids
        f["planted refusal sent"] += planted and status in SENT
    total = Counter()
    for f in figures.values():
        total.update(f)
    figures["all"] = total
    figures["_wrong_codes"] = wrong_codes
    return figures


def broken_guarantees(figures: dict[str, Counter]) -> list[str]:
    """What the run found broken, each said in words."""
    broken = []
    for kind, f in figures.items():
        if kind.startswith("_") or kind == "all":
            continue
        checks = {
            "duplicates (recipients)": kind.endswith("at-most-once"),
            "finished, never reached the provider": kind.endswith("at-least-once"),
            "unknown, ever": kind.endswith("at-least-once"),
            "stuck (claimed, lease long run out)": True, "failed wrongly": True, "sent, but not at the provider": True,
            "reconciled against the provider's record": True, "fired more than once": True, "never fired": True,
            "planted refusal sent": True,
        }
        broken += [f"{kind}: {name} = {f[name]}" for name, applies in checks.items() if applies and f[name]]
    return broken


def throughput(times: list[float], rate: float) -> str:
    """Accepted messages a second from the first to the last, and the median of the WINDOW_SECONDS windows
    between them that had any, each as a share of the allowed rate."""
    if len(times) < 2:
        return "too few messages to measure"
    times = sorted(times)
    span = times[-1] - times[0]
    overall = (len(times) - 1) / span
    windows = Counter(int((t - times[0]) // WINDOW_SECONDS) for t in times)
    full = [n / WINDOW_SECONDS for w, n in windows.items() if 0 < w < max(windows)] or [overall]
    median = statistics.median(full)
    return (f"{overall:.1f}/s over {span:.0f}s = {100 * overall / rate:.0f}% of {rate:g}/s; median "
            f"{WINDOW_SECONDS}s window {median:.1f}/s = {100 * median / rate:.0f}%")


ROWS = ["campaigns", "recipients", "refused for good (planted)", "reached the provider", "duplicates (recipients)",
        "extra copies", "duplicates whose copies share one key", "finished, never reached the provider",
        "unknown, ever",
        "unknown, ever, that had reached the provider", "unknown before reconcile", "reconciled: sent",
        "reconciled: not_received", "reconciled: resent", "unknown after reconcile",
        "reconciled against the provider's record", "stuck (claimed, lease long run out)",
        "left unsent (the run ended first)",
        "failed, refused for good (expected)", "failed wrongly", "sent, but not at the provider",
        "planted refusal sent", "fired more than once", "never fired"]


def print_report(figures: dict[str, Counter], *, args: argparse.Namespace, seen: dict[str, dict], kills: Counter,
                 leaderships: int, fenced: int, resolved: dict[str, int], load: tuple, seconds: tuple) -> list[str]:
    """Print the table and the lines under it; returns the broken guarantees (empty: all held)."""
    kinds = [k for k in figures if not k.startswith("_") and k != "all"] + ["all"]
    width = max(len(r) for r in ROWS) + 2
    print(f"{'':<{width}}" + "".join(f"{k:>22}" for k in kinds))
    for row in ROWS:
        print(f"{row:<{width}}" + "".join(f"{figures[k][row]:>22,}" for k in kinds))
    twilio, smtp = seen["twilio"], seen["smtp"]
    statuses = Counter({int(k): v for k, v in twilio["statuses"].items()})
    injected_429 = twilio["injected"].get("429", 0) - twilio["unused"]["429"]
    requests = sum(statuses.values())
    above = statuses[429] - injected_429  # the fake's token bucket said no
    print(f"\nSMS throughput: {throughput(twilio['accepted_at'], args.sms_rate)}; {requests:,} requests, "
          f"{above:,} refused above the rate ({100 * above / max(1, requests):.2f}%) + {injected_429:,} injected 429s")
    print(f"email throughput: {throughput([t for _, _, t in smtp['messages']], args.email_rate)}; "
          f"{smtp['throttled']:,} RCPTs refused above the rate (454)")
    faults = Counter({k: v - twilio["unused"].get(k, 0) for k, v in twilio["injected"].items()})
    smtp_faults = Counter({k: v - smtp["unused"].get(k, 0) for k, v in smtp["injected"].items()})
    print(f"faults: twilio {dict(faults)}; smtp {dict(smtp_faults)}; "
          f"failed-wrongly codes {dict(figures['_wrong_codes'])}")
    print(f"kills: {dict(kills)} ({sum(kills.values())} in {seconds[0]:.0f}s); leaderships taken "
          f"{leaderships}; jobs fenced {fenced}; settled {seconds[1]:.0f}s after the chaos")
    print(f"reconcile (herald campaigns reconcile, at-most-once campaigns): {resolved}")
    print(f"load average: {load[0][0]:.1f} at the start, {load[1][0]:.1f} at the end (2 cores, shared)")
    broken = broken_guarantees(figures)
    print("guarantees: " + ("all held" if not broken else "BROKEN — " + "; ".join(broken)))
    if figures["all"]["left unsent (the run ended first)"]:
        print("INCOMPLETE: rows were left unsent when --seconds and --settle-seconds ran out; lower --messages or "
              "raise the rates")
    return broken
