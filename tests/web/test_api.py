"""The API's shared behaviour (bearer tokens, roles, bad bodies) and the contacts and lists endpoints."""

from __future__ import annotations

import io

import pytest

from core.login_sessions import start_login_session
from core.users import find_user_by_email, issue_api_token


# ---------------------------------------------------------------- helpers (app, client, api_token: conftest.py)
@pytest.fixture
def api(client, api_token):
    """The test client with a marketer's token on every request."""
    return Api(client, api_token("marketer"))


class Api:
    """A test client that sends `Authorization: Bearer <token>` and prefixes /api/v1."""

    def __init__(self, client, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method: str):
        def call(path: str, **kwargs):
            return getattr(self.client, method)("/api/v1" + path, headers=self.headers, **kwargs)

        return call


# ---------------------------------------------------------------- auth
def test_a_request_without_a_token_is_401_json_and_says_how_to_get_one(client):
    response = client.get("/api/v1/contacts")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["error"] == "Unauthorized"
    assert "herald user token" in response.json["message"]


@pytest.mark.parametrize("header", ["Bearer not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer "])
def test_a_bad_or_foreign_authorization_header_is_401(client, api_token, header):
    api_token("marketer")  # a real token exists; the one sent is not it
    response = client.get("/api/v1/lists", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json["error"] == "Unauthorized"
    if header == "Bearer not-a-real-token":
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]  # RFC 6750 §3.1


def test_a_replaced_token_stops_working(client, api_token, database):
    old = api_token("marketer")
    with database.session() as session:
        issue_api_token(session, find_user_by_email(session, "marketer@example.com"))
    assert client.get("/api/v1/lists", headers={"Authorization": f"Bearer {old}"}).status_code == 401


def test_an_analyst_token_reads_but_is_refused_writes_and_nothing_is_written(client, api_token):
    analyst = Api(client, api_token("analyst"))
    assert analyst.get("/lists").status_code == 200
    response = analyst.post("/lists", json={"name": "VIP"})
    assert response.status_code == 403
    assert response.json["error"] == "Forbidden"
    assert "analyst" in response.json["message"]
    assert analyst.get("/lists").json["items"] == []


def test_the_api_ignores_a_logged_in_browser_session_so_csrf_exemption_is_safe(csrf_client, admin_user, database,
                                                                                 clock):
    """The API skips CSRF, so a cookie must never be enough: another site could post with it."""
    with database.session() as session:  # a login, as /login starts one
        admin_user.login_token = start_login_session(session, admin_user.id, now=clock.now())
    with csrf_client.session_transaction() as cookie:  # what Flask-Login keeps after a login
        cookie["_user_id"] = admin_user.get_id()
        cookie["_fresh"] = True
    assert csrf_client.get("/").status_code == 200  # the cookie does log the browser in to the pages
    assert csrf_client.post("/api/v1/lists", json={"name": "forged"}).status_code == 401


def test_an_unknown_path_or_method_answers_json(api, client):
    assert api.get("/nope").json["error"] == "NotFound"
    response = api.delete("/lists")
    assert response.status_code == 405
    assert response.json["message"] == "DELETE is not allowed on /api/v1/lists; use GET, POST"
    assert client.get("/webhooks/twilio/status/1").json["error"] == "MethodNotAllowed"


# ---------------------------------------------------------------- bodies
def test_a_body_that_is_not_json_is_400_naming_the_problem(api):
    response = api.post("/lists", data="{name: VIP", content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"] == "MalformedRequest"
    assert "not valid JSON" in response.json["message"]


def test_a_json_array_body_is_400(api):
    response = api.post("/lists", json=["VIP"])
    assert response.status_code == 400
    assert "JSON list" in response.json["message"]


def test_a_missing_field_is_422_naming_the_field(api):
    response = api.post("/lists", json={"description": "no name"})
    assert response.status_code == 422
    assert response.json == {"error": "Invalid", "message": "name is required", "field": "name"}


def test_an_unknown_field_is_422_naming_it_rather_than_ignored(api):
    response = api.post("/lists", json={"name": "VIP", "colour": "red"})
    assert response.status_code == 422
    assert response.json["field"] == "colour"
    assert "known fields: name, description" in response.json["message"]


def test_a_field_of_the_wrong_type_is_422(api):
    response = api.post("/lists", json={"name": 42})
    assert response.status_code == 422
    assert response.json["field"] == "name"
    assert "must be a string" in response.json["message"]


# ---------------------------------------------------------------- contacts
def test_a_contact_is_created_normalised_and_read_back(api):
    created = api.post("/contacts", json={"name": "王芳", "phone": "+86 138 0013 8000", "country": "CN",
                                          "attributes": {"tier": "A"}})
    assert created.status_code == 201, created.json
    contact = created.json
    assert contact["phone"] == "+8613800138000"  # stored in E.164
    assert contact["attributes"] == {"tier": "A"}
    assert contact["created_at"] == "2026-01-05T09:00:00+00:00"  # the app's clock, not the wall clock
    assert api.get(f"/contacts/{contact['id']}").json == contact


def test_a_contact_with_a_bad_email_is_422_naming_email(api):
    response = api.post("/contacts", json={"email": "not-an-address"})
    assert response.status_code == 422
    assert response.json["field"] == "email"


@pytest.mark.parametrize("body, field", [({"email": "a@example.com", "birthday": 19900401}, "birthday"),
                                         ({"email": "a@example.com", "attributes": ["A"]}, "attributes"),
                                         ({"email": "a@example.com", "now": "2020-01-01"}, "now")])
def test_a_contact_field_of_the_wrong_shape_is_422_naming_it(api, body, field):
    response = api.post("/contacts", json=body)
    assert response.status_code == 422
    assert response.json["field"] == field


def test_a_contact_that_does_not_exist_is_404_json(api):
    response = api.get("/contacts/999")
    assert response.status_code == 404
    assert response.json["error"] == "NotFound"
    assert "999" in response.json["message"]


def test_contacts_are_paged_and_searched(api):
    for n in range(5):
        assert api.post("/contacts", json={"email": f"person{n}@example.com"}).status_code == 201
    page = api.get("/contacts?per_page=2&page=2").json
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (5, 2, 2, 2)
    found = api.get("/contacts?search=person3").json
    assert [c["email"] for c in found["items"]] == ["person3@example.com"]


@pytest.mark.parametrize("query, field", [("per_page=501", "per_page"), ("per_page=0", "per_page"),
                                          ("page=0", "page"), ("page=two", "page"), ("list_id=x", "list_id")])
def test_paging_outside_the_limits_is_422_naming_the_parameter(api, query, field):
    response = api.get(f"/contacts?{query}")
    assert response.status_code == 422
    assert response.json["field"] == field


def test_an_import_with_bad_rows_answers_200_with_each_rejected_row_and_reason(api):
    csv = (b"email,phone,name\n"
           b"ann@example.com,,Ann Lee\n"
           b"not-an-email,,Bad Email\n"
           b",,Nobody\n"
           b"bob@example.com,+12015550123,Bob\n")
    response = api.post("/contacts/import", data={"file": (io.BytesIO(csv), "people.csv"), "list_name": "Imported"},
                        content_type="multipart/form-data")
    assert response.status_code == 200, response.json
    report = response.json
    assert report["imported"] == 2
    assert report["rejected_count"] == 2
    assert [row["row"] for row in report["rejected"]] == [3, 4]
    assert "not-an-email" in report["rejected"][0]["reason"]
    assert report["rejected"][0]["values"]["email"] == "not-an-email"
    lists = api.get("/lists").json["items"]
    assert [(item["id"], item["name"], item["members"]) for item in lists] == [(report["list_id"], "Imported", 2)]


def test_an_import_without_a_file_is_422_naming_file(api):
    response = api.post("/contacts/import", data={"list_name": "x"}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.json["field"] == "file"


# ---------------------------------------------------------------- lists
def test_a_list_is_created_and_listed_with_its_member_count(api):
    created = api.post("/lists", json={"name": "VIP 客户", "description": "tier A"})
    assert created.status_code == 201
    assert created.json["members"] == 0
    assert api.get("/lists").json["items"] == [created.json]


def test_a_duplicate_list_name_is_422_naming_name(api):
    assert api.post("/lists", json={"name": "VIP"}).status_code == 201
    response = api.post("/lists", json={"name": "VIP"})
    assert response.status_code == 422
    assert response.json["field"] == "name"
    assert "already exists" in response.json["message"]
