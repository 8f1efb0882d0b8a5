"""/api/v1/templates: create, read, change, preview; template errors name the part and the line."""

from __future__ import annotations

import pytest

from tests.web.test_api import Api

SMS = {"name": "Member day", "channel": "sms", "body": "Hi {{ contact.first_name }}, 20% off today!"}


@pytest.fixture
def api(client, api_token):
    return Api(client, api_token("marketer"))


def test_an_analyst_may_preview_since_it_changes_nothing(client, api_token):
    analyst = Api(client, api_token("analyst"))
    response = analyst.post("/templates/preview", json={"channel": "sms", "body": "Hi"})
    assert response.status_code == 200


def test_a_template_is_created_read_and_listed(api):
    created = api.post("/templates", json=SMS)
    assert created.status_code == 201, created.json
    template = created.json
    assert (template["name"], template["channel"], template["body"]) == (SMS["name"], "sms", SMS["body"])
    assert api.get(f"/templates/{template['id']}").json == template
    assert api.get("/templates").json["items"] == [template]


def test_a_template_update_changes_only_the_fields_given(api, clock):
    template = api.post("/templates", json=SMS).json
    clock.advance(minutes=5)
    response = api.put(f"/templates/{template['id']}", json={"body": "New text"})
    assert response.status_code == 200, response.json
    assert (response.json["name"], response.json["body"]) == (SMS["name"], "New text")
    assert api.get(f"/templates/{template['id']}").json["body"] == "New text"


def test_a_template_with_a_jinja_error_is_422_naming_the_part_and_line(api):
    response = api.post("/templates", json={"name": "Broken", "channel": "email", "subject": "Hello",
                                            "html": "<p>ok</p>\n<p>{{ contact.first_name </p>"})
    assert response.status_code == 422
    assert response.json["field"] == "html"
    assert response.json["line"] == 2
    assert api.get("/templates").json["items"] == []


def test_a_template_without_a_channel_is_422_naming_channel(api):
    response = api.post("/templates", json={"name": "No channel", "body": "Hi"})
    assert response.status_code == 422
    assert response.json["field"] == "channel"


@pytest.mark.parametrize("method", ["get", "put"])
def test_a_template_that_does_not_exist_is_404(api, method):
    kwargs = {"json": {"body": "x"}} if method == "put" else {}
    response = getattr(api, method)("/templates/404", **kwargs)
    assert response.status_code == 404
    assert response.json["error"] == "NotFound"


def test_a_preview_renders_for_the_contact_with_the_sms_size(api):
    contact = api.post("/contacts", json={"first_name": "芳", "last_name": "王", "phone": "+8613800138000"}).json
    response = api.post("/templates/preview", json={"channel": "sms", "body": "{{ contact.first_name }}您好，会员日8折",
                                                    "contact_id": contact["id"]})
    assert response.status_code == 200, response.json
    preview = response.json
    assert preview["body"] == "芳您好，会员日8折"
    assert preview["sms"]["encoding"] == "UCS-2"
    assert preview["sms"]["segments"] == 1
    assert preview["sms"]["characters"] == len("芳您好，会员日8折")


def test_a_preview_returns_the_pre_send_checks_naming_the_character_and_the_link(api):
    response = api.post("/templates/preview", json={
        "channel": "sms", "body": "Hi {{ contact.first_name }}, it’s member day: http://localhost:5000/offer"})
    assert response.status_code == 200, response.json
    found = {f["code"]: f for f in response.json["checks"]}
    assert set(found) == {"link_local", "sms_no_opt_out", "gsm7_forced_ucs2", "sms_segments"}
    assert found["link_local"]["level"] == "error" and "localhost" in found["link_local"]["message"]
    assert found["gsm7_forced_ucs2"]["values"]["characters"] == [
        {"character": "’", "name": "RIGHT SINGLE QUOTATION MARK (U+2019)", "position": 12, "replacement": "'"}]
    email = api.post("/templates/preview", json={"channel": "email", "subject": "FREE MONEY NOW",
                                                 "html": '<p>Hi</p><img src="https://x.example/a.png">'}).json
    assert [f["code"] for f in email["checks"]] == ["email_no_unsubscribe", "image_no_alt", "spam_caps",
                                                    "spam_phrases"]


def test_a_preview_for_a_missing_contact_is_404(api):
    response = api.post("/templates/preview", json={"channel": "sms", "body": "Hi", "contact_id": 12345})
    assert response.status_code == 404


def test_a_preview_with_a_contact_id_that_is_not_a_number_is_422(api):
    response = api.post("/templates/preview", json={"channel": "sms", "body": "Hi", "contact_id": "12"})
    assert response.status_code == 422
    assert response.json["field"] == "contact_id"
