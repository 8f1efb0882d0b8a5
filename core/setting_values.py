"""Turning one raw setting (a TOML value or environment text) into its typed value, with the checks.

Every error is a ConfigError naming the key, where the bad value came from (the file or the
variable) and what would be accepted, and a secret's value is never shown in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from core.settings_table import Setting


class ConfigError(Exception):
    """A setting is missing or malformed. The message names the key, the value's source and the fix."""


class Secret(str):
    """A string whose repr is masked, so a secret never lands in a log or a traceback by accident."""

    def __repr__(self) -> str:
        return "Secret('********')" if self else "Secret('')"


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def coerce(setting: Setting, raw: Any, origin: str) -> Any:
    def bad(expected: str) -> ConfigError:
        shown = "********" if setting.kind == "secret" else repr(raw)
        return ConfigError(f"{setting.dotted} from {origin} is {shown}, expected {expected}")

    kind = setting.kind
    if kind in ("str", "secret"):
        if not isinstance(raw, str):
            raise bad("a string")
        if not raw.strip() and setting.default != "":  # a "" default marks an optional key
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
    if kind == "rates":
        return _rates(raw, bad)
    if kind == "senders":
        return _senders(raw, bad)
    raise AssertionError(f"unknown setting kind {kind}")


def _rates(raw: Any, bad: Any) -> dict[str, Decimal]:
    """A currency table: {"EUR": "1.08"} from TOML, or "EUR=1.08,CNY=0.14" from the environment."""
    if isinstance(raw, str):
        pairs: list[tuple[str, Any]] = []
        for item in raw.split(","):
            if item.strip():
                code, sep, value = item.partition("=")
                if not sep:
                    raise bad('currency rates written as CODE=RATE pairs, e.g. "EUR=1.08,CNY=0.14"')
                pairs.append((code, value))
    elif isinstance(raw, Mapping):
        pairs = list(raw.items())
    else:
        raise bad('a table of currency rates, e.g. EUR = "1.08"')
    rates: dict[str, Decimal] = {}
    for code, value in pairs:
        code = str(code).strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise bad(f'three-letter currency codes (ISO 4217); "{code}" is not one')
        try:
            rate = Decimal(str(value).strip())
        except InvalidOperation:
            raise bad(f"a decimal rate for {code}, such as 1.08") from None
        if not rate.is_finite() or rate <= 0:
            raise bad(f"a rate above 0 for {code}")
        rates[code] = rate
    return rates


def networks(raw: str) -> tuple[str, ...]:
    import ipaddress

    networks = []
    for item in raw.split(","):
        if item.strip():
            try:
                networks.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError:
                raise ConfigError(f"[tracking] apple_proxy_networks has {item.strip()!r}, which is not a network; "
                                  "write CIDR blocks separated by commas, e.g. 17.0.0.0/8") from None
    return tuple(networks)


def check_quiet_hours(value: str) -> str:
    text = value.strip().lower()
    if text in ("", "off"):
        return "off"
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d\s*-\s*([01]?\d|2[0-3]):[0-5]\d", text):
        raise ConfigError(f"[campaigns] quiet_hours is {value!r}; write a recipient-local window as HH:MM-HH:MM, "
                          'e.g. "21:00-08:00", or "off" for none')
    return text


def check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"[app] default_timezone is {name!r}, which is not an IANA time zone — use a name such as "
            "UTC, Asia/Shanghai or America/New_York"
        ) from None


_SENDER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def _senders(raw: Any, bad: Any) -> dict[str, dict[str, str]]:
    """[channels.email.senders.NAME] tables, each with url and from_address (both optional but not both)."""
    if not isinstance(raw, Mapping):
        raise bad('tables such as [channels.email.senders.offers] with url = "smtp://…" and from_address = "…"')
    senders: dict[str, dict[str, str]] = {}
    for name, table in raw.items():
        if not _SENDER_NAME.fullmatch(str(name)):
            raise bad(f'sender names of lower-case letters, digits, "-" and "_" (up to 40); "{name}" is not one')
        if not isinstance(table, Mapping) or set(table) - {"url", "from_address", "label"}:
            raise bad(f"[channels.email.senders.{name}] with the keys url, from_address and label only")
        values = {key: str(value).strip() for key, value in table.items()}
        if not values.get("url") and not values.get("from_address"):
            raise bad(f"[channels.email.senders.{name}] to set url, from_address or both")
        senders[str(name)] = values
    return senders


# The Redis URLs the `limits` library can count in.
REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://", "redis+sentinel://", "redis+cluster://")


def rate_limit_url_for(broker: str, rate_limit_url: str, *, scaled: bool) -> str:
    """The Redis every worker counts provider rates in: rate_limit_url, else a Redis broker's own URL.

    A RabbitMQ broker cannot hold the counters, and a per-worker count would let N workers send at N
    times the provider's rate (listmonk #119), so scaled mode without a Redis for them is refused.
    Messages name the URL's scheme only: a broker URL may carry a password.
    """
    if rate_limit_url:
        if not rate_limit_url.startswith(REDIS_SCHEMES):
            raise ConfigError(f'[celery] rate_limit_url uses "{rate_limit_url.partition(":")[0]}"; it must be a '
                              "Redis URL such as redis://redis:6379/1 (set it in config.toml or "
                              "HERALD_CELERY_RATE_LIMIT_URL)")
        return rate_limit_url
    if broker.startswith(REDIS_SCHEMES):
        return broker
    if scaled:
        raise ConfigError(f'[celery] broker_url uses "{broker.partition(":")[0]}", which cannot hold the provider '
                          "rate limits every worker shares; set [celery] rate_limit_url (HERALD_CELERY_RATE_LIMIT_URL)"
                          " to a Redis URL such as redis://redis:6379/1")
    return ""
