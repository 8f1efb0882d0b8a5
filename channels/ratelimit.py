"""One send rate per channel, shared by every worker that sends through it: one message per slot,
the slots evenly spaced.

The dispatch loop takes one slot per message right before sending it (campaigns/delivery/dispatch.py), and
nowhere else (STYLE: a per-worker limit multiplies by the worker count). Storage is `memory://` in
embedded mode (one process, many threads) and `redis://` in scaled mode (many processes), so the
limit is global either way.

Why slots and not a window: a provider that allows R requests a second counts them in a bucket that
refills continuously. A window of R tokens taken at once and spent as a burst empties that bucket in
a moment and the rest of the burst is refused (issue 12: one 429 per batch). So the limiter keeps,
per channel, the time of the next free slot (GCRA's "theoretical arrival time"): taking a slot
returns how long to sleep until it and moves the next free slot on by 1/rate. Waiting senders queue
in slot order, whatever process they are in, and the provider sees one request every 1/rate seconds.
The rate is passed on every call, so a channel whose provider pushed back (campaigns/delivery/throttle.py
lowers its rate) is spaced further apart from the next message on. The sender that met the push-back
also calls slow_down(): every sender's next slot waits out the provider's Retry-After, and is spaced
at the lowered rate for a couple of seconds, until each has read the lowered rate itself — otherwise
each of them would have to be refused once before slowing down.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from limits import RateLimitItem, parse

from channels.base import ChannelConfigError

# A slot taken by a sender that has since stopped is lost at most this long after the last slot taken.
_IDLE_EXPIRY_SECONDS = 60

# Atomic in Redis: read the next free slot, take n from max(it, now), store where the next free slot is.
# Redis's own clock, so processes on machines whose clocks differ still share one schedule. Numbers go
# back as strings: Redis turns a Lua number reply into an integer.
_TAKE_SLOTS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
if next_free < now then next_free = now end
local interval = math.max(tonumber(ARGV[2]), tonumber(redis.call('GET', KEYS[2]) or '0'))
local last = next_free + tonumber(ARGV[1]) * interval
redis.call('SET', KEYS[1], string.format('%.6f', last), 'PX', math.ceil((last - now) * 1000) + ARGV[3] * 1000)
return string.format('%.6f', next_free - now)
"""
_SLOW_DOWN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local next_free = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%.6f', next_free), 'PX', math.ceil((next_free - now) * 1000) + ARGV[4] * 1000)
redis.call('SET', KEYS[2], ARGV[2], 'PX', math.ceil(ARGV[3] * 1000))
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return 1
"""
_NOTE_ACCEPTED = """
local t = redis.call('TIME')
redis.call('SET', KEYS[1], string.format('%.6f', tonumber(t[1]) + tonumber(t[2]) / 1000000), 'EX', ARGV[1])
return 1
"""
_SINCE_ACCEPTED = """
local last = redis.call('GET', KEYS[1])
if not last then return '' end
local t = redis.call('TIME')
return string.format('%.6f', tonumber(t[1]) + tonumber(t[2]) / 1000000 - tonumber(last))
"""
_BACKLOG = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
return string.format('%.6f', math.max(0, next_free - now))
"""


def parse_rate(rate: str, *, where: str = "rate") -> RateLimitItem:
    """Parse "10/second", "600/minute", "10 per second"; raises ChannelConfigError naming the value."""
    try:
        item = parse(rate)
    except ValueError as exc:
        raise ChannelConfigError(
            f'{where}="{rate}" is not a rate; write it as COUNT/UNIT, e.g. "10/second" or "600/minute"'
        ) from exc
    if item.amount < 1:
        raise ChannelConfigError(f'{where}="{rate}" allows nothing; use at least "1/{item.GRANULARITY.name}"')
    return item


def per_second(rate: str | float) -> float:
    """Messages a second a rate allows: "600/minute" -> 10.0; a number is taken as already per second."""
    if isinstance(rate, (int, float)):
        return float(rate)
    item = parse_rate(rate)
    return item.amount / (item.GRANULARITY.seconds * item.multiples)


class RateLimiter:
    """Hands out evenly spaced send slots per channel. Thread-safe; share one per process."""

    def __init__(self, storage_uri: str = "memory://") -> None:
        self.storage_uri = storage_uri
        self._lock = threading.Lock()
        self._next_free: dict[str, float] = {}  # memory://: channel key -> time.time() of its next free slot
        self._slowed: dict[str, tuple[float, float]] = {}  # memory://: channel key -> (interval, until when)
        self._slowdowns: dict[str, int] = {}  # memory://: channel key -> how many slow_down() calls so far
        self._accepted_at: dict[str, float] = {}  # memory://: channel key -> time.time() the provider last took one
        self._redis: Any = None
        if not storage_uri.startswith("memory://"):
            import redis  # only scaled mode needs it

            self._redis = redis.Redis.from_url(storage_uri)
            self._take = self._redis.register_script(_TAKE_SLOTS)
            self._backlog = self._redis.register_script(_BACKLOG)
            self._slow_down = self._redis.register_script(_SLOW_DOWN)
            self._note_accepted = self._redis.register_script(_NOTE_ACCEPTED)
            self._since_accepted = self._redis.register_script(_SINCE_ACCEPTED)

    def take(self, channel_key: str, rate: str | float, n: int = 1) -> float:
        """Take the next `n` send slots of `channel_key` at `rate` (per second, or "10/second"); returns the
        seconds until the first of them (0 when it is free now). The k-th slot is k / rate after the first.
        Raises ChannelConfigError if `rate` cannot be parsed."""
        interval = 1.0 / per_second(rate)
        if self._redis is not None:
            return float(self._take(keys=[self._key(channel_key), self._key(channel_key, "slowed")],
                                    args=[n, interval, _IDLE_EXPIRY_SECONDS]))
        with self._lock:
            now = time.time()
            slowed, until = self._slowed.get(channel_key, (0.0, 0.0))
            interval = max(interval, slowed) if until > now else interval
            first = max(self._next_free.get(channel_key, 0.0), now)
            self._next_free[channel_key] = first + n * interval
            return first - now

    def slow_down(self, channel_key: str, rate: str | float, *, hold_seconds: float, for_seconds: float) -> None:
        """The provider pushed back: no slot of `channel_key` for `hold_seconds` (its Retry-After), and
        none closer together than `rate` allows for `for_seconds`, whatever rate the senders pass."""
        interval = 1.0 / per_second(rate)
        if self._redis is not None:
            self._slow_down(keys=[self._key(channel_key), self._key(channel_key, "slowed"),
                                  self._key(channel_key, "slowdowns")],
                            args=[hold_seconds, interval, for_seconds, _IDLE_EXPIRY_SECONDS])
            return
        with self._lock:
            now = time.time()
            self._next_free[channel_key] = max(self._next_free.get(channel_key, 0.0), now + hold_seconds)
            self._slowed[channel_key] = (interval, now + for_seconds)
            self._slowdowns[channel_key] = self._slowdowns.get(channel_key, 0) + 1

    def slowdowns(self, channel_key: str) -> int:
        """A number that changes with every slow_down() of `channel_key`: a sender that took its slot
        before the provider pushed back sees it changed when its slot comes, and takes a new one instead
        of sending into the refusal."""
        if self._redis is not None:
            return int(self._redis.get(self._key(channel_key, "slowdowns")) or 0)
        with self._lock:
            return self._slowdowns.get(channel_key, 0)

    def note_accepted(self, channel_key: str) -> None:
        """The provider took a message of `channel_key` just now (any sender): see seconds_since_accepted()."""
        if self._redis is not None:
            self._note_accepted(keys=[self._key(channel_key, "accepted")], args=[_IDLE_EXPIRY_SECONDS])
            return
        with self._lock:
            self._accepted_at[channel_key] = time.time()

    def seconds_since_accepted(self, channel_key: str) -> float | None:
        """Seconds since the provider last took a message of `channel_key`, from any sender (None: not lately).
        With a throttle answer's Retry-After it tells the provider's own rate (campaigns/delivery/pacing.py)."""
        if self._redis is not None:
            value = self._since_accepted(keys=[self._key(channel_key, "accepted")])
            return float(value) if value else None
        with self._lock:
            at = self._accepted_at.get(channel_key)
        return None if at is None else max(0.0, time.time() - at)

    def wait(self, channel_key: str, rate: str | float, n: int = 1) -> None:
        """Sleep until `n` slots of `rate` have come for `channel_key`: the last one taken is due now."""
        if n < 1:
            return
        delay = self.take(channel_key, rate, n) + (n - 1) / per_second(rate)
        if delay > 0:
            time.sleep(delay)

    def backlog_seconds(self, channel_key: str) -> float:
        """How far ahead the slots of `channel_key` are taken: a sender that takes one now waits this long."""
        if self._redis is not None:
            return float(self._backlog(keys=[self._key(channel_key)]))
        with self._lock:
            return max(0.0, self._next_free.get(channel_key, 0.0) - time.time())

    def reset(self, channel_key: str, rate: str | float = "") -> None:
        """Forget the slots taken for this channel (tests; an operator changing the rate)."""
        if self._redis is not None:
            self._redis.delete(self._key(channel_key), self._key(channel_key, "slowed"),
                               self._key(channel_key, "slowdowns"), self._key(channel_key, "accepted"))
            return
        with self._lock:
            self._next_free.pop(channel_key, None)
            self._slowed.pop(channel_key, None)
            self._slowdowns.pop(channel_key, None)
            self._accepted_at.pop(channel_key, None)

    @staticmethod
    def _key(channel_key: str, part: str = "next") -> str:
        return f"herald:send-slots:{channel_key}:{part}"
