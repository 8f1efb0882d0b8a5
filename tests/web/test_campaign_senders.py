"""Choosing an email sender account for a campaign: the form and the API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaigns.models import Campaign
from tests.conftest import make_config
from tests.web.test_api import Api


@pytest.fixture
def config(tmp_path, db_url):
    (tmp_path / "config.toml").write_text('''
[channels.email.senders.offers]
from_address = "Shop Offers <offers@shop.example>"
label = "Offers team"
''')
    return make_config(tmp_path, db_url)


@pytest.fixture
def api(client, api_token):
    return Api(client, api_token("marketer"))


@pytest.fixture
def email_template(api) -> int:
    made = api.post("/templates", json={"name": "Sale", "channel": "email", "subject": "Sale", "html": "<p>Hi</p>"})
    assert made.status_code == 201, made.json
    return made.json["id"]


def test_the_form_offers_the_senders_and_keeps_the_choice(logged_in_client, email_template, session):
    page = logged_in_client.get("/campaigns/new").get_data(as_text=True)
    assert 'name="sender"' in page and "Offers team (offers@shop.example)" in page
    response = logged_in_client.post("/campaigns/new", data={"name": "Offers", "channel": "email",
                                                             "template_id": email_template, "sender": "offers"})
    assert response.status_code == 303
    assert session.scalars(select(Campaign.sender)).one() == "offers"


def test_the_form_refuses_an_unknown_sender_by_name(logged_in_client, email_template, session):
    response = logged_in_client.post("/campaigns/new", data={"name": "Offers", "channel": "email",
                                                             "template_id": email_template, "sender": "promo"})
    assert response.status_code == 422
    assert "promo" in response.get_data(as_text=True)
    assert session.scalars(select(Campaign)).all() == []


def test_the_api_sets_reads_and_changes_the_sender(api, email_template):
    created = api.post("/campaigns", json={"name": "Offers", "channel": "email", "template_id": email_template,
                                           "sender": "offers"})
    assert created.status_code == 201 and created.json["sender"] == "offers"
    unknown = api.patch(f"/campaigns/{created.json['id']}", json={"sender": "promo"})
    assert unknown.status_code == 422 and unknown.json["field"] == "sender"
    assert "[channels.email.senders.promo]" in unknown.json["message"]
    back = api.patch(f"/campaigns/{created.json['id']}", json={"sender": None})
    assert back.status_code == 200 and back.json["sender"] is None
