"""Campaign status and report: every count exact, money as Decimal summed in SQL, JSON-ready."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import event

from audiences import set_consent
from campaigns import (
    CampaignStatus,
    apply_channel_events,
    campaign_report,
    campaign_status,
    campaign_statuses,
    cancel_campaign,
)
from campaigns.models import MESSAGE_STATUSES
from campaigns.results.report_settings import ReportSettings
from channels import Accepted, ChannelEvent
from core.errors import NotFound
from tests.campaigns.factories import (
    ScriptedChannel,
    make_contact,
    make_dispatcher,
    messages_of,
    refuse,
    start_campaign,
)

USD = ReportSettings("USD")  # reports in US dollars, no other currency converted


def test_a_report_counts_each_outcome_groups_failures_and_sums_cost_per_currency(backend, session, database, clock):
    now = clock.now()
    delivered = [make_contact(session, now=now) for _ in range(3)]
    undelivered = make_contact(session, now=now)
    invalid = [make_contact(session, now=now) for _ in range(2)]
    blocked = make_contact(session, now=now)
    in_euros = make_contact(session, now=now)
    make_contact(session, now=now, phone=None)  # suppressed: no phone
    opted_out = make_contact(session, now=now)
    set_consent(session, opted_out.id, "sms", "unsubscribed", source="test", now=now)
    campaign, run = start_campaign(session, now=now)

    answers = {c.phone: refuse(permanent=True, code="21211", reason="Invalid 'To' Phone Number") for c in invalid}
    answers[blocked.phone] = refuse(permanent=True, code="21610", reason="Attempt to send to unsubscribed recipient")
    answers[in_euros.phone] = lambda m: Accepted(m.message_id, "SMeur", segments=1, cost=Decimal("0.05"),
                                                 currency="EUR")
    make_dispatcher(database, ScriptedChannel(answers), clock).dispatch_due()
    by_contact = {m.contact_id: m for m in messages_of(session, run.id)}
    apply_channel_events(session, [ChannelEvent("delivered", message_id=by_contact[c.id].id) for c in delivered]
                         + [ChannelEvent("failed", message_id=by_contact[undelivered.id].id, error_code="30003",
                                         error_reason="Unreachable destination handset")], now=clock.now())

    report = campaign_report(session, campaign.id, USD)
    assert (report.recipients, report.sent, report.delivered, report.failed) == (10, 5, 3, 4)
    assert (report.suppressed, report.unknown, report.cancelled, report.pending, report.sending) == (2, 0, 0, 0, 0)
    assert [(f.code, f.reason, f.count) for f in report.failures] == [
        ("21211", "Invalid 'To' Phone Number", 2),
        ("21610", "Attempt to send to unsubscribed recipient", 1),
        ("30003", "Unreachable destination handset", 1),
    ]
    # 4 accepted at the 0.0079 estimate in USD (the undelivered one was charged too), 1 at 0.05 EUR
    assert report.cost_by_currency == {"USD": Decimal("0.0316"), "EUR": Decimal("0.05")}
    assert all(isinstance(total, Decimal) for total in report.cost_by_currency.values())
    assert (report.channel, report.status, report.dry_run) == ("sms", "completed", False)
    assert report.started_at == now and report.finished_at == clock.now()

    data = json.loads(json.dumps(report.to_dict()))
    assert Decimal(data["cost"]["USD"]) == Decimal("0.0316")
    assert data["failures"][0] == {"code": "21211", "reason": "Invalid 'To' Phone Number", "count": 2}
    assert data["finished_at"] == clock.now().isoformat()


def test_status_counts_every_status_in_one_group_by(backend, session, database, clock):
    for _ in range(4):
        make_contact(session, now=clock.now())
    make_contact(session, now=clock.now(), phone=None)
    campaign, _ = start_campaign(session, now=clock.now(), dry_run=True)
    make_dispatcher(database, ScriptedChannel(), clock, batch_size=1).dispatch_due()
    cancel_campaign(session, campaign.id, now=clock.now())
    status = campaign_status(session, campaign.id)
    assert list(status.counts) == list(MESSAGE_STATUSES)
    assert {k: v for k, v in status.counts.items() if v} == {"sent": 1, "cancelled": 3, "suppressed": 1}
    assert (status.total, status.dry_run, status.status) == (5, True, "cancelled")
    assert json.loads(json.dumps(status.to_dict()))["counts"]["cancelled"] == 3
    report = campaign_report(session, campaign.id, USD)
    assert (report.recipients, report.sent, report.cancelled, report.dry_run) == (5, 1, 3, True)


def test_a_draft_campaign_reports_zeros_and_a_missing_one_is_not_found(session, clock):
    from campaigns import create_campaign, create_template

    template = create_template(session, name="T", channel="sms", body="Hi", now=clock.now())
    campaign = create_campaign(session, name="Draft", channel="sms", template_id=template.id, now=clock.now())
    report = campaign_report(session, campaign.id, USD).to_dict()
    assert (report["recipients"], report["cost"], report["started_at"], report["status"]) == (0, {}, None, "draft")
    with pytest.raises(NotFound):
        campaign_status(session, 4040)


def test_statuses_of_many_campaigns_take_the_same_few_queries_as_one(backend, session, database, clock):
    from campaigns import create_campaign, create_template

    for _ in range(3):
        make_contact(session, now=clock.now())
    make_contact(session, now=clock.now(), phone=None)
    sent, _ = start_campaign(session, now=clock.now())
    make_dispatcher(database, ScriptedChannel(), clock, batch_size=2).dispatch_due()
    dry, _ = start_campaign(session, now=clock.now(), dry_run=True)
    cancel_campaign(session, dry.id, now=clock.now())
    template = create_template(session, name="Draft T", channel="sms", body="Hi", now=clock.now())
    drafts = [create_campaign(session, name=f"Draft {n}", channel="sms", template_id=template.id, now=clock.now())
              for n in range(3)]
    ids = [sent.id, dry.id, *(d.id for d in drafts)]

    def statements_for(campaign_ids):
        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        with database.session() as s:
            event.listen(database.engine, "before_cursor_execute", record)
            try:
                statuses = campaign_statuses(s, campaign_ids)
            finally:
                event.remove(database.engine, "before_cursor_execute", record)
        return statuses, [st for st in statements if st.lstrip().upper().startswith("SELECT")]

    one, one_statements = statements_for(ids[:1])
    many, many_statements = statements_for([*ids, 4040])

    assert len(one_statements) == len(many_statements) == 2
    assert list(one) == [sent.id] and set(many) == set(ids)  # 4040 names no campaign: left out
    assert all(many[i] == campaign_status(session, i) for i in ids)
    assert {k: v for k, v in many[sent.id].counts.items() if v} == {"sent": 2, "pending": 1, "suppressed": 1}
    assert (many[sent.id].total, many[sent.id].status, many[sent.id].dry_run) == (4, "running", False)
    assert (many[dry.id].counts["cancelled"], many[dry.id].status, many[dry.id].dry_run) == (3, "cancelled", True)
    assert many[drafts[0].id] == CampaignStatus(drafts[0].id, "draft", dict.fromkeys(MESSAGE_STATUSES, 0), 0, False)
    assert campaign_statuses(session, []) == {}
