"""The global suppression list: addresses no campaign may message, whoever holds them.

Consent belongs to a contact; a suppression belongs to an address (a complaint to the carrier, a
legal request, a role mailbox): it holds even for a contact imported tomorrow with that address.
Only a campaign explicitly marked operational passes it (audiences.audience_select).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from audiences.contacts.records import check_region, normalise_email, normalise_phone
from audiences.models import Suppression
from audiences.queries import check_channel
from core.errors import Invalid, NotFound

REASON_LIMIT = 200
SOURCE_LIMIT = 100
# A pasted column from a spreadsheet: one address per line, or several separated by commas, semicolons or
# tabs (not spaces: a phone number is often written "(201) 555-0101").
_SEPARATORS = re.compile(r"[\r\n\t,;，；]+")


@dataclass
class SuppressionReport:
    """What adding a batch of addresses did: how many were new, already listed, or refused and why."""

    added: int = 0
    already: int = 0
    rejected: list[str] = field(default_factory=list)  # one sentence per bad address
    rejected_addresses: list[str] = field(default_factory=list)  # those addresses as given, to fix and resend


def normalise_address(channel: str, address: str, *, default_region: str) -> str:
    """The address as contacts store it, so the list matches them: email lowercased, phone in E.164."""
    check_channel(channel)
    if channel == "email":
        return normalise_email(address, label="address")
    return normalise_phone(address, region=check_region(default_region), label="address")


def guess_channel(address: str) -> str:
    """"email" for anything with an @, else "sms": how a pasted mixed list is sorted."""
    return "email" if "@" in address else "sms"


def split_addresses(text: str) -> list[str]:
    """Addresses from pasted text; a first cell such as "email" or "phone" (a CSV header) is dropped."""
    items = [item.strip().strip('"') for item in _SEPARATORS.split(text or "") if item.strip().strip('"')]
    if items and items[0].lower() in {"email", "phone", "address", "mobile", "邮箱", "手机", "地址"}:
        items = items[1:]
    return items


def add_suppressions(session: Session, addresses: Iterable[str], *, channel: str | None = None, reason: str = "",
                     source: str = "", default_region: str, now: datetime) -> SuppressionReport:
    """Put addresses on the suppression list. `channel` None sorts each by its form (guess_channel).

    Bad addresses are reported one by one and the good ones still land; addresses already listed keep
    their original reason. Two statements whatever the count (read the listed ones, insert the rest). Commits.
    """
    if channel is not None:
        check_channel(channel)
    report = SuppressionReport()
    wanted: dict[tuple[str, str], str] = {}
    for raw in addresses:
        target = channel or guess_channel(raw)
        try:
            wanted.setdefault((target, normalise_address(target, raw, default_region=default_region)), raw)
        except Invalid as exc:
            report.rejected.append(exc.message)
            report.rejected_addresses.append(raw)
    if not wanted:
        return report
    listed = _listed(session, wanted)
    rows = [{"channel": ch, "address": addr, "reason": reason.strip()[:REASON_LIMIT],
             "source": source.strip()[:SOURCE_LIMIT], "created_at": now}
            for (ch, addr) in wanted if (ch, addr) not in listed]
    if rows:
        session.execute(insert(Suppression), rows)
    session.commit()
    report.added, report.already = len(rows), len(wanted) - len(rows)
    return report


def _listed(session: Session, wanted: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    by_channel: dict[str, list[str]] = {}
    for ch, addr in wanted:
        by_channel.setdefault(ch, []).append(addr)
    for ch, addrs in by_channel.items():
        for start in range(0, len(addrs), 1000):
            part = addrs[start:start + 1000]
            query = select(Suppression.address).where(Suppression.channel == ch, Suppression.address.in_(part))
            found.update((ch, a) for a in session.scalars(query))
    return found


def remove_suppression(session: Session, suppression_id: int) -> Suppression:
    """Take one address off the list (campaigns may message it again). Raises NotFound. Commits."""
    found = session.get(Suppression, suppression_id)
    if found is None:
        raise NotFound(f"suppression {suppression_id} does not exist — it may have been removed already")
    session.execute(delete(Suppression).where(Suppression.id == suppression_id))
    session.commit()
    return found


@dataclass(frozen=True)
class SuppressionPage:
    items: list[Suppression]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_suppressions(session: Session, *, channel: str | None = None, search: str | None = None, page: int = 1,
                      per_page: int = 100) -> SuppressionPage:
    """One page of the list, newest first; `search` matches part of the address."""
    if page < 1:
        raise Invalid(f"page {page} does not exist — pages start at 1", field="page")
    if not 1 <= per_page <= 1000:
        raise Invalid(f"per_page {per_page} is out of range — ask for 1 to 1000 per page", field="per_page")
    conditions = []
    if channel:
        conditions.append(Suppression.channel == check_channel(channel))
    if search and search.strip():
        conditions.append(Suppression.address.icontains(search.strip(), autoescape=True))
    total = session.scalar(select(func.count()).select_from(Suppression).where(*conditions)) or 0
    items = session.scalars(select(Suppression).where(*conditions)
                            .order_by(Suppression.created_at.desc(), Suppression.id.desc())
                            .limit(per_page).offset((page - 1) * per_page))
    return SuppressionPage(list(items), total, page, per_page)


def is_suppressed(session: Session, channel: str, address: str | None) -> bool:
    """Whether this stored address (as on a contact) is on the list for the channel."""
    if not address:
        return False
    query = select(Suppression.id).where(Suppression.channel == channel, Suppression.address == address)
    return session.scalar(query.limit(1)) is not None

