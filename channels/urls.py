"""Reading channel URLs: the parts every adapter needs, parsed the same way, with masked descriptions.

Query values are percent-decoded but a literal "+" stays a "+": a phone number written as
`from=+15551234567` in config.toml must not turn into " 15551234567" (form decoding would do that).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from channels.base import ChannelConfigError

MASK = "****"


@dataclass(frozen=True)
class ChannelUrl:
    scheme: str
    username: str
    password: str
    host: str
    port: int | None
    netloc: str  # as written (hostname is lower-cased; log://Var/Outbox needs the original)
    path: str
    query: dict[str, str]
    raw: str

    def describe(self, *, hide: tuple[str, ...] = ()) -> str:
        """The URL with the password (and any query option named in `hide`) replaced by ****."""
        userinfo = ""
        if self.username or self.password:
            userinfo = quote(self.username, safe="")
            if self.password:
                userinfo += ":" + MASK
            userinfo += "@"
        netloc = userinfo + self.host + (f":{self.port}" if self.port else "")
        text = f"{self.scheme}://{netloc}{self.path}"
        if self.query:
            text += "?" + "&".join(f"{k}={MASK if k in hide else v}" for k, v in self.query.items())
        return text

    def flag(self, name: str) -> bool:
        """A boolean query option: 1/true/yes/on or 0/false/no/off (absent is false)."""
        value = self.query.get(name, "0").strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise ChannelConfigError(f'channel URL "{self.describe()}": option {name}={value!r} is not a yes/no value; '
                                 f"write {name}=1 or {name}=0")

    def length_limit(self, default: int | None) -> int | None:
        """The max_length= option: the most characters one message may have on this channel."""
        if "max_length" not in self.query:
            return default
        value = self.query["max_length"]
        if not value.isdigit() or int(value) < 1:
            raise ChannelConfigError(f'channel URL "{self.describe()}": option max_length={value!r} must be a whole '
                                     "number of characters, e.g. max_length=1600")
        return int(value)

    def number(self, name: str, default: float) -> float:
        """A positive number query option such as timeout=10."""
        if name not in self.query:
            return default
        try:
            value = float(self.query[name])
        except ValueError:
            value = -1.0
        if value <= 0:
            raise ChannelConfigError(f'channel URL "{self.describe()}": option {name}={self.query[name]!r} must be '
                                     f"a positive number of seconds, e.g. {name}={default:g}")
        return value


def parse_channel_url(url: str, *, scheme: str, options: tuple[str, ...]) -> ChannelUrl:
    """Split a channel URL; raises ChannelConfigError for a wrong scheme or an option the adapter does not know.

    Unknown options are refused rather than ignored, so a typo such as `startls=1` cannot silently
    send mail in clear text.
    """
    parts = urlsplit(url)
    if parts.scheme != scheme:
        raise ChannelConfigError(f'channel URL has scheme "{parts.scheme}", expected "{scheme}://"')
    try:
        port = parts.port
    except ValueError:
        port = -1
    query: dict[str, str] = {}
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        query[unquote(key)] = unquote(value)
    parsed = ChannelUrl(
        scheme=parts.scheme,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        host=parts.hostname or "",
        port=None if port == -1 else port,
        netloc=parts.netloc,
        path=parts.path,
        query=query,
        raw=url,
    )
    if port == -1:
        raise ChannelConfigError(f'channel URL "{parsed.describe()}" has a port that is not a number 1-65535')
    unknown = sorted(set(query) - set(options))
    if unknown:
        raise ChannelConfigError(
            f'channel URL "{parsed.describe()}" has unknown option "{unknown[0]}"; '
            f"{scheme}:// knows: {', '.join(options)}"
        )
    return parsed
