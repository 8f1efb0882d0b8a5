"""An SMS channel's length limit (issue 12, item 7): Twilio refuses over 1,600 characters (21617), and a
gateway bills per segment. A template over the limit cannot be saved; a message that renders over it
(a huge custom field) fails with the reason and is never sent, while the rest of the campaign goes out."""

from __future__ import annotations

import pytest

from campaigns import create_template, update_template
from channels import ChannelConfigError, open_channel
from core.errors import Invalid
from tests.campaigns.factories import events_of, make_contact, make_dispatcher, messages_of, start_campaign
from tests.fakes.fake_twilio import FakeTwilio


def test_a_message_that_renders_over_the_channels_limit_fails_with_the_reason_and_is_never_sent(
        backend, session, database, clock):
    make_contact(session, now=clock.now(), phone="+12015550001", note="see you soon")
    make_contact(session, now=clock.now(), phone="+12015550002", note="x" * 200_000)  # a 200 KB custom field
    make_contact(session, now=clock.now(), phone="+12015550003", note="bring a friend")
    _, run = start_campaign(session, now=clock.now(), body="Hi {{ contact.first_name }}, {{ contact.note }}")
    with FakeTwilio() as fake:
        channel = open_channel(fake.channel_url())
        try:
            make_dispatcher(database, {"sms": channel}, clock).dispatch_due()
        finally:
            channel.close()

    assert sorted(r["To"] for r in fake.requests) == ["+12015550001", "+12015550003"]  # never sent
    rows = {m.address: m for m in messages_of(session, run.id)}
    assert [rows[p].status for p in ("+12015550001", "+12015550002", "+12015550003")] == ["sent", "failed", "sent"]
    too_long = rows["+12015550002"]
    assert too_long.error_code == "too_long"
    assert "200,008 characters" in too_long.error_reason and "at most 1,600" in too_long.error_reason
    assert [e.type for e in events_of(session, too_long.id)] == ["failed"]


def test_the_limit_is_counted_on_the_rendered_text_and_a_message_at_the_limit_is_sent(
        backend, session, database, clock):
    make_contact(session, now=clock.now(), phone="+12015550001", note="y" * 95)
    _, run = start_campaign(session, now=clock.now(), body="{{ contact.note }}12345")
    with FakeTwilio() as fake:
        channel = open_channel(fake.channel_url(max_length="100"))
        try:
            make_dispatcher(database, {"sms": channel}, clock).dispatch_due()
        finally:
            channel.close()
    assert [m.status for m in messages_of(session, run.id)] == ["sent"]
    assert len(fake.messages[0]["body"]) == 100


def test_an_sms_template_over_the_channels_limit_cannot_be_saved(backend, session, clock):
    with pytest.raises(Invalid) as caught:
        create_template(session, name="Long", channel="sms", body="x" * 20_000, now=clock.now(), sms_max_length=1600)
    assert caught.value.field == "body"
    assert "at most 1,600 characters" in caught.value.message and "20,000" in caught.value.message
    template = create_template(session, name="Fits", channel="sms", body="x" * 1600, now=clock.now(),
                               sms_max_length=1600)
    with pytest.raises(Invalid, match="at most 1,600 characters"):
        update_template(session, template.id, now=clock.now(), body="x" * 1601, sms_max_length=1600)
    # An email template is not an SMS: the SMS channel's limit does not apply to it.
    create_template(session, name="Mail", channel="email", subject="Hi", html="x" * 20_000, now=clock.now(),
                    sms_max_length=1600)


@pytest.mark.parametrize(("url", "expected"), [
    ("twilio://AC1:token@default?from=%2B15005550006", 1600),
    ("twilio://AC1:token@default?from=%2B15005550006&max_length=480", 480),
    ("http-sms://gateway.example.com/send?max_length=670", 670),
    ("http-sms://gateway.example.com/send", None),
    ("log://var/outbox", None),
])
def test_a_channel_declares_its_length_limit_and_the_url_can_change_it(url, expected):
    assert open_channel(url).max_length == expected


def test_a_length_limit_that_is_not_a_whole_number_is_refused_naming_the_option():
    with pytest.raises(ChannelConfigError, match="max_length='lots' must be a whole number of characters"):
        open_channel("twilio://AC1:token@default?from=%2B15005550006&max_length=lots")
