"""POST /api/v1/conversions (idempotent by order id) and /conversions/import, checked against the OpenAPI schemas."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from tests.campaigns import engagement_factories as f
from tests.web.test_api import Api
from tests.web.test_api_openapi import check_response

BOUGHT = "2026-01-04T10:00:00+08:00"


@pytest.fixture
def api(client, api_token):
    return Api(client, api_token("marketer"))


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").json


@pytest.fixture
def buyer(session, clock):
    return f.contact(session, now=datetime(2025, 1, 1, tzinfo=UTC), email="mei@example.com", external_id="M-1")


def test_the_same_order_twice_is_one_conversion(api, document, buyer, backend):
    first = api.post("/conversions", json={"order_id": "SO-1", "email": "mei@example.com", "amount": 128.5,
                                           "occurred_at": BOUGHT, "product": "Tea"})
    assert first.status_code == 201
    check_response(document, "/conversions", "post", first)
    assert first.json | {"id": 0, "created_at": ""} == {
        "id": 0, "order_id": "SO-1", "contact_id": buyer.id, "amount": "128.50", "currency": "USD",
        "amount_base": "128.50", "base_currency": "USD", "occurred_at": "2026-01-04T02:00:00+00:00",
        "product": "Tea", "category": "", "campaign_code": None, "campaign_id": None, "message_id": None,
        "attribution": "none", "source": "api", "created_at": "", "duplicate": False}
    again = api.post("/conversions", json={"order_id": "SO-1", "external_id": "M-1", "amount": "1"})
    assert again.status_code == 200
    check_response(document, "/conversions", "post", again)
    assert (again.json["id"], again.json["amount"], again.json["duplicate"]) == (first.json["id"], "128.50", True)


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"order_id": "1", "email": "mei@example.com", "amount": "5", "currency": "JPY"}, "currency",
     'currency "JPY" has no exchange rate'),
    ({"order_id": "1", "email": "nobody@example.com", "amount": "5"}, "external_id", "no contact has email"),
    ({"order_id": "1", "email": "mei@example.com", "amount": "5", "campaign_code": "X"}, "campaign_code",
     'campaign code "X" names no campaign'),
    ({"order_id": "1", "email": "mei@example.com", "amount": "5", "coupon": "X"}, "coupon", "not a field here"),
])
def test_refusals_name_the_field_and_the_fix(api, document, buyer, body, field, words):
    response = api.post("/conversions", json=body)
    assert response.status_code == 422
    check_response(document, "/conversions", "post", response)
    assert response.json["field"] == field and words in response.json["message"]


def test_an_analyst_may_not_record(client, api_token, buyer):
    response = Api(client, api_token("analyst")).post("/conversions", json={"order_id": "1", "amount": "1",
                                                                            "email": "mei@example.com"})
    assert response.status_code == 403


def test_import_reports_bad_rows(api, document, buyer):
    data = b"order_id,email,amount\nA,mei@example.com,10\nB,mei@example.com,ten\n"
    response = api.post("/conversions/import", data={"file": (io.BytesIO(data), "orders.csv")},
                        content_type="multipart/form-data")
    assert response.status_code == 200
    check_response(document, "/conversions/import", "post", response)
    assert (response.json["recorded"], response.json["rejected_count"]) == (1, 1)
    assert response.json["rejected"][0]["line"] == 3


def test_campaign_tracking_settings_read_and_change(api, document, session):
    campaign = f.campaign(session, now=datetime(2025, 1, 1, tzinfo=UTC))
    read = api.get(f"/campaigns/{campaign.id}/tracking")
    check_response(document, "/campaigns/{campaign_id}/tracking", "get", read)
    assert read.json == {"campaign_id": campaign.id, "code": None, "attribution_window_days": 7, "track_clicks": True,
                         "track_opens": False, "utm_source": "", "utm_medium": "", "utm_campaign": ""}
    changed = api.put(f"/campaigns/{campaign.id}/tracking", json={"code": "VIP9", "attribution_window_days": 3})
    check_response(document, "/campaigns/{campaign_id}/tracking", "put", changed)
    assert (changed.json["code"], changed.json["attribution_window_days"], changed.json["track_clicks"]) == (
        "VIP9", 3, True)
    for body, field in (({"track_clicks": "yes"}, "track_clicks"), ({"attribution_window_days": 365},
                                                                     "attribution_window_days")):
        refused = api.put(f"/campaigns/{campaign.id}/tracking", json=body)
        check_response(document, "/campaigns/{campaign_id}/tracking", "put", refused)
        assert refused.status_code == 422 and refused.json["field"] == field
    assert api.get("/campaigns/9999/tracking").status_code == 404
