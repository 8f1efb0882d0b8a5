import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from core.config import SETTINGS, ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


def _file_value(tree, setting):
    node = tree
    for part in setting.section.split("."):
        node = node[part]
    return node[setting.key]


def test_config_toml_documents_every_setting_with_its_default():
    tree = tomllib.loads((REPO / "config.toml").read_text(encoding="utf-8"))
    for setting in SETTINGS:
        value = _file_value(tree, setting)
        default = setting.default
        if isinstance(default, Decimal):
            assert Decimal(value) == default, setting.dotted
        else:
            assert value == default, setting.dotted


def test_shipped_config_loads(tmp_path):
    config = load_config(REPO / "config.toml", {})
    assert config.env == "dev"
    assert str(config.database_url) == "sqlite:///var/herald.db"
    assert config.channels["sms"].price == Decimal("0.0079")


def test_environment_overrides_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[database]\nurl = "sqlite:///a.db"\n[sender]\nthreads = 3\n')
    config = load_config(path, {"HERALD_DATABASE_URL": "postgresql+psycopg://x@h/db", "HERALD_SENDER_THREADS": "7",
                                "HERALD_CHANNELS_SMS_URL": "twilio://AC1:tok@default?from=%2B1"})
    assert str(config.database_url) == "postgresql+psycopg://x@h/db"
    assert config.sender_threads == 7
    assert str(config.channels["sms"].url).startswith("twilio://")


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("[sender]\nthreads = 0\n", {}, "[sender] threads"),
        ("[sender]\nthreads = 'many'\n", {}, "expected an integer"),
        ("", {"HERALD_SENDER_BATCH_SIZE": "lots"}, "environment variable HERALD_SENDER_BATCH_SIZE"),
        ("[sender]\nthreadz = 2\n", {}, "unknown setting [sender] threadz"),
        ("[sendr]\nthreads = 2\n", {}, "unknown section [sendr]"),
        ("[app]\nenv = 'prod'\n", {}, "one of dev, test, production"),
        ("[app]\ndefault_timezone = 'Mars/Base'\n", {}, "not an IANA time zone"),
        ("[database]\nurl = ''\n", {}, "[database] url"),
        ("[channels.sms]\nprice_per_segment = 'cheap'\n", {}, "decimal number"),
        ("[app\n", {}, "not valid TOML"),
        ("", {"HERALD_ENV": "production"}, "[app] secret_key is not set"),
    ],
)
def test_bad_settings_stop_startup_naming_the_key(tmp_path, text, environ, expected):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ)
    assert expected in str(info.value)


def test_secrets_are_masked_in_repr(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("")
    config = load_config(path, {"HERALD_SECRET_KEY": "very-secret-value"})
    assert "very-secret-value" not in repr(config)


def test_missing_explicit_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", {})


@pytest.mark.parametrize(("text", "environ", "region", "follows"), [
    ("", {}, "US", True),  # English workspace: what the region was before it followed the language
    ("[app]\ndefault_locale = 'zh_CN'\n", {}, "CN", True),  # set up in 简体中文: bare 138… mobiles are Chinese
    ("", {"HERALD_DEFAULT_LOCALE": "zh_CN"}, "CN", True),
    ("[app]\ndefault_locale = 'zh_CN'\ndefault_region = 'sg'\n", {}, "SG", False),  # config wins where set
    ("[app]\ndefault_locale = 'zh_CN'\n", {"HERALD_DEFAULT_REGION": "US"}, "US", False),
])
def test_default_region_follows_the_workspace_language_unless_set(tmp_path, text, environ, region, follows):
    path = tmp_path / "c.toml"
    path.write_text(text)
    config = load_config(path, environ)
    assert (config.default_region, config.default_region_set) == (region, not follows)


def test_an_unknown_default_region_stops_startup_naming_the_fix(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[app]\ndefault_region = 'China'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert "[app] default_region from" in str(info.value) and "such as CN or US" in str(info.value)
