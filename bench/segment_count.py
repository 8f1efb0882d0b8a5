"""Benchmark: counting a segment through Herald's compiler against hand-written SQL for the same predicate.

    .venv/bin/python bench/segment_count.py [--contacts 1000000] [--pg-url postgresql+psycopg://…/postgres]
                                            [--repeat 5] [--keep]

In one run, on a fresh PostgreSQL database filled with N synthetic contacts (one INSERT … SELECT over
generate_series: custom attributes tier/score/city as JSON, birthdays, countries, a VIP list holding
5%, 3% unsubscribed from email), it times:
  1. a 3-condition segment (attributes.city, attributes.tier, birthday in the next 7 days);
  2. a 10-condition nested segment (country, tier OR score, age of the record, email present, email
     consent, VIP list OR birthday within 30 days OR city prefix, first name);
each through audiences.count_segment and as hand-written SQL, the median of --repeat runs (the two
alternating) after one warm-up. It prints the times, the ratio Herald/hand-written (issue 3's target: at most 1.5) and
EXPLAIN ANALYZE of the slowest query. Machines here are noisy: compare ratios, not times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch_db import scratch_database  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from audiences import Contact, count_segment, segment_where  # noqa: E402
from core.db import Database  # noqa: E402
from core.migrate import upgrade_database  # noqa: E402

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

# name: fill-contacts
# One statement, so a million rows cost one round trip; values derive from g so every run has the same data.
FILL = text("""
INSERT INTO contacts (email, phone, first_name, last_name, company, country, locale, time_zone, birthday,
                      attributes, created_at, updated_at)
SELECT CASE WHEN g % 11 = 0 THEN NULL ELSE 'c' || g || '@example.com' END,
       '+86138' || lpad(g::text, 8, '0'),
       (ARRAY['Ann', 'Bob', '芳', '伟', 'Test'])[1 + g % 5],
       (ARRAY['Lee', '王', '李', 'Smith'])[1 + g % 4],
       'Company ' || (g % 1000),
       (ARRAY['CN', 'US', 'GB', 'DE', 'CN'])[1 + (g * 7) % 5],
       'zh_CN', 'Asia/Shanghai',
       CASE WHEN g % 10 = 0 THEN NULL ELSE DATE '1960-01-01' + ((g::bigint * 7919) % 16000)::int END,
       json_build_object('tier', (ARRAY['A', 'B', 'C', 'C', 'B'])[1 + (g / 7) % 5],
                         'score', (g * 17) % 101,
                         'city', (ARRAY['北京', '上海', '广州', '深圳', '杭州', '成都', '北海'])[1 + (g * 13) % 7]),
       :now - make_interval(days => (g * 37) % 1000),
       :now
FROM generate_series(1, :n) AS g
""")


def three_conditions() -> dict:
    return {"all": [
        {"field": "attributes.city", "op": "eq", "value": "上海"},
        {"field": "attributes.tier", "op": "eq", "value": "A"},
        {"field": "birthday", "op": "birthday_within_days", "value": 7},
    ]}


def ten_conditions(vip: int) -> dict:
    return {"all": [
        {"field": "country", "op": "in", "value": ["CN", "US"]},
        {"any": [{"field": "attributes.tier", "op": "eq", "value": "A"},
                 {"field": "attributes.score", "op": "gte", "value": 90}]},
        {"field": "created_at", "op": "older_than_days", "value": 30},
        {"field": "email", "op": "not_empty"},
        {"field": "consent.email", "op": "eq", "value": "subscribed"},
        {"any": [{"field": "list", "op": "in", "value": [vip]},
                 {"field": "birthday", "op": "birthday_within_days", "value": 30},
                 {"field": "attributes.city", "op": "starts_with", "value": "北"}]},
        {"field": "first_name", "op": "neq", "value": "Test"},
    ]}


def month_days(days: int) -> str:
    """'MM-DD' literals for today … today+days, as a person writing the SQL by hand would list them."""
    return ", ".join(f"'{(TODAY + timedelta(days=n)).strftime('%m-%d')}'" for n in range(days + 1))


def hand_three() -> str:
    return f"""SELECT count(*) FROM contacts
WHERE attributes ->> 'city' = '上海' AND attributes ->> 'tier' = 'A'
  AND to_char(birthday, 'MM-DD') IN ({month_days(7)})"""


def hand_ten(vip: int) -> str:
    since = datetime.combine(TODAY - timedelta(days=30), datetime.min.time(), tzinfo=UTC).isoformat()
    return f"""SELECT count(*) FROM contacts c
WHERE c.country IN ('CN', 'US')
  AND (c.attributes ->> 'tier' = 'A' OR (c.attributes ->> 'score')::float >= 90)
  AND c.created_at < '{since}'
  AND coalesce(c.email, '') <> ''
  AND NOT EXISTS (SELECT 1 FROM consents s WHERE s.contact_id = c.id AND s.channel = 'email'
                  AND s.status <> 'subscribed')
  AND (EXISTS (SELECT 1 FROM list_members m WHERE m.contact_id = c.id AND m.list_id = {vip})
       OR to_char(c.birthday, 'MM-DD') IN ({month_days(30)})
       OR c.attributes ->> 'city' LIKE '北%')
  AND c.first_name <> 'Test'"""


def timed_pair(herald: Callable[[], int], hand: Callable[[], int], repeat: int) -> tuple[float, float, int, int]:
    """Median seconds of each, run alternately (so a noisy neighbour slows both alike), after one warm-up each."""
    herald_n, hand_n = herald(), hand()
    herald_times, hand_times = [], []
    for _ in range(repeat):
        for run, times in ((herald, herald_times), (hand, hand_times)):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
    return statistics.median(herald_times), statistics.median(hand_times), herald_n, hand_n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()

    with scratch_database(args.pg_url, "segments", keep=args.keep) as url:
        run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
    upgrade_database(url)
    database = Database(url)
    started = time.perf_counter()
    with database.engine.begin() as conn:
        conn.execute(FILL, {"n": args.contacts, "now": NOW})
        vip = conn.execute(text("INSERT INTO lists (name, description, created_at) VALUES ('VIP', '', :now) "
                                "RETURNING id"), {"now": NOW}).scalar_one()
        conn.execute(text("INSERT INTO list_members (list_id, contact_id, added_at) "
                          "SELECT :vip, id, :now FROM contacts WHERE id % 20 = 0"), {"vip": vip, "now": NOW})
        conn.execute(text("INSERT INTO consents (contact_id, channel, status, source, changed_at) "
                          "SELECT id, 'email', 'unsubscribed', 'bench', :now FROM contacts WHERE id % 33 = 0"),
                     {"now": NOW})
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"filled {args.contacts:,} contacts in {time.perf_counter() - started:.1f} s "
          f"(PostgreSQL {database.engine.dialect.server_version_info})")

    cases = [("3 conditions", three_conditions(), hand_three()),
             ("10 conditions, nested", ten_conditions(vip), hand_ten(vip))]
    slowest: tuple[float, str, object] = (0.0, "", None)
    print(f"{'segment':<24}{'herald s':>10}{'hand s':>10}{'ratio':>8}{'count':>10}")
    with database.session() as session:
        for label, rules, hand_sql in cases:
            herald_s, hand_s, herald_n, hand_n = timed_pair(
                lambda rules=rules: count_segment(session, rules, today=TODAY),
                lambda sql=hand_sql: session.execute(text(sql)).scalar_one(), args.repeat)
            if herald_n != hand_n:
                raise SystemExit(f"{label}: Herald counted {herald_n}, the hand-written SQL {hand_n} — "
                                 "they do not say the same thing")
            print(f"{label:<24}{herald_s:>10.3f}{hand_s:>10.3f}{herald_s / hand_s:>8.2f}{herald_n:>10,}")
            for seconds, kind, query in ((herald_s, f"Herald: {label}", rules), (hand_s, f"hand: {label}", hand_sql)):
                if seconds > slowest[0]:
                    slowest = (seconds, kind, query)
        print(f"\nEXPLAIN ANALYZE of the slowest ({slowest[1]}, {slowest[0]:.3f} s):")
        print(explain(session, slowest[2]))
    database.dispose()


def explain(session, query) -> str:
    if isinstance(query, str):
        rows = session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + query)).scalars()
        return "\n".join(rows)
    statement = select(func.count()).select_from(Contact).where(segment_where(query, today=TODAY))
    # Expanded IN lists (render_postcompile) so the text runs as is, with the same binds count_segment sends.
    compiled = statement.compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    rows = session.connection().exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), compiled.params)
    return "\n".join(rows.scalars())


if __name__ == "__main__":
    main()
