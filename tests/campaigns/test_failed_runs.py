"""When a run and its campaign end `failed` rather than `completed`: every message tried failed and none was
sent. A run that sent even one message, or tried none (everyone suppressed), completes."""

from __future__ import annotations

from sqlalchemy import select

from campaigns import get_campaign, list_transitions
from campaigns.models import Run
from campaigns.queries import FAILED_RUN_COMMENT
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher, refuse, start_campaign


def _statuses(session, campaign_id: int, run_id: int) -> tuple[str, str]:
    """(run status, campaign status), read and let go of (on SQLite an open transaction holds the write lock)."""
    session.expire_all()
    run_status = session.scalar(select(Run.status).where(Run.id == run_id))
    campaign_status = get_campaign(session, campaign_id).status
    session.commit()
    return run_status, campaign_status


def test_a_campaign_whose_every_message_failed_ends_failed_with_the_transition_recorded(backend, session, database,
                                                                                      clock):
    contacts = [make_contact(session, now=clock.now()) for _ in range(3)]
    campaign, run = start_campaign(session, now=clock.now())
    channel = ScriptedChannel({c.phone: refuse(permanent=True) for c in contacts})
    make_dispatcher(database, channel, clock).dispatch_due()
    assert _statuses(session, campaign.id, run.id) == ("failed", "failed")
    last = list_transitions(session, campaign.id)[-1]
    assert (last.from_status, last.to_status, last.user_email, last.comment) == (
        "running", "failed", None, FAILED_RUN_COMMENT)


def test_one_message_sent_among_failures_completes_the_campaign(backend, session, database, clock):
    bad = make_contact(session, now=clock.now())
    make_contact(session, now=clock.now())
    campaign, run = start_campaign(session, now=clock.now())
    make_dispatcher(database, ScriptedChannel({bad.phone: refuse(permanent=True)}), clock).dispatch_due()
    assert _statuses(session, campaign.id, run.id) == ("completed", "completed")


def test_a_run_that_tried_nobody_completes(session, database, clock):
    make_contact(session, now=clock.now(), phone=None)  # no number: suppressed when materialised
    campaign, run = start_campaign(session, now=clock.now())
    make_dispatcher(database, ScriptedChannel(), clock).dispatch_due()
    assert _statuses(session, campaign.id, run.id) == ("completed", "completed")


def test_transient_failures_fail_the_run_only_once_the_attempts_are_spent(session, database, clock):
    contact = make_contact(session, now=clock.now())
    campaign, run = start_campaign(session, now=clock.now())
    channel = ScriptedChannel({contact.phone: refuse(permanent=False, code="30008", reason="Unknown error")})
    dispatcher = make_dispatcher(database, channel, clock, max_attempts=2, retry_base_seconds=10)
    dispatcher.dispatch_due()
    assert _statuses(session, campaign.id, run.id) == ("running", "running")
    clock.advance(seconds=10)
    dispatcher.dispatch_due()
    assert _statuses(session, campaign.id, run.id) == ("failed", "failed")
