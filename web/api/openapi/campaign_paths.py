"""The campaign side of the OpenAPI document's paths (web/api/openapi/__init__.py): templates and their
preview, campaigns and everything done to one (send, schedule, approval, pause, estimate, reports), holidays and
conversions. Built with paths.py's helpers; the contact side and the document itself are in paths.py."""

from __future__ import annotations

from typing import Any

from web.api.openapi.paths import CAMPAIGN_ID, TEMPLATE_ID, answer, body, error, items, operation, path_id, query
from web.api.openapi.schemas import (
    CHANNEL,
    obj,
    ref,
)

CAMPAIGN_PATHS: dict[str, dict[str, Any]] = {
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
}
