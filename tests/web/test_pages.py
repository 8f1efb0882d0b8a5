"""Every page renders with data; contacts, lists, import and templates through their forms."""

from __future__ import annotations

import re

import pytest

import campaigns
from audiences import add_to_list, create_contact, create_list


@pytest.fixture
def data(database, clock):
    """Two contacts (one on a list), an SMS and an email template, a draft campaign."""
    now = clock.now()
    with database.session() as session:
        ann = create_contact(session, default_region="US", now=now, email="ann@example.com", first_name="Ann",
                             last_name="Lee", phone="+12015550101", attributes={"tier": "A"})
        wang = create_contact(session, default_region="CN", now=now, phone="13800138000", first_name="芳",
                              last_name="王")
        vip = create_list(session, "VIP", "best customers")
        add_to_list(session, vip.id, [ann.id])
        sms = campaigns.create_template(session, name="Hello SMS", channel="sms", body="Hi {{ contact.first_name }}",
                                        now=now)
        email = campaigns.create_template(session, name="News", channel="email", subject="News for {{ contact.name }}",
                                          html="<p>Hello</p>", now=now)
        campaign = campaigns.create_campaign(session, name="Spring SMS", channel="sms", template_id=sms.id,
                                             list_id=vip.id, now=now)
        return {"ann": ann.id, "wang": wang.id, "vip": vip.id, "sms": sms.id, "email": email.id,
                "campaign": campaign.id}


def test_every_page_renders_with_data(backend, logged_in_client, data):
    pages = {
        "/": "Spring SMS",
        "/contacts": "ann@example.com",
        f"/contacts/{data['ann']}": "tier",
        "/contacts/new": "Custom fields",
        "/lists": "VIP",
        "/contacts/import": "CSV file",
        "/templates": "Hello SMS",
        f"/templates/{data['sms']}": "Hi {{ contact.first_name }}",
        f"/templates/{data['email']}": "News for",
        "/templates/new?channel=sms": "Message text",
        "/campaigns": "Spring SMS",
        "/campaigns/new": "Hello SMS",
        f"/campaigns/{data['campaign']}": "Send now",
        "/reports": "Reports",
        "/settings": "log://",
        "/users": "admin@example.com",
    }
    for path, expected in pages.items():
        response = logged_in_client.get(path)
        assert response.status_code == 200, path
        assert expected in response.get_data(as_text=True), path


def test_empty_pages_say_what_to_do_next(logged_in_client):
    assert "import a CSV" in logged_in_client.get("/contacts").get_data(as_text=True)
    assert "No templates yet" in logged_in_client.get("/templates").get_data(as_text=True)
    assert "No campaigns yet" in logged_in_client.get("/campaigns").get_data(as_text=True)
    assert "No lists yet" in logged_in_client.get("/lists").get_data(as_text=True)


def test_a_missing_contact_or_page_is_a_friendly_404(logged_in_client):
    assert logged_in_client.get("/no/such/page").status_code == 404
    response = logged_in_client.get("/contacts/999", headers={"Referer": "/contacts"})
    assert response.status_code == 303  # domain NotFound: flashed on the page the user came from
    assert "contact 999 does not exist" in logged_in_client.get("/contacts").get_data(as_text=True)


def test_the_contact_page_shows_its_lists_and_custom_attributes(logged_in_client, data):
    page = logged_in_client.get(f"/contacts/{data['ann']}").get_data(as_text=True)
    assert f'href="/contacts?list={data["vip"]}"' in page
    assert "<dt>tier</dt><dd>A</dd>" in page


def test_contacts_are_searched_and_filtered_by_list(logged_in_client, data):
    page = logged_in_client.get("/contacts", query_string={"q": "王"}).get_data(as_text=True)
    assert "+8613800138000" in page and "ann@example.com" not in page
    page = logged_in_client.get("/contacts", query_string={"list": data["vip"]}).get_data(as_text=True)
    assert "ann@example.com" in page and "+8613800138000" not in page
    assert "No contacts match" in logged_in_client.get("/contacts?q=nobody").get_data(as_text=True)


def test_contacts_are_paginated(logged_in_client, database, clock):
    with database.session() as session:
        for n in range(55):
            create_contact(session, default_region="US", now=clock.now(), email=f"p{n}@example.com")
    first = logged_in_client.get("/contacts").get_data(as_text=True)
    assert "1–50 of 55" in first and "page=2" in first
    second = logged_in_client.get("/contacts?page=2").get_data(as_text=True)
    assert "51–55 of 55" in second and "p0@example.com" in second


def test_a_contact_is_created_through_the_form(logged_in_client):
    response = logged_in_client.post("/contacts/new", data={"first_name": "Mei", "email": "MEI@example.com",
                                                            "attributes": "tier: B\n城市：上海"})
    assert response.status_code == 303
    page = logged_in_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "mei@example.com" in page and "上海" in page and "Contact Mei created" in page


def test_a_bad_contact_shows_the_error_next_to_the_field_and_keeps_the_input(logged_in_client):
    response = logged_in_client.post("/contacts/new", data={"first_name": "Mei", "email": "not-an-email"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="f-email" name="email" value="not-an-email"', page)
    assert 'class="form-row has-error"' in page and "is not a valid email address" in page
    assert 'value="Mei"' in page


def test_a_custom_attribute_line_without_a_name_is_refused_on_its_line(logged_in_client):
    response = logged_in_client.post("/contacts/new", data={"email": "a@example.com",
                                                            "attributes": "tier: A\nno colon"})
    assert response.status_code == 422
    assert "Line 2 of the custom attributes" in response.get_data(as_text=True)


def test_a_list_is_created_and_a_duplicate_name_is_refused_in_the_form(logged_in_client):
    assert logged_in_client.post("/lists", data={"name": "Fair 2026"}).status_code == 303
    assert "Fair 2026" in logged_in_client.get("/lists").get_data(as_text=True)
    response = logged_in_client.post("/lists", data={"name": "Fair 2026"})
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)


# The import pages are tested in tests/web/audiences/test_pages_imports.py.


def test_a_template_is_created_and_edited(logged_in_client):
    response = logged_in_client.post("/templates/new?channel=sms", data={"name": "Greeting",
                                                                         "body": "Hi {{ contact.first_name }}"})
    assert response.status_code == 303
    edit_url = response.headers["Location"]
    response = logged_in_client.post(edit_url, data={"name": "Greeting 2", "body": "Hello {{ contact.name }}"})
    assert response.status_code == 303
    page = logged_in_client.get(edit_url).get_data(as_text=True)
    assert 'value="Greeting 2"' in page and "Hello {{ contact.name }}" in page


def test_a_template_save_error_is_shown_at_its_field_with_the_line_and_keeps_the_input(logged_in_client):
    body = "Hello\n{{ contact.first_name }\nbye"
    response = logged_in_client.post("/templates/new?channel=sms", data={"name": "Broken", "body": body})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-error-for="body"' in page
    assert "Line 2" in page
    assert 'data-error-line="2"' in page
    assert "Hello\n{{ contact.first_name }\nbye</textarea>" in page
    assert 'value="Broken"' in page


def test_an_email_subject_error_is_shown_under_the_subject(logged_in_client):
    response = logged_in_client.post("/templates/new?channel=email", data={
        "name": "E", "subject": "Hi {{ contact.nosuchfield }}", "html": "<p>x</p>"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-error-for="subject"' in page and "nosuchfield" in page


def test_the_preview_renders_for_a_chosen_contact_and_counts_sms_segments(logged_in_client, data):
    answer = logged_in_client.post("/templates/preview", json={
        "channel": "sms", "body": "您好 {{ contact.first_name }}", "contact_id": data["wang"]}).get_json()
    assert answer["ok"] is True
    assert answer["preview"]["body"] == "您好 芳"
    assert answer["preview"]["sms"] == {"segments": 1, "encoding": "UCS-2", "characters": 4, "per_segment": 70,
                                        "remaining": 66}
    answer = logged_in_client.post("/templates/preview", json={
        "channel": "sms", "body": "x" * 161, "contact_id": data["ann"]}).get_json()
    assert answer["preview"]["sms"]["segments"] == 2 and answer["preview"]["sms"]["encoding"] == "GSM-7"


def test_the_preview_reports_a_template_error_with_its_line(logged_in_client, data):
    answer = logged_in_client.post("/templates/preview", json={"channel": "sms", "body": "a\n{% if %}"}).get_json()
    assert answer["ok"] is False
    assert answer["error"]["field"] == "body" and answer["error"]["line"] == 2


def test_the_preview_renders_email_html_and_derives_the_text(logged_in_client, data):
    answer = logged_in_client.post("/templates/preview", json={
        "channel": "email", "subject": "Hi {{ contact.first_name }}", "html": "<p>Dear {{ contact.name }}</p>",
        "contact_id": str(data["ann"])}).get_json()
    assert answer["preview"]["subject"] == "Hi Ann"
    assert "Dear Ann Lee" in answer["preview"]["html"] and "Dear Ann Lee" in answer["preview"]["text"]


def test_a_fields_extra_attributes_reach_the_input_as_attributes(app, logged_in_client, data):
    """They were once escaped whole: autocomplete="&#34;username&#34;" and max="&#34;720&#34;" did nothing."""
    login = app.test_client().get("/login").get_data(as_text=True)
    assert 'autocomplete="username" autofocus="autofocus"' in login
    experiment = logged_in_client.get(f"/campaigns/{data['campaign']}/experiment").get_data(as_text=True)
    assert re.search(r'<input type="number" id="f-wait_hours"[^>]* min="1" max="720"', experiment)
    assert "&#34;" not in login + experiment
