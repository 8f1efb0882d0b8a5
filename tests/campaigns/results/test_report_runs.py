"""Each firing of a recurring campaign is a Run with its own report: the campaign report's By run table
and one run's report, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from campaigns import campaign_report, send_campaign
from campaigns.models import Message
from campaigns.results.report_runs import run_report, run_reports
from campaigns.results.report_settings import ReportSettings
from core.errors import NotFound
from tests.campaigns.factories import make_contact
from tests.campaigns.test_firing import fire, scheduled, utc

USD = ReportSettings("USD")  # reports in US dollars, no other currency converted


def mark(session, run_id: int, *statuses: tuple[str, bool]) -> None:
    """Give the run's messages these (status, taken by the provider) in id order."""
    ids = list(session.scalars(select(Message.id).where(Message.run_id == run_id).order_by(Message.id)))
    for message_id, (status, taken) in zip(ids, statuses, strict=False):
        session.execute(update(Message).where(Message.id == message_id).values(
            status=status, sent_at=utc(2027, 3, 1) if taken else None, cost=Decimal("0.0075") if taken else None,
            currency="USD" if taken else None, error_code="21211" if status == "failed" else None,
            error_reason="invalid To" if status == "failed" else None))
    session.commit()


def test_each_run_of_a_recurring_campaign_has_its_own_figures_in_the_report(session, backend):
    now = utc(2027, 3, 1, 9)
    for _ in range(4):
        make_contact(session, now=now)
    campaign = scheduled(session, now, {"kind": "recurring", "cron": "0 10 * * *", "max_runs": 5})
    first = fire(session, campaign, utc(2027, 3, 1, 10)).run
    mark(session, first.id, ("delivered", True), ("delivered", True), ("failed", True), ("failed", False))
    make_contact(session, now=now)  # the second run's snapshot has one more person
    second = fire(session, campaign, utc(2027, 3, 2, 10)).run
    mark(session, second.id, ("sent", True), ("unknown", False), ("cancelled", False))

    report = campaign_report(session, campaign.id, USD)
    newest, oldest = report.runs
    assert (newest.run_id, oldest.run_id) == (second.id, first.id)
    assert (oldest.recipients, oldest.sent, oldest.delivered, oldest.failed, oldest.waiting, oldest.not_sent) \
        == (4, 3, 2, 2, 0, 1)
    assert (newest.recipients, newest.sent, newest.delivered, newest.failed, newest.count("unknown"),
            newest.waiting, newest.not_sent) == (5, 1, 0, 0, 1, 2, 1)
    assert oldest.cost == {"USD": Decimal("0.0225")}
    # The runs add up to the campaign.
    assert sum(r.recipients for r in report.runs) == report.recipients == 9
    assert sum(r.sent for r in report.runs) == report.sent
    assert sum(r.delivered for r in report.runs) == report.delivered
    assert sum(r.failed for r in report.runs) == report.failed

    tables = {key: (title, columns, rows) for key, title, columns, rows in report.tables()}
    title, columns, rows = tables["runs"]
    assert title == "By run" and columns[:8] == ["Run", "Occasion", "Fired at", "Status", "Recipients", "Sent",
                                                 "Delivered", "Failed"]
    assert rows[1][:8] == [first.id, first.occasion_key, "2027-03-01 10:00 UTC", first.status, 4, 3, 2, 2]
    as_json = report.to_dict()["runs"]
    assert [r["run_id"] for r in as_json] == [second.id, first.id]
    assert as_json[1]["cost"] == {"USD": "0.0225"} and as_json[0]["fired_at"] == "2027-03-02T10:00:00+00:00"

    one = run_report(session, campaign.id, first.id)
    assert one.failures == [("21211", "invalid To", 2)] and one.recipients == 4
    assert run_reports(session, campaign.id, run_id=second.id)[0].recipients == 5
    with pytest.raises(NotFound, match=f"campaign {campaign.id} has no run {second.id + 1}"):
        run_report(session, campaign.id, second.id + 1)
    with pytest.raises(NotFound):  # a run of another campaign is not this campaign's
        run_report(session, campaign.id + 1, first.id)


def test_a_campaign_sent_once_has_no_by_run_table(session, backend):
    from campaigns import create_campaign, create_template

    now = utc(2027, 3, 1, 9)
    make_contact(session, now=now)
    template = create_template(session, name="T", channel="sms", body="Hi", now=now)
    campaign = create_campaign(session, name="Once", channel="sms", template_id=template.id, now=now)
    send_campaign(session, campaign.id, now=now, channel_description="log://", dry_run=True)
    report = campaign_report(session, campaign.id, USD)
    assert report.runs == [] and "runs" not in {key for key, *_ in report.tables()}
    assert report.to_dict()["runs"] == []
    assert len(run_reports(session, campaign.id)) == 1  # its one run is still reported on its own
