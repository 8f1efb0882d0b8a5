"""Benchmark: recording conversions (contact lookup, currency, attribution, idempotent insert) and the RFM job,
each against the plainest hand-written SQL for the same rows, timed in the same run.

    .venv/bin/python bench/conversions.py [--contacts 100000] [--conversions 500000] [--record 20000]
                                          [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--keep]

On a fresh PostgreSQL database it fills N contacts, a campaign whose messages reached every contact
(half of them clicked), and M past conversions (one INSERT … SELECT each). Then it times:
  1. record: --record new conversions through campaigns.results.conversions.record_conversions (chunks of 500:
     contacts found by email, amounts converted, last click / last receipt attribution, ON CONFLICT insert)
     vs one executemany INSERT of the same rows with the contact id and attribution already known — the
     same campaign and message ids, so the database checks the same foreign keys — and, for comparison
     with earlier runs, vs the bare rows (no campaign, no message: no foreign keys to check on them);
  2. rfm: campaigns.results.rfm.score_contacts (quintiles by window functions, clearing, the dormant rule)
     vs one hand-written GROUP BY of conversions per contact (what any RFM needs to read at least).
It prints both times and the ratio Herald / hand-written. Compare ratios, not times: the box is shared.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch_db import scratch_database  # noqa: E402
from sqlalchemy import text  # noqa: E402

from campaigns.results.conversions import ConversionInput, ConversionSettings, record_conversions  # noqa: E402
from campaigns.results.rfm import score_contacts  # noqa: E402
from core.db import Database  # noqa: E402
from core.migrate import upgrade_database  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SETTINGS = ConversionSettings("USD", {"CNY": Decimal("0.138")}, "UTC", "CN")

FILL = [
    # name: contacts
    """INSERT INTO contacts (email, first_name, last_name, company, attributes, created_at, updated_at, source, notes,
                             region)
       SELECT 'b' || g || '@example.com', 'Ann', 'Lee', '', '{}', :now - interval '400 days', :now, '', '', ''
       FROM generate_series(1, :contacts) AS g""",
    # name: one campaign and its run
    """INSERT INTO templates (name, channel, subject, html, text, body, created_at, updated_at)
       VALUES ('T', 'email', 'Hi', '<p>Hi</p>', '', '', :now, :now)""",
    """INSERT INTO campaigns (name, kind, channel, template_id, status, guarantee, created_at, updated_at)
       SELECT 'Bench', 'broadcast', 'email', id, 'completed', 'at_most_once', :now, :now FROM templates""",
    """INSERT INTO runs (campaign_id, occasion_key, status, channel_url, dry_run, started_at)
       SELECT id, 'once', 'completed', 'log://', false, :now FROM campaigns""",
    # name: a delivered message to everyone, a click from every other contact
    """INSERT INTO messages (run_id, campaign_id, contact_id, channel, address, status, priority, not_before, attempts,
                             sent_at, delivered_at)
       SELECT r.id, r.campaign_id, c.id, 'email', c.email, 'delivered', 100, :now - interval '2 days', 1,
              :now - interval '2 days', :now - interval '2 days'
       FROM contacts c CROSS JOIN runs r""",
    """INSERT INTO message_events (message_id, type, occurred_at, detail)
       SELECT id, 'clicked', :now - interval '1 day', '{"machine": false}' FROM messages WHERE contact_id % 2 = 0""",
    # name: past conversions, spread over contacts and the last year
    """INSERT INTO conversions (contact_id, order_id, amount, currency, amount_base, occurred_at, product, category,
                                attribution, source, created_at)
       SELECT 1 + (g::bigint * 7919) % :contacts, 'OLD-' || g, (g % 500) + 0.99, 'USD', (g % 500) + 0.99,
              :now - make_interval(days => (g * 31) % 365), '', '', 'none', 'import', :now
       FROM generate_series(1, :conversions) AS g""",
]

BASELINE_INSERT = text("""
INSERT INTO conversions (contact_id, order_id, amount, currency, amount_base, occurred_at, product, category,
                         campaign_id, message_id, attribution, source, created_at)
VALUES (:contact_id, :order_id, :amount, :currency, :amount_base, :occurred_at, '', '', :campaign_id, :message_id,
        :attribution, 'import', :now)
""")
BARE_INSERT = text("""
INSERT INTO conversions (contact_id, order_id, amount, currency, amount_base, occurred_at, product, category,
                         campaign_id, message_id, attribution, source, created_at)
VALUES (:contact_id, :order_id, :amount, 'USD', :amount, :occurred_at, '', '', NULL, NULL, 'none', 'import', :now)
""")
RECORDED = text("""
SELECT order_id, contact_id, amount, currency, amount_base, occurred_at, campaign_id, message_id, attribution
FROM conversions WHERE order_id LIKE 'NEW-%'
""")
BASELINE_RFM = text("""
SELECT contact_id, MAX(occurred_at), COUNT(*), SUM(amount_base) FROM conversions GROUP BY contact_id
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--conversions", type=int, default=500_000)
    parser.add_argument("--record", type=int, default=20_000)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    with scratch_database(args.pg_url, "conv", keep=args.keep) as url:
        run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
    upgrade_database(url)
    database = Database(url)
    started = time.perf_counter()
    with database.engine.begin() as conn:
        for statement in FILL:
            conn.execute(text(statement), {"now": NOW, "contacts": args.contacts, "conversions": args.conversions})
        conn.execute(text("ANALYZE"))
    print(f"filled {args.contacts:,} contacts, {args.contacts:,} messages, {args.contacts // 2:,} clicks, "
          f"{args.conversions:,} conversions in {time.perf_counter() - started:.1f} s")

    def herald_rows(prefix: str, count: int) -> list[ConversionInput]:
        return [ConversionInput(order_id=f"{prefix}-{i}", amount=Decimal("19.90"),
                                occurred_at=NOW - timedelta(hours=i % 20), currency="CNY" if i % 3 == 0 else "USD",
                                email=f"b{1 + (i * 13) % args.contacts}@example.com")
                for i in range(count)]

    def plain_rows(prefix: str, count: int) -> list[dict[str, object]]:
        return [{"contact_id": 1 + (i * 13) % args.contacts, "order_id": f"{prefix}-{i}", "amount": Decimal("19.90"),
                 "occurred_at": NOW - timedelta(hours=i % 20), "now": NOW} for i in range(count)]

    # Warm both paths up first (caches, plans, the conversions indexes), so neither pays for going first.
    with database.session() as session:
        record_conversions(session, herald_rows("WARM", 1000), SETTINGS, now=NOW, source="import")
    with database.engine.begin() as conn:
        conn.execute(BARE_INSERT, plain_rows("WARMBASE", 1000))
    rows = herald_rows("NEW", args.record)
    with database.session() as session:
        started = time.perf_counter()
        report = record_conversions(session, rows, SETTINGS, now=NOW, source="import")
        herald_record = time.perf_counter() - started
    assert report.recorded == args.record, report.to_dict()
    # The same rows as Herald recorded them (contact, amounts, campaign, message, rule), under new order ids.
    with database.engine.connect() as conn:
        same = [{**row._asdict(), "order_id": "BASE-" + row.order_id, "now": NOW} for row in conn.execute(RECORDED)]
    bare = plain_rows("BARE", args.record)
    with database.engine.begin() as conn:
        started = time.perf_counter()
        conn.execute(BASELINE_INSERT, same)
        baseline_record = time.perf_counter() - started
    with database.engine.begin() as conn:
        started = time.perf_counter()
        conn.execute(BARE_INSERT, bare)
        bare_record = time.perf_counter() - started
    print(f"record {args.record:,}: Herald {herald_record:.2f} s ({args.record / herald_record:,.0f}/s; "
          f"attribution {report.attribution}), plain INSERT of the same rows {baseline_record:.2f} s, "
          f"ratio {herald_record / baseline_record:.2f}; of bare rows {bare_record:.2f} s, "
          f"ratio {herald_record / bare_record:.2f}")

    with database.engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(BASELINE_RFM).fetchall()
        baseline_rfm = time.perf_counter() - started
    with database.session() as session:
        started = time.perf_counter()
        result = score_contacts(session, now=NOW, dormant_days=180)
        herald_rfm = time.perf_counter() - started
    print(f"rfm over {args.conversions + 3 * args.record + 2000:,} conversions: Herald {herald_rfm:.2f} s ({result}), "
          f"hand-written GROUP BY {baseline_rfm:.2f} s, ratio {herald_rfm / baseline_rfm:.2f}")
    database.dispose()


if __name__ == "__main__":
    main()
