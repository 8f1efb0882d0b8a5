"""Settings (readable by every role) and the API show channel URLs with every credential masked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns.responses.inbox_models import ChannelHealth
from tests.conftest import make_config

ALIYUN = "aliyun-access-key-s3cret"
API_KEY = "SG.k3y-0f-the-acc0unt"


@pytest.fixture
def config(tmp_path, db_url):
    sms = (f"http-sms://sms.example.com/send?extra.AccessKeyId=LTAI5t&extra.AccessKeySecret={ALIYUN}"
           "&to_field=PhoneNumbers&text_field=Text")
    # rate=fast: this URL cannot work, and its error must not quote the key it starts with.
    return make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL=sms,
                       HERALD_CHANNELS_EMAIL_URL=f"https-email://{API_KEY}@api.sendgrid.com?rate=fast")


def test_an_analyst_reads_settings_without_any_credential(backend, client, login):
    login(client, "analyst")
    page = client.get("/settings").get_data(as_text=True)
    assert "extra.AccessKeyId=LTAI5t" in page and "extra.AccessKeySecret=****" in page
    assert "is not a rate" in page  # the email channel's error is shown ...
    assert ALIYUN not in page and API_KEY not in page  # ... without the key


def test_a_provider_pause_stored_before_masking_is_shown_masked(backend, client, login, session, clock):
    # The breaker keeps the describe() of the channel that failed; rows written by an older Herald
    # still hold extra.* secrets in clear.
    session.add(ChannelHealth(channel="sms", state="open", consecutive_failures=5, last_error="HTTP 503",
                              provider=f"http-sms://sms.example.com/send?extra.AccessKeySecret={ALIYUN}",
                              opened_at=clock.now(), next_try_at=clock.now() + timedelta(minutes=5)))
    session.commit()
    login(client, "analyst")
    page = client.get("/").get_data(as_text=True)
    assert "extra.AccessKeySecret=****" in page and ALIYUN not in page
