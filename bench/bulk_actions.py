"""Benchmark: bulk actions on a selection of contacts against hand-written SQL doing the same.

    .venv/bin/python bench/bulk_actions.py [--contacts 1000000] [--pg-url postgresql+psycopg://…/postgres]
                                           [--repeat 5] [--keep]

On a fresh PostgreSQL database filled with N synthetic contacts, the selection is a saved segment
(country CN: 40% of the contacts). Each action runs through audiences (one statement over the
selection, plus the small lookups of tag, list and owner) and as the single hand-written statement,
alternately, each cycle restoring the state it found (tag then untag, assign then unassign), so every
run starts alike. Prints the median seconds, the ratio Herald/hand-written, and the rows changed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch_db import scratch_database  # noqa: E402
from sqlalchemy import text  # noqa: E402

from audiences import (  # noqa: E402
    ContactSelection,
    bulk_add_tag,
    bulk_add_to_list,
    bulk_assign_owner,
    bulk_remove_from_list,
    bulk_remove_tag,
    create_list,
    create_segment,
)
from core.db import Database  # noqa: E402
from core.migrate import upgrade_database  # noqa: E402
from core.users import create_user  # noqa: E402

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

# name: fill-contacts
# One statement, so a million rows cost one round trip; values derive from g so every run has the same data.
FILL = text("""
INSERT INTO contacts (email, phone, first_name, last_name, company, country, attributes, created_at, updated_at)
SELECT 'c' || g || '@example.com', '+86138' || lpad(g::text, 8, '0'), 'Ann', 'Lee', '',
       (ARRAY['CN', 'US', 'GB', 'DE', 'CN'])[1 + (g * 7) % 5], '{}'::jsonb, :now, :now
FROM generate_series(1, :n) AS g
""")

HAND = {
    "add_tag": "INSERT INTO contact_tags (contact_id, tag_id, added_at) SELECT c.id, :tag, :now FROM contacts c "
               "WHERE c.country = 'CN' AND NOT EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id "
               "AND t.tag_id = :tag)",
    "remove_tag": "DELETE FROM contact_tags WHERE tag_id = :tag AND contact_id IN "
                  "(SELECT id FROM contacts WHERE country = 'CN')",
    "add_to_list": "INSERT INTO list_members (list_id, contact_id, added_at) SELECT :list, c.id, :now FROM contacts c "
                   "WHERE c.country = 'CN' AND NOT EXISTS (SELECT 1 FROM list_members m WHERE m.contact_id = c.id "
                   "AND m.list_id = :list)",
    "remove_from_list": "DELETE FROM list_members WHERE list_id = :list AND contact_id IN "
                        "(SELECT id FROM contacts WHERE country = 'CN')",
    "assign_owner": "UPDATE contacts SET owner_id = :owner, updated_at = :now WHERE country = 'CN' "
                    "AND (owner_id IS NULL OR owner_id <> :owner)",
    "unassign_owner": "UPDATE contacts SET owner_id = NULL, updated_at = :now WHERE country = 'CN' "
                      "AND owner_id IS NOT NULL",
}


def median_of(runs: list[float]) -> float:
    return statistics.median(runs)


def cycle(forward: Callable[[], int], back: Callable[[], int], times: tuple[list[float], list[float]]) -> int:
    started = time.perf_counter()
    changed = forward()
    times[0].append(time.perf_counter() - started)
    started = time.perf_counter()
    back()
    times[1].append(time.perf_counter() - started)
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()

    with scratch_database(args.pg_url, "bulk", keep=args.keep) as url:
        run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
    upgrade_database(url)
    database = Database(url)
    started = time.perf_counter()
    with database.engine.begin() as conn:
        conn.execute(FILL, {"n": args.contacts, "now": NOW})
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"filled {args.contacts:,} contacts in {time.perf_counter() - started:.1f} s "
          f"(PostgreSQL {database.engine.dialect.server_version_info})")

    with database.session() as session:
        segment = create_segment(session, name="China", rules={"all": [{"field": "country", "op": "eq",
                                                                         "value": "CN"}]}, now=NOW)
        selection = ContactSelection(segment_id=segment.id)
        fair = create_list(session, "Fair", now=NOW).id
        owner = create_user(session, email="owner@example.com", password="bench-password").id
        bulk_add_tag(session, ContactSelection(contact_ids=[1]), "hot", today=TODAY, now=NOW)  # the tag exists
        tag = session.execute(text("SELECT id FROM tags WHERE name = 'hot'")).scalar_one()
        bulk_remove_tag(session, ContactSelection(contact_ids=[1]), "hot", today=TODAY)
        binds = {"tag": tag, "list": fair, "owner": owner, "now": NOW}

        def hand(name: str) -> Callable[[], int]:
            def execute() -> int:
                changed = session.execute(text(HAND[name]), binds).rowcount
                session.commit()
                return changed
            return execute

        actions = [
            ("tag", lambda: bulk_add_tag(session, selection, "hot", today=TODAY, now=NOW),
             lambda: bulk_remove_tag(session, selection, "hot", today=TODAY), hand("add_tag"), hand("remove_tag")),
            ("list", lambda: bulk_add_to_list(session, selection, fair, today=TODAY, now=NOW),
             lambda: bulk_remove_from_list(session, selection, fair, today=TODAY), hand("add_to_list"),
             hand("remove_from_list")),
            ("owner", lambda: bulk_assign_owner(session, selection, owner, today=TODAY, now=NOW),
             lambda: bulk_assign_owner(session, selection, None, today=TODAY, now=NOW), hand("assign_owner"),
             hand("unassign_owner")),
        ]
        print(f"{'action':<22}{'herald s':>10}{'hand s':>10}{'ratio':>8}{'rows':>12}")
        for label, herald_forward, herald_back, hand_forward, hand_back in actions:
            herald_times: tuple[list[float], list[float]] = ([], [])
            hand_times: tuple[list[float], list[float]] = ([], [])
            cycle(herald_forward, herald_back, ([], []))  # warm-up
            cycle(hand_forward, hand_back, ([], []))
            for _ in range(args.repeat):
                herald_rows = cycle(herald_forward, herald_back, herald_times)
                hand_rows = cycle(hand_forward, hand_back, hand_times)
                if herald_rows != hand_rows:
                    raise SystemExit(f"{label}: Herald changed {herald_rows} rows, the hand-written SQL {hand_rows}")
            for step, index in (("add", 0), ("remove", 1)):
                herald_s, hand_s = median_of(herald_times[index]), median_of(hand_times[index])
                print(f"{label + ' ' + step:<22}{herald_s:>10.3f}{hand_s:>10.3f}{herald_s / hand_s:>8.2f}"
                      f"{herald_rows:>12,}")
    database.dispose()


if __name__ == "__main__":
    main()
