"""A big import costs a number of statements proportional to its chunks, never to its rows."""

from __future__ import annotations

import io
from contextlib import contextmanager

from sqlalchemy import event, func, select

from audiences import Contact, ListMember, import_contacts

CHUNK = 500
# Per chunk: BEGIN, three key lookups, one UPDATE (executemany), one multi-row INSERT, a membership
# lookup and insert, COMMIT = 9. Plus the list lookup/insert and the final commit.
STATEMENTS_PER_CHUNK = 9
FIXED_STATEMENTS = 5


def generated_csv(rows: int, *, tier: str) -> bytes:
    lines = ["id,email,phone,name,tier"]
    for n in range(rows):
        # Half the rows carry no email, so rows differ in which fields are empty and all three
        # key lookups are exercised.
        email = f"user{n}@example.com" if n % 2 else ""
        lines.append(f"C{n},{email},+1201555{n % 10_000:04d},User {n},{tier}")
    return ("\n".join(lines) + "\n").encode()


@contextmanager
def counted_statements(engine):
    count = [0]

    def before_cursor_execute(*_args) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


def import_generated(database, clock, rows: int, *, tier: str):
    with database.session() as session, counted_statements(database.engine) as count:
        report = import_contacts(
            session,
            io.BytesIO(generated_csv(rows, tier=tier)),
            filename="big.csv",
            default_region="US",
            list_name="Everyone",
            now=clock.now(),
            chunk_rows=CHUNK,
        )
    return report, count[0]


def test_importing_20000_rows_costs_statements_per_chunk_not_per_row(database, clock):
    report, statements = import_generated(database, clock, 20_000, tier="A")

    assert report.imported == 20_000 and not report.rejected
    assert statements <= 40 * STATEMENTS_PER_CHUNK + FIXED_STATEMENTS, statements
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 20_000
        assert session.scalar(select(func.count()).select_from(ListMember)) == 20_000


def test_reimporting_updates_in_batches_too(database, clock):
    import_generated(database, clock, 4_000, tier="A")

    report, statements = import_generated(database, clock, 4_000, tier="B")

    assert (report.updated, report.imported) == (4_000, 0)
    assert statements <= 8 * STATEMENTS_PER_CHUNK + FIXED_STATEMENTS, statements
    with database.session() as session:
        tiers = set(session.scalars(select(Contact.value_tier)))
        assert tiers == {"B"}
        assert session.scalar(select(func.count()).select_from(ListMember)) == 4_000
