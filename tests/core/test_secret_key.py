"""The session-signing key: production refuses a weak or published one; dev and test generate their own."""

from __future__ import annotations

import stat

import pytest

from core.config import ConfigError, load_config
from core.secret_key import KEY_FILE_NAME

PUBLISHED = "dev-only-insecure-secret-change-me"  # what config.toml shipped until issue 11
STRONG = "kqZ3v7n1X0pWm9Yc2Lr8Tt5Hs4Gd6Fb-Ja0Ne3Uo7Ik"


def _load(tmp_path, text: str = "", **environ: str):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return load_config(path, {"HERALD_DATA_DIR": str(tmp_path / "var"), **environ})


@pytest.mark.parametrize(("key", "why"), [
    ("", "is not set"),
    ("x", "is 1 bytes long"),
    ("a" * 31, "is 31 bytes long"),
    (PUBLISHED, "published default"),
    ("change-me", "published default"),
])
def test_production_refuses_a_short_or_published_key_naming_the_setting_and_the_fix(tmp_path, key, why):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, HERALD_ENV="production", HERALD_SECRET_KEY=key)
    message = str(info.value)
    assert "[app] secret_key" in message and why in message
    assert "HERALD_SECRET_KEY" in message and "secrets.token_urlsafe(48)" in message
    assert key not in message or len(key) < 3  # the refused key itself is never echoed
    assert not (tmp_path / "var" / KEY_FILE_NAME).exists()  # production never invents a key


def test_production_accepts_a_long_random_key(tmp_path):
    config = _load(tmp_path, HERALD_ENV="production", HERALD_SECRET_KEY=STRONG)
    assert str(config.secret_key) == STRONG


@pytest.mark.parametrize("env", ["dev", "test"])
def test_without_a_key_the_first_start_writes_a_private_random_one_that_later_starts_keep(tmp_path, env):
    first = _load(tmp_path, HERALD_ENV=env)
    key_file = tmp_path / "var" / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(str(first.secret_key)) >= 32 and str(first.secret_key) != PUBLISHED
    assert str(_load(tmp_path, HERALD_ENV=env).secret_key) == str(first.secret_key)  # kept across restarts
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    assert str(_load(elsewhere, HERALD_ENV=env).secret_key) != str(first.secret_key)  # per install


def test_dev_ignores_the_published_key_an_old_config_toml_still_holds(tmp_path):
    config = _load(tmp_path, f'[app]\nsecret_key = "{PUBLISHED}"\n')
    assert str(config.secret_key) != PUBLISHED
    assert str(config.secret_key) == (tmp_path / "var" / KEY_FILE_NAME).read_text().strip()


def test_dev_keeps_a_key_that_was_set_on_purpose(tmp_path):
    assert str(_load(tmp_path, HERALD_SECRET_KEY="my own dev key").secret_key) == "my own dev key"


def test_an_unusable_key_file_is_named_with_the_fix(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / KEY_FILE_NAME).write_text("short\n")
    with pytest.raises(ConfigError, match=r"secret_key.*delete it"):
        _load(tmp_path)
