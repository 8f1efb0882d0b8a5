"""The API for contact data: the new fields, tags, dates and typed custom attributes; PATCH and DELETE;
bulk actions; custom field definitions and the suppression list. Every answer is checked against the
OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.test_api import Api
from tests.web.test_api_openapi import check_response

PREFIX = "/api/v1"


@pytest.fixture
def api(client, api_token):
    return Api(client, api_token("marketer"))


@pytest.fixture
def document(app) -> dict[str, Any]:
    return app.test_client().get(f"{PREFIX}/openapi.json").json


@pytest.fixture
def seen(document):
    def check(path: str, method: str, response, status: int) -> Any:
        assert response.status_code == status, response.get_data(as_text=True)
        check_response(document, path, method, response)
        return response.json

    return check


def test_contacts_carry_profile_fields_tags_dates_and_typed_attributes(api, seen, make_user):
    owner = make_user("marketer", "mia@example.com")
    seen("/custom-fields", "post", api.post("/custom-fields", json={"key": "score", "label": "Score",
                                                                     "type": "number"}), 201)
    made = seen("/contacts", "post", api.post("/contacts", json={
        "email": "ann@example.com", "name": "Ann Lee", "region": "Bavaria", "lifecycle_stage": "customer",
        "value_tier": "b", "source": "web form", "notes": "hi", "owner_id": owner.id, "tags": ["vip"],
        "dates": [{"kind": "contract_renewal", "date": "2027-03-01"}], "attributes": {"score": "12", "city": "Ulm"}}),
        201)
    assert (made["value_tier"], made["owner_id"], made["tags"]) == ("B", owner.id, ["vip"])
    assert made["attributes"] == {"score": 12, "city": "Ulm"}
    assert made["dates"][0]["kind"] == "contract_renewal" and made["rfm"]["recency"] is None

    bad = seen("/contacts", "post", api.post("/contacts", json={"email": "b@example.com",
                                                                "attributes": {"score": "many"}}), 422)
    assert bad["field"] == "attributes.score" and "takes a number" in bad["message"]

    changed = seen("/contacts/{contact_id}", "patch", api.patch(f"/contacts/{made['id']}", json={
        "region": None, "attributes": {"city": None, "score": 13}, "tags": ["vip", "fair"]}), 200)
    assert (changed["region"], changed["attributes"], changed["tags"]) == ("", {"score": 13}, ["fair", "vip"])
    refused = seen("/contacts/{contact_id}", "patch", api.patch(f"/contacts/{made['id']}", json={"email": None}), 422)
    assert "neither an email nor a phone" in refused["message"]
    seen("/contacts/{contact_id}", "patch", api.patch("/contacts/999", json={"notes": "x"}), 404)

    page = seen("/contacts", "get", api.get("/contacts", query_string={"tag": "fair", "owner_id": owner.id}), 200)
    assert [c["id"] for c in page["items"]] == [made["id"]]
    assert seen("/contacts", "get", api.get("/contacts", query_string={"owner_id": 0}), 200)["total"] == 0

    seen("/contacts/{contact_id}", "delete", api.delete(f"/contacts/{made['id']}"), 200)
    seen("/contacts/{contact_id}", "get", api.get(f"/contacts/{made['id']}"), 404)


def test_bulk_actions_through_the_api(api, seen, make_user):
    ids = [seen("/contacts", "post", api.post("/contacts", json={"email": f"p{n}@example.com"}), 201)["id"]
           for n in range(4)]
    the_list = api.post("/lists", json={"name": "Fair"}).json
    tagged = seen("/contacts/bulk", "post", api.post("/contacts/bulk", json={
        "action": "add_tag", "tag": "hot", "selection": {"contact_ids": ids[:3]}}), 200)
    assert tagged == {"action": "add_tag", "changed": 3}
    tags = seen("/tags", "get", api.get("/tags"), 200)["items"]
    assert [(t["name"], t["contacts"]) for t in tags] == [("hot", 3)]
    listed = seen("/contacts/bulk", "post", api.post("/contacts/bulk", json={
        "action": "add_to_list", "list_id": the_list["id"], "selection": {"tag": "hot", "search": "p1"}}), 200)
    assert listed["changed"] == 1
    owner = make_user("marketer", "mia@example.com")
    assert api.post("/contacts/bulk", json={"action": "assign_owner", "owner_id": owner.id}).json["changed"] == 4

    seen("/contacts/bulk", "post", api.post("/contacts/bulk", json={"action": "delete"}), 422)  # no selection
    stale = seen("/contacts/bulk", "post", api.post("/contacts/bulk", json={
        "action": "delete", "selection": {"tag": "hot"}, "expected_count": 2}), 409)
    assert "now holds 3 contacts, not the 2" in stale["message"]
    assert api.post("/contacts/bulk", json={"action": "delete", "selection": {"tag": "hot"},
                                            "expected_count": 3}).json["changed"] == 3
    seen("/contacts/bulk", "post", api.post("/contacts/bulk", json={"action": "add_tag", "tag": "x",
                                                                    "selection": {"segment_id": 99}}), 404)
    unknown = seen("/contacts/bulk", "post", api.post("/contacts/bulk", json={"action": "merge"}), 422)
    assert unknown["field"] == "action"
    seen("/tags/{tag_id}", "delete", api.delete(f"/tags/{tags[0]['id']}"), 200)
    seen("/tags/{tag_id}", "delete", api.delete(f"/tags/{tags[0]['id']}"), 404)
    assert api.get("/tags").json == {"items": []}


def test_custom_fields_and_suppressions_through_the_api(api, seen, api_token, client):
    field = seen("/custom-fields", "post", api.post("/custom-fields", json={
        "key": "level", "label": "Level", "type": "choice", "choices": ["Gold", "Silver"]}), 201)
    seen("/custom-fields", "post", api.post("/custom-fields", json={"key": "level", "type": "text"}), 422)
    changed = seen("/custom-fields/{field_id}", "patch", api.patch(f"/custom-fields/{field['id']}", json={
        "choices": ["Gold", "Bronze"]}), 200)
    assert changed["choices"] == ["Gold", "Bronze"] and changed["label"] == "Level"
    assert [f["key"] for f in seen("/custom-fields", "get", api.get("/custom-fields"), 200)["items"]] == ["level"]
    seen("/custom-fields/{field_id}", "delete", api.delete(f"/custom-fields/{field['id']}"), 200)

    report = seen("/suppressions", "post", api.post("/suppressions", json={
        "addresses": ["Ann@Example.com", "+1 201 555 0101", "nope@"], "reason": "legal"}), 200)
    assert (report["added"], report["already"], len(report["rejected"])) == (2, 0, 1)
    listing = seen("/suppressions", "get", api.get("/suppressions", query_string={"channel": "email"}), 200)
    assert [s["address"] for s in listing["items"]] == ["ann@example.com"]
    seen("/suppressions/{suppression_id}", "delete", api.delete(f"/suppressions/{listing['items'][0]['id']}"), 200)
    seen("/suppressions/{suppression_id}", "delete", api.delete(f"/suppressions/{listing['items'][0]['id']}"), 404)

    analyst = Api(client, api_token("analyst"))
    seen("/suppressions", "post", analyst.post("/suppressions", json={"addresses": ["a@example.com"]}), 403)


def test_consent_and_timeline_of_a_contact(api, seen):
    contact = api.post("/contacts", json={"email": "ann@example.com"}).json
    state = seen("/contacts/{contact_id}/consent", "get", api.get(f"/contacts/{contact['id']}/consent"), 200)
    assert state["current"]["email"] == {"status": "subscribed", "source": "", "changed_at": None}
    assert state["history"] == []
    changed = seen("/contacts/{contact_id}/consent", "post", api.post(f"/contacts/{contact['id']}/consent", json={
        "channel": "email", "status": "unsubscribed", "source": "shop preferences"}), 200)
    assert changed["current"]["email"]["status"] == "unsubscribed"
    assert [(h["status"], h["source"]) for h in changed["history"]] == [("unsubscribed", "shop preferences")]
    assert changed["history"][0]["changed_by"] is not None
    bad = seen("/contacts/{contact_id}/consent", "post", api.post(f"/contacts/{contact['id']}/consent", json={
        "channel": "fax", "status": "subscribed"}), 422)
    assert 'channel "fax" is not known' in bad["message"]
    seen("/contacts/{contact_id}/consent", "get", api.get("/contacts/999/consent"), 404)
    assert seen("/contacts/{contact_id}/timeline", "get", api.get(f"/contacts/{contact['id']}/timeline"),
                200) == {"items": []}

    template = api.post("/templates", json={"name": "T", "channel": "email", "subject": "Hi", "html": "<p>Hi</p>"})
    campaign = api.post("/campaigns", json={"name": "Spring", "channel": "email", "template_id": template.json["id"]})
    assert api.post(f"/campaigns/{campaign.json['id']}/send").status_code in (200, 202)
    timeline = seen("/contacts/{contact_id}/timeline", "get", api.get(f"/contacts/{contact['id']}/timeline"), 200)
    # Unsubscribed from email above, so the message is suppressed, and the timeline says why.
    assert [(e["kind"], e["status"], e["title"]) for e in timeline["items"]] == [("message", "suppressed", "Spring")]
    assert "opted out" in timeline["items"][0]["detail"]
