"""The one rate limit per channel: memory in embedded mode, Redis in scaled mode, same behaviour."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from channels import ChannelConfigError, RateLimiter


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


def test_a_batch_within_the_rate_goes_through_at_once(limiter):
    assert timed(lambda: limiter.wait(fresh_key(), "20/second", 20)) < 0.5


def test_the_next_batch_waits_for_the_window(limiter):
    key = fresh_key()
    limiter.wait(key, "10/second", 10)
    assert 0.8 < timed(lambda: limiter.wait(key, "10/second", 1)) < 2.0


def test_a_batch_larger_than_the_rate_goes_through_in_parts(limiter):
    # 25 at 10/second: 10 now, 10 after a second, 5 after two; never a deadlock on "25 > 10".
    elapsed = timed(lambda: limiter.wait(fresh_key(), "10/second", 25))
    assert 1.8 < elapsed < 3.5


def test_channels_have_separate_budgets(limiter):
    limiter.wait("sms-" + fresh_key(), "5/second", 5)
    assert timed(lambda: limiter.wait("email-" + fresh_key(), "5/second", 5)) < 0.5


def test_zero_messages_never_wait(limiter):
    key = fresh_key()
    limiter.wait(key, "1/second", 1)
    assert timed(lambda: limiter.wait(key, "1/second", 0)) < 0.05


def test_workers_share_one_limit(limiter):
    # Four threads each wanting 5 at 10/second: 20 in total need two windows, whoever asks.
    key = fresh_key()
    threads = [threading.Thread(target=limiter.wait, args=(key, "10/second", 5)) for _ in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert 0.9 < time.monotonic() - started < 3.0


def test_two_limiters_on_one_redis_share_the_budget(redis_url):
    # Scaled mode: each worker process has its own RateLimiter, the budget is in Redis.
    key = fresh_key()
    RateLimiter(redis_url).wait(key, "10/second", 10)
    assert timed(lambda: RateLimiter(redis_url).wait(key, "10/second", 1)) > 0.8


@pytest.mark.parametrize("rate", ["ten per second", "10/fortnight", "0/second", ""])
def test_a_bad_rate_is_a_config_error_naming_it(rate):
    with pytest.raises(ChannelConfigError, match="COUNT/UNIT|allows nothing") as info:
        RateLimiter().wait("sms", rate, 1)
    assert f'"{rate}"' in str(info.value)
