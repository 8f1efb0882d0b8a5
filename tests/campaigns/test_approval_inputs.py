"""What is sent is what was approved: every input of an approved campaign is locked (issue 11, hole 6)."""

from __future__ import annotations

import pytest

from audiences import create_segment, update_segment
from campaigns import (
    CampaignNotEditable,
    NotAllowed,
    approve_campaign,
    create_campaign,
    create_template,
    reject_campaign,
    send_campaign,
    submit_for_approval,
    update_template,
)
from campaigns.ab_test import VariantSpec, set_ab_test
from core.users import create_user
from tests.campaigns.factories import make_contact, messages_of


@pytest.fixture
def users(session):
    return {role: create_user(session, email=f"{role}@example.com", password="long-enough-1", role=role)
            for role in ("admin", "marketer", "approver")}


def _template(session, clock, name, body):
    return create_template(session, name=name, channel="sms", body=body, now=clock.now())


def _approved(session, clock, users, campaign):
    submit_for_approval(session, campaign.id, user=users["marketer"], now=clock.now())
    approve_campaign(session, campaign.id, user=users["approver"], now=clock.now())


def test_a_variant_template_of_an_approved_campaign_cannot_be_edited(backend, session, clock, users):
    a = _template(session, clock, "A", "Hi {{ contact.first_name }}")
    b = _template(session, clock, "B", "Hello {{ contact.first_name }}")
    campaign = create_campaign(session, name="Spring", channel="sms", template_id=a.id, now=clock.now())
    set_ab_test(session, campaign.id, variants=[VariantSpec("A", a.id), VariantSpec("B", b.id)])
    _approved(session, clock, users, campaign)
    with pytest.raises(CampaignNotEditable) as caught:
        update_template(session, b.id, now=clock.now(), body="Click this instead")
    assert f'used by campaign {campaign.id} "Spring", which is scheduled' in caught.value.message
    session.rollback()
    assert session.get(type(b), b.id).body == "Hello {{ contact.first_name }}"


def test_editing_the_segment_after_approval_does_not_change_who_the_campaign_reaches(backend, session, clock, users):
    mei = make_contact(session, now=clock.now(), first_name="Mei")
    make_contact(session, now=clock.now(), first_name="Joe")
    segment = create_segment(session, name="Mei", rules={"all": [{"field": "first_name", "op": "eq", "value": "Mei"}]},
                             now=clock.now())
    template = _template(session, clock, "T", "Hi")
    campaign = create_campaign(session, name="Spring", channel="sms", template_id=template.id, segment_id=segment.id,
                               now=clock.now())
    _approved(session, clock, users, campaign)
    update_segment(session, segment.id, rules={"any": [{"field": "first_name", "op": "eq", "value": "Joe"},
                                                       {"field": "first_name", "op": "eq", "value": "Mei"}]},
                   now=clock.now())
    run = send_campaign(session, campaign.id, now=clock.now(), channel_description="scripted://test", dry_run=False,
                        approval_required=True)
    assert [m.contact_id for m in messages_of(session, run.id)] == [mei.id]


def test_a_rejected_campaign_reads_its_segment_live_again_until_resubmitted(backend, session, clock, users):
    make_contact(session, now=clock.now(), first_name="Mei")
    joe = make_contact(session, now=clock.now(), first_name="Joe")
    segment = create_segment(session, name="Mei", rules={"all": [{"field": "first_name", "op": "eq", "value": "Mei"}]},
                             now=clock.now())
    template = _template(session, clock, "T", "Hi")
    campaign = create_campaign(session, name="Spring", channel="sms", template_id=template.id, segment_id=segment.id,
                               now=clock.now())
    submit_for_approval(session, campaign.id, user=users["marketer"], now=clock.now())
    reject_campaign(session, campaign.id, user=users["approver"], now=clock.now(), comment="Joe only, please")
    update_segment(session, segment.id, rules={"all": [{"field": "first_name", "op": "eq", "value": "Joe"}]},
                   now=clock.now())
    _approved(session, clock, users, campaign)
    run = send_campaign(session, campaign.id, now=clock.now(), channel_description="scripted://test", dry_run=False,
                        approval_required=True)
    assert [m.contact_id for m in messages_of(session, run.id)] == [joe.id]


def test_the_submitter_may_not_approve_their_own_campaign_unless_allowed(backend, session, clock, users):
    template = _template(session, clock, "T", "Hi")
    campaign = create_campaign(session, name="Spring", channel="sms", template_id=template.id, now=clock.now())
    submit_for_approval(session, campaign.id, user=users["admin"], now=clock.now())
    with pytest.raises(NotAllowed, match="allow_self_approval"):
        approve_campaign(session, campaign.id, user=users["admin"], now=clock.now())
    session.rollback()
    approved = approve_campaign(session, campaign.id, user=users["admin"], now=clock.now(), allow_self_approval=True)
    assert approved.status == "scheduled"
