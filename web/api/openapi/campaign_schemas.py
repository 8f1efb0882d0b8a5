"""The campaign half of the OpenAPI schemas: templates, campaigns, schedules, runs and reports."""

from __future__ import annotations

from typing import Any

from web.api.openapi.schemas import (
    BOOLEAN,
    CHANNEL,
    INTEGER,
    NAME,
    NUMBER,
    PARTS,
    REPORT_SUMMARY,
    ROW_ID,
    SENDER,
    STRING,
    TIMESTAMP,
    maybe_id,
    nullable,
    obj,
    ref,
)

# A part sent as null is taken as empty, as the API has always read it.
INPUT_PARTS = {name: {**schema, "type": ["string", "null"]} for name, schema in PARTS.items()}
# The per-campaign frequency cap (campaigns/lifecycle.py CAP_LIMITS); null: [caps] from config.toml.
CAP_MESSAGES = {"type": ["integer", "null"], "minimum": 0, "maximum": 1000,
                "description": "this campaign's frequency cap in messages; 0 = none; null: [caps] messages"}
CAP_DAYS = {"type": ["integer", "null"], "minimum": 1, "maximum": 3650,
            "description": "how many days back the cap counts; null: [caps] days"}

# SMS bound to a provider's registered template (Alibaba Cloud, Tencent Cloud): campaigns/content/provider_templates.py.
PROVIDER_TEMPLATE = {"type": "string", "maxLength": 64,
                     "description": "SMS: the provider's template code (SMS_154950909, 1110); the body is then the "
                                    "registered text with placeholders ${name} or {1}; empty = not bound"}
PROVIDER_PARAMS = {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "SMS: each placeholder of the registered text mapped to a Jinja expression, "
                                  "in order, e.g. {\"name\": \"{{ contact.first_name }}\"}"}
BINDING = {"provider_template": PROVIDER_TEMPLATE, "provider_params": PROVIDER_PARAMS}
# nullable() takes a type name: these are whole schemas, so their type gains "null" instead (a schema was written
# into "type", which schemathesis refused as an invalid document).
INPUT_BINDING = {"provider_template": {**PROVIDER_TEMPLATE, "type": ["string", "null"]},
                 "provider_params": {**PROVIDER_PARAMS, "type": ["object", "null"]}}

CAMPAIGN_SCHEMAS: dict[str, Any] = {
    "Template": obj({
        "id": INTEGER,
        "name": STRING,
        "channel": CHANNEL,
        **PARTS,
        **BINDING,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }),
    "TemplateInput": obj({"name": NAME, "channel": CHANNEL, **INPUT_PARTS, **INPUT_BINDING},
                         required=("name", "channel")),
    "TemplateUpdate": obj({"name": NAME, **INPUT_PARTS, **INPUT_BINDING}, required=(),
                          description="The fields to change; fields left out keep their value."),
    "PreviewInput": obj(
        {"channel": CHANNEL, **INPUT_PARTS, **INPUT_BINDING, "contact_id": maybe_id("sample data when absent or null")},
        required=("channel",),
    ),
    "SmsSize": obj({
        "segments": INTEGER,
        "encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]},
        "characters": INTEGER,
        "per_segment": INTEGER,
        "remaining": INTEGER,
    }),
    "Preview": obj({
        **{name: STRING for name in PARTS},
        "sms": {"oneOf": [ref("SmsSize"), {"type": "null"}], "description": "SMS only: how it will be billed"},
        "contact_id": nullable("integer", description="whose data filled it in; null: a placeholder sample"),
        "short_links": {"type": "boolean", "description": "SMS: the size counts each link as the short link it "
                        "will be sent as ([tracking] sms_short_links)"},
        "checks": {"type": "array", "items": ref("Finding"),
                   "description": "the pre-send checks of what was rendered, errors first; it passes when none is "
                                  "an error or a warning"},
    }),
    "Finding": obj({
        "check": {"type": "string", "description": "the check: opt_out, links, images, size, subject, spam, gsm7, "
                                                   "segments, short_links, signature"},
        "level": {"type": "string", "enum": ["error", "warning", "note"],
                  "description": "error: breaks for recipients; warning: fix before a marketing send; note: to know"},
        "code": {"type": "string", "description": "what was found, e.g. link_local, gsm7_forced_ucs2, sms_segments"},
        "message": {"type": "string", "description": "in English: the thing, the value and the fix"},
        "values": {"type": "object", "description": "the finding's values (the link, the characters with their "
                                                    "position and GSM-7 replacement, segments and cost)"},
    }),
    "Campaign": obj({
        "id": INTEGER,
        "name": STRING,
        "kind": STRING,
        "channel": CHANNEL,
        "template_id": INTEGER,
        "list_id": nullable("integer", description="null: all contacts"),
        "status": STRING,
        "guarantee": {"type": "string", "enum": ["at_most_once", "at_least_once"]},
        "sender": SENDER,
        "segment_id": nullable("integer", description="a saved segment narrowing the audience on the day it sends"),
        "operational": BOOLEAN,
        "ignore_caps": BOOLEAN,
        "cap_messages": nullable("integer", description="null: [caps] messages from config.toml"),
        "cap_days": nullable("integer", description="null: [caps] days from config.toml"),
        "fallback_of_id": nullable("integer", description="the event notice this campaign re-sends"),
        "fallback_template_id": nullable("integer", description="event notice: the other channel's template its "
                                         "planned fallback re-sends; null: no fallback planned"),
        "fallback_after_minutes": nullable("integer", description="event notice: minutes after it starts sending "
                                           "that the scheduler re-sends it to everyone not delivered"),
        "approved_by": nullable("integer"),
        "approved_at": nullable("string", format="date-time"),
        "created_by": nullable("integer"),
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }),
    "CampaignInput": obj(
        {"name": NAME, "channel": CHANNEL, "template_id": ROW_ID,
         "list_id": maybe_id("null or absent: all contacts"),
         "kind": {"type": "string", "enum": ["broadcast", "event_notice"],
                  "description": "event_notice: ahead of marketing traffic, no caps or quiet hours, at least once"},
         "segment_id": maybe_id("only the audience's members of this saved segment"),
         "operational": {"type": "boolean", "description": "also send to addresses on the suppression list"},
         "ignore_caps": BOOLEAN,
         "cap_messages": CAP_MESSAGES, "cap_days": CAP_DAYS, "sender": SENDER,
         "fallback_template_id": maybe_id("event_notice only: a template of the other channel, re-sent "
                                          "automatically to everyone not delivered"),
         "fallback_after_minutes": {"type": "integer", "minimum": 0, "maximum": 10080,
                                    "description": "event_notice only: minutes after it starts sending; "
                                                   "default 10 when a fallback template is given"}},
        required=("name", "channel", "template_id"),
    ),
    # ---- lifecycle and controls (web/api/campaign_controls.py, campaigns/states.py)
    "CampaignUpdate": obj(
        {"name": NAME, "template_id": ROW_ID, "list_id": maybe_id(), "segment_id": maybe_id(),
         "operational": BOOLEAN, "ignore_caps": BOOLEAN, "cap_messages": CAP_MESSAGES, "cap_days": CAP_DAYS,
         "sender": SENDER},
        required=(), description="any of the fields; only a draft can change",
    ),
    "CommentInput": obj({"comment": STRING}, required=(), description="optional"),
    "RejectInput": obj({"comment": {"type": "string", "minLength": 1, "pattern": "\\S"}},
                       description="a rejection must say why"),
    "CancelResult": obj({"campaign": ref("Campaign"), "cancelled_messages": INTEGER}),
    "Estimate": obj({
        "campaign_id": INTEGER,
        "channel": CHANNEL,
        "audience": {"type": "integer", "description": "everyone the campaign is for, before exclusions"},
        "sendable": {"type": "integer", "description": "will get a message: after consent, the suppression list, "
                     "the frequency cap and the holdout"},
        "held_out": {"type": "integer", "description": "reachable, but in the campaign's holdout group: no message"},
        "excluded": {"type": "object", "additionalProperties": INTEGER,
                     "description": "no_address, opted_out, suppression_list, duplicate_address, frequency_cap "
                                    "-> recipients"},
        "segments_per_message": nullable("string", description="SMS: average over a rendered sample, decimal"),
        "segments": nullable("integer"),
        "sample_size": INTEGER,
        "cost": {"type": "string", "description": "decimal, in `currency`"},
        "currency": STRING,
        "pricing": {"type": "array", "description": "one line per rate plan used, then the configured price "
                    "(plan_id null) for what no plan covers", "items": obj({
                        "plan_id": nullable("integer"), "recipients": INTEGER,
                        "units": {"type": "integer", "description": "SMS segments or emails"},
                        "free_units": {"type": "integer", "description": "from the plan's free quota left this month"},
                        "unit_price": {"type": "string", "description": "decimal"}, "currency": STRING,
                        "cost": {"type": "string", "description": "decimal, in the line's currency"}})},
        "rate": {"type": "string", "description": "the channel's send rate, e.g. 10/second"},
        "first_send_at": nullable("string", format="date-time"),
        "last_send_at": nullable("string", format="date-time"),
        "occasions": {"oneOf": [ref("EstimateOccasions"), {"type": "null"}],
                      "description": "a date-rule or holiday campaign greets on occasions, not in one blast: its "
                                     "calendar; sendable and cost are then for greeting everyone reachable once"},
    }),
    "EstimateOccasions": obj({
        "days_ahead": INTEGER,
        "time_of_day": {"type": "string", "description": "09:00"},
        "time_zone": {"type": "string", "description": "the sender's zone, or recipient for each one's own"},
        "recipients": {"type": "integer", "description": "greeted in the next days_ahead days from the next firing"},
        "cost": {"type": "string", "description": "decimal, in the estimate's currency: those recipients"},
        "cost_per_recipient": {"type": "string", "description": "decimal, at the list price (no free quota)"},
        "greetable": {"type": "integer", "description": "reachable contacts that have the date"},
        "occasions": {"type": "array", "items": obj({
            "day": {"type": "string", "format": "date"}, "fire_at": TIMESTAMP, "recipients": INTEGER,
            "names": {"type": "array", "items": STRING, "description": "the first few recipients"},
            "cost": STRING})},
        "months": {"type": "array", "description": "the next 12 months, from the next firing's",
                   "items": obj({"month": {"type": "string", "description": "2027-03"}, "recipients": INTEGER,
                                 "cost": STRING})},
    }),
    "Transition": obj({"from": nullable("string"), "to": STRING, "user": nullable("string",
                       description="null: Herald itself"), "comment": STRING, "at": TIMESTAMP}),
    "FallbackInput": obj({"template_id": ROW_ID, "after_minutes": {"type": "integer", "minimum": 0,
                          "description": "default 10"}}, required=("template_id",)),
    "FallbackResult": obj({"campaign": ref("Campaign"), "run": ref("Run"), "recipients": INTEGER}),
    # ---- schedules (web/api/schedules.py, campaigns/schedules.py)
    "Schedule": obj(
        {
            "kind": {"type": "string", "enum": ["at", "recurring", "date_rule", "holiday"],
                     "description": "at: once at a local time; recurring: a cron rule; date_rule: each contact on "
                     "their date; holiday: on a holiday of a country's calendar, every year"},
            "time_zone": {"type": "string", "description": "the sender's IANA zone; default [app] default_timezone"},
            "per_recipient": {"type": "boolean", "description": "at, date_rule, holiday: the local time is each "
                              "recipient's own (contacts without a zone: [app] default_timezone)"},
            "quiet_hours": {"type": "string", "description": "recipient-local HH:MM-HH:MM, or \"off\"; absent: "
                            "[campaigns] quiet_hours. Event notices ignore them"},
            "send_at": {"type": "string", "description": "at: local YYYY-MM-DDTHH:MM, no offset"},
            "cron": {"type": "string", "description": "recurring: 5 fields, minute hour day month weekday "
                     "(0 or 7 = Sunday), in time_zone"},
            "end_date": {"type": "string", "format": "date", "description": "recurring: last day, inclusive"},
            "max_runs": {"type": "integer", "minimum": 1, "description": "recurring: at most this many runs"},
            "time_of_day": {"type": "string", "description": "date_rule, holiday: HH:MM"},
            "date_source": {"type": "string", "description": "date_rule: birthday, date:<kind> (an important "
                            "date) or attribute:<name> (a custom field holding YYYY-MM-DD)"},
            "offset_days": {"type": "integer", "description": "date_rule: -3 sends three days before the date"},
            "feb29": {"type": "string", "enum": ["feb28", "mar1"],
                      "description": "date_rule: when 29 February dates count in other years; absent: "
                      "[campaigns] feb29_birthdays"},
            "holiday": {"type": "string", "description": "holiday: its name, as GET /holidays lists it"},
            "country": {"type": "string", "description": "holiday: ISO code of the calendar, e.g. CN"},
        },
        required=("kind",),
        description="When a campaign sends. A person gets a date-rule message once per occasion "
        "(e.g. birthday:2027), however often the rule fires.",
    ),
    "ScheduleInput": obj({"schedule": {"oneOf": [ref("Schedule"), {"type": "null"}],
                                       "description": "null: the campaign is sent by hand (Send now)"}}),
    "CampaignSchedule": obj({
        "campaign_id": INTEGER,
        "status": STRING,
        "schedule": {"oneOf": [ref("Schedule"), {"type": "null"}]},
        "description": nullable("string", description="the schedule in a sentence"),
        "next_firings": {"type": "array", "items": TIMESTAMP,
                         "description": "up to the next 10 firings (UTC); empty once finished or unscheduled"},
    }),
    "RunSummary": obj({
        "id": INTEGER,
        "occasion_key": {"type": "string", "description": "once, a firing time, date:YYYY-MM-DD or holiday:…"},
        "status": {"type": "string", "description": "running, paused, completed, failed (every message tried "
                   "failed, none was sent), cancelled, or missed (the "
                   "scheduler was down beyond the grace window; nothing was sent)"},
        "fired_at": nullable("string", format="date-time", description="the firing it belongs to"),
        "started_at": TIMESTAMP,
        "finished_at": nullable("string", format="date-time"),
        "dry_run": BOOLEAN,
        "notes": {"type": "string", "description": "what the scheduler said: late, coalesced, missed, …"},
        "counts": {"type": "object", "additionalProperties": INTEGER, "description": "messages by status"},
        "total": INTEGER,
    }),
    "HolidayList": obj({
        "country": STRING,
        "year": INTEGER,
        "items": {"type": "array", "items": obj({"name": STRING, "date": nullable("string", format="date")})},
    }),
    "Run": obj({
        "id": INTEGER,
        "campaign_id": INTEGER,
        "occasion_key": STRING,
        "status": STRING,
        "channel_url": {"type": "string", "description": "the channel it went through, secrets masked"},
        "dry_run": {"type": "boolean", "description": "true: messages are written to files, nothing is delivered"},
        "started_at": TIMESTAMP,
        "finished_at": nullable("string", format="date-time"),
    }),
    "CampaignStatus": obj({
        "campaign_id": INTEGER,
        "status": {"type": "string", "description": "the campaign's own status: draft, running, completed, …"},
        "counts": {"type": "object", "additionalProperties": INTEGER,
                   "description": "messages by status, every status included"},
        "total": INTEGER,
        "dry_run": BOOLEAN,
    }),
    "Failure": obj({"code": nullable("string"), "reason": nullable("string"), "count": INTEGER}),
    "CampaignReport": obj({
        "campaign_id": INTEGER,
        "name": STRING,
        "channel": CHANNEL,
        "status": STRING,
        "recipients": {"type": "integer", "description": "every recipient row, suppressed and cancelled included"},
        "sent": {"type": "integer", "description": "accepted by the provider (sent, delivered, or failed after)"},
        "delivered": INTEGER,
        "failed": INTEGER,
        "unknown": {"type": "integer", "description": "the sender stopped mid-send; never resent (at-most-once)"},
        "suppressed": INTEGER,
        "cancelled": INTEGER,
        "pending": INTEGER,
        "sending": INTEGER,
        "failures": {"type": "array", "items": ref("Failure"), "description": "by code and reason, most first"},
        "cost": {"type": "object", "additionalProperties": {"type": "string", "description": "a decimal amount"},
                 "description": "total cost by currency code, as decimal strings (never floats)"},
        "dry_run": BOOLEAN,
        "started_at": nullable("string", format="date-time"),
        "finished_at": nullable("string", format="date-time"),
        # Issue 6: engagement, money and effect. Money is a decimal string in `currency`, rates are
        # fractions as decimal strings ("0.1250" = 12.5%); the page and the CSV/XLSX exports show the same.
        "kind": STRING,
        "currency": {"type": "string", "description": "the workspace currency every money figure is in"},
        "summary": obj({key: {"type": kinds} for key, kinds in REPORT_SUMMARY.items()},
                       description="the headline figures, as the page and the Summary export show them"),
        "counts": {"type": "object", "additionalProperties": INTEGER, "description": "messages by status"},
        "roi_applicable": {"type": "boolean", "description": "false for an event notice or operational message: "
                                                             "no revenue goal, so summary.roi is null, not a loss"},
        "roi_note": nullable("string", description="why ROI does not apply, when it does not"),
        "fixed_costs": {"type": "array", "items": obj({"label": STRING, "amount": STRING, "currency": STRING})},
        "unconverted_costs": {"type": "object", "additionalProperties": STRING,
                              "description": "costs in a currency without an exchange rate, left out of ROI"},
        "attribution": {"type": "object", "additionalProperties": obj({"conversions": INTEGER, "revenue": STRING}),
                        "description": "conversions and revenue by the rule that attributed them: code, click, "
                                       "receipt"},
        "attribution_window_days": INTEGER,
        "holdout": {"oneOf": [ref("ReportHoldout"), {"type": "null"}]},
        "ab_test": {"oneOf": [ref("ReportAbTest"), {"type": "null"}]},
        "by_variant": {"type": "array", "items": ref("ReportSlice")},
        "by_channel": {"type": "array", "items": ref("ReportSlice")},
        "by_segment": {"type": "object", "additionalProperties": {"type": "array", "items": ref("ReportSlice")},
                       "description": "value_tier, lifecycle_stage, region -> slices"},
        "funnel": {"type": "array", "items": obj({"step": STRING, "people": INTEGER})},
        "series": obj({"grain": {"type": "string", "enum": ["hour", "day"]},
                       "time_zone": {"type": "string", "description": "the workspace's zone the hours are in"},
                       "points": {"type": "array", "items": obj({
                           "at": {"type": "string", "description": "2026-11-23 14 (hour) or 2026-11-23 (day), in "
                                  "time_zone; an hour a DST change repeats carries its offset: 2026-11-01 01 -05:00"},
                           "sent": INTEGER, "delivered": INTEGER, "clicked": INTEGER, "conversions": INTEGER})}}),
        "notes": {"type": "array", "items": STRING},
        "runs": {"type": "array", "items": ref("RunReport"),
                 "description": "each run's own figures, newest first, for a campaign that repeats (recurring, date "
                                "rule, holiday); empty for one sent once, whose totals are its run's"},
    }),
    "RunReport": obj({
        "run_id": INTEGER,
        "occasion_key": {"type": "string", "description": "once, a firing time, date:YYYY-MM-DD or holiday:…"},
        "status": STRING,
        "fired_at": nullable("string", format="date-time", description="the firing it belongs to"),
        "started_at": TIMESTAMP,
        "finished_at": nullable("string", format="date-time"),
        "dry_run": BOOLEAN,
        "notes": {"type": "string", "description": "what the scheduler said: late, coalesced, missed, …"},
        "recipients": {"type": "integer", "description": "every row of the run's audience snapshot"},
        "sent": {"type": "integer", "description": "accepted by the provider (sent, delivered, or failed after)"},
        "delivered": INTEGER, "failed": INTEGER, "unknown": INTEGER,
        "waiting": {"type": "integer", "description": "pending, sending, or waiting for the A/B winner"},
        "not_sent": {"type": "integer",
                     "description": "suppressed, capped, duplicate address, held out, cancelled, failed unsent"},
        "counts": {"type": "object", "additionalProperties": INTEGER, "description": "messages by status"},
        "cost": {"type": "object", "additionalProperties": STRING, "description": "by currency, decimal strings"},
        "failures": {"type": "array", "items": ref("Failure"),
                     "description": "by code and reason (one run's report only; empty in the campaign report)"},
    }),
    "ReportSlice": obj({
        "key": {"type": "string", "description": "the variant label, channel, tier, stage or region; — for none"},
        "audience": INTEGER, "sent": INTEGER, "delivered": INTEGER, "failed": INTEGER, "opened": INTEGER,
        "clicked": INTEGER, "unsubscribed": INTEGER, "conversions": INTEGER, "converters": INTEGER,
        "click_rate": nullable("string"), "conversion_rate": nullable("string"), "revenue": STRING, "cost": STRING,
    }),
    "ReportDifference": obj({
        "difference": NUMBER, "low": NUMBER, "high": NUMBER,
        "p_value": nullable("number", description="to 6 significant digits"),
        "p_value_text": nullable("string", description='as the page writes it: 6 decimals, or "< 0.000001"'),
        "significant": BOOLEAN,
    }, description="a minus b with its 95% confidence interval; significant when p < 0.05"),
    "ReportHoldoutGroup": obj({
        "people": INTEGER, "buyers": INTEGER, "revenue": STRING, "conversion_rate": nullable("string"),
        "revenue_per_head": nullable("string"),
    }),
    "ReportHoldout": obj({
        "sent": ref("ReportHoldoutGroup"), "held_out": ref("ReportHoldoutGroup"),
        "conversion_rate_difference": ref("ReportDifference"),
        "revenue_per_head_difference": ref("ReportDifference"),
        "incremental_revenue": STRING, "incremental_revenue_low": STRING, "incremental_revenue_high": STRING,
        "incremental_roi": nullable("string"), "significant": BOOLEAN,
    }, description="everyone's purchases within the attribution window, sent group against holdout group"),
    "ReportAbTest": obj({
        "metric": STRING, "scores": {"type": "object", "additionalProperties": STRING},
        "leader": nullable("string"), "runner_up": nullable("string"),
        "difference": {"oneOf": [ref("ReportDifference"), {"type": "null"}]}, "significant": BOOLEAN,
        "winner": nullable("string"), "decided_at": nullable("string", format="date-time"),
    }),
}
