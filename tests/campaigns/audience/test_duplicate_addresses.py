"""Duplicate CRM rows: two contacts with the same phone number (or email) get one message between them in a run;
the other row says why and is counted in the report and the estimate."""

from __future__ import annotations

from decimal import Decimal

from audiences import set_consent
from campaigns import campaign_report, create_campaign, create_template, estimate_campaign
from campaigns.results.report_settings import ReportSettings
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign


def _send(session, database, scripted, clock, **campaign):
    campaign, run = start_campaign(session, now=clock.now(), **campaign)
    dispatcher = make_dispatcher(database, scripted, clock)
    while dispatcher.dispatch_due():
        pass
    return campaign, {m.contact_id: m for m in messages_of(session, run.id)}


def test_two_contacts_with_one_phone_number_get_one_sms(backend, session, database, channel, clock):
    first = make_contact(session, now=clock.now(), phone="+8613800138000")
    again = make_contact(session, now=clock.now(), phone="+8613800138000")
    other = make_contact(session, now=clock.now(), phone="+8613800138001")
    third = make_contact(session, now=clock.now(), phone="+8613800138000")

    campaign, rows = _send(session, database, channel, clock)

    assert sorted(m.to for m in channel.sent) == ["+8613800138000", "+8613800138001"]
    assert (rows[first.id].status, rows[other.id].status) == ("sent", "sent")
    for duplicate in (again, third):
        row = rows[duplicate.id]
        assert (row.status, row.error_code) == ("duplicate", "duplicate_address")
        assert row.error_reason.startswith(f"same phone number as contact {first.id}, who is sent this message instead")
    report = campaign_report(session, campaign.id, ReportSettings("USD"))
    assert report.count("duplicate") == 2
    assert report.to_dict()["summary"]["duplicate"] == 2
    assert dict(report.funnel())["Reachable"] == 2
    assert report.total.audience == 4 and report.total.sent == 2


def test_an_email_in_another_case_is_the_same_address(backend, session, database, channel, clock):
    first = make_contact(session, now=clock.now(), email="Wang.Fang@Example.CN")
    again = make_contact(session, now=clock.now(), email="wang.fang@example.cn")

    _, rows = _send(session, database, channel, clock, channel="email")

    assert [m.to for m in channel.sent] == ["Wang.Fang@Example.CN"]
    assert rows[again.id].status == "duplicate"
    assert rows[again.id].error_reason.startswith(f"same email address as contact {first.id}, who is sent this")


def test_the_contact_who_can_be_sent_to_keeps_the_message(backend, session, database, channel, clock):
    opted_out = make_contact(session, now=clock.now(), phone="+12015550123")
    reachable = make_contact(session, now=clock.now(), phone="+12015550123")
    set_consent(session, opted_out.id, "sms", "unsubscribed", source="test", now=clock.now())

    _, rows = _send(session, database, channel, clock)

    assert (rows[opted_out.id].status, rows[reachable.id].status) == ("suppressed", "sent")


def test_the_estimate_counts_duplicates_as_materialisation_does(backend, session, clock):
    for _ in range(3):
        make_contact(session, now=clock.now(), phone="+12015550199")
    make_contact(session, now=clock.now(), phone="+12015550100")
    template = create_template(session, name="T", channel="sms", body="Hi", now=clock.now())
    campaign = create_campaign(session, name="Draft", channel="sms", template_id=template.id, now=clock.now())
    estimate = estimate_campaign(session, campaign.id, now=clock.now(), price=Decimal("0.01"), currency="USD",
                                 rate="10/second")
    assert (estimate.audience, estimate.sendable, estimate.excluded) == (4, 2, {"duplicate_address": 2})
