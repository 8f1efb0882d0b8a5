"""SQL that SQLite and PostgreSQL spell differently, for to_sql.py: JSON type tests and code-point ordering.

Each construct is a SQLAlchemy element with one compile function per dialect, so the rule compiler
builds one expression and the database it runs on decides the spelling.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Float, String, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from audiences.models import Contact


class _JsonIs(FunctionElement[bool]):
    """True when the attribute `key` holds a JSON value of this class's kind; NULL when it is absent.

    SQLAlchemy's accessors (`as_string()`, `as_float()`) extract a value but do not say its JSON type,
    and the two databases disagree on what they return for the other types (PostgreSQL's ->> gives
    '5' for the number 5, SQLite's json_extract gives 5), so each kind test is spelt per dialect here.
    The arguments are (column, key, sqlite_path); each dialect renders only the one it needs.
    """

    type = Boolean()
    inherit_cache = True
    kind = ""


class _JsonIsString(_JsonIs):
    name = "json_is_string"
    inherit_cache = True
    kind = "string"


class _JsonIsTrue(_JsonIs):
    name = "json_is_true"
    inherit_cache = True
    kind = "true"


class _JsonIsFalse(_JsonIs):
    name = "json_is_false"
    inherit_cache = True
    kind = "false"


_SQLITE_TYPES = {"string": "'text'", "true": "'true'", "false": "'false'"}


@compiles(_JsonIs, "sqlite")
def _json_is_sqlite(element: _JsonIs, compiler: Any, **kw: Any) -> str:
    column, _key, path = element.clauses.clauses
    return (f"(json_type({compiler.process(column, **kw)}, {compiler.process(path, **kw)}) "
            f"IN ({_SQLITE_TYPES[element.kind]}))")


@compiles(_JsonIs, "postgresql")
def _json_is_postgresql(element: _JsonIs, compiler: Any, **kw: Any) -> str:
    column, key, _path = element.clauses.clauses
    fragment = f"({compiler.process(column, **kw)} -> {compiler.process(key, **kw)})"
    if element.kind in ("true", "false"):
        # A JSON scalar's fragment is its token, so a boolean is exactly 'true' or 'false' (a string
        # "true" keeps its quotes): one extraction instead of jsonb_typeof plus ->>.
        return f"(CAST({fragment} AS TEXT) = '{element.kind}')"
    return f"(jsonb_typeof{fragment} = '{element.kind}')"


_JSON_IS = {"string": _JsonIsString, "true": _JsonIsTrue, "false": _JsonIsFalse}


def json_is(name: str, kind: str) -> ColumnElement[bool]:
    """The custom attribute `name` holds a JSON string / true / false (`kind`); NULL when absent."""
    path = '$."' + name + '"'
    return _JSON_IS[kind](Contact.attributes, bindparam(None, name, String), bindparam(None, path, String))


class Bytewise(FunctionElement[str]):
    """Text compared by code point on both dialects: COLLATE "C" on PostgreSQL (SQLite's BINARY already is)."""

    name = "bytewise"
    type = String()
    inherit_cache = True


@compiles(Bytewise)
def _bytewise_default(element: Bytewise, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses.clauses[0], **kw)


@compiles(Bytewise, "postgresql")
def _bytewise_postgresql(element: Bytewise, compiler: Any, **kw: Any) -> str:
    return f'({compiler.process(element.clauses.clauses[0], **kw)} COLLATE "C")'


class JsonNumber(FunctionElement[float]):
    """The custom attribute as a number: a JSON number, or a JSON string written as a plain decimal
    ("90", "-2.5") — CSV imports store every custom value as text, and "score ≥ 50" must still work
    for them. NULL for anything else (booleans, other text, absent), so no cast can fail on a row.

    Arguments: (column, key, sqlite_path). SQLAlchemy's `as_float()` is not enough: it casts blindly
    (PostgreSQL raises on "abc") and on SQLite passes text through (where '90' > 100 is true).
    """

    name = "json_number"
    type = Float()
    inherit_cache = True


_DECIMAL = r"^(-?[0-9]+(?:\.[0-9]+)?)$"


@compiles(JsonNumber, "postgresql")
def _json_number_postgresql(element: JsonNumber, compiler: Any, **kw: Any) -> str:
    column, key, _path = element.clauses.clauses
    fragment = f"({compiler.process(column, **kw)} -> {compiler.process(key, **kw)})"
    text = f"({compiler.process(column, **kw)} ->> {compiler.process(key, **kw)})"
    # The type test first: a JSON number casts as it is; only a string pays for the regular expression
    # (substring(… FROM pattern) is NULL when it does not match, so no cast can fail). Measured at
    # 300,000 rows: regex on every row 4x the cost of ->> alone, this CASE 2x. (attributes is jsonb on
    # PostgreSQL since migration 0005, so neither operator re-parses the document.)
    return (f"(CASE jsonb_typeof{fragment} WHEN 'number' THEN CAST({text} AS DOUBLE PRECISION) "
            f"WHEN 'string' THEN CAST(substring({text} FROM '{_DECIMAL}') AS DOUBLE PRECISION) END)")


@compiles(JsonNumber, "sqlite")
def _json_number_sqlite(element: JsonNumber, compiler: Any, **kw: Any) -> str:
    column, _key, path = element.clauses.clauses
    args = f"{compiler.process(column, **kw)}, {compiler.process(path, **kw)}"
    value = f"json_extract({args})"
    # SQLite has no regular expressions by default; these GLOBs admit exactly -?digits(.digits)?.
    decimal = " AND ".join([
        f"{value} <> ''", f"{value} <> '-'", f"NOT {value} GLOB '*[^0-9.-]*'", f"NOT {value} GLOB '?*-*'",
        f"NOT {value} GLOB '*.*.*'", f"NOT {value} GLOB '*.'", f"NOT {value} GLOB '.*'", f"NOT {value} GLOB '-.*'",
    ])
    return (f"(CASE json_type({args}) WHEN 'integer' THEN {value} WHEN 'real' THEN {value} "
            f"WHEN 'text' THEN (CASE WHEN {decimal} THEN CAST({value} AS REAL) END) END)")


def json_number(name: str) -> ColumnElement[float]:
    """The custom attribute `name` as a number (see JsonNumber); NULL when it is not one."""
    path = '$."' + name + '"'
    return JsonNumber(Contact.attributes, bindparam(None, name, String), bindparam(None, path, String))
