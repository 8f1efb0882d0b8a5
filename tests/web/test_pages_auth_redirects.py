"""After login, a language switch or an error, the browser is only ever sent to a path on this site."""

from __future__ import annotations

import pytest

from tests.web.conftest import PASSWORD

# Each is read by a browser as another site: tab, CR and LF are stripped from URLs before they are
# parsed, and a backslash counts as a slash.
FOREIGN = ["https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil.example", "/\r\n/evil.example",
           "/\n/evil.example", "\t//evil.example", "/%09/evil.example", "http:/evil.example", "/\x7f/evil.example",
           "javascript:alert(1)", "///evil.example"]


@pytest.mark.parametrize("target", FOREIGN)
def test_login_next_never_leads_to_another_site(client, make_user, target):
    user = make_user("marketer")
    response = client.post("/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "/%09/evil.example"), target


def test_login_next_with_a_tab_escape_in_the_raw_query_goes_home(client, make_user):
    """The reported attack, exactly as typed in the address bar: %09 decodes to a tab."""
    user = make_user("marketer")
    response = client.post("/login?next=/%09/evil.com", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/"
    assert client.get("/login?next=/%0d%0a/evil.com").headers["Location"] == "/"  # logged in: GET redirects


def test_login_next_keeps_a_path_on_this_site_with_its_query(client, make_user):
    user = make_user("marketer")
    response = client.post("/login", query_string={"next": "/campaigns?status=draft"},
                           data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/campaigns?status=draft"


@pytest.mark.parametrize("target", FOREIGN)
def test_the_language_switch_never_leads_to_another_site(logged_in_client, target):
    response = logged_in_client.post("/language", data={"locale": "en", "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] in ("/", "/%09/evil.example"), target


def test_an_error_page_goes_back_only_to_a_page_of_this_site(client, login):
    login(client, "marketer")
    refused = client.get("/users", headers={"Referer": "https://evil.example/phish"})
    assert refused.status_code == 403
    assert "evil.example" not in refused.get_data(as_text=True)
    refused = client.get("/users", headers={"Referer": "http://localhost/campaigns?x=1"})
    assert 'href="/campaigns?x=1"' in refused.get_data(as_text=True)
