"""The contact side of the OpenAPI document's paths (web/api/openapi/__init__.py) and the builders every paths module
uses; the campaign side is campaign_paths.py, the Inbox's inbox_paths.py, journeys' journey_paths.py."""

from __future__ import annotations

from typing import Any

from web.api import MAX_PER_PAGE
from web.api.openapi.schemas import (
    CHANNEL,
    JSON,
    STRING,
    obj,
    ref,
)


def body(schema: str, media: str = JSON) -> dict[str, Any]:
    return {"required": True, "content": {media: {"schema": ref(schema)}}}


def answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {JSON: {"schema": schema}}
    return out


def error(description: str) -> dict[str, Any]:
    return answer(description, ref("Error"))


def items(schema: str) -> dict[str, Any]:
    return obj({"items": {"type": "array", "items": ref(schema)}})


# Row ids are positive and fit a signed 64-bit column; a larger one is answered 404 like any unknown id.
ROW_ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def path_id(name: str, what: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": f"the {what}'s id", "schema": ROW_ID}


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def operation(operation_id: str, summary: str, responses: dict[str, Any], *, tag: str, write: bool = False,
              found: bool = False, request: dict[str, Any] | None = None,
              parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One operation; the auth answers every one shares are added here, so none is forgotten."""
    out: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if parameters:
        out["parameters"] = parameters
    if request is not None:
        out["requestBody"] = request
    out["responses"] = {**responses, "401": error("no API token, or a token that is not valid")}
    if write:
        out["responses"]["403"] = error("the token's user has the read-only analyst role")
    if found:
        out["responses"]["404"] = error("no such record")
    if request is not None and request["content"].get(JSON):
        out["responses"]["400"] = error("the body is not a JSON object")
    # Every operation: a query parameter it does not know is refused (web/api/openapi/__init__.py), not ignored.
    out["responses"]["422"] = error("a field or query parameter is missing, unknown or not acceptable; `field` "
                                    "names it")
    return out


CONTACT_ID = path_id("contact_id", "contact")
SEGMENT_ID = path_id("segment_id", "segment")
TEMPLATE_ID = path_id("template_id", "template")
CAMPAIGN_ID = path_id("campaign_id", "campaign")

CORE_PATHS: dict[str, dict[str, Any]] = {
    "/contacts": {
        "get": operation(
            "listContacts", "Contacts, newest first, one page at a time",
            {"200": answer("a page of contacts", ref("ContactPage"))}, tag="contacts", found=True,
            parameters=[
                query("search", STRING, "matches name, email or phone"),
                query("list_id", ROW_ID, "only the members of this list"),
                query("tag", STRING, "only contacts with this tag (404 when no contact has it)"),
                query("owner_id", {**ROW_ID, "minimum": 0}, "only contacts of this owner; 0 for contacts with no "
                                                            "owner"),
                query("segment_id", ROW_ID, "only contacts matching this saved segment today"),
                query("page", {"type": "integer", "minimum": 1, "default": 1}, "page number, from 1"),
                query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 50},
                      f"contacts per page, at most {MAX_PER_PAGE}"),
            ],
        ),
        "post": operation(
            "createContact", "Create a contact", {"201": answer("the new contact", ref("Contact"))},
            tag="contacts", write=True, request=body("ContactInput"),
        ),
    },
    "/contacts/{contact_id}": {
        "parameters": [CONTACT_ID],
        "get": operation("getContact", "One contact", {"200": answer("the contact", ref("Contact"))},
                         tag="contacts", found=True),
        "patch": operation("updateContact", "Change a contact: only the fields sent change",
                           {"200": answer("the contact as it is now", ref("Contact"))}, tag="contacts", write=True,
                           found=True, request=body("ContactInput")),
        "delete": operation("deleteContact", "Delete a contact with its lists, tags, dates, consents and messages",
                            {"200": answer("deleted", ref("Deleted"))}, tag="contacts", write=True, found=True),
    },
    "/contacts/{contact_id}/consent": {
        "parameters": [CONTACT_ID],
        "get": operation("getConsent", "A contact's consent per channel and every change, newest first",
                         {"200": answer("current consent and history", ref("ConsentState"))}, tag="contacts",
                         found=True),
        "post": operation("setConsent", "Record a consent change (kept in the history with its source)",
                          {"200": answer("current consent and history", ref("ConsentState"))}, tag="contacts",
                          write=True, found=True, request=body("ConsentInput")),
    },
    "/contacts/{contact_id}/timeline": {
        "parameters": [CONTACT_ID],
        "get": operation(
            "getTimeline", "A contact's messages, message events and purchases, newest first",
            {"200": answer("the timeline", items("TimelineEntry"))}, tag="contacts", found=True,
            parameters=[query("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                              "at most this many entries")],
        ),
    },
    "/contacts/bulk": {
        "post": operation(
            "bulkContacts", "One action on many contacts: add/remove a tag or a list, assign an owner, delete",
            {"200": answer("how many contacts changed", ref("BulkResult")),
             "409": error("delete: the selection no longer holds expected_count contacts; nothing was deleted")},
            tag="contacts", write=True, found=True, request=body("BulkAction"),
        ),
    },
    "/custom-fields": {
        "get": operation("listCustomFields", "The custom field definitions",
                         {"200": answer("every definition", items("CustomField"))}, tag="contacts"),
        "post": operation("createCustomField", "Define a custom field",
                          {"201": answer("the new definition", ref("CustomField"))}, tag="contacts", write=True,
                          request=body("CustomFieldInput")),
    },
    "/custom-fields/{field_id}": {
        "parameters": [path_id("field_id", "custom field")],
        "patch": operation("updateCustomField", "Change a custom field's label, type or choices",
                           {"200": answer("the definition", ref("CustomField"))}, tag="contacts", write=True,
                           found=True, request=body("CustomFieldInput")),
        "delete": operation("deleteCustomField", "Delete a definition; contacts keep the values as free attributes",
                            {"200": answer("deleted", ref("Deleted"))}, tag="contacts", write=True, found=True),
    },
    "/suppressions": {
        "get": operation(
            "listSuppressions", "The global suppression list, newest first",
            {"200": answer("a page of the list", ref("SuppressionPage"))}, tag="contacts",
            parameters=[query("channel", CHANNEL, "only this channel"),
                        query("search", STRING, "part of an address"),
                        query("page", {"type": "integer", "minimum": 1, "default": 1}, "page number, from 1"),
                        query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 50},
                              f"addresses per page, at most {MAX_PER_PAGE}")],
        ),
        "post": operation("addSuppressions", "Put addresses on the suppression list (no campaign but an "
                          "operational one messages them)",
                          {"200": answer("added, already listed, and refused with the reason",
                                         ref("SuppressionReport"))}, tag="contacts", write=True,
                          request=body("SuppressionInput")),
    },
    "/tags": {
        "get": operation("listTags", "Every tag with how many contacts carry it, by name",
                         {"200": answer("the tags", items("Tag"))}, tag="contacts"),
    },
    "/tags/{tag_id}": {
        "parameters": [path_id("tag_id", "tag")],
        "delete": operation("deleteTag", "Take a tag off every contact and forget it",
                            {"200": answer("deleted", ref("Deleted"))}, tag="contacts", write=True, found=True),
    },
    "/suppressions/{suppression_id}": {
        "parameters": [path_id("suppression_id", "suppression")],
        "delete": operation("removeSuppression", "Take an address off the suppression list",
                            {"200": answer("removed", ref("Deleted"))}, tag="contacts", write=True, found=True),
    },
    "/contacts/import": {
        "post": operation(
            "importContacts",
            "Import contacts from a CSV or Excel file; rejected rows are listed with their line and reason",
            {"200": answer("what the import did, including the rejected rows", ref("ImportReport"))},
            tag="contacts", write=True,
            request={"required": True, "content": {"multipart/form-data": {"schema": obj(
                {"file": {"type": "string", "contentMediaType": "application/octet-stream",
                          "description": ".csv (UTF-8, UTF-16 or GB18030) or .xlsx"},
                 "list_name": {"type": "string", "description": "put the contacts on this list (made if new)"},
                 "mode": {"type": "string", "enum": ["update", "skip", "new-only"], "default": "update",
                          "description": "what a row does to a contact already in Herald (matched by external id, "
                                         "then email, then phone): update it, skip it, or reject the row"},
                 "encoding": {"type": "string", "description": "a CSV's encoding when detection gets it wrong: utf-8, "
                                                              "gbk, gb18030, utf-16"},
                 "columns": {"type": "string", "description": 'a JSON object {"column header": "field"}: a contact '
                             'field, name, tags, attributes.<name> or ignore'},
                 "region": {"type": "string", "description": "the country of phone numbers written without +country "
                                                            "code, e.g. CN (default: [app] default_region)"},
                 "on_bad_address": {"type": "string", "enum": ["drop-field", "reject-row"], "default": "drop-field",
                                    "description": "a row with a bad email or phone: import it without that address "
                                                   "(listed in `warned`), or reject the whole row"}},
                required=("file",),
            )}}},
        ),
    },
    "/contacts/export": {
        "get": operation(
            "exportContacts",
            "Download contacts (a segment, a list, a tag, a search, or all) as CSV or XLSX, streamed",
            {"200": {"description": "the file; cells starting with = + - @ (or tab/CR) get a leading apostrophe",
                     "content": {"text/csv": {"schema": {"type": "string"}},
                                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                                     "schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}},
             "404": error("no such segment, list or tag")},
            tag="contacts",
            parameters=[
                query("segment_id", ROW_ID, "the contacts of this saved segment, as it matches today"),
                query("list_id", ROW_ID, "the members of this list"),
                query("tag", STRING, "contacts with this tag"),
                query("search", STRING, "matches name, email or phone"),
                query("format", {"type": "string", "enum": ["csv", "xlsx"], "default": "csv"}, "file format"),
                query("columns", STRING, "comma-separated: id, name, the contact fields, tags, created_at, "
                      "updated_at, attributes.<key>; default id,name,email,phone,company,region,lifecycle_stage,"
                      "value_tier,tags"),
            ],
        ),
    },
    "/lists": {
        "get": operation("listLists", "Lists with their member counts", {"200": answer("the lists", items("List"))},
                         tag="lists"),
        "post": operation("createList", "Create a list", {"201": answer("the new list", ref("List"))},
                          tag="lists", write=True, request=body("ListInput")),
    },
    "/segments": {
        "get": operation("listSegments", "Saved segments, by name",
                         {"200": answer("the segments", items("Segment"))}, tag="segments"),
        "post": operation("createSegment", "Save a segment (its rules are checked, never evaluated on save)",
                          {"201": answer("the new segment", ref("Segment"))}, tag="segments", write=True,
                          request=body("SegmentInput")),
    },
    "/segments/{segment_id}": {
        "parameters": [SEGMENT_ID],
        "get": operation("getSegment", "One segment", {"200": answer("the segment", ref("Segment"))},
                         tag="segments", found=True),
        "put": operation("updateSegment", "Change a segment's name or rules",
                         {"200": answer("the segment", ref("Segment"))}, tag="segments", write=True, found=True,
                         request=body("SegmentUpdate")),
    },
    "/segments/count": {
        "post": operation(
            "countSegment", "Count rules live: the number, a sample, and what each top-level rule removes",
            {"200": answer("the count, a sample and the explanation", ref("SegmentCount"))}, tag="segments",
            request=body("SegmentCountInput"),
        ),
    },
    "/openapi.json": {
        "get": {
            "operationId": "openapi", "summary": "This document", "tags": ["meta"], "security": [],
            "responses": {"200": answer("the OpenAPI document", {"type": "object"})},
        },
    },
}
