"""Benchmark: the whole campaign report against one hand-written GROUP BY over the same tables; the overview.

    .venv/bin/python bench/report.py [--recipients 1000000] [--events 3000000] [--campaigns 100]
                                     [--pg-url postgresql+psycopg://…/postgres] [--repeat 5] [--keep]

On a fresh PostgreSQL database it writes, with a few INSERT … SELECTs over generate_series, N contacts
(tier, lifecycle stage, region), one email campaign to all of them with a 10% holdout and two variants
(messages held out, suppressed, sent, delivered, failed; costs in USD), about 3 events per recipient
(queued, sent, delivered, opened by people and by machines, clicked), 2% of recipients converting (some
in euros, some attributed by code), and 99 small campaigns for the overview. It then times, alternately
after one warm-up and as the median of --repeat runs:
  1. Herald's whole campaign report (campaigns.campaign_report + the API's to_dict + the export tables +
     the page's SVG charts), and
  2. one hand-written GROUP BY of the campaign's messages LEFT JOIN its events by (variant, status, event type),
and prints both times and their ratio (issue 6's target: at most 3), then the overview report over
every campaign (target: under 1 s). Machines here are noisy: compare ratios, not times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch_db import scratch_database  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from campaigns.results.report_campaign import campaign_report  # noqa: E402
from campaigns.results.report_settings import ReportSettings  # noqa: E402
from core.db import Database  # noqa: E402
from core.migrate import upgrade_database  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T0 = NOW - timedelta(days=10)
RATES = {"EUR": Decimal("1.10")}

FILL_CONTACTS = text("""
INSERT INTO contacts (email, phone, first_name, last_name, company, country, locale, time_zone, attributes,
                      value_tier, lifecycle_stage, region, created_at, updated_at)
SELECT 'c' || g || '@example.com', '+86138' || lpad(g::text, 8, '0'), 'Ann', 'Lee', '', 'CN', 'zh_CN',
       'Asia/Shanghai', '{}'::json,
       (ARRAY['A', 'B', 'C', 'C'])[1 + g % 4],
       (ARRAY['new', 'active', 'loyal', 'dormant', 'potential'])[1 + (g / 3) % 5],
       (ARRAY['北京', '上海', '广州', '深圳', '杭州', '成都'])[1 + (g * 7) % 6],
       :t0, :t0
FROM generate_series(1, :n) AS g
""")

# Statuses by a hash of the contact id: 10% held out (as materialise would), 2% suppressed, 3% failed,
# 80% delivered, the rest sent. Variant A or B for the ones a message went to.
def fill_messages_sql() -> str:
    return """
INSERT INTO messages (run_id, campaign_id, contact_id, channel, address, status, priority, not_before, attempts,
                      cost, currency, sent_at, delivered_at, variant_id, updated_at)
SELECT :run, :campaign, id, 'email', email, status, 100, :t0, 1,
       CASE WHEN sent THEN 0.0079 END, CASE WHEN sent THEN 'USD' END,
       CASE WHEN sent THEN :t0 + make_interval(mins => (id % 600)) END,
       CASE WHEN status = 'delivered' THEN :t0 + make_interval(mins => (id % 600) + 1) END,
       CASE WHEN sent THEN (ARRAY[:va, :vb])[1 + (id / 7) % 2] END,
       :t0
FROM (SELECT id, email, h >= 12 AS sent,
             CASE WHEN h < 10 THEN 'held_out' WHEN h < 12 THEN 'suppressed' WHEN h < 15 THEN 'failed'
                  WHEN h < 95 THEN 'delivered' ELSE 'sent' END AS status
        FROM (SELECT id, email, ((id::bigint * 2654435761 + 17) % 10007) % 100 AS h FROM contacts) AS hashed
     ) AS planned
"""


# queued for every recipient; sent for every sent one; delivered for the delivered; opens for 20% of the
# sent (half of them a machine's); clicks for 12%. About 3 per recipient.
FILL_EVENTS = text("""
INSERT INTO message_events (message_id, type, occurred_at, detail)
SELECT m.id, e.type, m.not_before + make_interval(mins => e.minutes + (m.id % 600)), e.detail::json
FROM messages AS m
JOIN (VALUES ('queued', 0, '{}', 0, 100), ('sent', 0, '{}', 0, 100), ('delivered', 1, '{}', 0, 100),
             ('opened', 30, '{"machine": false}', 0, 10), ('opened', 1, '{"machine": true}', 10, 20),
             ('clicked', 45, '{"machine": false}', 20, 32)) AS e(type, minutes, detail, low, high)
  ON (m.id * 37) % 100 >= e.low AND (m.id * 37) % 100 < e.high
WHERE m.campaign_id = :campaign
  AND (e.type = 'queued' OR (e.type = 'delivered' AND m.status = 'delivered')
       OR (e.type <> 'queued' AND e.type <> 'delivered' AND m.sent_at IS NOT NULL))
""")

FILL_CONVERSIONS = text("""
INSERT INTO conversions (contact_id, order_id, amount, currency, amount_base, occurred_at, product, category,
                         campaign_code, campaign_id, message_id, attribution, source, created_at)
SELECT m.contact_id, 'o' || m.id, 50 + m.id % 200, CASE WHEN m.id % 10 = 0 THEN 'EUR' ELSE 'USD' END,
       (50 + m.id % 200) * CASE WHEN m.id % 10 = 0 THEN 1.10 ELSE 1 END,
       :t0 + make_interval(hours => 2 + m.id % 100), '', '', NULL,
       CASE WHEN m.status = 'held_out' THEN NULL ELSE :campaign END,
       CASE WHEN m.status = 'held_out' THEN NULL ELSE m.id END,
       CASE WHEN m.status = 'held_out' THEN 'none' WHEN (m.id * 37) % 100 BETWEEN 20 AND 31 THEN 'click'
            ELSE 'receipt' END,
       'api', :now
FROM messages AS m
WHERE m.campaign_id = :campaign AND m.id % 50 = 0 AND (m.sent_at IS NOT NULL OR m.status = 'held_out')
""")

# The same question, written by hand as one statement: every message of the campaign with its events.
HAND = text("""
SELECT m.variant_id, m.status, e.type, count(*)
  FROM messages AS m LEFT JOIN message_events AS e ON e.message_id = m.id
 WHERE m.campaign_id = :campaign
 GROUP BY m.variant_id, m.status, e.type
""")


def timed_pair(herald: Callable[[], object], hand: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median seconds of each, run alternately (a noisy neighbour slows both alike), after one warm-up each."""
    herald(), hand()
    herald_times, hand_times = [], []
    for _ in range(repeat):
        for run, times in ((herald, herald_times), (hand, hand_times)):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
    return statistics.median(herald_times), statistics.median(hand_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=100, help="campaigns in the overview, the big one included")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--database", help="time again on a database an earlier --keep run filled (no fill)")
    args = parser.parse_args()

    if args.database:
        url = make_url(args.pg_url).set(database=args.database).render_as_string(hide_password=False)
        database = Database(url)
        with database.engine.connect() as conn:
            big = conn.execute(text("SELECT min(id) FROM campaigns")).scalar_one()
        measure(database, big, args)
        return
    with scratch_database(args.pg_url, "report", keep=args.keep) as url:
        run(url, args)


def fill(database: Database, args: argparse.Namespace) -> int:
    """Write the data set; returns the big campaign's id."""
    params = {"t0": T0, "now": NOW}
    with database.engine.begin() as conn:
        conn.execute(FILL_CONTACTS, {**params, "n": args.recipients})
        template = conn.execute(text(
            "INSERT INTO templates (name, channel, subject, html, text, body, created_at, updated_at) "
            "VALUES ('Spring', 'email', 'Hi', '<p>Hi</p>', '', '', :t0, :t0) RETURNING id"), params).scalar_one()
        campaigns = []
        for n in range(args.campaigns):
            campaigns.append(conn.execute(text(
                "INSERT INTO campaigns (name, kind, channel, template_id, status, guarantee, holdout_percent, "
                "ab_test_percent, ab_metric, created_at, updated_at) VALUES (:name, :kind, 'email', :tpl, "
                "'completed', 'at_most_once', :holdout, 0, 'click_rate', :at, :at) RETURNING id"),
                {"name": f"Campaign {n}", "kind": "recurring" if n % 3 == 1 else "broadcast", "tpl": template,
                 "holdout": 10 if n == 0 else 0, "at": T0 - timedelta(days=3 * n)}).scalar_one())
        big = campaigns[0]
        va, vb = (conn.execute(text("INSERT INTO campaign_variants (campaign_id, label, template_id, weight, winner) "
                                    "VALUES (:c, :label, :tpl, 1, false) RETURNING id"),
                               {"c": big, "label": label, "tpl": template}).scalar_one() for label in ("A", "B"))
        runs = {c: conn.execute(text("INSERT INTO runs (campaign_id, occasion_key, status, channel_url, dry_run, "
                                     "started_at, finished_at) VALUES (:c, 'once', 'completed', 'smtp://bench', "
                                     "false, :t0, :t0) RETURNING id"), {"c": c, **params}).scalar_one()
                for c in campaigns}
        conn.execute(text(fill_messages_sql()), {**params, "run": runs[big], "campaign": big, "va": va, "vb": vb})
        conn.execute(FILL_EVENTS, {"campaign": big})
        conn.execute(FILL_CONVERSIONS, {**params, "campaign": big})
        conn.execute(text("INSERT INTO campaign_costs (campaign_id, label, amount, currency, created_at) "
                          "VALUES (:c, 'Agency', 2000, 'USD', :t0), (:c, 'Gifts', 500, 'EUR', :t0)"),
                     {"c": big, **params})
        # the 99 small campaigns: 1,000 recipients each, sent and mostly delivered, a few conversions
        conn.execute(text("""
INSERT INTO messages (run_id, campaign_id, contact_id, channel, address, status, priority, not_before, attempts,
                      cost, currency, sent_at, delivered_at, updated_at)
SELECT r.id, r.campaign_id, c.id, 'email', c.email, CASE WHEN c.id % 10 = 0 THEN 'failed' ELSE 'delivered' END,
       100, r.started_at, 1, 0.001, 'USD', r.started_at,
       CASE WHEN c.id % 10 = 0 THEN NULL ELSE r.started_at END, r.started_at
  FROM runs r JOIN contacts c ON c.id BETWEEN 1 AND 1000
 WHERE r.campaign_id <> :big"""), {"big": big})
        conn.execute(text("""
INSERT INTO conversions (contact_id, order_id, amount, currency, amount_base, occurred_at, product, category,
                         campaign_id, message_id, attribution, source, created_at)
SELECT m.contact_id, 'small' || m.id, 20, 'USD', 20, m.sent_at + interval '1 day', '', '', m.campaign_id, m.id,
       'receipt', 'api', :now
  FROM messages m WHERE m.campaign_id <> :big AND m.id % 40 = 0"""), {"big": big, **params})
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return big


def run(url: str, args: argparse.Namespace) -> None:
    upgrade_database(url)
    database = Database(url)
    started = time.perf_counter()
    big = fill(database, args)
    with database.engine.connect() as conn:
        counts = conn.execute(text("SELECT (SELECT count(*) FROM messages WHERE campaign_id = :c), "
                                   "(SELECT count(*) FROM message_events), (SELECT count(*) FROM conversions)"),
                              {"c": big}).one()
    print(f"filled {counts[0]:,} recipients, {counts[1]:,} events, {counts[2]:,} conversions, {args.campaigns} "
          f"campaigns in {time.perf_counter() - started:.1f} s "
          f"(PostgreSQL {database.engine.dialect.server_version_info})")
    measure(database, big, args)


def measure(database: Database, big: int, args: argparse.Namespace) -> None:
    with database.session() as session:
        def whole_report() -> object:
            report = campaign_report(session, big, ReportSettings("USD", RATES))
            page_figures(report)
            session.rollback()  # each run starts a fresh transaction, as a request does
            return report

        def hand() -> object:
            rows = session.execute(HAND, {"campaign": big}).all()
            session.rollback()
            return rows

        herald_s, hand_s = timed_pair(whole_report, hand, args.repeat)
        report = whole_report()
        print(f"{'campaign report':<28}{'herald s':>10}{'hand s':>10}{'ratio':>8}")
        print(f"{'1 campaign, all figures':<28}{herald_s:>10.3f}{hand_s:>10.3f}{herald_s / hand_s:>8.2f}")
        print(f"  sent {report.total.sent:,}  clicked {report.total.clicked:,}  revenue {report.total.revenue}  "
              f"ROI {report.roi}  incremental {report.holdout.incremental_revenue if report.holdout else '-'}")
        overview_s = time_overview(session, args.repeat)
        if overview_s is not None:
            print(f"{'overview, all campaigns':<28}{overview_s:>10.3f}{'':>10}{'':>8}  (target: under 1 s)")
    database.dispose()


def page_figures(report) -> None:
    """What the page, the API and the export derive from the report (charts included, when present)."""
    report.to_dict()
    report.tables()
    try:
        from web.charts import funnel_svg, series_svg
    except ImportError:
        return
    funnel_svg(report.funnel(), title="Funnel")
    series_svg(report.series, title="By day")


def time_overview(session, repeat: int) -> float | None:
    try:
        from campaigns.results.report_overview import overview_report
    except ImportError:
        return None
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        overview = overview_report(session, start=NOW - timedelta(days=400), end=NOW,
                                   settings=ReportSettings("USD", RATES))
        overview.to_dict()
        session.rollback()
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


if __name__ == "__main__":
    main()
