"""First-run setup, login and logout, roles, CSRF and bearer tokens on the pages."""

from __future__ import annotations

import re

import pytest

from core.users import count_users, find_user_by_email
from tests.web.conftest import PASSWORD


def test_without_users_every_page_leads_to_setup(client):
    for path in ("/", "/contacts", "/campaigns", "/login", "/settings"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/setup"


def test_setup_creates_the_admin_logs_in_and_then_closes(client, database):
    response = client.post("/setup", data={"email": "Boss@Example.com", "name": "Boss", "password": "s3cret-pass",
                                           "password_again": "s3cret-pass"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    with database.session() as session:
        assert find_user_by_email(session, "boss@example.com").role == "admin"
    assert client.get("/").status_code == 200
    assert client.get("/setup").headers["Location"] == "/login"
    client.post("/setup", data={"email": "second@example.com", "password": "whatever12",
                                "password_again": "whatever12"})
    with database.session() as session:
        assert count_users(session) == 1


def test_setup_with_differing_passwords_keeps_the_email_and_says_why(client, database):
    response = client.post("/setup", data={"email": "boss@example.com", "password": "s3cret-pass",
                                           "password_again": "other-pass"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="boss@example.com"' in page
    assert "The two passwords differ" in page
    with database.session() as session:
        assert count_users(session) == 0


def test_setup_with_a_short_password_shows_the_rule_next_to_the_field(client):
    response = client.post("/setup", data={"email": "boss@example.com", "password": "short", "password_again": "short"})
    assert response.status_code == 422
    assert "at least 8 characters" in response.get_data(as_text=True)


def test_pages_need_a_login_and_come_back_after_it(client, make_user):
    user = make_user("marketer")
    response = client.get("/campaigns?x=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    response = client.post("/login?next=/campaigns", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/campaigns"


def test_a_wrong_password_is_refused_with_a_message(client, make_user):
    user = make_user("marketer")
    response = client.post("/login", data={"email": user.email, "password": "wrong"})
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_never_redirects_to_another_site(client, make_user):
    user = make_user("marketer")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post("/login", query_string={"next": target},
                               data={"email": user.email, "password": PASSWORD})
        assert response.headers["Location"] == "/", target
        client.post("/logout")


def test_logout_ends_the_session(logged_in_client):
    assert logged_in_client.get("/").status_code == 200
    assert logged_in_client.post("/logout").headers["Location"] == "/login"
    assert logged_in_client.get("/").status_code == 302


def test_remember_me_sets_a_lasting_cookie_and_without_it_there_is_none(app, login):
    remembered = app.test_client()
    login(remembered, "marketer", remember=True)
    assert remembered.get_cookie("remember_token") is not None
    forgotten = app.test_client()
    login(forgotten, "analyst")
    assert forgotten.get_cookie("remember_token") is None


def test_a_post_without_a_csrf_token_is_refused_and_with_it_accepted(csrf_client, make_user):
    user = make_user("marketer")
    login_page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    assert csrf_client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 400
    assert csrf_client.post("/login", data={"email": user.email, "password": PASSWORD,
                                            "csrf_token": token}).status_code == 302
    refused = csrf_client.post("/lists", data={"name": "VIP"})
    assert refused.status_code == 400
    assert "form had expired" in refused.get_data(as_text=True)
    page = csrf_client.get("/lists").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert csrf_client.post("/lists", data={"name": "VIP", "csrf_token": token}).status_code == 303


@pytest.mark.parametrize("path, data", [
    ("/lists", {"name": "VIP"}),
    ("/contacts/new", {"email": "ann@example.com"}),
    ("/templates/new?channel=sms", {"name": "Hi", "body": "Hello"}),
    ("/campaigns/new", {"name": "C", "channel": "sms", "template_id": "1"}),
    ("/campaigns/1/send", {}),
    ("/contacts/import", {}),
])
def test_an_analyst_can_read_but_every_post_is_refused_with_a_reason(client, login, path, data):
    login(client, "analyst")
    assert client.get("/contacts").status_code == 200
    response = client.post(path, data=data)
    assert response.status_code == 403
    assert "can look but not change anything" in response.get_data(as_text=True)


def test_an_analyst_sees_no_buttons_that_would_be_refused(client, login):
    login(client, "analyst")
    page = client.get("/contacts").get_data(as_text=True)
    assert "New contact" not in page and "Import CSV" not in page


def test_an_analyst_may_preview_a_template_and_switch_language(client, login):
    login(client, "analyst")
    assert client.post("/templates/preview", json={"channel": "sms", "body": "Hi"}).get_json()["ok"] is True
    assert client.post("/language", data={"locale": "zh_CN"}).status_code == 303


def test_the_users_page_is_for_admins_only(client, login):
    login(client, "marketer")
    assert client.get("/users").status_code == 403
    assert client.post("/users", data={"email": "x@example.com", "password": PASSWORD, "role": "admin"}).status_code \
        == 403
    assert 'href="/users"' not in client.get("/").get_data(as_text=True)


def test_an_admin_adds_a_user_and_issues_a_token_shown_once_that_logs_in_as_bearer(logged_in_client, app):
    response = logged_in_client.post("/users", data={"email": "ana@example.com", "name": "Ana", "role": "analyst",
                                                     "password": PASSWORD})
    assert response.status_code == 303
    listing = logged_in_client.get("/users").get_data(as_text=True)
    assert "ana@example.com" in listing
    response = logged_in_client.post("/users/token", data={"email": "ana@example.com"})
    assert response.headers["Cache-Control"] == "no-store"
    shown = response.get_data(as_text=True)
    token = re.search(r'id="api-token">([^<]+)<', shown).group(1).strip()
    assert token not in logged_in_client.get("/users").get_data(as_text=True)

    stranger = app.test_client()
    assert stranger.get("/contacts", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert stranger.get("/contacts", headers={"Authorization": "Bearer wrong"}).status_code == 302


def test_adding_a_user_with_a_taken_email_says_so_and_keeps_the_form(logged_in_client):
    response = logged_in_client.post("/users", data={"email": "admin@example.com", "name": "Again", "role": "marketer",
                                                     "password": PASSWORD})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "already exists" in page and 'value="Again"' in page


def test_pages_forbid_framing_and_foreign_scripts(logged_in_client):
    headers = logged_in_client.get("/").headers
    assert headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
