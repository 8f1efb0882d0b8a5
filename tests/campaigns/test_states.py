"""Campaign states: every transition recorded with who and when, approval by role, pause/resume/cancel,
and content that cannot change once a campaign has left draft."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaigns import (
    CampaignNotEditable,
    NotAllowed,
    approve_campaign,
    cancel_campaign,
    create_campaign,
    create_template,
    get_campaign,
    list_transitions,
    pause_campaign,
    reject_campaign,
    resume_campaign,
    send_campaign,
    submit_for_approval,
    update_campaign,
    update_template,
)
from campaigns.models import Run
from core.errors import Conflict, Invalid
from core.users import create_user
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of


@pytest.fixture
def users(session):
    return {role: create_user(session, email=f"{role}@example.com", password="long-enough-1", role=role)
            for role in ("admin", "marketer", "analyst", "approver")}


@pytest.fixture
def draft(session, clock, users):
    template = create_template(session, name="SMS", channel="sms", body="Hi {{ contact.first_name }}",
                               now=clock.now())
    return create_campaign(session, name="Spring", channel="sms", template_id=template.id,
                           created_by=users["marketer"].id, now=clock.now())


def _send(session, campaign_id, clock, **kwargs):
    return send_campaign(session, campaign_id, now=clock.now(), channel_description="scripted://test", dry_run=False,
                         **kwargs)


def _history(session, campaign_id):
    return [(t.from_status, t.to_status, t.user_email, t.comment) for t in list_transitions(session, campaign_id)]


def test_approval_flow_records_who_moved_the_campaign_and_why(session, clock, users, draft):
    make_contact(session, now=clock.now())
    with pytest.raises(Conflict, match="needs approval before it is sent"):
        _send(session, draft.id, clock, approval_required=True)
    submit_for_approval(session, draft.id, user=users["marketer"], now=clock.now(), comment="for Friday")
    with pytest.raises(Conflict, match="waiting for approval"):
        _send(session, draft.id, clock, approval_required=True)
    clock.advance(minutes=5)
    approved = approve_campaign(session, draft.id, user=users["approver"], now=clock.now(), comment="looks good")
    assert (approved.status, approved.approved_by, approved.approved_at) == ("scheduled", users["approver"].id,
                                                                              clock.now())
    _send(session, draft.id, clock, approval_required=True, user_id=users["marketer"].id)
    assert get_campaign(session, draft.id).status == "running"
    assert _history(session, draft.id) == [
        ("", "draft", "marketer@example.com", ""),
        ("draft", "pending_approval", "marketer@example.com", "for Friday"),
        ("pending_approval", "scheduled", "approver@example.com", "looks good"),
        ("scheduled", "running", "marketer@example.com", ""),
    ]


@pytest.mark.parametrize("role", ["marketer", "analyst"])
def test_only_approvers_and_admins_may_approve_or_reject(session, clock, users, draft, role):
    submit_for_approval(session, draft.id, user=users["marketer"], now=clock.now())
    with pytest.raises(NotAllowed, match=f"has the {role} role, which may not approve"):
        approve_campaign(session, draft.id, user=users[role], now=clock.now())
    with pytest.raises(NotAllowed, match="may not reject"):
        reject_campaign(session, draft.id, user=users[role], now=clock.now(), comment="no")
    assert get_campaign(session, draft.id).status == "pending_approval"
    approve_campaign(session, draft.id, user=users["admin"], now=clock.now())
    assert get_campaign(session, draft.id).status == "scheduled"


def test_a_rejection_needs_a_comment_and_sends_the_campaign_back_to_draft(session, clock, users, draft):
    submit_for_approval(session, draft.id, user=users["marketer"], now=clock.now())
    with pytest.raises(Invalid, match="say why") as caught:
        reject_campaign(session, draft.id, user=users["approver"], now=clock.now(), comment="  ")
    assert caught.value.field == "comment"
    reject_campaign(session, draft.id, user=users["approver"], now=clock.now(), comment="wrong price in the text")
    assert get_campaign(session, draft.id).status == "draft"
    assert _history(session, draft.id)[-1] == ("pending_approval", "draft", "approver@example.com",
                                               "wrong price in the text")
    # Back in draft it can be changed and submitted again.
    update_campaign(session, draft.id, now=clock.now(), name="Spring (fixed)")
    submit_for_approval(session, draft.id, user=users["marketer"], now=clock.now())


@pytest.mark.parametrize(("action", "state", "words"), [
    ("approve", "draft", "not waiting for approval"),
    ("reject", "draft", "not waiting for approval"),
    ("submit", "running", "only a draft can be submitted"),
    ("pause", "draft", "only a running campaign can be paused"),
    ("resume", "running", "only a paused campaign can be resumed"),
    ("cancel", "completed", "only a draft, waiting for approval, scheduled, running or paused"),
    ("send", "running", "not a draft"),
])
def test_every_transition_from_the_wrong_state_is_refused_naming_the_state(session, clock, users, draft, action,
                                                                          state, words):
    if state == "running":
        make_contact(session, now=clock.now())
        _send(session, draft.id, clock)
    elif state == "completed":
        _send(session, draft.id, clock)  # nobody to send to: completes at once
    assert get_campaign(session, draft.id).status == state
    calls = {
        "approve": lambda: approve_campaign(session, draft.id, user=users["admin"], now=clock.now()),
        "reject": lambda: reject_campaign(session, draft.id, user=users["admin"], now=clock.now(), comment="x"),
        "submit": lambda: submit_for_approval(session, draft.id, user=users["marketer"], now=clock.now()),
        "pause": lambda: pause_campaign(session, draft.id, user_id=None, now=clock.now()),
        "resume": lambda: resume_campaign(session, draft.id, user_id=None, now=clock.now()),
        "cancel": lambda: cancel_campaign(session, draft.id, now=clock.now()),
        "send": lambda: _send(session, draft.id, clock),
    }
    before = len(list_transitions(session, draft.id))
    with pytest.raises(Conflict, match=words) as caught:
        calls[action]()
    assert f'"{draft.name}" is {state}' in caught.value.message
    assert get_campaign(session, draft.id).status == state
    assert len(list_transitions(session, draft.id)) == before


def test_pause_stops_claims_resume_finishes_and_completion_is_recorded(session, database, clock, channel, users,
                                                                      draft):
    for _ in range(5):
        make_contact(session, now=clock.now())
    run = _send(session, draft.id, clock)
    dispatcher = make_dispatcher(database, channel, clock, batch_size=2)
    assert dispatcher.dispatch_due() == 2
    pause_campaign(session, draft.id, user_id=users["marketer"].id, now=clock.now(), comment="price typo?")
    assert session.get(Run, run.id).status == "paused"
    session.commit()  # end the read: on SQLite it would hold the lock the sender needs
    assert dispatcher.dispatch_due() == 0  # nothing is claimed while paused
    assert len(channel.sent) == 2
    resume_campaign(session, draft.id, user_id=users["marketer"].id, now=clock.now())
    while dispatcher.dispatch_due():
        pass
    assert sorted(m.status for m in messages_of(session, run.id)) == ["sent"] * 5
    assert len({m.to for m in channel.sent}) == len(channel.sent) == 5
    assert get_campaign(session, draft.id).status == "completed"
    assert [(f, t) for f, t, *_ in _history(session, draft.id)] == [
        ("", "draft"), ("draft", "running"), ("running", "paused"), ("paused", "running"), ("running", "completed")]
    assert _history(session, draft.id)[-1][2] is None  # Herald completed it, no user


def test_resuming_a_campaign_whose_last_messages_went_out_while_paused_completes_it(session, database, clock,
                                                                                   channel, draft):
    for _ in range(3):
        make_contact(session, now=clock.now())
    _send(session, draft.id, clock)
    dispatcher = make_dispatcher(database, channel, clock)
    batch = dispatcher.claim(session)  # a sender holds the whole run...
    pause_campaign(session, draft.id, user_id=None, now=clock.now())
    outgoing, refused = dispatcher.composer.render(batch)
    answers, _ = dispatcher.send_by_channel(outgoing)
    dispatcher.record(session, batch, outgoing, refused + answers)  # ...and finishes it while paused
    assert get_campaign(session, draft.id).status == "paused"
    session.commit()
    resume_campaign(session, draft.id, user_id=None, now=clock.now())
    assert get_campaign(session, draft.id).status == "completed"


def test_cancelling_a_paused_campaign_cancels_its_unsent_messages_and_runs(session, database, clock, channel, draft):
    for _ in range(4):
        make_contact(session, now=clock.now())
    run = _send(session, draft.id, clock)
    make_dispatcher(database, channel, clock, batch_size=1).dispatch_due()
    pause_campaign(session, draft.id, user_id=None, now=clock.now())
    assert cancel_campaign(session, draft.id, now=clock.now(), comment="event moved") == 3
    assert session.get(Run, run.id).status == "cancelled"
    assert sorted(m.status for m in messages_of(session, run.id)) == ["cancelled"] * 3 + ["sent"]
    assert _history(session, draft.id)[-1][:2] == ("paused", "cancelled")
    assert _history(session, draft.id)[-1][3] == "event moved"


def test_a_campaign_past_draft_cannot_be_edited_nor_can_its_template(session, clock, users, draft):
    make_contact(session, now=clock.now())
    _send(session, draft.id, clock)
    with pytest.raises(CampaignNotEditable, match="is running; its content can only change while it is a draft"):
        update_campaign(session, draft.id, now=clock.now(), name="Changed")
    with pytest.raises(CampaignNotEditable) as caught:
        update_template(session, draft.template_id, now=clock.now(), body="New text")
    assert f'used by campaign {draft.id} "Spring", which is running' in caught.value.message
    assert "create a new template" in caught.value.message
    pause_campaign(session, draft.id, user_id=None, now=clock.now())
    with pytest.raises(CampaignNotEditable, match="which is paused"):
        update_template(session, draft.template_id, now=clock.now(), body="New text")
    session.rollback()
    cancel_campaign(session, draft.id, now=clock.now())
    assert update_template(session, draft.template_id, now=clock.now(), body="New text").body == "New text"


def test_a_template_waiting_for_approval_is_frozen_too(session, clock, users, draft):
    submit_for_approval(session, draft.id, user=users["marketer"], now=clock.now())
    with pytest.raises(CampaignNotEditable, match="waiting for approval"):
        update_campaign(session, draft.id, now=clock.now(), name="Sneaky")
    with pytest.raises(CampaignNotEditable, match="which is waiting for approval"):
        update_template(session, draft.template_id, now=clock.now(), body="Sneaky")


def test_updating_a_draft_checks_each_field(session, clock, draft):
    with pytest.raises(Invalid) as caught:
        update_campaign(session, draft.id, now=clock.now(), channel="email")
    assert caught.value.field == "channel"
    with pytest.raises(Invalid, match="segment 99 does not exist"):
        update_campaign(session, draft.id, now=clock.now(), segment_id=99)
    assert update_campaign(session, draft.id, now=clock.now(), cap_messages=1, cap_days=2).cap_messages == 1
    assert session.scalar(select(Run).where(Run.campaign_id == draft.id)) is None
