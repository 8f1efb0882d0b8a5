"""End-to-end fixtures: the real web app on a loopback port (for provider callbacks), the protocol
fakes, and the `herald` CLI run against the test's own config."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from tests.conftest import make_config
from tests.fakes.fake_smtp import FakeSmtp
from tests.fakes.fake_twilio import FakeTwilio


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake_smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as fake:
        yield fake


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(invalid_numbers={"+12025550143"}) as fake:
        yield fake


@pytest.fixture
def web_port() -> int:
    return free_port()


@pytest.fixture
def e2e_env(tmp_path, db_url, fake_smtp, fake_twilio, web_port) -> dict[str, str]:
    """The environment a Herald process of this test runs with: real channels pointed at the fakes."""
    config_file = tmp_path / "config.toml"
    config_file.write_text("# e2e: everything from the environment\n")
    return {
        "HERALD_CONFIG": str(config_file),
        "HERALD_ENV": "test",
        "HERALD_DATABASE_URL": db_url,
        "HERALD_DATA_DIR": str(tmp_path / "var"),
        "HERALD_BASE_URL": f"http://127.0.0.1:{web_port}",
        "HERALD_CHANNELS_EMAIL_URL": fake_smtp.url + "?from=news@shop.example.com",
        "HERALD_CHANNELS_SMS_URL": fake_twilio.channel_url(),
        "HERALD_DEFAULT_REGION": "US",
        "HERALD_SENDER_POLL_SECONDS": "0.05",
        "HERALD_SENDER_BATCH_SIZE": "10",
        "HERALD_SCHEDULER_ENABLED": "false",
        # Tests run at any hour: after 21:00 UTC the shipped quiet hours (21:00-08:00) held every message of a
        # Send now until morning, and the sender handled none. As in tests/conftest.py.
        "HERALD_CAMPAIGNS_QUIET_HOURS": "off",
    }


@pytest.fixture
def e2e_config(tmp_path, db_url, e2e_env):
    env = {k: v for k, v in e2e_env.items() if k != "HERALD_CONFIG"}
    return make_config(tmp_path, db_url, **env)


@pytest.fixture
def web_server(e2e_config, database, web_port) -> Iterator[str]:
    """The Herald web app serving on the port its base_url names, so Twilio's callbacks reach it."""
    from web.app import create_app

    app = create_app(e2e_config, database=database)
    server = make_server("127.0.0.1", web_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield e2e_config.base_url
    server.shutdown()


class Herald:
    """Runs `herald …` in-process with the test's environment, failing loudly on a non-zero exit."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str, expect_exit: int = 0) -> str:
        from web.cli import cli

        result = CliRunner().invoke(cli, list(args), env=self.env, catch_exceptions=False)
        assert result.exit_code == expect_exit, f"herald {' '.join(args)} exited {result.exit_code}:\n{result.output}"
        return result.output


@pytest.fixture
def herald(e2e_env) -> Herald:
    return Herald(e2e_env)


@pytest.fixture
def subprocess_env(e2e_env) -> dict[str, str]:
    """For `herald` as a separate process (the kill test)."""
    env = dict(os.environ)
    env.update(e2e_env)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env
