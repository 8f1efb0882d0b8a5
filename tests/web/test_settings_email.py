"""The settings page shows the email sender accounts and which bounce and complaint sources are on."""

from __future__ import annotations

import pytest

from tests.conftest import make_config


@pytest.fixture
def config(tmp_path, db_url):
    (tmp_path / "config.toml").write_text('''
[channels.email.senders.offers]
url = "smtp://offers:offers-secret-pw@smtp.shop.example:587?starttls=1"
from_address = "Shop Offers <offers@shop.example>"
label = "Offers team"

[channels.email.senders.broken]
url = "smtp://smtp.shop.example?startls=1"
from_address = "x@shop.example"
''')
    return make_config(tmp_path, db_url, HERALD_BOUNCES_SES_TOPIC_ARNS="arn:aws:sns:us-east-1:1:ses",
                       HERALD_BOUNCES_MAILBOX_URL="pop3s://bounces:mailbox-secret@pop.shop.example")


def test_senders_and_bounce_sources_are_listed_without_secrets(logged_in_client):
    page = logged_in_client.get("/settings").get_data(as_text=True)
    assert "Offers team" in page and "smtp://offers:****@smtp.shop.example:587?starttls=1" in page
    assert "unknown option &#34;startls&#34;" in page  # a sender that cannot work says why
    assert "/webhooks/ses" in page and "pop3s://bounces:****@pop.shop.example" in page
    assert "set [bounces] sendgrid_public_key to turn it on" in page
    assert "offers-secret-pw" not in page and "mailbox-secret" not in page
