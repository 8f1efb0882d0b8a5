"""Send a test: a template (or a campaign's) rendered with a chosen contact's data and sent to one's own
address or phone and the seed list (`seed_addresses`), through the real channel.

A test is an outbox row like any other, so it is rendered by the same Composer as a real send (tracked
links, the unsubscribe link and List-Unsubscribe headers, the Message-ID; for an SMS, short links and the
channel's signature), paced, sent, priced and recorded. What makes it a test is its campaign: each test
send makes a hidden campaign of kind "test" (campaigns.models.TEST_KIND, one run per address, since a run
holds one row per contact), carrying the template and the settings of the campaign being tested. Nothing
counts it: the campaign list and the overview leave that kind out, attribution, segment conditions and the
contact's timeline too; its priority is below marketing traffic, so frequency caps never count it (and a
person waiting for it gets it first); a click, an open or an unsubscribe on it is followed but not
recorded against the contact whose data it showed. An email's subject says "[Test]" and it carries
`X-Herald-Test: yes`; an SMS is left as it will be sent, since a mark would change its segments and cost.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from audiences import first_contact, get_contact, normalise_email, normalise_phone
from campaigns.audience.priority import NOTICE_PRIORITY
from campaigns.content.templates import get_template
from campaigns.delivery.sender import describe_channel
from campaigns.lifecycle import get_campaign
from campaigns.models import CHANNELS, TEST_KIND, Campaign, Message, Run
from core.config import Config
from core.db import Base, UTCDateTime
from core.errors import Conflict, Invalid, NotFound

log = logging.getLogger("herald.seed_sends")

# Ahead of marketing traffic (a person is waiting for it) and below MARKETING_PRIORITY, which frequency caps count.
TEST_PRIORITY = NOTICE_PRIORITY
MOST_ADDRESSES = 20  # one test send: yourself plus a seed list, not a campaign


class SeedAddress(Base):
    """An address every test send of its channel may also go to: colleagues, an inbox-placement service."""

    __tablename__ = "seed_addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(254))
    label: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("channel", "address", name="uq_seed_addresses_channel_address"),)


def normalise_test_address(channel: str, address: str, *, region: str) -> str:
    """An email address lowercased, a phone number in E.164 (read in `region` without a country code).
    Raises Invalid."""
    if channel == "email":
        return normalise_email(address, label="test address")
    return normalise_phone(address, region=region, label="test number")


def add_seed_address(session: Session, *, channel: str, address: str, label: str = "", region: str, now: datetime,
                     user_id: int | None = None) -> SeedAddress:
    """Put an address on the seed list of `channel`; commits. Raises Invalid (bad channel or address) or
    Conflict (already on the list)."""
    if channel not in CHANNELS:
        raise Invalid(f'channel "{channel}" is not known; a seed address is for one of: {", ".join(CHANNELS)}',
                      field="channel")
    seed = SeedAddress(channel=channel, address=normalise_test_address(channel, address, region=region),
                       label=(label or "").strip()[:200], created_by=user_id, created_at=now)
    session.add(seed)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"{seed.address} is already on the {channel} seed list") from None
    return seed


def list_seed_addresses(session: Session, *, channel: str | None = None) -> list[SeedAddress]:
    query = select(SeedAddress).order_by(SeedAddress.channel, SeedAddress.address)
    if channel is not None:
        query = query.where(SeedAddress.channel == channel)
    return list(session.scalars(query))


def remove_seed_address(session: Session, seed_id: int) -> None:
    """Take an address off the seed list; commits. Raises NotFound."""
    seed = session.get(SeedAddress, seed_id)
    if seed is None:
        raise NotFound(f"seed address {seed_id} does not exist; the seed list shows the ones that do")
    session.delete(seed)
    session.commit()


@dataclass(frozen=True)
class TestSend:
    campaign_id: int  # the hidden test campaign
    contact_id: int  # whose data the message shows
    addresses: tuple[str, ...]
    message_ids: tuple[int, ...]
    dry_run: bool  # log://: written to the outbox folder, nothing left


def send_test_message(session: Session, *, config: Config, now: datetime, template_id: int | None = None,
                      campaign_id: int | None = None, contact_id: int | None = None,
                      addresses: Sequence[str] = (), include_seeds: bool = False,
                      user_id: int | None = None) -> TestSend:
    """Queue a test of template `template_id`, or of campaign `campaign_id` (its template, sender and tracking),
    rendered with contact `contact_id`'s data (default: the first contact), to `addresses` and, with
    `include_seeds`, the seed list of its channel; commits. The senders send it at once (see the module doc).

    Raises NotFound (template, campaign or contact), Invalid (no address, a bad one, too many, no contact at
    all) or ChannelUnavailable (the channel cannot be opened: nothing is queued).
    """
    source = get_campaign(session, campaign_id) if campaign_id is not None else None
    template = get_template(session, source.template_id if source is not None else _required(template_id))
    channel = template.channel
    contact = get_contact(session, contact_id) if contact_id is not None else first_contact(session)
    if contact is None:
        raise Invalid("a test shows a contact's data, and there are no contacts yet: add or import one (or the demo "
                      "contacts) first", field="contact_id")
    to = _addresses(session, channel, addresses, include_seeds, region=config.default_region)
    sender = source.sender if source is not None and channel == "email" else None
    description, dry_run = describe_channel(config, channel, sender=sender)
    test = Campaign(name=f"Test: {source.name if source is not None else template.name}"[:200], kind=TEST_KIND,
                    channel=channel, template_id=template.id, status="completed",
                    code=f"herald-test-{secrets.token_hex(8)}", guarantee="at_most_once", operational=True,
                    ignore_caps=True, sender=sender, created_by=user_id, created_at=now, updated_at=now,
                    **_tracking(source))
    session.add(test)
    session.flush()
    message_ids = []
    for number, address in enumerate(to, start=1):
        run = Run(campaign_id=test.id, occasion_key=f"test:{number}", status="running", channel_url=description[:300],
                  dry_run=dry_run, started_at=now, notes=f"test send by user {user_id} to {address}")
        session.add(run)
        session.flush()
        message = Message(run_id=run.id, campaign_id=test.id, contact_id=contact.id, channel=channel, address=address,
                          status="pending", priority=TEST_PRIORITY, not_before=now, attempts=0, updated_at=now)
        session.add(message)
        session.flush()
        message_ids.append(message.id)
    session.commit()
    log.info("event=test_send campaign_id=%d template_id=%d contact_id=%d addresses=%d user_id=%s", test.id,
             template.id, contact.id, len(to), user_id)
    return TestSend(test.id, contact.id, tuple(to), tuple(message_ids), dry_run)


def _required(template_id: int | None) -> int:
    if template_id is None:
        raise Invalid("say which template to test (template_id) or which campaign (campaign_id)", field="template_id")
    return template_id


def _addresses(session: Session, channel: str, addresses: Sequence[str], include_seeds: bool, *,
               region: str) -> list[str]:
    """The test's addresses: those given, normalised, then the seed list's; each once."""
    wanted = [normalise_test_address(channel, a, region=region) for a in addresses if a.strip()]
    if include_seeds:
        wanted += [seed.address for seed in list_seed_addresses(session, channel=channel)]
    unique = list(dict.fromkeys(wanted))
    if not unique:
        where = "an email address" if channel == "email" else "a phone number"
        raise Invalid(f"write {where} to send the test to" + (" (the seed list is empty)" if include_seeds else ""),
                      field="addresses")
    if len(unique) > MOST_ADDRESSES:
        raise Invalid(f"a test goes to at most {MOST_ADDRESSES} addresses; this one has {len(unique)} — send a "
                      "campaign to a list for more", field="addresses")
    return unique


def _tracking(source: Campaign | None) -> dict[str, object]:
    """The tested campaign's link tracking and UTM parameters, so its test links are the ones it will send."""
    if source is None:
        return {}
    names = ("track_clicks", "track_opens", "utm_source", "utm_medium", "utm_campaign")
    return {name: getattr(source, name) for name in names}


def is_test_campaign(campaign: Campaign) -> bool:
    return campaign.kind == TEST_KIND
