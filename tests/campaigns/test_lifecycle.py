"""Creating, sending and cancelling campaigns; materialising a run with one INSERT … SELECT."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from audiences import set_consent
from campaigns import (
    campaign_status,
    cancel_campaign,
    create_campaign,
    create_template,
    get_campaign,
    list_campaigns,
    send_campaign,
)
from campaigns.audience.materialise import materialise_run
from campaigns.models import Campaign, MessageEvent, Run
from core.errors import Conflict, Invalid
from tests.campaigns.factories import make_contact, make_list, messages_of, start_campaign


@pytest.fixture
def sms_template(session, clock):
    return create_template(session, name="SMS", channel="sms", body="Hi {{ contact.first_name }}", now=clock.now())


def test_a_campaign_is_created_as_a_draft_at_most_once_by_default(session, clock, sms_template):
    campaign = create_campaign(session, name="Spring", channel="sms", template_id=sms_template.id, now=clock.now())
    assert (campaign.status, campaign.guarantee, campaign.list_id) == ("draft", "at_most_once", None)
    assert get_campaign(session, campaign.id).name == "Spring"
    assert [c.id for c in list_campaigns(session)] == [campaign.id]


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"channel": "fax"}, "channel", 'channel "fax"'),
    ({"template_id": 999}, "template_id", "template 999 does not exist"),
    ({"channel": "email"}, "template_id", "is an sms template"),
    ({"list_id": 42}, "list_id", "list 42 does not exist"),
    ({"name": "  "}, "name", "needs a name"),
])
def test_a_campaign_with_a_bad_reference_is_invalid_naming_it(session, clock, sms_template, overrides, field, words):
    arguments = {"name": "Spring", "channel": "sms", "template_id": sms_template.id, **overrides}
    with pytest.raises(Invalid) as caught:
        create_campaign(session, now=clock.now(), **arguments)
    assert caught.value.field == field
    assert words in caught.value.message


def test_sending_materialises_one_row_per_contact_and_marks_the_unreachable_suppressed(session, clock):
    now = clock.now()
    reachable = make_contact(session, now=now)
    no_phone = make_contact(session, now=now, phone=None)
    opted_out = make_contact(session, now=now)
    set_consent(session, opted_out.id, "sms", "unsubscribed", source="test", now=now)
    campaign, run = start_campaign(session, now=now)
    assert (run.occasion_key, run.channel_url, run.dry_run, run.status) == ("once", "scripted://test", False,
                                                                           "running")
    assert get_campaign(session, campaign.id).status == "running"
    rows = {m.contact_id: m for m in messages_of(session, run.id)}
    assert len(rows) == 3
    assert (rows[reachable.id].status, rows[reachable.id].not_before, rows[reachable.id].address) == (
        "pending", now, reachable.phone)
    assert rows[no_phone.id].status == "suppressed"
    assert "no phone number" in rows[no_phone.id].error_reason
    assert rows[opted_out.id].status == "suppressed"
    assert "opted out of sms" in rows[opted_out.id].error_reason
    assert session.scalars(select(MessageEvent)).all() == []  # no event rows for the queue itself


def test_materialising_a_run_is_one_insert_select_whatever_the_audience(session, database, clock, sms_template):
    now = clock.now()
    members = [make_contact(session, now=now) for _ in range(30)]
    make_contact(session, now=now)  # not on the list
    audience = make_list(session, "VIP", members, now=now)
    campaign = create_campaign(session, name="VIP", channel="sms", template_id=sms_template.id, list_id=audience.id,
                               now=now)
    run = Run(campaign_id=campaign.id, occasion_key="once", channel_url="", dry_run=False, started_at=now)
    session.add(run)
    session.flush()
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        written = materialise_run(session, run=run, campaign=campaign, now=now)
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    session.commit()
    assert written == 30
    # One INSERT … SELECT over the audience, plus one constant-size read of the campaign's A/B variants.
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO MESSAGES")]
    assert len(inserts) == 1 and len(statements) == 2
    assert "SELECT" in inserts[0].upper()
    assert [s for s in statements if s not in inserts][0].lstrip().upper().startswith("SELECT CAMPAIGN_VARIANTS")
    assert {m.contact_id for m in messages_of(session, run.id)} == {c.id for c in members}


def test_sending_a_campaign_twice_is_a_conflict_and_adds_nothing(session, clock):
    make_contact(session, now=clock.now())
    campaign, _ = start_campaign(session, now=clock.now())
    with pytest.raises(Conflict, match=f"campaign {campaign.id} .* is running, not a draft"):
        send_campaign(session, campaign.id, now=clock.now(), channel_description="x", dry_run=False)
    assert len(messages_of(session)) == 1
    assert len(session.scalars(select(Run)).all()) == 1


def test_a_campaign_with_nobody_reachable_completes_at_once(session, clock):
    make_contact(session, now=clock.now(), phone=None)
    campaign, run = start_campaign(session, now=clock.now())
    assert run.status == "completed" and run.finished_at == clock.now()
    assert campaign_status(session, campaign.id).status == "completed"


def test_cancelling_cancels_pending_messages_the_run_and_the_campaign(session, clock):
    for _ in range(3):
        make_contact(session, now=clock.now())
    make_contact(session, now=clock.now(), phone=None)
    campaign, run = start_campaign(session, now=clock.now())
    held = next(m for m in messages_of(session, run.id) if m.status == "pending")
    held.status = "sending"  # a sender holds this one: it finishes normally
    session.commit()
    cancelled = cancel_campaign(session, campaign.id, now=clock.advance(minutes=1))
    assert cancelled == 2
    statuses = sorted(m.status for m in messages_of(session, run.id))
    assert statuses == ["cancelled", "cancelled", "sending", "suppressed"]
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == "cancelled"
    assert (session.get(Run, run.id).status, session.get(Run, run.id).finished_at) == ("cancelled", clock.now())
    with pytest.raises(Conflict, match="is cancelled"):
        cancel_campaign(session, campaign.id, now=clock.now())
