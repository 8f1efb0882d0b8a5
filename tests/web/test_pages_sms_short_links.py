"""The SMS template editor counts links as the short links they will be sent as when [tracking] sms_short_links
is on, and says so; with it off, the count and the page are as written."""

from __future__ import annotations

from dataclasses import replace

import pytest

BODY = "x" * 130 + " https://t.cn/a"  # one segment as written, two once the link is a short link


@pytest.fixture(params=[False, True], ids=["as-written", "short-links"])
def config(config, request):
    return replace(config, tracking=replace(config.tracking, sms_short_links=request.param))


def test_the_sms_editor_counts_links_as_they_will_be_sent(logged_in_client, config):
    shortened = config.tracking.sms_short_links
    page = logged_in_client.get("/templates/new?channel=sms").get_data(as_text=True)
    assert ("Links are counted as the short links they are sent as" in page) is shortened
    if shortened:
        assert f"{config.base_url.rstrip('/')}/l/" in page

    answer = logged_in_client.post("/templates/preview", json={"channel": "sms", "body": BODY}).get_json()
    assert answer["ok"], answer
    assert answer["preview"]["body"] == BODY
    assert (answer["preview"]["sms"]["segments"], answer["preview"]["short_links"]) == (
        (2, True) if shortened else (1, False))
