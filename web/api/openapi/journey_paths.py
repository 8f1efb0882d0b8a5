"""The journeys half of the OpenAPI document: /events and /journeys, their paths and schemas
(campaigns/journeys/definition.py is the reference for a definition's shape)."""

from __future__ import annotations

from typing import Any

from web.api.openapi.paths import answer, body, error, operation, path_id
from web.api.openapi.schemas import BOOLEAN, INTEGER, NAME, STRING, TIMESTAMP, nullable, obj, ref

JOURNEY_ID = path_id("journey_id", "journey")
_COUNT = {"type": "integer"}
_MONEY = {"type": "string", "description": "a decimal amount in the workspace currency"}

_STEP = obj(
    {"kind": {"type": "string", "enum": ["send", "wait", "wait_for_event", "condition", "random_split",
                                         "update_contact", "exit"]}},
    additional=True,
    description="A step. send: channel, template_id, email_template_id (SMS only: sent by email to a contact "
                "with no phone number), next. wait: days, hours, minutes, at (\"HH:MM\" in the contact's zone), "
                "weekdays (0 = Monday), next. wait_for_event: event (clicked, replied, purchased, unsubscribed or "
                "an API event's name), timeout {days, hours, minutes}, happened, timed_out. condition: rules (a "
                "segment rule tree), yes, no. random_split: branches [{weight, next}]. update_contact: add_tags, "
                "remove_tags, add_to_lists, remove_from_lists, set_fields {lifecycle_stage, value_tier}, next. "
                "exit. A next of null ends the journey there.",
)

JOURNEY_SCHEMAS: dict[str, Any] = {
    "EventInput": obj(
        {"id": {"type": "string", "minLength": 1, "maxLength": 100,
                "description": "your system's id of the event: the same id again records nothing new"},
         "name": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,100}$",
                  "description": "e.g. order_shipped; clicked, replied, purchased and unsubscribed are Herald's own"},
         "contact": obj({"external_id": STRING, "email": STRING, "phone": STRING}, required=(),
                        description="who: the first of external_id, email, phone that names a contact"),
         "properties": {"type": "object", "description": "anything templates may show: "
                                                         "{{ event.properties.order_no }} (at most 16 KB)"},
         "occurred_at": {"type": "string", "format": "date-time", "description": "with its offset; default now"},
         "create_contacts": {"type": "boolean", "description": "create an unknown contact (needs email or phone)"}},
        required=("id", "name", "contact"),
    ),
    "EventBatchInput": obj(
        {"events": {"type": "array", "minItems": 1, "maxItems": 1000,
                    "items": {"description": "an EventInput without create_contacts; one that is not is "
                                             "reported rejected with its reason, the others are recorded"}},
         "create_contacts": BOOLEAN},
        required=("events",),
    ),
    "EventOutcome": obj(
        {"index": INTEGER, "client_id": STRING, "status": {"type": "string",
                                                          "enum": ["recorded", "duplicate", "rejected"]},
         "event_id": INTEGER, "contact_id": INTEGER, "field": STRING, "reason": STRING,
         "duplicate": BOOLEAN},
        required=("index", "status"),
    ),
    "EventBatchReport": obj({"recorded": INTEGER, "duplicates": INTEGER, "rejected": INTEGER,
                             "results": {"type": "array", "items": ref("EventOutcome")}}),
    "JourneyDefinition": obj(
        {"entry": {"type": "array", "minItems": 1, "items": obj(
            {"kind": {"type": "string", "enum": ["segment", "event"]}, "segment_id": INTEGER,
             "rules": {"type": "object"}, "event": STRING}, required=("kind",))},
         "re_entry": obj({"policy": {"type": "string", "enum": ["once", "every_time", "after_days"]},
                          "days": INTEGER}, required=("policy",)),
         "holdout_percent": {"type": "integer", "minimum": 0, "maximum": 90},
         "goal": nullable("object", description='e.g. {"event": "purchased"}: reaching it completes the enrolment '
                                                "and credits the purchase to the journey"),
         "exit": obj({"events": {"type": "array", "items": STRING}, "stay_while": {"type": "object"}}, required=()),
         "start": {"type": "string", "description": "the first step's key"},
         "steps": {"type": "object", "additionalProperties": ref("JourneyStep"),
                   "description": "steps by their stable key (a-z, 0-9, _; up to 40)"}},
        required=("entry", "start", "steps"),
    ),
    "JourneyStep": _STEP,
    "JourneyInput": obj({"name": NAME, "definition": ref("JourneyDefinition")}, required=("name", "definition")),
    "JourneyUpdate": obj({"name": NAME, "definition": ref("JourneyDefinition")}, required=(),
                         description="A definition is saved as a new version, published at once unless the "
                                     "journey is a draft; contacts in flight stay on their version."),
    "Journey": obj({
        "id": INTEGER, "name": STRING,
        "status": {"type": "string", "enum": ["draft", "active", "paused", "stopped"]},
        "published_version": nullable("integer"), "latest_version": INTEGER,
        "definition": {"type": "object", "description": "the latest version's definition (JourneyDefinition)"},
        "activated_at": nullable("string", format="date-time"), "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
    }),
    "JourneyStepCounts": obj({"entered": _COUNT, "now": _COUNT, "waiting": _COUNT, "passed": _COUNT,
                              "exited": {"type": "object", "additionalProperties": _COUNT,
                                         "description": "by reason: goal, exit_step, unsubscribed, left_segment, "
                                                        "journey_stopped…"},
                              "messages": _COUNT, "cost": _MONEY}),
    "JourneyGroup": obj({"enrolled": _COUNT, "goal": _COUNT, "goal_rate": {"type": "number"}, "revenue": _MONEY}),
    "JourneyStats": obj({
        "journey_id": INTEGER,
        "steps": {"type": "object", "additionalProperties": ref("JourneyStepCounts")},
        "statuses": {"type": "object", "additionalProperties": _COUNT},
        "treated": ref("JourneyGroup"), "holdout": ref("JourneyGroup"),
        "lift": nullable("number", description="goal rate of the treated minus the holdout's; null without one"),
    }),
}


def _control(operation_id: str, summary: str) -> dict[str, Any]:
    responses = {"200": answer("the journey", ref("Journey")),
                 "409": error("the journey is not in a state this applies to")}
    return {"parameters": [JOURNEY_ID], "post": operation(operation_id, summary, responses, tag="journeys",
                                                          write=True, found=True)}


JOURNEY_PATHS: dict[str, Any] = {
    "/events": {
        "post": operation(
            "recordEvent", "Record what a contact did in your system; journeys enter on it and wait for it",
            {"201": answer("recorded", ref("EventOutcome")),
             "200": answer("this id was recorded before (duplicate: true)", ref("EventOutcome"))},
            tag="events", write=True, request=body("EventInput")),
    },
    "/events/batch": {
        "post": operation(
            "recordEvents", "Record up to 1,000 events; each is recorded, a duplicate, or rejected with its reason",
            {"200": answer("one result per event, in order", ref("EventBatchReport"))},
            tag="events", write=True, request=body("EventBatchInput")),
    },
    "/journeys": {
        "get": operation("listJourneys", "Every journey, newest first",
                         {"200": answer("the journeys", obj({"items": {"type": "array", "items": ref("Journey")}}))},
                         tag="journeys"),
        "post": operation("createJourney", "Create a draft journey; 422 names the definition's path at fault",
                          {"201": answer("the journey", ref("Journey"))}, tag="journeys", write=True,
                          request=body("JourneyInput")),
    },
    "/journeys/{journey_id}": {
        "parameters": [JOURNEY_ID],
        "get": operation("getJourney", "A journey with its latest definition",
                         {"200": answer("the journey", ref("Journey"))}, tag="journeys", found=True),
        "put": operation("updateJourney", "Rename it, or save a new version of its definition (published at once "
                         "unless a draft)", {"200": answer("the journey", ref("Journey")),
                                             "409": error("the journey is stopped")},
                         tag="journeys", write=True, found=True, request=body("JourneyUpdate")),
    },
    "/journeys/{journey_id}/activate": _control("activateJourney", "Publish the latest version and start it "
                                                                   "(or resume a paused journey)"),
    "/journeys/{journey_id}/pause": _control("pauseJourney", "Nobody enters or moves, queued messages wait"),
    "/journeys/{journey_id}/stop": _control("stopJourney", "Contacts in flight exit, queued messages are cancelled"),
    "/journeys/{journey_id}/stats": {
        "parameters": [JOURNEY_ID],
        "get": operation("journeyStats", "Per step: entered, now, passed, exited and why; goal, revenue and lift",
                         {"200": answer("the counts", ref("JourneyStats"))}, tag="journeys", found=True),
    },
}
