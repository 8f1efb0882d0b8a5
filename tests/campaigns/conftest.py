"""Fixtures for the campaigns tests (factories.py has the helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channels import open_channel
from tests.campaigns.factories import ScriptedChannel
from tests.fakes.fake_twilio import FakeTwilio


@pytest.fixture
def channel() -> ScriptedChannel:
    return ScriptedChannel()


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    """The Twilio-compatible fake on loopback; a module that scripts refusals overrides it."""
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def twilio(fake):
    """The real Twilio channel, through the official SDK, pointed at `fake`."""
    channel = open_channel(fake.channel_url())
    yield channel
    channel.close()
