"""Benchmark: one month of the send calendar (campaigns/send_calendar.py) against one campaign's estimate.

    .venv/bin/python bench/calendar_month.py [--contacts 10000] [--campaigns 20] [--repeat 5]

On a fresh SQLite file (embedded mode, the slower case for the GROUP BYs) with N contacts — phones, emails,
birthdays spread over the year, a custom date field `member_since` on every third, a tenth opted out of
SMS — and C scheduled campaigns (a quarter each: once at a time, a daily cron rule, a birthday date rule,
a holiday), it times `sends_between` for the next month, cold (first render after start) and warm, and,
as the baseline in the same run, `estimate_campaign` of a single campaign (what the campaign page does).
It prints the median times and the ratios month/one estimate, with an empty estimate cache and with a warm
one (campaigns/send_calendar.py EstimateCache): empty, the calendar costs one estimate per distinct audience
signature, never one per day or per campaign; warm, only the fingerprint query and the schedules' firings.
Machines here are noisy: compare ratios, not times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import insert  # noqa: E402

from audiences.models import Consent, Contact  # noqa: E402
from campaigns import (  # noqa: E402
    create_campaign,
    create_template,
    estimate_campaign,
    schedule_campaign,
    set_campaign_schedule,
)
from campaigns.schedules import Schedule  # noqa: E402
from campaigns.send_calendar import EstimateCache, Window, sends_between  # noqa: E402
from core.db import Database  # noqa: E402
from core.migrate import upgrade_database  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def fill(database: Database, contacts: int, campaigns: int) -> None:
    with database.session() as session:
        rows = [{"email": f"c{n}@example.com", "phone": f"+86138{n:08d}", "first_name": ("芳", "Ann", "伟")[n % 3],
                 "last_name": "Lee", "birthday": date(1970 + n % 40, 1, 1) + timedelta(days=(n * 7919) % 365),
                 "attributes": ({"member_since": f"20{10 + n % 14}-{1 + n % 12:02d}-{1 + n % 28:02d}"}
                                if n % 3 == 0 else {}),
                 "created_at": NOW, "updated_at": NOW} for n in range(contacts)]
        session.execute(insert(Contact), rows)
        ids = [n + 1 for n in range(0, contacts, 10)]
        session.execute(insert(Consent), [{"contact_id": i, "channel": "sms", "status": "unsubscribed",
                                           "source": "bench", "changed_at": NOW} for i in ids])
        session.commit()
        body = "{{ contact.first_name }}，会员日快乐！回复TD退订"
        sms = create_template(session, name="SMS", channel="sms", body=body, now=NOW)
        kinds = [
            {"kind": "at", "send_at": "2026-12-12T10:00", "time_zone": "Asia/Shanghai"},
            {"kind": "recurring", "cron": "0 10 * * *", "time_zone": "Asia/Shanghai", "max_runs": 60},
            {"kind": "date_rule", "date_source": "birthday", "time_of_day": "09:00", "time_zone": "Asia/Shanghai"},
            {"kind": "holiday", "country": "CN", "holiday": "New Year's Day", "time_of_day": "09:00",
             "time_zone": "Asia/Shanghai"},
        ]
        for n in range(campaigns):
            data = dict(kinds[n % 4])
            if data["kind"] == "date_rule" and n % 8 == 6:
                data["date_source"] = "attribute:member_since"
            campaign = create_campaign(session, name=f"Campaign {n}", channel="sms", template_id=sms.id, now=NOW)
            set_campaign_schedule(session, campaign.id, Schedule.from_dict(data, today=NOW.date()), now=NOW)
            schedule_campaign(session, campaign.id, now=NOW)


def estimate_of(session):
    def estimate(campaign):
        return estimate_campaign(session, campaign.id, now=NOW, price=Decimal("0.045"), currency="CNY",
                                 rate="10/second", names=False)
    return estimate


def timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/bench.db"
        upgrade_database(url)
        database = Database(url)
        fill(database, args.contacts, args.campaigns)
        window = Window(date(2026, 12, 1), date(2026, 12, 31), "Asia/Shanghai", NOW, "CNY")
        cache = EstimateCache()
        with database.session() as session:
            days: list = []
            cold = timed(lambda: days.extend(sends_between(session, window, estimate_of(session), cache=cache)))
        months, singles, uncached = [], [], []
        for _ in range(args.repeat):
            with database.session() as session:
                months.append(timed(lambda s=session: sends_between(s, window, estimate_of(s), cache=cache)))
                uncached.append(timed(lambda s=session: sends_between(s, window, estimate_of(s),
                                                                      cache=EstimateCache())))
                singles.append(timed(lambda s=session: estimate_of(s)(type("C", (), {"id": 1})())))
        database.dispose()
    sends = sum(len(day.sends) for day in days)
    recipients = sum(day.recipients for day in days)
    month, single, fresh = statistics.median(months), statistics.median(singles), statistics.median(uncached)
    print(f"contacts={args.contacts} campaigns={args.campaigns} sends_in_december={sends} recipients={recipients}")
    print(f"month, first render={cold * 1000:.0f} ms; cache empty (median)={fresh * 1000:.0f} ms; "
          f"cached (median)={month * 1000:.0f} ms")
    print(f"one campaign's estimate (baseline, median)={single * 1000:.0f} ms; ratio month cache empty/estimate="
          f"{fresh / single:.1f}; cached/estimate={month / single:.2f}")


if __name__ == "__main__":
    main()
