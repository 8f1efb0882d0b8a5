"""/api/v1/segments: save, read, change and live-count rule trees; bad rules are refused naming the rule."""

from __future__ import annotations

from datetime import date

import pytest

from audiences import Contact
from tests.web.test_api import Api
from tests.web.test_api_openapi import check_response

TIER_A = {"all": [{"field": "attributes.tier", "op": "eq", "value": "A"}]}


@pytest.fixture
def api(client, api_token):
    return Api(client, api_token("marketer"))


@pytest.fixture
def document(app):
    return app.test_client().get("/api/v1/openapi.json").json


@pytest.fixture
def contacts(database, clock):
    with database.session() as session:
        people = [
            Contact(first_name="Ann", email="ann@example.com", attributes={"tier": "A"}, country="CN",
                    created_at=clock.now()),
            Contact(first_name="Bob", email="bob@example.com", attributes={"tier": "B"}, country="CN",
                    created_at=clock.now()),
            Contact(first_name="Cat", email="cat@example.com", attributes={"tier": "A"}, country="US",
                    birthday=date(1990, 1, 1), created_at=clock.now()),
        ]
        session.add_all(people)
        session.commit()
        return [p.id for p in people]


def test_a_segment_is_saved_read_listed_and_changed(api, document):
    created = api.post("/segments", json={"name": "A tier", "rules": TIER_A})
    assert created.status_code == 201, created.json
    check_response(document, "/segments", "post", created)
    segment_id = created.json["id"]

    assert api.get(f"/segments/{segment_id}").json["rules"] == TIER_A
    changed = api.put(f"/segments/{segment_id}", json={"name": "A-tier customers"})
    check_response(document, "/segments/{segment_id}", "put", changed)
    assert (changed.json["name"], changed.json["rules"]) == ("A-tier customers", TIER_A)
    listed = api.get("/segments")
    check_response(document, "/segments", "get", listed)
    assert [s["name"] for s in listed.json["items"]] == ["A-tier customers"]


def test_count_answers_the_number_a_sample_and_what_each_rule_removes(api, document, contacts):
    rules = {"all": [{"field": "attributes.tier", "op": "eq", "value": "A"},
                     {"field": "country", "op": "eq", "value": "CN"}]}

    response = api.post("/segments/count", json={"rules": rules, "sample_size": 5})

    assert response.status_code == 200, response.json
    check_response(document, "/segments/count", "post", response)
    assert response.json["count"] == 1
    assert [c["first_name"] for c in response.json["sample"]] == ["Ann"]
    assert [(e["path"], e["count_alone"], e["excluded"]) for e in response.json["explain"]] == [
        ("rules.all[0]", 2, 1), ("rules.all[1]", 2, 1)]


def test_a_bad_rule_is_a_422_naming_its_path(api, document):
    rules = {"all": [{"field": "country", "op": "eq", "value": "CN"}, {"field": "tierr", "op": "eq", "value": "A"}]}

    for response in (api.post("/segments/count", json={"rules": rules}),
                     api.post("/segments", json={"name": "Bad", "rules": rules})):
        assert response.status_code == 422
        assert response.json["error"] == "SegmentRuleInvalid"
        assert response.json["field"] == "rules"
        assert response.json["message"].startswith('rules.all[1].field "tierr" is not a contact field; known:')
    check_response(document, "/segments/count", "post", response)
    assert api.get("/segments").json["items"] == []


def test_missing_rules_duplicate_names_and_unknown_ids_are_refused(api):
    assert api.post("/segments", json={"name": "x"}).json["field"] == "rules"
    assert api.post("/segments", json={"name": "VIP", "rules": TIER_A}).status_code == 201
    duplicate = api.post("/segments", json={"name": "VIP", "rules": TIER_A})
    assert (duplicate.status_code, duplicate.json["field"]) == (422, "name")
    assert api.get("/segments/999").status_code == 404
    assert api.put("/segments/999", json={"name": "y"}).status_code == 404
    assert api.post("/segments/count", json={"rules": TIER_A, "colour": 1}).json["field"] == "colour"


def test_segments_need_a_token_and_an_analyst_may_count_but_not_save(client, api_token):
    assert client.get("/api/v1/segments").status_code == 401
    analyst = Api(client, api_token("analyst"))
    assert analyst.post("/segments/count", json={"rules": TIER_A}).status_code == 200
    assert analyst.post("/segments", json={"name": "x", "rules": TIER_A}).status_code == 403
