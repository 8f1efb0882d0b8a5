"""Herald's settings: one typed object, loaded once from config.toml and the environment.

Every setting is declared in SETTINGS with its type, default and the environment variable that
overrides it. config.toml documents each one; `tests/core/test_config.py` checks the two agree.
Nothing else in Herald reads os.environ: the CLI and the app factory call load_config() and pass
the result down.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_PATH = Path("config.toml")
DEV_SECRET_KEY = "dev-only-insecure-secret-change-me"


class ConfigError(Exception):
    """A setting is missing or malformed. The message names the key, the value's source and the fix."""


class Secret(str):
    """A string whose repr is masked, so a secret never lands in a log or a traceback by accident."""

    def __repr__(self) -> str:
        return "Secret('********')" if self else "Secret('')"


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    kind: str  # str | secret | int | float | bool | decimal | choice
    default: Any
    choices: tuple[str, ...] = ()
    minimum: float | None = None

    @property
    def env_name(self) -> str:
        # The [app] section is the project itself, so its variables drop the section name:
        # HERALD_SECRET_KEY rather than HERALD_APP_SECRET_KEY.
        if self.section == "app":
            return f"HERALD_{self.key.upper()}"
        return "HERALD_" + self.section.replace(".", "_").upper() + "_" + self.key.upper()

    @property
    def dotted(self) -> str:
        return f"[{self.section}] {self.key}"


SETTINGS: tuple[Setting, ...] = (
    Setting("app", "env", "choice", "dev", choices=("dev", "test", "production")),
    Setting("app", "secret_key", "secret", DEV_SECRET_KEY),
    Setting("app", "base_url", "str", "http://127.0.0.1:8000"),
    Setting("app", "data_dir", "str", "var"),
    Setting("app", "default_locale", "choice", "en", choices=("en", "zh_CN")),
    Setting("app", "default_timezone", "str", "UTC"),
    Setting("app", "default_region", "str", "US"),
    Setting("app", "currency", "str", "USD"),
    Setting("database", "url", "str", "sqlite:///var/herald.db"),
    Setting("server", "host", "str", "127.0.0.1"),
    Setting("server", "port", "int", 8000, minimum=1),
    Setting("sender", "mode", "choice", "embedded", choices=("embedded", "celery")),
    Setting("sender", "threads", "int", 2, minimum=1),
    Setting("sender", "batch_size", "int", 100, minimum=1),
    Setting("sender", "lease_seconds", "int", 300, minimum=5),
    Setting("sender", "poll_seconds", "float", 1.0, minimum=0.01),
    Setting("sender", "max_attempts", "int", 5, minimum=1),
    Setting("sender", "retry_base_seconds", "int", 30, minimum=1),
    Setting("scheduler", "enabled", "bool", True),
    Setting("celery", "broker_url", "str", "redis://127.0.0.1:6379/0"),
    Setting("channels.email", "url", "str", "log://var/outbox"),
    Setting("channels.email", "from_address", "str", "Herald <herald@localhost>"),
    Setting("channels.email", "price_per_message", "decimal", Decimal("0")),
    Setting("channels.sms", "url", "str", "log://var/outbox"),
    Setting("channels.sms", "price_per_segment", "decimal", Decimal("0.0079")),
)


@dataclass(frozen=True)
class ChannelConfig:
    name: str  # "email" or "sms": the marketer's channel, not the provider
    url: Secret
    from_address: str = ""
    price: Decimal = Decimal("0")  # per message for email, per segment for SMS


@dataclass(frozen=True)
class Config:
    env: str
    secret_key: Secret
    base_url: str
    data_dir: Path
    default_locale: str
    default_timezone: str
    default_region: str
    currency: str
    database_url: Secret
    server_host: str
    server_port: int
    sender_mode: str
    sender_threads: int
    batch_size: int
    lease_seconds: int
    poll_seconds: float
    max_attempts: int
    retry_base_seconds: int
    scheduler_enabled: bool
    celery_broker_url: Secret
    channels: Mapping[str, ChannelConfig] = field(default_factory=dict)
    source: str = "defaults"

    @property
    def is_production(self) -> bool:
        return self.env == "production"


def load_config(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read config.toml (if present), overlay HERALD_* environment variables, validate.

    `path` defaults to $HERALD_CONFIG or ./config.toml; a path that was asked for explicitly must exist.
    Raises ConfigError naming the key, the bad value's source and the fix.
    """
    environ = os.environ if environ is None else environ
    explicit = path is not None or "HERALD_CONFIG" in environ
    config_path = Path(path or environ.get("HERALD_CONFIG") or DEFAULT_CONFIG_PATH)
    file_values: dict[str, Any] = {}
    if config_path.exists():
        try:
            file_values = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path} is not valid TOML: {exc} — fix the file or remove it") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{config_path} is not UTF-8 text — save it as UTF-8") from exc
    elif explicit:
        raise ConfigError(f"config file {config_path} does not exist — check the path or HERALD_CONFIG")

    _reject_unknown_keys(file_values, config_path)
    values: dict[tuple[str, str], Any] = {}
    for setting in SETTINGS:
        raw, origin = setting.default, "default"
        from_file = _lookup(file_values, setting.section, setting.key)
        if from_file is not _MISSING:
            raw, origin = from_file, str(config_path)
        if setting.env_name in environ:
            raw, origin = environ[setting.env_name], f"environment variable {setting.env_name}"
        values[(setting.section, setting.key)] = _coerce(setting, raw, origin)

    def v(section: str, key: str) -> Any:
        return values[(section, key)]

    env = v("app", "env")
    secret = v("app", "secret_key")
    if env == "production" and (not secret or secret == DEV_SECRET_KEY):
        raise ConfigError(
            "[app] secret_key must be set to a long random value when env is \"production\" — "
            "set HERALD_SECRET_KEY or secret_key in config.toml "
            "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    _check_timezone(v("app", "default_timezone"))
    channels = {
        "email": ChannelConfig(
            "email",
            Secret(v("channels.email", "url")),
            from_address=v("channels.email", "from_address"),
            price=v("channels.email", "price_per_message"),
        ),
        "sms": ChannelConfig("sms", Secret(v("channels.sms", "url")), price=v("channels.sms", "price_per_segment")),
    }
    return Config(
        env=env,
        secret_key=Secret(secret),
        base_url=v("app", "base_url").rstrip("/"),
        data_dir=Path(v("app", "data_dir")),
        default_locale=v("app", "default_locale"),
        default_timezone=v("app", "default_timezone"),
        default_region=v("app", "default_region").upper(),
        currency=v("app", "currency").upper(),
        database_url=Secret(v("database", "url")),
        server_host=v("server", "host"),
        server_port=v("server", "port"),
        sender_mode=v("sender", "mode"),
        sender_threads=v("sender", "threads"),
        batch_size=v("sender", "batch_size"),
        lease_seconds=v("sender", "lease_seconds"),
        poll_seconds=v("sender", "poll_seconds"),
        max_attempts=v("sender", "max_attempts"),
        retry_base_seconds=v("sender", "retry_base_seconds"),
        scheduler_enabled=v("scheduler", "enabled"),
        celery_broker_url=Secret(v("celery", "broker_url")),
        channels=channels,
        source=str(config_path) if config_path.exists() else "defaults",
    )


_MISSING = object()


def _lookup(tree: Mapping[str, Any], section: str, key: str) -> Any:
    node: Any = tree
    for part in section.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    if not isinstance(node, Mapping):
        return _MISSING
    return node.get(key, _MISSING)


def _reject_unknown_keys(tree: Mapping[str, Any], path: Path) -> None:
    """A misspelt key would otherwise be ignored silently and the default used instead."""
    known = {(s.section, s.key) for s in SETTINGS}
    sections = {s.section for s in SETTINGS}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for name, value in node.items():
            dotted = f"{prefix}.{name}" if prefix else name
            if isinstance(value, Mapping):
                if not any(sec == dotted or sec.startswith(dotted + ".") for sec in sections):
                    known_sections = ", ".join(sorted(sections))
                    raise ConfigError(f"{path}: unknown section [{dotted}]; known sections: {known_sections}")
                walk(value, dotted)
            elif (prefix, name) not in known:
                keys = sorted(k for s, k in known if s == prefix)
                raise ConfigError(
                    f"{path}: unknown setting [{prefix or '(top level)'}] {name}; "
                    f"known settings there: {', '.join(keys) or 'none'}"
                )

    walk(tree, "")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    def bad(expected: str) -> ConfigError:
        shown = "********" if setting.kind == "secret" else repr(raw)
        return ConfigError(f"{setting.dotted} from {origin} is {shown}, expected {expected}")

    kind = setting.kind
    if kind in ("str", "secret"):
        if not isinstance(raw, str):
            raise bad("a string")
        if not raw.strip():
            raise bad(f"a non-empty value (default {setting.default!r})" if kind == "str" else "a non-empty secret")
        return raw.strip()
    if kind == "choice":
        if raw not in setting.choices:
            raise bad("one of " + ", ".join(setting.choices))
        return raw
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise bad("true or false")
    if kind in ("int", "float"):
        try:
            if isinstance(raw, bool):
                raise ValueError
            number = int(raw) if kind == "int" else float(raw)
        except (TypeError, ValueError):
            raise bad("an integer" if kind == "int" else "a number") from None
        if setting.minimum is not None and number < setting.minimum:
            raise bad(f"a number of at least {setting.minimum:g}")
        return number
    if kind == "decimal":
        try:
            number = Decimal(str(raw))
        except InvalidOperation:
            raise bad("a decimal number such as 0.05") from None
        if number < 0 or not number.is_finite():
            raise bad("a decimal number of 0 or more")
        return number
    raise AssertionError(f"unknown setting kind {kind}")


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"[app] default_timezone is {name!r}, which is not an IANA time zone — use a name such as "
            "UTC, Asia/Shanghai or America/New_York"
        ) from None
