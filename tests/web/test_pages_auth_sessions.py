"""Logins the server can end: logout, a password or role change, deactivation and "log out everywhere"
stop every copy of the old session and remember-me cookies (issue 11, hole 3)."""

from __future__ import annotations

import pytest

from core.users import find_user_by_email, set_password, set_role, set_user_active
from tests.conftest import make_config
from tests.web.conftest import PASSWORD
from web.app import create_app


def _log_in(client, email: str, *, remember: bool = False) -> None:
    data = {"email": email, "password": PASSWORD, **({"remember": "on"} if remember else {})}
    assert client.post("/login", data=data).status_code == 302


def _copy(app, source, name: str):
    """A second browser holding a stolen copy of one cookie of `source`."""
    thief = app.test_client()
    thief.set_cookie(name, source.get_cookie(name).value)
    return thief


def _logged_in(client) -> bool:
    return client.get("/campaigns").status_code == 200


@pytest.mark.parametrize("cookie", ["session", "remember_token"])
def test_a_copied_cookie_stops_working_after_logout(app, client, make_user, backend, cookie):
    user = make_user("admin")
    _log_in(client, user.email, remember=True)
    thief = _copy(app, client, cookie)
    assert _logged_in(thief)

    client.post("/logout")

    assert not _logged_in(thief)
    assert not _logged_in(client)


def test_logging_out_in_one_browser_leaves_the_others_logged_in(app, make_user, backend):
    user = make_user("marketer")
    office, phone = app.test_client(), app.test_client()
    _log_in(office, user.email)
    _log_in(phone, user.email, remember=True)

    office.post("/logout")

    assert not _logged_in(office)
    assert _logged_in(phone)


def test_log_out_everywhere_ends_every_login_of_the_user_only(app, make_user, backend):
    user, colleague = make_user("marketer"), make_user("marketer")
    office, phone, stolen, other = (app.test_client() for _ in range(4))
    _log_in(office, user.email)
    _log_in(phone, user.email, remember=True)
    stolen = _copy(app, phone, "remember_token")
    _log_in(other, colleague.email)

    response = office.post("/logout/everywhere", follow_redirects=True)

    assert "logged out on every browser" in response.get_data(as_text=True)
    assert not _logged_in(office) and not _logged_in(phone) and not _logged_in(stolen)
    assert _logged_in(other)
    _log_in(office, user.email)  # and a new login works again
    assert _logged_in(office)


@pytest.mark.parametrize("change", [
    lambda session, user: set_password(session, user, "a brand new password"),
    lambda session, user: set_role(session, user, "analyst"),
    lambda session, user: set_user_active(session, user, False),
], ids=["password", "role", "deactivation"])
def test_a_password_role_or_active_change_ends_every_login(app, make_user, database, backend, change):
    user = make_user("admin")
    browser = app.test_client()
    _log_in(browser, user.email, remember=True)
    stolen = _copy(app, browser, "remember_token")

    with database.session() as session:
        change(session, find_user_by_email(session, user.email))

    assert not _logged_in(browser) and not _logged_in(stolen)


def test_a_deactivated_user_cannot_log_in_until_reactivated(client, make_user, database, backend):
    user = make_user("marketer")
    with database.session() as session:
        set_user_active(session, find_user_by_email(session, user.email), False)
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 401
    with database.session() as session:
        set_user_active(session, find_user_by_email(session, user.email), True)
    _log_in(client, user.email)
    assert _logged_in(client)


def test_a_login_ends_after_fourteen_days_even_if_remembered(app, client, make_user, clock):
    user = make_user("marketer")
    _log_in(client, user.email, remember=True)
    clock.advance(days=13)
    assert _logged_in(client)
    clock.advance(days=1, seconds=1)
    assert not _logged_in(client)


def test_an_old_style_cookie_with_only_the_user_id_is_not_a_login(app, client, make_user):
    user = make_user("admin")
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert not _logged_in(client)


def test_the_remember_cookie_lasts_fourteen_days_and_is_http_only_and_same_site(client, make_user):
    user = make_user("marketer")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "on"})
    remember = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    assert "Max-Age=1209600" in remember or "Expires=" in remember
    assert "HttpOnly" in remember and "SameSite=Lax" in remember
    assert client.get_cookie("remember_token").expires is not None
    session_cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Secure" not in session_cookie  # base_url is http here: a Secure cookie would never come back


def test_behind_https_the_login_cookies_are_secure(tmp_path, db_url, database, clock, make_user):
    app = create_app(make_config(tmp_path, db_url, HERALD_BASE_URL="https://herald.example.com"),
                     database=database, clock=clock)
    app.config["WTF_CSRF_ENABLED"] = False
    user = make_user("marketer")
    response = app.test_client().post("/login", base_url="https://herald.example.com",
                                      data={"email": user.email, "password": PASSWORD, "remember": "on"})
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=", 1)[0] for c in cookies if "; Secure" in c} >= {"session", "remember_token"}


def test_an_admin_changes_a_role_on_the_users_page_and_the_user_is_logged_out(app, make_user, database, backend):
    admin, marketer = make_user("admin"), make_user("marketer")
    admin_browser, marketer_browser = app.test_client(), app.test_client()
    _log_in(admin_browser, admin.email)
    _log_in(marketer_browser, marketer.email, remember=True)

    response = admin_browser.post(f"/users/{marketer.id}/role", data={"role": "analyst"}, follow_redirects=True)

    assert "logged out everywhere" in response.get_data(as_text=True)
    with database.session() as session:
        assert find_user_by_email(session, marketer.email).role == "analyst"
    assert not _logged_in(marketer_browser)
    assert _logged_in(admin_browser)


def test_an_admin_deactivates_and_reactivates_a_user_on_the_users_page(app, make_user, database, backend):
    admin, marketer = make_user("admin"), make_user("marketer")
    admin_browser, marketer_browser = app.test_client(), app.test_client()
    _log_in(admin_browser, admin.email)
    _log_in(marketer_browser, marketer.email)

    admin_browser.post(f"/users/{marketer.id}/active", data={"active": "0"})

    assert not _logged_in(marketer_browser)
    assert marketer_browser.post("/login", data={"email": marketer.email, "password": PASSWORD}).status_code == 401
    assert "deactivated" in admin_browser.get("/users").get_data(as_text=True)
    admin_browser.post(f"/users/{marketer.id}/active", data={"active": "1"})
    _log_in(marketer_browser, marketer.email)
    assert _logged_in(marketer_browser)


def test_an_admin_cannot_demote_or_deactivate_themselves(app, client, make_user, database):
    admin = make_user("admin")
    _log_in(client, admin.email)
    own = ((f"/users/{admin.id}/role", {"role": "analyst"}), (f"/users/{admin.id}/active", {"active": "0"}))
    for path, data in own:
        page = client.post(path, data=data, follow_redirects=True).get_data(as_text=True)
        assert "ask another admin" in page
    with database.session() as session:
        again = find_user_by_email(session, admin.email)
        assert again.role == "admin" and again.active
    assert _logged_in(client)


def test_only_admins_change_roles(app, client, make_user, database):
    marketer, other = make_user("marketer"), make_user("analyst")
    _log_in(client, marketer.email)
    assert client.post(f"/users/{other.id}/role", data={"role": "admin"}).status_code == 403
    with database.session() as session:
        assert find_user_by_email(session, other.email).role == "analyst"
