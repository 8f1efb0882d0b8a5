"""Several email sender accounts: a campaign chooses one, and its mail leaves through that account only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaigns import ChannelUnavailable, create_campaign, create_template, send_campaign_now, update_campaign
from campaigns.delivery.outgoing import list_unsubscribe
from campaigns.delivery.sender import make_dispatcher, open_configured_channels
from campaigns.models import Message
from channels import ChannelConfigError, RateLimiter
from core.config import ConfigError
from core.errors import Invalid
from tests.campaigns.factories import make_contact
from tests.conftest import make_config
from tests.fakes.fake_smtp import FakeSmtp


@pytest.fixture
def relays():
    with FakeSmtp() as main, FakeSmtp() as offers:
        yield main, offers


@pytest.fixture
def sender_config(tmp_path, db_url, relays):
    main, offers = relays
    (tmp_path / "config.toml").write_text(f'''
[channels.email]
unsubscribe_mailbox = "unsubscribe@shop.example"

[bounces]
mailbox_url = "imaps://bounces:pw@imap.shop.example/INBOX"

[channels.email.senders.offers]
url = "{offers.url}"
from_address = "Shop Offers <offers@shop.example>"
label = "Offers team"

[channels.email.senders.care]
from_address = "Customer Care <care@shop.example>"
''')
    return make_config(tmp_path, db_url, HERALD_CHANNELS_EMAIL_URL=f"{main.url}?from=News <news@shop.example>")


def campaign_with(session, now, sender=None, channel="email"):
    if channel == "email":
        template = create_template(session, name="T", channel="email", subject="Hi", html="<p>Hi</p>", now=now)
    else:
        template = create_template(session, name="T", channel="sms", body="Hi", now=now)
    return create_campaign(session, name=f"C {sender}", channel=channel, template_id=template.id, now=now,
                           sender=sender)


def test_each_campaign_leaves_through_its_own_sender_account(backend, session, clock, database, sender_config,
                                                             relays):
    main, offers = relays
    now = clock.now()
    make_contact(session, now=now, email="ann@example.com", phone=None)
    for sender in (None, "offers", "care"):
        send_campaign_now(session, campaign_with(session, now, sender).id, config=sender_config, now=now)
    channels = open_configured_channels(sender_config)
    try:
        assert set(channels) == {"email", "sms", "email:offers", "email:care"}
        make_dispatcher(sender_config, database, channels, RateLimiter("memory://"), clock).dispatch_due()
    finally:
        for channel in channels.values():
            channel.close()
    assert {m.status for m in session.scalars(select(Message))} == {"sent"}
    assert sorted(str(m.message["From"]) for m in main.messages) == [
        "Customer Care <care@shop.example>", "News <news@shop.example>"]  # care has no url: the main relay
    assert [str(m.message["From"]) for m in offers.messages] == ["Shop Offers <offers@shop.example>"]
    unsubscribe = str(offers.messages[0].message["List-Unsubscribe"])
    assert unsubscribe.startswith("<http://127.0.0.1:8000/u/")
    assert "<mailto:unsubscribe@shop.example?subject=unsubscribe%20" in unsubscribe
    assert offers.messages[0].message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_sender_that_is_not_configured_stops_send_now_with_the_fix(backend, session, clock, sender_config):
    campaign = campaign_with(session, clock.now(), "promotions")
    with pytest.raises(ChannelUnavailable, match=r"\[channels.email.senders.promotions\]"):
        send_campaign_now(session, campaign.id, config=sender_config, now=clock.now())


def test_a_sender_is_for_email_campaigns_only(backend, session, clock):
    with pytest.raises(Invalid, match="email sender account") as refused:
        campaign_with(session, clock.now(), "offers", channel="sms")
    assert refused.value.field == "sender"
    campaign = campaign_with(session, clock.now(), "offers")
    assert update_campaign(session, campaign.id, now=clock.now(), sender="").sender is None


def test_list_unsubscribe_offers_https_then_mailto_with_the_signed_token():
    assert list_unsubscribe("https://h.example/u/7/abc", "", "secret", 7) == "<https://h.example/u/7/abc>"
    header = list_unsubscribe("https://h.example/u/7/abc", "unsub@h.example", "secret", 7)
    assert header.startswith("<https://h.example/u/7/abc>, <mailto:unsub@h.example?subject=unsubscribe%207.")


@pytest.mark.parametrize(("toml", "words"), [
    ('[channels.email]\nunsubscribe_mailbox = "unsubscribe"', "bare address"),
    ('[channels.email]\nunsubscribe_mailbox = "unsubscribe@shop.example"', "mailbox_url is not"),
    ('[channels.email.senders."Big Offers"]\nfrom_address = "o@shop.example"', "sender names"),
    ("[channels.email.senders.empty]\nlabel = \"x\"", "url, from_address or both"),
    ('[channels.email.senders.offers]\nfrom = "o@shop.example"', "keys url, from_address and label only"),
])
def test_email_settings_that_cannot_work_stop_start_up_with_the_fix(tmp_path, db_url, toml, words):
    (tmp_path / "config.toml").write_text(toml + "\n")
    with pytest.raises(ConfigError, match=words):
        make_config(tmp_path, db_url)


def test_a_sender_url_that_cannot_work_names_its_table(tmp_path, db_url):
    (tmp_path / "config.toml").write_text('[channels.email.senders.offers]\nurl = "smtp://h.example?startls=1"\n')
    where = r"\[channels.email.senders.offers\] url$"
    with pytest.raises(ChannelConfigError, match=r"email sender offers: .*startls.*" + where):
        open_configured_channels(make_config(tmp_path, db_url))
