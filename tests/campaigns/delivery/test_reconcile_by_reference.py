"""Unknown is asked about beyond Twilio (issue 12, item 5): SendGrid's Email Activity API and an http-sms gateway's
declared query endpoint find a message by Herald's own reference; a channel that cannot be asked keeps its rows
`unknown`, and the report says per channel what was resolved and how. Through the real channels and the fakes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from campaigns import release_expired_leases
from campaigns.delivery.outbox import claim_due_messages
from campaigns.delivery.reconcile import NOT_RECEIVED, reconcile_unknown
from campaigns.models import MessageEvent, Run
from channels import open_channel
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign
from tests.fakes.fake_http_sms import FakeHttpSms
from tests.fakes.fake_sendgrid import FakeSendGrid

SETTLED = 600


def unknown_rows_after_a_death_and_a_lost_answer(session, database, clock, channel, kind: str,
                                                 lose_next: Callable[[], None]) -> Any:
    """Four recipients: a sender claims the first and dies before handing it over (unknown, the provider never
    got it); the next sender sends the rest and the provider keeps the second but its answer is lost (unknown,
    the provider has it). Returns the run."""
    for i in range(4):
        make_contact(session, now=clock.now(), phone=f"+1204555{i:04d}")
    _, run = start_campaign(session, now=clock.now(), channel=kind, guarantee="at_most_once")
    with database.session() as s:
        claim_due_messages(s, now=clock.now(), limit=1, lease_seconds=60)
        s.commit()
    clock.advance(seconds=61)
    release_expired_leases(session, now=clock.now())
    lose_next()
    dispatcher = make_dispatcher(database, {kind: channel}, clock)
    for _ in range(5):
        while dispatcher.dispatch_due():
            pass
        clock.advance(seconds=3600)
    assert [m.status for m in messages_of(session, run.id)] == ["unknown", "unknown", "sent", "sent"]
    return run


def run_notes(session, run_id: int) -> str:
    session.expire_all()
    notes = session.get(Run, run_id).notes or ""
    session.commit()
    return notes


def reconciled(session) -> list[dict]:
    session.expire_all()
    details = [e.detail for e in session.scalars(select(MessageEvent).where(MessageEvent.type == "reconciled")
                                                 .order_by(MessageEvent.message_id))]
    session.commit()
    return details


def test_unknown_emails_are_settled_by_sendgrids_email_activity_by_custom_arg(backend, session, database, clock):
    with FakeSendGrid() as fake:
        channel = open_channel(fake.channel_url())
        try:
            run = unknown_rows_after_a_death_and_a_lost_answer(session, database, clock, channel, "email",
                                                               lambda: fake.lose_answers(1))
            clock.advance(seconds=SETTLED)
            result = reconcile_unknown(session, make_dispatcher(database, {"email": channel}, clock), now=clock.now(),
                                       settled_seconds=SETTLED)
        finally:
            channel.close()
        kept = {m["personalizations"][0]["to"][0]["email"]: m for m in fake.messages}
        queries = fake.activity_queries

    rows = messages_of(session, run.id)
    assert (result.sent, result.not_received, result.unresolved, result.cannot_ask) == (1, 1, 0, 0)
    assert [(m.status, m.error_code) for m in rows[:2]] == [("failed", NOT_RECEIVED), ("sent", None)]
    assert rows[1].provider_id == kept[rows[1].address]["x_message_id"]  # the id its event webhooks carry
    assert len(kept) == 3 and rows[0].address not in kept  # nothing resent, nothing doubled
    assert f"unique_args['herald_message_id']=\"{rows[1].id}\"" in queries[-1] or any(
        f"unique_args['herald_message_id']=\"{rows[1].id}\"" in q for q in queries)
    how = "https-email: SendGrid's Email Activity API, by to_email and the custom arg herald_message_id"
    assert result.by_channel() == [f"email, asked through {how}: 1 found (now sent), 1 never received (failed)"]
    assert f"1 found at the provider (now sent), 1 never received by it (failed, not resent) — asked through {how}" \
        in run_notes(session, run.id)
    assert [d["outcome"] for d in reconciled(session)] == [NOT_RECEIVED, "sent"]


def test_without_email_activity_access_unknown_emails_stay_unknown_and_the_report_says_so(session, database, clock):
    with FakeSendGrid(activity_access=False) as fake:
        channel = open_channel(fake.channel_url())
        try:
            run = unknown_rows_after_a_death_and_a_lost_answer(session, database, clock, channel, "email",
                                                               lambda: fake.lose_answers(1))
            clock.advance(seconds=SETTLED)
            result = reconcile_unknown(session, make_dispatcher(database, {"email": channel}, clock), now=clock.now(),
                                       settled_seconds=SETTLED)
        finally:
            channel.close()
    assert (result.resolved, result.unresolved) == (0, 2)
    assert [m.status for m in messages_of(session, run.id)][:2] == ["unknown", "unknown"]
    assert result.by_channel()[0].endswith(": 2 still unknown")


def test_unknown_sms_are_settled_by_the_gateways_query_endpoint_by_reference(backend, session, database, clock):
    with FakeHttpSms() as fake:
        channel = open_channel(fake.channel_url(**fake.query_channel_options()))
        try:
            run = unknown_rows_after_a_death_and_a_lost_answer(session, database, clock, channel, "sms",
                                                               lambda: fake.lose_answers(1, "drop"))
            clock.advance(seconds=SETTLED)
            result = reconcile_unknown(session, make_dispatcher(database, {"sms": channel}, clock), now=clock.now(),
                                       settled_seconds=SETTLED)
        finally:
            channel.close()
        kept = {m["phone"]: m for m in fake.messages}

    rows = messages_of(session, run.id)
    assert (result.sent, result.not_received, result.unresolved) == (1, 1, 0)
    assert [(m.status, m.error_code) for m in rows] == [("failed", NOT_RECEIVED), ("sent", None), ("sent", None),
                                                       ("sent", None)]
    assert rows[1].provider_id == kept[rows[1].address]["msgId"]
    assert kept[rows[1].address]["ref"] == str(rows[1].id)
    assert rows[0].address not in kept and len(kept) == 3
    assert result.by_channel() == ["sms, asked through http-sms: the gateway's query endpoint, by Herald's reference "
                                   "(ref_field): 1 found (now sent), 1 never received (failed)"]


def test_a_gateway_without_a_query_endpoint_keeps_its_unknown_rows_and_the_report_says_it_cannot_be_asked(
        session, database, clock):
    with FakeHttpSms() as fake:
        channel = open_channel(fake.channel_url())
        try:
            run = unknown_rows_after_a_death_and_a_lost_answer(session, database, clock, channel, "sms",
                                                               lambda: fake.lose_answers(1, "drop"))
            clock.advance(seconds=SETTLED)
            result = reconcile_unknown(session, make_dispatcher(database, {"sms": channel}, clock), now=clock.now(),
                                       settled_seconds=SETTLED)
        finally:
            channel.close()
    assert (result.resolved, result.cannot_ask) == (0, 2)
    assert [m.status for m in messages_of(session, run.id)][:2] == ["unknown", "unknown"]
    assert result.by_channel() == ["sms, asked through nothing (http-sms: its provider keeps no list Herald can ask): "
                                   "2 cannot be asked, so they stay unknown"]


@pytest.mark.parametrize(("options", "error"), [
    ({"query_url": "/sms/query", "query_status_field": "data.0.status"}, "has query_url but no ref_field"),
    ({"ref_field": "ref", "query_url": "/sms/query"}, "no query_status_field"),
    ({"query_status_field": "status"}, "has query_status_field but no query_url"),
    ({"ref_field": "ref", "query_url": "ftp://x/q", "query_status_field": "s"}, "write a path on the gateway"),
])
def test_a_query_endpoint_is_declared_whole_or_refused_naming_the_fix(options, error):
    from channels import ChannelConfigError

    with FakeHttpSms() as fake, pytest.raises(ChannelConfigError, match=error):
        open_channel(fake.channel_url(**options))
