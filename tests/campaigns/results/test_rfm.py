"""RFM quintiles on a known table of purchases, and the dormant rule, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, select

from audiences import Contact
from campaigns.models import Conversion
from campaigns.responses.inbox_models import Reply
from campaigns.results.rfm import score_contacts
from tests.campaigns import engagement_factories as f

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=400)


def buy(session, contact, *, at, amount="10.00", n=[0]):  # noqa: B006 - a counter shared by the calls
    n[0] += 1
    session.add(Conversion(contact_id=contact.id, order_id=f"R{n[0]}", amount=Decimal(amount), currency="USD",
                           amount_base=Decimal(amount), occurred_at=at, attribution="none", created_at=at))
    session.commit()


def scores(session, contact):
    session.expire_all()
    row = session.get(Contact, contact.id)
    result = (row.rfm_recency, row.rfm_frequency, row.rfm_monetary)
    session.commit()
    return result


def test_quintiles_on_a_known_table(session, backend):
    # Buyer i (1..10) ordered i times, 10.00 each, more recently as i grows: every measure rises with i, the
    # middle of place i of 10 is (2i - 1) / 20, so the quintile score is ceil(i/2).
    buyers = [f.contact(session, now=LONG_AGO) for _ in range(10)]
    for i, buyer in enumerate(buyers, start=1):
        for k in range(i):
            buy(session, buyer, at=NOW - timedelta(days=100 - i, hours=k))
    nobody = f.contact(session, now=LONG_AGO)
    result = score_contacts(session, now=NOW, dormant_days=365)
    assert result.scored == 10
    assert [scores(session, b) for b in buyers] == [((i + 1) // 2,) * 3 for i in range(1, 11)]
    assert scores(session, nobody) == (None, None, None)
    assert session.get(Contact, buyers[0].id).rfm_updated_at == NOW


def test_equal_values_share_a_score(session, backend):
    once = [f.contact(session, now=LONG_AGO) for _ in range(3)]
    loyal = f.contact(session, now=LONG_AGO)
    for buyer in once:
        buy(session, buyer, at=NOW - timedelta(days=5), amount="20.00")
    buy(session, loyal, at=NOW - timedelta(days=9), amount="5.00")
    buy(session, loyal, at=NOW - timedelta(days=8), amount="5.00")
    score_contacts(session, now=NOW, dormant_days=365)
    # The three tie on every measure at places 2..4 of 4 (middle 0.625) or 1..3 (0.375): one score each.
    assert {scores(session, b) for b in once} == {(4, 2, 4)}
    assert scores(session, loyal) == (1, 5, 1)


def test_scores_are_cleared_when_purchases_are_gone(session, backend):
    buyer = f.contact(session, now=LONG_AGO)
    buy(session, buyer, at=NOW - timedelta(days=3))
    score_contacts(session, now=NOW, dormant_days=365)
    assert scores(session, buyer) == (3, 3, 3)  # the only buyer is the middle of every order
    session.execute(delete(Conversion))
    session.commit()
    result = score_contacts(session, now=NOW, dormant_days=365)
    assert (result.scored, result.cleared) == (0, 1)
    assert scores(session, buyer) == (None, None, None)


def test_dormant_rule(session, backend):
    def person(stage=None, created=LONG_AGO):
        return f.contact(session, now=created, lifecycle_stage=stage)

    quiet = person("customer")
    bought_lately = person("customer")
    bought_long_ago = person("repeat")
    clicked = person()
    scanner_only = person("vip")
    replied = person("customer")
    newcomer = person("customer", created=NOW - timedelta(days=10))
    lead, churned = person("lead"), person("churned")
    campaign = f.campaign(session, now=LONG_AGO)

    buy(session, bought_lately, at=NOW - timedelta(days=20))
    buy(session, bought_long_ago, at=NOW - timedelta(days=31))
    message = f.message(session, clicked, campaign, sent_at=NOW - timedelta(days=6))
    f.event(session, message, "clicked", NOW - timedelta(days=5), machine=False, url="https://shop.example/")
    message = f.message(session, scanner_only, campaign, sent_at=NOW - timedelta(days=6))
    f.event(session, message, "opened", NOW - timedelta(days=6), machine=True, machine_reason="too_soon")
    session.add(Reply(provider="twilio", provider_id="SM1", contact_id=replied.id, from_number=replied.phone,
                      body="thanks", received_at=NOW - timedelta(days=2)))
    session.commit()

    result = score_contacts(session, now=NOW, dormant_days=30)
    session.expire_all()
    stages = {c.id: c.lifecycle_stage for c in session.scalars(select(Contact))}
    assert result.dormant == 3
    assert {name for name, c in [("quiet", quiet), ("bought_long_ago", bought_long_ago),
                                 ("scanner_only", scanner_only)] if stages[c.id] == "dormant"} == {
        "quiet", "bought_long_ago", "scanner_only"}
    assert [stages[c.id] for c in (bought_lately, clicked, replied, newcomer, lead, churned)] == [
        "customer", None, "customer", "customer", "lead", "churned"]
    assert score_contacts(session, now=NOW, dormant_days=30).dormant == 0  # already dormant: not counted again
