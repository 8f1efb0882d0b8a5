"""Herald's settings: one typed object, loaded once from config.toml and the environment.

Every setting is declared in core/settings_table.py (SETTINGS) with its type, default and the
environment variable that overrides it; core/setting_values.py turns a raw value into a typed one.
This module defines the Config dataclasses and load_config(), which builds them. Nothing else in
Herald reads os.environ: the CLI and the app factory call load_config() and pass the result down.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import phonenumbers

from core.secret_key import (
    HOW_TO_GENERATE,
    MIN_SECRET_KEY_BYTES,
    PUBLIC_SECRET_KEYS,
    load_or_create_secret_key,
    weak_secret_key_reason,
)
from core.setting_values import (
    ConfigError,
    Secret,
    check_quiet_hours,
    check_timezone,
    coerce,
    networks,
    rate_limit_url_for,
)
from core.settings_table import SETTINGS, Setting, default

DEFAULT_CONFIG_PATH = Path("config.toml")

# The phone region when [app] default_region is not set: the workspace's language says whom it serves.
# A workspace set up in 简体中文 imports Chinese mobiles written without +86 (13812345601); read as US
# numbers they are all refused. English keeps US, what default_region said before it followed the language.
REGION_OF_LOCALE = {"zh_CN": "CN", "en": "US"}

# Re-exported: callers import the whole configuration surface from core.config.
__all__ = ["SETTINGS", "ChannelConfig", "Config", "ConfigError", "EmailConfig", "ImportConfig", "ReplyConfig",
           "Secret", "Setting", "TrackingConfig", "load_config"]


@dataclass(frozen=True)
class ChannelConfig:
    name: str  # "email" or "sms": the marketer's channel, not the provider
    url: Secret
    from_address: str = ""
    price: Decimal = Decimal("0")  # per message for email, per segment for SMS
    label: str = ""  # what the campaign form shows for a named email sender


def _keywords(value: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in value.split(",") if k.strip())


@dataclass(frozen=True)
class ReplyConfig:
    """[replies]: the built-in SMS keywords and Herald's answers to them."""

    stop_keywords: tuple[str, ...] = _keywords(default("replies", "stop_keywords"))
    stop_reply: str = default("replies", "stop_reply")
    start_keywords: tuple[str, ...] = _keywords(default("replies", "start_keywords"))
    start_reply: str = default("replies", "start_reply")
    help_keywords: tuple[str, ...] = _keywords(default("replies", "help_keywords"))
    help_reply: str = default("replies", "help_reply")


@dataclass(frozen=True)
class TrackingConfig:
    """[tracking]: click and open tracking; campaigns/responses/tracking.py reads it."""

    clicks: bool = True
    sms_short_links: bool = False
    opens: bool = False  # privacy: no open pixel unless the workspace allows it
    machine_seconds: int = 10
    apple_proxy_networks: tuple[str, ...] = ("17.0.0.0/8",)
    scanner_user_agents: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmailConfig:
    """[channels.email] senders and unsubscribe_mailbox, and [bounces]: campaigns/responses/bounces.py,
    web/email_webhooks.py."""

    senders: Mapping[str, ChannelConfig] = field(default_factory=dict)  # by name; the default is channels["email"]
    unsubscribe_mailbox: str = ""  # the mailto: of List-Unsubscribe; "" = https only
    sendgrid_public_key: str = ""
    ses_topic_arns: tuple[str, ...] = ()
    sns_certificate_file: str = ""
    sns_confirm_subscriptions: bool = False
    post_token: Secret = Secret("")
    mailbox_url: Secret = Secret("")
    mailbox_minutes: int = 5


@dataclass(frozen=True)
class ImportConfig:
    """[imports]: how far an uploaded workbook may unpack, and how long uploads stay on disk.

    An .xlsx is a zip: 142 KB can hold 58 MB of shared strings that openpyxl parses whole, so the
    archive's declared sizes are checked before parsing. Uploads and their state files hold contacts'
    personal data; an import left unfinished is deleted after `keep_uploads_hours`.
    """

    max_uncompressed_mb: int = 200  # all members of a workbook together, unpacked
    max_compression_ratio: int = 100  # unpacked / packed, per member past 1 MB; XML sheets are ~5-20
    keep_uploads_hours: int = 24


@dataclass(frozen=True)
class Config:
    env: str
    secret_key: Secret
    base_url: str
    data_dir: Path
    default_locale: str
    default_timezone: str
    default_region: str  # [app] default_region, else REGION_OF_LOCALE[default_locale]
    currency: str
    database_url: Secret
    server_host: str
    server_port: int
    sender_mode: str
    sender_threads: int
    sender_concurrency: int  # requests in flight per sender thread and HTTP channel
    smtp_concurrency: int  # SMTP sessions in flight per sender thread and SMTP channel
    batch_size: int
    lease_seconds: int
    poll_seconds: float
    max_attempts: int
    retry_base_seconds: int
    scheduler_enabled: bool
    celery_broker_url: Secret
    channels: Mapping[str, ChannelConfig] = field(default_factory=dict)
    source: str = "defaults"
    # Where every worker counts provider rates (the `limits` storage): [celery] rate_limit_url, else the
    # broker's URL when the broker is Redis; "" when neither (then scaled mode refuses to start).
    celery_rate_limit_url: Secret = field(default_factory=lambda: Secret(""))
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    # What one unit of each foreign currency is worth in `currency` ([currency.rates]).
    currency_rates: Mapping[str, Decimal] = field(default_factory=dict)
    dormant_days: int = 180
    weekly_report_to: tuple[str, ...] = ()  # [reports] weekly_to: the users who get the weekly report
    weekly_report_day: str = "mon"
    weekly_report_hour: int = 8  # UTC
    approval_required: bool = False
    allow_self_approval: bool = False  # [approval]: may who submitted a campaign also approve it
    approval_notices_skip: bool = False  # [approval] notices_skip: event notices go out without approval
    cap_messages: int = 3  # marketing messages per contact and channel in cap_days; 0 = no cap
    cap_days: int = 7
    replies: ReplyConfig = field(default_factory=lambda: ReplyConfig())
    breaker_failures: int = 5
    breaker_cooldown_seconds: int = 60
    misfire_grace_seconds: int = 43200  # a firing later than this (scheduler down) is recorded as missed
    quiet_hours: str = "21:00-08:00"  # recipient-local; "" or "off" for none
    feb29_birthdays: str = "feb28"  # when 29 February dates are greeted in other years: feb28 | mar1
    email: EmailConfig = field(default_factory=EmailConfig)
    imports: ImportConfig = field(default_factory=ImportConfig)
    default_region_set: bool = True  # False: default_region follows default_locale (the settings page says so)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def approval_required_for(self, kind: str) -> bool:
        """Whether a campaign of `kind` needs an approver before it is sent ("event_notice" may skip it)."""
        return self.approval_required and not (kind == "event_notice" and self.approval_notices_skip)


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
    origins: dict[tuple[str, str], str] = {}
    for setting in SETTINGS:
        raw, origin = setting.default, "default"
        from_file = _lookup(file_values, setting.section, setting.key)
        if from_file is not _MISSING:
            raw, origin = from_file, str(config_path)
        if setting.env_name in environ:
            raw, origin = environ[setting.env_name], f"environment variable {setting.env_name}"
        values[(setting.section, setting.key)] = coerce(setting, raw, origin)
        origins[(setting.section, setting.key)] = origin

    def v(section: str, key: str) -> Any:
        return values[(section, key)]

    env = v("app", "env")
    secret = _secret_key(env, v("app", "secret_key"), Path(v("app", "data_dir")))
    check_timezone(v("app", "default_timezone"))
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
        default_region=_default_region(v("app", "default_region"), v("app", "default_locale"),
                                       origins[("app", "default_region")]),
        default_region_set=bool(v("app", "default_region")),
        currency=v("app", "currency").upper(),
        database_url=Secret(v("database", "url")),
        server_host=v("server", "host"),
        server_port=v("server", "port"),
        sender_mode=v("sender", "mode"),
        sender_threads=v("sender", "threads"),
        sender_concurrency=v("sender", "concurrency"),
        smtp_concurrency=v("sender", "smtp_concurrency"),
        batch_size=v("sender", "batch_size"),
        lease_seconds=v("sender", "lease_seconds"),
        poll_seconds=v("sender", "poll_seconds"),
        max_attempts=v("sender", "max_attempts"),
        retry_base_seconds=v("sender", "retry_base_seconds"),
        scheduler_enabled=v("scheduler", "enabled"),
        celery_broker_url=Secret(v("celery", "broker_url")),
        celery_rate_limit_url=Secret(rate_limit_url_for(v("celery", "broker_url"), v("celery", "rate_limit_url"),
                                                     scaled=v("sender", "mode") == "celery")),
        channels=channels,
        tracking=TrackingConfig(
            clicks=v("tracking", "clicks"),
            sms_short_links=v("tracking", "sms_short_links"),
            opens=v("tracking", "opens"),
            machine_seconds=v("tracking", "machine_seconds"),
            apple_proxy_networks=networks(v("tracking", "apple_proxy_networks")),
            scanner_user_agents=tuple(a.strip().lower() for a in v("tracking", "scanner_user_agents").split(",")
                                      if a.strip()),
        ),
        currency_rates=v("currency", "rates"),
        dormant_days=v("rfm", "dormant_days"),
        weekly_report_to=tuple(a.strip().lower() for a in v("reports", "weekly_to").split(",") if a.strip()),
        weekly_report_day=v("reports", "weekly_day"),
        weekly_report_hour=min(23, v("reports", "weekly_hour")),
        approval_required=v("approval", "required"),
        allow_self_approval=v("approval", "allow_self_approval"),
        approval_notices_skip=v("approval", "notices_skip"),
        cap_messages=v("caps", "messages"),
        cap_days=v("caps", "days"),
        replies=ReplyConfig(
            stop_keywords=_keywords(v("replies", "stop_keywords")), stop_reply=v("replies", "stop_reply"),
            start_keywords=_keywords(v("replies", "start_keywords")), start_reply=v("replies", "start_reply"),
            help_keywords=_keywords(v("replies", "help_keywords")), help_reply=v("replies", "help_reply"),
        ),
        breaker_failures=v("sender", "breaker_failures"),
        breaker_cooldown_seconds=v("sender", "breaker_cooldown_seconds"),
        misfire_grace_seconds=v("scheduler", "misfire_grace_seconds"),
        quiet_hours=check_quiet_hours(v("campaigns", "quiet_hours")),
        feb29_birthdays=v("campaigns", "feb29_birthdays"),
        email=_email_config(v, price=v("channels.email", "price_per_message")),
        imports=ImportConfig(max_uncompressed_mb=v("imports", "max_uncompressed_mb"),
                             max_compression_ratio=v("imports", "max_compression_ratio"),
                             keep_uploads_hours=v("imports", "keep_uploads_hours")),
        source=str(config_path) if config_path.exists() else "defaults",
    )


_MISSING = object()


def _default_region(configured: str, locale: str, origin: str) -> str:
    """[app] default_region as set, else the region of the workspace's language; an unknown code stops start-up."""
    if not configured:
        return REGION_OF_LOCALE.get(locale, "US")
    code = configured.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"[app] default_region from {origin} is {configured!r}, expected a two-letter country code "
                          'phone numbers know, such as CN or US — or "" to follow [app] default_locale')
    return code


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
            if isinstance(value, Mapping) and (prefix, name) not in known:  # a table-valued setting is a leaf
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


def _secret_key(env: str, configured: str, data_dir: Path) -> str:
    """The key that signs sessions: checked in production, generated into the data dir otherwise."""
    if env == "production":
        weakness = weak_secret_key_reason(configured)
        if weakness:
            raise ConfigError(
                f"[app] secret_key {weakness}; when env is \"production\" it must be set to at least "
                f"{MIN_SECRET_KEY_BYTES} random bytes, or anyone can forge a login — generate one with "
                f"{HOW_TO_GENERATE} and set HERALD_SECRET_KEY or secret_key in config.toml")
        return configured
    if configured and configured not in PUBLIC_SECRET_KEYS:
        return configured
    try:
        return load_or_create_secret_key(data_dir)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"[app] secret_key is not set, and no key could be kept in [app] data_dir "
                          f"({data_dir}): {exc} — fix the data dir or set HERALD_SECRET_KEY") from exc


def _email_config(v: Any, *, price: Decimal) -> EmailConfig:
    default_url, default_from = v("channels.email", "url"), v("channels.email", "from_address")
    senders = {
        # A sender without its own url sends through the default account with its own From.
        name: ChannelConfig(f"email:{name}", Secret(table.get("url") or _without_from(default_url)),
                            from_address=table.get("from_address") or default_from, price=price,
                            label=table.get("label") or name)
        for name, table in v("channels.email", "senders").items()
    }
    mailbox = v("channels.email", "unsubscribe_mailbox")
    if mailbox and ("@" not in mailbox or any(c in mailbox for c in " <>?")):
        raise ConfigError(f"[channels.email] unsubscribe_mailbox is {mailbox!r}, expected a bare address such as "
                          "unsubscribe@example.com")
    if mailbox and not v("bounces", "mailbox_url"):
        # A mailto: nobody reads would ignore every opt-out sent to it.
        raise ConfigError("[channels.email] unsubscribe_mailbox is set but [bounces] mailbox_url is not; Herald "
                          "reads unsubscribe mail from that mailbox — set mailbox_url (and route the address "
                          "there), or leave unsubscribe_mailbox empty")
    return EmailConfig(
        senders=senders,
        unsubscribe_mailbox=v("channels.email", "unsubscribe_mailbox"),
        sendgrid_public_key=v("bounces", "sendgrid_public_key"),
        ses_topic_arns=tuple(t.strip() for t in v("bounces", "ses_topic_arns").split(",") if t.strip()),
        sns_certificate_file=v("bounces", "sns_certificate_file"),
        sns_confirm_subscriptions=v("bounces", "sns_confirm_subscriptions"),
        post_token=Secret(v("bounces", "post_token")),
        mailbox_url=Secret(v("bounces", "mailbox_url")),
        mailbox_minutes=v("bounces", "mailbox_minutes"),
    )


def _without_from(url: str) -> str:
    """A channel URL without its from= option, so a sender's own from_address applies."""
    base, sep, query = url.partition("?")
    kept = [pair for pair in query.split("&") if pair and not pair.startswith("from=")]
    return base + ("?" + "&".join(kept) if kept else "")


