"""Fixtures for the campaigns tests (factories.py has the helpers)."""

from __future__ import annotations

import pytest

from tests.campaigns.factories import ScriptedChannel


@pytest.fixture
def channel() -> ScriptedChannel:
    return ScriptedChannel()
