"""One send rate per channel, shared by every worker that sends through it.

The dispatch loop calls `limiter.wait(channel.name, channel.rate, len(batch))` right before
`channel.send(batch)`, and nowhere else (STYLE: a per-worker limit multiplies by the worker count).
Storage is `memory://` in embedded mode (one process, many threads) and `redis://` in scaled mode
(many processes), so the limit is global either way.

Strategy: the `limits` library's moving window. A fixed window lets through up to twice the rate
around a window boundary (N at the end of one second, N at the start of the next), which a provider
that counts a rolling second answers with 429s; the moving window never exceeds N in any second.
(`limits` dropped its elastic fixed window in 4.0, and it punished bursts anyway.)
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from channels.base import ChannelConfigError

# Sleep at most this long between checks, so a waiting worker notices freed capacity quickly and a
# shutdown is never stuck behind one long sleep.
MAX_SLEEP_SECONDS = 0.1
MIN_SLEEP_SECONDS = 0.005


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


class RateLimiter:
    """Blocks until the channel's rate allows n more messages. Thread-safe; share one per process."""

    def __init__(self, storage_uri: str = "memory://") -> None:
        self.storage_uri = storage_uri
        self._storage = storage_from_string(storage_uri)
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._items: dict[str, RateLimitItem] = {}

    def wait(self, channel_key: str, rate: str, n: int) -> None:
        """Sleep (in small steps) until `n` tokens of `rate` are available for `channel_key`, then take them.

        A batch larger than the rate is taken in parts as the window frees up, so it always goes
        through, just spread over time. Raises ChannelConfigError if `rate` cannot be parsed.
        """
        item = self._items.get(rate) or self._items.setdefault(rate, parse_rate(rate))
        left = n
        while left > 0:
            part = min(left, item.amount)
            if self._limiter.hit(item, "herald", channel_key, cost=part):
                left -= part
                continue
            # Not enough for the whole part: take what is free now (progress for big batches),
            # otherwise sleep until the oldest hit in the window expires.
            reset_at, remaining = self._limiter.get_window_stats(item, "herald", channel_key)
            if 0 < remaining < part and self._limiter.hit(item, "herald", channel_key, cost=remaining):
                left -= remaining
                continue
            pause = reset_at - time.time()
            time.sleep(min(MAX_SLEEP_SECONDS, max(MIN_SLEEP_SECONDS, pause)))

    def reset(self, channel_key: str, rate: str) -> None:
        """Forget what was taken for this channel (tests; an operator changing the rate)."""
        self._limiter.clear(parse_rate(rate), "herald", channel_key)
