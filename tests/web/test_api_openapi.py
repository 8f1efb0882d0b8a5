"""The OpenAPI document matches the routes, and real responses match the documented schemas."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from tests.web.test_api import Api

PREFIX = "/api/v1"
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def api(client, api_token):
    return Api(client, api_token("marketer"))


@pytest.fixture
def document(app) -> dict[str, Any]:
    response = app.test_client().get(f"{PREFIX}/openapi.json")  # no token: clients read it before they have one
    assert response.status_code == 200
    return response.json


# ---------------------------------------------------------------- a small schema checker
def check(schema: dict[str, Any], value: Any, document: dict[str, Any], where: str = "$") -> None:
    """Types, required keys, no undocumented keys (unless allowed), enums, arrays, oneOf, $ref."""
    if "$ref" in schema:
        name = schema["$ref"].rpartition("/")[2]
        return check(document["components"]["schemas"][name], value, document, where)
    if "oneOf" in schema:
        matches = 0
        for option in schema["oneOf"]:
            try:
                check(option, value, document, where)
                matches += 1
            except AssertionError:
                pass
        assert matches == 1, f"{where}: {value!r} matches {matches} of the oneOf options"
        return None
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        python = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
                  "integer": int, "number": (int, float)}
        ok = any(isinstance(value, python[k]) and not (k in ("integer", "number") and isinstance(value, bool))
                 for k in kinds)
        assert ok, f"{where}: {value!r} is not {kinds}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if isinstance(value, dict) and "properties" in schema:
        missing = set(schema.get("required", [])) - set(value)
        assert not missing, f"{where}: missing required keys {sorted(missing)}"
        extra = set(value) - set(schema["properties"])
        assert schema.get("additionalProperties", True) is not False or not extra, \
            f"{where}: undocumented keys {sorted(extra)}"
        for key, sub in schema["properties"].items():
            if key in value:
                check(sub, value[key], document, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check(schema["items"], item, document, f"{where}[{i}]")
    return None


def check_response(document: dict[str, Any], path: str, method: str, response) -> None:
    operation = document["paths"][path][method]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{method.upper()} {path} answered {response.status_code}, which is not documented"
    check(documented["content"]["application/json"]["schema"], response.json, document, f"{method} {path}")


# ---------------------------------------------------------------- routes <-> document
def api_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(PREFIX):])
            routes |= {(path, m.lower()) for m in rule.methods if m.lower() in METHODS}
    return routes


def documented_routes(document) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_every_api_route_is_documented_and_every_documented_route_exists(app, document):
    routes = api_routes(app)
    assert len(routes) >= 18  # the walk found the API, not an empty map
    assert routes - documented_routes(document) == set(), "routes missing from the OpenAPI document"
    assert documented_routes(document) - routes == set(), "documented routes that do not exist"


def test_the_document_is_openapi_3_1_with_the_bearer_scheme_and_this_servers_url(document, config):
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http", "scheme": "bearer", "description": "from `herald user token EMAIL`"}
    assert document["security"] == [{"bearerToken": []}]
    assert document["servers"] == [{"url": config.base_url + PREFIX}]


def test_every_path_parameter_is_declared_and_every_ref_resolves(document):
    text = repr(document)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in document["components"]["schemas"], name
    for path, item in document["paths"].items():
        declared = {p["name"] for p in item.get("parameters", [])}
        for method in set(item) & METHODS:
            declared |= {p["name"] for p in item[method].get("parameters", []) if p["in"] == "path"}
            assert set(re.findall(r"{(\w+)}", path)) == declared, (path, method)
            assert "200" in item[method]["responses"] or "201" in item[method]["responses"] \
                or "202" in item[method]["responses"]


def test_every_protected_operation_documents_401(document):
    for path, item in document["paths"].items():
        for method in set(item) & METHODS:
            if item[method].get("security") != []:
                assert "401" in item[method]["responses"], (path, method)


# ---------------------------------------------------------------- real responses <-> schemas
def test_real_responses_match_the_documented_schemas(app, api, document):
    def seen(path: str, method: str, response) -> Any:
        check_response(document, path, method, response)
        return response.json

    contact = seen("/contacts", "post", api.post("/contacts", json={"name": "Ann Lee", "email": "ann@example.com",
                                                                    "birthday": "1990-04-01"}))
    seen("/contacts", "get", api.get("/contacts"))
    seen("/contacts/{contact_id}", "get", api.get(f"/contacts/{contact['id']}"))
    seen("/contacts/{contact_id}", "get", api.get("/contacts/9999"))
    seen("/contacts/import", "post", api.post(
        "/contacts/import", data={"file": (io.BytesIO(b"email\nbob@example.com\nnope\n"), "c.csv"),
                                  "list_name": "Imported"}, content_type="multipart/form-data"))
    seen("/contacts", "post", api.post("/contacts", json={"email": "bad"}))  # 422 Error
    seen("/contacts", "get", app.test_client().get(f"{PREFIX}/contacts"))  # 401 Error
    the_list = seen("/lists", "post", api.post("/lists", json={"name": "VIP"}))
    seen("/lists", "get", api.get("/lists"))
    template = seen("/templates", "post", api.post("/templates", json={"name": "T", "channel": "sms", "body": "Hi"}))
    seen("/templates", "get", api.get("/templates"))
    seen("/templates/{template_id}", "put", api.put(f"/templates/{template['id']}", json={"name": "T2"}))
    seen("/templates/preview", "post", api.post("/templates/preview", json={
        "channel": "sms", "body": "Hi {{ contact.first_name }}", "contact_id": contact["id"]}))
    seen("/templates/preview", "post", api.post("/templates/preview", json={
        "channel": "email", "subject": "Hi", "html": "<p>Hi</p>"}))
    campaign = seen("/campaigns", "post", api.post("/campaigns", json={
        "name": "C", "channel": "sms", "template_id": template["id"], "list_id": the_list["id"]}))
    seen("/campaigns", "get", api.get("/campaigns"))
    seen("/campaigns/{campaign_id}/send", "post", api.post(f"/campaigns/{campaign['id']}/send"))
    seen("/campaigns/{campaign_id}/send", "post", api.post(f"/campaigns/{campaign['id']}/send"))  # 409
    seen("/campaigns/{campaign_id}", "get", api.get(f"/campaigns/{campaign['id']}"))
    seen("/campaigns/{campaign_id}/status", "get", api.get(f"/campaigns/{campaign['id']}/status"))
    seen("/campaigns/{campaign_id}/report", "get", api.get(f"/campaigns/{campaign['id']}/report"))


def test_the_checker_catches_a_missing_required_key(document):
    """The schema check above must be able to fail, or it proves nothing."""
    with pytest.raises(AssertionError, match="missing required keys"):
        check({"$ref": "#/components/schemas/List"}, {"id": 1, "name": "x"}, document)
    with pytest.raises(AssertionError, match="undocumented keys"):
        check({"$ref": "#/components/schemas/ListInput"}, {"name": "x", "colour": "red"}, document)
