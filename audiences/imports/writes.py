"""The importer's writes, with a PostgreSQL path that sends arrays instead of thousands of parameters.

A chunk of 500 contacts as one multi-row INSERT is ~10,000 bind parameters; psycopg rewrites such a
statement's placeholders in Python on every call (too long for its statement cache), which measured
a third of a PostgreSQL import. On PostgreSQL each column therefore goes as ONE array parameter,
unpacked by unnest() in the database, and key lookups use `= ANY(array)`. SQLite keeps the plain
statements (its parameters are cheap and it has no arrays).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, String, any_, bindparam, insert, select, text
from sqlalchemy.orm import Session

from audiences import queries
from audiences.models import CONTACT_FIELDS, Contact

KEYS = ("external_id", "email", "phone")
_COLUMNS = [*CONTACT_FIELDS, "attributes"]


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def find_contacts(session: Session, *, external_ids: Collection[str], emails: Collection[str],
                  phones: Collection[str]) -> list[dict[str, Any]]:
    """Contacts holding any of these keys, as dicts (id, CONTACT_FIELDS, attributes), lowest id first."""
    if not _postgres(session):
        return queries.find_contacts_by_keys(session, external_ids=external_ids, emails=emails, phones=phones)
    columns = [Contact.id, *(getattr(Contact, f) for f in CONTACT_FIELDS), Contact.attributes]
    found: dict[int, dict[str, Any]] = {}
    for column, values in ((Contact.external_id, external_ids), (Contact.email, emails), (Contact.phone, phones)):
        if values:
            wanted = bindparam(None, sorted(values), type_=ARRAY(String))
            for row in session.execute(select(*columns).where(column == any_(wanted))).mappings():
                found.setdefault(row["id"], dict(row))
    return [found[key] for key in sorted(found)]


def insert_contacts(session: Session, rows: Sequence[dict[str, Any]], *, now: datetime) -> list[Any]:
    """Insert new contacts; returns (id, external_id, email, phone) per inserted row, in no promised order."""
    table = Contact.__table__
    if not _postgres(session):
        # Core, not ORM, insert: the ORM leaves out None values, which splits rows with different empty
        # fields into separate statements; the table's columns still apply their types (JSON, UTC).
        return list(session.execute(insert(table).returning(table.c.id, *(table.c[k] for k in KEYS)),
                                    [{**r, "created_at": now, "updated_at": now} for r in rows]))
    dialect = session.get_bind().dialect
    casts = ", ".join(f"CAST(:{name} AS {_array_type(table.c[name].type.compile(dialect=dialect))}[])"
                      for name in _COLUMNS)
    statement = text(
        f"INSERT INTO contacts ({', '.join(_COLUMNS)}, created_at, updated_at) "
        f"SELECT *, CAST(:now AS TIMESTAMP WITH TIME ZONE), CAST(:now AS TIMESTAMP WITH TIME ZONE) "
        f"FROM unnest({casts}) RETURNING id, {', '.join(KEYS)}")
    params: dict[str, Any] = {name: [r.get(name) for r in rows] for name in CONTACT_FIELDS}
    params["attributes"] = [json.dumps(r.get("attributes") or {}, ensure_ascii=False, default=str) for r in rows]
    params["now"] = now
    return list(session.execute(statement, params))


def _array_type(sql_type: str) -> str:
    # VARCHAR(100)[] is fine for PostgreSQL, but unnest's output only needs the base type.
    return sql_type.partition("(")[0]


def add_list_members(session: Session, *, list_id: int, contact_ids: Collection[int], now: datetime) -> None:
    """Put contacts on a list; those already on it stay. Does not commit."""
    if not contact_ids:
        return
    if not _postgres(session):
        queries.insert_list_members(session, list_id=list_id, contact_ids=contact_ids, now=now)
        return
    session.execute(
        text("INSERT INTO list_members (list_id, contact_id, added_at) "
             "SELECT :list_id, id, :now FROM unnest(CAST(:ids AS INTEGER[])) AS id "
             "ON CONFLICT (list_id, contact_id) DO NOTHING"),
        {"list_id": list_id, "ids": sorted(set(contact_ids)), "now": now})

