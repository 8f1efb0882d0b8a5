"""The one rate limit per channel: evenly spaced send slots, memory in embedded mode, Redis in scaled mode,
same behaviour."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from channels import ChannelConfigError, RateLimiter
from channels.ratelimit import per_second


@pytest.fixture(params=["memory", "redis"])
def limiter(request) -> RateLimiter:
    if request.param == "redis":
        return RateLimiter(request.getfixturevalue("redis_url"))
    return RateLimiter("memory://")


def fresh_key() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"  # Redis db 15 outlives a test run; never share a key


def timed(fn) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def test_slots_are_evenly_spaced_never_a_burst(limiter):
    # Issue 12: a batch's tokens taken at once went out as a burst the provider refused. At 20/second
    # the 10th message is due 9/20 s after the first, whoever takes the slots.
    key = fresh_key()
    delays = [limiter.take(key, "20/second") for _ in range(10)]
    assert delays[0] < 0.05
    for earlier, later in zip(delays, delays[1:], strict=False):
        assert 0.04 < later - earlier < 0.06
    assert 0.4 < delays[-1] < 0.5


def test_waiting_for_n_slots_takes_n_intervals(limiter):
    # 25 at 50/second: the last is due 24/50 s after the first; never a deadlock on "25 > 10".
    elapsed = timed(lambda: limiter.wait(fresh_key(), "50/second", 25))
    assert 0.45 < elapsed < 1.0


def test_the_rate_can_change_between_slots(limiter):
    # A channel slowed down after a 429 (campaigns/delivery/throttle.py) spaces the next slot by its new rate.
    key = fresh_key()
    limiter.take(key, 100.0)
    limiter.take(key, 100.0)
    assert 0.005 < limiter.take(key, 2.0) < 0.03  # the slot after two at 100/s
    assert 0.45 < limiter.take(key, 2.0) < 0.6  # then half a second apart
    assert 0.9 < limiter.backlog_seconds(key) < 1.1


def test_channels_have_separate_slots(limiter):
    limiter.take("sms-" + fresh_key(), "1/second", 5)
    assert limiter.take("email-" + fresh_key(), "1/second") < 0.05


def test_zero_messages_never_wait(limiter):
    key = fresh_key()
    limiter.wait(key, "1/second", 1)
    assert timed(lambda: limiter.wait(key, "1/second", 0)) < 0.05


def test_workers_share_one_schedule(limiter):
    # Four threads each wanting 5 at 20/second: 20 slots, the last 19/20 s after the first, whoever asks.
    key = fresh_key()
    threads = [threading.Thread(target=limiter.wait, args=(key, "20/second", 5)) for _ in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert 0.9 < time.monotonic() - started < 2.0


def test_two_limiters_on_one_redis_share_the_schedule(redis_url):
    # Scaled mode: each worker process has its own RateLimiter, the slots are in Redis.
    key = fresh_key()
    RateLimiter(redis_url).take(key, "10/second", 10)
    assert 0.9 < RateLimiter(redis_url).take(key, "10/second") < 1.1


@pytest.mark.parametrize(("rate", "expected"), [("10/second", 10.0), ("600/minute", 10.0), ("1/hour", 1 / 3600),
                                                (2.5, 2.5)])
def test_per_second(rate, expected):
    assert per_second(rate) == pytest.approx(expected)


@pytest.mark.parametrize("rate", ["ten per second", "10/fortnight", "0/second", ""])
def test_a_bad_rate_is_a_config_error_naming_it(rate):
    with pytest.raises(ChannelConfigError, match="COUNT/UNIT|allows nothing") as info:
        RateLimiter().wait("sms", rate, 1)
    assert f'"{rate}"' in str(info.value)


def test_slowing_down_holds_every_sender_then_spaces_them_at_the_lower_rate(limiter):
    # One sender met a 429 with Retry-After 0.3: the others wait it out and pace at the lowered rate at
    # once, whatever (older) rate they pass, until the slow-down ends.
    key = fresh_key()
    limiter.take(key, 100.0)
    before = limiter.slowdowns(key)
    limiter.slow_down(key, 10.0, hold_seconds=0.3, for_seconds=0.6)
    assert limiter.slowdowns(key) != before  # a sender whose slot was taken before sees it
    first = limiter.take(key, 100.0)
    assert 0.25 < first < 0.35
    assert 0.09 < limiter.take(key, 100.0) - first < 0.12
    time.sleep(1.0)
    assert limiter.take(key, 100.0) < 0.05
    assert 0.005 < limiter.take(key, 100.0) < 0.02  # the passed rate again


def test_the_time_since_the_provider_last_took_a_message_is_shared_by_every_sender(limiter):
    # With a throttle answer's Retry-After it tells the provider's own rate (campaigns/delivery/pacing.py).
    key = fresh_key()
    assert limiter.seconds_since_accepted(key) is None
    limiter.note_accepted(key)
    time.sleep(0.1)
    assert 0.09 < limiter.seconds_since_accepted(key) < 0.5
    limiter.reset(key)
    assert limiter.seconds_since_accepted(key) is None
