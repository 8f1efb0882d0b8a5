"""The global suppression list at materialisation: a listed address gets a `suppressed` row saying why,
and only an operational notice passes the list."""

from __future__ import annotations

from sqlalchemy import literal, select

from audiences import add_suppressions, audience_select
from campaigns import create_campaign, create_template, send_campaign
from campaigns.audience import queries as audience_queries
from campaigns.audience.materialise import consent_exclusions
from campaigns.models import Message
from core.db import UTCDateTime
from tests.campaigns.factories import make_contact, start_campaign


def _outcomes(session, run_id):
    rows = session.execute(select(Message.contact_id, Message.status, Message.error_code, Message.error_reason)
                           .where(Message.run_id == run_id))
    return {r.contact_id: (r.status, r.error_code, r.error_reason) for r in rows}


def test_a_listed_address_is_suppressed_with_its_reason(backend, session, clock):
    now = clock.now()
    listed = make_contact(session, now=now, phone="+12015550101")
    free = make_contact(session, now=now, phone="+12015550102")
    add_suppressions(session, ["+1 201 555 0101"], channel="sms", reason="carrier complaint", default_region="US",
                     now=now)

    _, run = start_campaign(session, now=now, channel="sms")

    outcomes = _outcomes(session, run.id)
    assert outcomes[free.id][0] == "pending"
    status, code, reason = outcomes[listed.id]
    assert (status, code) == ("suppressed", "suppression_list")
    assert "phone number is on the suppression list" in reason


def test_a_campaign_marked_operational_reaches_a_listed_address(backend, session, clock):
    now = clock.now()
    listed = make_contact(session, now=now, email=None, phone="+12015550101")
    add_suppressions(session, ["+12015550101"], channel="sms", default_region="US", now=now)
    template = create_template(session, name="Gate", channel="sms", body="Gate B", now=now)
    marketing = create_campaign(session, name="Promo", channel="sms", template_id=template.id, now=now)
    notice = create_campaign(session, name="Venue change", channel="sms", template_id=template.id, now=now,
                             operational=True)

    promo_run = send_campaign(session, marketing.id, now=now, channel_description="scripted://", dry_run=True)
    notice_run = send_campaign(session, notice.id, now=now, channel_description="scripted://", dry_run=True)

    assert _outcomes(session, promo_run.id)[listed.id][:2] == ("suppressed", "suppression_list")
    assert _outcomes(session, notice_run.id)[listed.id][0] == "pending"


def test_an_operational_notice_passes_the_list_but_not_a_missing_address(backend, session, clock):
    now = clock.now()
    listed = make_contact(session, now=now, email="ann@example.com")
    no_email = make_contact(session, now=now, email=None)
    add_suppressions(session, ["ann@example.com"], default_region="US", now=now)
    campaign, run = start_campaign(session, now=now, channel="email")
    session.execute(Message.__table__.delete().where(Message.run_id == run.id))

    audience = audience_select(None, "email", operational=True).subquery("audience")
    audience_queries.insert_run_messages(
        session, run_id=run.id, campaign_id=campaign.id, channel="email", audience=audience,
        exclusions=consent_exclusions(audience, "email", operational=True), priority=100,
        not_before=literal(now, UTCDateTime()), now=now)
    session.commit()

    outcomes = _outcomes(session, run.id)
    assert outcomes[listed.id][0] == "pending"
    assert outcomes[no_email.id][:2] == ("suppressed", "no_address")
