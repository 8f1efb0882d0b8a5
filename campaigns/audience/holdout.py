"""Who is held out of a campaign, and which A/B group and variant each recipient gets — decided in SQL.

Every split is a bucket 0–99 from a hash of (contact id, campaign id) computed by the database in the
INSERT … SELECT that materialises a run, so a million recipients cost no Python loop and a rerun (or
a report recomputing the groups) gets the same answer. The hash is integer arithmetic that SQLite
and PostgreSQL evaluate alike: products stay below 2^63 for ids up to 3·10^9, and `%` of non-negative
integers agrees on both (tests/campaigns/audience/test_holdout_ab.py checks them against each other and Python).

Three independent splits use three different multipliers and primes, so being held out says nothing
about the A/B group or the variant a recipient would have had.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, case, cast, literal, null

from campaigns.audience.queries import Exclusion

# (multiplier of contact id, multiplier of campaign id, prime) per split.
HOLDOUT_HASH = (2654435761, 40503, 10007)
TEST_GROUP_HASH = (2246822519, 3266489917, 10009)
VARIANT_HASH = (668265263, 374761393, 10037)

HELD_OUT_REASON = ("the contact is in the campaign's holdout group, so nothing was sent on purpose: "
                   "the group shows what the campaign caused")
WAITING_REASON = "waiting for the A/B test's winning variant, which is then sent to the rest of the audience"


def bucket(contact_id: Any, campaign_id: int, split: tuple[int, int, int]) -> Any:
    """SQL for a bucket 0–99 of (contact, campaign) under `split`; works on a column or a number."""
    by_contact, by_campaign, prime = split
    contact = cast(contact_id, BigInteger)
    mixed = contact * literal(by_contact, BigInteger) + literal(campaign_id * by_campaign % prime, BigInteger)
    return (mixed % prime) % 100


def python_bucket(contact_id: int, campaign_id: int, split: tuple[int, int, int]) -> int:
    """The same bucket in Python, for tests and for explaining a recipient's group."""
    by_contact, by_campaign, prime = split
    return ((contact_id * by_contact + campaign_id * by_campaign % prime) % prime) % 100


def holdout_exclusions(audience: Any, *, campaign_id: int, holdout_percent: int) -> list[Exclusion]:
    """The holdout group: `held_out`, no message. Listed after consent, so a contact who could not be
    reached anyway is `suppressed`, not counted in the holdout (both groups hold only reachable people)."""
    if not holdout_percent:
        return []
    held = bucket(audience.c.contact_id, campaign_id, HOLDOUT_HASH) < holdout_percent
    return [Exclusion(held, "held_out", "holdout", HELD_OUT_REASON)]


def waiting_exclusions(audience: Any, *, campaign_id: int, test_percent: int) -> list[Exclusion]:
    """With an A/B test phase, everyone outside the test share waits (`waiting`) for the winner."""
    if not test_percent or test_percent >= 100:
        return []
    outside = bucket(audience.c.contact_id, campaign_id, TEST_GROUP_HASH) >= test_percent
    return [Exclusion(outside, "waiting", "ab_waiting", WAITING_REASON)]


def variant_choice(audience: Any, *, campaign_id: int, variants: Sequence[tuple[int, int]]) -> Any:
    """SQL choosing a variant id by weight from [(variant_id, weight)], or NULL with no variants.

    Each variant owns a range of buckets in proportion to its weight (cumulative thresholds out of 100).
    """
    if not variants:
        return null()
    total = sum(weight for _, weight in variants)
    which = bucket(audience.c.contact_id, campaign_id, VARIANT_HASH)
    whens, cumulative = [], 0
    for variant_id, weight in variants[:-1]:
        cumulative += weight
        whens.append((which < cumulative * 100 // total, literal(variant_id)))
    return case(*whens, else_=literal(variants[-1][0])) if whens else literal(variants[0][0])
