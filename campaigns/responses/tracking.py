"""Click and open tracking: signed short links, the open pixel, and telling people from machines.

At render time (campaigns/delivery/dispatch.py) the links of an email's HTML and text parts — and, when
[tracking] sms_short_links is on, of SMS bodies — become {base_url}/l/<token>. The token is the
message id and the link's number, base-36, with a 12-character HMAC: short enough for an SMS
(`/l/2n9c.1.dGhpcyBpcyBh` is 21 characters), and unforgeable. The link's URL lives in the `links`
table, one row per distinct URL per campaign, so the redirect can only ever go to a URL that was in
that campaign's content: a tampered or unknown token answers 404, never a redirect elsewhere.

Opens and clicks from machines are recorded but flagged ({"machine": true, "machine_reason": …})
so reports can count people only: Apple Mail Privacy Protection fetches every image through
Apple's proxy; mail security gateways fetch every link and image within seconds of delivery;
HEAD requests are never a person; and scanners say who they are in their user agent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html as html_lib
import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaigns.models import TEST_KIND, Campaign, Link, Message, MessageEvent
from channels import Outgoing
from core.clock import utcnow
from core.config import TrackingConfig
from core.db import Database

SIGNATURE_CHARS = 12  # 72 bits of HMAC: guessing one valid token takes ~10^21 tries
USER_AGENT_LIMIT = 300
# 1x1 transparent GIF, the smallest image every mail client shows.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

# <a ... href="..."> in rendered HTML; the value is captured with its quote so it is put back alike.
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
# A URL in plain text (email text part, SMS body); trailing punctuation belongs to the sentence.
_TEXT_URL = re.compile(r"""https?://[^\s<>"'\u3000-\u303f\uff01-\uff5e]+""", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")  # a link of the batch still to be numbered (LinkBook.batch)


# ---------------------------------------------------------------- tokens
def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _mac(secret: str, value: str) -> str:
    digest = hmac.new(secret.encode(), value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_CHARS]


def click_token(secret: str, message_id: int, link_id: int) -> str:
    body = f"{_b36(message_id)}.{_b36(link_id)}"
    return f"{body}.{_mac(secret, 'l:' + body)}"


def open_token(secret: str, message_id: int) -> str:
    body = _b36(message_id)
    return f"{body}.{_mac(secret, 'o:' + body)}"


def _parse(secret: str, token: str, kind: str, parts: int) -> list[int] | None:
    pieces = (token or "").split(".")
    if len(pieces) != parts + 1 or len(token) > 60:
        return None
    body, signature = ".".join(pieces[:-1]), pieces[-1]
    if not hmac.compare_digest(_mac(secret, f"{kind}:{body}"), signature):
        return None
    try:
        numbers = [int(piece, 36) for piece in pieces[:-1]]
    except ValueError:
        return None
    # Compare the canonical form too, so "0a" and "a" cannot both be valid spellings of one token.
    return numbers if ".".join(_b36(n) for n in numbers) == body else None


def parse_click_token(secret: str, token: str) -> tuple[int, int] | None:
    """(message id, link id) of a genuine click token; None for anything tampered with or malformed."""
    numbers = _parse(secret, token, "l", 2)
    return (numbers[0], numbers[1]) if numbers else None


def parse_open_token(secret: str, token: str) -> int | None:
    numbers = _parse(secret, token, "o", 1)
    return numbers[0] if numbers else None


def click_url(base_url: str, secret: str, message_id: int, link_id: int) -> str:
    return f"{base_url}/l/{click_token(secret, message_id, link_id)}"


def open_pixel_url(base_url: str, secret: str, message_id: int) -> str:
    return f"{base_url}/o/{open_token(secret, message_id)}.gif"


# ---------------------------------------------------------------- UTM
def utm_parameters(campaign: Campaign) -> dict[str, str]:
    """The campaign's UTM parameters; empty ones are left out (none set: no parameters at all)."""
    values = {"utm_source": campaign.utm_source, "utm_medium": campaign.utm_medium,
              "utm_campaign": campaign.utm_campaign}
    return {key: value.strip() for key, value in values.items() if value and value.strip()}


def with_utm(url: str, parameters: Mapping[str, str]) -> str:
    """`url` with the UTM parameters added; a parameter the link already carries is kept as the marketer wrote it."""
    if not parameters:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    query += [(key, value) for key, value in parameters.items() if key not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


# ---------------------------------------------------------------- links
def _trackable(url: str, base_url: str) -> bool:
    """http(s) links to elsewhere; never Herald's own (unsubscribe, preferences) nor mailto:, tel:, #anchors."""
    lowered = url.lower()
    return lowered.startswith(("http://", "https://")) and not lowered.startswith(base_url.lower() + "/")


class LinkBook:
    """Numbers a campaign's links: finds or adds the `links` row of each URL, remembering what it saw.

    One per Dispatcher (so per sender thread). Inside `batch()`, a URL not seen before gets a
    placeholder, and `settle()` numbers all of the batch's new URLs at once — one INSERT … ON CONFLICT
    DO NOTHING and one SELECT — so personalised links (one URL per contact) cost two statements per
    batch, not a transaction per message. Outside a batch each new URL is numbered at once. Two
    senders numbering the same URL agree: the unique (campaign, url_hash) decides.
    """

    CACHE_LIMIT = 50_000  # personalised URLs would otherwise grow the cache without end

    def __init__(self, database: Database) -> None:
        self.database = database
        self._ids: dict[tuple[int, str], int] = {}
        self._pending: list[tuple[int, int, str]] | None = None  # (message id, campaign id, url) within a batch

    def link_id(self, campaign_id: int, url: str) -> int:
        key = (campaign_id, url)
        if key not in self._ids:
            self._remember(self._find_or_add({key}))
        return self._ids[key]

    def click_url(self, base_url: str, secret: str, message_id: int, campaign_id: int, url: str) -> str:
        known = self._ids.get((campaign_id, url))
        if known is None and self._pending is not None:
            self._pending.append((message_id, campaign_id, url))
            return f"\x00{len(self._pending) - 1}\x00"
        link_id = known if known is not None else self.link_id(campaign_id, url)
        return click_url(base_url, secret, message_id, link_id)

    @contextmanager
    def batch(self) -> Iterator[None]:
        self._pending = []
        try:
            yield
        finally:
            self._pending = None

    def settle(self, outgoing: Mapping[int, Outgoing], base_url: str, secret: str) -> dict[int, Outgoing]:
        """Number the batch's new URLs and put their click URLs where the placeholders are."""
        pending = self._pending or []
        if not pending:
            return dict(outgoing)
        ids = self._find_or_add({(campaign_id, url) for _, campaign_id, url in pending})
        self._remember(ids)
        urls = [click_url(base_url, secret, message_id, ids[(campaign_id, url)])
                for message_id, campaign_id, url in pending]

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda m: urls[int(m.group(1))], text) if "\x00" in text else text

        self._pending = []
        return {key: replace(o, body=fill(o.body), html=fill(o.html)) for key, o in outgoing.items()}

    def _remember(self, ids: Mapping[tuple[int, str], int]) -> None:
        if len(self._ids) + len(ids) > self.CACHE_LIMIT:
            self._ids.clear()
        self._ids.update(ids)

    def _find_or_add(self, keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
        hashed = {(campaign_id, hashlib.sha256(url.encode()).hexdigest()): (campaign_id, url)
                  for campaign_id, url in keys}
        insert = postgresql.insert if self.database.dialect == "postgresql" else sqlite.insert
        found: dict[tuple[int, str], int] = {}
        with self.database.session() as session:
            session.execute(insert(Link).on_conflict_do_nothing(index_elements=[Link.campaign_id, Link.url_hash]),
                            [{"campaign_id": c, "url": hashed[(c, h)][1], "url_hash": h, "created_at": utcnow()}
                             for c, h in hashed])
            rows = session.execute(select(Link.id, Link.campaign_id, Link.url_hash).where(
                Link.campaign_id.in_({c for c, _ in hashed}), Link.url_hash.in_({h for _, h in hashed})))
            for link_id, campaign_id, url_hash in rows:
                if (campaign_id, url_hash) in hashed:
                    found[hashed[(campaign_id, url_hash)]] = link_id
            session.commit()
        return found


@dataclass(frozen=True)
class Tracker:
    """Rewrites one message's links (and adds its pixel) as its campaign and the configuration say."""

    base_url: str
    secret: str
    links: LinkBook | None  # None: click tracking is off for this message
    message_id: int
    campaign_id: int
    utm: Mapping[str, str]
    pixel: bool

    def url(self, original: str) -> str:
        if not _trackable(original, self.base_url):
            return original
        if self.links is None:
            return with_utm(original, self.utm)  # not tracked, but the UTM parameters still go on
        return self.links.click_url(self.base_url, self.secret, self.message_id, self.campaign_id, original)

    def html(self, source: str) -> str:
        if not source:
            return source  # a text-only email stays text-only: no pixel without an HTML part to carry it
        source = source.replace("\x00", "")  # NUL marks LinkBook's placeholders; it has no business in a message

        def replace(match: re.Match[str]) -> str:
            original = html_lib.unescape(match.group(3).strip())
            return f"{match.group(1)}{match.group(2)}{html_lib.escape(self.url(original))}{match.group(2)}"

        rewritten = _HREF.sub(replace, source)
        if self.pixel:
            image = (f'<img src="{open_pixel_url(self.base_url, self.secret, self.message_id)}" width="1" height="1" '
                     'alt="" style="display:block;width:1px;height:1px;border:0">')
            at = rewritten.lower().rfind("</body>")
            rewritten = rewritten[:at] + image + rewritten[at:] if at >= 0 else rewritten + image
        return rewritten

    def text(self, source: str) -> str:
        return rewrite_text_urls(source.replace("\x00", ""), self.url)


def rewrite_text_urls(source: str, url_for: Callable[[str], str]) -> str:
    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        core = found.rstrip(_TRAILING)
        # A closing bracket is the URL's own when the URL opened one: https://x.example/a_(b)
        while found[len(core):].startswith(")") and core.count("(") > core.count(")"):
            core += ")"
        return url_for(core) + found[len(core):]

    return _TEXT_URL.sub(replace, source)


def tracks_clicks(settings: TrackingConfig, *, channel: str, campaign: Campaign | None = None) -> bool:
    """Whether a message's links become click links: the workspace tracks clicks, the campaign does (a template
    not yet in a campaign is counted as a new campaign would send it: tracked), and for SMS the workspace
    has asked for short links."""
    track_campaign = campaign is None or bool(campaign.track_clicks)
    return settings.clicks and track_campaign and (channel == "email" or settings.sms_short_links)


def sms_as_sent(body: str, *, base_url: str, message_id: int, link_id: int) -> str:
    """An SMS body with each tracked link replaced by a short link of the length it will have when sent, for
    counting segments before sending: {base_url}/l/ plus the message and link numbers in base 36 (give the
    largest they may reach) and the signature. Herald's own links (unsubscribe) are sent as they are."""
    short = click_url(base_url, "length-only", message_id, link_id)
    return rewrite_text_urls(body, lambda url: short if _trackable(url, base_url) else url)


def tracker_for(campaign: Campaign, message: Message, *, settings: TrackingConfig, base_url: str, secret: str,
                links: LinkBook) -> Tracker:
    """The Tracker of one message: clicks if the workspace and the campaign track them; the pixel only for
    email, when the workspace allows open tracking and the campaign asks for it."""
    clicks = tracks_clicks(settings, channel=message.channel, campaign=campaign)
    return Tracker(base_url=base_url, secret=secret, links=links if clicks else None, message_id=message.id,
                   campaign_id=campaign.id, utm=utm_parameters(campaign),
                   pixel=message.channel == "email" and settings.opens and campaign.track_opens)


# ---------------------------------------------------------------- people or machines
@dataclass(frozen=True)
class Fetch:
    """What the public endpoint knows about one fetch of a link or pixel."""

    method: str
    user_agent: str
    ip: str
    at: datetime


@cache
def _networks(cidrs: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


def machine_reason(request: Fetch, *, sent_at: datetime | None, delivered_at: datetime | None,
                   settings: TrackingConfig, channel: str = "email") -> str | None:
    """Why this fetch is a machine's, not a person's; None when it looks like a person.

    - head_request: only link checkers ask for headers without the page.
    - apple_privacy_proxy: Apple Mail Privacy Protection loads every image through Apple's network
      (17.0.0.0/8) with the bare user agent "Mozilla/5.0", whether or not anyone reads the mail.
    - scanner_user_agent: a mail-security or preview service that names itself.
    - too_soon: an email fetched within [tracking] machine_seconds of sending or delivery — mail
      security gateways open and follow everything on arrival, faster than a person can. Not for SMS:
      nothing scans those in between, and a person waiting for a text may well tap it at once.
    """
    agent = (request.user_agent or "").strip()
    lowered = agent.lower()
    if request.method.upper() == "HEAD":
        return "head_request"
    if agent == "Mozilla/5.0" or _in_networks(request.ip, settings.apple_proxy_networks):
        return "apple_privacy_proxy"
    if not agent or any(marker in lowered for marker in settings.scanner_user_agents):
        return "scanner_user_agent"
    for moment in (sent_at, delivered_at) if channel == "email" else ():
        if moment is not None and 0 <= (request.at - moment).total_seconds() <= settings.machine_seconds:
            return "too_soon"
    return None


def _in_networks(ip: str, cidrs: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return False
    return any(address in network for network in _networks(cidrs))


# ---------------------------------------------------------------- recording
def record_click(session: Session, token: str, request: Fetch, *, secret: str,
                 settings: TrackingConfig) -> str | None:
    """Record a click on a tracked link and return where to send the person; commits.

    None — and nothing recorded — when the token is not genuine, or names a link of another campaign
    or a message that no longer exists: the caller answers 404 and redirects nowhere. The target is
    the stored URL with the campaign's UTM parameters, never anything taken from the request.
    """
    parsed = parse_click_token(secret, token)
    if parsed is None:
        return None
    message_id, link_id = parsed
    row = session.execute(
        select(Message, Link, Campaign).join(Campaign, Campaign.id == Message.campaign_id)
        .join(Link, Link.campaign_id == Message.campaign_id)
        .where(Message.id == message_id, Link.id == link_id)).first()
    if row is None:
        session.rollback()
        return None
    message, link, campaign = row
    if campaign.kind == TEST_KIND:  # a test send: followed, but the click is the marketer's, not the contact's
        session.rollback()
    else:
        _add_event(session, message, "clicked", request, settings, url=link.url, link_id=link.id)
    return with_utm(link.url, utm_parameters(campaign))


def record_open(session: Session, token: str, request: Fetch, *, secret: str, settings: TrackingConfig) -> bool:
    """Record that the open pixel of a message was fetched; commits. False for a token that is not genuine."""
    message_id = parse_open_token(secret, token)
    message = session.get(Message, message_id) if message_id is not None else None
    if message is None:
        session.rollback()
        return False
    if is_test_message(session, message.id):  # the marketer opened their test: not the contact's open
        session.rollback()
        return True
    _add_event(session, message, "opened", request, settings)
    return True


def is_test_message(session: Session, message_id: int) -> bool:
    """Whether the message is a test send (campaigns/delivery/seed_sends.py): its clicks, opens and unsubscribes
    are the marketer's, so nothing is recorded against the contact whose data it showed."""
    kind = session.scalar(select(Campaign.kind).join(Message, Message.campaign_id == Campaign.id)
                          .where(Message.id == message_id))
    return kind == TEST_KIND


def _add_event(session: Session, message: Message, type_: str, request: Fetch, settings: TrackingConfig,
               **detail: Any) -> None:
    reason = machine_reason(request, sent_at=message.sent_at, delivered_at=message.delivered_at, settings=settings,
                            channel=message.channel)
    detail.update(machine=reason is not None, user_agent=(request.user_agent or "")[:USER_AGENT_LIMIT])
    if reason:
        detail["machine_reason"] = reason
    session.add(MessageEvent(message_id=message.id, type=type_, occurred_at=request.at, detail=detail))
    session.commit()
