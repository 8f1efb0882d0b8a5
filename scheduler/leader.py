"""Exactly one active `herald scheduler`: a PostgreSQL session-level advisory lock.

The lock lives as long as one dedicated database connection. A scheduler that takes it leads;
another one stands by and retries every few seconds. When the leader dies — crash, kill -9,
machine gone — PostgreSQL ends its session and the lock is free, so a standby takes over without
anyone cleaning up. Nothing is written to a table, so there is no stale row to expire.

Why a session lock and not a lease row: a row needs a TTL that trades fail-over time against
false take-overs during a long GC pause; the session lock is held exactly while the leader's
connection is, which is what "the leader is alive" means to the database it schedules against.

A machine that vanishes without closing its socket is noticed through TCP keepalives (set on the
server side of this one connection, below): the lock is freed within about half a minute. If the
old leader is only cut off and later comes back, its heartbeat (still_held) fails and it stops.
Even in that window two schedulers only wake workers twice: the rows are the truth (DESIGN §3).

The heartbeat notices a lost lock only every few seconds, and jobs already handed to the thread pool
would still run after it. So each job is fenced (scheduler/fence.py): `held_in(session)` asks, in the
job's own transaction, whether the lock is still held by this process's lock session — a question to
the database, not to this process's memory — and a job whose process no longer leads does nothing.

SQLite (embedded mode) needs no lock: there the scheduler runs inside the one `herald serve`
process that owns the database file, so acquire() simply succeeds.
"""

from __future__ import annotations

import logging
import os
import socket
import time

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from core.db import Database

log = logging.getLogger("herald.scheduler")

# A fixed 64-bit key, the same in every Herald process ("heraldS1" as ASCII). Advisory locks are
# scoped to the current database, so two Herald installations on one server do not collide.
LOCK_KEY = 0x68657261_6C645331

# The server drops a vanished client's session after idle + interval * count seconds (10 + 5*3).
_KEEPALIVE_SQL = ("SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5", "SET tcp_keepalives_count = 3")

_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")
# Who holds it, for the standby's log line: a bigint key shows in pg_locks as classid (high 32
# bits) and objid (low 32 bits) with objsubid 1.
_HOLDER = text("""
    SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.classid = :hi AND l.objid = :lo
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
""")
# The same, for one backend: is the lock still granted to this process's lock session?
_HELD_BY = text("""
    SELECT count(*) FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.classid = :hi AND l.objid = :lo AND l.pid = :pid
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
""")


class LeaderLock:
    """Leadership of one role (the scheduler) against one database. Not thread-safe; one per process."""

    def __init__(self, database: Database, *, key: int = LOCK_KEY, role: str = "scheduler") -> None:
        self.database = database
        self.key = key
        self.role = role
        self.needed = database.dialect == "postgresql"
        self.held = False
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._backend_pid: int | None = None  # the lock session's server process, which pg_locks names

    def acquire(self, blocking_poll_seconds: float | None = None) -> bool:
        """Try to become the leader; True once this process leads.

        `blocking_poll_seconds=None` tries once. A number retries every that many seconds until the
        lock is taken (logging once that this process stands by, and who leads), so it only returns
        True. A database that cannot be reached is retried the same way when blocking, raised otherwise.
        """
        if not self.needed:
            log.info("event=leader_lock_skipped role=%s dialect=%s reason=single-process database",
                     self.role, self.database.dialect)
            self.held = True
            return True
        standing_by = False
        while True:
            try:
                if self._try_once():
                    log.info("event=%s_leading pid=%d", self.role, os.getpid())
                    return True
                if not standing_by:
                    log.info("event=%s_standing_by pid=%d leader=%s retry_seconds=%s", self.role, os.getpid(),
                             self._holder(), blocking_poll_seconds)
                    standing_by = True
            except Exception as exc:  # noqa: BLE001 - a database outage must not end a standby
                self._close()
                if blocking_poll_seconds is None:
                    raise
                log.warning("event=%s_lock_unavailable error=%r retry_seconds=%s", self.role, exc,
                            blocking_poll_seconds)
            if blocking_poll_seconds is None:
                return False
            time.sleep(blocking_poll_seconds)

    def still_held(self) -> bool:
        """Is the lock's connection alive (and so the lock ours)? The leader's heartbeat asks this."""
        if not self.needed:
            return self.held
        if not self.held or self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means the session, and the lock with it, is gone
            self.held = False
            return False

    def held_in(self, session: Session) -> bool:
        """Does this process still lead, asked in `session`'s transaction (a job's own)? Thread-safe: it
        uses the caller's connection, never the lock's. On SQLite (no lock needed) it is `held`."""
        if not self.needed:
            return self.held
        pid = self._backend_pid
        if not self.held or pid is None:
            return False
        hi, lo = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        return bool(session.execute(_HELD_BY, {"hi": hi, "lo": lo, "pid": pid}).scalar())

    def release(self) -> None:
        """Give up leadership (a standby takes over at its next try) and close the connection; idempotent."""
        if self._connection is not None and self.held:
            try:
                self._connection.execute(_UNLOCK, {"key": self.key})
            except Exception:  # noqa: BLE001 - closing the connection below frees the lock anyway
                log.warning("event=%s_unlock_failed", self.role, exc_info=True)
        self.held = False
        self._close()

    def _try_once(self) -> bool:
        if self._connection is None:
            self._connection = self._connect()
        self.held = bool(self._connection.execute(_TRY_LOCK, {"key": self.key}).scalar())
        if self.held:
            self._backend_pid = int(self._connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        return self.held

    def _connect(self) -> Connection:
        # A dedicated engine without a pool: the lock must die with exactly this connection, and a
        # pooled connection handed back would keep a session lock alive inside the pool.
        self._engine = create_engine(
            self.database.url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
            connect_args={"application_name": f"herald {self.role} {socket.gethostname()} pid={os.getpid()}"[:63]},
        )
        connection = self._engine.connect()
        for statement in _KEEPALIVE_SQL:
            connection.execute(text(statement))
        return connection

    def _holder(self) -> str:
        if self._connection is None:
            return "?"
        hi, lo = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        row = self._connection.execute(_HOLDER, {"hi": hi, "lo": lo}).first()
        if row is None:
            return "none (just released)"
        return f'"{row.application_name}" backend_pid={row.pid} client={row.client_addr or "local"}'

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - already broken; nothing left to free
                pass
            self._connection = None
        self._backend_pid = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
