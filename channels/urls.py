"""Reading channel URLs: the parts every adapter needs, parsed the same way, with masked descriptions.

Query values are percent-decoded but a literal "+" stays a "+": a phone number written as
`from=+15551234567` in config.toml must not turn into " 15551234567" (form decoding would do that).

A description masks the userinfo password and every option whose name looks like a credential
(`auth_value`, `dr_token`, `extra.AccessKeySecret`, `extra.api_key`…), not only the ones an adapter
knows: `extra.*` options are open-ended, and the settings page, the logs and each run's record show
descriptions to every role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from channels.base import ChannelConfigError

MASK = "****"
# Words that make an option name a credential: AccessKeySecret, api_key, x-auth-token, appcode, passwd…
_SECRET_WORDS = frozenset({
    "secret", "password", "passwd", "pwd", "pass", "passphrase", "token", "key", "apikey", "appkey", "accesskey",
    "appsecret", "auth", "authorization", "credential", "credentials", "bearer", "appcode", "private", "cookie",
    "sig", "hmac",
})
# ...unless the name ends in a word saying it names something else: dr_token_header is the *name* of the
# header that carries the token, extra.AccessKeyId and extra.SecretId are account ids, not secrets.
_NAMING_WORDS = frozenset({"header", "field", "id", "name", "type", "url", "selector", "domain", "file", "path"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def looks_secret(option: str) -> bool:
    """Whether a URL option's name says its value is a credential (a password, key, token or secret)."""
    words = [word.lower() for word in _WORD.findall(option)]
    return bool(words) and words[-1] not in _NAMING_WORDS and any(word in _SECRET_WORDS for word in words)


def mask_value(option: str, value: str) -> str:
    """An option's value as it may be shown: masked when the option looks secret or the value is a URL
    with a password in it (api_base=https://user:pw@host)."""
    if looks_secret(option):
        return MASK if value else ""
    parts = urlsplit(value)
    if parts.scheme and parts.password:
        return value.replace(f":{parts.password}@", f":{MASK}@", 1)
    return value


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
    secret_username: bool = False  # https-email://API_KEY@host: the user part is the key itself

    def describe(self, *, hide: tuple[str, ...] = ()) -> str:
        """The URL with the password, every credential-looking option (and any option named in `hide`)
        replaced by ****."""
        userinfo = ""
        if self.username or self.password:
            userinfo = MASK if self.secret_username else quote(self.username, safe="")
            if self.password:
                userinfo += ":" + MASK
            userinfo += "@"
        netloc = userinfo + self.host + (f":{self.port}" if self.port else "")
        text = f"{self.scheme}://{netloc}{self.path}"
        if self.query:
            text += "?" + "&".join(f"{k}={MASK if k in hide else mask_value(k, v)}" for k, v in self.query.items())
        return text

    def secrets(self) -> list[str]:
        """The secret values in this URL, longest first, for masking them in text that quotes them."""
        values = {self.password, *(v for k, v in self.query.items() if looks_secret(k))}
        if self.secret_username:
            values.add(self.username)
        return sorted(filter(None, values), key=len, reverse=True)

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


def parse_channel_url(url: str, *, scheme: str, options: tuple[str, ...],
                      secret_username: bool = False) -> ChannelUrl:
    """Split a channel URL; raises ChannelConfigError for a wrong scheme or an option the adapter does not know.

    Unknown options are refused rather than ignored, so a typo such as `startls=1` cannot silently
    send mail in clear text. `secret_username` says the user part is a credential (an API key), so
    descriptions and errors mask it too.
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
        secret_username=secret_username,
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


def mask_url(text: str) -> str:
    """A stored channel description (or any URL) with its credentials masked, as describe() would.

    For text written before describe() masked every credential-looking option: runs and provider
    pauses keep the description they were made with.
    """
    parts = urlsplit(text)
    if not parts.scheme or not parts.netloc:
        return text
    netloc = parts.netloc
    if parts.password:
        netloc = netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
    pairs = []
    for pair in filter(None, parts.query.split("&")):
        key, equals, value = pair.partition("=")
        pairs.append(f"{key}{equals}{mask_value(unquote(key), value)}" if equals else pair)
    query = "?" + "&".join(pairs) if pairs else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}"
