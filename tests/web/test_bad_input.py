"""Input that used to crash a request (a 500) is a 4xx with a message: ids beyond 64 bits, numbers no column
holds, JSON nested past reason, template expressions nested past Jinja's stack, a schedule's zone that is not
text, and a `next=` or Referer that cannot be a Location."""

from __future__ import annotations

import pytest

from campaigns import create_campaign, create_template

HUGE_ID = "176560039781137697996800"


@pytest.fixture
def api(client, api_token):
    headers = {"Authorization": f"Bearer {api_token('marketer')}"}

    def call(method: str, path: str, **kwargs):
        return getattr(client, method)("/api/v1" + path, headers=headers, **kwargs)

    return call


@pytest.fixture
def campaign_id(session, clock) -> int:
    template = create_template(session, name="T", channel="sms", body="Hi", now=clock.now())
    campaign = create_campaign(session, name="C", channel="sms", template_id=template.id, now=clock.now())
    session.commit()
    return campaign.id


@pytest.mark.parametrize(("method", "path"), [
    ("get", f"/campaigns/{HUGE_ID}/status"), ("delete", f"/tags/{HUGE_ID}"), ("get", f"/templates/{HUGE_ID}"),
    ("patch", f"/campaigns/{HUGE_ID}"), ("post", f"/contacts/{HUGE_ID}/consent"),
    ("get", f"/campaigns/{2**63}/runs/1/report"),
])
def test_an_id_beyond_64_bits_in_a_path_is_a_404(backend, api, method, path):
    response = api(method, path, json={})
    assert response.status_code == 404 and response.json["error"] == "NotFound"


def test_a_number_no_column_holds_is_a_400_naming_the_field(backend, api, campaign_id):
    response = api("put", f"/campaigns/{campaign_id}/tracking", json={"attribution_window_days": 10**32})
    assert response.status_code == 400
    assert response.json["field"] == "attribution_window_days" and "33 digits" in response.json["message"]
    response = api("post", "/campaigns", json={"name": "x", "channel": "sms", "template_id": -(10**40)})
    assert response.status_code == 400 and response.json["field"] == "template_id"
    response = api("post", "/segments/count", data='{"rules": {"all": [{"field": "email", "op": "eq", '
                                                   '"value": 1e999}]}}', content_type="application/json")
    assert response.status_code == 400 and "not a finite number" in response.json["message"]


def deep_rules(levels: int) -> dict:
    rules: dict = {"all": []}
    node = rules
    for _ in range(levels):
        child: dict = {"all": []}
        node["all"].append(child)
        node = child
    return rules


def test_deeply_nested_json_is_a_400(api):
    deep = "[" * 100_000 + "]" * 100_000
    response = api("post", "/segments", data=deep, content_type="application/json")
    assert response.status_code == 400 and "nests deeper than 32 levels" in response.json["message"]
    response = api("post", "/segments", json={"name": "Deep", "rules": deep_rules(100)})
    assert response.status_code == 400 and response.json["field"] == "rules"


def test_deeply_nested_segment_rules_on_the_editor_page_are_refused_with_a_message(logged_in_client):
    response = logged_in_client.post("/segments/new", data={"name": "Deep", "rules": "[" * 50_000 + "]" * 50_000})
    assert response.status_code == 422 and "nests deeper than 32 levels" in response.get_data(as_text=True)
    deep = '{"rules": ' + '{"all": [' * 2000 + "]}" * 2000 + "}"  # past what json.dumps itself could write
    response = logged_in_client.post("/segments/preview", data=deep, content_type="application/json")
    assert response.status_code == 200 and not response.json["ok"]
    assert "nests deeper" in response.json["error"]["message"]


@pytest.mark.parametrize("body", [
    "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}",
    "{{ 1" + " + 1" * 20_000 + " }}",
    "{% if true %}" * 1000 + "x" + "{% endif %}" * 1000,
])
def test_deeply_nested_template_expressions_are_a_400(api, body):
    for path, extra in (("/templates/preview", {}), ("/templates", {"name": "Deep"})):
        response = api("post", path, json={"channel": "sms", "body": body, **extra})
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        assert response.json["field"] == "body" and "nested too deeply" in response.json["message"]


def test_a_template_page_save_with_deep_nesting_re_renders_with_the_reason(logged_in_client):
    response = logged_in_client.post("/templates/new?channel=sms", data={
        "name": "Deep", "channel": "sms", "body": "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}"})
    assert response.status_code in (400, 422) and "nested too deeply" in response.get_data(as_text=True)


def test_a_schedule_zone_that_is_not_text_is_a_422(backend, api, campaign_id):
    response = api("put", f"/campaigns/{campaign_id}/schedule", json={"schedule": {
        "kind": "at", "send_at": "2030-01-01T09:00", "time_zone": [None, None]}})
    assert response.status_code == 422 and response.json["field"] == "time_zone"


@pytest.mark.parametrize("target", ["/contacts\r\nSet-Cookie: x=1", "/\t/evil.com", "/%0d%0a", "//evil.com"])
def test_the_language_switch_sends_only_to_a_path_here(logged_in_client, target):
    response = logged_in_client.post("/language", data={"locale": "en", "next": target})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location in ("/", target) and "\n" not in location and "\t" not in location and "evil" not in location


def test_an_error_goes_back_only_to_a_referer_on_this_site(logged_in_client):
    # An unknown campaign is a NotFound raised in the view: the page flashes it and goes back where the user
    # came from — but only to a page of this site.
    for referer, expected in [("http://localhost/campaigns?page=2", "/campaigns?page=2"),
                              ("https://evil.example/x", "/"), ("http://localhost/x\tz", "/")]:
        response = logged_in_client.post("/campaigns/999999/submit", headers={"Referer": referer})
        assert response.status_code == 303
        assert response.headers["Location"] == expected


def test_an_unknown_or_empty_query_filter_is_refused_not_ignored(api):
    response = api("get", "/templates?chanel=sms")
    assert response.status_code == 422 and response.json["field"] == "chanel"
    assert "known: channel" in response.json["message"]
    response = api("get", "/templates?channel=")
    assert response.status_code == 422 and response.json["field"] == "channel"
    assert api("get", "/templates?channel=sms").status_code == 200


@pytest.mark.parametrize(("field", "value", "words"), [
    ("name", "N" * 201, "at most 200 characters"),
    ("cap_messages", 2**40, "use 0 to 1000"),
    ("cap_days", 2**40, "use 1 to 3650"),
])
def test_a_campaign_field_past_its_column_is_a_422_not_a_database_error(backend, api, session, clock, field, value,
                                                                         words):
    # PostgreSQL refuses a 201-character name or a 2**40 cap in its columns; the check must come first.
    template = create_template(session, name="T", channel="sms", body="Hi", now=clock.now())
    session.commit()
    response = api("post", "/campaigns", json={"name": "C", "channel": "sms", "template_id": template.id,
                                               field: value})
    assert response.status_code == 422 and response.json["field"] == field and words in response.json["message"]


def test_a_filter_id_beyond_64_bits_is_a_422_naming_it(backend, api):
    for path in ("/contacts?segment_id=9223372036854775808", "/contacts/export?segment_id=9223372036854775808"):
        response = api("get", path)
        assert response.status_code == 422 and response.json["field"] == "segment_id"


@pytest.mark.parametrize("body", [
    "[" * 50_000 + "]" * 50_000,
    '["not", "an", "object"]',
    '{"channel": "sms", "body": "Hi", "contact_id": 176560039781137697996800}',
    '{"channel": "sms", "body": "Hi", "contact_id": {"id": 1}}',
    '{"channel": ["sms"], "body": "Hi"}',
])
def test_the_template_editors_live_preview_answers_bad_json_with_a_reason(logged_in_client, body):
    response = logged_in_client.post("/templates/preview", data=body, content_type="application/json")
    assert response.status_code == 200 and response.json["ok"] is False and response.json["error"]["message"]
