"""Every setting Herald reads, declared once: section, key, type, default and bounds.

config.toml documents each one (tests/core/test_config.py checks the two agree) and the README's
Configuration table lists them. core/config.py reads this table: it looks each setting up in
config.toml, overlays its HERALD_* environment variable, and checks the value against its kind.
Adding a setting is one line here plus the field it fills on Config.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# User agents of link scanners and mail-security proxies that fetch every link and image of a message.
# Not Gmail's or Yahoo's image proxies: they fetch when the person opens the mail, so those opens are real.
# Link-preview bots too: iMessage, WhatsApp and chat apps fetch an SMS's link when it arrives, before anyone taps it.
DEFAULT_SCANNER_AGENTS = ("barracuda, mimecast, proofpoint, symantec, forcepoint, trendmicro, safelinks, "
                          "bingpreview, python-requests, curl/, wget/, go-http-client, facebookexternalhit, "
                          "twitterbot, whatsapp/, telegrambot, slackbot, skypeuripreview, discordbot")


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    kind: str  # str | secret | int | float | bool | decimal | choice | rates (a table of currency -> decimal)
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
    # "" (the default): dev and test generate a key into data_dir/secret_key; production requires one.
    Setting("app", "secret_key", "secret", ""),
    Setting("app", "base_url", "str", "http://127.0.0.1:8000"),
    Setting("app", "data_dir", "str", "var"),
    Setting("app", "default_locale", "choice", "en", choices=("en", "zh_CN")),
    Setting("app", "default_timezone", "str", "UTC"),
    # "" (the default): follows default_locale, zh_CN -> CN, en -> US (core/config.py REGION_OF_LOCALE).
    Setting("app", "default_region", "str", ""),
    Setting("app", "currency", "str", "USD"),
    Setting("database", "url", "str", "sqlite:///var/herald.db"),
    Setting("server", "host", "str", "127.0.0.1"),
    Setting("server", "port", "int", 8000, minimum=1),
    Setting("sender", "mode", "choice", "embedded", choices=("embedded", "celery")),
    Setting("sender", "threads", "int", 2, minimum=1),
    Setting("sender", "concurrency", "int", 32, minimum=1),
    Setting("sender", "smtp_concurrency", "int", 8, minimum=1),
    Setting("sender", "batch_size", "int", 100, minimum=1),
    Setting("sender", "lease_seconds", "int", 300, minimum=5),
    Setting("sender", "poll_seconds", "float", 1.0, minimum=0.01),
    Setting("sender", "max_attempts", "int", 5, minimum=1),
    Setting("sender", "retry_base_seconds", "int", 30, minimum=1),
    Setting("scheduler", "enabled", "bool", True),
    # Campaign schedules (campaigns/schedules.py, campaigns/firing.py).
    Setting("scheduler", "misfire_grace_seconds", "int", 43200, minimum=0),
    Setting("campaigns", "quiet_hours", "str", "21:00-08:00"),
    Setting("campaigns", "feb29_birthdays", "choice", "feb28", choices=("feb28", "mar1")),
    Setting("celery", "broker_url", "str", "redis://127.0.0.1:6379/0"),
    Setting("celery", "rate_limit_url", "str", ""),
    Setting("channels.email", "url", "str", "log://var/outbox"),
    Setting("channels.email", "from_address", "str", "Herald <herald@localhost>"),
    Setting("channels.email", "price_per_message", "decimal", Decimal("0")),
    Setting("channels.sms", "url", "str", "log://var/outbox"),
    Setting("channels.sms", "price_per_segment", "decimal", Decimal("0.0079")),
    # Click/open tracking (campaigns/responses/tracking.py), currency rates (campaigns/results/attribution.py), RFM
    # (campaigns/results/rfm.py).
    Setting("tracking", "clicks", "bool", True),
    Setting("tracking", "sms_short_links", "bool", False),
    Setting("tracking", "opens", "bool", False),
    Setting("tracking", "machine_seconds", "int", 10, minimum=0),
    Setting("tracking", "apple_proxy_networks", "str", "17.0.0.0/8"),
    Setting("tracking", "scanner_user_agents", "str", DEFAULT_SCANNER_AGENTS),
    Setting("currency", "rates", "rates", {}),
    Setting("rfm", "dormant_days", "int", 180, minimum=1),
    # The weekly report by email (scheduler/jobs.py send_weekly_report): users' emails, comma-separated.
    Setting("reports", "weekly_to", "str", ""),
    Setting("reports", "weekly_day", "choice", "mon", choices=("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
    Setting("reports", "weekly_hour", "int", 8, minimum=0),
    # Campaign approval and frequency caps (campaigns/states.py, campaigns/audience/caps.py).
    Setting("approval", "required", "bool", False),
    Setting("approval", "allow_self_approval", "bool", False),
    # An urgent event notice (the venue moved) cannot wait for an approver who is asleep: an admin may let
    # notices skip approval while marketing campaigns still need it.
    Setting("approval", "notices_skip", "bool", False),
    Setting("caps", "messages", "int", 3, minimum=0),
    Setting("caps", "days", "int", 7, minimum=1),
    # Inbound SMS keywords (campaigns/responses/replies.py): comma-separated, matched whole, ignoring case and width.
    Setting("replies", "stop_keywords", "str", "STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, 退订, TD"),
    Setting("replies", "stop_reply", "str", "You are unsubscribed and will get no more messages. "
                                            "Reply START to subscribe again."),
    Setting("replies", "start_keywords", "str", "START, UNSTOP, 订阅"),
    Setting("replies", "start_reply", "str", "You are subscribed again. Reply STOP to unsubscribe."),
    Setting("replies", "help_keywords", "str", "HELP, INFO, 帮助"),
    Setting("replies", "help_reply", "str", "Reply STOP to unsubscribe, START to subscribe again."),
    # The circuit breaker per channel (campaigns/delivery/breaker.py).
    Setting("sender", "breaker_failures", "int", 5, minimum=1),
    Setting("sender", "breaker_cooldown_seconds", "int", 60, minimum=1),
    # Email: more sender accounts, the unsubscribe mailbox, bounce and complaint reports
    # (campaigns/responses/bounces.py).
    # A key whose default is "" is optional: empty means the feature is off.
    Setting("channels.email", "senders", "senders", {}),
    Setting("channels.email", "unsubscribe_mailbox", "str", ""),
    Setting("bounces", "sendgrid_public_key", "str", ""),
    Setting("bounces", "ses_topic_arns", "str", ""),
    Setting("bounces", "sns_certificate_file", "str", ""),
    Setting("bounces", "sns_confirm_subscriptions", "bool", False),
    Setting("bounces", "post_token", "secret", ""),
    Setting("bounces", "mailbox_url", "secret", ""),
    Setting("bounces", "mailbox_minutes", "int", 5, minimum=1),
    # Contact and conversion imports (audiences/imports/files.py, audiences/imports/uploads.py).
    Setting("imports", "max_uncompressed_mb", "int", 200, minimum=1),
    Setting("imports", "max_compression_ratio", "int", 100, minimum=2),
    Setting("imports", "keep_uploads_hours", "int", 24, minimum=1),
)


def default(section: str, key: str) -> Any:
    """The declared default of [section] key."""
    return next(s.default for s in SETTINGS if (s.section, s.key) == (section, key))
