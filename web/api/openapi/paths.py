"""The paths of the OpenAPI document (web/api/openapi/__init__.py): every /api/v1 route, method and answer."""

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
    "/templates": {
        "get": operation("listTemplates", "Templates, newest first",
                         {"200": answer("the templates", items("Template"))}, tag="templates",
                         parameters=[query("channel", CHANNEL, "only this channel's templates")]),
        "post": operation("createTemplate", "Create a template (checked when saved, never at send time)",
                          {"201": answer("the new template", ref("Template"))}, tag="templates", write=True,
                          request=body("TemplateInput")),
    },
    "/templates/{template_id}": {
        "parameters": [TEMPLATE_ID],
        "get": operation("getTemplate", "One template", {"200": answer("the template", ref("Template"))},
                         tag="templates", found=True),
        "put": operation("updateTemplate", "Change a template", {"200": answer("the template", ref("Template"))},
                         tag="templates", write=True, found=True, request=body("TemplateUpdate")),
    },
    "/templates/preview": {
        "post": operation(
            "previewTemplate", "Render template parts for a contact, with the SMS size and the pre-send checks",
            {"200": answer("the rendered parts", ref("Preview"))}, tag="templates", found=True,
            request=body("PreviewInput"),
        ),
    },
    "/campaigns": {
        "get": operation("listCampaigns", "Campaigns", {"200": answer("the campaigns", items("Campaign"))},
                         tag="campaigns"),
        "post": operation("createCampaign", "Create a draft campaign",
                          {"201": answer("the new campaign", ref("Campaign"))}, tag="campaigns", write=True,
                          request=body("CampaignInput")),
    },
    "/campaigns/{campaign_id}": {
        "parameters": [CAMPAIGN_ID],
        "get": operation("getCampaign", "One campaign", {"200": answer("the campaign", ref("Campaign"))},
                         tag="campaigns", found=True),
        "patch": operation("updateCampaign", "Change a draft campaign",
                           {"200": answer("the campaign", ref("Campaign")),
                            "409": error("the campaign is past draft; its content is frozen")},
                           tag="campaigns", write=True, found=True, request=body("CampaignUpdate")),
    },
    "/campaigns/{campaign_id}/send": {
        "parameters": [CAMPAIGN_ID],
        "post": operation(
            "sendCampaign", "Send the campaign now; the sender delivers in the background",
            {"202": answer("the run that was started", ref("Run")),
             "409": error("the campaign was sent already"),
             "503": error("the campaign's channel is misconfigured in config.toml")},
            tag="campaigns", write=True, found=True,
        ),
    },
    "/campaigns/{campaign_id}/schedule": {
        "parameters": [CAMPAIGN_ID],
        "get": operation("getCampaignSchedule", "The campaign's schedule and its next 10 firings",
                         {"200": answer("the schedule", ref("CampaignSchedule"))}, tag="campaigns", found=True),
        "put": operation("setCampaignSchedule", "Set a draft's schedule (null: send it by hand)",
                         {"200": answer("the schedule", ref("CampaignSchedule")),
                          "409": error("the campaign is past draft; its schedule is frozen")},
                         tag="campaigns", write=True, found=True, request=body("ScheduleInput")),
        "post": operation("armCampaignSchedule", "Schedule the draft: from now on the scheduler fires it",
                          {"200": answer("the schedule, now armed", ref("CampaignSchedule")),
                           "409": error("no schedule, not a draft, its time is past, or approval is required")},
                          tag="campaigns", write=True, found=True),
    },
    "/campaigns/{campaign_id}/runs": {
        "parameters": [CAMPAIGN_ID],
        "get": operation("listCampaignRuns", "The campaign's runs, newest first, with counts and notes",
                         {"200": answer("the runs", items("RunSummary"))}, tag="campaigns", found=True),
    },
    "/campaigns/{campaign_id}/runs/{run_id}/report": {
        "parameters": [CAMPAIGN_ID, path_id("run_id", "run")],
        "get": operation("campaignRunReport", "One run's report: recipients, sent, delivered, failed with reasons",
                         {"200": answer("the run's report", ref("RunReport"))}, tag="campaigns", found=True),
    },
    "/holidays": {
        "get": operation("listHolidays", "A country's holidays and their dates, for a holiday campaign",
                         {"200": answer("the holidays", ref("HolidayList"))}, tag="campaigns",
                         parameters=[{**query("country", {"type": "string", "pattern": "^[A-Za-z]{2}$"},
                                                "ISO country code, e.g. CN"), "required": True},
                                     query("year", {"type": "integer", "minimum": 1970, "maximum": 2100},
                                           "default: this year")]),
    },
    "/campaigns/{campaign_id}/submit": {
        "parameters": [CAMPAIGN_ID],
        "post": operation("submitCampaign", "Submit a draft for approval",
                          {"200": answer("the campaign, waiting for approval", ref("Campaign")),
                           "409": error("the campaign is not a draft")},
                          tag="campaigns", write=True, found=True, request=body("CommentInput")),
    },
    "/campaigns/{campaign_id}/approve": {
        "parameters": [CAMPAIGN_ID],
        "post": operation("approveCampaign", "Approve a campaign (approver or admin): it becomes scheduled",
                          {"200": answer("the approved campaign", ref("Campaign")),
                           "409": error("the campaign is not waiting for approval")},
                          tag="campaigns", write=True, found=True, request=body("CommentInput")),
    },
    "/campaigns/{campaign_id}/reject": {
        "parameters": [CAMPAIGN_ID],
        "post": operation("rejectCampaign", "Reject a campaign back to draft, saying why (approver or admin)",
                          {"200": answer("the campaign, a draft again", ref("Campaign")),
                           "409": error("the campaign is not waiting for approval")},
                          tag="campaigns", write=True, found=True, request=body("RejectInput")),
    },
    "/campaigns/{campaign_id}/pause": {
        "parameters": [CAMPAIGN_ID],
        "post": operation("pauseCampaign", "Pause a running campaign: no new messages are claimed",
                          {"200": answer("the paused campaign", ref("Campaign")),
                           "409": error("the campaign is not running")},
                          tag="campaigns", write=True, found=True, request=body("CommentInput")),
    },
    "/campaigns/{campaign_id}/resume": {
        "parameters": [CAMPAIGN_ID],
        "post": operation("resumeCampaign", "Resume a paused campaign",
                          {"200": answer("the running campaign", ref("Campaign")),
                           "409": error("the campaign is not paused")},
                          tag="campaigns", write=True, found=True, request=body("CommentInput")),
    },
    "/campaigns/{campaign_id}/cancel": {
        "parameters": [CAMPAIGN_ID],
        "post": operation("cancelCampaign", "Cancel a campaign: messages not yet sent are cancelled",
                          {"200": answer("the campaign and how many messages were cancelled", ref("CancelResult")),
                           "409": error("the campaign has already finished")},
                          tag="campaigns", write=True, found=True, request=body("CommentInput")),
    },
    "/campaigns/{campaign_id}/estimate": {
        "parameters": [CAMPAIGN_ID],
        "get": operation("estimateCampaign", "Before sending: audience after consent, suppression and caps; SMS "
                         "segments and cost; first and last send time",
                         {"200": answer("the estimate", ref("Estimate"))}, tag="campaigns", found=True),
    },
    "/campaigns/{campaign_id}/transitions": {
        "parameters": [CAMPAIGN_ID],
        "get": operation("campaignTransitions", "Every change of the campaign's status, with who and when",
                         {"200": answer("the history, oldest first", items("Transition"))}, tag="campaigns",
                         found=True),
    },
    "/campaigns/{campaign_id}/fallback": {
        "parameters": [CAMPAIGN_ID],
        "post": operation("resendFallback", "Re-send an event notice through the other channel to everyone not "
                          "delivered after N minutes",
                          {"202": answer("the fallback campaign and its run", ref("FallbackResult")),
                           "409": error("not a sent event notice, or already re-sent"),
                           "503": error("the other channel is misconfigured in config.toml")},
                          tag="campaigns", write=True, found=True, request=body("FallbackInput")),
    },
    "/campaigns/{campaign_id}/status": {
        "parameters": [CAMPAIGN_ID],
        "get": operation("campaignStatus", "Messages by status, for a progress bar",
                         {"200": answer("counts by status", ref("CampaignStatus"))}, tag="campaigns", found=True),
    },
    "/campaigns/{campaign_id}/report": {
        "parameters": [CAMPAIGN_ID],
        "get": operation("campaignReport", "Recipients, delivered, failed with reasons, cost",
                         {"200": answer("the report", ref("CampaignReport"))}, tag="campaigns", found=True),
    },
    "/campaigns/{campaign_id}/tracking": {
        "parameters": [CAMPAIGN_ID],
        "get": operation("campaignTracking", "A campaign's code, attribution window, click/open tracking and UTM",
                         {"200": answer("the settings", ref("CampaignTracking"))}, tag="campaigns", found=True),
        "put": operation("updateCampaignTracking", "Change them; they apply to messages and purchases from now on",
                         {"200": answer("the settings", ref("CampaignTracking"))}, tag="campaigns", write=True,
                         found=True, request=body("CampaignTrackingUpdate")),
    },
    "/conversions": {
        "post": operation(
            "recordConversion", "Report a purchase; it is attributed to a campaign at once",
            {"201": answer("the new conversion", ref("Conversion")),
             "200": answer("this order id was recorded before: that conversion (duplicate: true)", ref("Conversion"))},
            tag="conversions", write=True, request=body("ConversionInput"),
        ),
    },
    "/conversions/import": {
        "post": operation(
            "importConversions", "Import purchases from a CSV or Excel file; bad rows are listed with line and reason",
            {"200": answer("what the import did", ref("ConversionImportReport"))}, tag="conversions", write=True,
            request={"required": True, "content": {"multipart/form-data": {"schema": obj(
                {"file": {"type": "string", "contentMediaType": "application/octet-stream",
                          "description": ".csv or .xlsx with columns order_id, amount, currency, occurred_at, "
                          "external_id/email/phone, product, category, campaign_code (English or Chinese headers)"}},
            )}}},
        ),
    },
    "/openapi.json": {
        "get": {
            "operationId": "openapi", "summary": "This document", "tags": ["meta"], "security": [],
            "responses": {"200": answer("the OpenAPI document", {"type": "object"})},
        },
    },
}
