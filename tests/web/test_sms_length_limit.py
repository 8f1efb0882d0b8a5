"""The SMS channel's length limit on the template page and API (issue 12, item 7): with Twilio as the SMS
channel, a template over 1,600 characters is refused with an error that names the limit."""

from __future__ import annotations

import pytest

from tests.conftest import make_config
from tests.web.test_api import Api

SMS_URL = "twilio://AC00000000000000000000000000000001:token@default?from=%2B15005550006"


@pytest.fixture
def config(tmp_path, db_url):
    return make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL=SMS_URL)


@pytest.fixture
def api(client, api_token):
    return Api(client, api_token("marketer"))


def test_the_api_refuses_an_sms_template_over_twilios_limit_naming_it(api):
    response = api.post("/templates", json={"name": "Long", "channel": "sms", "body": "x" * 20_000})
    assert response.status_code == 422
    assert response.json["field"] == "body"
    assert "at most 1,600 characters" in response.json["message"] and "20,000" in response.json["message"]
    assert api.get("/templates").json["items"] == []

    fits = api.post("/templates", json={"name": "Fits", "channel": "sms", "body": "x" * 1600})
    assert fits.status_code == 201
    longer = api.put(f"/templates/{fits.json['id']}", json={"body": "x" * 1601})
    assert longer.status_code == 422 and "at most 1,600 characters" in longer.json["message"]


def test_the_template_page_shows_the_limit_under_the_text_and_saves_nothing(logged_in_client):
    response = logged_in_client.post("/templates/new?channel=sms", data={"name": "Long", "body": "x" * 20_000})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-error-for="body"' in page and "at most 1,600 characters" in page
    assert "Long" not in logged_in_client.get("/templates").get_data(as_text=True)
