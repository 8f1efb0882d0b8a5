"""The OpenAPI 3.1 document for /api/v1, built as Python data next to the routes it describes.

tests/web/test_api_openapi.py walks the app's url_map and checks that every /api/v1 route and
method is documented here and every documented one exists, and validates real responses against
the schemas below, so this file cannot drift from the code unnoticed.
"""

from __future__ import annotations

from typing import Any

from audiences import BULK_ACTIONS, CUSTOM_FIELD_TYPES, LIFECYCLE_STAGES, VALUE_TIERS
from web.api import MAX_PER_PAGE, bp, config

JSON = "application/json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def obj(properties: dict[str, Any], *, required: tuple[str, ...] | None = None, description: str = "",
        additional: bool | dict[str, Any] = False) -> dict[str, Any]:
    """An object schema; every property is required unless `required` says otherwise."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
        "additionalProperties": additional,
    }
    if description:
        schema["description"] = description
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
NUMBER = {"type": "number"}
# The campaign report's headline figures (campaigns/report_campaign.py CampaignReport.summary).
_COUNT, _MONEY, _MAYBE = ["integer"], ["string"], ["string", "null"]
REPORT_SUMMARY = {
    "audience": _COUNT, "suppressed": _COUNT, "capped": _COUNT, "held_out": _COUNT, "waiting": _COUNT,
    "sent": _COUNT, "delivered": _COUNT, "failed": _COUNT, "unknown": _COUNT, "opened": _COUNT, "clicked": _COUNT,
    "replied": _COUNT, "unsubscribed": _COUNT, "conversions": _COUNT, "converted": _COUNT, "revenue": _MONEY,
    "variable_cost": _MONEY, "fixed_cost": _MONEY, "cost": _MONEY, "roi": _MAYBE, "cost_per_conversion": _MAYBE,
    "incremental_revenue": _MAYBE, "incremental_roi": _MAYBE,
}
TIMESTAMP = {"type": "string", "format": "date-time"}
CHANNEL = {"type": "string", "enum": ["email", "sms"]}
SENDER = nullable("string", description="email only: a sender name from [channels.email.senders]; null or "
                                        "empty: the default sender of [channels.email]")
PARTS = {
    "subject": {"type": "string", "description": "email: the subject line (Jinja)"},
    "html": {"type": "string", "description": "email: the HTML part (Jinja)"},
    "text": {"type": "string", "description": "email: the plain-text part; derived from html when empty"},
    "body": {"type": "string", "description": "SMS: the message text (Jinja)"},
}

SCHEMAS: dict[str, Any] = {
    # ---- conversions (web/api/conversions.py)
    "ConversionInput": obj(
        {
            "order_id": {"type": "string", "description": "the shop's order id; the same id twice is one conversion"},
            "amount": {"type": ["string", "number"], "description": "in `currency`, e.g. \"128.50\""},
            "currency": {"type": "string", "description": "ISO 4217; default [app] currency. Another currency "
                         "needs a rate in [currency.rates], or the conversion is refused (422)"},
            "occurred_at": {"type": "string", "format": "date-time",
                            "description": "default now; without a zone, [app] default_timezone"},
            "external_id": STRING, "email": STRING, "phone": STRING,
            "product": STRING, "category": STRING,
            "campaign_code": {"type": "string", "description": "credits the campaign with this code explicitly"},
        },
        required=("order_id", "amount"),
        description="Whose purchase: external_id, email or phone (the first that matches a contact wins).",
    ),
    "Conversion": obj({
        "id": INTEGER,
        "order_id": STRING,
        "contact_id": INTEGER,
        "amount": {"type": "string", "description": "a decimal amount in `currency`"},
        "currency": STRING,
        "amount_base": {"type": "string", "description": "the amount in `base_currency`, at the configured rate"},
        "base_currency": {"type": "string", "description": "the workspace currency, [app] currency"},
        "occurred_at": TIMESTAMP,
        "product": STRING,
        "category": STRING,
        "campaign_code": nullable("string"),
        "campaign_id": nullable("integer", description="the campaign it is attributed to"),
        "message_id": nullable("integer", description="the message clicked or received, when there was one"),
        "attribution": {"type": "string", "enum": ["code", "click", "receipt", "none"],
                        "description": "the rule that decided: explicit code; else the last click, else the last "
                        "message received, within the campaign's attribution window; else none"},
        "source": {"type": "string", "enum": ["api", "import"]},
        "created_at": TIMESTAMP,
        "duplicate": {"type": "boolean", "description": "true: the order id was recorded before; this is that one"},
    }),
    "CampaignTracking": obj({
        "campaign_id": INTEGER,
        "code": nullable("string", description="credits purchases reported with this code to the campaign"),
        "attribution_window_days": {"type": "integer", "minimum": 1, "maximum": 90},
        "track_clicks": {"type": "boolean", "description": "links go through {base_url}/l/…"},
        "track_opens": {"type": "boolean", "description": "email open pixel; only when [tracking] opens is on"},
        "utm_source": STRING, "utm_medium": STRING, "utm_campaign": STRING,
    }),
    "CampaignTrackingUpdate": obj(
        {"code": nullable("string"), "attribution_window_days": INTEGER, "track_clicks": BOOLEAN,
         "track_opens": BOOLEAN, "utm_source": STRING, "utm_medium": STRING, "utm_campaign": STRING},
        required=(), description="The fields to change; fields left out keep their value.",
    ),
    "RejectedConversion": obj({
        "line": nullable("integer", description="the file line; the header is line 1"),
        "order_id": STRING,
        "reason": STRING,
        "values": {"type": "object", "additionalProperties": STRING},
    }),
    "ConversionImportReport": obj(
        {
            "recorded": INTEGER,
            "duplicates": {"type": "integer", "description": "order ids recorded before (or earlier in the file)"},
            "skipped": INTEGER,
            "rejected": {"type": "array", "items": ref("RejectedConversion")},
            "rejected_count": INTEGER,
            "attribution": {"type": "object", "additionalProperties": INTEGER,
                            "description": "recorded conversions by rule: code, click, receipt, none"},
            "total_rows": INTEGER,
        },
        description="total_rows = recorded + duplicates + rejected_count (blank rows are not counted)",
    ),
    "Error": obj(
        {"error": STRING, "message": STRING, "field": STRING, "line": INTEGER},
        required=("error", "message"),
        description="What went wrong, naming the thing, the value and the fix; `field` is the request field at "
        "fault and `line` the template or file line, when there is one.",
    ),
    "Contact": obj({
        "id": INTEGER,
        "external_id": nullable("string"),
        "email": nullable("string", format="email"),
        "phone": nullable("string", description="E.164, e.g. +8613800138000"),
        "first_name": STRING,
        "last_name": STRING,
        "name": STRING,
        "company": STRING,
        "country": nullable("string", description="ISO 3166-1 alpha-2"),
        "locale": nullable("string"),
        "time_zone": nullable("string", description="IANA time zone"),
        "birthday": nullable("string", format="date"),
        "region": {"type": "string", "description": "province, state or city"},
        "owner_id": nullable("integer", description="the Herald user who looks after the contact"),
        "lifecycle_stage": nullable("string", enum=[*LIFECYCLE_STAGES, None]),
        "value_tier": nullable("string", enum=[*VALUE_TIERS, None]),
        "source": STRING,
        "notes": STRING,
        "rfm": obj({"recency": nullable("integer"), "frequency": nullable("integer"), "monetary": nullable("integer"),
                    "updated_at": nullable("string", format="date-time")},
                   description="RFM quintile scores 1-5, computed from conversions by a scheduled job (read-only)"),
        "attributes": {"type": "object", "description": "custom attributes; defined custom fields hold typed values "
                       "(number, boolean, date as YYYY-MM-DD, choice)"},
        "tags": {"type": "array", "items": STRING},
        "dates": {"type": "array", "items": ref("ContactDate")},
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }),
    "Deleted": obj({"id": INTEGER, "deleted": {"type": "boolean", "const": True}},
                   description="The record with this id is gone."),
    "ConsentInput": obj({"channel": CHANNEL,
                         "status": {"type": "string", "enum": ["subscribed", "unsubscribed", "bounced", "complained"]},
                         "source": {"type": "string", "description": "where the change came from; default \"api\""}},
                        required=("channel", "status")),
    "ConsentState": obj({
        "current": {"type": "object", "description": "per channel (email, sms); no recorded change means subscribed",
                    "additionalProperties": obj({"status": STRING, "source": STRING,
                                                 "changed_at": nullable("string", format="date-time")})},
        "history": {"type": "array", "items": obj({"channel": CHANNEL, "status": STRING, "source": STRING,
                                                   "changed_at": TIMESTAMP,
                                                   "changed_by": nullable("integer", description="a Herald user")})},
    }),
    "TimelineEntry": obj({
        "time": TIMESTAMP,
        "kind": {"type": "string", "description": "message, event or conversion (more kinds as Herald grows)"},
        "title": STRING, "detail": STRING,
        "status": {"type": "string", "description": "the message status, event type or attribution rule"},
        "channel": nullable("string"), "campaign_id": nullable("integer"), "message_id": nullable("integer"),
    }),
    "ContactDate": obj({"id": INTEGER, "kind": {"type": "string", "description": "e.g. company_anniversary, "
                        "contract_renewal, membership"}, "date": {"type": "string", "format": "date"}, "note": STRING}),
    "ContactDateInput": obj({"kind": STRING, "date": {"type": "string", "format": "date"}, "note": STRING},
                            required=("kind", "date")),
    "ContactInput": obj(
        {
            **{name: STRING for name in ("external_id", "email", "phone", "first_name", "last_name", "name",
                                         "company", "country", "locale", "time_zone")},
            "birthday": {"type": "string", "format": "date"},
            **{name: STRING for name in ("region", "lifecycle_stage", "value_tier", "source", "notes")},
            "owner_id": nullable("integer", description="a Herald user's id"),
            "attributes": {"type": "object", "description": "custom values; those of a defined custom field are "
                           "checked against its type (422 naming the field otherwise)"},
            "tags": {"type": "array", "items": STRING},
            "dates": {"type": "array", "items": ref("ContactDateInput")},
        },
        required=(),
        description="At least an email or a phone. Phones without a country code use [app] default_region; "
        "`name` is split into first and last name unless those are given. In a PATCH only the fields sent "
        "change: null or \"\" clears a field, attributes merge (null removes a key), tags and dates replace "
        "the whole set.",
    ),
    "ContactSelection": obj(
        {"search": STRING, "list_id": INTEGER, "tag": STRING,
         "owner_id": {"type": "integer", "description": "0: contacts with no owner"},
         "segment_id": INTEGER, "contact_ids": {"type": "array", "items": INTEGER}},
        required=(), description="Which contacts: every part given must hold. Empty means every contact.",
    ),
    "BulkAction": obj(
        {"action": {"type": "string", "enum": list(BULK_ACTIONS)},
         "selection": ref("ContactSelection"),
         "tag": {"type": "string", "description": "add_tag, remove_tag"},
         "list_id": {"type": "integer", "description": "add_to_list, remove_from_list"},
         "owner_id": nullable("integer", description="assign_owner; null for nobody"),
         "expected_count": {"type": "integer", "description": "delete: the number of contacts the user confirmed; "
                            "409 when the selection holds another number now"}},
        required=("action",),
    ),
    "BulkResult": obj({"action": STRING, "changed": {"type": "integer", "description": "contacts changed"}}),
    "CustomField": obj({"id": INTEGER, "key": STRING, "label": STRING,
                        "type": {"type": "string", "enum": list(CUSTOM_FIELD_TYPES)},
                        "choices": {"type": "array", "items": STRING}, "created_at": TIMESTAMP}),
    "CustomFieldInput": obj(
        {"key": {"type": "string", "description": "lowercase letters, digits and _; fixed once created"},
         "label": STRING, "type": {"type": "string", "enum": list(CUSTOM_FIELD_TYPES)},
         "choices": {"type": "array", "items": STRING, "description": "a choice field's values"}},
        required=("key", "type"), description="In a PATCH: label, type and choices only.",
    ),
    "Tag": obj({"id": INTEGER, "name": STRING, "contacts": {"type": "integer", "description": "contacts with it"},
                "created_at": TIMESTAMP}),
    "Suppression": obj({"id": INTEGER, "channel": CHANNEL, "address": STRING, "reason": STRING, "source": STRING,
                        "created_at": TIMESTAMP}),
    "SuppressionPage": obj({"items": {"type": "array", "items": ref("Suppression")}, "total": INTEGER,
                            "page": INTEGER, "per_page": INTEGER}),
    "SuppressionInput": obj(
        {"addresses": {"type": "array", "items": STRING},
         "channel": {"type": "string", "enum": ["email", "sms"],
                     "description": "default: email for addresses with an @, else sms"},
         "reason": STRING},
        required=("addresses",),
    ),
    "SuppressionReport": obj({"added": INTEGER, "already": INTEGER,
                              "rejected": {"type": "array", "items": STRING,
                                           "description": "one sentence per address not understood"}}),
    "ContactPage": obj({
        "items": {"type": "array", "items": ref("Contact")},
        "total": INTEGER,
        "page": INTEGER,
        "per_page": INTEGER,
    }),
    "RejectedRow": obj({
        "row": {"type": "integer", "description": "line number in the file; the header is line 1"},
        "reason": STRING,
        "values": {"type": "object", "additionalProperties": STRING},
    }),
    "ImportReport": obj(
        {
            "imported": INTEGER,
            "updated": INTEGER,
            "skipped": INTEGER,
            "duplicates_in_file": INTEGER,
            "rejected": {"type": "array", "items": ref("RejectedRow")},
            "rejected_count": {"type": "integer", "description": "every rejected row; `rejected` lists the first 1000"},
            "duplicates": {"type": "array", "items": ref("DuplicateRow"),
                           "description": "rows that repeat a contact an earlier row wrote (first 1000)"},
            "skipped_existing": {"type": "integer", "description": "mode skip: rows of contacts already in Herald"},
            "mode": {"type": "string", "enum": ["update", "skip", "new-only"]},
            "list_id": nullable("integer"),
            "columns": {"type": "object", "additionalProperties": STRING,
                        "description": "column -> contact field, name, tags, attributes.<name> or ignored"},
            "total_rows": INTEGER,
            "encoding": {"type": "string",
                         "description": "what the file turned out to be: UTF-8, UTF-16, GB18030, GBK, XLSX"},
            "filename": STRING,
        },
        description="total_rows = imported + updated + duplicates_in_file + skipped + rejected_count",
    ),
    "DuplicateRow": obj({
        "row": {"type": "integer", "description": "line number in the file"},
        "first_row": {"type": "integer", "description": "the earlier line it was merged into"},
        "matched_by": {"type": "string", "enum": ["external_id", "email", "phone"]},
    }),
    "List": obj({
        "id": INTEGER,
        "name": STRING,
        "description": STRING,
        "members": INTEGER,
        "created_at": TIMESTAMP,
    }),
    "ListInput": obj({"name": STRING, "description": STRING}, required=("name",)),
    "Segment": obj({
        "id": INTEGER,
        "name": STRING,
        "rules": ref("SegmentRules"),
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }),
    "SegmentRules": {
        "type": "object",
        "description": 'A group: {"all": [...]} (every rule) or {"any": [...]} (at least one), nested up to 8 '
        'levels; its items are groups or conditions {"field", "op", "value"}. Fields: first_name, last_name, email, '
        "phone, company, country, locale, time_zone, external_id, birthday, created_at, attributes.<name>, list, "
        "consent.email, consent.sms. Operators: eq, neq, contains, starts_with, in, not_in, empty, not_empty, gt, "
        "gte, lt, lte, between, birthday_within_days, older_than_days, newer_than_days. A bad rule is refused with "
        "422 naming its path, e.g. rules.all[2].field.",
    },
    "SegmentInput": obj({"name": STRING, "rules": ref("SegmentRules")}),
    "SegmentUpdate": obj({"name": STRING, "rules": ref("SegmentRules")}, required=(),
                         description="The fields to change; fields left out keep their value."),
    "SegmentCountInput": obj(
        {"rules": ref("SegmentRules"),
         "sample_size": {"type": "integer", "minimum": 0, "maximum": 100, "default": 10}},
        required=("rules",),
    ),
    "SegmentRuleEffect": obj({
        "path": {"type": "string", "description": "the rule's path, e.g. rules.all[1]"},
        "rule": {"type": "object"},
        "count_alone": {"type": "integer", "description": "contacts this rule keeps on its own"},
        "excluded": {"type": "integer",
                     "description": "contacts the other rules keep that this one removes (0 in an any-group)"},
    }),
    "SegmentCount": obj({
        "count": INTEGER,
        "sample": {"type": "array", "items": ref("Contact"), "description": "matching contacts, lowest ids first"},
        "explain": {"type": "array", "items": ref("SegmentRuleEffect"), "description": "one per top-level rule"},
    }),
    "Template": obj({
        "id": INTEGER,
        "name": STRING,
        "channel": CHANNEL,
        **PARTS,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }),
    "TemplateInput": obj({"name": STRING, "channel": CHANNEL, **PARTS}, required=("name", "channel")),
    "TemplateUpdate": obj({"name": STRING, **PARTS}, required=(),
                          description="The fields to change; fields left out keep their value."),
    "PreviewInput": obj(
        {"channel": CHANNEL, **PARTS, "contact_id": nullable("integer", description="sample data when absent")},
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
        "approved_by": nullable("integer"),
        "approved_at": nullable("string", format="date-time"),
        "created_by": nullable("integer"),
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }),
    "CampaignInput": obj(
        {"name": STRING, "channel": CHANNEL, "template_id": INTEGER,
         "list_id": nullable("integer", description="null or absent: all contacts"),
         "kind": {"type": "string", "enum": ["broadcast", "event_notice"],
                  "description": "event_notice: ahead of marketing traffic, no caps or quiet hours, at least once"},
         "segment_id": nullable("integer", description="only the audience's members of this saved segment"),
         "operational": {"type": "boolean", "description": "also send to addresses on the suppression list"},
         "ignore_caps": BOOLEAN,
         "cap_messages": nullable("integer", description="this campaign's frequency cap; 0 = none"),
         "cap_days": nullable("integer"), "sender": SENDER},
        required=("name", "channel", "template_id"),
    ),
    # ---- lifecycle and controls (web/api/campaign_controls.py, campaigns/states.py)
    "CampaignUpdate": obj(
        {"name": STRING, "template_id": INTEGER, "list_id": nullable("integer"), "segment_id": nullable("integer"),
         "operational": BOOLEAN, "ignore_caps": BOOLEAN, "cap_messages": nullable("integer"),
         "cap_days": nullable("integer"), "sender": SENDER},
        required=(), description="any of the fields; only a draft can change",
    ),
    "CommentInput": obj({"comment": STRING}, required=(),
                        description="optional, except for a rejection, which must say why"),
    "CancelResult": obj({"campaign": ref("Campaign"), "cancelled_messages": INTEGER}),
    "Estimate": obj({
        "campaign_id": INTEGER,
        "channel": CHANNEL,
        "audience": {"type": "integer", "description": "everyone the campaign is for, before exclusions"},
        "sendable": {"type": "integer", "description": "will get a message: after consent, the suppression list, "
                     "the frequency cap and the holdout"},
        "held_out": {"type": "integer", "description": "reachable, but in the campaign's holdout group: no message"},
        "excluded": {"type": "object", "additionalProperties": INTEGER,
                     "description": "no_address, opted_out, suppression_list, frequency_cap -> recipients"},
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
    }),
    "Transition": obj({"from": nullable("string"), "to": STRING, "user": nullable("string",
                       description="null: Herald itself"), "comment": STRING, "at": TIMESTAMP}),
    "FallbackInput": obj({"template_id": INTEGER, "after_minutes": {"type": "integer", "minimum": 0,
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
                       "points": {"type": "array", "items": obj({
                           "at": {"type": "string", "description": "2026-11-23 14 (hour) or 2026-11-23 (day), UTC"},
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
        "not_sent": {"type": "integer", "description": "suppressed, capped, held out, cancelled, failed unsent"},
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
        "p_value": nullable("number"), "significant": BOOLEAN,
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


# ---------------------------------------------------------------- operations
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


def path_id(name: str, what: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": f"the {what}'s id", "schema": INTEGER}


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
    if request is not None or parameters and any(p["in"] == "query" for p in parameters):
        out["responses"]["422"] = error("a field is missing or not acceptable; `field` names it")
    return out


CONTACT_ID = path_id("contact_id", "contact")
SEGMENT_ID = path_id("segment_id", "segment")
TEMPLATE_ID = path_id("template_id", "template")
CAMPAIGN_ID = path_id("campaign_id", "campaign")

PATHS: dict[str, dict[str, Any]] = {
    "/contacts": {
        "get": operation(
            "listContacts", "Contacts, newest first, one page at a time",
            {"200": answer("a page of contacts", ref("ContactPage"))}, tag="contacts",
            parameters=[
                query("search", STRING, "matches name, email or phone"),
                query("list_id", INTEGER, "only the members of this list"),
                query("tag", STRING, "only contacts with this tag"),
                query("owner_id", INTEGER, "only contacts of this owner; 0 for contacts with no owner"),
                query("segment_id", INTEGER, "only contacts matching this saved segment today"),
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
                             'field, name, tags, attributes.<name> or ignore'}},
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
                query("segment_id", INTEGER, "the contacts of this saved segment, as it matches today"),
                query("list_id", INTEGER, "the members of this list"),
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
            "previewTemplate", "Render template parts for a contact, with the SMS size",
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
                         parameters=[query("country", STRING, "ISO country code, e.g. CN (required)"),
                                     query("year", INTEGER, "default: this year")]),
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
                          tag="campaigns", write=True, found=True, request=body("CommentInput")),
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


def document(base_url: str) -> dict[str, Any]:
    """The whole OpenAPI document, with the server URL of this installation."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Herald API",
            "version": "1",
            "description": "Contacts, lists, segments, templates and campaigns. Authenticate with "
            "`Authorization: Bearer <token>`; get a token with `herald user token EMAIL`. Users with the analyst "
            "role may read but not write. Errors are JSON: {error, message, field?, line?}.",
        },
        "servers": [{"url": base_url.rstrip("/") + bp.url_prefix}],
        "security": [{"bearerToken": []}],
        "tags": [{"name": name} for name in ("contacts", "lists", "segments", "templates", "campaigns",
                                             "conversions", "meta")],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearerToken": {"type": "http", "scheme": "bearer",
                                                "description": "from `herald user token EMAIL`"}},
            "schemas": SCHEMAS,
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    """Public, like most API descriptions: it holds no data, and clients read it before they have a token."""
    return document(config().base_url)
