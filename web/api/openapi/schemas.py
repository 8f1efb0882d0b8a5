"""The schema builders and the contact-side schemas of the OpenAPI document (web/api/openapi/__init__.py).

Small builders (obj, ref, nullable) keep each schema to the fields it describes; every property is
required unless said otherwise, so a response missing a field fails tests/web/test_api_openapi.py.
"""

from __future__ import annotations

from typing import Any

from audiences import BULK_ACTIONS, CUSTOM_FIELD_TYPES, LIFECYCLE_STAGES, VALUE_TIERS

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
# What inputs really accept (the schemas of answers stay plain): ids are positive and fit a signed 64-bit
# column; a name is 1-200 characters with something besides spaces.
LARGEST_ID = 2**63 - 1
ROW_ID = {"type": "integer", "minimum": 1, "maximum": LARGEST_ID}
NAME = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"}


def maybe_id(description: str = "") -> dict[str, Any]:
    """A row id or null."""
    return {"type": ["integer", "null"], "minimum": 1, "maximum": LARGEST_ID,
            **({"description": description} if description else {})}
BOOLEAN = {"type": "boolean"}
NUMBER = {"type": "number"}
# The campaign report's headline figures (campaigns/results/report_campaign.py CampaignReport.summary).
_COUNT, _MONEY, _MAYBE = ["integer"], ["string"], ["string", "null"]
REPORT_SUMMARY = {
    "audience": _COUNT, "suppressed": _COUNT, "capped": _COUNT, "duplicate": _COUNT, "held_out": _COUNT,
    "waiting": _COUNT,
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

AUDIENCE_SCHEMAS: dict[str, Any] = {
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
                         "status": {"type": "string", "enum": ["subscribed", "unsubscribed", "bounced", "complained",
                                                                       "pending"]},
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
        {"search": STRING, "list_id": ROW_ID, "tag": STRING,
         "owner_id": {"type": "integer", "minimum": 0, "maximum": LARGEST_ID,
                      "description": "0: contacts with no owner"},
         "segment_id": maybe_id(), "contact_ids": {"type": "array", "items": ROW_ID}},
        required=(), description="Which contacts: every part given must hold. Empty means every contact.",
    ),
    "BulkAction": obj(
        {"action": {"type": "string", "enum": list(BULK_ACTIONS)},
         "selection": ref("ContactSelection"),
         "tag": {"type": "string", "description": "add_tag, remove_tag"},
         "list_id": {**ROW_ID, "description": "add_to_list, remove_from_list"},
         "owner_id": maybe_id("assign_owner; null for nobody"),
         "expected_count": {"type": "integer", "minimum": 0, "maximum": LARGEST_ID,
                            "description": "delete: the number of contacts the user confirmed; "
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
        {"addresses": {"type": "array", "items": STRING, "minItems": 1},
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
    "WarnedRow": obj({
        "row": {"type": "integer", "description": "line number in the file; the header is line 1"},
        "field": {"type": "string", "enum": ["email", "phone"], "description": "the address left out"},
        "value": {"type": "string", "description": "the address as the file had it"},
        "reason": {"type": "string", "description": "why, and how to fix it"},
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
            "warned": {"type": "array", "items": ref("WarnedRow"),
                       "description": "rows imported without a bad email or phone (first 1000)"},
            "warned_count": {"type": "integer", "description": "every warning; a warned row also counts as imported, "
                                                               "updated or repeated"},
            "region": {"type": "string", "description": "the country numbers without +country code were read in"},
            "on_bad_address": {"type": "string", "enum": ["drop-field", "reject-row"]},
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
    "ListInput": obj({"name": NAME, "description": nullable("string", description="null: none")},
                     required=("name",)),
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
    "SegmentInput": obj({"name": NAME, "rules": ref("SegmentRules")}),
    "SegmentUpdate": obj({"name": NAME, "rules": ref("SegmentRules")}, required=(),
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
}


# ---------------------------------------------------------------- operations
