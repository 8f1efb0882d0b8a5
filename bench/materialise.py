"""Benchmark: materialising a 1,000,000-recipient run against a plain INSERT … SELECT of the same rows.

    .venv/bin/python bench/materialise.py [--contacts 1000000] [--pg-url postgresql+psycopg://…/postgres]
                                          [--repeat 3] [--keep]

On a fresh PostgreSQL database with N synthetic contacts (four time zones and none, 3% unsubscribed
from SMS, 1% of numbers on the suppression list, 10% with three marketing SMS sent in the last week),
it times, alternately and after one warm-up each:
  Herald:   campaigns.audience.materialise.materialise_run for an SMS campaign at 09:00 in each recipient's own
            zone, with a 10% holdout and the frequency cap (3 per 7 days): consent, suppression list,
            caps (one correlated count per recipient on ix_messages_contact_sent), holdout bucket,
            per-recipient send time — the INSERT … SELECT Herald really runs, plus its SELECT DISTINCT
            of the zones;
  baseline: a hand-written INSERT … SELECT of the same number of rows into the same table with only
            the holdout hash and a per-zone send time (a CASE on time_zone), nothing else checked.
Each timed statement writes 1,000,000 rows into messages (same indexes for both); its rows are deleted
and the table vacuumed, untimed, before the next. Prints both medians and the ratio (issue 4's target:
at most 2.0). Machines here are noisy: compare ratios, not times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch_db import scratch_database  # noqa: E402
from sqlalchemy import text  # noqa: E402

from campaigns import create_campaign, create_template  # noqa: E402
from campaigns.audience.caps import FrequencyCap  # noqa: E402
from campaigns.audience.holdout import HOLDOUT_HASH  # noqa: E402
from campaigns.audience.materialise import materialise_run  # noqa: E402
from campaigns.audience.send_time import Timing  # noqa: E402
from campaigns.models import Campaign, Run  # noqa: E402
from core.db import Database  # noqa: E402
from core.migrate import upgrade_database  # noqa: E402

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
SEND_DAY = date(2026, 11, 24)
ZONES = ("Asia/Shanghai", "America/New_York", "Europe/London", "Asia/Tokyo")

# name: fill-contacts — one statement; values derive from g so every run has the same data.
FILL = text("""
INSERT INTO contacts (email, phone, first_name, last_name, company, country, locale, time_zone, attributes,
                      created_at, updated_at)
SELECT 'c' || g || '@example.com', '+86138' || lpad(g::text, 8, '0'), 'Ann', 'Lee', '', 'CN', 'zh_CN',
       CASE WHEN g % 5 = 0 THEN NULL
            ELSE (ARRAY['Asia/Shanghai', 'America/New_York', 'Europe/London', 'Asia/Tokyo'])[1 + g % 4] END,
       '{}', :now, :now
FROM generate_series(1, :n) AS g
""")
# 3 marketing SMS in the last week for every tenth contact: at the cap, so the new run caps them.
EARLIER = text("""
INSERT INTO messages (run_id, campaign_id, contact_id, channel, address, status, priority, not_before, attempts,
                      sent_at, updated_at)
SELECT :run, :campaign, c.id, 'sms', c.phone, 'sent', 100, :sent, 1, :sent, :sent
FROM contacts c WHERE c.id % 10 = 0
""")


def baseline_sql(campaign_id: int, instants: dict[str, datetime], default: datetime) -> tuple[str, dict]:
    """The plain INSERT … SELECT: the holdout hash and a per-zone send time, nothing else."""
    by_contact, by_campaign, prime = HOLDOUT_HASH
    branches = " ".join(f"WHEN :zone{i} THEN :at{i}" for i in range(len(instants)))
    params: dict = {"default_at": default}
    for i, (zone, instant) in enumerate(sorted(instants.items())):
        params[f"zone{i}"], params[f"at{i}"] = zone, instant
    sql = f"""
INSERT INTO messages (run_id, campaign_id, contact_id, channel, address, status, priority, not_before, attempts,
                      updated_at)
SELECT :run, {campaign_id}, c.id, 'sms', c.phone,
       CASE WHEN ((c.id::bigint * {by_contact} + {campaign_id * by_campaign % prime}) % {prime}) % 100 < 10
            THEN 'held_out' ELSE 'pending' END,
       100, CASE c.time_zone {branches} ELSE :default_at END, 0, :now
FROM contacts c"""
    return sql, params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()
    with scratch_database(args.pg_url, "materialise", keep=args.keep) as url:
        run(url, args)


def fill(database: Database, n: int) -> int:
    """Contacts, opt-outs, the suppression list and last week's messages; returns the campaign to send."""
    with database.session() as session:
        template = create_template(session, name="Greeting", channel="sms", body="Hi {{ contact.first_name }}",
                                   now=NOW)
        earlier = create_campaign(session, name="Last week", channel="sms", template_id=template.id, now=NOW)
        campaign = create_campaign(session, name="Bench", channel="sms", template_id=template.id, now=NOW)
        session.get(Campaign, campaign.id).holdout_percent = 10
        session.commit()
        earlier_id, campaign_id = earlier.id, campaign.id
    with database.engine.begin() as conn:
        conn.execute(FILL, {"n": n, "now": NOW})
        conn.execute(text("INSERT INTO consents (contact_id, channel, status, source, changed_at) "
                          "SELECT id, 'sms', 'unsubscribed', 'bench', :now FROM contacts WHERE id % 33 = 0"),
                     {"now": NOW})
        conn.execute(text("INSERT INTO suppressions (channel, address, reason, source, created_at) "
                          "SELECT 'sms', phone, 'bench', 'bench', :now FROM contacts WHERE id % 100 = 7"),
                     {"now": NOW})
        for day in (1, 3, 5):
            run_id = conn.execute(text(
                "INSERT INTO runs (campaign_id, occasion_key, status, channel_url, dry_run, started_at) "
                "VALUES (:c, :k, 'completed', '', false, :now) RETURNING id"),
                {"c": earlier_id, "k": f"earlier-{day}", "now": NOW}).scalar_one()
            conn.execute(EARLIER, {"run": run_id, "campaign": earlier_id,
                                   "sent": NOW.replace(day=NOW.day - day)})
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return campaign_id


def new_run(database: Database, campaign_id: int, key: str) -> int:
    with database.session() as session:
        run = Run(campaign_id=campaign_id, occasion_key=key, status="completed", channel_url="", dry_run=False,
                  started_at=NOW)
        session.add(run)
        session.commit()
        return run.id


def clear(database: Database, run_id: int) -> None:
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM messages WHERE run_id = :r"), {"r": run_id})
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE messages"))


def run(url: str, args: argparse.Namespace) -> None:
    upgrade_database(url)
    database = Database(url)
    started = time.perf_counter()
    campaign_id = fill(database, args.contacts)
    print(f"filled {args.contacts:,} contacts in {time.perf_counter() - started:.1f} s "
          f"(PostgreSQL {database.engine.dialect.server_version_info})")
    timing = Timing(default_zone="UTC", day=SEND_DAY, at=clock_time(9, 0), per_recipient=True)
    instants = {zone: timing.instant_in(ZoneInfo(zone), NOW) for zone in ZONES}
    default = timing.instant_in(ZoneInfo("UTC"), NOW)
    cap = FrequencyCap(3, 7)

    def herald(key: str) -> tuple[float, dict]:
        run_id = new_run(database, campaign_id, key)
        with database.session() as session:
            campaign = session.get(Campaign, campaign_id)
            run_row = session.get(Run, run_id)
            session.commit()
            begun = time.perf_counter()
            materialise_run(session, run=run_row, campaign=campaign, now=NOW, cap=cap, timing=timing)
            session.commit()
            seconds = time.perf_counter() - begun
        with database.engine.connect() as conn:
            counts = dict(conn.execute(text("SELECT status, count(*) FROM messages WHERE run_id = :r "
                                            "GROUP BY status"), {"r": run_id}).all())
        assert sum(counts.values()) == args.contacts, counts
        clear(database, run_id)
        return seconds, counts

    def baseline(key: str) -> tuple[float, dict]:
        run_id = new_run(database, campaign_id, key)
        sql, params = baseline_sql(campaign_id, instants, default)
        begun = time.perf_counter()
        with database.engine.begin() as conn:
            written = conn.execute(text(sql), {**params, "run": run_id, "now": NOW}).rowcount
        seconds = time.perf_counter() - begun
        assert written == args.contacts, written
        clear(database, run_id)
        return seconds, {}

    herald("warm-herald")
    baseline("warm-baseline")
    herald_times, baseline_times, counts = [], [], {}
    for i in range(args.repeat):
        seconds, counts = herald(f"herald-{i}")
        herald_times.append(seconds)
        baseline_times.append(baseline(f"baseline-{i}")[0])
        print(f"  round {i + 1}: Herald {herald_times[-1]:.2f} s, baseline {baseline_times[-1]:.2f} s", flush=True)
    herald_s, baseline_s = statistics.median(herald_times), statistics.median(baseline_times)
    print(f"Herald's run, by status: {dict(sorted(counts.items()))}")
    print(f"{'':<34}{'median s':>10}")
    print(f"{'Herald materialise_run':<34}{herald_s:>10.2f}")
    print(f"{'plain INSERT … SELECT (baseline)':<34}{baseline_s:>10.2f}")
    print(f"ratio Herald / baseline: {herald_s / baseline_s:.2f}  (target: at most 2.0)")
    database.dispose()


if __name__ == "__main__":
    main()
