"""Fixtures for the channel tests: the protocol fakes, started per test and stopped after it."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.fakes.fake_smtp import FakeSmtp
from tests.fakes.fake_twilio import FakeTwilio


@pytest.fixture
def fake_smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as fake:
        yield fake


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
