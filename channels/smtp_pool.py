"""SMTP sessions shared by every sender thread of one process: at most `size` open per server and login.

Each sender thread has its own SmtpChannel (channels belong to one thread), but a relay counts
connections per client: eight threads with a session each is eight sessions, and a relay that allows
five says 421 to the rest. So channels that name the same server, port, login and TLS mode share one
pool. A thread borrows a session for a batch and gives it back; when all `size` are lent, the next
thread waits for one. A session that broke is thrown away, not given back, and the next borrower
opens a fresh one. The pool lives as long as a channel uses it: the last channel to close() says QUIT
on the idle sessions and removes it.
"""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_POOL_SIZE = 4
# How long a thread waits for a lent session before saying so; far longer than one batch takes.
BORROW_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class PoolKey:
    """What makes two channels' sessions interchangeable. The password is part of it, so a
    changed password never reuses a session logged in with the old one."""

    host: str
    port: int
    username: str
    password: str
    use_ssl: bool
    starttls: bool
    cafile: str
    helo: str | None


class PoolExhausted(TimeoutError):
    """No session came back within the borrow timeout: the other threads hold them all."""


class SmtpPool:
    """Up to `size` SMTP sessions to one server; see the module doc."""

    def __init__(self, key: PoolKey, size: int, connect: Callable[[], smtplib.SMTP]) -> None:
        self.key = key
        self.size = size
        self._connect = connect
        self._idle: list[smtplib.SMTP] = []
        self._lent = 0
        self._users = 0
        self._opened = 0  # sessions ever opened: tests and logs read it
        self._cond = threading.Condition()

    @property
    def opened(self) -> int:
        return self._opened

    @property
    def open_sessions(self) -> int:
        with self._cond:
            return len(self._idle) + self._lent

    def borrow(self, timeout: float = BORROW_TIMEOUT_SECONDS) -> smtplib.SMTP:
        """An idle session, or a new one if fewer than `size` are open. Raises what connecting raises
        (OSError, smtplib.SMTPException) or PoolExhausted."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._idle and self._lent >= self.size:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PoolExhausted(f"all {self.size} SMTP sessions to {self.key.host}:{self.key.port} stayed "
                                        f"in use for {timeout:g}s; raise pool= in the channel URL or lower "
                                        "[sender] threads")
                self._cond.wait(left)
            self._lent += 1
            if self._idle:
                return self._idle.pop()
        try:  # connect outside the lock: a slow server must not block threads returning sessions
            conn = self._connect()
        except BaseException:
            with self._cond:
                self._lent -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._opened += 1
        return conn

    def give_back(self, conn: smtplib.SMTP | None) -> None:
        """Return a borrowed session; None (or a closed session) means it broke and was dropped."""
        with self._cond:
            self._lent -= 1
            keep = conn is not None and conn.sock is not None and self._users > 0
            if keep:
                self._idle.append(conn)
            self._cond.notify()
        if conn is not None and not keep:  # every channel closed meanwhile: nobody will borrow it again
            quit_quietly(conn)

    def discard_idle(self) -> None:
        """Close the idle sessions: one was found dead, and the server most likely dropped them all."""
        with self._cond:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def join(self) -> None:
        with self._cond:
            self._users += 1

    def leave(self) -> bool:
        """One channel stops using the pool; True when it was the last one (the pool is then closed)."""
        with self._cond:
            self._users -= 1
            last = self._users <= 0
            idle, self._idle = (self._idle, []) if last else ([], self._idle)
        for conn in idle:
            quit_quietly(conn)
        return last


def quit_quietly(conn: smtplib.SMTP) -> None:
    """Say QUIT; a server that already hung up is fine."""
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


_pools: dict[PoolKey, SmtpPool] = {}
_pools_lock = threading.Lock()


def join_pool(key: PoolKey, size: int, connect: Callable[[], smtplib.SMTP]) -> SmtpPool:
    """The process's pool for `key` (made on first use); the caller must leave_pool() it later.

    The first channel to join fixes the pool's size; channels of one config all ask for the same.
    """
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = SmtpPool(key, size, connect)
        pool.join()
        return pool


def leave_pool(pool: SmtpPool) -> None:
    with _pools_lock:
        if pool.leave() and _pools.get(pool.key) is pool:
            del _pools[pool.key]
