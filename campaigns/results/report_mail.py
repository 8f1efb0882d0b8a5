"""The weekly report by email: the overview of the last seven days, sent to chosen Herald users.

The figures are the overview report's (campaigns/results/report_overview.py), the ones the Reports page shows
for the same seven days; the email links to that page. Recipients must be Herald users: an address in
[reports] weekly_to that names no user is skipped and logged, so a typo cannot leak figures outside.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaigns.results.report_numbers import NOT_APPLICABLE, money
from campaigns.results.report_overview import OverviewReport, local_midnight, overview_report
from campaigns.results.report_settings import ReportSettings
from channels import Accepted, Channel, Outgoing
from core.users import User

log = logging.getLogger("herald.reports")


@dataclass(frozen=True)
class WeeklyMail:
    subject: str
    text: str
    html: str


def weekly_mail(overview: OverviewReport, *, link: str) -> WeeklyMail:
    """The email for an overview: totals, then one line per campaign, then the link to the page."""
    t, cur = overview.total, overview.currency
    # The period's days as the workspace counts them (its local midnights), as the Reports page does.
    period = f"{overview.local(overview.start).date()} – {(overview.local(overview.end) - timedelta(days=1)).date()}"
    roi = NOT_APPLICABLE if not t.revenue_goal else "—" if t.roi is None else f"{t.roi * 100:.1f}%"
    head = [("Campaigns", f"{t.campaigns:,}"), ("Sent", f"{t.sent:,}"), ("Delivered", f"{t.delivered:,}"),
            ("Clicked", f"{t.clicked:,}"), ("Conversions", f"{t.conversions:,}"),
            ("Revenue", f"{money(t.revenue, cur)} {cur}"), ("Cost", f"{money(t.cost, cur)} {cur}"), ("ROI", roi),
            ("Dormant contacts reactivated", f"{overview.reactivated:,} of {overview.dormant_sent:,}")]
    lines = [f"Herald weekly report, {period} (money in {cur})", ""]
    lines += [f"{label}: {value}" for label, value in head]
    lines += ["", "Campaigns:"]
    for c in overview.campaigns:
        f = c.figures
        lines.append(f"- {c.name} ({c.channel}, {c.status}): sent {f.sent:,}, clicked {f.clicked:,}, "
                     f"conversions {f.conversions:,}, revenue {money(f.revenue, cur)}, cost {money(f.cost, cur)}")
    if not overview.campaigns:
        lines.append("- none started in these seven days")
    lines += ["", f"The full report, with charts and Excel downloads: {link}"]
    def cells(*values: object) -> str:
        return "".join(f"<td align='right'>{escape(str(v))}</td>" for v in values)

    rows = "".join(f"<tr><td>{escape(c.name)}</td><td>{escape(c.channel)}</td>"
                   + cells(f"{c.figures.sent:,}", f"{c.figures.clicked:,}", f"{c.figures.conversions:,}",
                           money(c.figures.revenue, cur), money(c.figures.cost, cur)) + "</tr>"
                   for c in overview.campaigns)
    html = (f"<h2>Herald weekly report, {escape(period)}</h2><p>Money in {escape(cur)}.</p><table cellpadding='4'>"
            + "".join(f"<tr><th align='left'>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in head)
            + "</table><h3>Campaigns</h3><table cellpadding='4' border='1' style='border-collapse:collapse'>"
            "<tr><th>Campaign</th><th>Channel</th><th>Sent</th><th>Clicked</th><th>Conversions</th><th>Revenue</th>"
            f"<th>Cost</th></tr>{rows}</table><p><a href='{escape(link)}'>The full report</a></p>")
    return WeeklyMail(f"Herald weekly report {period}", "\n".join(lines), html)


def recipients(session: Session, emails: Sequence[str]) -> list[str]:
    """The configured addresses that belong to Herald users (compared ignoring case); others are logged."""
    wanted = {e.strip().lower() for e in emails if e.strip()}
    if not wanted:
        return []
    known = set(session.scalars(select(func.lower(User.email)).where(func.lower(User.email).in_(wanted))))
    for unknown in sorted(wanted - known):
        log.warning("event=weekly_report_recipient_unknown email=%s fix=\"add the user or fix [reports] weekly_to\"",
                    unknown)
    return sorted(known)


def send_weekly_report(session: Session, channel: Channel, *, emails: Sequence[str], now: datetime,
                       settings: ReportSettings, base_url: str) -> tuple[int, int]:
    """Email the last seven days' overview to the users among `emails`; returns (sent, refused). The days are the
    workspace's (settings.time_zone, [app] default_timezone): the seven local days before today, as the page's
    period."""
    to = recipients(session, emails)
    if not to:
        return 0, 0
    zone = settings.time_zone
    today = now.astimezone(ZoneInfo(zone)).date()
    first = today - timedelta(days=7)
    start, end = local_midnight(first, zone), local_midnight(today, zone)
    overview = overview_report(session, start=start, end=end, settings=settings)
    session.rollback()  # a read: do not hold a transaction (on SQLite, the write lock) while mailing
    link = (f"{base_url.rstrip('/')}/reports?from={first.isoformat()}"
            f"&to={(today - timedelta(days=1)).isoformat()}")
    mail = weekly_mail(overview, link=link)
    results = channel.send([Outgoing(n, "email", address, body=mail.text, subject=mail.subject, html=mail.html)
                            for n, address in enumerate(to, start=1)])
    sent = sum(isinstance(r, Accepted) for r in results)
    for result in results:
        if not isinstance(result, Accepted):
            log.warning("event=weekly_report_refused to=%s code=%s reason=%r", to[result.message_id - 1],
                        result.code, result.reason)
    return sent, len(results) - sent
