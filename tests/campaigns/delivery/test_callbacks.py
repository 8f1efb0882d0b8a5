"""Provider callbacks move a message forward only, and are all kept as events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from campaigns import apply_channel_events
from channels import ChannelEvent
from tests.campaigns.factories import events_of, make_contact, make_dispatcher, messages_of, start_campaign


@pytest.fixture
def sent(backend, session, database, clock, channel):
    """One SMS the provider accepted: status sent, provider id P<id>, estimated cost."""
    make_contact(session, now=clock.now())
    start_campaign(session, now=clock.now())
    make_dispatcher(database, channel, clock).dispatch_due()
    (message,) = messages_of(session)
    assert message.status == "sent"
    return message


def status(session, message) -> str:
    return messages_of(session)[0].status if message else ""


def test_delivered_moves_a_sent_message_forward_with_the_time(session, clock, sent):
    at = clock.now() + timedelta(seconds=4)
    changed = apply_channel_events(session, [ChannelEvent("delivered", provider_id=sent.provider_id,
                                                          provider_status="delivered", occurred_at=at)],
                                   now=clock.advance(seconds=5))
    assert changed == 1
    (message,) = messages_of(session)
    assert (message.status, message.delivered_at) == ("delivered", at)


def test_a_late_sent_never_overwrites_delivered_but_is_kept_as_an_event(session, clock, sent):
    apply_channel_events(session, [ChannelEvent("delivered", message_id=sent.id, provider_status="delivered")],
                         now=clock.now())
    changed = apply_channel_events(session, [ChannelEvent("sent", message_id=sent.id, provider_status="sent")],
                                   now=clock.now())
    assert changed == 0
    assert status(session, sent) == "delivered"
    events = events_of(session, sent.id)
    assert [e.type for e in events] == ["sent", "delivered", "sent"]  # the first is the dispatcher's record
    assert [e.detail["status_moved"] for e in events[1:]] == [True, False]


def test_a_duplicate_callback_changes_nothing_and_is_visible(session, clock, sent):
    event = ChannelEvent("delivered", provider_id=sent.provider_id, provider_status="delivered")
    assert apply_channel_events(session, [event], now=clock.now()) == 1
    assert apply_channel_events(session, [event], now=clock.now()) == 0
    assert [e.type for e in events_of(session, sent.id)] == ["sent", "delivered", "delivered"]


def test_out_of_order_callbacks_in_one_call_end_at_the_highest_status(session, clock, sent):
    events = [ChannelEvent("delivered", message_id=sent.id), ChannelEvent("queued", message_id=sent.id),
              ChannelEvent("sent", message_id=sent.id)]
    assert apply_channel_events(session, events, now=clock.now()) == 1
    assert status(session, sent) == "delivered"


def test_a_failed_callback_records_the_carriers_code_and_words(session, clock, sent):
    apply_channel_events(session, [ChannelEvent("failed", provider_id=sent.provider_id, error_code="30006",
                                                error_reason="Landline or unreachable carrier",
                                                provider_status="undelivered")], now=clock.now())
    (message,) = messages_of(session)
    assert (message.status, message.error_code, message.error_reason) == (
        "failed", "30006", "Landline or unreachable carrier")
    assert message.sent_at is not None  # it was sent; the carrier did not deliver it


def test_the_providers_price_and_segments_replace_the_estimate(session, clock, sent):
    assert sent.cost == Decimal("0.0079")
    changed = apply_channel_events(session, [ChannelEvent("sent", provider_id=sent.provider_id, price=Decimal("0.0083"),
                                                          currency="usd", segments=2)], now=clock.now())
    assert changed == 1
    (message,) = messages_of(session)
    assert (message.cost, message.currency, message.segments) == (Decimal("0.0083"), "USD", 2)


def test_read_is_an_event_only(session, clock, sent):
    assert apply_channel_events(session, [ChannelEvent("read", message_id=sent.id)], now=clock.now()) == 0
    assert status(session, sent) == "sent"
    assert [e.type for e in events_of(session, sent.id)] == ["sent", "read"]


def test_a_callback_for_an_unknown_message_is_skipped(session, clock, sent):
    assert apply_channel_events(session, [ChannelEvent("delivered", provider_id="SMnope"),
                                          ChannelEvent("delivered", message_id=987654)], now=clock.now()) == 0
    assert status(session, sent) == "sent"


def test_an_unknown_message_takes_the_providers_word(backend, session, database, clock):
    from campaigns import release_expired_leases
    from campaigns.delivery.outbox import claim_due_messages

    make_contact(session, now=clock.now())
    start_campaign(session, now=clock.now())
    with database.session() as s:
        (mid,) = claim_due_messages(s, now=clock.now(), limit=1, lease_seconds=60)
        s.commit()
    release_expired_leases(session, now=clock.advance(seconds=61))
    assert messages_of(session)[0].status == "unknown"
    apply_channel_events(session, [ChannelEvent("delivered", message_id=mid, provider_id="SM9")], now=clock.now())
    (message,) = messages_of(session)
    assert (message.status, message.provider_id) == ("delivered", "SM9")


@pytest.mark.parametrize("first", ["callback", "lease_expiry"])
def test_a_failure_the_provider_reports_counts_the_message_as_sent_whatever_came_first(
        backend, session, database, clock, first):
    """The provider took the message (it has the provider's id and its word on it) and the carrier failed it;
    the sender died before recording the send. The row must say the provider took it (sent_at), as it does
    when the send is recorded: the report's Sent must not depend on whether the record landed. Found by
    tests/campaigns/results/test_report_reconciles.py."""
    from campaigns import campaign_report, release_expired_leases
    from campaigns.delivery.outbox import claim_due_messages
    from campaigns.results.report_settings import ReportSettings

    make_contact(session, now=clock.now())
    campaign, _ = start_campaign(session, now=clock.now())
    with database.session() as s:
        (mid,) = claim_due_messages(s, now=clock.now(), limit=1, lease_seconds=60)
        s.commit()
    failed = ChannelEvent("failed", message_id=mid, provider_id="SM7", provider_status="undelivered",
                          error_code="30003", error_reason="Unreachable destination handset")
    if first == "callback":
        apply_channel_events(session, [failed], now=clock.advance(seconds=1))
        release_expired_leases(session, now=clock.advance(seconds=61))
    else:
        release_expired_leases(session, now=clock.advance(seconds=61))
        apply_channel_events(session, [failed], now=clock.advance(seconds=1))
    (message,) = messages_of(session)
    assert (message.status, message.provider_id, message.error_code) == ("failed", "SM7", "30003")
    assert message.sent_at is not None
    report = campaign_report(session, campaign.id, ReportSettings("USD"))
    assert (report.total.sent, report.total.failed) == (1, 1)
