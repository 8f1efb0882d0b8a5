"""[celery] rate_limit_url: provider rates are counted in Redis across every worker, even when the
broker is RabbitMQ; scaled mode without a Redis for them stops at startup, naming the key."""

from __future__ import annotations

import pytest

from core.config import ConfigError, load_config

RABBIT = "amqp://herald:s3cret@rabbit:5672//"


def _load(tmp_path, **environ: str):
    path = tmp_path / "c.toml"
    path.write_text("")
    return load_config(path, environ)


def test_a_redis_broker_also_holds_the_rate_limits(tmp_path):
    config = _load(tmp_path, HERALD_SENDER_MODE="celery", HERALD_CELERY_BROKER_URL="redis://redis:6379/0")
    assert str(config.celery_rate_limit_url) == "redis://redis:6379/0"


def test_a_rabbitmq_broker_counts_rates_in_the_redis_named_for_them(tmp_path):
    config = _load(tmp_path, HERALD_SENDER_MODE="celery", HERALD_CELERY_BROKER_URL=RABBIT,
                   HERALD_CELERY_RATE_LIMIT_URL="redis://redis:6379/1")
    assert str(config.celery_broker_url) == RABBIT
    assert str(config.celery_rate_limit_url) == "redis://redis:6379/1"
    assert "s3cret" not in repr(config)


def test_a_rabbitmq_broker_without_a_redis_for_the_rates_stops_scaled_mode(tmp_path):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, HERALD_SENDER_MODE="celery", HERALD_CELERY_BROKER_URL=RABBIT)
    message = str(info.value)
    assert '[celery] broker_url uses "amqp"' in message and "HERALD_CELERY_RATE_LIMIT_URL" in message
    assert "s3cret" not in message  # the broker URL's password stays out of the message
    # Embedded mode has no workers to share a rate: the broker is not used, nothing to refuse.
    assert str(_load(tmp_path, HERALD_CELERY_BROKER_URL=RABBIT).celery_rate_limit_url) == ""


def test_a_rate_limit_url_that_is_not_redis_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r'rate_limit_url uses "memcached"; it must be a Redis URL'):
        _load(tmp_path, HERALD_CELERY_RATE_LIMIT_URL="memcached://cache:11211")


def test_a_worker_started_without_a_redis_for_the_rates_refuses_naming_the_key(tmp_path):
    from scheduler.celery_app import configure

    config = _load(tmp_path, HERALD_CELERY_BROKER_URL=RABBIT, HERALD_DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ConfigError, match=r"set \[celery\] rate_limit_url"):
        configure(config)
