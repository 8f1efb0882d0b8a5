"""Time is passed in, never read by domain code: it takes a Clock.

Tests use FrozenClock and move it; the running service uses SystemClock. Every datetime Herald
handles is aware and in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until told to move."""

    def __init__(self, at: datetime | None = None) -> None:
        self._now = at or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, at: datetime) -> None:
        self._now = at


def utcnow() -> datetime:
    """For defaults on rows created outside a domain function (e.g. created_at)."""
    return datetime.now(UTC)
