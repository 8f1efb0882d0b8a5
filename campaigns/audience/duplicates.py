"""One message per address in a run: duplicate CRM rows (two contacts with one phone number or email) must not
make a customer read, and the company pay for, the same message twice.

Within a run's audience, the contacts sharing an address are ranked: first those who may be sent to (an
address, consent, not on the suppression list), then by contact id. The first keeps the message; every
other becomes `duplicate`, with a reason naming the contact who got it, and is counted in the report like
the capped. Addresses compare as contacts store them (audiences/contacts/records.py: phone in E.164, email
lower-cased); emails are lower-cased here too, so a row written before that normalisation still matches.

The ranking is one window function in the audience SELECT, so materialising stays one INSERT … SELECT
(and the estimate counts the same rows the same way).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, select

from campaigns.audience.queries import Exclusion

STATUS = "duplicate"
CODE = "duplicate_address"


def rank_addresses(recipients: Any, channel: str) -> Any:
    """`recipients` (a SELECT of audiences.audience_select's columns) with address_rank (1 for the contact who
    keeps the message) and address_owner (that contact's id) added: a SELECT to make the audience from."""
    inner = recipients.subquery("recipients")
    address = func.lower(inner.c.address) if channel == "email" else inner.c.address
    sendable_first = case((and_(inner.c.reachable == 1, inner.c.suppressed_listed == 0), 0), else_=1)
    order = (sendable_first, inner.c.contact_id)
    return select(inner, func.row_number().over(partition_by=address, order_by=order).label("address_rank"),
                  func.first_value(inner.c.contact_id).over(partition_by=address, order_by=order)
                  .label("address_owner"))


def duplicate_exclusions(audience: Any, channel: str) -> list[Exclusion]:
    """Recipients whose address another contact in the audience already gets the message at: `duplicate`.

    Listed after the consent exclusions: a contact without an address, or who may not be sent to, is
    suppressed for that reason, not counted as a duplicate."""
    what = "email address" if channel == "email" else "phone number"
    reason = (literal(f"same {what} as contact ") + cast(audience.c.address_owner, String)
              + literal(f", who is sent this message instead; one message per {what} in a run"))
    return [Exclusion(audience.c.address_rank > 1, STATUS, CODE, reason)]
