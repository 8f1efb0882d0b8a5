"""POST /api/v1/events (once per id, one or a batch, contacts optionally created) and /api/v1/journeys (create,
read, publish a version, activate, pause, stop, stats), checked against the OpenAPI schemas."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from audiences import Contact, ContactEvent
from campaigns import create_template
from campaigns.journeys import SendSettings, advance_journeys
from campaigns.schedules import ScheduleDefaults
from tests.campaigns.factories import make_contact
from tests.web.test_api import Api
from tests.web.test_api_openapi import check_response


@pytest.fixture
def api(client, api_token):
    return Api(client, api_token("marketer"))


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").json


def test_an_event_is_recorded_once_by_its_id(backend, api, document, session, clock):
    ann = make_contact(session, now=clock.now())
    ann_id, email = ann.id, ann.email
    session.commit()  # on SQLite an open read holds the write lock the app needs (core/db.py)
    sent = {"id": "o-1", "name": "order_shipped", "contact": {"email": email}, "properties": {"order_no": "7"},
            "occurred_at": "2026-01-05T10:00:00+08:00"}
    first = api.post("/events", json=sent)
    assert first.status_code == 201 and first.json["contact_id"] == ann_id and not first.json["duplicate"]
    check_response(document, "/events", "post", first)
    again = api.post("/events", json=sent)
    assert again.status_code == 200 and again.json["duplicate"]
    check_response(document, "/events", "post", again)
    assert session.scalar(select(func.count()).select_from(ContactEvent)) == 1
    session.commit()
    unknown = api.post("/events", json={**sent, "id": "o-2", "contact": {"email": "nobody@example.com"}})
    assert unknown.status_code == 422 and unknown.json["field"] == "contact"
    reserved = api.post("/events", json={**sent, "id": "o-3", "name": "purchased"})
    assert reserved.status_code == 422 and "conversions" in reserved.json["message"]


def test_a_batch_reports_each_event_and_can_create_contacts(backend, api, document, session, clock):
    email = make_contact(session, now=clock.now()).email
    session.commit()
    events = [{"id": "b-1", "name": "visited", "contact": {"email": email}},
              {"id": "b-2", "name": "visited", "contact": {"email": "new@example.com"}},
              {"id": "b-3", "name": "bad name!", "contact": {"email": email}},
              {"id": "b-1", "name": "visited", "contact": {"email": email}}]
    response = api.post("/events/batch", json={"events": events, "create_contacts": True})
    assert response.status_code == 200
    check_response(document, "/events/batch", "post", response)
    assert [r["status"] for r in response.json["results"]] == ["recorded", "recorded", "rejected", "duplicate"]
    assert response.json["results"][2]["field"] == "name"
    assert session.scalar(select(Contact.id).where(Contact.email == "new@example.com")) is not None
    session.commit()
    too_many = api.post("/events/batch", json={"events": [events[0]] * 1001})
    assert too_many.status_code == 422


def test_a_journey_made_and_run_through_the_api(backend, api, document, session, clock):
    email = make_contact(session, now=clock.now()).email
    template_id = create_template(session, name="Hi", channel="sms", body="Hi", now=clock.now()).id
    session.commit()
    definition = {"entry": [{"kind": "event", "event": "signed_up"}], "start": "hello", "goal": {"event": "replied"},
                  "steps": {"hello": {"kind": "send", "channel": "sms", "template_id": template_id, "next": "later"},
                            "later": {"kind": "wait", "days": 2, "next": None}}}
    created = api.post("/journeys", json={"name": "Welcome", "definition": definition})
    assert created.status_code == 201, created.json
    check_response(document, "/journeys", "post", created)
    journey_id = created.json["id"]
    assert created.json["status"] == "draft" and created.json["published_version"] is None
    bad = api.put(f"/journeys/{journey_id}", json={"definition": {**definition, "start": "nowhere"}})
    assert bad.status_code == 422 and bad.json["field"] == "definition.start"
    activated = api.post(f"/journeys/{journey_id}/activate")
    assert activated.json["status"] == "active" and activated.json["published_version"] == 1
    check_response(document, "/journeys/{journey_id}/activate", "post", activated)
    api.post("/events", json={"id": "s-1", "name": "signed_up", "contact": {"email": email}})
    settings = SendSettings(cap=None, defaults=ScheduleDefaults(), channels={"sms": ("scripted://t", False)})
    advance_journeys(session, now=clock.advance(minutes=1), settings=settings)
    session.commit()
    published = api.put(f"/journeys/{journey_id}", json={"definition": {**definition, "holdout_percent": 10}})
    assert published.json["published_version"] == 2 and published.json["latest_version"] == 2
    stats = api.get(f"/journeys/{journey_id}/stats")
    check_response(document, "/journeys/{journey_id}/stats", "get", stats)
    assert stats.json["steps"]["hello"]["passed"] == 1 and stats.json["steps"]["later"]["waiting"] == 1
    paused = api.post(f"/journeys/{journey_id}/pause")
    assert paused.json["status"] == "paused"
    assert api.post(f"/journeys/{journey_id}/pause").status_code == 409
    listed = api.get("/journeys")
    check_response(document, "/journeys", "get", listed)
    assert [j["id"] for j in listed.json["items"]] == [journey_id]
    stopped = api.post(f"/journeys/{journey_id}/stop")
    assert stopped.json["status"] == "stopped"
    assert api.get(f"/journeys/{journey_id}/stats").json["steps"]["later"]["exited"] == {"journey_stopped": 1}
