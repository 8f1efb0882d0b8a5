"""What every Herald package needs and nothing else: config, database, clock, ids, users, the CLI root."""

from core.clock import Clock, FrozenClock, SystemClock
from core.config import Config, ConfigError, Secret, load_config
from core.db import Base, Database, UTCDateTime

__all__ = [
    "Base",
    "Clock",
    "Config",
    "ConfigError",
    "Database",
    "FrozenClock",
    "Secret",
    "SystemClock",
    "UTCDateTime",
    "load_config",
]
